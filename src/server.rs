//! Wires the threads together: sampler, registry, handler pool, and the accept loop.

use crate::api::{self, Ctx};
use crate::config::Config;
use crate::fanout::Hub;
use crate::http;
use crate::pool::Pool;
use crate::sampler::{self, Latest};
use crate::workers::Workers;
use std::sync::Arc;
use std::time::Instant;

/// Requests that may wait for a pool thread before new ones get 503.
const QUEUE: usize = 256;

/// Starts every thread and serves until the listener fails. Errors are for the operator.
pub fn run(config: Config) -> Result<(), String> {
    let started = Instant::now();
    let addr = config.socket_addr();
    let server =
        tiny_http::Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| "listener has no IP address".to_owned())?;

    let latest = Arc::new(Latest::default());
    let hub = Arc::new(Hub::default());
    sampler::spawn(config.interval, Arc::clone(&latest), Arc::clone(&hub))
        .map_err(|e| format!("cannot start the sampler: {e}"))?;
    let workers = Workers::spawn(config.max_pending)
        .map_err(|e| format!("cannot start the registry: {e}"))?;
    // Held for the life of the process; dropping it tells every session to close.
    let (_stop, shutdown) = crossbeam_channel::bounded::<()>(0);
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        latest,
        hub,
        workers,
        shutdown,
        started,
    });
    let handler_ctx = Arc::clone(&ctx);
    let pool = Pool::new(config.threads, QUEUE, move |req| {
        api::handle(req, &handler_ctx)
    })
    .map_err(|e| format!("cannot start the handler threads: {e}"))?;

    log::info!(
        "listening on http://{local} (interval {} ms, max clients {}, threads {}, started in {} ms)",
        config.interval.as_millis(),
        config.max_clients,
        config.threads,
        started.elapsed().as_millis()
    );
    for req in server.incoming_requests() {
        if let Err(req) = pool.submit(req) {
            log::warn!("request queue full; answering 503");
            let _ = req.respond(http::error(503, "server busy, try again"));
        }
    }
    Ok(())
}
