//! gzip for `GET /metrics` (Prometheus sends `Accept-Encoding: gzip`), compressed once per
//! snapshot rather than once per scrape, and for `GET /history` (up to a megabyte of JSON).
//!
//! The exposition is the snapshot's part (rendered and compressed once, when first scraped)
//! followed by a small live part (sessions, workers, counters) that changes per scrape. A gzip
//! member may hold several deflate blocks, so the snapshot part is deflated and sync-flushed
//! (ending on a byte boundary, not final), and each scrape appends the live part as a final
//! *stored* block, then the CRC-32 and length of the whole. One standard gzip member: any
//! client inflates it, and a scrape costs a copy and a CRC over the live bytes only.

use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use std::io::Write;

/// The compressed snapshot part of an exposition, ready for live tails.
#[derive(Debug)]
pub struct Prefix {
    /// gzip header and the sync-flushed deflate blocks.
    bytes: Vec<u8>,
    /// CRC-32 and length of the text so far.
    crc: Crc,
}

/// gzip header: magic, deflate, no flags, no mtime, no extra flags, OS "unknown".
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Prefix {
    /// Compresses `text` (the snapshot's part).
    pub fn new(text: &str) -> Prefix {
        let mut out = HEADER.to_vec();
        let mut enc = DeflateEncoder::new(Vec::with_capacity(text.len() / 4), Compression::fast());
        // Writing to a Vec cannot fail; `flush` is deflate's sync flush.
        let _ = enc.write_all(text.as_bytes());
        let _ = enc.flush();
        out.extend_from_slice(enc.get_ref());
        let mut crc = Crc::new();
        crc.update(text.as_bytes());
        Prefix { bytes: out, crc }
    }

    /// The whole gzip member: the prefix, then `tail` in stored blocks, then the trailer.
    pub fn finish(&self, tail: &str) -> Vec<u8> {
        let tail = tail.as_bytes();
        let mut out = Vec::with_capacity(self.bytes.len() + tail.len() + 32);
        out.extend_from_slice(&self.bytes);
        let mut chunks = tail.chunks(u16::MAX as usize).peekable();
        if chunks.peek().is_none() {
            stored(&mut out, &[], true);
        }
        while let Some(c) = chunks.next() {
            stored(&mut out, c, chunks.peek().is_none());
        }
        let mut rest = Crc::new();
        rest.update(tail);
        let mut crc = Crc::new();
        crc.combine(&self.crc);
        crc.combine(&rest);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&crc.amount().to_le_bytes());
        out
    }
}

/// `text` as one gzip member (for `/history`, whose body is built per request).
pub fn compress(text: &str) -> Vec<u8> {
    Prefix::new(text).finish("")
}

/// `data` as one gzip member at `level` (the dashboard's files: compressed once, so at best).
pub fn compress_bytes(data: &[u8], level: Compression) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 3), level);
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// A stored deflate block (byte-aligned, as the sync flush left the stream).
fn stored(out: &mut Vec<u8>, data: &[u8], last: bool) {
    let len = data.len() as u16;
    out.push(u8::from(last));
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
}

/// Whether the request's `Accept-Encoding` values accept gzip (RFC 9110, 12.5.3): the best
/// weight given to `gzip` or its old name `x-gzip` decides, and `*` counts only when neither is
/// named. A weight that is not a valid qvalue (`q=bogus`, `q=-1`, `q=2`) makes its item not
/// acceptable, rather than being read as 1; white space around `;` and `=` is tolerated
/// (`gzip ; q = 0` refuses gzip).
pub fn accepted<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    let mut named: Option<u16> = None;
    let mut star = None;
    for item in values.into_iter().flat_map(|v| v.split(',')) {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let mut weight = Some(1000);
        for p in parts {
            let Some((name, value)) = p.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                weight = qvalue(value.trim());
            }
        }
        let weight = weight.unwrap_or(0);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            named = Some(named.map_or(weight, |w| w.max(weight)));
        } else if coding == "*" {
            star = Some(weight);
        }
    }
    named.or(star).is_some_and(|w| w > 0)
}

/// A qvalue in thousandths: `0`, `0.5`, `1`, `1.000` (at most three decimals, at most 1);
/// `None` for anything else.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if !matches!(whole, "0" | "1") || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths = u16::from(whole == "1") * 1000;
    for (i, d) in frac.bytes().enumerate() {
        thousandths += u16::from(d - b'0') * [100, 10, 1][i];
    }
    (thousandths <= 1000).then_some(thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn inflate(gz: &[u8]) -> String {
        let mut out = String::new();
        GzDecoder::new(gz).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn prefix_and_tails_make_one_valid_member() {
        let head = "# TYPE a gauge\na 1\n".repeat(500);
        let p = Prefix::new(&head);
        for tail in ["", "b 2\n", &"c 3\n".repeat(40_000)] {
            let gz = p.finish(tail);
            assert_eq!(inflate(&gz), format!("{head}{tail}"));
        }
        assert!(p.finish("").len() < head.len() / 10, "it compresses");
        assert_eq!(inflate(&compress(&head)), head);
        assert_eq!(inflate(&compress("")), "");
    }

    #[test]
    fn accept_encoding() {
        assert!(accepted(["gzip"]));
        assert!(accepted(["deflate, GZIP;q=0.5"]));
        assert!(accepted(["*"]));
        assert!(!accepted(["gzip;q=0"]));
        assert!(
            !accepted(["gzip;q=0, *"]),
            "the explicit refusal wins over *"
        );
        assert!(!accepted(["*", "gzip;q=0"]));
        assert!(accepted(["br;q=0, *"]));
        assert!(!accepted(["*;q=0"]));
        assert!(!accepted(["identity", "br"]));
        assert!(!accepted(std::iter::empty()));
    }

    #[test]
    fn weights_are_read_strictly() {
        for refused in [
            "gzip;q=bogus",
            "gzip;q=-1",
            "gzip;q=2",
            "gzip;q=1.5",
            "gzip;q=0.0001",
            "gzip;q=",
            "gzip ; q = 0",
            "gzip;Q=0",
            "x-gzip;q=0",
            "gzip;q=0, *",
            "*;q=bogus",
        ] {
            assert!(!accepted([refused]), "{refused}");
        }
        for taken in [
            "gzip;q=1",
            "gzip;q=1.000",
            "gzip;q=0.001",
            "gzip ; q = 0.5",
            "x-gzip",
            "X-GZIP;q=0.3",
            "gzip;q=0, x-gzip;q=0.5",
            "br, *;q=0.1",
            "gzip;level=9",
        ] {
            assert!(accepted([taken]), "{taken}");
        }
    }
}
