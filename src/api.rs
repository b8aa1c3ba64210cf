//! Routes: which path answers which methods, and the handlers. Handlers only read the latest
//! published snapshot; nothing here collects.

use crate::assets;
use crate::auth::{Guard, TokenCell, WebCell};
use crate::config::Config;
use crate::fanout::Hub;
use crate::glances;
use crate::history::{Fields, Selected, FIELDS, HOURS_FOR, MAX_POINTS};
use crate::hosts::HostCheck;
use crate::http::{self, Body, Reply};
use crate::model::{ApiError, Fleet, Health, WorkerCreated};
use crate::registry::{RegisterError, Registry};
use crate::sampler::Latest;
use crate::session::{self, Admission, Handshake};
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;
use tiny_http::{Method, PeerKey, Request};

/// Largest request body accepted (`POST /` needs none; clients send a few bytes).
pub const MAX_BODY: usize = 64 * 1024;

/// What every handler can reach.
pub struct Ctx {
    pub config: Config,
    pub latest: Arc<Latest>,
    pub hub: Arc<Hub>,
    pub workers: Registry,
    pub started: Instant,
    /// The token in force (re-read on SIGHUP).
    pub token: Arc<TokenCell>,
    /// The web config in force (`--web.config.file`, re-read on SIGHUP).
    pub web: Arc<WebCell>,
    /// The `Host` names served without a token.
    pub hosts: HostCheck,
    /// Bytes of history in `--state-dir` (`None`: memory only).
    pub history_disk: Option<Arc<std::sync::atomic::AtomicU64>>,
}

/// Answers a request, with the CORS header its `Origin` gets. The answer is written by the
/// connection's own thread, so a client that reads slowly never holds a handler thread; its
/// bytes are leased from the answer budget until then ([`http::leased`]).
fn send(req: Request, reply: Reply) {
    let origin = http::request_header(&req, "Origin");
    req.respond_later(http::leased(http::finish(reply, origin.as_deref())));
}

#[derive(Clone, Copy)]
pub enum Route {
    Root,
    System,
    Network,
    Connect,
    Health,
    Metrics,
    History,
    /// The other servers for the dashboard's fleet view (`--fleet`).
    Fleet,
    /// `/api/4/...`, the Glances API (see [`crate::glances`]).
    Glances,
    Asset(&'static assets::Asset),
}

impl Route {
    /// Whether psmonitor serves `path` itself (so `--web.telemetry-path` cannot take it).
    pub fn taken(path: &str) -> bool {
        path == "/" || Route::of(path).is_some()
    }

    fn of(path: &str) -> Option<Route> {
        Some(match path {
            "/" | "/index.html" => Route::Root,
            "/system" => Route::System,
            "/network" => Route::Network,
            "/connect" | "/ws" => Route::Connect,
            "/health" => Route::Health,
            "/metrics" => Route::Metrics,
            "/history" => Route::History,
            "/fleet" => Route::Fleet,
            p if glances::target(p).is_some() => Route::Glances,
            _ => Route::Asset(assets::find(path)?),
        })
    }

    /// Data endpoints need the token or a user when either is set; `/health` and the
    /// websocket (authorised by its single-use worker id) stay open, and so do the dashboard's
    /// files unless there are users (then the browser asks for one on opening the page, and
    /// sends it with the page's own requests).
    fn needs_auth(self, method: &Method, users: bool) -> bool {
        match self {
            Route::Root | Route::Asset(_) if users => true,
            Route::System
            | Route::Network
            | Route::Metrics
            | Route::History
            | Route::Fleet
            | Route::Glances => true,
            Route::Root => *method == Method::Post,
            Route::Connect | Route::Health | Route::Asset(_) => false,
        }
    }

    /// Query parameters given once per value: node_exporter's `collect[]=cpu&collect[]=meminfo`.
    fn repeatable(self) -> &'static [&'static str] {
        match self {
            Route::Metrics => &["collect[]", "exclude[]"],
            _ => &[],
        }
    }

    fn allow(self) -> &'static str {
        match self {
            Route::Root => "GET, HEAD, POST, OPTIONS",
            Route::Connect => "GET, OPTIONS",
            _ => "GET, HEAD, OPTIONS",
        }
    }
}

/// Answers one request. Runs on a pool thread.
pub fn handle(mut req: Request, ctx: &Ctx) {
    let url = req.url().to_owned();
    let (path, query) = http::split_target(&url);
    log::debug!("{} {}", req.method(), url);
    if let Some(host) = http::request_header(&req, "Host") {
        if !crate::hosts::port_ok(&host) {
            let why = format!("the Host header '{host}' has no valid port (0 to 65535)");
            return send(req, http::error(400, &why));
        }
    }
    let token = ctx.token.get();
    let web = ctx.web.get();
    let guard = Guard {
        token: token.as_ref(),
        users: &web.users,
    };
    if !guard.is_set() {
        let host = http::request_header(&req, "Host");
        if !ctx.hosts.admits(host.as_deref()) {
            return send(req, wrong_host(host.as_deref().unwrap_or("")));
        }
    }
    // CORS preflight is answered on any path, known or not.
    if *req.method() == Method::Options {
        return send(req, http::reply(204, "text/plain", Body::Static(b"")));
    }
    let telemetry = ctx.config.telemetry_path.as_deref() == Some(path);
    let Some(route) = telemetry
        .then_some(Route::Metrics)
        .or_else(|| Route::of(path))
    else {
        return send(req, not_found(path));
    };
    let method = req.method().clone();
    let allowed = route.allow();
    let users = !web.users.is_empty();
    if guard.is_set() && route.needs_auth(&method, users) && !guard.admits(&req) {
        {
            let r = match token {
                Some(_) if !users => http::error(401, "missing or wrong bearer token"),
                _ => http::error(401, "missing or wrong credentials"),
            };
            // Glances clients (Home Assistant, Homepage) only speak Basic, and so does a
            // browser asked for a user; the dashboard asks for a token itself.
            let scheme = match route {
                _ if users => "Basic realm=\"psmonitor\", charset=\"UTF-8\"",
                Route::Glances => "Basic realm=\"psmonitor\"",
                _ => "Bearer realm=\"psmonitor\"",
            };
            let r = http::with(r, "WWW-Authenticate", scheme);
            return send(req, r);
        }
    }
    if let Some(name) = http::repeated(&http::parse_query(query), route.repeatable()) {
        return send(req, http::bad_parameter(name, "given more than once"));
    }
    let not_allowed = || {
        let body = ApiError {
            allow: Some(allowed.to_owned()),
            ..http::api_error(&format!("method {method} not allowed"))
        };
        http::with(http::json(405, &body), "Allow", allowed)
    };
    let reply = match (route, &method) {
        (Route::Connect, Method::Get) => return websocket(req, query, ctx),
        (Route::Root, Method::Post) => match drain_body(&mut req) {
            Ok(()) => new_worker(&req, ctx),
            Err(reply) => reply,
        },
        (_, Method::Get | Method::Head) => match route {
            Route::Root => asset(&req, assets::find("/").expect("index.html is embedded")),
            Route::Asset(a) => asset(&req, a),
            Route::System => system(ctx, query),
            Route::Network => published(ctx, |p| &p.network_json),
            Route::Health => health(ctx),
            Route::Metrics => metrics(&req, ctx, query),
            Route::History => history(&req, ctx, query),
            Route::Fleet => http::json(
                200,
                &Fleet {
                    hosts: &ctx.config.fleet,
                },
            ),
            Route::Glances => glances_api(&req, ctx, path),
            // `HEAD /ws` is no websocket handshake.
            Route::Connect => not_allowed(),
        },
        _ => not_allowed(),
    };
    send(req, reply);
}

/// 403 for a `Host` that is not this machine's (DNS rebinding), saying how to allow it.
fn wrong_host(host: &str) -> Reply {
    let name = crate::hosts::strip_port(host);
    http::json(
        403,
        &ApiError {
            reason: Some(format!(
                "without a token, only IP addresses, localhost and this machine's own names are served; to serve '{name}', start psmonitor with --allowed-hosts {name} (or PSMONITOR_ALLOWED_HOSTS), or set a token"
            )),
            ..http::api_error(&format!("host '{host}' is not served"))
        },
    )
}

/// `GET /connect` and `/ws`: checks the handshake, claims the worker and joins the hub here,
/// then hands the session what it needs.
fn websocket(req: Request, query: &str, ctx: &Ctx) {
    let hs = match Handshake::check(&req, query) {
        Ok(hs) => hs,
        Err(reply) => return send(req, reply),
    };
    let peer_addr = req.remote_addr().copied();
    let pairs = http::parse_query(query);
    let claimed = http::query_value(&pairs, "id")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .is_some_and(|id| ctx.workers.claim(id));
    let admission = if !claimed {
        Admission::BadWorker
    } else {
        match ctx.hub.try_subscribe(
            hs.stream,
            PeerKey::of(peer_addr),
            ctx.config.max_clients,
            ctx.config.max_clients_per_peer,
        ) {
            Ok(sub) => Admission::Open(sub),
            Err(why) => Admission::Refused(why),
        }
    };
    let first = ctx.latest.get().map(|p| p.frames.of(hs.stream).clone());
    let params = session::Params {
        admission,
        first,
        interval: ctx.config.interval,
        peer: peer_addr.map_or_else(|| "unknown peer".to_owned(), |p| p.to_string()),
    };
    session::start(req, hs, params);
}

/// Reads and discards the body, refusing more than [`MAX_BODY`] bytes with 413. The patched
/// tiny_http has read bodies of up to 64 KiB already, on the connection's thread, so this never
/// waits on a client; a larger declared body is refused by its length, unread, and the
/// connection then closes (the answer says `Connection: close`).
fn drain_body(req: &mut Request) -> Result<(), Reply> {
    let too_large = || http::error(413, "request body larger than 64 KiB");
    if req.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut sink = Vec::new();
    match req
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut sink)
    {
        Ok(n) if n > MAX_BODY => Err(too_large()),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Err(http::error(408, "request body not received in time"))
        }
        Err(_) => Err(http::error(400, "could not read the request body")),
    }
}

fn new_worker(req: &Request, ctx: &Ctx) -> Reply {
    match ctx
        .workers
        .register(PeerKey::of(req.remote_addr().copied()))
    {
        Ok(id) => {
            let host = http::request_header(req, "Host")
                .filter(|h| !h.is_empty() && h.bytes().all(|c| c.is_ascii_graphic()))
                .unwrap_or_else(|| ctx.config.display_addr());
            http::json(
                200,
                &WorkerCreated {
                    id: id.to_string(),
                    status: None,
                    url: format!(
                        "{}://{host}/connect?id={id}",
                        if req.secure() { "wss" } else { "ws" }
                    ),
                    message: "worker created: open the websocket within 3 seconds".into(),
                },
            )
        }
        Err(RegisterError::Full) => {
            log::warn!("worker rejected: too many unclaimed workers");
            http::error(503, "too many pending workers, try again later")
        }
        Err(RegisterError::PeerFull) => {
            log::debug!("worker rejected: too many unclaimed workers from one peer");
            let r = http::error(
                429,
                "too many pending workers from your address, try again later",
            );
            http::with(r, "Retry-After", "3")
        }
        Err(RegisterError::Gone) => http::error(503, "server is shutting down"),
    }
}

/// What the dashboard's files are sent with: its scripts and styles come only from this server
/// (no inline code, so an injected `<script>` would not run), it may fetch and open websockets
/// to other servers (the fleet view), no other site may frame it (clickjacking), types are
/// not sniffed, and no `Referer` carrying `?server=` leaves the page.
pub const DASHBOARD_HEADERS: [(&str, &str); 4] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self' http: https: ws: wss:; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
];

fn asset(req: &Request, a: &'static assets::Asset) -> Reply {
    // One validator per representation: the gzipped body is a different set of bytes.
    let gzip = accepts_gzip(req);
    let etag = a.etag(gzip);
    // If-None-Match compares weakly (RFC 9110, 13.1.2): `W/"x"` matches `"x"`.
    let matches = req
        .headers()
        .iter()
        .filter(|h| h.field.equiv("If-None-Match"))
        .any(|h| {
            h.value.as_str().split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag
            })
        });
    let r = if matches {
        http::reply(304, a.content_type, Body::Static(b""))
    } else if gzip {
        http::reply(200, a.content_type, Body::Static(a.gzipped()))
    } else {
        http::reply(200, a.content_type, Body::Static(a.body))
    };
    // A header the web config sets replaces ours.
    let r = DASHBOARD_HEADERS
        .iter()
        .filter(|(name, _)| !http::configured_header(name))
        .fold(r, |r, (name, value)| http::with(r, name, value));
    let r = http::with(r, "ETag", &etag);
    encoded(http::with(r, "Cache-Control", "no-cache"), gzip && !matches)
}

fn published(
    ctx: &Ctx,
    pick: impl Fn(&crate::sampler::Published) -> &tungstenite::Utf8Bytes,
) -> Reply {
    match ctx.latest.get() {
        Some(p) => http::json_shared(pick(&p)),
        None => http::error(503, "no snapshot yet"),
    }
}

/// `GET /system[?processes=N&sort=mem|cpu]`: the shared JSON as is, or, with a query, the
/// snapshot re-serialised with another process list (still nothing collected).
fn system(ctx: &Ctx, query: &str) -> Reply {
    let pairs = http::parse_query(query);
    let count = match http::query_value(&pairs, "processes") {
        None => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Some(n),
            _ => {
                return http::bad_parameter(
                    "processes",
                    &format!("'{v}' is not a whole number from 1 to 100"),
                )
            }
        },
    };
    let by_cpu = match http::query_value(&pairs, "sort") {
        None | Some("mem") => false,
        Some("cpu") => true,
        Some(v) => return http::bad_parameter("sort", &format!("'{v}' is not one of: mem, cpu")),
    };
    if count.is_none() && !by_cpu {
        return published(ctx, |p| &p.system_json);
    }
    let Some(p) = ctx.latest.get() else {
        return http::error(503, "no snapshot yet");
    };
    let mut system = p.snapshot.system.clone();
    system.processes = p.snapshot.processes.top(count.unwrap_or(10), by_cpu);
    http::json(200, &system)
}

/// `GET /api/4/...`, built from the latest snapshot; a field the plugin lacks is a 404.
/// Gzipped when the client accepts it, as Glances' server does (`/api/4/all` is tens of KB).
fn glances_api(req: &Request, ctx: &Ctx, path: &str) -> Reply {
    let Some(p) = ctx.latest.get() else {
        return http::error(503, "no snapshot yet");
    };
    let target = glances::target(path).expect("routed by Route::of");
    let Some(v) = glances::answer(&target, &p.snapshot) else {
        return not_found(path);
    };
    let body = serde_json::to_string(&v).unwrap_or_else(|_| "null".into());
    let gzip = accepts_gzip(req);
    let body = if gzip {
        crate::gzip::compress(&body)
    } else {
        body.into_bytes()
    };
    encoded(http::reply(200, http::JSON, Body::Owned(body)), gzip)
}

/// The 404 body every unknown path gets.
fn not_found(path: &str) -> Reply {
    let body = ApiError {
        path: Some(path.to_owned()),
        ..http::api_error("not found")
    };
    http::json(404, &body)
}

fn health(ctx: &Ctx) -> Reply {
    let latest = ctx.latest.get();
    let age = latest.as_ref().map(|p| p.at.elapsed());
    let stalled = age.is_none_or(|a| a > ctx.config.interval * 3);
    let (history_seconds, history_points, history_bytes) = {
        let h = ctx.latest.history();
        let reach = if h.enabled() { h.span() } else { 0 };
        (reach.max(ctx.config.history.as_secs()), h.len(), h.bytes())
    };
    let body = Health {
        status: if stalled { "stalled" } else { "ok" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: ctx.started.elapsed().as_secs(),
        clients: ctx.hub.len(),
        last_sample_age_ms: age.map(|a| a.as_millis() as u64),
        processes_every_s: latest.map(|p| p.snapshot.system.processes_every_s),
        history_seconds,
        history_points,
        history_bytes,
        history_disk_bytes: ctx
            .history_disk
            .as_ref()
            .map(|b| b.load(std::sync::atomic::Ordering::Relaxed)),
        ticks: ctx.latest.ticks(),
    };
    http::json(if stalled { 503 } else { 200 }, &body)
}

/// `GET /metrics`: the snapshot's families (rendered once per snapshot) and the live ones;
/// gzipped when asked (the snapshot's part compressed once, see [`crate::gzip`]). With
/// node_exporter's `collect[]` or `exclude[]`, the families asked for, sliced out of the same
/// rendered text ([`crate::metrics::Rendered::only`]) and compressed per scrape.
fn metrics(req: &Request, ctx: &Ctx, query: &str) -> Reply {
    let wanted =
        match crate::metrics::selection(&http::parse_query(query), &ctx.config.collection.families)
        {
            Ok(w) => w,
            Err((parameter, why)) => return http::bad_parameter(parameter, &why),
        };
    ctx.latest.scraped();
    let Some(p) = ctx.latest.get() else {
        return http::error(503, "no snapshot yet");
    };
    let (history_points, history_capacity) = {
        let h = ctx.latest.history();
        (h.len(), h.capacity())
    };
    let live = crate::metrics::Live {
        pending_workers: ctx.workers.pending(),
        history_points,
        history_capacity,
        clients: ctx.hub.len(),
        snapshots: ctx.latest.ticks(),
        frames: ctx.hub.delivered(),
    };
    let own = ctx.config.exporter_metrics;
    let rendered = p
        .metrics
        .get_or_init(|| crate::metrics::render_snapshot(&p.snapshot, own));
    let tail = match own {
        true => crate::metrics::render_live(&live),
        false => String::new(),
    };
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    let gzip = accepts_gzip(req);
    let mut text = match wanted {
        Some(names) => rendered.only(|n| names.contains(&n)),
        None if gzip => {
            let prefix = p
                .metrics_gz
                .get_or_init(|| crate::gzip::Prefix::new(&rendered.text));
            let body = Body::Owned(prefix.finish(&tail));
            return encoded(http::reply(200, content_type, body), true);
        }
        None => rendered.text.clone(),
    };
    text.push_str(&tail);
    let body = match gzip {
        true => crate::gzip::compress(&text),
        false => text.into_bytes(),
    };
    encoded(http::reply(200, content_type, Body::Owned(body)), gzip)
}

/// Whether the request's `Accept-Encoding` takes gzip.
fn accepts_gzip(req: &Request) -> bool {
    crate::gzip::accepted(
        req.headers()
            .iter()
            .filter(|h| h.field.equiv("Accept-Encoding"))
            .map(|h| h.value.as_str()),
    )
}

/// Marks a reply whose encoding depends on `Accept-Encoding` (for caches), and says
/// `Content-Encoding: gzip` when its body is gzipped.
fn encoded(r: Reply, gzipped: bool) -> Reply {
    let r = if gzipped {
        http::with(r, "Content-Encoding", "gzip")
    } else {
        r
    };
    http::with(r, "Vary", "Accept-Encoding")
}

/// `GET /history?seconds=N&step=S&fields=a,b` (default 300 s, every point, every field): the
/// newest N seconds of points in arrival order, from the finest tier that covers them (see
/// [`crate::history`]), as means over S-second buckets when asked or when more than
/// [`MAX_POINTS`] points would be sent (the step is raised); `X-History-Tier` and
/// `X-History-Step` say which. Gzipped when the client accepts it. The points are copied out
/// under the history's lock and unpacked and serialised without it.
fn history(req: &Request, ctx: &Ctx, query: &str) -> Reply {
    let pairs = http::parse_query(query);
    let enabled = ctx.latest.history().enabled();
    let max = if enabled { HOURS_FOR } else { 1 };
    let seconds = match http::query_value(&pairs, "seconds") {
        None => 300.min(max),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                let why = format!("'{v}' is not a whole number from 1 to {max}");
                return http::bad_parameter("seconds", &why);
            }
        },
    };
    let step = match http::query_value(&pairs, "step") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=86_400).contains(&n) => Some(n),
            _ => {
                let why = format!("'{v}' is not a whole number of seconds from 1 to 86400");
                return http::bad_parameter("step", &why);
            }
        },
    };
    let fields = match http::query_value(&pairs, "fields").map(Fields::parse) {
        None => Fields::ALL,
        Some(Ok(f)) => f,
        Some(Err(name)) => {
            let why = format!(
                "'{name}' is not one of: {} (t is always sent)",
                FIELDS.join(", ")
            );
            return http::bad_parameter("fields", &why);
        }
    };
    let (copied, tier_step, tier) = {
        let h = ctx.latest.history();
        let tier = h.tier_for(seconds);
        (h.copy(tier, seconds), h.step_of(tier), tier)
    };
    // The step asked for, at least the tier's, and large enough for MAX_POINTS.
    // Buckets are aligned on multiples of the step, so N / step of them can be one more.
    let needed = seconds as f64 / (MAX_POINTS - 1) as f64;
    let capped = if needed > tier_step {
        needed.ceil() as u64
    } else {
        0
    };
    let wanted = step.unwrap_or(0).max(capped);
    let (points, sent_step) = if wanted as f64 > tier_step {
        let means = crate::history::buckets(copied.iter(), wanted as u32);
        (means, wanted as f64)
    } else {
        (copied.points(), tier_step)
    };
    drop(copied);
    let select = |point| Selected { point, fields };
    let body = serde_json::to_string(&points.iter().map(select).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into());
    let gzip = accepts_gzip(req);
    let body = if gzip {
        crate::gzip::compress(&body)
    } else {
        body.into_bytes()
    };
    let r = http::reply(200, http::JSON, Body::Owned(body));
    let r = http::with(r, "X-History-Tier", tier.name());
    let r = http::with(r, "X-History-Step", &sent_step.to_string());
    encoded(r, gzip)
}
