//! `os`: STUB.

// ---------------------------------------------------------------------------------------------
// The `os` family (node_exporter's `os` collector). STUB: to be written.

/// Registers the `os` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "os",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(OsFamily)
}

struct OsFamily;

impl super::family::Family for OsFamily {
    fn name(&self) -> &'static str {
        "os"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
