//! `udp_queues`: STUB.

// ---------------------------------------------------------------------------------------------
// The `udp_queues` family (node_exporter's `udp_queues` collector). STUB: to be written.

/// Registers the `udp_queues` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "udp_queues",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(UdpQueuesFamily)
}

struct UdpQueuesFamily;

impl super::family::Family for UdpQueuesFamily {
    fn name(&self) -> &'static str {
        "udp_queues"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
