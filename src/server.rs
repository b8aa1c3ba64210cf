//! Wires the threads together: sampler, registry, handler pool, and the accept loop.

use crate::api::{self, Ctx};
use crate::auth::{TokenCell, WebCell};
use crate::config::Config;
use crate::fanout::Hub;
use crate::hosts::HostCheck;
use crate::http;
use crate::pool::Pool;
use crate::registry::Registry;
use crate::sampler::{self, Latest};
use crate::{notify, signals};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests that may wait for a pool thread before new ones get 503.
const QUEUE: usize = 256;

/// Starts every thread and serves until the listener fails. Errors are for the operator.
pub fn run(config: Config) -> Result<(), String> {
    let started = Instant::now();
    let addr = config.socket_addr();
    raise_fd_limit();
    crate::heap::limit_arenas();
    http::set_cors(config.cors.clone());
    let listener = listen(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let tls_slot = match &config.web.tls {
        Some(tls) => Some(Arc::new(std::sync::RwLock::new(crate::tls::server_config(
            tls,
        )?))),
        None => None,
    };
    let scheme = if tls_slot.is_some() { "https" } else { "http" };
    let limits = tiny_http::Limits {
        tls: tls_slot.clone(),
        max_connections: config.max_connections,
        max_connections_per_peer: config.max_connections_per_peer,
        request_timeout: config.request_timeout,
        slow_after: config.slow_after,
        refusal: Some(Arc::new(http::refusal)),
        ..tiny_http::Limits::default()
    };
    let server = Arc::new(
        tiny_http::Server::from_listener_with_limits(listener, None, limits)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?,
    );
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| "listener has no IP address".to_owned())?;

    let points = (config.history.as_millis() / config.interval.as_millis().max(1)) as usize;
    let latest = Arc::new(Latest::new(
        points,
        config.interval,
        config.wall_offset_file.clone(),
    ));
    let saver = config
        .state_dir
        .as_deref()
        .map(|dir| Saver::spawn(dir, Arc::clone(&latest), config.save_every))
        .transpose()
        .map_err(|e| format!("cannot start the history writer: {e}"))?;
    if config.history_fill > 0 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        latest.history().fill(now, config.history_fill);
    }
    let hub = Arc::new(Hub::default());
    sampler::spawn(
        config.interval,
        config.stall_after,
        &config.collection,
        Arc::clone(&latest),
        Arc::clone(&hub),
    )
    .map_err(|e| format!("cannot start the sampler: {e}"))?;
    let workers = Registry::spawn(crate::registry::Limits {
        total: config.max_pending,
        per_peer: config.max_pending_per_peer,
        ttl: config.worker_ttl,
    })
    .map_err(|e| format!("cannot start the registry: {e}"))?;
    let token = Arc::new(TokenCell::new(config.token.clone()));
    let web = Arc::new(WebCell::default());
    web.set(Arc::clone(&config.web));
    let hosts = HostCheck::new(config.allowed_hosts.as_deref());
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        latest,
        hub,
        workers,
        started,
        token: Arc::clone(&token),
        web: Arc::clone(&web),
        hosts,
        history_disk: saver.as_ref().map(|s| Arc::clone(&s.bytes)),
    });
    let handler_ctx = Arc::clone(&ctx);
    let pool = Pool::new(config.threads, QUEUE, move |req| {
        api::handle(req, &handler_ctx)
    })
    .map_err(|e| format!("cannot start the handler threads: {e}"))?;

    log::info!(
        "listening on {scheme}://{local} (interval {} ms, max clients {}, threads {}, max connections {}, request timeout {} ms, started in {} ms)",
        config.interval.as_millis(),
        config.max_clients,
        config.threads,
        config.max_connections,
        config.request_timeout.as_millis(),
        started.elapsed().as_millis()
    );
    let open = config.token.is_none() && config.web.users.is_empty();
    if let Some(path) = &config.web_config_file {
        log::info!(
            "web config '{}': {} user(s), {} extra header(s)",
            path.display(),
            config.web.users.len(),
            config.web.headers.len()
        );
    }
    if open {
        log::info!(
            "Host check on (no token or users set): serving {}",
            ctx.hosts.describe()
        );
    }
    if open && !config.address.is_loopback() {
        log::warn!(
            "listening on {} without a token: anyone who can reach this port can read this host's data (set PSMONITOR_TOKEN or --token-file)",
            config.address
        );
    }
    let listener = Arc::clone(&server);
    let hub = Arc::clone(&ctx.hub);
    let token_file = config.token_file.clone();
    let web_file = config.web_config_file.clone();
    signals::spawn(signals::Handlers {
        stop: Box::new(move |signal| {
            log::info!("{signal} received: closing websocket sessions and stopping");
            notify::notify("STOPPING=1");
            hub.stop();
            listener.unblock();
        }),
        reload: Box::new(move || {
            match &token_file {
                None => log::info!("SIGHUP received: no token file to re-read"),
                Some(path) => match crate::config::read_token(path, "the token file") {
                    Ok(t) => {
                        token.set(t);
                        log::info!("SIGHUP received: token re-read from {}", path.display());
                    }
                    Err(e) => log::error!("SIGHUP received: {e}; the old token stays in force"),
                },
            }
            if let Some(path) = &web_file {
                match crate::webconfig::load(path) {
                    Ok(c) if c.tls.is_some() != tls_slot.is_some() => log::error!(
                        "SIGHUP received: web config file '{}': tls_server_config was {} at start and cannot be {} without a restart; the old web config stays in force",
                        path.display(),
                        if tls_slot.is_some() { "given" } else { "absent" },
                        if tls_slot.is_some() { "removed" } else { "added" },
                    ),
                    Ok(c) => {
                        if let (Some(slot), Some(tls)) = (&tls_slot, &c.tls) {
                            match crate::tls::server_config(tls) {
                                Ok(new) => {
                                    *slot.write().unwrap_or_else(|e| e.into_inner()) = new;
                                    log::info!(
                                        "SIGHUP received: certificate re-read from {} (new connections use it)",
                                        tls.cert_file.display()
                                    );
                                }
                                Err(e) => {
                                    log::error!("SIGHUP received: {e}; the old web config stays in force");
                                    return;
                                }
                            }
                        }
                        log::info!(
                            "SIGHUP received: web config re-read from {} ({} user(s), {} extra header(s))",
                            path.display(),
                            c.users.len(),
                            c.headers.len()
                        );
                        web.set(Arc::new(c));
                    }
                    Err(e) => {
                        log::error!("SIGHUP received: {e}; the old web config stays in force")
                    }
                }
            }
        }),
    })
    .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    notify::notify("READY=1");
    if config.open {
        open_browser(&format!("{scheme}://{local}/"));
    }

    for req in server.incoming_requests() {
        if let Err(req) = pool.submit(req) {
            log::warn!("request queue full; answering 503");
            req.respond_later(http::error(503, "server busy, try again"));
        }
    }
    // Give sessions a moment to get their close frames out; never longer than the
    // one second a service manager is promised.
    let deadline = Instant::now() + Duration::from_millis(800);
    while ctx.hub.len() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(saver) = saver {
        saver.stop();
    }
    log::info!("stopped after {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The thread that saves the history to `--state-dir` every `every` (a minute) and once more
/// when the server stops.
struct Saver {
    stop: crossbeam_channel::Sender<()>,
    done: crossbeam_channel::Receiver<()>,
    /// Bytes of the history files, for `/health`.
    bytes: Arc<std::sync::atomic::AtomicU64>,
}

impl Saver {
    /// Loads what `dir` holds into the history and starts the thread.
    fn spawn(
        dir: &std::path::Path,
        latest: Arc<Latest>,
        every: Duration,
    ) -> std::io::Result<Saver> {
        use crate::history::disk::Store;
        use std::sync::atomic::Ordering;
        let mut store = Store::open(dir, &mut latest.history());
        let bytes = Arc::new(std::sync::atomic::AtomicU64::new(store.bytes()));
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        let (finished, done) = crossbeam_channel::bounded::<()>(1);
        let shown = Arc::clone(&bytes);
        std::thread::Builder::new()
            .name("history-save".into())
            .stack_size(256 * 1024)
            .spawn(move || loop {
                let last = !matches!(
                    stopped.recv_timeout(every),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout)
                );
                store.save(latest.history_lock());
                shown.store(store.bytes(), Ordering::Relaxed);
                if last {
                    let _ = finished.send(());
                    return;
                }
            })?;
        Ok(Saver { stop, done, bytes })
    }

    /// Saves what is left and waits for it (at most 2 s).
    fn stop(self) {
        let _ = self.stop.send(());
        if self.done.recv_timeout(Duration::from_secs(2)).is_err() {
            log::warn!("the history writer did not finish in time");
        }
    }
}

/// Raises the soft limit on open files to the hard one. Each websocket session and HTTP
/// connection is a socket, and the usual soft limit of 1024 would refuse sessions long before
/// `--max-clients` allows thousands; the hard limit is the operator's (systemd's
/// `LimitNOFILE=`).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                log::debug!(
                    "cannot raise the open-file limit: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

/// Binds the listener with two options that accepted sockets inherit from it on Linux:
/// - `TCP_NODELAY`: tiny_http writes a response's head and body separately, and with Nagle's
///   algorithm a keep-alive client's delayed ACK held every multi-segment answer for ~40 ms.
/// - `SO_SNDBUF` of 256 KiB (the kernel caps it at twice `net.core.wmem_max`): every answer
///   but a long `/history` fits in the socket at once, so a handler thread hands it over and
///   moves on even when the client is not reading, instead of waiting out the write timeout.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind(addr)?;
    for (level, name, value, what) in [
        (libc::IPPROTO_TCP, libc::TCP_NODELAY, 1, "TCP_NODELAY"),
        (libc::SOL_SOCKET, libc::SO_SNDBUF, 256 * 1024, "SO_SNDBUF"),
    ] {
        let value: libc::c_int = value;
        // SAFETY: the fd is a valid socket owned by `listener`; the option value is a c_int of
        // the size passed.
        let rc = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                level,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            log::debug!(
                "{what} on the listener: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(listener)
}

/// Opens `url` in the desktop's browser and says whether that worked: `xdg-open` exits 3 or 4
/// when no browser could be found or started, so its status is waited for (on a thread of its
/// own: some openers stay until the browser exits, and are taken as a success after 10 s).
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let child = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            log::warn!("could not open a browser ({opener}: {e}); visit {url}");
            return;
        }
    };
    let url = url.to_owned();
    let watcher = std::thread::Builder::new()
        .name("open".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                match child.try_wait() {
                    Ok(Some(status)) if status.success() => {
                        log::info!("opened {url} in the browser")
                    }
                    Ok(Some(status)) => log::warn!(
                        "could not open a browser ({opener} failed: {status}); visit {url}"
                    ),
                    Ok(None) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    Ok(None) => log::info!("opened {url} in the browser ({opener} still running)"),
                    Err(e) => log::warn!("could not open a browser ({opener}: {e}); visit {url}"),
                }
                // Reaped either way; a still-running opener is waited for here.
                let _ = child.wait();
                return;
            }
        });
    if let Err(e) = watcher {
        log::debug!("no thread to watch {opener}: {e}");
    }
}
