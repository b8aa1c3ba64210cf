//! `statvfs(3)` with a time limit: every filesystem measurement goes through here.
//!
//! A `statvfs` on a dead NFS server (or a hung FUSE daemon) can block forever, so it runs on
//! a helper thread: after the timeout the mount is [`Answer::Stuck`] (node_exporter's "stuck
//! mount", a device error) and its helper keeps waiting for it alone; each later tick takes
//! its answer when there is one (then one tick old) and asks again, never waiting. At most
//! [`MAX_THREADS`] helpers exist per [`Timed`]; past that, mounts that would need one are
//! stuck too. So the sampler never waits more than one timeout per newly hung mount.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

/// How long a tick waits for one `statvfs` before the mount counts as stuck.
pub const STAT_TIMEOUT: Duration = Duration::from_secs(1);

/// At most this many `statvfs` helper threads per [`Timed`], stuck ones included.
pub const MAX_THREADS: usize = 16;

/// What `statvfs` says, raw: block counts in `frsize` units (`bsize` is what node_exporter
/// multiplies by), inodes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Statvfs {
    pub bsize: u64,
    pub frsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
}

/// `statvfs(3)` on `path`, on the calling thread; `None` if it fails.
// The field types differ between 32- and 64-bit targets (u32 on armv7), hence the conversions.
#[allow(clippy::useless_conversion)]
pub fn statvfs(path: &Path) -> Option<Statvfs> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is a valid NUL-terminated path and `st` points to writable memory of the
    // right type; statvfs fills it on success and it is read only then.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised the struct.
    let st = unsafe { st.assume_init() };
    Some(Statvfs {
        bsize: u64::from(st.f_bsize),
        frsize: u64::from(st.f_frsize),
        blocks: u64::from(st.f_blocks),
        bfree: u64::from(st.f_bfree),
        bavail: u64::from(st.f_bavail),
        files: u64::from(st.f_files),
        ffree: u64::from(st.f_ffree),
    })
}

/// One measurement's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Ok(Statvfs),
    /// `statvfs` failed (unmounted, permission).
    Failed,
    /// `statvfs` did not answer in time, or no helper could run it.
    Stuck,
}

impl Answer {
    /// The measurement, if there is one.
    pub fn ok(self) -> Option<Statvfs> {
        match self {
            Answer::Ok(s) => Some(s),
            _ => None,
        }
    }
}

/// The function that measures: [`statvfs`], or a slow stand-in in tests.
pub type StatFn = fn(&Path) -> Option<Statvfs>;

/// A helper thread that runs `statvfs` on the paths it is sent, one at a time.
struct Worker {
    jobs: mpsc::Sender<PathBuf>,
    answers: mpsc::Receiver<Option<Statvfs>>,
}

impl Worker {
    /// A new helper, unless [`MAX_THREADS`] are alive already or the thread cannot start.
    fn spawn(stat: StatFn, live: &Arc<AtomicUsize>) -> Option<Worker> {
        if live.fetch_add(1, Ordering::SeqCst) >= MAX_THREADS {
            live.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let (jobs, job_rx) = mpsc::channel::<PathBuf>();
        let (answer_tx, answers) = mpsc::channel();
        let count = Arc::clone(live);
        let started = std::thread::Builder::new()
            .name("statfs".into())
            .spawn(move || {
                for path in job_rx {
                    if answer_tx.send(stat(&path)).is_err() {
                        break;
                    }
                }
                count.fetch_sub(1, Ordering::SeqCst);
            });
        if started.is_err() {
            live.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Worker { jobs, answers })
    }
}

/// A mount whose `statvfs` once took longer than the timeout: it keeps a helper of its own
/// and is never waited for again.
struct Slow {
    key: String,
    worker: Worker,
    seen: bool,
}

/// Measures filesystems on helper threads, with a timeout.
pub struct Timed {
    stat: StatFn,
    timeout: Duration,
    /// Helpers alive, stuck ones included.
    pub live: Arc<AtomicUsize>,
    /// The helper for mounts that answer in time.
    worker: Option<Worker>,
    slow: Vec<Slow>,
}

impl Default for Timed {
    fn default() -> Self {
        Timed::new(statvfs, STAT_TIMEOUT)
    }
}

impl Timed {
    /// Measures with `stat`, waiting at most `timeout` for a mount.
    pub fn new(stat: StatFn, timeout: Duration) -> Timed {
        Timed {
            stat,
            timeout,
            live: Arc::new(AtomicUsize::new(0)),
            worker: None,
            slow: Vec::new(),
        }
    }

    /// Starts a tick: mounts not measured again before [`Timed::end_tick`] are forgotten.
    pub fn begin_tick(&mut self) {
        for s in &mut self.slow {
            s.seen = false;
        }
    }

    /// Ends a tick: a slow mount that is gone lets its helper end once its statvfs returns.
    pub fn end_tick(&mut self) {
        self.slow.retain(|s| s.seen);
    }

    /// Measures the filesystem at `path`, known as `key` (its mount point) across ticks. In
    /// a tick ([`super::tick`]) a path is measured once, whichever [`Timed`] asks first (the
    /// JSON model's disks or the `filesystem` family), and the others get its answer.
    pub fn measure(&mut self, key: &str, path: PathBuf) -> Answer {
        if let Some(answer) = super::tick::statfs_kept(&path) {
            return answer;
        }
        let kept = path.clone();
        let answer = self.measure_now(key, path);
        super::tick::keep_statfs(&kept, answer);
        answer
    }

    fn measure_now(&mut self, key: &str, path: PathBuf) -> Answer {
        let answer = |a: Option<Statvfs>| a.map_or(Answer::Failed, Answer::Ok);
        if let Some(slow) = self.slow.iter_mut().find(|s| s.key == key) {
            slow.seen = true;
            return match slow.worker.answers.try_recv() {
                Ok(a) => {
                    // Ask again now; the answer is taken next tick.
                    let _ = slow.worker.jobs.send(path);
                    answer(a)
                }
                Err(TryRecvError::Empty) => Answer::Stuck,
                Err(TryRecvError::Disconnected) => {
                    // Its helper is gone: measured the usual way from the next tick on.
                    slow.seen = false;
                    Answer::Stuck
                }
            };
        }
        if self.worker.is_none() {
            self.worker = Worker::spawn(self.stat, &self.live);
        }
        let Some(worker) = self.worker.as_ref() else {
            return Answer::Stuck;
        };
        if worker.jobs.send(path).is_err() {
            self.worker = None;
            return Answer::Stuck;
        }
        match worker.answers.recv_timeout(self.timeout) {
            Ok(a) => answer(a),
            Err(RecvTimeoutError::Timeout) => {
                if let Some(worker) = self.worker.take() {
                    if self.slow.len() < MAX_THREADS {
                        self.slow.push(Slow {
                            key: key.to_owned(),
                            worker,
                            seen: true,
                        });
                    }
                }
                Answer::Stuck
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.worker = None;
                Answer::Stuck
            }
        }
    }
}
