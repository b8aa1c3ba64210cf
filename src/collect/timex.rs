//! `timex`: STUB.

// ---------------------------------------------------------------------------------------------
// The `timex` family (node_exporter's `timex` collector). STUB: to be written.

/// Registers the `timex` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "timex",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(TimexFamily)
}

struct TimexFamily;

impl super::family::Family for TimexFamily {
    fn name(&self) -> &'static str {
        "timex"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
