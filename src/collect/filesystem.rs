//! `filesystem`: STUB.

// ---------------------------------------------------------------------------------------------
// The `filesystem` family (node_exporter's `filesystem` collector). STUB: to be written.

/// Registers the `filesystem` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "filesystem",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(FilesystemFamily)
}

struct FilesystemFamily;

impl super::family::Family for FilesystemFamily {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
