//! `meminfo`: STUB.

// ---------------------------------------------------------------------------------------------
// The `meminfo` family (node_exporter's `meminfo` collector). STUB: to be written.

/// Registers the `meminfo` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "meminfo",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(MeminfoFamily)
}

struct MeminfoFamily;

impl super::family::Family for MeminfoFamily {
    fn name(&self) -> &'static str {
        "meminfo"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
