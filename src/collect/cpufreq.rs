//! `cpufreq`: STUB.

// ---------------------------------------------------------------------------------------------
// The `cpufreq` family (node_exporter's `cpufreq` collector). STUB: to be written.

/// Registers the `cpufreq` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "cpufreq",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(CpufreqFamily)
}

struct CpufreqFamily;

impl super::family::Family for CpufreqFamily {
    fn name(&self) -> &'static str {
        "cpufreq"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
