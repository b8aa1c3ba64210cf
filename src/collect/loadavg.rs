//! `loadavg`: STUB.

// ---------------------------------------------------------------------------------------------
// The `loadavg` family (node_exporter's `loadavg` collector). STUB: to be written.

/// Registers the `loadavg` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "loadavg",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(LoadavgFamily)
}

struct LoadavgFamily;

impl super::family::Family for LoadavgFamily {
    fn name(&self) -> &'static str {
        "loadavg"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
