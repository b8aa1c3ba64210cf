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

    mod props {
        //! Properties of the `/proc/net/wireless` and `iw dev IF link` parsers.
        use super::super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::testing::cases(128))]

            /// Any text, from either source, parses without panicking.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..400)) {
                let text = String::from_utf8_lossy(&bytes);
                if let Some(w) = parse_proc(&text) {
                    prop_assert!(w.quality.is_none_or(|q| q <= 100.0));
                }
                let mut w = Wireless::default();
                parse_iw_link(&text, &mut w);
                let prefixed = format!("Connected to {text}\nSSID: {text}\nfreq: {text}\nsignal: {text}");
                parse_iw_link(&prefixed, &mut w);
            }

            /// Every frequency maps to no channel or to one of the real channel numbers.
            #[test]
            fn channels_are_real(mhz in any::<u32>()) {
                if let Some(c) = channel(mhz) {
                    prop_assert!((1..=233).contains(&c), "{} MHz -> {}", mhz, c);
                }
            }

            /// The 2.4 GHz channels 1-13 are 5 MHz apart from 2412.
            #[test]
            fn channels_of_2_4_ghz(n in 1u32..=13) {
                prop_assert_eq!(channel(2407 + 5 * n), Some(n));
            }

            /// A generated `/proc/net/wireless` line gives the interface, the link quality
            /// out of 70 as a percentage (capped at 100) and the signal level.
            #[test]
            fn generated_proc_line_round_trips(
                iface in "[a-z][a-z0-9]{0,14}",
                link in 0u32..=100,
                level in -110i32..=0,
            ) {
                let text = format!(
                    "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n \
                     face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n\
                     {iface:>6}: 0000   {link}.  {level}.  -256        0      0      0      0     12        0\n"
                );
                let w = parse_proc(&text).expect("a wireless line");
                prop_assert_eq!(w.interface, iface);
                let want = crate::model::round((f64::from(link) / 70.0 * 100.0).min(100.0), 0);
                prop_assert_eq!(w.quality, Some(want));
                prop_assert_eq!(w.signal, Some(f64::from(level)));
            }

            /// Generated `iw` output gives back its SSID (spaces inside kept), BSSID, channel
            /// and signal, in any order of the lines.
            #[test]
            fn generated_iw_output_round_trips(
                ssid in "[!-~]([ -~]{0,30}[!-~])?",
                mac in "([0-9a-f]{2}:){5}[0-9a-f]{2}",
                n in 1u32..=13,
                signal in -100i32..=-20,
                reversed in any::<bool>(),
            ) {
                let mut lines = [
                    format!("Connected to {mac} (on wlan0)"),
                    format!("\tSSID: {ssid}"),
                    format!("\tfreq: {}.0", 2407 + 5 * n),
                    "\tRX: 1234 bytes (10 packets)".to_owned(),
                    format!("\tsignal: {signal} dBm"),
                    "\ttx bitrate: 72.2 MBit/s".to_owned(),
                ];
                if reversed {
                    lines.reverse();
                }
                let mut w = Wireless::default();
                parse_iw_link(&lines.join("\n"), &mut w);
                prop_assert_eq!(w.name, Some(ssid));
                prop_assert_eq!(w.address, Some(mac));
                prop_assert_eq!(w.channel, Some(n));
                prop_assert_eq!(w.signal, Some(f64::from(signal)));
            }
        }
    }
}
