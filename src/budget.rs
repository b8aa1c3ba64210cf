//! A bound on the bytes of answers waiting to be written, across all connections.
//!
//! An answer is handed to its connection's thread and held until the client has read it
//! (see `Request::respond_later`). Clients that ask for large answers and never read would
//! otherwise hold memory without bound: 64 of them took the server past the unit's
//! `MemoryMax=64M`. Every answer larger than [`SMALL`] leases its size from one global
//! budget and gives it back when written or dropped; an answer that does not fit is not
//! sent, and the client gets a small 503 with `Retry-After` instead.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Bytes of answers that may wait for their readers at once (each connection's socket
/// buffer holds up to 256 KiB more, in the kernel).
pub const LIMIT: usize = 8 << 20;

/// Answers up to this size need no lease: at most `--max-connections` of them wait, a few
/// MiB in all, and `/health` and the errors must get through when the budget is spent.
pub const SMALL: usize = 16 << 10;

/// The shared budget (see the module's documentation).
pub struct Budget {
    used: AtomicUsize,
    limit: usize,
    /// Whether "budget spent" was logged since the budget last had room.
    logged: AtomicBool,
}

/// The process's budget.
pub static ANSWERS: Budget = Budget::new(LIMIT);

impl Budget {
    /// A budget of `limit` bytes.
    pub const fn new(limit: usize) -> Budget {
        Budget {
            used: AtomicUsize::new(0),
            limit,
            logged: AtomicBool::new(false),
        }
    }

    /// Takes `bytes` from the budget until the lease is dropped, or `None` when they do not
    /// fit (logged once until the budget has room again).
    pub fn lease(&'static self, bytes: usize) -> Option<Lease> {
        let taken = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + bytes <= self.limit).then_some(used + bytes)
            });
        if taken.is_err() {
            if !self.logged.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "answers waiting for slow readers hold {} KiB, the limit: answering 503 until they are read",
                    self.limit >> 10
                );
            }
            return None;
        }
        Some(Lease {
            budget: self,
            bytes,
        })
    }

    /// Bytes leased now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Bytes taken from a [`Budget`], given back on drop.
#[derive(Debug)]
pub struct Lease {
    budget: &'static Budget,
    bytes: usize,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let before = self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
        if before - self.bytes < self.budget.limit / 2 {
            self.budget.logged.store(false, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Budget({} of {})", self.used(), self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_bounded_and_given_back() {
        static B: Budget = Budget::new(100);
        let a = B.lease(60).expect("fits");
        assert!(B.lease(41).is_none(), "past the limit");
        let b = B.lease(40).expect("exactly the limit");
        assert_eq!(B.used(), 100);
        drop(a);
        assert_eq!(B.used(), 40);
        assert!(
            B.lease(60).is_some(),
            "given back on drop (and dropped at once)"
        );
        drop(b);
        assert_eq!(B.used(), 0);
    }
}
