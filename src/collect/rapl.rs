//! `rapl`: STUB.

// ---------------------------------------------------------------------------------------------
// The `rapl` family (node_exporter's `rapl` collector). STUB: to be written.

/// Registers the `rapl` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "rapl",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(RaplFamily)
}

struct RaplFamily;

impl super::family::Family for RaplFamily {
    fn name(&self) -> &'static str {
        "rapl"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
