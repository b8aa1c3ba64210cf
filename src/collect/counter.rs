//! Counters into rates, with the one reset rule every rate uses.
//!
//! The kernel's counters only grow, except when they do not: an interface re-created, a
//! driver reset, a device hot-plugged under an old name, a 32-bit counter wrapping, or a
//! tree that lies. A delta is therefore trusted only when it is plausible: a counter that went
//! backwards, or rose faster than `max_per_sec` allows, is a *reset* — its rate is 0 for that
//! tick and its new value is the baseline of the next (the caller keeps `now` either way).
//! So a rate is never negative and never a spike that would stay in `/history` for its whole
//! window.

/// The hard cap for byte counters where nothing better is known: 1 TiB/s, past any interface
/// or block device a monitored host has (a 400 Gbit/s link is 50 GB/s).
pub const MAX_BYTES_PER_SEC: f64 = (1u64 << 40) as f64;

/// The hard cap for operation and packet counters: 2^32 a second.
pub const MAX_OPS_PER_SEC: f64 = (1u64 << 32) as f64;

/// How far past its line rate an interface's counters may seem to move in one tick: some
/// drivers refresh their hardware statistics only every second or two, so a 500 ms tick can
/// see up to four ticks' worth at once.
pub const LINK_SLACK: f64 = 4.0;

/// The increase from `before` to `now` over `secs` seconds, or 0 when it is a reset (went
/// backwards, or more than `max_per_sec` a second) or no time passed.
pub fn delta(before: u64, now: u64, secs: f64, max_per_sec: f64) -> u64 {
    if secs <= 0.0 || now < before {
        return 0;
    }
    let d = now - before;
    if d as f64 > max_per_sec * secs {
        0
    } else {
        d
    }
}

/// The rate of [`delta`] per second (0 when no time passed).
pub fn rate(before: u64, now: u64, secs: f64, max_per_sec: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    delta(before, now, secs, max_per_sec) as f64 / secs
}

/// The byte cap of an interface: [`LINK_SLACK`] times its line rate where the link has a
/// known speed (a physical NIC), else [`MAX_BYTES_PER_SEC`] (virtual interfaces such as veth
/// report a nominal speed they routinely exceed).
pub fn link_cap(speed_mbps: u64, physical: bool) -> f64 {
    if physical && speed_mbps > 0 {
        (speed_mbps as f64 * 1e6 / 8.0 * LINK_SLACK).min(MAX_BYTES_PER_SEC)
    } else {
        MAX_BYTES_PER_SEC
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_trusted() {
        assert_eq!(delta(500, 1500, 0.5, MAX_BYTES_PER_SEC), 1000);
        assert_eq!(rate(500, 1500, 0.5, MAX_BYTES_PER_SEC), 2000.0);
    }

    #[test]
    fn backwards_and_leaps_are_resets() {
        assert_eq!(delta(1500, 500, 1.0, MAX_BYTES_PER_SEC), 0);
        assert_eq!(delta(500, u64::MAX - 10, 0.5, MAX_BYTES_PER_SEC), 0);
        // A gigabit NIC cannot move 10 GB in a second, even with slack.
        assert_eq!(delta(0, 10_000_000_000, 1.0, link_cap(1000, true)), 0);
        assert_eq!(
            delta(0, 100_000_000, 1.0, link_cap(1000, true)),
            100_000_000
        );
        // A veth's nominal 10 Gbit/s is no cap.
        assert_eq!(link_cap(10_000, false), MAX_BYTES_PER_SEC);
    }

    /// The cap scales with the interval, and a delta of exactly the cap is still trusted.
    #[test]
    fn the_cap_is_per_second_of_the_interval() {
        assert_eq!(delta(0, 50, 0.5, 100.0), 50);
        assert_eq!(delta(0, 51, 0.5, 100.0), 0);
        assert_eq!(delta(0, 300, 3.0, 100.0), 300);
        assert_eq!(delta(0, 301, 3.0, 100.0), 0);
        assert_eq!(delta(7, 7, 1.0, 100.0), 0);
    }

    /// A physical link's cap is four times its line rate in bytes; an unknown speed (0) is no
    /// cap at all, not a cap of 0 that would make every delta a reset.
    #[test]
    fn link_caps_at_their_edges() {
        assert_eq!(link_cap(1000, true), 1000.0 * 1e6 / 8.0 * LINK_SLACK);
        assert_eq!(link_cap(1, true), 500_000.0);
        assert_eq!(link_cap(0, true), MAX_BYTES_PER_SEC);
        assert_eq!(link_cap(u64::MAX, true), MAX_BYTES_PER_SEC);
    }

    #[test]
    fn no_time_no_rate() {
        assert_eq!(delta(0, 10, 0.0, MAX_BYTES_PER_SEC), 0);
        assert_eq!(rate(0, 10, 0.0, MAX_BYTES_PER_SEC), 0.0);
    }
}
