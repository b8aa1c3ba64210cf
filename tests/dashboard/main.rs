//! The dashboard at `GET /`, driven in headless Chromium over the DevTools protocol against the
//! real binary: one host's view (`host.rs`: real figures, live frames, tooltips, the window
//! choice, sorting, the panels, a restart on the same port) and the fleet of several servers
//! (`fleet.rs`); no request leaves 127.0.0.1, and screenshots at 1280 and 375 px go to `target/`.
//!
//! Needs Chromium (Debian's `chromium`, installed when missing if we are root with apt, or the
//! path in `$CHROMIUM`); fails loudly without it.

mod chrome;
#[path = "../common/mod.rs"]
mod common;
mod csp;
mod fleet;
mod host;
mod older;
mod tls;
