//! Wi-Fi link details without privileges: `/proc/net/wireless` for quality and signal, and
//! `iw dev IF link` (when installed) for SSID, BSSID and frequency.
//!
//! `iw` is a child process, so it never runs on the sampler thread: a helper thread refreshes
//! the details every 10 s while a wireless interface exists, with a 2 s timeout on `iw`.

use crate::model::Wireless;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Parses `/proc/net/wireless`: `iface: status link level noise ...` after two header lines.
/// Link quality is out of 70 on most drivers (the `iwconfig` convention).
pub fn parse_proc(text: &str) -> Option<Wireless> {
    text.lines().skip(2).find_map(|line| {
        let (name, rest) = line.split_once(':')?;
        let mut f = rest.split_whitespace().skip(1);
        let num = |s: Option<&str>| s?.trim_end_matches('.').parse::<f64>().ok();
        let link = num(f.next());
        let level = num(f.next());
        Some(Wireless {
            interface: name.trim().to_owned(),
            quality: link.map(|l| crate::model::round((l / 70.0 * 100.0).min(100.0), 0)),
            signal: level,
            ..Wireless::default()
        })
    })
}

/// Parses `iw dev IF link` output into `w` (SSID, BSSID, channel from the frequency).
pub fn parse_iw_link(text: &str, w: &mut Wireless) {
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Connected to ") {
            w.address = rest.split_whitespace().next().map(str::to_owned);
        } else if let Some(ssid) = line.strip_prefix("SSID: ") {
            w.name = Some(ssid.to_owned());
        } else if let Some(freq) = line.strip_prefix("freq: ") {
            let mhz: f64 = freq
                .split_whitespace()
                .next()
                .and_then(|f| f.parse().ok())
                .unwrap_or(0.0);
            w.channel = channel(mhz as u32);
        } else if let Some(sig) = line.strip_prefix("signal: ") {
            w.signal = sig.split_whitespace().next().and_then(|s| s.parse().ok());
        }
    }
}

/// Wi-Fi channel number for a centre frequency in MHz.
pub fn channel(mhz: u32) -> Option<u32> {
    match mhz {
        2484 => Some(14),
        2412..=2472 => Some((mhz - 2407) / 5),
        5955..=7115 => Some((mhz - 5950) / 5),
        5000..=5895 => Some((mhz - 5000) / 5),
        _ => None,
    }
}

/// Details from `iw`, refreshed off the sampler thread.
#[derive(Clone, Default)]
pub struct IwCache {
    inner: Arc<Mutex<(Option<Instant>, Option<Wireless>)>>,
}

impl IwCache {
    /// Merges the latest `iw` details into `w`, and starts a refresh if they are older than 10 s.
    pub fn enrich(&self, w: &mut Wireless) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (when, cached) = &mut *guard;
        if let Some(c) = cached.as_ref().filter(|c| c.interface == w.interface) {
            w.name = c.name.clone();
            w.address = c.address.clone();
            w.channel = c.channel;
        }
        if when.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            *when = Some(Instant::now());
            let iface = w.interface.clone();
            let inner = Arc::clone(&self.inner);
            let spawned = std::thread::Builder::new()
                .name("iw".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    if let Some(text) = run_iw(&iface) {
                        let mut fresh = Wireless {
                            interface: iface,
                            ..Wireless::default()
                        };
                        parse_iw_link(&text, &mut fresh);
                        inner.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(fresh);
                    }
                });
            if spawned.is_err() {
                log::debug!("could not start the iw helper thread");
            }
        }
    }
}

/// Runs `iw dev IF link` with a 2 s timeout; `None` if iw is missing, fails or hangs.
fn run_iw(iface: &str) -> Option<String> {
    let mut child = Command::new("iw")
        .args(["dev", iface, "link"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_wireless() {
        let text =
            "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n \
face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n \
wlan0: 0000   56.  -54.  -256        0      0      0      0     12        0\n";
        let w = parse_proc(text).unwrap();
        assert_eq!(w.interface, "wlan0");
        assert_eq!(w.quality, Some(80.0));
        assert_eq!(w.signal, Some(-54.0));
        assert!(parse_proc("only\nheaders\n").is_none());
    }

    #[test]
    fn parses_iw_link() {
        let text = "Connected to aa:bb:cc:dd:ee:ff (on wlan0)\n\tSSID: home net\n\tfreq: 5180.0\n\tsignal: -61 dBm\n";
        let mut w = Wireless::default();
        parse_iw_link(text, &mut w);
        assert_eq!(w.name.as_deref(), Some("home net"));
        assert_eq!(w.address.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!(w.channel, Some(36));
        assert_eq!(w.signal, Some(-61.0));
        assert_eq!(channel(2437), Some(6));
        assert_eq!(channel(0), None);
    }
}
