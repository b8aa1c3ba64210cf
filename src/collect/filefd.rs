//! `filefd`: STUB.

// ---------------------------------------------------------------------------------------------
// The `filefd` family (node_exporter's `filefd` collector). STUB: to be written.

/// Registers the `filefd` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "filefd",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(FilefdFamily)
}

struct FilefdFamily;

impl super::family::Family for FilefdFamily {
    fn name(&self) -> &'static str {
        "filefd"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
