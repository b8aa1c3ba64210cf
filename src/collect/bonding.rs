//! `bonding`: STUB.

// ---------------------------------------------------------------------------------------------
// The `bonding` family (node_exporter's `bonding` collector). STUB: to be written.

/// Registers the `bonding` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "bonding",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(BondingFamily)
}

struct BondingFamily;

impl super::family::Family for BondingFamily {
    fn name(&self) -> &'static str {
        "bonding"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
