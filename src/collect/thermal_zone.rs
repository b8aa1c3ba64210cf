//! `thermal_zone`: STUB.

// ---------------------------------------------------------------------------------------------
// The `thermal_zone` family (node_exporter's `thermal_zone` collector). STUB: to be written.

/// Registers the `thermal_zone` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "thermal_zone",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(ThermalZoneFamily)
}

struct ThermalZoneFamily;

impl super::family::Family for ThermalZoneFamily {
    fn name(&self) -> &'static str {
        "thermal_zone"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
