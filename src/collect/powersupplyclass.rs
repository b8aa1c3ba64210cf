//! `powersupplyclass`: STUB.

// ---------------------------------------------------------------------------------------------
// The `powersupplyclass` family (node_exporter's `powersupplyclass` collector). STUB: to be written.

/// Registers the `powersupplyclass` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "powersupplyclass",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(PowersupplyclassFamily)
}

struct PowersupplyclassFamily;

impl super::family::Family for PowersupplyclassFamily {
    fn name(&self) -> &'static str {
        "powersupplyclass"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
