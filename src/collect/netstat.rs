//! `netstat`: STUB.

// ---------------------------------------------------------------------------------------------
// The `netstat` family (node_exporter's `netstat` collector). STUB: to be written.

/// Registers the `netstat` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "netstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(NetstatFamily)
}

struct NetstatFamily;

impl super::family::Family for NetstatFamily {
    fn name(&self) -> &'static str {
        "netstat"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
