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

/// Whether the request's `Accept-Encoding` values accept gzip (and do not refuse it with
/// `q=0`).
pub fn accepted<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    // An explicit `gzip` item decides; `*` counts only without one (RFC 9110, 12.5.3).
    let mut star = None;
    for item in values.into_iter().flat_map(|v| v.split(',')) {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q_zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
        });
        if coding.eq_ignore_ascii_case("gzip") {
            return !q_zero;
        }
        if coding == "*" {
            star = Some(!q_zero);
        }
    }
    star.unwrap_or(false)
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
}
