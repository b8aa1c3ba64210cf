//! `sockstat`: STUB.

// ---------------------------------------------------------------------------------------------
// The `sockstat` family (node_exporter's `sockstat` collector). STUB: to be written.

/// Registers the `sockstat` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "sockstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(SockstatFamily)
}

struct SockstatFamily;

impl super::family::Family for SockstatFamily {
    fn name(&self) -> &'static str {
        "sockstat"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
