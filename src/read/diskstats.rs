//! `/proc/diskstats`, parsed once a tick for every view: the JSON model's `diskio` (and
//! through the snapshot Glances' `diskio`) and the `diskstats` family.

use std::path::Path;
use std::rc::Rc;

/// One device line: major, minor, name and 11 to 17 counters (14 fields before kernel 4.18,
/// 18 with the discard columns, 20 with the flush columns since 5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub major: u32,
    pub minor: u32,
    pub name: String,
    /// The counters in the kernel's order; those the line does not have are 0.
    pub stats: [u64; 17],
    /// How many counters the line has.
    pub count: usize,
}

/// One reading of `/proc/diskstats`: its device lines in file order. A line that does not
/// parse (cut short, a field that is not a number) is none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diskstats(pub Vec<Line>);

/// This tick's reading of the `/proc/diskstats` at `path` (parsed once a tick).
pub fn read(path: &Path) -> Rc<super::Reading<Diskstats>> {
    super::shared(path, parse)
}

/// Parses `/proc/diskstats`.
pub fn parse(text: &str) -> Diskstats {
    Diskstats(text.lines().filter_map(parse_line).collect())
}

/// One `/proc/diskstats` line.
pub fn parse_line(line: &str) -> Option<Line> {
    let mut f = line.split_whitespace();
    let major = f.next()?.parse().ok()?;
    let minor = f.next()?.parse().ok()?;
    let name = f.next()?;
    let mut stats = [0u64; 17];
    let mut count = 0;
    for (slot, field) in stats.iter_mut().zip(f) {
        *slot = field.parse().ok()?;
        count += 1;
    }
    (count >= 11).then(|| Line {
        major,
        minor,
        name: name.to_owned(),
        stats,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lines() {
        let d = parse(
            "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n\
             8 1 sda1 1 2 3\n8 2 sdb x 2 3 4 5 6 7 8 9 10 11\n",
        );
        assert_eq!(d.0.len(), 1);
        assert_eq!(
            (d.0[0].name.as_str(), d.0[0].count, d.0[0].stats[16]),
            ("sda", 17, 17)
        );
    }
}
