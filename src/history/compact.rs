//! The stored form of a point: 64 bytes at the finest tier, 72 with the min/max a coarse
//! tier keeps. Percentages, load and temperature are hundredths in 16 bits (the API sends two
//! decimals anyway); rates and the top processes' values stay `f32`; process names are ids
//! into one interner shared by every tier (names repeat from tick to tick).

use super::point::{Point, Range, Top};
use std::collections::HashMap;
use std::sync::Arc;

/// No temperature (`temp` is hundredths of a degree as an `i16`).
const NO_TEMP: i16 = i16::MIN;

/// One point, compactly (see the module's documentation).
#[derive(Debug, Clone, Copy)]
pub struct Compact {
    /// Wall-clock time in ms when the point was taken (data, not an index: see `History`).
    pub t_ms: i64,
    /// cpu, mem, swap, disk, load1 in hundredths; temp as `i16` hundredths ([`NO_TEMP`]).
    pub centi: [u16; 6],
    /// MB/s in and out.
    pub net: [f32; 2],
    /// Name ids of the top 3 by memory, then by CPU (0: none).
    pub top_ids: [u16; 6],
    pub top_vals: [f32; 6],
}

/// A coarse tier's point: the means, with the min and max of cpu and mem.
#[derive(Debug, Clone, Copy)]
pub struct Coarse {
    pub mean: Compact,
    /// cpu min, cpu max, mem min, mem max, in hundredths.
    pub range: [u16; 4],
}

/// Hundredths, saturating (a percentage or a load fits; 655.35 is the ceiling).
pub fn centi(x: f64) -> u16 {
    (x * 100.0).round().clamp(0.0, f64::from(u16::MAX)) as u16
}

fn uncenti(c: u16) -> f32 {
    (f64::from(c) / 100.0) as f32
}

impl Compact {
    /// Packs `p`, interning its process names.
    pub fn pack(p: &Point, names: &mut Names) -> Compact {
        let mut top_ids = [0; 6];
        let mut top_vals = [0.0; 6];
        for (i, top) in p.top_mem.iter().chain(p.top_cpu.iter()).enumerate() {
            if let Some(top) = top {
                top_ids[i] = names.intern(&top.name);
                top_vals[i] = top.value;
            }
        }
        let temp = p.temp.map_or(NO_TEMP, |t| {
            (f64::from(t) * 100.0)
                .round()
                .clamp(f64::from(i16::MIN + 1), f64::from(i16::MAX)) as i16
        });
        Compact {
            t_ms: (p.t * 1000.0).round() as i64,
            centi: [
                centi(p.cpu.into()),
                centi(p.mem.into()),
                centi(p.swap.into()),
                centi(p.disk.into()),
                centi(p.load1.into()),
                temp as u16,
            ],
            net: [p.net_in, p.net_out],
            top_ids,
            top_vals,
        }
    }

    /// The point again, its names looked up in `names` (a copy of the interner's table).
    pub fn unpack(&self, names: &[Option<Arc<str>>], range: Option<Range>) -> Point {
        let top = |i: usize| {
            let name = names.get(usize::from(self.top_ids[i])).cloned().flatten()?;
            Some(Top {
                name,
                value: self.top_vals[i],
            })
        };
        let temp = self.centi[5] as i16;
        Point {
            t: self.t_ms as f64 / 1000.0,
            cpu: uncenti(self.centi[0]),
            temp: (temp != NO_TEMP).then(|| (f64::from(temp) / 100.0) as f32),
            mem: uncenti(self.centi[1]),
            swap: uncenti(self.centi[2]),
            disk: uncenti(self.centi[3]),
            net_in: self.net[0],
            net_out: self.net[1],
            load1: uncenti(self.centi[4]),
            top_mem: [top(0), top(1), top(2)],
            top_cpu: [top(3), top(4), top(5)],
            range,
        }
    }
}

impl Coarse {
    pub fn unpack(&self, names: &[Option<Arc<str>>]) -> Point {
        let r = self.range.map(uncenti);
        self.mean.unpack(
            names,
            Some(Range {
                cpu: [r[0], r[1]],
                mem: [r[2], r[3]],
            }),
        )
    }
}

/// Process names by id (id 0 is "none"). Ids no point uses are reclaimed by [`Names::keep`].
#[derive(Default)]
pub struct Names {
    ids: HashMap<Arc<str>, u16>,
    /// By id; `None` for id 0 and for free ids.
    table: Vec<Option<Arc<str>>>,
    free: Vec<u16>,
}

impl Names {
    /// The id of `name`, new if need be; 0 (no name) when every id is taken.
    pub fn intern(&mut self, name: &Arc<str>) -> u16 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        if self.table.is_empty() {
            self.table.push(None);
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None if self.table.len() <= usize::from(u16::MAX) => {
                self.table.push(None);
                (self.table.len() - 1) as u16
            }
            None => return 0,
        };
        self.table[usize::from(id)] = Some(Arc::clone(name));
        self.ids.insert(Arc::clone(name), id);
        id
    }

    /// Names in use.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Bytes held: the table, the map and the names.
    pub fn bytes(&self) -> usize {
        self.table.capacity() * std::mem::size_of::<Option<Arc<str>>>()
            + self.ids.capacity() * (std::mem::size_of::<(Arc<str>, u16)>() + 1)
            + self.ids.keys().map(|n| n.len() + 16).sum::<usize>()
    }

    /// The table, for unpacking points outside the history's lock (clones of `Arc`s).
    pub fn table(&self) -> Vec<Option<Arc<str>>> {
        self.table.clone()
    }

    /// Frees every id for which `used` is false.
    pub fn keep(&mut self, used: &[bool]) {
        for id in 1..self.table.len() {
            if !used.get(id).copied().unwrap_or(false) {
                if let Some(name) = self.table[id].take() {
                    self.ids.remove(&name);
                    self.free.push(id as u16);
                }
            }
        }
    }

    /// Ids handed out so far (the size of a `used` table for [`Names::keep`]).
    pub fn capacity(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<Compact>(), 64);
        assert_eq!(std::mem::size_of::<Coarse>(), 72);
    }

    #[test]
    fn a_point_round_trips_to_two_decimals() {
        let name: Arc<str> = Arc::from("firefox");
        let p = Point {
            t: 1_700_000_000.123,
            cpu: 12.345,
            temp: Some(-4.5),
            mem: 55.5,
            swap: 0.0,
            disk: 99.99,
            net_in: 0.125,
            net_out: 3.5,
            load1: 1.25,
            top_mem: [
                Some(Top {
                    name: Arc::clone(&name),
                    value: 512.5,
                }),
                None,
                None,
            ],
            top_cpu: [None, None, None],
            range: None,
        };
        let mut names = Names::default();
        let c = Compact::pack(&p, &mut names);
        let back = c.unpack(&names.table(), None);
        assert_eq!(back.t, 1_700_000_000.123);
        assert_eq!(
            (back.cpu, back.temp, back.mem, back.disk),
            (12.35, Some(-4.5), 55.5, 99.99)
        );
        assert_eq!((back.net_in, back.net_out, back.load1), (0.125, 3.5, 1.25));
        assert_eq!(back.top_mem[0].as_ref().unwrap().name.as_ref(), "firefox");
        assert!(back.top_mem[1].is_none() && back.top_cpu[0].is_none());
        let none = Point { temp: None, ..p };
        assert_eq!(
            Compact::pack(&none, &mut names).unpack(&[], None).temp,
            None
        );
        assert_eq!(names.len(), 1);
        names.keep(&[]);
        assert_eq!(names.len(), 0);
        assert_eq!(names.intern(&name), 1, "a freed id is reused");
    }
}
