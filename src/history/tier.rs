//! A tier: a bounded ring of points in arrival order, and the accumulator that turns the
//! finest points into a coarse tier's means.

use super::compact::{Coarse, Compact};
use std::collections::VecDeque;

/// At most `cap` points, oldest dropped first, grown by what it holds (so memory follows the
/// points actually kept, not the capacity).
#[derive(Clone)]
pub struct Ring<T> {
    points: VecDeque<T>,
    cap: usize,
}

impl<T: Copy> Ring<T> {
    pub fn new(cap: usize) -> Ring<T> {
        Ring {
            points: VecDeque::new(),
            cap,
        }
    }

    pub fn push(&mut self, p: T) {
        if self.cap == 0 {
            return;
        }
        if self.points.len() == self.cap {
            self.points.pop_front();
        } else if self.points.len() == self.points.capacity() {
            let more = self.points.len().max(64).min(self.cap - self.points.len());
            self.points.reserve_exact(more);
        }
        self.points.push_back(p);
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Bytes allocated for points.
    pub fn bytes(&self) -> usize {
        self.points.capacity() * std::mem::size_of::<T>()
    }

    /// A copy of the newest `n` points, oldest first.
    pub fn newest(&self, n: usize) -> Vec<T> {
        let start = self.points.len().saturating_sub(n);
        self.points.range(start..).copied().collect()
    }

    /// Every point, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.points.iter()
    }
}

/// Running sums of the finest points of one coarse bucket (`width` ms aligned on Unix time).
#[derive(Clone)]
pub struct Acc {
    pub(super) width: i64,
    pub(super) key: i64,
    pub(super) n: u32,
    /// cpu, mem, swap, disk, load1 (hundredths), net in, net out.
    pub(super) sums: [f64; 7],
    pub(super) temp: f64,
    pub(super) temps: u32,
    /// cpu min, cpu max, mem min, mem max (hundredths).
    pub(super) range: [u16; 4],
    pub(super) newest: Option<Compact>,
}

impl Acc {
    pub fn new(width_s: i64) -> Acc {
        Acc {
            width: width_s * 1000,
            key: 0,
            n: 0,
            sums: [0.0; 7],
            temp: 0.0,
            temps: 0,
            range: [0; 4],
            newest: None,
        }
    }

    /// Adds `p`; returns the closed bucket's mean when `p` belongs to another bucket (the
    /// next one, or after a jump of the wall clock, any other: buckets follow arrival order).
    pub fn add(&mut self, p: &Compact) -> Option<Coarse> {
        let key = p.t_ms.div_euclid(self.width);
        let closed = if self.newest.is_some() && key != self.key {
            let mean = self.mean();
            *self = Acc::new(self.width / 1000);
            mean
        } else {
            None
        };
        self.key = key;
        let c = p.centi;
        if self.n == 0 {
            self.range = [c[0], c[0], c[1], c[1]];
        }
        self.n += 1;
        let values = [c[0], c[1], c[2], c[3], c[4]].map(f64::from);
        for (sum, v) in self.sums.iter_mut().zip(values) {
            *sum += v;
        }
        self.sums[5] += f64::from(p.net[0]);
        self.sums[6] += f64::from(p.net[1]);
        if c[5] as i16 != i16::MIN {
            self.temp += f64::from(c[5] as i16);
            self.temps += 1;
        }
        self.range = [
            self.range[0].min(c[0]),
            self.range[1].max(c[0]),
            self.range[2].min(c[1]),
            self.range[3].max(c[1]),
        ];
        self.newest = Some(*p);
        closed
    }

    /// The open bucket's mean so far (what a query shows as the newest coarse point).
    pub fn mean(&self) -> Option<Coarse> {
        let newest = self.newest?;
        let n = f64::from(self.n);
        let c = |i: usize| (self.sums[i] / n).round() as u16;
        let temp = if self.temps == 0 {
            i16::MIN
        } else {
            (self.temp / f64::from(self.temps)).round() as i16
        };
        let rate = |i: usize| ((self.sums[i] / n * 1000.0).round() / 1000.0) as f32;
        Some(Coarse {
            mean: Compact {
                centi: [c(0), c(1), c(2), c(3), c(4), temp as u16],
                net: [rate(5), rate(6)],
                ..newest
            },
            range: self.range,
        })
    }

    /// The names the open bucket refers to.
    pub fn newest(&self) -> Option<&Compact> {
        self.newest.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t_ms: i64, cpu: u16) -> Compact {
        Compact {
            t_ms,
            centi: [cpu, 5000, 0, 0, 100, i16::MIN as u16],
            net: [1.0, 2.0],
            top_ids: [0; 6],
            top_vals: [0.0; 6],
        }
    }

    #[test]
    fn buckets_close_on_another_key_in_arrival_order() {
        let mut acc = Acc::new(60);
        assert!(acc.add(&at(60_000, 1000)).is_none());
        assert!(acc.add(&at(119_999, 3000)).is_none());
        let m = acc
            .add(&at(120_000, 0))
            .expect("next minute closes the first");
        assert_eq!(m.mean.centi[0], 2000);
        assert_eq!(m.range, [1000, 3000, 5000, 5000]);
        assert_eq!(m.mean.t_ms, 119_999, "the newest point's time");
        assert_eq!(m.mean.centi[5] as i16, i16::MIN, "no temperature");
        // The wall clock jumps back an hour: the open bucket closes, nothing is reordered.
        let m = acc
            .add(&at(120_000 - 3_600_000, 0))
            .expect("closed by the jump");
        assert_eq!(m.mean.t_ms, 120_000);
        assert_eq!(acc.mean().unwrap().mean.t_ms, 120_000 - 3_600_000);
    }

    #[test]
    fn a_ring_keeps_the_newest_and_grows_as_needed() {
        let mut r = Ring::new(100);
        assert_eq!(r.bytes(), 0);
        for i in 0..250 {
            r.push(i);
        }
        assert_eq!(r.len(), 100);
        assert!(r.bytes() <= 128 * 4);
        assert_eq!(r.newest(3), [247, 248, 249]);
        assert_eq!(r.newest(1000).len(), 100);
    }
}
