//! `/proc/loadavg`, parsed once a tick for every view: the JSON model's `load` (and Glances'
//! `load`) and the `loadavg` family.

use std::path::Path;
use std::rc::Rc;

/// One reading of `/proc/loadavg` (`0.69 0.71 0.51 2/181 12345`): its first three fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loadavg {
    /// The 1, 5 and 15 minute load averages; `None` for a field that is missing or no number.
    pub loads: [Option<f64>; 3],
    /// How many of the three fields the file has.
    pub fields: usize,
}

/// This tick's reading of the `/proc/loadavg` at `path` (parsed once a tick).
pub fn read(path: &Path) -> Rc<super::Reading<Loadavg>> {
    super::shared(path, parse)
}

/// Parses `/proc/loadavg`.
pub fn parse(text: &str) -> Loadavg {
    let mut out = Loadavg::default();
    for (slot, v) in out.loads.iter_mut().zip(text.split_whitespace()) {
        *slot = v.parse().ok();
        out.fields += 1;
    }
    out
}
