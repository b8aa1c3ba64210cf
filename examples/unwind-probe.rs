//! Built and run by scripts/release for every release target, with the same std, profile and
//! unwinder as the shipped binary: a panic must be caught by `catch_unwind` (src/pool.rs relies
//! on it so that one bad request cannot take the server down), the default hook must print its
//! message, and a thread that panicked must still be joinable. Exit 0 and "unwind-probe: ok"
//! when all three hold; a broken unwinder aborts instead.
use std::panic::catch_unwind;
use std::thread;

fn main() {
    let caught = catch_unwind(|| panic!("unwind-probe: a caught panic")).is_err();
    let joined = thread::spawn(|| panic!("unwind-probe: a panicking thread")).join();
    let message = joined
        .as_ref()
        .err()
        .and_then(|e| e.downcast_ref::<&str>().copied());
    if caught && message == Some("unwind-probe: a panicking thread") {
        println!("unwind-probe: ok");
    } else {
        println!("unwind-probe: FAILED (caught {caught}, thread's payload {message:?})");
        std::process::exit(1);
    }
}
