//! `time`: STUB.

// ---------------------------------------------------------------------------------------------
// The `time` family (node_exporter's `time` collector). STUB: to be written.

/// Registers the `time` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "time",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(TimeFamily)
}

struct TimeFamily;

impl super::family::Family for TimeFamily {
    fn name(&self) -> &'static str {
        "time"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
