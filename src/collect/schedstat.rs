//! `schedstat`: STUB.

// ---------------------------------------------------------------------------------------------
// The `schedstat` family (node_exporter's `schedstat` collector). STUB: to be written.

/// Registers the `schedstat` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "schedstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(SchedstatFamily)
}

struct SchedstatFamily;

impl super::family::Family for SchedstatFamily {
    fn name(&self) -> &'static str {
        "schedstat"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
