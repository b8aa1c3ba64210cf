//! The logger: one line per event on stderr, `2026-11-24T20:16:06.159Z INFO  [module] message`.
//!
//! Written here rather than taken from `simple_logger`, which writes with `eprintln!`: that
//! panics when stderr is a closed pipe (a supervisor or journald restarted, a `| head` reader
//! gone), and a panic in the signal thread's log line left the server deaf to SIGTERM.
//! Here a failed write is dropped: logs are worth less than the server.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// A log filter in `RUST_LOG` style: `info`, or `warn,psmonitor=debug,tiny_http=error`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFilter {
    pub level: log::LevelFilter,
    /// Per-module levels (a module path prefix, e.g. `psmonitor::session`).
    pub modules: Vec<(String, log::LevelFilter)>,
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            level: log::LevelFilter::Info,
            modules: Vec::new(),
        }
    }
}

impl LogFilter {
    /// Parses comma-separated directives: a bare level sets the default, `module=level` one module.
    pub fn parse(text: &str) -> Result<LogFilter, String> {
        let level = |t: &str| {
            t.trim()
                .parse::<log::LevelFilter>()
                .map_err(|_| format!("'{t}' is not a level (off, error, warn, info, debug, trace)"))
        };
        let mut f = LogFilter::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((module, l)) if !module.trim().is_empty() => {
                    f.modules.push((module.trim().to_owned(), level(l)?))
                }
                Some(_) => return Err(format!("'{part}' names no module")),
                None => f.level = level(part)?,
            }
        }
        Ok(f)
    }
}

/// How a line is written: psmonitor's own (above), or as node_exporter's `--log.format`
/// writes it: `logfmt` (`time=... level=info source=... msg="..."`) or `json` (one object a
/// line with the same keys).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Format {
    #[default]
    Plain,
    Logfmt,
    Json,
}

struct Logger {
    filter: LogFilter,
    format: Format,
}

impl Logger {
    /// The level for `target`: the longest matching module directive, else the default.
    fn level_for(&self, target: &str) -> log::LevelFilter {
        self.filter
            .modules
            .iter()
            .filter(|(m, _)| {
                target == m
                    || (target.starts_with(m.as_str()) && target[m.len()..].starts_with("::"))
            })
            .max_by_key(|(m, _)| m.len())
            .map_or(self.filter.level, |(_, l)| *l)
    }
}

impl log::Log for Logger {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= self.level_for(meta.target())
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = line(self.format, &utc_now(), record);
        // One write of the whole line, so lines from different threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// One line, with its newline.
fn line(format: Format, time: &str, record: &log::Record) -> String {
    let level = record.level();
    let (target, msg) = (record.target(), record.args().to_string());
    match format {
        Format::Plain => format!("{time} {level:<5} [{target}] {msg}\n"),
        Format::Logfmt => format!(
            "time={time} level={} source={target} msg={}\n",
            lower(level),
            quote(&msg)
        ),
        Format::Json => format!(
            "{{\"time\":\"{time}\",\"level\":\"{}\",\"source\":{},\"msg\":{}}}\n",
            lower(level),
            quote(target),
            quote(&msg)
        ),
    }
}

fn lower(level: log::Level) -> &'static str {
    ["error", "warn", "info", "debug", "trace"][level as usize - 1]
}

/// A JSON string (also logfmt's quoting of what we log, as Go's `strconv.Quote`): `"` and `\`
/// escaped, control characters as `\n`, `\t`, `\r` or `\u00XX`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Installs the logger; the most verbose directive sets `log`'s global cut-off.
pub fn init(filter: LogFilter, format: Format) {
    let max = filter
        .modules
        .iter()
        .map(|(_, l)| *l)
        .fold(filter.level, std::cmp::max);
    // Leaked once: the logger lives as long as the process.
    if log::set_logger(Box::leak(Box::new(Logger { filter, format }))).is_ok() {
        log::set_max_level(max);
    }
}

/// Now as RFC 3339 UTC with milliseconds.
fn utc_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs(), d.subsec_millis())
}

/// Formats seconds since the epoch. Days to a civil date by Howard Hinnant's algorithm
/// (`civil_from_days`), valid for every date this program will see.
fn rfc3339(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_exporter_log_formats() {
        let args = format_args!("listening on \"x\"\n");
        let record = log::Record::builder()
            .args(args)
            .level(log::Level::Warn)
            .target("psmonitor::server")
            .build();
        let t = "2026-12-07T00:00:00.000Z";
        assert_eq!(
            line(Format::Logfmt, t, &record),
            "time=2026-12-07T00:00:00.000Z level=warn source=psmonitor::server msg=\"listening on \\\"x\\\"\\n\"\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&line(Format::Json, t, &record)).unwrap();
        assert_eq!(json["level"], "warn");
        assert_eq!(json["msg"], "listening on \"x\"\n");
        assert_eq!(json["source"], "psmonitor::server");
        assert!(
            line(Format::Plain, t, &record).starts_with(&format!("{t} WARN  [psmonitor::server] "))
        );
    }
    use log::LevelFilter::*;

    #[test]
    fn rust_log_style_filters() {
        assert_eq!(LogFilter::parse("debug").unwrap().level, Debug);
        let f = LogFilter::parse("warn, psmonitor=debug,tiny_http=error").unwrap();
        assert_eq!(f.level, Warn);
        assert_eq!(
            f.modules,
            vec![
                ("psmonitor".to_owned(), Debug),
                ("tiny_http".to_owned(), Error)
            ]
        );
        assert!(LogFilter::parse("loud").is_err());
        assert!(LogFilter::parse("psmonitor=loud").is_err());
        assert!(LogFilter::parse("=debug").is_err());
    }

    #[test]
    fn formats_utc_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_795_551_366, 159), "2026-11-24T20:16:06.159Z");
    }

    #[test]
    fn module_directives_pick_the_longest_match() {
        let l = Logger {
            filter: LogFilter::parse("warn,psmonitor=info,psmonitor::session=debug").unwrap(),
            format: Format::Plain,
        };
        assert_eq!(l.level_for("tiny_http"), log::LevelFilter::Warn);
        assert_eq!(l.level_for("psmonitor::server"), log::LevelFilter::Info);
        assert_eq!(l.level_for("psmonitor::session"), log::LevelFilter::Debug);
        assert_eq!(l.level_for("psmonitorx"), log::LevelFilter::Warn);
    }
}
