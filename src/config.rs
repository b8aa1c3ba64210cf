//! Settings from the command line, with an environment variable behind every flag
//! (`--max-clients` ↔ `PSMONITOR_MAX_CLIENTS`) for service managers. The flag wins.

use crate::api::Route;
use crate::args::{self, Args, Word};
use crate::auth::Token;
use crate::logging::LogFilter;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

/// `--help`: every flag, grouped, with its environment variable and default; the collectors
/// are listed from their registry, so a new family shows up here by itself.
pub fn help() -> String {
    let mut families = String::new();
    let mut flags: Vec<&crate::collect::flags::Flag> =
        crate::collect::flags::FLAGS.iter().collect();
    crate::sort::sort_by_key(&mut flags, |f| f.name);
    for f in flags {
        let (value, kind) = if f.switch() {
            ("", "(switch)")
        } else if f.list() {
            (" LIST", "(list)")
        } else if f.value() {
            (" VALUE", "(value)")
        } else {
            (" REGEX", "")
        };
        let text = f.help.strip_prefix(kind).unwrap_or(f.help).trim_start();
        let no = if f.switch() {
            format!(", --no-collector.{}", f.name)
        } else {
            String::new()
        };
        families.push_str(&format!("    --collector.{}{value}{no}\n", f.name));
        // The explanation wrapped at 96 columns, indented under the flag.
        let mut line = String::from("       ");
        for word in text.split(' ') {
            if line.len() + 1 + word.len() > 96 && line.len() > 7 {
                families.push_str(&line);
                families.push('\n');
                line = String::from("       ");
            }
            line.push(' ');
            line.push_str(word);
        }
        families.push_str(&line);
        families.push('\n');
    }
    families.push_str("    Collectors and whether they run by default:\n");
    for r in crate::collect::families::ALL {
        let state = if r.default_enabled { "on" } else { "off" };
        families.push_str(&format!("        {:<18} {state}\n", r.name));
    }
    format!("{HELP_HEAD}{families}{HELP_TAIL}")
}

const HELP_HEAD: &str = "\
psmonitor: system and network monitoring server (JSON, websocket, dashboard, Prometheus, Glances API)

USAGE:
    psmonitor [OPTIONS]
    psmonitor snapshot [system|network] [--pretty]   print one JSON snapshot and exit

Every option can also be given as an environment variable (shown in brackets); the flag wins.
--flag=value and --flag value are the same. Each flag is given once (only
--collector.textfile.directory repeats); a switch takes no value (--open, not --open=true)
and, as node_exporter's, has an off form (--no-open, --no-web.disable-exporter-metrics).

SERVER:
    --address IP         address to listen on: 0.0.0.0 or :: for every interface
                         [PSMONITOR_ADDRESS, default 127.0.0.1]
    --port N             port, 0 to 65535; 0 picks a free one [PSMONITOR_PORT, default 4500]
    --interval MS        sampling interval, 100 to 3600000 ms [PSMONITOR_INTERVAL, default 1000]
    --threads N          HTTP handler threads, 1 to 256 [PSMONITOR_THREADS, default 4]
    --open               open the dashboard in the default browser once listening

NODE_EXPORTER'S GLOBAL FLAGS (so its systemd unit's command line starts psmonitor):
    --web.listen-address HOST:PORT   instead of --address and --port (not with them): :9100
                         is every IPv4 interface, [::]:9100 IPv6 too; the port 0 to 65535
    --web.telemetry-path PATH   serve /metrics at PATH too (letters, digits, -._~/$&+,:;=@)
                         [default /metrics]
    --web.disable-exporter-metrics   leave psmonitor's figures about itself (process_*,
                         psmonitor_sampler_*, the websocket and history counters) out of /metrics
    --web.max-requests N     accepted, no effect: --threads and --max-connections bound scrapes
    --runtime.gomaxprocs N   accepted, no effect (no Go runtime)
    --web.systemd-socket     refused: no socket activation, psmonitor listens itself
    --log.level LEVEL    debug|info|warn|error, as --log-level (not with it)
    --log.format FORMAT  logfmt or json lines (time, level, source, msg); without it
                         psmonitor's own line format

LIMITS:
    --max-clients N      websocket sessions at once [PSMONITOR_MAX_CLIENTS, default 20]
    --max-connections N  open HTTP connections at once, websockets not counted; past it the
                         idlest, a half-sent request of the address holding the most, or the
                         slowest is shed, else 503 [PSMONITOR_MAX_CONNECTIONS, default 64]
    --max-connections-per-peer N   open HTTP connections from one address (IPv6: one /64)
                         [PSMONITOR_MAX_CONNECTIONS_PER_PEER, default 16]
    --max-clients-per-peer N       websocket sessions from one address
                         [PSMONITOR_MAX_CLIENTS_PER_PEER, default 10]
    --max-pending-per-peer N       unclaimed worker ids (POST /) from one address
                         [PSMONITOR_MAX_PENDING_PER_PEER, default 32]
    --request-timeout MS a request's head and body must arrive within this; an idle keep-alive
                         connection is closed after it; 100 to 3600000
                         [PSMONITOR_REQUEST_TIMEOUT, default 10000]

HISTORY:
    --history SECONDS    history kept at the sampling interval, 0 (no history at all) to
                         604800; 1-minute means for 30 days and 1-hour means for 2 years are
                         kept beyond it [PSMONITOR_HISTORY, default 3600]
    --state-dir DIR      keep the history there across restarts (a journal written once a
                         minute, an image once a day) [PSMONITOR_STATE_DIR; default: memory only]

FLEET (the dashboard's view of many hosts):
    --fleet LIST         other psmonitor servers, served at GET /fleet: comma-separated host,
                         host:port, [v6]:port or http(s):// URLs, at most 64 [PSMONITOR_FLEET]

SECURITY:
    --token-file PATH    require `Authorization: Bearer <token>` on data endpoints; SIGHUP
                         re-reads it [PSMONITOR_TOKEN_FILE, or the token itself in PSMONITOR_TOKEN]
    --allowed-hosts LIST Host names served besides IP literals, localhost and this machine's
                         own names (comma-separated; * serves any); checked only without a token
                         [PSMONITOR_ALLOWED_HOSTS]
    --web.config.file FILE   TLS, extra headers and basic-auth users, in the exporter-toolkit
                         format node_exporter reads (see docs/security.md); SIGHUP re-reads it
                         [PSMONITOR_WEB_CONFIG_FILE]
    --web.cors-origin LIST  origins whose pages may read answers from a browser
                         (comma-separated scheme://host[:port]), or * for any page
                         [PSMONITOR_WEB_CORS_ORIGIN, default *]

LOGGING:
    --log-level LEVEL    off|error|warn|info|debug|trace, or directives such as
                         warn,psmonitor::session=info [PSMONITOR_LOG_LEVEL or RUST_LOG, default info]

COLLECTORS (the /metrics families, with node_exporter's flags):
    --path.procfs DIR    where /proc is [PSMONITOR_PATH_PROCFS, default /proc]
    --path.sysfs DIR     where /sys is [PSMONITOR_PATH_SYSFS, default /sys]
    --path.rootfs DIR    where the host's / is (a container's view of it)
                         [PSMONITOR_PATH_ROOTFS, default /]
    --path.udev.data DIR udev's database, for node_disk_info and friends
                         [PSMONITOR_PATH_UDEV_DATA, default <rootfs>/run/udev/data]
    --collector.NAME     turn a collector on
    --no-collector.NAME  turn a collector off
    --collector.disable-defaults   turn every collector off but those named with --collector.NAME
                         (--no-collector.disable-defaults: the default)
    node_exporter's collectors psmonitor lacks (systemd, wifi, ntp, perf, ...; see
    docs/metrics.md) and their flags are taken as node_exporter takes them, and ignored:
    --no-collector.NAME silently, --collector.NAME and their flags with one warning at start.
    An empty filter pattern (--collector.netdev.device-exclude=) is no filter, as in node_exporter:
    an empty exclude leaves nothing out, not even the default's names.
    --collector.textfile.directory DIR   *.prom files served with /metrics; repeatable, and a
                         glob of directories (/var/lib/node/*.d) as node_exporter 1.12
                         [PSMONITOR_TEXTFILE_DIRECTORY]
";

const HELP_TAIL: &str = "
OTHER:
    -h, --help           print this help
    -V, --version        print the version

ENDPOINTS:
    GET /system[?processes=N&sort=mem|cpu], GET /network, GET /health, GET /metrics (Prometheus),
    GET /history[?seconds=N&step=S&fields=cpu,mem,...] (S-second means), GET /fleet (--fleet),
    GET /api/4/... (Glances' API), POST / (worker id), websocket /connect?id=ID (alias /ws; add
    &stream=network for network frames, &stream=dashboard for system, network and 25+25
    processes in one, &stream=summary for a compact frame per host), GET / (dashboard)
";

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub address: IpAddr,
    pub port: u16,
    pub interval: Duration,
    pub max_clients: usize,
    pub threads: usize,
    /// Open HTTP connections (each holds one tiny_http thread); websocket sessions not counted.
    pub max_connections: usize,
    /// Deadline for a request's head and body, and the idle limit of a keep-alive connection.
    pub request_timeout: Duration,
    /// How far back `/history` reaches.
    pub history: Duration,
    pub log: LogFilter,
    /// Unclaimed workers held at most (flood protection for `POST /`).
    pub max_pending: usize,
    /// Open HTTP connections from one peer (an IPv4 address, an IPv6 /64).
    pub max_connections_per_peer: usize,
    /// Websocket sessions from one peer.
    pub max_clients_per_peer: usize,
    /// Unclaimed workers from one peer.
    pub max_pending_per_peer: usize,
    /// Extra `Host` names served without a token (`--allowed-hosts`); `None` when `*`.
    pub allowed_hosts: Option<Vec<String>>,
    /// `--web.config.file`, to re-read on SIGHUP.
    pub web_config_file: Option<std::path::PathBuf>,
    /// The web config read from it at start (empty without one).
    pub web: std::sync::Arc<crate::webconfig::WebConfig>,
    /// Which other origins' pages may read answers (`--web.cors-origin`).
    pub cors: crate::http::Cors,
    /// Other psmonitor servers for the dashboard's fleet view (`--fleet`), as written.
    pub fleet: Vec<String>,
    /// Where the token was read from, to re-read on SIGHUP.
    pub token_file: Option<std::path::PathBuf>,
    /// When set, data endpoints require this bearer token.
    pub token: Option<Token>,
    /// Open the dashboard in a browser after start-up.
    pub open: bool,
    /// Testing hook (hidden flag `--test-stall-sampler-after MS`): the sampler stops
    /// publishing after this long, so `/health` can be seen reporting a stall.
    pub stall_after: Option<Duration>,
    /// Where the history is saved (`--state-dir`); memory only without it.
    pub state_dir: Option<std::path::PathBuf>,
    /// How often the history journal is written (a minute; the hidden flag
    /// `--test-save-every MS` shortens it for tests).
    pub save_every: Duration,
    /// Testing hook (hidden flag `--test-history-fill SECONDS`): the history starts filled with
    /// made-up points for this long, as if the server had run that long.
    pub history_fill: u64,
    /// Testing hook (hidden flag `--test-wall-offset-file PATH`): see [`crate::sampler::Latest`].
    pub wall_offset_file: Option<std::path::PathBuf>,
    /// How long a worker from `POST /` waits to be claimed ([`crate::registry::TTL`]; the
    /// hidden flag `--test-worker-ttl MS` shortens it so tests need not wait it out).
    pub worker_ttl: Duration,
    /// How long a client may trickle its head or body, or read its answer, before a newcomer
    /// may take its place when the connection table is full (a second; the hidden flag
    /// `--test-slow-after MS` lengthens it so a test's "still young" does not depend on speed).
    pub slow_after: Duration,
    /// Where the host's /proc, /sys and / are, and which metric families run.
    pub collection: crate::collect::Collection,
    /// `--web.telemetry-path`: another path /metrics is served at.
    pub telemetry_path: Option<String>,
    /// `process_*` and psmonitor's own `psmonitor_*` server figures in /metrics; off with
    /// `--web.disable-exporter-metrics`.
    pub exporter_metrics: bool,
    /// `--log.format`.
    pub log_format: crate::logging::Format,
    /// Found while reading the command line, logged once the logger is up.
    pub warnings: Vec<String>,
    /// Flags that change nothing here (`--no-collector.wifi`: psmonitor has no wifi
    /// collector), logged at debug level once the logger is up.
    pub notes: Vec<String>,
}

/// What `main` should do.
pub enum Command {
    Serve(Box<Config>),
    /// `psmonitor snapshot [system|network] [--pretty]`.
    Snapshot {
        network: bool,
        pretty: bool,
    },
    Help,
    Version,
}

impl Config {
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// `host:port` for URLs when the client sent no `Host` header.
    pub fn display_addr(&self) -> String {
        self.socket_addr().to_string()
    }
}

/// An environment variable behind a flag, if set; one that is not UTF-8 is an error, never
/// taken as unset (a `PSMONITOR_TOKEN_FILE` so written would start the server without a token).
fn env_var(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => Err(args::not_utf8(name, &v)),
    }
}

/// Parses a flag value, or the environment variable behind it, within `range`.
fn value<T>(
    args: &mut Args,
    flag: &'static str,
    env: &str,
    default: T,
    check: impl Fn(&T) -> Result<(), String>,
) -> Result<T, String>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw = match args.string(flag)? {
        Some(v) => Some((v, flag.to_owned())),
        None => env_var(env)?.map(|v| (v, env.to_owned())),
    };
    let Some((text, source)) = raw else {
        return Ok(default);
    };
    let v: T = text
        .trim()
        .parse()
        .map_err(|e| format!("invalid value '{text}' for {source}: {e}"))?;
    check(&v).map_err(|why| format!("invalid value '{text}' for {source}: {why}"))?;
    Ok(v)
}

/// A whole-number flag within `lo..=hi`; a value out of range (however many digits) says
/// the range, not Rust's "number too large to fit in target type".
fn number(
    args: &mut Args,
    flag: &'static str,
    env: &str,
    default: u64,
    (lo, hi): (u64, u64),
) -> Result<u64, String> {
    let in_range = between(lo, hi);
    value(args, flag, env, Whole(default), |w: &Whole| in_range(&w.0)).map(|w| w.0)
}

/// Digits only; more than `u64` holds reads as `u64::MAX`, which no range admits.
struct Whole(u64);

impl FromStr for Whole {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Whole, &'static str> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("not a whole number");
        }
        Ok(Whole(s.parse().unwrap_or(u64::MAX)))
    }
}

fn between<T: PartialOrd + std::fmt::Display>(lo: T, hi: T) -> impl Fn(&T) -> Result<(), String> {
    move |v| {
        if *v < lo || *v > hi {
            Err(format!("must be between {lo} and {hi}"))
        } else {
            Ok(())
        }
    }
}

/// Reads the command line (without the program name). Errors are one line for the user:
/// control characters a value brought in (`--web.telemetry-path=$'/a\nb'`) are escaped.
pub fn parse(args: Vec<OsString>) -> Result<Command, String> {
    read(args).map_err(|msg| one_line(&msg))
}

/// `msg` with its control characters escaped: one line, whatever a value brought in.
fn one_line(msg: &str) -> String {
    msg.chars()
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect()
}

fn read(args: Vec<OsString>) -> Result<Command, String> {
    let (args, choices) = family_flags(args::split_equals(args)?)?;
    let mut args = Args::new(args);
    if args.any(["-h", "--help"]) {
        return Ok(Command::Help);
    }
    if args.any(["-V", "--version"]) {
        return Ok(Command::Version);
    }
    if let Some(sub) = args.subcommand() {
        return snapshot(sub, args);
    }
    let exporter = exporter_globals(&mut args)?;
    let address: String = value(
        &mut args,
        "--address",
        "PSMONITOR_ADDRESS",
        "127.0.0.1".into(),
        |_| Ok(()),
    )?;
    let address = ip(&address, "--address")?;
    let port = number(&mut args, "--port", "PSMONITOR_PORT", 4500, (0, 65_535))? as u16;
    let (address, port) = exporter.listen.unwrap_or((address, port));
    let interval = number(
        &mut args,
        "--interval",
        "PSMONITOR_INTERVAL",
        1000,
        (100, 3_600_000),
    )?;
    let max_clients = number(
        &mut args,
        "--max-clients",
        "PSMONITOR_MAX_CLIENTS",
        20,
        (1, 100_000),
    )? as usize;
    let threads = number(&mut args, "--threads", "PSMONITOR_THREADS", 4, (1, 256))? as usize;
    let max_connections = number(
        &mut args,
        "--max-connections",
        "PSMONITOR_MAX_CONNECTIONS",
        64,
        (1, 100_000),
    )? as usize;
    let request_timeout = number(
        &mut args,
        "--request-timeout",
        "PSMONITOR_REQUEST_TIMEOUT",
        10_000,
        (100, 3_600_000),
    )?;
    let max_connections_per_peer = number(
        &mut args,
        "--max-connections-per-peer",
        "PSMONITOR_MAX_CONNECTIONS_PER_PEER",
        16,
        (1, 100_000),
    )? as usize;
    let max_clients_per_peer = number(
        &mut args,
        "--max-clients-per-peer",
        "PSMONITOR_MAX_CLIENTS_PER_PEER",
        10,
        (1, 100_000),
    )? as usize;
    let max_pending_per_peer = number(
        &mut args,
        "--max-pending-per-peer",
        "PSMONITOR_MAX_PENDING_PER_PEER",
        32,
        (1, 100_000),
    )? as usize;
    let allowed: String = value(
        &mut args,
        "--allowed-hosts",
        "PSMONITOR_ALLOWED_HOSTS",
        String::new(),
        |_| Ok(()),
    )?;
    let allowed_hosts = allowed_hosts(&allowed)?;
    let cors: String = value(
        &mut args,
        "--web.cors-origin",
        "PSMONITOR_WEB_CORS_ORIGIN",
        "*".into(),
        |_| Ok(()),
    )?;
    let cors = cors_origins(&cors)?;
    let web_config_file: Option<String> = value(
        &mut args,
        "--web.config.file",
        "PSMONITOR_WEB_CONFIG_FILE",
        String::new(),
        |_| Ok(()),
    )
    .map(|f: String| (!f.is_empty()).then_some(f))?;
    let web = match &web_config_file {
        Some(f) => crate::webconfig::load(f.as_ref())?,
        None => Default::default(),
    };
    if let Some(tls) = &web.tls {
        // Built here too, so that a key that does not fit its certificate stops the start.
        crate::tls::server_config(tls).map_err(|e| {
            format!(
                "web config file '{}': {e}",
                web_config_file.as_deref().unwrap_or_default()
            )
        })?;
    }
    let fleet: Fleet = value(
        &mut args,
        "--fleet",
        "PSMONITOR_FLEET",
        Fleet::default(),
        |_| Ok(()),
    )?;
    let history = number(
        &mut args,
        "--history",
        "PSMONITOR_HISTORY",
        3600,
        (0, 7 * 86_400),
    )?;
    let mut env_level = None;
    for k in ["PSMONITOR_LOG_LEVEL", "RUST_LOG"] {
        if let Some(v) = env_var(k)? {
            env_level = Some((v, k));
            break;
        }
    }
    let level_text = args.string("--log-level")?;
    let level_text = match (level_text, exporter.log_level) {
        (Some(_), Some(_)) => {
            return Err("--log-level and --log.level are the same setting: give one".to_owned())
        }
        (Some(t), None) => Some((t, "--log-level")),
        (None, l) => l.map(|l| (l, "--log.level")),
    };
    let log = match level_text.or(env_level) {
        None => LogFilter::default(),
        Some((t, source)) => LogFilter::parse(&t)
            .map_err(|why| format!("invalid value '{t}' for {source}: {why}"))?,
    };
    let open = args.switch("--open")?;
    let stall_after: Option<u64> = args.parsed("--test-stall-sampler-after")?;
    let worker_ttl: Option<u64> = args.parsed("--test-worker-ttl")?;
    let slow_after: Option<u64> = args.parsed("--test-slow-after")?;
    let state_dir: String = value(
        &mut args,
        "--state-dir",
        "PSMONITOR_STATE_DIR",
        String::new(),
        |_| Ok(()),
    )?;
    let save_every: Option<u64> = args.parsed("--test-save-every")?;
    let history_fill: Option<u64> = args.parsed("--test-history-fill")?;
    let wall_offset_file: Option<std::path::PathBuf> = args.parsed("--test-wall-offset-file")?;
    let mut warnings: Vec<String> = choices.ignored_warning().into_iter().collect();
    let collection = collection(
        &mut args,
        &choices,
        Duration::from_millis(interval),
        &mut warnings,
    )?;
    let (token, token_file) = token(&mut args)?;
    args.finish("")?;
    Ok(Command::Serve(Box::new(Config {
        address,
        port,
        interval: Duration::from_millis(interval),
        max_clients,
        threads,
        max_connections,
        request_timeout: Duration::from_millis(request_timeout),
        history: Duration::from_secs(history),
        log,
        max_pending: 1024,
        max_connections_per_peer,
        max_clients_per_peer,
        max_pending_per_peer,
        allowed_hosts,
        cors,
        web_config_file: web_config_file.map(Into::into),
        web: std::sync::Arc::new(web),
        fleet: fleet.0,
        token_file,
        token,
        open,
        stall_after: stall_after.map(Duration::from_millis),
        history_fill: history_fill.unwrap_or(0),
        state_dir: (!state_dir.is_empty()).then(|| state_dir.into()),
        save_every: Duration::from_millis(save_every.unwrap_or(60_000).max(10)),
        wall_offset_file,
        worker_ttl: worker_ttl.map_or(crate::registry::TTL, Duration::from_millis),
        slow_after: slow_after.map_or(Duration::from_secs(1), Duration::from_millis),
        collection,
        telemetry_path: exporter.telemetry_path,
        exporter_metrics: !exporter.disable_exporter_metrics,
        log_format: exporter.log_format,
        warnings,
        notes: choices.no_ops,
    })))
}

/// An IP address as `--address` takes it (`localhost`, `[v6]` too).
fn ip(text: &str, flag: &str) -> Result<IpAddr, String> {
    match text.trim() {
        "localhost" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        a => a.trim_matches(|c| c == '[' || c == ']').parse().map_err(|_| {
            format!("invalid value '{text}' for {flag}: expected an IP address such as 127.0.0.1, 0.0.0.0 or ::")
        }),
    }
}

/// node_exporter's global flags, so that its systemd unit's command line starts psmonitor
/// (see docs/operations.md).
#[derive(Default)]
struct ExporterGlobals {
    listen: Option<(IpAddr, u16)>,
    telemetry_path: Option<String>,
    disable_exporter_metrics: bool,
    log_level: Option<String>,
    log_format: crate::logging::Format,
}

fn exporter_globals(args: &mut Args) -> Result<ExporterGlobals, String> {
    let mut g = ExporterGlobals::default();
    let listen = args.strings("--web.listen-address")?;
    if let [listen, more, ..] = &listen[..] {
        // node_exporter listens on every one given; psmonitor on one.
        return Err(format!("--web.listen-address given twice ('{listen}', '{more}'): psmonitor listens on one address"));
    }
    if let Some(listen) = listen.first() {
        for flag in ["--address", "--port"] {
            if args.string(flag)?.is_some() {
                return Err(format!(
                    "{flag} and --web.listen-address are the same setting: give one"
                ));
            }
        }
        g.listen = Some(listen_address(listen)?);
    }
    if let Some(path) = args.string("--web.telemetry-path")? {
        g.telemetry_path = telemetry_path(&path)?;
    }
    g.disable_exporter_metrics = args.switch("--web.disable-exporter-metrics")?;
    // Accepted, without effect here (docs/operations.md says why).
    number(
        args,
        "--web.max-requests",
        "PSMONITOR_WEB_MAX_REQUESTS",
        40,
        (0, 1_000_000),
    )?;
    number(
        args,
        "--runtime.gomaxprocs",
        "PSMONITOR_RUNTIME_GOMAXPROCS",
        1,
        (0, 1_000_000),
    )?;
    if args.switch("--web.systemd-socket")? {
        return Err("--web.systemd-socket: socket activation is not supported; let psmonitor listen itself (--web.listen-address)".to_owned());
    }
    if let Some(level) = args.string("--log.level")? {
        if !["debug", "info", "warn", "error"].contains(&level.as_str()) {
            return Err(format!(
                "invalid value '{level}' for --log.level: debug, info, warn or error"
            ));
        }
        g.log_level = Some(level);
    }
    if let Some(format) = args.string("--log.format")? {
        g.log_format = match format.as_str() {
            "logfmt" => crate::logging::Format::Logfmt,
            "json" => crate::logging::Format::Json,
            _ => {
                return Err(format!(
                    "invalid value '{format}' for --log.format: logfmt or json"
                ))
            }
        };
    }
    Ok(g)
}

/// node_exporter's `--web.listen-address`: `host:port`, `:port` for every interface (IPv4
/// here: `[::]:port` for IPv6 too), `[v6]:port`; the host an IP address or `localhost`, the
/// port decimal digits only, 0 to 65535 (`:080` is 80, as Go reads it). Stricter than Go's
/// `net.Listen` where it would guess: no white space, no service name (`:http`), no empty
/// port (Go's `host:` is a random one; `:0` says so).
fn listen_address(text: &str) -> Result<(IpAddr, u16), String> {
    const FLAG: &str = "--web.listen-address";
    let bad = |why: &str| {
        format!("invalid value '{}' for {FLAG}: {why}; expected host:port such as :9100, 0.0.0.0:9100, 127.0.0.1:9100 or [::]:9100", text.escape_debug())
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(&format!(
            "the port '{}' is not a number 0 to 65535",
            port.escape_debug()
        )));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| bad(&format!("the port '{port}' is past 65535")))?;
    let address = match host {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => match h.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().map(IpAddr::V6).ok(),
            None => h.parse::<Ipv4Addr>().map(IpAddr::V4).ok(),
        }
        .ok_or_else(|| {
            bad(&format!(
                "'{}' is not an IP address (IPv6 in brackets) or localhost",
                h.escape_debug()
            ))
        })?,
    };
    Ok((address, port))
}

/// `--web.telemetry-path`: `None` for `/metrics` itself. The path must be one a request
/// names exactly as written, since routes compare the path as it arrives: characters that
/// end it (`?`, `#`, white space), that clients percent-encode (Prometheus encodes all but
/// letters, digits and `-._~/$&+,:;=@`), `%` itself, and `.`/`..` segments (which clients
/// remove) are refused, and so is a path psmonitor already serves.
fn telemetry_path(path: &str) -> Result<Option<String>, String> {
    let bad = |why: String| {
        format!(
            "invalid value '{}' for --web.telemetry-path: {why}",
            path.escape_debug()
        )
    };
    const OTHER: &str = "-._~/$&+,:;=@";
    if !path.starts_with('/') {
        return Err(bad("it must start with /".into()));
    }
    if let Some(c) = path
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !OTHER.contains(*c))
    {
        return Err(bad(format!(
            "'{}' cannot be in it, a request could not name it as written (use letters, digits and {OTHER})",
            c.escape_debug()
        )));
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(bad("clients remove its . and .. segments".into()));
    }
    if path.len() > 1024 {
        return Err(bad("longer than 1024 bytes".into()));
    }
    if path == "/metrics" {
        return Ok(None);
    }
    if Route::taken(path) {
        return Err(bad(
            "psmonitor serves that path already (/, /system, /api/4/..., ...)".into(),
        ));
    }
    Ok(Some(path.to_owned()))
}

/// What the command line said of the families: `--collector.NAME`, `--no-collector.NAME`,
/// `--collector.disable-defaults` (node_exporter's flags), taken out of the arguments.
#[derive(Debug, Default)]
struct FamilyChoices {
    on: Vec<&'static str>,
    off: Vec<&'static str>,
    disable_defaults: bool,
    /// node_exporter's filter flags (`--collector.netdev.device-exclude REGEX`).
    filters: crate::collect::flags::Values,
    /// Flags of collectors psmonitor lacks that would do something in node_exporter
    /// (`--collector.systemd`, `--collector.systemd.unit-include`), by collector: ignored,
    /// said in one warning.
    ignored: Vec<(&'static str, String)>,
    /// `--no-collector.NAME` of a collector psmonitor lacks (and `--no-` switches of its
    /// flags): what psmonitor does anyway, said at debug level.
    no_ops: Vec<String>,
}

impl FamilyChoices {
    /// The one warning line for the flags of collectors psmonitor lacks, if any.
    fn ignored_warning(&self) -> Option<String> {
        if self.ignored.is_empty() {
            return None;
        }
        let mut collectors: Vec<&str> = self.ignored.iter().map(|(c, _)| *c).collect();
        crate::sort::sort(&mut collectors);
        collectors.dedup();
        let groups: Vec<String> = collectors
            .iter()
            .map(|c| {
                let flags: Vec<&str> = self
                    .ignored
                    .iter()
                    .filter(|(d, _)| d == c)
                    .map(|(_, f)| f.as_str())
                    .collect();
                format!("{c} ({})", flags.join(" "))
            })
            .collect();
        // The values are the user's: a newline in one must not make a second log line.
        Some(one_line(&format!(
            "node_exporter collectors not provided by psmonitor, their flags ignored: {} \
             (see docs/metrics.md)",
            groups.join(", ")
        )))
    }
}

/// Each of these flags is read once, as kingpin reads them: `--collector.X` and
/// `--no-collector.X` are one flag, given twice if both are there. A switch's `=value` is
/// refused (kingpin: "unexpected false"); a filter's is its pattern.
fn family_flags(words: Vec<Word>) -> Result<(Vec<Word>, FamilyChoices), String> {
    let mut choices = FamilyChoices::default();
    let mut rest = Vec::with_capacity(words.len());
    // Each flag met (`--collector.X`) and how it was written.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let form = word.text.to_str().filter(|_| !word.glued).and_then(|s| {
            match s.strip_prefix("--no-collector.") {
                Some(name) => Some((s, true, name)),
                None => Some((s, false, s.strip_prefix("--collector.")?)),
            }
        });
        let Some((s, no, name)) = form else {
            rest.push(word.clone());
            continue;
        };
        let filter = crate::collect::flags::FLAGS.iter().find(|f| f.name == name);
        if let Some(f) = crate::collect::absent::find(name).filter(|_| filter.is_none()) {
            i = absent_flag(f, &words, i, (s, no), &mut seen, &mut choices)?;
            continue;
        }
        if filter.is_none() && name.contains('.') {
            // `--collector.textfile.directory` (repeatable), read with the other flags.
            rest.push(word.clone());
            continue;
        }
        once(&mut seen, name, s)?;
        if let Some(f) = filter.filter(|f| !f.switch()) {
            if no {
                return Err(format!(
                    "unknown flag {s}: --collector.{name} takes a value and has no --no- form"
                ));
            }
            let value = flag_value(&words, i, s)?;
            i += 1;
            choices.filters.take(f.name, value)?;
            continue;
        }
        if let Some(v) = args::glued_value(&words, i - 1) {
            return Err(format!(
                "{}; --collector.{name} turns it on, --no-collector.{name} off",
                args::takes_no_value(s, &v)
            ));
        }
        if let Some(f) = filter {
            choices
                .filters
                .take(f.name, if no { "false" } else { "true" })?;
            continue;
        }
        if name == "disable-defaults" {
            choices.disable_defaults = !no;
            continue;
        }
        if crate::collect::absent::lacks(name) {
            if no {
                choices.no_ops.push(format!(
                    "{s}: psmonitor has no {name} collector, so it is off anyway"
                ));
            } else {
                choices.ignored.push((lacking(name), s.to_owned()));
            }
            continue;
        }
        let Some(r) = crate::collect::families::find(name) else {
            return Err(unknown_collector(name, s));
        };
        if no {
            choices.off.push(r.name);
        } else {
            choices.on.push(r.name);
        }
    }
    Ok((rest, choices))
}

/// The value of the flag `flag` at `words[at - 1]`: the next word, unless there is none or it
/// is another flag (kingpin: "expected argument for flag"); `--flag=--x` is the value `--x`.
fn flag_value<'w>(words: &'w [Word], at: usize, flag: &str) -> Result<&'w str, String> {
    match words.get(at) {
        Some(v) if v.glued || !v.text.to_string_lossy().starts_with("--") => {
            Ok(v.text.to_str().unwrap_or_default())
        }
        Some(v) => Err(format!(
            "{flag} needs a value (see --help), not the flag {}",
            v.text.to_string_lossy()
        )),
        None => Err(format!("{flag} needs a value (see --help)")),
    }
}

/// `--collector.NAME` and `--no-collector.NAME` are one flag, read once, as kingpin reads it:
/// `seen` holds each met and how it was written (`s`).
fn once(seen: &mut Vec<(String, String)>, name: &str, s: &str) -> Result<(), String> {
    let key = ["--collector.", name].concat();
    if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
        return Err(if first == s {
            args::given_twice(s, "", "")
        } else {
            format!("{key} given twice (as {first} and {s}): give it once")
        });
    }
    seen.push((key, s.to_owned()));
    Ok(())
}

/// The `&'static` name of a collector psmonitor lacks.
fn lacking(name: &str) -> &'static str {
    let at = crate::collect::absent::COLLECTORS
        .iter()
        .position(|c| *c == name);
    at.map_or("", |at| crate::collect::absent::COLLECTORS[at])
}

/// A flag of a collector psmonitor lacks (`--collector.systemd.unit-include=x`), at
/// `words[at - 1]`, written `s` (`no`: its `--no-` form): read as node_exporter reads it, and
/// noted as ignored. Returns where the next flag starts.
fn absent_flag(
    f: &'static crate::collect::absent::Flag,
    words: &[Word],
    at: usize,
    (s, no): (&str, bool),
    seen: &mut Vec<(String, String)>,
    choices: &mut FamilyChoices,
) -> Result<usize, String> {
    use crate::collect::absent::Takes;
    if f.takes != Takes::Values {
        once(seen, f.name, s)?;
    }
    if f.takes == Takes::Switch {
        if let Some(v) = args::glued_value(words, at - 1) {
            return Err(args::takes_no_value(s, &v));
        }
        if no {
            choices
                .no_ops
                .push(format!("{s}: psmonitor has no {} collector", f.collector));
        } else {
            choices.ignored.push((f.collector, s.to_owned()));
        }
        return Ok(at);
    }
    if no {
        return Err(format!(
            "unknown flag {s}: --collector.{} takes a value and has no --no- form",
            f.name
        ));
    }
    let value = flag_value(words, at, s)?;
    choices.ignored.push((f.collector, format!("{s}={value}")));
    Ok(at + 1)
}

/// The one line for `--collector.NAME` (written `s`) when no node_exporter collector is named
/// `name`: the nearest name if a letter or two away (`cpuu`), else psmonitor's collectors.
fn unknown_collector(name: &str, s: &str) -> String {
    let known = crate::collect::families::ALL
        .iter()
        .map(|r| r.name)
        .chain(crate::collect::absent::COLLECTORS.iter().copied());
    let near = known
        .map(|k| (edits(name, k), k))
        .filter(|(d, k)| *d <= 2 && *d < k.len())
        .min_by_key(|(d, _)| *d);
    let off = if s.starts_with("--no-") {
        "--no-"
    } else {
        "--"
    };
    match near {
        Some((_, k)) => format!(
            "unknown collector '{name}' in {s}: did you mean {off}collector.{k}? (see --help)"
        ),
        None => format!(
            "unknown collector '{name}' in {s} (psmonitor's: {}; node_exporter's others are \
             taken and ignored, see docs/metrics.md)",
            crate::collect::families::ALL
                .iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Levenshtein distance of two short names, in characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// `--path.procfs`, `--path.sysfs`, `--path.rootfs` (env `PSMONITOR_PATH_PROCFS` ...), the
/// textfile directory, and the families that run.
fn collection(
    args: &mut Args,
    choices: &FamilyChoices,
    interval: Duration,
    warnings: &mut Vec<String>,
) -> Result<crate::collect::Collection, String> {
    let mut roots = crate::collect::family::Roots::default();
    for (flag, env, slot) in [
        ("--path.procfs", "PSMONITOR_PATH_PROCFS", &mut roots.procfs),
        ("--path.sysfs", "PSMONITOR_PATH_SYSFS", &mut roots.sysfs),
        ("--path.rootfs", "PSMONITOR_PATH_ROOTFS", &mut roots.rootfs),
    ] {
        if let Some(dir) = directory(args, flag, env)? {
            *slot = dir;
        }
    }
    let (textfile, textfile_more) = textfile_directories(args, warnings)?;
    let udev_data = late_directory(
        args,
        "--path.udev.data",
        "PSMONITOR_PATH_UDEV_DATA",
        warnings,
    )?;
    let families = crate::collect::families::ALL
        .iter()
        .filter(|r| {
            let default = r.default_enabled && !choices.disable_defaults;
            (default || choices.on.contains(&r.name)) && !choices.off.contains(&r.name)
        })
        .map(|r| r.name)
        .collect();
    Ok(crate::collect::Collection {
        roots,
        settings: crate::collect::family::Settings {
            textfile_directory: textfile,
            textfile_directories: textfile_more,
            udev_data,
            flags: {
                choices.filters.check()?;
                choices.filters.clone()
            },
            ..Default::default()
        },
        families,
        interval,
        process_budget: crate::collect::process_budget(interval),
    })
}

/// `--collector.textfile.directory`, which node_exporter 1.12 takes more than once and as a
/// glob of directories (`/var/lib/node/*.d`): the first plain directory, and the rest. A
/// plain value must be a directory (a glob may match nothing yet); without the flag, the
/// environment variable's one directory.
fn textfile_directories(
    args: &mut Args,
    warnings: &mut Vec<String>,
) -> Result<(Option<std::path::PathBuf>, Vec<String>), String> {
    const FLAG: &str = "--collector.textfile.directory";
    let mut given = args.strings(FLAG)?;
    if given.is_empty() {
        return Ok((
            late_directory(args, FLAG, "PSMONITOR_TEXTFILE_DIRECTORY", warnings)?,
            Vec::new(),
        ));
    }
    for v in &given {
        let plain = !crate::collect::textfile::is_glob(v);
        if v.trim().is_empty() {
            return Err(format!("invalid value '{v}' for {FLAG}: not a directory"));
        }
        if plain {
            late_check(v, FLAG, warnings)?;
        }
    }
    if given.len() == 1 && !crate::collect::textfile::is_glob(&given[0]) {
        return Ok((Some(given.remove(0).into()), Vec::new()));
    }
    Ok((None, given))
}

/// A directory that may appear later, as node_exporter takes it (`--path.udev.data`, the
/// textfile directory): an empty value, or a path that exists and is no directory, is an
/// error; a missing one a warning at start (the textfile collector then reports
/// `node_textfile_scrape_error 1`, udev properties are empty, until it appears).
fn late_directory(
    args: &mut Args,
    flag: &'static str,
    env: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<std::path::PathBuf>, String> {
    const UNSET: &str = "\u{0}";
    let dir: String = value(args, flag, env, UNSET.to_owned(), |_| Ok(()))?;
    if dir == UNSET {
        return Ok(None);
    }
    late_check(&dir, flag, warnings)?;
    Ok(Some(dir.into()))
}

fn late_check(d: &str, flag: &str, warnings: &mut Vec<String>) -> Result<(), String> {
    let path = std::path::Path::new(d);
    if d.trim().is_empty() || (path.exists() && !path.is_dir()) {
        return Err(format!("invalid value '{d}' for {flag}: not a directory"));
    }
    if !path.exists() {
        warnings.push(format!(
            "{flag} '{d}' does not exist (yet): read when it appears"
        ));
    }
    Ok(())
}

/// A directory flag (or its environment variable), if given; an empty value or one that is
/// not a directory is an error, never silently the default.
fn directory(
    args: &mut Args,
    flag: &'static str,
    env: &str,
) -> Result<Option<std::path::PathBuf>, String> {
    const UNSET: &str = "\u{0}";
    let dir: String = value(args, flag, env, UNSET.to_owned(), |d: &String| {
        if std::path::Path::new(d).is_dir() {
            Ok(())
        } else {
            Err("not a directory".to_owned())
        }
    })?;
    Ok((dir != UNSET).then(|| dir.into()))
}

/// `--allowed-hosts`: comma-separated names, lower-cased, without a trailing dot; `*` turns
/// the check off (`None`).
fn allowed_hosts(text: &str) -> Result<Option<Vec<String>>, String> {
    let mut names = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "*" {
            return Ok(None);
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(format!(
                "invalid value '{text}' for --allowed-hosts: '{name}' is not a host name (a comma-separated list of names, or *)"
            ));
        }
        names.push(name);
    }
    Ok(Some(names))
}

/// `--web.cors-origin`: `*`, or comma-separated origins as browsers write them in `Origin`
/// (`http://pi.lan:4500`: scheme and host lower-case, no default port, no path); an entry
/// written otherwise is brought to that form, and one that is no origin is refused.
fn cors_origins(text: &str) -> Result<crate::http::Cors, String> {
    let mut origins = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if entry == "*" {
            return Ok(crate::http::Cors::Any);
        }
        let bad = |why: &str| {
            format!("invalid value '{text}' for --web.cors-origin: '{entry}' {why} (a comma-separated list of origins such as https://grafana.lan or http://pi.lan:4500, or *)")
        };
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| bad("has no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => ":80",
            "https" => ":443",
            _ => return Err(bad("is not http:// or https://")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest).to_ascii_lowercase();
        host_port(&authority).map_err(|why| bad(&why))?;
        let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
        origins.push(format!("{scheme}://{authority}"));
    }
    if origins.is_empty() {
        return Err(format!(
            "invalid value '{text}' for --web.cors-origin: no origin given (use * for any page)"
        ));
    }
    Ok(crate::http::Cors::Only(origins))
}

/// Most entries `--fleet` takes: a page of hosts, not an inventory.
pub const MAX_FLEET: usize = 64;
/// Longest `--fleet` entry, in bytes.
pub const MAX_FLEET_ENTRY: usize = 256;

/// `--fleet`: the servers the dashboard's fleet view watches, each kept as the user wrote it
/// (the page adds nothing, `host` means port 4500). Checked here, since the page makes URLs
/// of them: a typo should stop the server with one line, not show a dead tile.
#[derive(Debug, Default, PartialEq)]
struct Fleet(Vec<String>);

impl FromStr for Fleet {
    type Err = String;

    fn from_str(text: &str) -> Result<Fleet, String> {
        let hosts = text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| fleet_entry(e).map(|()| e.to_owned()))
            .collect::<Result<Vec<String>, String>>()?;
        if hosts.len() > MAX_FLEET {
            return Err(format!("{} entries, at most {MAX_FLEET}", hosts.len()));
        }
        Ok(Fleet(hosts))
    }
}

/// One `--fleet` entry: `host`, `host:port`, `[v6]:port`, or an `http://`/`https://` URL with
/// an optional path prefix (letters, digits, `-._~/%`).
fn fleet_entry(e: &str) -> Result<(), String> {
    const FORMS: &str = "use host, host:port, [v6]:port or an http:// or https:// URL";
    if e.len() > MAX_FLEET_ENTRY {
        return Err(format!(
            "an entry of {} bytes, at most {MAX_FLEET_ENTRY}",
            e.len()
        ));
    }
    let why = if e.chars().any(char::is_whitespace) {
        Some("has white space inside".to_owned())
    } else if let Some((scheme, rest)) = e.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            Some(format!("has the scheme '{scheme}'"))
        } else if !path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b))
        {
            Some("has a path with characters other than letters, digits and -._~/%".to_owned())
        } else {
            host_port(authority).err()
        }
    } else {
        host_port(e).err()
    };
    match why {
        Some(why) => Err(format!("entry '{e}' {why}: {FORMS}")),
        None => Ok(()),
    }
}

/// `host`, `host:port` or `[v6]` / `[v6]:port`; why not, if not.
fn host_port(a: &str) -> Result<(), String> {
    let (host, port) = match a.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest
                .split_once(']')
                .ok_or_else(|| "has no closing ']'".to_owned())?;
            if v6.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("has '{v6}' in brackets, not an IPv6 address"));
            }
            match after {
                "" => (None, None),
                p => (None, Some(p.strip_prefix(':').ok_or("has text after ']'")?)),
            }
        }
        None if a.matches(':').count() > 1 => {
            return Err("looks like an IPv6 address without brackets".to_owned())
        }
        None => match a.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(a), None),
        },
    };
    if let Some(h) = host {
        let name = |b: u8| b.is_ascii_alphanumeric() || b"-._".contains(&b);
        if h.is_empty() || !h.bytes().all(name) {
            return Err("has no host name (letters, digits, -._) or IP address".to_owned());
        }
    }
    match port {
        Some(p) if !p.parse::<u16>().is_ok_and(|n| n > 0) => {
            Err(format!("has '{p}' as its port (1 to 65535)"))
        }
        _ => Ok(()),
    }
}

/// Reads the token file (at start and on SIGHUP): the token, or why there is none. Read
/// bounded ([`crate::files`]): a FIFO, a device or a huge file is refused, never waited on.
pub fn read_token(path: &std::path::Path, source: &str) -> Result<Token, String> {
    let text = crate::files::read_text(path, crate::files::TOKEN_CAP, source)?;
    Token::parse(&text).map_err(|why| format!("{source} '{}' {why}", path.display()))
}

/// The token from `--token-file`, `PSMONITOR_TOKEN_FILE` or `PSMONITOR_TOKEN`, in that order,
/// and the file it came from.
fn token(args: &mut Args) -> Result<(Option<Token>, Option<std::path::PathBuf>), String> {
    let file = args.string("--token-file")?;
    let (file, source) = match file {
        Some(f) => (Some(f), "--token-file"),
        None => (env_var("PSMONITOR_TOKEN_FILE")?, "PSMONITOR_TOKEN_FILE"),
    };
    if let Some(path) = file {
        let token = read_token(path.as_ref(), source)?;
        return Ok((Some(token), Some(path.into())));
    }
    match std::env::var("PSMONITOR_TOKEN") {
        Ok(t) => Token::parse(&t)
            .map(|t| (Some(t), None))
            .map_err(|why| format!("PSMONITOR_TOKEN {why}")),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err("PSMONITOR_TOKEN holds characters other than printable ASCII".to_owned())
        }
        Err(_) => Ok((None, None)),
    }
}

fn snapshot(sub: String, mut args: Args) -> Result<Command, String> {
    if sub != "snapshot" {
        return Err(format!("unexpected argument '{sub}' (see --help)"));
    }
    let pretty = args
        .switch("--pretty")
        .map_err(|e| format!("snapshot: {e}"))?;
    let network = match args.free() {
        Ok(None) => false,
        Ok(Some(w)) if w == "system" => false,
        Ok(Some(w)) if w == "network" => true,
        Ok(Some(w)) => {
            return Err(format!(
                "snapshot: unknown object '{w}': expected system or network"
            ))
        }
        Err(e) => return Err(format!("snapshot: {e}")),
    };
    args.finish("snapshot: ")?;
    Ok(Command::Snapshot { network, pretty })
}

#[cfg(test)]
mod tests {
    use super::{allowed_hosts, cors_origins, Fleet, MAX_FLEET, MAX_FLEET_ENTRY};
    use crate::http::Cors;

    #[test]
    fn cors_origin_lists() {
        assert_eq!(cors_origins("*").unwrap(), Cors::Any);
        assert_eq!(cors_origins("http://a, *").unwrap(), Cors::Any);
        assert_eq!(
            cors_origins("HTTPS://Grafana.LAN/, http://pi.lan:4500,http://x:80,https://[::1]:443")
                .unwrap(),
            Cors::Only(vec![
                "https://grafana.lan".into(),
                "http://pi.lan:4500".into(),
                "http://x".into(),
                "https://[::1]".into(),
            ])
        );
        for bad in [
            "",
            " , ",
            "pi.lan",
            "ftp://x",
            "http://x/path",
            "http://x:99999",
            "http://",
        ] {
            let err = cors_origins(bad).expect_err(bad);
            assert!(err.contains("--web.cors-origin"), "{bad}: {err}");
        }
    }

    /// Every flag this parser reads (a `"--…"` literal in this file, the hidden `--test-*` ones
    /// aside) and every collector is in `--help`: a new flag cannot be left out of it.
    #[test]
    fn node_exporter_filter_flags() {
        let args = |a: &[&str]| super::parse(a.iter().map(|s| (*s).into()).collect());
        let Ok(super::Command::Serve(c)) = args(&[
            "--collector.netdev.device-exclude=^(lo|veth.*)$",
            "--collector.filesystem.mount-points-exclude",
            "^/(boot|snap)($|/)",
        ]) else {
            panic!("refused");
        };
        let f = c.collection.settings.flags.filter("netdev.device").unwrap();
        assert!(f.as_ref().is_some_and(|f| f.ignored("veth12")));
        assert!(f.is_some_and(|f| !f.ignored("eth0")));
        let both = args(&[
            "--collector.hwmon.chip-include=a",
            "--collector.hwmon.chip-exclude=b",
        ]);
        assert!(both.err().unwrap().contains("mutually exclusive"));
        let bad = args(&["--collector.diskstats.device-exclude=("]);
        assert!(bad
            .err()
            .unwrap()
            .contains("--collector.diskstats.device-exclude"));
        let Ok(super::Command::Serve(c)) = args(&["--collector.netclass.ignore-invalid-speed"])
        else {
            panic!("refused a switch");
        };
        assert!(c
            .collection
            .settings
            .flags
            .switch("netclass.ignore-invalid-speed"));
        let Ok(super::Command::Serve(c)) = args(&["--no-collector.netclass.ignore-invalid-speed"])
        else {
            panic!("refused --no- of a switch");
        };
        assert!(!c
            .collection
            .settings
            .flags
            .switch("netclass.ignore-invalid-speed"));
        let missing = args(&["--collector.arp.device-include"]);
        assert!(missing.err().unwrap().contains("needs a value"));
        // node_exporter 1.12's switches, both forms, and the hwmon sensor filter.
        let line = [
            "--no-collector.arp.netlink",
            "--collector.netdev.netlink",
            "--no-collector.netclass.netlink",
            "--collector.netclass_rtnl.with-stats",
            "--collector.stat.softirq",
            "--no-collector.cpu.guest",
            "--collector.cpu.info",
            "--collector.hwmon.sensor-exclude=^platform_coretemp_0;temp3$",
        ];
        let Ok(super::Command::Serve(c)) = args(&line) else {
            panic!("node_exporter's switches refused");
        };
        let flags = &c.collection.settings.flags;
        assert!(flags.switch("stat.softirq") && flags.switch("cpu.info"));
        assert!(!flags.switch_or("cpu.guest", true) && !flags.switch_or("arp.netlink", true));
        assert!(flags.filter("hwmon.sensor").unwrap().is_some());
        assert!(args(&[
            "--collector.hwmon.sensor-include=a",
            "--collector.hwmon.sensor-exclude=b"
        ])
        .is_err());
        // The textfile directory more than once, and as a glob (node_exporter 1.12).
        let Ok(super::Command::Serve(c)) = args(&[
            "--collector.textfile.directory=/tmp",
            "--collector.textfile.directory",
            "/etc/*.d",
        ]) else {
            panic!("two textfile directories refused");
        };
        let s = &c.collection.settings;
        assert_eq!(s.textfile_directory, None);
        assert_eq!(s.textfile_directories, ["/tmp", "/etc/*.d"]);
        let bad = args(&[
            "--collector.textfile.directory=/tmp",
            "--collector.textfile.directory=/etc/passwd",
        ]);
        assert!(bad.err().unwrap().contains("not a directory"));
        // A list, not a regexp: node_exporter's label names, an unknown one refused.
        assert!(args(&["--collector.ipvs.backend-labels=proto,local_port"]).is_ok());
        let bad = args(&["--collector.ipvs.backend-labels", "proto,port"]);
        assert!(bad.err().unwrap().contains("unknown IPVS backend labels"));
    }

    /// node_exporter's global flags, as in its systemd units.
    #[test]
    fn node_exporter_global_flags() {
        let args = |a: &[&str]| super::parse(a.iter().map(|s| (*s).into()).collect());
        let serve = |a: &[&str]| match args(a) {
            Ok(super::Command::Serve(c)) => c,
            Err(e) => panic!("{a:?}: {e}"),
            Ok(_) => panic!("{a:?}: not serve"),
        };
        let c = serve(&[
            "--web.listen-address=:9100",
            "--web.telemetry-path=/node",
            "--web.disable-exporter-metrics",
            "--web.max-requests=40",
            "--runtime.gomaxprocs=1",
            "--log.level=warn",
            "--log.format=json",
            "--no-collector.disable-defaults",
            "--collector.netdev.device-blacklist=^lo$",
        ]);
        assert_eq!(c.display_addr(), "0.0.0.0:9100");
        assert_eq!(c.telemetry_path.as_deref(), Some("/node"));
        assert!(!c.exporter_metrics);
        assert_eq!(c.log.level, log::LevelFilter::Warn);
        assert_eq!(c.log_format, crate::logging::Format::Json);
        assert!(
            c.collection.families.contains(&"netdev"),
            "defaults back on"
        );
        let c = serve(&[
            "--web.listen-address",
            "[::1]:9200",
            "--log.format",
            "logfmt",
        ]);
        assert_eq!(c.display_addr(), "[::1]:9200");
        assert!(c.exporter_metrics && c.telemetry_path.is_none());
        assert_eq!(
            serve(&["--web.listen-address=localhost:0"]).display_addr(),
            "127.0.0.1:0"
        );
        assert!(serve(&["--web.telemetry-path=/metrics"])
            .telemetry_path
            .is_none());
        for (bad, says) in [
            (
                &["--web.listen-address=:9100", "--port=1"][..],
                "same setting",
            ),
            (
                &["--address=::", "--web.listen-address=:9100"],
                "same setting",
            ),
            (
                &["--web.listen-address=:1", "--web.listen-address=:2"],
                "given twice",
            ),
            (&["--web.listen-address=9100"], "host:port"),
            (&["--web.listen-address=::1:9100"], "host:port"),
            (&["--web.listen-address=node:9100"], "IP address"),
            (&["--web.telemetry-path=/system"], "--web.telemetry-path"),
            (&["--web.telemetry-path=metrics"], "--web.telemetry-path"),
            (&["--web.systemd-socket"], "socket activation"),
            (&["--log.level=trace"], "--log.level"),
            (&["--log.level=info", "--log-level=info"], "same setting"),
            (&["--log.format=xml"], "logfmt or json"),
            (&["--web.max-requests=-1"], "--web.max-requests"),
        ] {
            let err = args(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(err.contains(says) && !err.contains('\n'), "{bad:?}: {err}");
        }
    }

    /// Red-team command lines: each is refused in one line that says what is wrong.
    #[test]
    fn command_line_mistakes_are_one_line() {
        let args = |a: &[&str]| super::parse(a.iter().map(|s| (*s).into()).collect());
        let path = "--web.telemetry-path";
        let cases: &[(&[&str], &str)] = &[
            // A telemetry path no request can name as written, or one already served.
            (&[path, "/a?b"], "'?' cannot be in it"),
            (&[path, "/a b"], "' ' cannot be in it"),
            (&[path, "/a#b"], "'#' cannot be in it"),
            (&[path, "/a\nb"], "'\\n' cannot be in it"),
            (&[path, "/a\tb"], "cannot be in it"),
            (&[path, "/a\u{7f}"], "cannot be in it"),
            (&[path, "/m\u{e9}trics"], "cannot be in it"),
            (&[path, "/a%20b"], "'%' cannot be in it"),
            (&[path, "/a!b"], "'!' cannot be in it"),
            (&[path, "metrics"], "must start with /"),
            (&[path, ""], "must start with /"),
            (&[path, "/a/../metrics"], ". and .. segments"),
            (&[path, "/./x"], ". and .. segments"),
            (&[path, "/system"], "serves that path already"),
            (&[path, "/"], "serves that path already"),
            (&[path, "/ws"], "serves that path already"),
            (&[path, "/index.html"], "serves that path already"),
            (&[path, "/api/4/cpu"], "serves that path already"),
            (&[path, "/a", path, "/b"], "--web.telemetry-path given twice ('/a', '/b')"),
            // Single-valued flags given twice, whichever way they are read.
            (&["--log.level", "debug", "--log.level", "info"], "--log.level given twice ('debug', 'info')"),
            (&["--port", "1", "--port", "2"], "--port given twice ('1', '2')"),
            (&["--interval=500", "--interval", "600"], "--interval given twice"),
            (&["--address=::", "--address=::1"], "--address given twice"),
            (&["--history", "1", "--history", "1"], "--history given twice"),
            (&["--log-level=info", "--log-level=info"], "--log-level given twice"),
            (&["--log.format=json", "--log.format=json"], "--log.format given twice"),
            (&["--path.procfs=/proc", "--path.procfs=/proc"], "--path.procfs given twice"),
            (&["--web.max-requests=1", "--web.max-requests=2"], "--web.max-requests given twice"),
            (&["--token-file=/a", "--token-file=/b"], "--token-file given twice"),
            (&["--open", "--open"], "--open given twice"),
            (&["--web.disable-exporter-metrics", "--web.disable-exporter-metrics"], "--web.disable-exporter-metrics given twice"),
            (&["--test-worker-ttl=1", "--test-worker-ttl=2"], "--test-worker-ttl given twice"),
            (&["--collector.zfs", "--collector.zfs"], "--collector.zfs given twice"),
            (&["--collector.zfs", "--no-collector.zfs"], "--collector.zfs given twice (as --collector.zfs and --no-collector.zfs)"),
            (&["--collector.disable-defaults", "--no-collector.disable-defaults"], "--collector.disable-defaults given twice"),
            (&["--no-collector.arp.netlink", "--no-collector.arp.netlink"], "--no-collector.arp.netlink given twice"),
            (&["--collector.netdev.device-exclude=a", "--collector.netdev.device-exclude=b"], "--collector.netdev.device-exclude given twice"),
            // A switch with a value: kingpin refuses it too ("unexpected false").
            (&["--no-collector.arp.netlink=false"], "--no-collector.arp.netlink takes no value (given as --no-collector.arp.netlink=false)"),
            (&["--collector.arp.netlink=true"], "takes no value"),
            (&["--collector.zfs=false"], "--collector.zfs takes no value"),
            (&["--no-collector.zfs=true"], "--no-collector.zfs takes no value"),
            (&["--collector.disable-defaults=false"], "takes no value"),
            (&["--open=false"], "--open takes no value"),
            (&["--web.disable-exporter-metrics=true"], "takes no value"),
            (&["--no-web.disable-exporter-metrics=1"], "--no-web.disable-exporter-metrics takes no value"),
            (&["--web.disable-exporter-metrics", "--no-web.disable-exporter-metrics"], "--web.disable-exporter-metrics given twice (as --web.disable-exporter-metrics and --no-web.disable-exporter-metrics)"),
            (&["--no-collector.netdev.device-exclude"], "has no --no- form"),
            (&["--collector.netdev.device-exclude", "--collector.zfs"], "--collector.netdev.device-exclude needs a value"),
            (&["--log.level", "--port", "1"], "--log.level needs a value (see --help), not the flag --port"),
            // A value flag does not swallow the next flag, whoever's flag it is.
            (&["--collector.netdev.device-exclude", "--no-collector.wifi"], "--collector.netdev.device-exclude needs a value (see --help), not the flag --no-collector.wifi"),
            (&["--collector.systemd.unit-include", "--port", "0"], "--collector.systemd.unit-include needs a value (see --help), not the flag --port"),
            (&["--collector.ntp.server"], "--collector.ntp.server needs a value"),
            // Collectors psmonitor lacks: their flags read as node_exporter reads them.
            (&["--no-collector.systemd.unit-include"], "has no --no- form"),
            (&["--collector.systemd.private=true"], "--collector.systemd.private takes no value"),
            (&["--collector.systemd", "--no-collector.systemd"], "--collector.systemd given twice (as --collector.systemd and --no-collector.systemd)"),
            (&["--collector.systemd.unit-include=a", "--collector.systemd.unit-include=b"], "--collector.systemd.unit-include given twice"),
            (&["--collector.wifi=true"], "--collector.wifi takes no value"),
            // No node_exporter collector at all: a typo, with the name meant if it is near.
            (&["--collector.cpuu"], "unknown collector 'cpuu' in --collector.cpuu: did you mean --collector.cpu?"),
            (&["--no-collector.systemdd"], "did you mean --no-collector.systemd?"),
            (&["--collector.blah"], "unknown collector 'blah' in --collector.blah (psmonitor's: arp,"),
            // Ports: decimal digits, 0 to 65535; hosts: IP addresses or localhost.
            (&["--web.listen-address", ":+80"], "the port '+80' is not a number"),
            (&["--web.listen-address", " :0"], "' ' is not an IP address"),
            (&["--web.listen-address", ":0 "], "is not a number"),
            (&["--web.listen-address", ":-1"], "is not a number"),
            (&["--web.listen-address", "127.0.0.1:"], "the port '' is not a number"),
            (&["--web.listen-address", ":"], "is not a number"),
            (&["--web.listen-address", ":http"], "is not a number"),
            (&["--web.listen-address", ":65536"], "past 65535"),
            (&["--web.listen-address", ":99999999999999999999999"], "past 65535"),
            (&["--web.listen-address", "9100"], "no port"),
            (&["--web.listen-address", "::1:9100"], "not an IP address"),
            (&["--web.listen-address", "[::1:9100"], "not an IP address"),
            (&["--web.listen-address", "[127.0.0.1]:9100"], "not an IP address"),
            (&["--web.listen-address", "1.2.3:80"], "not an IP address"),
            (&["--web.listen-address", "[fe80::1%eth0]:80"], "not an IP address"),
            (&["--web.listen-address", "node:9100"], "not an IP address"),
        ];
        for (line, says) in cases {
            let line: Vec<String> = line.iter().map(|a| unescape(a)).collect();
            let line: Vec<&str> = line.iter().map(String::as_str).collect();
            let err = args(&line)
                .err()
                .unwrap_or_else(|| panic!("{line:?} accepted"));
            assert!(err.contains(says), "{line:?}: {err}");
            assert!(!err.chars().any(char::is_control), "{line:?}: {err:?}");
        }
        let serve = |a: &[&str]| match args(a) {
            Ok(super::Command::Serve(c)) => c,
            Err(e) => panic!("{a:?}: {e}"),
            Ok(_) => panic!("{a:?}: not serve"),
        };
        for (listen, addr) in [
            (":0", "0.0.0.0:0"),
            (":080", "0.0.0.0:80"),
            (":65535", "0.0.0.0:65535"),
            ("[::]:9100", "[::]:9100"),
            ("localhost:0", "127.0.0.1:0"),
        ] {
            assert_eq!(
                serve(&["--web.listen-address", listen]).display_addr(),
                addr
            );
        }
        assert!(serve(&["--no-web.disable-exporter-metrics"]).exporter_metrics);
        for ok in [
            "/node/metrics",
            "/a-b_c~d.e",
            "/x:y@z;p=1,2&$+",
            "/metrics/",
        ] {
            let c = serve(&[path, ok]);
            assert_eq!(c.telemetry_path.as_deref(), Some(ok));
        }
        // The repeatable flag stays repeatable; a filter's `=value` is its pattern.
        let c = serve(&[
            "--collector.textfile.directory=/tmp",
            "--collector.textfile.directory=/tmp",
            "--collector.netdev.device-exclude=^lo$",
            "--collector.zfs",
            "--no-collector.arp.netlink",
        ]);
        assert_eq!(c.collection.settings.textfile_directories.len(), 2);
        assert!(c.collection.families.contains(&"zfs"));
        assert!(!c.collection.settings.flags.switch_or("arp.netlink", true));
    }

    /// No flag that takes a value takes the next flag as it (`--log.level --stray`: kingpin's
    /// "expected argument for flag"), whoever's flag it is; glued (`--x=--stray`) it is a value.
    #[test]
    fn value_flags_do_not_swallow_the_next_flag() {
        let mut flags: Vec<String> = [
            "--address",
            "--port",
            "--interval",
            "--threads",
            "--max-clients",
            "--max-connections",
            "--max-connections-per-peer",
            "--max-clients-per-peer",
            "--max-pending-per-peer",
            "--request-timeout",
            "--history",
            "--state-dir",
            "--fleet",
            "--token-file",
            "--allowed-hosts",
            "--web.config.file",
            "--web.cors-origin",
            "--log-level",
            "--path.procfs",
            "--path.sysfs",
            "--path.rootfs",
            "--path.udev.data",
            "--collector.textfile.directory",
            "--web.listen-address",
            "--web.telemetry-path",
            "--web.max-requests",
            "--runtime.gomaxprocs",
            "--log.level",
            "--log.format",
        ]
        .map(String::from)
        .to_vec();
        let filters = crate::collect::flags::FLAGS.iter().filter(|f| !f.switch());
        flags.extend(filters.map(|f| format!("--collector.{}", f.name)));
        let absent = crate::collect::absent::FLAGS.iter();
        let absent = absent.filter(|f| f.takes != crate::collect::absent::Takes::Switch);
        flags.extend(absent.map(|f| format!("--collector.{}", f.name)));
        for flag in &flags {
            let Err(err) = super::parse(vec![flag.into(), "--stray".into()]) else {
                panic!("{flag} --stray accepted");
            };
            assert!(
                err.starts_with(&format!("{flag} needs a value"))
                    && err.ends_with("not the flag --stray"),
                "{flag}: {err}"
            );
        }
        let glued = super::parse(vec!["--collector.systemd.unit-include=--stray".into()]);
        assert!(glued.is_ok());
    }

    /// A node_exporter unit's flags for collectors psmonitor lacks start it: `--no-collector.X`
    /// is a debug note, `--collector.X` and the collector's flags one warning; a value flag
    /// takes its value (the next word), a switch none, a repeatable one repeats.
    #[test]
    fn collectors_psmonitor_lacks_are_ignored() {
        let line = [
            "--web.listen-address=:0",
            "--no-collector.wifi",
            "--collector.systemd",
            "--collector.systemd.unit-include=x",
            "--collector.systemd.unit-exclude",
            "y",
            "--collector.systemd.enable-task-metrics",
            "--collector.perf.tracepoint",
            "a:b",
            "--collector.perf.tracepoint=c:d",
            "--no-collector.interrupts.include-zeros",
            "--collector.qdisk.device-include=eth0",
            "--collector.zfs",
        ];
        let Ok(super::Command::Serve(c)) = super::parse(line.iter().map(Into::into).collect())
        else {
            panic!("{line:?} refused");
        };
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        let w = &c.warnings[0];
        for said in [
            "not provided by psmonitor",
            "perf (--collector.perf.tracepoint=a:b --collector.perf.tracepoint=c:d)",
            "qdisc (--collector.qdisk.device-include=eth0)",
            "systemd (--collector.systemd --collector.systemd.unit-include=x --collector.systemd.unit-exclude=y --collector.systemd.enable-task-metrics)",
        ] {
            assert!(w.contains(said), "{said}: {w}");
        }
        assert!(!w.contains("wifi") && !w.contains("interrupts"), "{w}");
        // A value's control characters are escaped: the warning stays one log line.
        let line = [
            "--port",
            "0",
            "--collector.systemd.unit-include",
            "x\nFAKE ERROR",
        ];
        let Ok(super::Command::Serve(nl)) = super::parse(line.iter().map(Into::into).collect())
        else {
            panic!("{line:?} refused");
        };
        assert!(
            nl.warnings[0].contains("unit-include=x\\nFAKE ERROR")
                && !nl.warnings[0].contains('\n'),
            "{:?}",
            nl.warnings
        );
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
        assert!(
            c.notes[0].starts_with("--no-collector.wifi: "),
            "{:?}",
            c.notes
        );
        assert!(c.collection.families.contains(&"zfs"));
        assert!(!c.collection.families.contains(&"systemd"));
        // Nothing said when nothing is ignored.
        let Ok(super::Command::Serve(c)) = super::parse(vec!["--port=0".into()]) else {
            panic!()
        };
        assert!(c.warnings.is_empty() && c.notes.is_empty());
        // Every flag of those collectors is taken in its node_exporter form.
        for f in crate::collect::absent::FLAGS {
            let flag = format!("--collector.{}", f.name);
            let words: Vec<std::ffi::OsString> = match f.takes {
                crate::collect::absent::Takes::Switch => vec![flag.clone().into()],
                _ => vec![flag.clone().into(), "v".into()],
            };
            assert!(super::parse(words).is_ok(), "{flag}");
        }
    }

    /// `\n`, `\t` and `\u{..}` in a test's words, so the table above stays printable.
    fn unescape(a: &str) -> String {
        let mut out = String::new();
        let mut rest = a;
        while let Some(at) = rest.find('\\') {
            out.push_str(&rest[..at]);
            let esc = &rest[at..];
            if let Some(r) = esc.strip_prefix("\\n") {
                out.push('\n');
                rest = r;
            } else if let Some(r) = esc.strip_prefix("\\t") {
                out.push('\t');
                rest = r;
            } else if let Some(r) = esc.strip_prefix("\\u{") {
                let (hex, r) = r.split_once('}').unwrap();
                out.push(char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap());
                rest = r;
            } else {
                out.push('\\');
                rest = &esc[1..];
            }
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn help_lists_every_flag_and_collector() {
        let help = super::help();
        let source = [include_str!("config.rs"), include_str!("collect/flags.rs")].map(|s| {
            let code = &s[..s.find("#[cfg(test)]").unwrap()];
            code.to_owned()
        });
        let flags_rs: Vec<String> = crate::collect::flags::FLAGS
            .iter()
            .map(|f| format!("\"--collector.{}\"", f.name))
            .collect();
        let code = format!("{}{}", source.join(""), flags_rs.join(" "));
        let mut flags: Vec<&str> = code
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|l| l.starts_with("--") && l.len() > 2 && !l.contains(' '))
            .filter(|l| !l.starts_with("--test-"))
            .collect();
        crate::sort::sort(&mut flags);
        flags.dedup();
        assert!(flags.len() > 20, "{flags:?}");
        for flag in flags {
            let flag = flag.trim_end_matches('.');
            assert!(help.contains(flag), "--help does not list {flag}");
        }
        for r in crate::collect::families::ALL {
            let state = if r.default_enabled { "on" } else { "off" };
            assert!(
                help.lines()
                    .any(|l| l.split_whitespace().eq([r.name, state])),
                "--help does not list the collector {} ({state})",
                r.name
            );
        }
    }

    #[test]
    fn empty_or_missing_directories_are_refused() {
        for bad in [
            "--path.procfs=",
            "--path.rootfs=",
            "--path.sysfs=/nonexistent",
            "--collector.textfile.directory=/etc/passwd",
        ] {
            let err = super::parse(vec![bad.into()]).err();
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains("not a directory")),
                "{bad}: {err:?}"
            );
        }
        assert!(super::parse(vec!["--path.procfs=/proc".into()]).is_ok());
    }

    /// node_exporter starts without its textfile directory or udev database (they may appear
    /// later): a warning here, not a refusal; a missing /proc or /sys is still a mistake.
    #[test]
    fn missing_textfile_and_udev_directories_are_a_warning() {
        let Ok(super::Command::Serve(c)) = super::parse(vec![
            "--collector.textfile.directory=/nonexistent/textfile".into(),
            "--path.udev.data=/nonexistent/udev".into(),
        ]) else {
            panic!("refused");
        };
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("--collector.textfile.directory '/nonexistent/textfile'"));
        assert!(c.warnings[1].contains("--path.udev.data '/nonexistent/udev' does not exist"));
        let s = &c.collection.settings;
        assert_eq!(s.udev_data.as_deref(), Some("/nonexistent/udev".as_ref()));
        assert_eq!(
            s.textfile_directory.as_deref(),
            Some("/nonexistent/textfile".as_ref())
        );
        let Ok(super::Command::Serve(c)) = super::parse(vec![
            "--collector.textfile.directory=/nonexistent/a".into(),
            "--collector.textfile.directory=/tmp".into(),
        ]) else {
            panic!("refused");
        };
        assert_eq!(c.warnings.len(), 1);
        for bad in ["--path.udev.data=/etc/passwd", "--path.udev.data="] {
            let err = super::parse(vec![bad.into()]).err().unwrap();
            assert!(err.contains("not a directory"), "{err}");
        }
        assert!(super::parse(vec!["--path.procfs=/nonexistent".into()]).is_err());
    }

    #[test]
    fn fleet_lists() {
        let ok = |t: &str| t.parse::<Fleet>().map(|f| f.0);
        assert_eq!(ok("").unwrap(), Vec::<String>::new());
        assert_eq!(
            ok(" pi.lan , ,nas:4501,[::1]:4500,[fe80::1],http://a/b/,HTTPS://x.y:8443,10.0.0.2")
                .unwrap(),
            [
                "pi.lan",
                "nas:4501",
                "[::1]:4500",
                "[fe80::1]",
                "http://a/b/",
                "HTTPS://x.y:8443",
                "10.0.0.2"
            ]
        );
        for bad in [
            "ftp://x",
            "javascript:alert(1)",
            "a b",
            "http://",
            "http://a b",
            "http://u@a",
            "http://a/?q",
            "http://a/\"x",
            "host:0",
            "host:99999",
            "host:",
            ":4500",
            "::1",
            "[::1",
            "[x]:1",
            "[::1]4500",
            "a/b",
            "pi\u{e9}.lan",
        ] {
            let err = ok(bad).expect_err(bad);
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert!(ok(&"a,".repeat(MAX_FLEET)).is_ok());
        assert!(ok(&"a,".repeat(MAX_FLEET + 1)).is_err());
        assert!(ok(&"a".repeat(MAX_FLEET_ENTRY)).is_ok());
        assert!(ok(&"a".repeat(MAX_FLEET_ENTRY + 1)).is_err());
    }

    #[test]
    fn allowed_host_lists() {
        assert_eq!(allowed_hosts("").unwrap(), Some(vec![]));
        assert_eq!(
            allowed_hosts(" Pi.Home. ,nas").unwrap(),
            Some(vec!["pi.home".to_owned(), "nas".to_owned()])
        );
        assert_eq!(allowed_hosts("a,*").unwrap(), None);
        assert!(allowed_hosts("a b").is_err());
        assert!(allowed_hosts("http://x").is_err());
    }
}
