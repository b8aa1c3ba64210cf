//! psmonitor: a small synchronous system and network monitoring server.
//!
//! Threads: the accept loop (main), a fixed handler [`pool`], one [`sampler`] that collects and
//! serialises each snapshot once, the worker [`workers`] registry, and one thread per websocket
//! [`session`].

mod api;
mod args;
mod assets;
mod auth;
mod budget;
mod collect;
mod config;
mod exposition;
mod fanout;
mod files;
mod glances;
mod gzip;
mod heap;
mod history;
mod hosts;
mod http;
mod logging;
mod metrics;
mod model;
mod notify;
mod pool;
mod read;
mod registry;
mod sampler;
mod server;
mod session;
mod signals;
mod snapshot_cmd;
mod sort;
#[cfg(test)]
mod testing;
mod tls;
mod webconfig;
mod yaml;

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread starts, so that every thread inherits the mask.
    signals::block();
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let config = match config::parse(args) {
        Ok(config::Command::Serve(c)) => *c,
        Ok(config::Command::Snapshot { network, pretty }) => {
            return snapshot_cmd::run(network, pretty)
        }
        Ok(config::Command::Help) => {
            let _ = write!(std::io::stdout(), "{}", config::help());
            return ExitCode::SUCCESS;
        }
        Ok(config::Command::Version) => {
            let _ = writeln!(std::io::stdout(), "psmonitor {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            let _ = writeln!(std::io::stderr(), "psmonitor: {msg}");
            return ExitCode::from(2);
        }
    };
    // Before any thread starts and before anything is logged: this may start the process over.
    heap::apply_tunables();
    logging::init(config.log.clone(), config.log_format);
    for w in &config.warnings {
        log::warn!("{w}");
    }
    for n in &config.notes {
        log::debug!("{n}");
    }
    match server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            // One line, even with logging off: service managers show it to the operator.
            let _ = writeln!(std::io::stderr(), "psmonitor: {msg}");
            ExitCode::from(1)
        }
    }
}
