//! Signals without async signal handlers.
//!
//! The signals are blocked in every thread (the mask is set before any thread starts and is
//! inherited), and one thread takes them with `sigwait`, so their handlers run as ordinary
//! code on an ordinary thread: no async-signal-safety rules to follow, no extra crate.
//!
//! SIGTERM and SIGINT stop the server; SIGHUP re-reads the token file. Every other signal
//! whose default action ends the process (SIGUSR1, SIGUSR2, SIGALRM, SIGPOLL, …, the real-time
//! signals) is taken and logged instead: a stray `kill -USR1` from a log rotator or a script
//! must not take a monitoring agent down without a word.

use std::mem::MaybeUninit;

/// Signals that are logged and otherwise ignored.
const IGNORED: &[(libc::c_int, &str)] = &[
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGALRM, "SIGALRM"),
    (libc::SIGVTALRM, "SIGVTALRM"),
    (libc::SIGPROF, "SIGPROF"),
    (libc::SIGPOLL, "SIGPOLL"),
    (libc::SIGPWR, "SIGPWR"),
    (libc::SIGSTKFLT, "SIGSTKFLT"),
    (libc::SIGXCPU, "SIGXCPU"),
    (libc::SIGXFSZ, "SIGXFSZ"),
];

/// The real-time signals (default action: terminate). glibc keeps the first few for itself
/// and does not let them be blocked, so start past those.
fn realtime() -> std::ops::RangeInclusive<libc::c_int> {
    (libc::SIGRTMIN() + 3)..=libc::SIGRTMAX()
}

fn set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: sigemptyset initialises the set; sigaddset only adds valid signal numbers.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP]
            .into_iter()
            .chain(IGNORED.iter().map(|(s, _)| *s))
            .chain(realtime())
        {
            libc::sigaddset(set.as_mut_ptr(), sig);
        }
        set.assume_init()
    }
}

/// Blocks the handled signals in the calling thread and every thread it starts afterwards.
/// Call first thing in `main`.
pub fn block() {
    let s = set();
    // SAFETY: `s` is an initialised signal set; a null old-set pointer is allowed.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &s, std::ptr::null_mut());
    }
}

/// What the signal thread runs.
pub struct Handlers {
    /// SIGTERM or SIGINT, with the signal's name. Runs once.
    pub stop: Box<dyn FnOnce(&'static str) + Send>,
    /// SIGHUP.
    pub reload: Box<dyn FnMut() + Send>,
}

/// Starts the thread that waits for signals and runs `handlers`.
pub fn spawn(handlers: Handlers) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(64 * 1024)
        .spawn(move || run(handlers))?;
    Ok(())
}

fn run(handlers: Handlers) {
    let Handlers { stop, mut reload } = handlers;
    let mut stop = Some(stop);
    let s = set();
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: `s` is initialised and `sig` is a valid out-pointer.
        if unsafe { libc::sigwait(&s, &mut sig) } != 0 {
            log::error!("waiting for signals failed; signals are no longer handled");
            return;
        }
        match sig {
            libc::SIGTERM | libc::SIGINT => {
                let name = if sig == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                match stop.take() {
                    Some(f) => f(name),
                    None => log::info!("{name} received: already stopping"),
                }
            }
            libc::SIGHUP => reload(),
            other => {
                let name = IGNORED
                    .iter()
                    .find(|(s, _)| *s == other)
                    .map_or_else(|| format!("signal {other}"), |(_, n)| (*n).to_owned());
                log::info!("{name} received: ignored (SIGTERM stops psmonitor, SIGHUP re-reads the token file)");
            }
        }
    }
}
