//! Memory and swap from `/proc/meminfo`, with psutil's definitions so numbers match the original:
//! `used = total - free - buffers - cached` (cached includes `SReclaimable`) and
//! `percent = (total - available) / total`.

use crate::model::{gib, percent, Memory};

/// Raw byte counts, kept for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
    /// `Active`, `Inactive` and `Shmem` (Glances' `active`, `inactive`, `shared`).
    pub active: u64,
    pub inactive: u64,
    pub shared: u64,
}

/// The JSON model's view of `/proc/meminfo` (values in kB) in bytes: each field's first value.
pub fn view(m: &crate::read::meminfo::Meminfo) -> MemInfo {
    // Saturating: a corrupt or hostile value must not overflow (a panic in debug builds).
    let kb = |k: &str| m.get(k).unwrap_or(0).saturating_mul(1024);
    let free = kb("MemFree");
    MemInfo {
        total: kb("MemTotal"),
        free,
        // Kernels before 3.14 lack MemAvailable; free is the conservative stand-in.
        available: m
            .get("MemAvailable")
            .map_or(free, |v| v.saturating_mul(1024)),
        buffers: kb("Buffers"),
        cached: kb("Cached").saturating_add(kb("SReclaimable")),
        swap_total: kb("SwapTotal"),
        swap_free: kb("SwapFree"),
        active: kb("Active"),
        inactive: kb("Inactive"),
        shared: kb("Shmem"),
    }
}

/// Reads `/proc/meminfo`; zeros if it cannot be read.
pub fn read(roots: &super::family::Roots) -> MemInfo {
    crate::read::meminfo::read(&roots.proc("meminfo"))
        .exact()
        .map(view)
        .unwrap_or_default()
}

impl MemInfo {
    /// RAM in the original's shape.
    pub fn memory(&self) -> Memory {
        let mut used = self
            .total
            // Saturating: hostile sizes near 2^64 must not overflow (a panic in debug builds,
            // a wrapped, tiny sum in release).
            .saturating_sub(
                self.free
                    .saturating_add(self.buffers)
                    .saturating_add(self.cached),
            );
        if used == 0 {
            used = self.total.saturating_sub(self.free);
        }
        Memory {
            total: gib(self.total),
            used: gib(used),
            free: gib(self.free),
            percent: percent(
                self.total.saturating_sub(self.available) as f64,
                self.total as f64,
            ),
        }
    }

    /// Swap in the same shape; all zeros on hosts without swap.
    pub fn swap(&self) -> Memory {
        let used = self.swap_total.saturating_sub(self.swap_free);
        Memory {
            total: gib(self.swap_total),
            used: gib(used),
            free: gib(self.swap_free),
            percent: percent(used as f64, self.swap_total as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON model's view of a `/proc/meminfo` text.
    pub(super) fn parse(text: &str) -> MemInfo {
        view(&crate::read::meminfo::parse(text))
    }

    #[test]
    fn psutil_definitions() {
        let m = parse(
            "MemTotal:       16000000 kB\nMemFree:        14000000 kB\n\
MemAvailable:   15000000 kB\nBuffers:          100000 kB\nCached:           400000 kB\n\
SReclaimable:      50000 kB\nSwapTotal:       1048576 kB\nSwapFree:         524288 kB\n",
        );
        let mem = m.memory();
        assert_eq!(mem.total, 15.26);
        // 16e6 - 14e6 - 0.1e6 - 0.45e6 = 1.45e6 kB
        assert_eq!(mem.used, 1.38);
        assert_eq!(mem.percent, 6.3);
        let swap = m.swap();
        assert_eq!(swap.total, 1.0);
        assert_eq!(swap.percent, 50.0);
    }

    #[test]
    fn empty_input_gives_zeros() {
        let m = parse("");
        assert_eq!(m.memory().percent, 0.0);
        assert_eq!(m.swap().total, 0.0);
    }

    mod props {
        //! Properties of the `/proc/meminfo` parser and psutil's definitions.
        use super::super::*;
        use super::parse;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// kB values up to 2^40 (1 PiB): beyond any host, far from overflowing in bytes.
        fn kb() -> impl Strategy<Value = u64> {
            0u64..1 << 40
        }

        proptest! {
            #![proptest_config(crate::testing::cases(128))]

            /// Any text parses without panicking.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..400)) {
                let m = parse(&String::from_utf8_lossy(&bytes));
                let _ = (m.memory(), m.swap());
            }

            /// Whatever sizes a (corrupt or hostile) meminfo claims, up to 2^64 kB: nothing
            /// overflows, used never exceeds total, and percentages stay in 0..=100.
            #[test]
            fn any_sizes_stay_in_bounds(
                v in proptest::array::uniform8(prop_oneof![any::<u64>(), kb(), 0u64..4]),
            ) {
                let keys = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached",
                            "SReclaimable", "SwapTotal", "SwapFree"];
                let text: String = keys.iter().zip(v).map(|(k, n)| format!("{k}: {n} kB\n")).collect();
                let m = parse(&text);
                for (name, mem) in [("memory", m.memory()), ("swap", m.swap())] {
                    prop_assert!(mem.used <= mem.total, "{}: {:?}", name, mem);
                    prop_assert!((0.0..=100.0).contains(&mem.percent), "{}: {:?}", name, mem);
                }
            }

            /// Generated meminfo parses back into bytes, whatever the order of the lines and
            /// with look-alike keys (`SwapCached`, `MemTotalX`) around.
            #[test]
            fn generated_meminfo_round_trips(
                v in proptest::array::uniform8(kb()),
                reversed in any::<bool>(),
            ) {
                let keys = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached",
                            "SReclaimable", "SwapTotal", "SwapFree"];
                let mut lines: Vec<String> = keys
                    .iter()
                    .zip(v)
                    .map(|(k, n)| format!("{k}:{:>16} kB", n))
                    .collect();
                lines.push("SwapCached:        999 kB".into());
                lines.push("MemTotalX:         777 kB".into());
                lines.push("HugePages_Total:       0".into());
                if reversed {
                    lines.reverse();
                }
                let m = parse(&lines.join("\n"));
                prop_assert_eq!(m.total, v[0] * 1024);
                prop_assert_eq!(m.free, v[1] * 1024);
                prop_assert_eq!(m.available, v[2] * 1024);
                prop_assert_eq!(m.buffers, v[3] * 1024);
                prop_assert_eq!(m.cached, (v[4] + v[5]) * 1024);
                prop_assert_eq!(m.swap_total, v[6] * 1024);
                prop_assert_eq!(m.swap_free, v[7] * 1024);
            }

            /// Without MemAvailable (kernels before 3.14), free stands in for it.
            #[test]
            fn available_falls_back_to_free(total in kb(), free in kb()) {
                let m = parse(&format!("MemTotal: {total} kB\nMemFree: {free} kB\n"));
                prop_assert_eq!(m.available, free * 1024);
            }

            /// Whatever the counters say, even inconsistent ones, the figures are sane:
            /// percentages in 0..=100 and never NaN, used no more than total.
            #[test]
            fn figures_are_sane(v in proptest::array::uniform7(0u64..1 << 50)) {
                let m = MemInfo {
                    total: v[0],
                    free: v[1],
                    available: v[2],
                    buffers: v[3],
                    cached: v[4],
                    swap_total: v[5],
                    swap_free: v[6],
                    ..MemInfo::default()
                };
                for (what, u) in [("mem", m.memory()), ("swap", m.swap())] {
                    prop_assert!((0.0..=100.0).contains(&u.percent), "{} {}", what, u.percent);
                    prop_assert!(u.used <= u.total, "{} used {} > total {}", what, u.used, u.total);
                }
            }
        }
    }
}
