//! `conntrack`: STUB.

// ---------------------------------------------------------------------------------------------
// The `conntrack` family (node_exporter's `conntrack` collector). STUB: to be written.

/// Registers the `conntrack` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "conntrack",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(ConntrackFamily)
}

struct ConntrackFamily;

impl super::family::Family for ConntrackFamily {
    fn name(&self) -> &'static str {
        "conntrack"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
