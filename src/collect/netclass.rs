//! `netclass`: STUB.

// ---------------------------------------------------------------------------------------------
// The `netclass` family (node_exporter's `netclass` collector). STUB: to be written.

/// Registers the `netclass` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "netclass",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(NetclassFamily)
}

struct NetclassFamily;

impl super::family::Family for NetclassFamily {
    fn name(&self) -> &'static str {
        "netclass"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
