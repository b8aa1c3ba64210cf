use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// Manages a collection of threads.
///
/// A new thread is created every time all the existing threads are full.
/// Any idle thread will automatically die after a few seconds.
///
/// PATCH: the original decided whether to start a thread from a count of waiting threads that
/// a woken thread decremented only once it ran, so back-to-back tasks were queued for one idle
/// thread and the second waited for a busy one (a connection accepted in a burst sat unserved
/// until its deadline closed it). Now the count of idle threads not yet given a task lives
/// under the queue's lock, and `spawn` takes one of them, or starts a thread, in the same
/// critical section. Locks are taken without panicking on poison. The pool never holds more
/// than `max_threads` threads: past it a task waits for the next thread to finish one (a
/// connection shed for a newcomer frees its thread at once), so threads stay bounded by the
/// connection cap.
pub struct TaskPool {
    sharing: Arc<Sharing>,
}

type Task = Box<dyn FnMut() + Send>;

struct State {
    // list of the tasks to be done by worker threads
    todo: VecDeque<Task>,
    // PATCH: threads waiting for a task minus the tasks already queued for them.
    idle: usize,
    // PATCH: threads alive, and the most there may be.
    threads: usize,
    max_threads: usize,
    // PATCH: queued tasks no idle thread was given (the pool was at `max_threads`); the next
    // thread to finish a task takes one.
    backlog: usize,
    // PATCH: set when the pool is dropped: every waiting thread ends.
    closed: bool,
}

struct Sharing {
    state: Mutex<State>,
    // condvar that will be notified whenever a task is added to `todo`
    condvar: Condvar,
}

impl Sharing {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Minimum number of active threads.
const MIN_THREADS: usize = 4;

/// How long a thread above `MIN_THREADS` waits for a task before it ends.
const IDLE_TIMEOUT: Duration = Duration::from_millis(5000);

impl TaskPool {
    /// PATCH: a pool of at most `max_threads` threads (at least `MIN_THREADS`).
    pub fn new(max_threads: usize) -> TaskPool {
        let pool = TaskPool {
            sharing: Arc::new(Sharing {
                state: Mutex::new(State {
                    todo: VecDeque::new(),
                    idle: 0,
                    threads: 0,
                    max_threads: max_threads.max(MIN_THREADS),
                    backlog: 0,
                    closed: false,
                }),
                condvar: Condvar::new(),
            }),
        };

        for _ in 0..MIN_THREADS {
            let mut state = pool.sharing.lock();
            pool.add_thread(&mut state, None);
        }

        pool
    }

    /// Executes a function in a thread.
    /// If no thread is available, spawns a new one.
    pub fn spawn(&self, code: Task) {
        let mut state = self.sharing.lock();
        if state.idle > 0 {
            state.idle -= 1;
            state.todo.push_back(code);
            self.sharing.condvar.notify_one();
        } else if state.threads < state.max_threads {
            self.add_thread(&mut state, Some(code));
        } else {
            state.backlog += 1;
            state.todo.push_back(code);
        }
    }

    fn add_thread(&self, state: &mut State, initial_fn: Option<Task>) {
        let sharing = self.sharing.clone();

        // PATCH: a thread that cannot be created (a task limit, no memory) drops the task,
        // which closes its connection, instead of panicking the accept thread and so ending
        // the server. Connection threads only parse request heads: a small stack will do.
        let spawned = thread::Builder::new()
            .name("http-conn".into())
            .stack_size(256 * 1024)
            .spawn(move || work(&sharing, initial_fn));
        match spawned {
            Ok(_) => state.threads += 1,
            Err(e) => log::warn!(
                "cannot start a connection thread ({}); closing the connection",
                e
            ),
        }
    }
}

/// PATCH: a pool thread: runs its first task, then takes queued ones, ending after
/// `IDLE_TIMEOUT` without one when more than `MIN_THREADS` are alive.
fn work(sharing: &Sharing, initial_fn: Option<Task>) {
    if let Some(mut f) = initial_fn {
        f();
    }
    loop {
        let mut task = {
            let mut state = sharing.lock();
            if state.backlog > 0 {
                if let Some(task) = state.todo.pop_front() {
                    state.backlog -= 1;
                    drop(state);
                    let mut task = task;
                    task();
                    continue;
                }
            }
            state.idle += 1;
            loop {
                if let Some(task) = state.todo.pop_front() {
                    // `spawn` already took this thread out of `idle`.
                    break task;
                }
                if state.closed {
                    state.idle -= 1;
                    state.threads -= 1;
                    return;
                }
                if state.threads <= MIN_THREADS {
                    state = sharing
                        .condvar
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner());
                } else {
                    let (next, waited) = sharing
                        .condvar
                        .wait_timeout(state, IDLE_TIMEOUT)
                        .unwrap_or_else(|e| e.into_inner());
                    state = next;
                    if waited.timed_out() && state.todo.is_empty() && state.idle > 0 {
                        state.idle -= 1;
                        state.threads -= 1;
                        return;
                    }
                }
            }
        };
        task();
    }
}

impl Drop for TaskPool {
    fn drop(&mut self) {
        self.sharing.lock().closed = true;
        self.sharing.condvar.notify_all();
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::sync::mpsc;

    /// PATCH: a burst of tasks that each block must each get a thread of its own: none may
    /// wait behind another (the original queued some of them for a thread already taken).
    #[test]
    fn a_burst_of_blocking_tasks_runs_at_once() {
        for round in 0..100 {
            let pool = TaskPool::new(64);
            let n = 12;
            let (started, seen) = mpsc::channel();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let release = Arc::new(Mutex::new(release_rx));
            for _ in 0..n {
                let started = started.clone();
                let release = release.clone();
                pool.spawn(Box::new(move || {
                    let _ = started.send(());
                    // Block until the test lets go: a task queued behind this one could
                    // only start if another thread were free.
                    let _ = release
                        .lock()
                        .map(|r| r.recv_timeout(Duration::from_secs(20)));
                }));
            }
            for i in 0..n {
                assert!(
                    seen.recv_timeout(Duration::from_secs(10)).is_ok(),
                    "round {}: only {} of {} tasks started",
                    round,
                    i,
                    n
                );
            }
            drop(release_tx);
        }
    }

    /// PATCH: at most `max_threads` threads; tasks past it wait for a thread and all run.
    #[test]
    fn threads_are_capped_and_backlogged_tasks_still_run() {
        let pool = TaskPool::new(6);
        let (done_tx, done) = mpsc::channel();
        for i in 0..40 {
            let done_tx = done_tx.clone();
            pool.spawn(Box::new(move || {
                std::thread::sleep(Duration::from_millis(5));
                let _ = done_tx.send(i);
            }));
            assert!(pool.sharing.lock().threads <= 6);
        }
        let mut seen: Vec<i32> = (0..40)
            .map(|_| {
                done.recv_timeout(Duration::from_secs(10))
                    .expect("every task runs")
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..40).collect::<Vec<_>>());
        assert!(pool.sharing.lock().threads <= 6);
    }
}
