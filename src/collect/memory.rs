//! Memory and swap from `/proc/meminfo`, with psutil's definitions so numbers match the original:
//! `used = total - free - buffers - cached` (cached includes `SReclaimable`) and
//! `percent = (total - available) / total`.

use super::procfs::{field_u64, read_into};
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
}

/// Parses `/proc/meminfo` (values in kB) into bytes.
pub fn parse(text: &str) -> MemInfo {
    let kb = |k: &str| field_u64(text, k).unwrap_or(0) * 1024;
    let free = kb("MemFree");
    MemInfo {
        total: kb("MemTotal"),
        free,
        // Kernels before 3.14 lack MemAvailable; free is the conservative stand-in.
        available: field_u64(text, "MemAvailable").map_or(free, |v| v * 1024),
        buffers: kb("Buffers"),
        cached: kb("Cached") + kb("SReclaimable"),
        swap_total: kb("SwapTotal"),
        swap_free: kb("SwapFree"),
    }
}

/// Reads `/proc/meminfo`; zeros if it cannot be read.
pub fn read(buf: &mut Vec<u8>) -> MemInfo {
    read_into("/proc/meminfo", buf)
        .map(parse)
        .unwrap_or_default()
}

impl MemInfo {
    /// RAM in the original's shape.
    pub fn memory(&self) -> Memory {
        let mut used = self
            .total
            .saturating_sub(self.free + self.buffers + self.cached);
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
}
