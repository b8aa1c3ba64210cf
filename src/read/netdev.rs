//! `/proc/net/dev`, parsed once a tick for every view: the JSON model's interfaces and rates
//! (`collect::network`, and through the snapshot Glances' `network`) and the `netdev` family.

use std::path::Path;
use std::rc::Rc;

/// One device line: `name: 16 counters` (receive bytes packets errs drop fifo frame
/// compressed multicast, then transmit bytes packets errs drop fifo colls carrier compressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The text before the colon, trimmed (the line is split at the colon, not on whitespace:
    /// older kernels printed `%6s:%8llu`, where a long name or a large counter touches it).
    pub name: String,
    /// The first 16 counters; one that is not a `u64` is 0.
    pub counters: [u64; 16],
    /// Every one of the 16 was a `u64`.
    pub complete: bool,
}

/// One reading of `/proc/net/dev`: its device lines in file order. A line without a colon
/// or with fewer than 16 fields after it (the headers, a cut line) is none; extra columns (a
/// future kernel) are ignored; a name written twice is kept twice (each view says which it
/// takes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetDev(pub Vec<Device>);

/// This tick's reading of the `/proc/net/dev` at `path` (parsed once a tick).
pub fn read(path: &Path) -> Rc<super::Reading<NetDev>> {
    super::shared(path, parse)
}

/// Parses `/proc/net/dev`.
pub fn parse(text: &str) -> NetDev {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let mut d = Device {
            name: name.trim().to_owned(),
            counters: [0; 16],
            complete: true,
        };
        let mut n = 0;
        for v in rest.split_whitespace() {
            if let Some(slot) = d.counters.get_mut(n) {
                match v.parse() {
                    Ok(v) => *slot = v,
                    Err(_) => d.complete = false,
                }
            }
            n += 1;
        }
        if n >= 16 {
            out.push(d);
        }
    }
    NetDev(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lines() {
        let d = parse(
            "Inter-|   Receive\n face |bytes\n  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n\
             x: 1 -2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\ncut: 1 2 3\n",
        );
        assert_eq!(d.0.len(), 2);
        assert_eq!(
            (d.0[0].name.as_str(), d.0[0].counters[15], d.0[0].complete),
            ("lo", 16, true)
        );
        assert_eq!((d.0[1].counters[1], d.0[1].complete), (0, false));
    }
}
