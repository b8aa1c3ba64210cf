//! `entropy`: STUB.

// ---------------------------------------------------------------------------------------------
// The `entropy` family (node_exporter's `entropy` collector). STUB: to be written.

/// Registers the `entropy` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "entropy",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(EntropyFamily)
}

struct EntropyFamily;

impl super::family::Family for EntropyFamily {
    fn name(&self) -> &'static str {
        "entropy"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
