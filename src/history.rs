//! The in-memory history: a bounded ring of compact points, one per sampler tick, so a
//! dashboard that opens can draw the last minutes at once and "which process caused that
//! spike" can be answered after the fact.
//!
//! Process names repeat from tick to tick, so they are interned (`Arc<str>`): a point holds six
//! pointers instead of six strings. Unused names are dropped from the interner as points expire.

use crate::collect::Snapshot;
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// One process in a point's top 3.
#[derive(Debug, Clone, Serialize)]
pub struct Top {
    pub name: Arc<str>,
    /// MiB for `top_mem`, percent of one core for `top_cpu`.
    pub value: f32,
}

/// One tick, compactly. Percentages and rates as in `/system` and `/network`.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Unix time in seconds.
    pub t: f64,
    pub cpu: f32,
    pub temp: Option<f32>,
    pub mem: f32,
    pub swap: f32,
    pub disk: f32,
    /// MB/s over all interfaces but loopback.
    pub net_in: f32,
    pub net_out: f32,
    pub load1: f32,
    pub top_mem: [Option<Top>; 3],
    pub top_cpu: [Option<Top>; 3],
}

/// The ring buffer.
pub struct History {
    points: VecDeque<Point>,
    capacity: usize,
    names: HashSet<Arc<str>>,
}

impl History {
    /// Holds at most `capacity` points (0 disables the history).
    pub fn new(capacity: usize) -> History {
        History {
            points: VecDeque::with_capacity(capacity.min(64)),
            capacity,
            names: HashSet::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.get(name) {
            return Arc::clone(n);
        }
        let n: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&n));
        n
    }

    /// Appends the point for `s`, dropping the oldest when full.
    pub fn push(&mut self, s: &Snapshot) {
        if self.capacity == 0 {
            return;
        }
        let mut tops = |by_cpu: bool| {
            let mut out: [Option<Top>; 3] = [None, None, None];
            for (slot, p) in out.iter_mut().zip(s.processes.top(3, by_cpu)) {
                *slot = Some(Top {
                    name: self.intern(&p.name),
                    value: if by_cpu { p.cpu } else { p.mem } as f32,
                });
            }
            out
        };
        let top_mem = tops(false);
        let top_cpu = tops(true);
        let rate = s.net.total_rate();
        let sys = &s.system;
        let point = Point {
            t: s.taken
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            cpu: sys.cpu.usage as f32,
            temp: sys.cpu.temp.map(|t| t as f32),
            mem: sys.mem.percent as f32,
            swap: sys.swap.percent as f32,
            disk: sys.disk.percent as f32,
            net_in: rate.rx as f32,
            net_out: rate.tx as f32,
            load1: sys.load[0] as f32,
            top_mem,
            top_cpu,
        };
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back(point);
        // Forget names no point uses any more (only the interner holds them).
        if self.names.len() > 256 {
            self.names.retain(|n| Arc::strong_count(n) > 1);
        }
    }

    /// The points of the last `seconds` before `now` (Unix seconds), oldest first.
    pub fn since(&self, now: f64, seconds: f64) -> Vec<&Point> {
        let from = now - seconds;
        let start = self.points.partition_point(|p| p.t < from);
        self.points.range(start..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_stays_small() {
        // README states ~190-200 bytes per point (0.7 MB for the default hour): keep it true.
        let size = std::mem::size_of::<Point>();
        assert!(size <= 200, "Point is {size} bytes");
    }
}
