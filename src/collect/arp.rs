//! `arp`: STUB.

// ---------------------------------------------------------------------------------------------
// The `arp` family (node_exporter's `arp` collector). STUB: to be written.

/// Registers the `arp` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "arp",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(ArpFamily)
}

struct ArpFamily;

impl super::family::Family for ArpFamily {
    fn name(&self) -> &'static str {
        "arp"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
