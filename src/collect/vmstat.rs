//! `vmstat`: STUB.

// ---------------------------------------------------------------------------------------------
// The `vmstat` family (node_exporter's `vmstat` collector). STUB: to be written.

/// Registers the `vmstat` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "vmstat",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(VmstatFamily)
}

struct VmstatFamily;

impl super::family::Family for VmstatFamily {
    fn name(&self) -> &'static str {
        "vmstat"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
