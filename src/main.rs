//! psmonitor: a small synchronous system and network monitoring server.
//!
//! Threads: the accept loop (main), a fixed handler [`pool`], one [`sampler`] that collects and
//! serialises each snapshot once, the worker [`workers`] registry, and one thread per websocket
//! [`session`].

mod api;
mod assets;
mod auth;
mod collect;
mod config;
mod fanout;
mod history;
mod http;
mod metrics;
mod model;
mod notify;
mod oneshot;
mod pool;
mod sampler;
mod server;
mod session;
mod signals;
mod workers;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread starts, so that every thread inherits the mask.
    signals::block();
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let config = match config::parse(args) {
        Ok(config::Command::Serve(c)) => c,
        Ok(config::Command::Snapshot { network, pretty }) => return oneshot::run(network, pretty),
        Ok(config::Command::Help) => {
            print!("{}", config::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(config::Command::Version) => {
            println!("psmonitor {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("psmonitor: {msg}");
            return ExitCode::from(2);
        }
    };
    let mut logger = simple_logger::SimpleLogger::new()
        .with_level(config.log.level)
        .with_utc_timestamps();
    for (module, level) in &config.log.modules {
        logger = logger.with_module_level(module, *level);
    }
    let _ = logger.init();
    match server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            // One line, even with logging off: service managers show it to the operator.
            eprintln!("psmonitor: {msg}");
            ExitCode::from(1)
        }
    }
}
