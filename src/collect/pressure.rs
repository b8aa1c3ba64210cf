//! `pressure`: STUB.

// ---------------------------------------------------------------------------------------------
// The `pressure` family (node_exporter's `pressure` collector). STUB: to be written.

/// Registers the `pressure` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "pressure",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(PressureFamily)
}

struct PressureFamily;

impl super::family::Family for PressureFamily {
    fn name(&self) -> &'static str {
        "pressure"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
