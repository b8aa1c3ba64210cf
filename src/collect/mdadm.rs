//! `mdadm`: STUB.

// ---------------------------------------------------------------------------------------------
// The `mdadm` family (node_exporter's `mdadm` collector). STUB: to be written.

/// Registers the `mdadm` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "mdadm",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(MdadmFamily)
}

struct MdadmFamily;

impl super::family::Family for MdadmFamily {
    fn name(&self) -> &'static str {
        "mdadm"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
