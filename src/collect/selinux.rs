//! `selinux`: STUB.

// ---------------------------------------------------------------------------------------------
// The `selinux` family (node_exporter's `selinux` collector). STUB: to be written.

/// Registers the `selinux` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "selinux",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(SelinuxFamily)
}

struct SelinuxFamily;

impl super::family::Family for SelinuxFamily {
    fn name(&self) -> &'static str {
        "selinux"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
