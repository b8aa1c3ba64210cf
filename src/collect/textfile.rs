//! `textfile`: STUB.

// ---------------------------------------------------------------------------------------------
// The `textfile` family (node_exporter's `textfile` collector). STUB: to be written.

/// Registers the `textfile` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "textfile",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(TextfileFamily)
}

struct TextfileFamily;

impl super::family::Family for TextfileFamily {
    fn name(&self) -> &'static str {
        "textfile"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
