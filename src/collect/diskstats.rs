//! `diskstats`: STUB.

// ---------------------------------------------------------------------------------------------
// The `diskstats` family (node_exporter's `diskstats` collector). STUB: to be written.

/// Registers the `diskstats` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "diskstats",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(DiskstatsFamily)
}

struct DiskstatsFamily;

impl super::family::Family for DiskstatsFamily {
    fn name(&self) -> &'static str {
        "diskstats"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
