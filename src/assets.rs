//! The web files in `assets/`, embedded at compile time and served with an `ETag`, gzipped
//! (once, on first use) for clients that accept it: the dashboard is about 89 KB as written
//! and a third of that on the wire.

use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    gzipped: OnceLock<Vec<u8>>,
}

/// An [`Asset`] for `assets/NAME`, served at `/NAME`.
macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            path: concat!("/", $name),
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/", $name)),
            gzipped: OnceLock::new(),
        }
    };
}

/// Every file the dashboard needs; `/` serves `index.html`. The page loads the others with
/// relative URLs, so it also works behind a reverse proxy under a sub-path.
pub static ASSETS: [Asset; 8] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("lib.js", "text/javascript; charset=utf-8"),
    asset!("chart.js", "text/javascript; charset=utf-8"),
    asset!("host.js", "text/javascript; charset=utf-8"),
    asset!("fleet.js", "text/javascript; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The asset for a request path (`/` means `/index.html`).
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

impl Asset {
    /// A strong validator: FNV-1a of the content, quoted (`-gz` for the gzipped body). Content
    /// is fixed per binary, so it only changes when the binary does.
    pub fn etag(&self, gzipped: bool) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.body {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let suffix = if gzipped { "-gz" } else { "" };
        format!("\"{h:016x}{suffix}\"")
    }

    /// The body as one gzip member, compressed the first time it is asked for.
    pub fn gzipped(&self) -> &[u8] {
        self.gzipped
            .get_or_init(|| crate::gzip::compress_bytes(self.body, flate2::Compression::best()))
    }
}
