//! `softnet`: STUB.

// ---------------------------------------------------------------------------------------------
// The `softnet` family (node_exporter's `softnet` collector). STUB: to be written.

/// Registers the `softnet` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "softnet",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(SoftnetFamily)
}

struct SoftnetFamily;

impl super::family::Family for SoftnetFamily {
    fn name(&self) -> &'static str {
        "softnet"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
