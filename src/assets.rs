//! The web files in `assets/`, embedded at compile time and served with an `ETag`.

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// An [`Asset`] for `assets/NAME`, served at `/NAME`.
macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            path: concat!("/", $name),
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

/// Every file the dashboard needs; `/` serves `index.html`. The page loads the others with
/// relative URLs, so it also works behind a reverse proxy under a sub-path.
pub const ASSETS: &[Asset] = &[
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
    /// A strong validator: FNV-1a of the content, quoted. Content is fixed per binary, so it
    /// only changes when the binary does.
    pub fn etag(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.body {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("\"{h:016x}\"")
    }
}
