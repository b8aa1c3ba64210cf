//! `edac`: STUB.

// ---------------------------------------------------------------------------------------------
// The `edac` family (node_exporter's `edac` collector). STUB: to be written.

/// Registers the `edac` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "edac",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(EdacFamily)
}

struct EdacFamily;

impl super::family::Family for EdacFamily {
    fn name(&self) -> &'static str {
        "edac"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
