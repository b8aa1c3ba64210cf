//! The history behind `GET /history`: three tiers of points, each a bounded ring in arrival
//! order, so a dashboard can draw the last minutes at once, and a week or a month as well,
//! and "which process caused that spike" can be answered after the fact.
//!
//! | tier | one point per | kept for | why |
//! |---|---|---|---|
//! | `raw` | sampler tick | `--history` (1 h) | every spike, at the sampling interval |
//! | `1m` | minute (mean, min/max of cpu and mem) | 30 days | a month at 1 480 px needs ~30 min a pixel; a day at 1 min is 1 440 points |
//! | `1h` | hour (same) | 2 years | a year is 8 760 points; seasons and trends |
//!
//! A raw point is 64 bytes ([`compact`]), a coarse one 72: a full set is about 4.5 MB at a
//! 1 s interval (raw 0.23 MB, 30 days 3.1 MB, 2 years 1.3 MB), instead of 244 B a raw point
//! for everything before. Memory grows with the points actually held.
//!
//! Points are kept in arrival order; their wall-clock time is data. A query for `seconds=N`
//! takes the newest `N` seconds' worth of points of a tier by count (N / the tier's step), so a
//! wall clock that jumps back or forward never reorders, hides or duplicates what is served:
//! after a jump, `t` of successive points goes back (or leaps) where the clock did.

mod codec;
pub mod compact;
pub mod disk;
mod point;
mod tier;

pub use point::{buckets, Fields, Point, Selected, Top, FIELDS};

use crate::collect::Snapshot;
use compact::{Coarse, Compact, Names};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use tier::{Acc, Ring};

/// The most points one answer holds: a longer window gets a larger step.
pub const MAX_POINTS: u64 = 2000;
/// How far back the 1-minute tier reaches.
pub const MINUTES_FOR: u64 = 30 * 86_400;
/// How far back the 1-hour tier reaches (and so `/history`).
pub const HOURS_FOR: u64 = 2 * 365 * 86_400;

/// Which tier an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Raw,
    Minute,
    Hour,
}

impl Tier {
    /// As in the `X-History-Tier` header.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Raw => "raw",
            Tier::Minute => "1m",
            Tier::Hour => "1h",
        }
    }
}

/// What a query copied out under the lock, to unpack and serialise without it.
pub struct Copied {
    raw: Vec<Compact>,
    coarse: Vec<Coarse>,
    names: Vec<Option<Arc<str>>>,
}

impl Copied {
    /// The points, oldest first, unpacked one at a time.
    pub fn iter(&self) -> impl Iterator<Item = Point> + '_ {
        let names = &self.names;
        let raw = self.raw.iter().map(|c| c.unpack(names, None));
        let coarse = self.coarse.iter().map(|c| c.unpack(names));
        raw.chain(coarse)
    }

    /// The points, oldest first.
    pub fn points(&self) -> Vec<Point> {
        self.iter().collect()
    }
}

/// The tiers, their accumulators and the shared name interner.
pub struct History {
    raw: Ring<Compact>,
    minutes: Ring<Coarse>,
    hours: Ring<Coarse>,
    minute: Acc,
    hour: Acc,
    names: Names,
    /// Names held at the last clean-up of the interner.
    names_kept: usize,
    interval: Duration,
    /// Raw points pushed since the last [`History::unsaved`].
    unsaved: usize,
}

/// A copy of every tier (taken under the lock, encoded without it), for the state file.
pub struct Image {
    names: Vec<Option<Arc<str>>>,
    raw: Ring<Compact>,
    minutes: Ring<Coarse>,
    hours: Ring<Coarse>,
    minute: Acc,
    hour: Acc,
}

impl Image {
    /// The image file's payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = codec::Out::default();
        out.names(&self.names);
        out.u32(self.raw.len() as u32);
        self.raw.iter().for_each(|c| out.compact(c));
        for ring in [&self.minutes, &self.hours] {
            out.u32(ring.len() as u32);
            ring.iter().for_each(|c| out.coarse(c));
        }
        out.acc(&self.minute);
        out.acc(&self.hour);
        out.0
    }
}

impl History {
    /// Keeps `raw_points` points at the sampling `interval`, and the coarse tiers; no history
    /// at all when `raw_points` is 0 (`--history 0`).
    pub fn new(raw_points: usize, interval: Duration) -> History {
        let on = |n: u64| if raw_points == 0 { 0 } else { n as usize };
        History {
            raw: Ring::new(raw_points),
            minutes: Ring::new(on(MINUTES_FOR / 60)),
            hours: Ring::new(on(HOURS_FOR / 3600)),
            minute: Acc::new(60),
            hour: Acc::new(3600),
            names: Names::default(),
            names_kept: 0,
            interval,
            unsaved: 0,
        }
    }

    /// A copy of every tier for the state file.
    pub fn image(&self) -> Image {
        Image {
            names: self.names.table(),
            raw: self.raw.clone(),
            minutes: self.minutes.clone(),
            hours: self.hours.clone(),
            minute: self.minute.clone(),
            hour: self.hour.clone(),
        }
    }

    /// Replaces every tier with an image file's payload; `false` (and nothing changed) when
    /// it does not decode.
    pub fn load_image(&mut self, payload: &[u8]) -> bool {
        let decoded = (|| {
            let mut input = codec::In(payload);
            let names = input.names()?;
            let mut raw = Vec::new();
            for _ in 0..input.u32()? {
                raw.push(input.compact()?);
            }
            let mut coarse = [Vec::new(), Vec::new()];
            for ring in &mut coarse {
                for _ in 0..input.u32()? {
                    ring.push(input.coarse()?);
                }
            }
            let minute = input.acc()?;
            let hour = input.acc()?;
            input
                .0
                .is_empty()
                .then_some((names, raw, coarse, minute, hour))
        })();
        let Some((names, raw, [minutes, hours], minute, hour)) = decoded else {
            return false;
        };
        // Re-interned through the point form, so ids are this interner's.
        let mut fresh = History::new(self.raw.cap(), self.interval);
        let table = &names;
        for c in raw {
            let p = c.unpack(table, None);
            fresh.raw.push(Compact::pack(&p, &mut fresh.names));
        }
        for (ring, points) in [(&mut fresh.minutes, minutes), (&mut fresh.hours, hours)] {
            for c in points {
                let p = c.mean.unpack(table, None);
                ring.push(Coarse {
                    mean: Compact::pack(&p, &mut fresh.names),
                    range: c.range,
                });
            }
        }
        let mut reintern = |mut acc: Acc| {
            if let Some(c) = acc.newest.as_mut() {
                let p = c.unpack(table, None);
                *c = Compact::pack(&p, &mut fresh.names);
            }
            acc
        };
        fresh.minute = reintern(minute);
        fresh.hour = reintern(hour);
        *self = fresh;
        true
    }

    /// The raw points pushed since the last call, as a journal record's payload (the names
    /// they use, then the points); `None` when there are none.
    pub fn unsaved(&mut self) -> Option<Vec<u8>> {
        let n = std::mem::take(&mut self.unsaved).min(self.raw.len());
        if n == 0 {
            return None;
        }
        let mut points = self.raw.newest(n);
        let table = self.names.table();
        let mut local: Vec<Option<Arc<str>>> = vec![None];
        let mut ids = std::collections::HashMap::new();
        for c in &mut points {
            for id in &mut c.top_ids {
                if *id != 0 {
                    *id = *ids.entry(*id).or_insert_with(|| {
                        local.push(table.get(usize::from(*id)).cloned().flatten());
                        (local.len() - 1) as u16
                    });
                }
            }
        }
        let mut out = codec::Out::default();
        out.names(&local);
        out.u32(points.len() as u32);
        points.iter().for_each(|c| out.compact(c));
        Some(out.0)
    }

    /// Pushes the points of a journal record again (after the image they follow); `false`
    /// when it does not decode (nothing pushed).
    pub fn replay(&mut self, payload: &[u8]) -> bool {
        let decoded = (|| {
            let mut input = codec::In(payload);
            let names = input.names()?;
            let mut points = Vec::new();
            for _ in 0..input.u32()? {
                points.push(input.compact()?);
            }
            input.0.is_empty().then_some((names, points))
        })();
        let Some((names, points)) = decoded else {
            return false;
        };
        for c in points {
            self.push_point(&c.unpack(&names, None));
        }
        self.unsaved = 0;
        true
    }

    /// Whether any history is kept.
    pub fn enabled(&self) -> bool {
        self.raw.cap() > 0
    }

    /// Points held, every tier.
    pub fn len(&self) -> usize {
        self.raw.len() + self.minutes.len() + self.hours.len()
    }

    /// Points the raw tier holds at most (as `psmonitor_history_capacity_points`).
    pub fn capacity(&self) -> usize {
        self.raw.cap()
    }

    /// How many seconds back the points held reach (by count, see the module's documentation).
    pub fn span(&self) -> u64 {
        let raw = self.raw.len() as f64 * self.raw_step();
        let minutes = self.minutes.len() as f64 * 60.0;
        let hours = self.hours.len() as f64 * 3600.0;
        raw.max(minutes).max(hours) as u64
    }

    /// Bytes of memory the history holds (points and names).
    pub fn bytes(&self) -> usize {
        self.raw.bytes() + self.minutes.bytes() + self.hours.bytes() + self.names.bytes()
    }

    /// Appends the point for `s`, its time moved by `offset` seconds (a test's clock jump).
    pub fn push(&mut self, s: &Snapshot, offset: f64) {
        if !self.enabled() {
            return;
        }
        let tops = |by_cpu: bool| {
            let mut out: [Option<Top>; 3] = [None, None, None];
            for (slot, p) in out.iter_mut().zip(s.processes.top(3, by_cpu)) {
                *slot = Some(Top {
                    name: Arc::from(p.name.as_str()),
                    value: if by_cpu { p.cpu } else { p.mem } as f32,
                });
            }
            out
        };
        let rate = s.net.total_rate();
        let sys = &s.system;
        let point = Point {
            t: s.taken
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
                + offset,
            cpu: sys.cpu.usage as f32,
            temp: sys.cpu.temp.map(|t| t as f32),
            mem: sys.mem.percent as f32,
            swap: sys.swap.percent as f32,
            disk: sys.disk.percent as f32,
            net_in: rate.rx as f32,
            net_out: rate.tx as f32,
            load1: sys.load[0] as f32,
            top_mem: tops(false),
            top_cpu: tops(true),
            range: None,
        };
        self.push_point(&point);
    }

    /// Appends `p` to the raw tier and the coarse tiers' open buckets.
    pub fn push_point(&mut self, p: &Point) {
        let c = Compact::pack(p, &mut self.names);
        self.raw.push(c);
        self.unsaved += 1;
        if let Some(m) = self.minute.add(&c) {
            self.minutes.push(m);
        }
        if let Some(h) = self.hour.add(&c) {
            self.hours.push(h);
        }
        if self.names.len() > 2 * self.names_kept + 64 {
            self.forget_names();
        }
    }

    /// Frees the ids of names no point refers to any more (amortised: run when the interner
    /// has doubled since the last time).
    fn forget_names(&mut self) {
        let mut used = vec![false; self.names.capacity()];
        let mut mark = |c: &Compact| {
            for id in c.top_ids {
                used[usize::from(id)] = true;
            }
        };
        self.raw.iter().for_each(&mut mark);
        self.minutes.iter().for_each(|c| mark(&c.mean));
        self.hours.iter().for_each(|c| mark(&c.mean));
        self.minute.newest().into_iter().for_each(&mut mark);
        self.hour.newest().into_iter().for_each(&mut mark);
        self.names.keep(&used);
        self.names_kept = self.names.len();
    }

    /// The step of the raw tier, in seconds.
    fn raw_step(&self) -> f64 {
        self.interval.as_secs_f64().max(0.001)
    }

    /// The tier for a window of `seconds`: the finest whose span covers it.
    pub fn tier_for(&self, seconds: u64) -> Tier {
        if seconds as f64 <= self.raw.cap() as f64 * self.raw_step() {
            Tier::Raw
        } else if seconds <= MINUTES_FOR {
            Tier::Minute
        } else {
            Tier::Hour
        }
    }

    /// Copies out the newest `seconds` worth of points of `tier` (counted by the tier's step,
    /// see the module's documentation). The only work done under the history's lock.
    pub fn copy(&self, tier: Tier, seconds: u64) -> Copied {
        let count = |step: f64| (seconds as f64 / step).ceil() as usize;
        let coarse = |ring: &Ring<Coarse>, acc: &Acc, step: f64| {
            let n = count(step);
            let open = acc.mean();
            let mut out = ring.newest(n.saturating_sub(usize::from(open.is_some())));
            out.extend(open);
            out
        };
        let (raw, coarse) = match tier {
            Tier::Raw => (self.raw.newest(count(self.raw_step())), Vec::new()),
            Tier::Minute => (Vec::new(), coarse(&self.minutes, &self.minute, 60.0)),
            Tier::Hour => (Vec::new(), coarse(&self.hours, &self.hour, 3600.0)),
        };
        Copied {
            raw,
            coarse,
            names: self.names.table(),
        }
    }

    /// The step of `tier`'s points, in seconds.
    pub fn step_of(&self, tier: Tier) -> f64 {
        match tier {
            Tier::Raw => self.raw_step(),
            Tier::Minute => 60.0,
            Tier::Hour => 3600.0,
        }
    }

    /// Testing hook (hidden flag `--test-history-fill SECONDS`): fills every tier with made-up
    /// points for the `seconds` before `now`, as if the server had run that long.
    pub fn fill(&mut self, now: f64, seconds: u64) {
        let names: Vec<Arc<str>> = (0..8).map(|i| Arc::from(format!("fill-{i}"))).collect();
        let made = |t: f64, i: usize| {
            let top = |k: usize| {
                Some(Top {
                    name: Arc::clone(&names[(i + k) % names.len()]),
                    value: (10 * k) as f32 + 0.5,
                })
            };
            Point {
                t,
                cpu: (i % 100) as f32,
                temp: Some(40.0 + (i % 20) as f32),
                mem: 50.0,
                swap: 1.0,
                disk: 42.0,
                net_in: 0.25,
                net_out: 0.125,
                load1: 1.5,
                top_mem: [top(0), top(1), top(2)],
                top_cpu: [top(3), top(4), top(5)],
                range: None,
            }
        };
        let from = now - seconds as f64;
        for (ring, step) in [(&mut self.hours, 3600.0), (&mut self.minutes, 60.0)] {
            let n = ((seconds as f64 / step) as usize).min(ring.cap());
            for k in (1..=n).rev() {
                let p = made(now - k as f64 * step, k);
                let mean = Compact::pack(&p, &mut self.names);
                ring.push(Coarse {
                    mean,
                    range: [0, mean.centi[0], mean.centi[1], mean.centi[1]],
                });
            }
        }
        let step = self.raw_step();
        let n = ((seconds as f64 / step) as usize).min(self.raw.cap());
        for k in (1..=n).rev() {
            let t = now - k as f64 * step;
            if t >= from {
                let c = Compact::pack(&made(t, k), &mut self.names);
                self.raw.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_windows_and_a_clock_jump() {
        let mut h = History::new(3600, Duration::from_secs(1));
        let p = |t: f64| Point {
            t,
            cpu: 10.0,
            temp: None,
            mem: 20.0,
            swap: 0.0,
            disk: 0.0,
            net_in: 0.0,
            net_out: 0.0,
            load1: 0.0,
            top_mem: [None, None, None],
            top_cpu: [None, None, None],
            range: None,
        };
        for i in 0..300 {
            h.push_point(&p(10_000.0 + f64::from(i)));
        }
        // The clock jumps back an hour.
        for i in 0..10 {
            h.push_point(&p(10_300.0 - 3600.0 + f64::from(i)));
        }
        let got = h.copy(Tier::Raw, 20).points();
        let ts: Vec<f64> = got.iter().map(|p| p.t).collect();
        assert_eq!(
            ts.len(),
            20,
            "the newest 20 s of points, whatever the clock did"
        );
        assert_eq!(ts[9], 10_299.0);
        assert_eq!(ts[10], 6_700.0, "arrival order kept across the jump");
        // Minutes: 5 closed before the jump, the jump closed the 6th, one open.
        let minutes = h.copy(Tier::Minute, 3600).points();
        assert_eq!(minutes.len(), 7);
        assert_eq!(minutes[0].range.unwrap().cpu, [10.0, 10.0]);
        assert_eq!(h.tier_for(3600), Tier::Raw);
        assert_eq!(h.tier_for(3601), Tier::Minute);
        assert_eq!(h.tier_for(MINUTES_FOR + 1), Tier::Hour);
        assert!(h.bytes() >= h.len() * 64);
    }

    #[test]
    fn an_image_and_a_journal_bring_it_back() {
        let mut h = History::new(100, Duration::from_secs(1));
        h.fill(1e9, 3 * 3600);
        let image = h.image().encode();
        assert!(h.unsaved().is_none(), "nothing new");
        let mut later = h.copy(Tier::Raw, 1).points()[0].clone();
        later.t += 1.0;
        h.push_point(&later);
        let journal = h.unsaved().unwrap();
        let mut back = History::new(100, Duration::from_secs(1));
        assert!(back.load_image(&image));
        assert!(back.replay(&journal));
        for (tier, s) in [
            (Tier::Raw, 100),
            (Tier::Minute, 3 * 3600),
            (Tier::Hour, 3 * 3600),
        ] {
            let json = |h: &History| {
                let p: Vec<Point> = h.copy(tier, s).points();
                let sel: Vec<Selected> = p
                    .iter()
                    .map(|point| Selected {
                        point,
                        fields: Fields::ALL,
                    })
                    .collect();
                serde_json::to_string(&sel).unwrap()
            };
            assert_eq!(json(&back), json(&h), "{tier:?}");
        }
        assert!(!back.load_image(&image[..image.len() - 1]), "short");
        assert!(!back.replay(b"garbage"));
    }

    #[test]
    fn a_filled_history_has_every_tier() {
        let mut h = History::new(3600, Duration::from_secs(1));
        h.fill(1e9, 40 * 86_400);
        assert_eq!(h.copy(Tier::Raw, 3600).points().len(), 3600);
        assert_eq!(h.copy(Tier::Minute, MINUTES_FOR).points().len(), 43_200);
        assert_eq!(h.copy(Tier::Hour, HOURS_FOR).points().len(), 960);
        // Eight names, interned once.
        assert!(h.names.len() <= 8);
    }
}
