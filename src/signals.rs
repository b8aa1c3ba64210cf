//! SIGTERM/SIGINT handling without async signal handlers.
//!
//! The signals are blocked in every thread (the mask is set before any thread starts and is
//! inherited), and one thread takes them with `sigwait`, so the shutdown code runs as ordinary
//! code on an ordinary thread: no async-signal-safety rules to follow, no extra crate.

use std::mem::MaybeUninit;

fn set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: sigemptyset initialises the set; sigaddset only adds valid signal numbers.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        set.assume_init()
    }
}

/// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards.
/// Call first thing in `main`.
pub fn block() {
    let s = set();
    // SAFETY: `s` is an initialised signal set; a null old-set pointer is allowed.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &s, std::ptr::null_mut());
    }
}

/// Starts a thread that waits for SIGTERM or SIGINT and then runs `on_signal` with its name.
pub fn on_shutdown(on_signal: impl FnOnce(&'static str) + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let s = set();
            let mut sig: libc::c_int = 0;
            // SAFETY: `s` is initialised and `sig` is a valid out-pointer.
            let rc = unsafe { libc::sigwait(&s, &mut sig) };
            let name = match (rc, sig) {
                (0, libc::SIGINT) => "SIGINT",
                (0, _) => "SIGTERM",
                _ => "signal wait failure",
            };
            on_signal(name);
        })?;
    Ok(())
}
