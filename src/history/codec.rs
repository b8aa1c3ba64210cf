//! The bytes of the history files: little-endian fields, framed records with a CRC-32.
//!
//! A record is `length: u32, crc32(payload): u32, payload`. A reader stops at the first record
//! that is short (torn by a crash) or whose checksum does not match (corrupt): nothing after
//! it is trusted.

use super::compact::{Coarse, Compact};
use super::tier::Acc;
use std::sync::Arc;

/// Appends little-endian fields to a buffer.
#[derive(Default)]
pub struct Out(pub Vec<u8>);

impl Out {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn compact(&mut self, c: &Compact) {
        self.u64(c.t_ms as u64);
        c.centi.iter().for_each(|v| self.u16(*v));
        c.net.iter().for_each(|v| self.f32(*v));
        c.top_ids.iter().for_each(|v| self.u16(*v));
        c.top_vals.iter().for_each(|v| self.f32(*v));
    }

    pub fn coarse(&mut self, c: &Coarse) {
        self.compact(&c.mean);
        c.range.iter().for_each(|v| self.u16(*v));
    }

    pub fn acc(&mut self, a: &Acc) {
        self.u64(a.width as u64);
        self.u64(a.key as u64);
        self.u32(a.n);
        a.sums.iter().for_each(|v| self.f64(*v));
        self.f64(a.temp);
        self.u32(a.temps);
        a.range.iter().for_each(|v| self.u16(*v));
        match &a.newest {
            Some(c) => {
                self.u8(1);
                self.compact(c);
            }
            None => self.u8(0),
        }
    }

    /// A name table: id 0 and free ids as empty entries.
    pub fn names(&mut self, names: &[Option<Arc<str>>]) {
        self.u32(names.len() as u32);
        for n in names {
            let b = n.as_deref().unwrap_or("").as_bytes();
            let b = &b[..b.len().min(255)];
            self.u8(b.len() as u8);
            self.0.extend_from_slice(b);
        }
    }
}

/// Reads little-endian fields; `None` past the end.
pub struct In<'a>(pub &'a [u8]);

impl In<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    pub fn f32(&mut self) -> Option<f32> {
        self.take().map(f32::from_le_bytes)
    }
    pub fn f64(&mut self) -> Option<f64> {
        self.take().map(f64::from_le_bytes)
    }

    pub fn compact(&mut self) -> Option<Compact> {
        let t_ms = self.u64()? as i64;
        let mut c = Compact {
            t_ms,
            centi: [0; 6],
            net: [0.0; 2],
            top_ids: [0; 6],
            top_vals: [0.0; 6],
        };
        for v in &mut c.centi {
            *v = self.u16()?;
        }
        for v in &mut c.net {
            *v = self.f32()?;
        }
        for v in &mut c.top_ids {
            *v = self.u16()?;
        }
        for v in &mut c.top_vals {
            *v = self.f32()?;
        }
        Some(c)
    }

    pub fn coarse(&mut self) -> Option<Coarse> {
        let mean = self.compact()?;
        let mut range = [0; 4];
        for v in &mut range {
            *v = self.u16()?;
        }
        Some(Coarse { mean, range })
    }

    pub fn acc(&mut self) -> Option<Acc> {
        let mut a = Acc::new(1);
        a.width = self.u64()? as i64;
        a.key = self.u64()? as i64;
        a.n = self.u32()?;
        for v in &mut a.sums {
            *v = self.f64()?;
        }
        a.temp = self.f64()?;
        a.temps = self.u32()?;
        for v in &mut a.range {
            *v = self.u16()?;
        }
        a.newest = match self.u8()? {
            0 => None,
            1 => Some(self.compact()?),
            _ => return None,
        };
        (a.width > 0).then_some(a)
    }

    pub fn names(&mut self) -> Option<Vec<Option<Arc<str>>>> {
        let n = self.u32()? as usize;
        if n > usize::from(u16::MAX) + 1 {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let len = usize::from(self.u8()?);
            if self.0.len() < len {
                return None;
            }
            let (b, rest) = self.0.split_at(len);
            self.0 = rest;
            let name = std::str::from_utf8(b).ok()?;
            out.push((!name.is_empty()).then(|| Arc::from(name)));
        }
        Some(out)
    }
}

/// `payload` framed as a record.
pub fn record(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The records of `bytes` in order, and whether they ended cleanly (`false`: a torn or
/// corrupt record, and what followed it, was left out).
pub fn records(mut bytes: &[u8]) -> (Vec<&[u8]>, bool) {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut head = In(bytes);
        let (Some(len), Some(crc)) = (head.u32(), head.u32()) else {
            return (out, false);
        };
        let len = len as usize;
        if head.0.len() < len || crc32fast::hash(&head.0[..len]) != crc {
            return (out, false);
        }
        out.push(&head.0[..len]);
        bytes = &head.0[len..];
    }
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_stop_at_a_torn_or_corrupt_one() {
        let mut file = record(b"one");
        file.extend(record(b"two"));
        assert_eq!(records(&file), (vec![&b"one"[..], &b"two"[..]], true));
        assert_eq!(records(&file[..file.len() - 1]), (vec![&b"one"[..]], false));
        let mut bad = file.clone();
        bad[9] ^= 1;
        assert_eq!(records(&bad), (vec![], false));
        assert_eq!(records(&[]), (vec![], true));
    }

    #[test]
    fn fields_round_trip() {
        let c = Compact {
            t_ms: -5,
            centi: [1, 2, 3, 4, 5, 6],
            net: [0.5, 1.5],
            top_ids: [1, 0, 0, 2, 0, 0],
            top_vals: [1.0; 6],
        };
        let mut a = Acc::new(60);
        a.add(&c);
        let names = vec![None, Some(Arc::from("a")), Some(Arc::from("b"))];
        let mut out = Out::default();
        out.coarse(&Coarse {
            mean: c,
            range: [9, 8, 7, 6],
        });
        out.acc(&a);
        out.names(&names);
        let mut input = In(&out.0);
        let back = input.coarse().unwrap();
        assert_eq!((back.mean.t_ms, back.range), (-5, [9, 8, 7, 6]));
        assert_eq!(input.acc().unwrap().newest.unwrap().net, [0.5, 1.5]);
        assert_eq!(input.names().unwrap(), names);
        assert!(input.0.is_empty());
        assert!(In(&out.0[..10]).coarse().is_none(), "short input");
    }
}
