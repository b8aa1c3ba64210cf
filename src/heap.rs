//! Giving memory back after a crowd of websocket sessions leaves.
//!
//! Measured with 1000 sessions opened and closed: RSS stayed at its peak (29 MiB against 3 MiB
//! idle). Two glibc caches held it: about 10 MiB of freed heap in the per-thread malloc arenas,
//! and about 10 MiB of exited threads' stacks, which glibc keeps (up to 40 MiB) for reuse with
//! every page the thread ever touched still resident.

/// glibc settings the server runs with unless `GLIBC_TUNABLES` sets them otherwise. glibc
/// reads them once, at start, and has no call to change them later; see [`apply_tunables`].
///
/// - `glibc.malloc.tcache_count=1`: each thread's cache of freed chunks keeps one chunk of a
///   size, not seven. Cached chunks are in use as far as the heap is concerned, so those the
///   long-lived threads (pool, sampler, registry) keep from a crowd of sessions pin their pages
///   and `malloc_trim` cannot return them: 100 sessions opened and closed left 0.9 MiB more
///   with seven. One keeps the fast path of a thread that frees and allocates the same size
///   (the sampler's CPU per tick did not change measurably with one, nor with none).
/// - `glibc.pthread.stack_cache_size=0`: exited threads' stacks are unmapped, not kept (up to
///   40 MiB) for reuse with the pages the thread last touched still resident: 12 KiB a session.
#[cfg_attr(not(target_env = "gnu"), allow(dead_code))] // musl (the release builds) has no tunables
pub const TUNABLES: &[(&str, &str)] = &[
    ("glibc.malloc.tcache_count", "1"),
    ("glibc.pthread.stack_cache_size", "0"),
];

/// `current` (a `GLIBC_TUNABLES` value) with every one of [`TUNABLES`] it does not set
/// added, or `None` if it sets them all: a setting of the operator's always wins.
#[cfg_attr(not(target_env = "gnu"), allow(dead_code))]
pub fn tunables_to_add(current: &str) -> Option<String> {
    let set = |key: &str| {
        current
            .split(':')
            .any(|kv| kv.split('=').next() == Some(key))
    };
    let missing: Vec<String> = TUNABLES
        .iter()
        .filter(|(k, _)| !set(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut all: Vec<&str> = current.split(':').filter(|kv| !kv.is_empty()).collect();
    all.extend(missing.iter().map(String::as_str));
    Some(all.join(":"))
}

/// Runs the server binary again, same pid, arguments and environment, with [`TUNABLES`] added
/// to `GLIBC_TUNABLES` (once: the new process finds them set). Costs one `execve` at start;
/// returns, changing nothing, where that cannot be done (no `/proc`, a set-uid start where
/// glibc would drop the variable) or is not needed (not glibc, set already).
pub fn apply_tunables() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::{CString, OsStr};
        use std::os::unix::ffi::OsStrExt;
        // Set for the new process, which must not start over again whatever glibc did with the
        // variable (glibc 2.36 rewrites it in place).
        const AGAIN: &str = "PSMONITOR_TUNABLES_APPLIED";
        if std::env::var_os(AGAIN).is_some() {
            // SAFETY: called before any thread is started, so nothing reads the environment
            // at the same time.
            unsafe { std::env::remove_var(AGAIN) };
            return;
        }
        let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let Some(value) = tunables_to_add(&current) else {
            return;
        };
        // SAFETY: getauxval only reads the auxiliary vector.
        if unsafe { libc::getauxval(libc::AT_SECURE) } != 0 {
            return;
        }
        // The binary's own path, not /proc/self/exe: the process name (`ps`, `comm`) is the
        // file name that is executed.
        let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
            return;
        };
        let c = |b: &[u8]| CString::new(b).ok();
        let pair = |k: &OsStr, v: &OsStr| c(&[k.as_bytes(), b"=", v.as_bytes()].concat());
        let argv: Option<Vec<CString>> = std::env::args_os().map(|a| c(a.as_bytes())).collect();
        let envp: Option<Vec<CString>> = std::env::vars_os()
            .filter(|(k, _)| k != "GLIBC_TUNABLES")
            .map(|(k, v)| pair(&k, &v))
            .chain([
                pair("GLIBC_TUNABLES".as_ref(), value.as_ref()),
                pair(AGAIN.as_ref(), "1".as_ref()),
            ])
            .collect();
        let (Some(path), Some(argv), Some(envp)) = (c(exe.as_os_str().as_bytes()), argv, envp)
        else {
            return;
        };
        let ptrs = |v: &[CString]| -> Vec<*const libc::c_char> {
            v.iter()
                .map(|s| s.as_ptr())
                .chain([std::ptr::null()])
                .collect()
        };
        let (argv_p, envp_p) = (ptrs(&argv), ptrs(&envp));
        // execve(2) itself, not std's Command::exec, which first clears the signal mask and
        // SIGPIPE's disposition and would leave them so if the exec failed (no binfmt for an
        // emulated binary, a system-call filter, the binary replaced since): then the server
        // runs on as it is.
        // SAFETY: the path and both NULL-terminated arrays point into CStrings that outlive
        // the call; execve returns only on failure, changing nothing.
        unsafe { libc::execve(path.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    }
}

/// Caps glibc's malloc arenas. By default a process gets up to 8 per core, one per busy thread:
/// with a thread per session, freed memory is spread over many arenas that are slow to shrink.
/// Two are plenty for threads that allocate a few small buffers per second.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any session thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns freed heap pages to the kernel (all arenas).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Decides when to trim: once sessions have fallen to half of their peak since the last trim
/// (and by at least `MIN_DROP`), so a steady trickle of sessions costs nothing. The trim waits
/// for a tick with no change in the count: a session leaves the count before its thread has
/// freed its buffers, and a crowd leaves over several ticks.
#[derive(Default)]
pub struct Trimmer {
    peak: usize,
    last: usize,
    due: bool,
}

/// Sessions that must have left before a trim is worth its cost.
const MIN_DROP: usize = 8;

impl Trimmer {
    /// Call once per sampler tick with the current number of sessions; true when it trimmed.
    pub fn tick(&mut self, sessions: usize) -> bool {
        let settled = sessions == std::mem::replace(&mut self.last, sessions);
        self.peak = self.peak.max(sessions);
        if self.peak - sessions >= MIN_DROP && sessions <= self.peak / 2 {
            self.due = true;
        }
        if self.due && settled {
            trim_heap();
            self.due = false;
            self.peak = sessions;
            return true;
        }
        false
    }
}

/// Drops the pages of the calling thread's stack below the current frame, so that glibc's
/// stack cache keeps an exited thread's stack as address space, not as resident memory. Call
/// at the end of a thread's work, from a shallow frame.
pub fn release_unused_stack() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: the range lies inside this thread's own stack (from pthread_getattr_np), below
    // the current frame by a margin of two pages; nothing lives there once the deeper calls
    // have returned, and no signal handler runs on this thread (signals are blocked).
    // MADV_DONTNEED on private anonymous memory just makes the pages read back as zeros.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return;
        }
        let mut low: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut low, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if !ok {
            return;
        }
        let here = 0u8;
        let sp = std::ptr::addr_of!(here) as usize;
        let page = 4096;
        let low = (low as usize).div_ceil(page) * page;
        let high = (sp.saturating_sub(2 * page)) / page * page;
        if high > low && sp < low + size {
            libc::madvise(low as *mut libc::c_void, high - low, libc::MADV_DONTNEED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_only_the_tunables_the_environment_does_not_set() {
        assert_eq!(
            tunables_to_add("").as_deref(),
            Some("glibc.malloc.tcache_count=1:glibc.pthread.stack_cache_size=0")
        );
        assert_eq!(
            tunables_to_add("glibc.pthread.stack_cache_size=1048576").as_deref(),
            Some("glibc.pthread.stack_cache_size=1048576:glibc.malloc.tcache_count=1")
        );
        assert_eq!(
            tunables_to_add("glibc.malloc.tcache_count=7:glibc.pthread.stack_cache_size=0"),
            None
        );
    }

    #[test]
    fn trims_once_sessions_halve_and_settle() {
        let mut t = Trimmer::default();
        assert!(!t.tick(100));
        assert!(!t.tick(100));
        assert!(!t.tick(60));
        assert!(!t.tick(50), "due, but sessions are still leaving");
        assert!(!t.tick(20), "still leaving");
        assert!(t.tick(20), "settled: trim");
        assert!(!t.tick(20));
        // Small counts never trim: a few sessions leaving is not worth it.
        let mut t = Trimmer::default();
        assert!(!t.tick(4));
        assert!(!t.tick(0));
    }

    #[inline(never)]
    fn touch_deep() -> u32 {
        let a = [3u8; 64 * 1024];
        std::hint::black_box(&a).iter().map(|&b| b as u32).sum()
    }

    #[test]
    fn releasing_the_stack_keeps_live_frames_and_later_calls_intact() {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let keep = std::hint::black_box([7u8; 4096]);
                let before = touch_deep();
                release_unused_stack();
                assert!(keep.iter().all(|&b| b == 7), "a live frame was released");
                assert_eq!(touch_deep(), before);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
