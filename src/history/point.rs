//! A point of `/history` as the API sends it, the `?fields=` choice, and the means over
//! `?step=` buckets.

use crate::model::round;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::sync::Arc;

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
    /// For a mean: the lowest and highest cpu and mem of the points it stands for (sent as
    /// `cpu_min`, `cpu_max`, `mem_min`, `mem_max`).
    #[serde(skip)]
    pub range: Option<Range>,
}

/// The extremes behind a mean, `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub cpu: [f32; 2],
    pub mem: [f32; 2],
}

impl Point {
    /// Its range: its own, or for a single point, its values.
    fn extremes(&self) -> Range {
        self.range.unwrap_or(Range {
            cpu: [self.cpu, self.cpu],
            mem: [self.mem, self.mem],
        })
    }
}

/// The names of [`Point`]'s fields `?fields=` can choose (`t` is always sent), in the order
/// they are serialised.
pub const FIELDS: [&str; 10] = [
    "cpu", "temp", "mem", "swap", "disk", "net_in", "net_out", "load1", "top_mem", "top_cpu",
];

/// A set of [`FIELDS`], one bit each: which fields of a point are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields(u16);

impl Fields {
    /// Every field: the answer without `?fields=`.
    pub const ALL: Fields = Fields((1 << FIELDS.len()) - 1);

    /// Parses `cpu,mem,...` (`t` may be named too); the name that is not a field, if one is
    /// not.
    pub fn parse(list: &str) -> Result<Fields, String> {
        // Empty items (`cpu,` or `cpu,,mem`) are skipped, as `--fleet` skips them; a list of
        // nothing at all is still a mistake.
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Err(String::new());
        }
        let mut bits = 0;
        for name in names.into_iter().filter(|n| *n != "t") {
            let i = FIELDS
                .iter()
                .position(|f| *f == name)
                .ok_or_else(|| name.to_owned())?;
            bits |= 1 << i;
        }
        Ok(Fields(bits))
    }

    /// Whether the field `FIELDS[i]` is in the set.
    fn has(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }
}

/// A point with only some of its fields, serialised as the point itself would be (same names,
/// same order), without building a map per point.
pub struct Selected<'a> {
    /// The point (of the history, or a bucket's mean).
    pub point: &'a Point,
    /// Which of its fields to send.
    pub fields: Fields,
}

impl Serialize for Selected<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.point;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("t", &p.t)?;
        // `FIELDS[..8]`, in order; `Some(x)` serialises as `x`.
        let numbers = [
            Some(p.cpu),
            p.temp,
            Some(p.mem),
            Some(p.swap),
            Some(p.disk),
            Some(p.net_in),
            Some(p.net_out),
            Some(p.load1),
        ];
        for (i, value) in numbers.iter().enumerate() {
            if self.fields.has(i) {
                m.serialize_entry(FIELDS[i], value)?;
            }
        }
        if let Some(r) = &p.range {
            for (i, name, [lo, hi]) in [(0, "cpu", r.cpu), (2, "mem", r.mem)] {
                if self.fields.has(i) {
                    m.serialize_entry(&format!("{name}_min"), &lo)?;
                    m.serialize_entry(&format!("{name}_max"), &hi)?;
                }
            }
        }
        for (i, top) in [(8, &p.top_mem), (9, &p.top_cpu)] {
            if self.fields.has(i) {
                m.serialize_entry(FIELDS[i], top)?;
            }
        }
        m.end()
    }
}

/// Groups `points` (in arrival order) into buckets of `step` seconds aligned on multiples of
/// `step` in Unix time, one point per run of points in the same bucket: the mean of each
/// number (of `temp`, the mean of the points that have one), the min and max of cpu and mem,
/// and `t`, `top_mem` and `top_cpu` of the newest point. So a client can draw an hour at 10 s
/// as 360 points instead of 3 600. A point from another bucket closes the open one, so a wall
/// clock that jumps back starts a new bucket instead of reordering.
pub fn buckets(points: impl IntoIterator<Item = Point>, step: u32) -> Vec<Point> {
    /// Running sums of one bucket.
    struct Sums {
        key: i64,
        newest: Point,
        n: u32,
        values: [f64; 7],
        temp: f64,
        temps: u32,
        range: Range,
    }
    impl Sums {
        fn mean(self) -> Point {
            let n = f64::from(self.n);
            // Two decimals (three for the MB/s rates): a mean's float noise is no figure.
            let v = self.values.map(|x| round(x / n, 2) as f32);
            let rate = |i: usize| round(self.values[i] / n, 3) as f32;
            Point {
                t: self.newest.t,
                cpu: v[0],
                temp: (self.temps > 0).then(|| round(self.temp / f64::from(self.temps), 2) as f32),
                mem: v[1],
                swap: v[2],
                disk: v[3],
                net_in: rate(4),
                net_out: rate(5),
                load1: v[6],
                top_mem: self.newest.top_mem,
                top_cpu: self.newest.top_cpu,
                range: Some(self.range),
            }
        }
    }
    let step = f64::from(step.max(1));
    let mut out = Vec::new();
    let mut open: Option<Sums> = None;
    for p in points {
        let key = (p.t / step).floor() as i64;
        if open.as_ref().is_some_and(|b| b.key != key) {
            out.extend(open.take().map(Sums::mean));
        }
        let r = p.extremes();
        let b = open.get_or_insert_with(|| Sums {
            key,
            newest: p.clone(),
            n: 0,
            values: [0.0; 7],
            temp: 0.0,
            temps: 0,
            range: r,
        });
        b.n += 1;
        b.range.cpu = [b.range.cpu[0].min(r.cpu[0]), b.range.cpu[1].max(r.cpu[1])];
        b.range.mem = [b.range.mem[0].min(r.mem[0]), b.range.mem[1].max(r.mem[1])];
        let values = [p.cpu, p.mem, p.swap, p.disk, p.net_in, p.net_out, p.load1];
        for (sum, v) in b.values.iter_mut().zip(values) {
            *sum += f64::from(v);
        }
        if let Some(t) = p.temp {
            b.temp += f64::from(t);
            b.temps += 1;
        }
        b.newest = p;
    }
    out.extend(open.map(Sums::mean));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: f64, cpu: f32, temp: Option<f32>, top: &str) -> Point {
        let top = || {
            Some(Top {
                name: Arc::from(top),
                value: 1.0,
            })
        };
        Point {
            t,
            cpu,
            temp,
            mem: cpu * 2.0,
            swap: 0.0,
            disk: 50.0,
            net_in: 0.5,
            net_out: 0.25,
            load1: 1.0,
            top_mem: [top(), None, None],
            top_cpu: [top(), top(), None],
            range: None,
        }
    }

    #[test]
    fn buckets_are_aligned_means_with_the_newest_tops() {
        let points = [
            point(99.5, 10.0, None, "a"),
            point(100.0, 10.0, Some(40.0), "b"),
            point(104.9, 20.0, None, "c"),
            point(109.99, 30.0, Some(50.0), "d"),
            point(110.0, 40.0, None, "e"),
            point(110.5, 41.0, None, "e"),
            point(111.0, 41.0, None, "e"),
            point(131.0, 50.0, None, "f"),
        ];
        let b = buckets(points.clone(), 10);
        let ts: Vec<f64> = b.iter().map(|p| p.t).collect();
        // [90, 100), [100, 110), [110, 120), and [130, 140): no empty buckets.
        assert_eq!(ts, [99.5, 109.99, 111.0, 131.0]);
        assert_eq!(b[2].cpu, 40.67, "rounded to two decimals");
        assert_eq!(b[1].cpu, 20.0);
        assert_eq!(b[1].mem, 40.0);
        assert_eq!(b[1].temp, Some(45.0), "mean of the present temperatures");
        assert_eq!(b[1].range.unwrap().cpu, [10.0, 30.0]);
        let json = serde_json::to_string(&Selected {
            point: &b[1],
            fields: Fields::parse("cpu").unwrap(),
        });
        assert_eq!(
            json.unwrap(),
            r#"{"t":109.99,"cpu":20.0,"cpu_min":10.0,"cpu_max":30.0}"#
        );
        assert_eq!(b[0].temp, None);
        assert_eq!(b[1].top_mem[0].as_ref().unwrap().name.as_ref(), "d");
        assert!(b[1].top_cpu[2].is_none());
        assert_eq!((b[1].disk, b[1].net_in, b[1].load1), (50.0, 0.5, 1.0));
        // A step of 1 keeps one point per second; no points, no buckets.
        assert_eq!(buckets(points.clone(), 1).len(), 7);
        assert!(buckets([], 60).is_empty());
        assert_eq!(buckets(points, 3600).len(), 1);
    }

    #[test]
    fn selected_fields_serialise_like_the_point() {
        let p = point(1.5, 12.5, None, "x");
        let all = Selected {
            point: &p,
            fields: Fields::ALL,
        };
        assert_eq!(
            serde_json::to_string(&all).unwrap(),
            serde_json::to_string(&p).unwrap()
        );
        let some = Selected {
            point: &p,
            fields: Fields::parse("temp,cpu,cpu").unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&some).unwrap(),
            r#"{"t":1.5,"cpu":12.5,"temp":null}"#
        );
        assert_eq!(Fields::parse("cpu,t"), Fields::parse("cpu"));
        assert_eq!(Fields::parse("cpu,tmp").err().as_deref(), Some("tmp"));
        assert_eq!(Fields::parse("").err().as_deref(), Some(""));
        assert_eq!(Fields::parse(" , ").err().as_deref(), Some(""));
        assert_eq!(Fields::parse("cpu,,mem,"), Fields::parse("cpu,mem"));
        assert_eq!(Fields::parse(&FIELDS.join(",")), Ok(Fields::ALL));
    }
}
