//! Shared settings for the property tests.

use proptest::prelude::ProptestConfig;

/// `n` generated cases per property, and no regression files written into the source tree:
/// the properties are cheap enough to run in full on every `cargo test`.
pub fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
