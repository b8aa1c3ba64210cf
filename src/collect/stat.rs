//! `stat`: STUB.

// ---------------------------------------------------------------------------------------------
// The `stat` family (node_exporter's `stat` collector). STUB: to be written.

/// Registers the `stat` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "stat",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(StatFamily)
}

struct StatFamily;

impl super::family::Family for StatFamily {
    fn name(&self) -> &'static str {
        "stat"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
