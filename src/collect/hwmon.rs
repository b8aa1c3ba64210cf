//! `hwmon`: STUB.

// ---------------------------------------------------------------------------------------------
// The `hwmon` family (node_exporter's `hwmon` collector). STUB: to be written.

/// Registers the `hwmon` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "hwmon",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(HwmonFamily)
}

struct HwmonFamily;

impl super::family::Family for HwmonFamily {
    fn name(&self) -> &'static str {
        "hwmon"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
