//! `netdev`: STUB.

// ---------------------------------------------------------------------------------------------
// The `netdev` family (node_exporter's `netdev` collector). STUB: to be written.

/// Registers the `netdev` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "netdev",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(NetdevFamily)
}

struct NetdevFamily;

impl super::family::Family for NetdevFamily {
    fn name(&self) -> &'static str {
        "netdev"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
