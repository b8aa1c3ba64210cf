//! `zfs`: STUB.

// ---------------------------------------------------------------------------------------------
// The `zfs` family (node_exporter's `zfs` collector). STUB: to be written.

/// Registers the `zfs` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "zfs",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(ZfsFamily)
}

struct ZfsFamily;

impl super::family::Family for ZfsFamily {
    fn name(&self) -> &'static str {
        "zfs"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
