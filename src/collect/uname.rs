//! `uname`: STUB.

// ---------------------------------------------------------------------------------------------
// The `uname` family (node_exporter's `uname` collector). STUB: to be written.

/// Registers the `uname` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "uname",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(UnameFamily)
}

struct UnameFamily;

impl super::family::Family for UnameFamily {
    fn name(&self) -> &'static str {
        "uname"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
