//! `textfile`: metrics from `*.prom` files in `--collector.textfile.directory`
//! (node_exporter's `textfile` collector), plus `node_textfile_mtime_seconds{file}` for each
//! file read and `node_textfile_scrape_error`.
//!
//! Each file is validated as the Prometheus text format (0.0.4) the way node_exporter's parser
//! does, and a file with any error is left out whole (`node_textfile_scrape_error 1`) rather
//! than passed on half-read. Pitfalls it inherits from that parser: the last line must end in
//! a newline (a writer that was interrupted leaves one that does not); `\r` is not
//! whitespace, so CRLF files are rejected; a TYPE line must come before the family's samples;
//! HELP and TYPE may appear once per family; client-side timestamps reject the file. Beyond
//! node_exporter, a series given twice, or a family given a different TYPE in another file, is
//! an error here too (node_exporter fails that at gather time); families that several files
//! share are merged under the first file's HELP and TYPE, so the exposition holds each family
//! once. A family without HELP gets node_exporter's "Metric read from <path>, <path>...",
//! naming each file it came from.
//!
//! Writers replace these files atomically now and then, while ticks come every second, so a
//! file is parsed again only when its inode, size or mtime changes, and the validated text is
//! formatted once per change rather than once per tick.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{escape, Encoder, Kind};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// Registers the `textfile` family.
pub const REGISTRATION: Registration = Registration {
    name: "textfile",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &Settings) -> Box<dyn Family> {
    let mut dirs: Vec<String> = settings
        .textfile_directory
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    dirs.extend(settings.textfile_directories.iter().cloned());
    Box::new(TextfileFamily {
        dirs,
        cache: HashMap::new(),
        last: None,
    })
}

/// Whether `s` has a glob metacharacter (Go's `filepath.Glob`: `*`, `?`, `[`).
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Go's `filepath.Match` for one path component: `*` (any run), `?` (one character),
/// `[...]` (a class, `^` negating, `a-z` ranges), `\\` escaping; `None` for a malformed
/// pattern.
fn component_matches(pattern: &[char], name: &[char]) -> Option<bool> {
    match pattern.split_first() {
        None => Some(name.is_empty()),
        Some(('*', rest)) => {
            for i in 0..=name.len() {
                if component_matches(rest, &name[i..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        Some(('?', rest)) => match name.split_first() {
            Some((_, tail)) => component_matches(rest, tail),
            None => Some(false),
        },
        Some(('[', rest)) => {
            let (&c, tail) = match name.split_first() {
                Some(x) => x,
                None => return Some(false),
            };
            let (negate, mut body) = match rest.first() {
                Some('^') => (true, &rest[1..]),
                _ => (false, rest),
            };
            let mut hit = false;
            let mut first = true;
            loop {
                let (&lo, after) = body.split_first()?;
                if lo == ']' && !first {
                    body = after;
                    break;
                }
                first = false;
                let (lo, after) = if lo == '\\' {
                    (*after.first()?, &after[1..])
                } else {
                    (lo, after)
                };
                let (hi, after) = match after {
                    ['-', h, more @ ..] if *h != ']' => (*h, more),
                    _ => (lo, after),
                };
                hit |= lo <= c && c <= hi;
                body = after;
            }
            if hit != negate {
                component_matches(body, tail)
            } else {
                Some(false)
            }
        }
        Some(('\\', rest)) => match (rest.split_first(), name.split_first()) {
            (Some((p, rest)), Some((n, tail))) if p == n => component_matches(rest, tail),
            _ => Some(false),
        },
        Some((p, rest)) => match name.split_first() {
            Some((n, tail)) if n == p => component_matches(rest, tail),
            _ => Some(false),
        },
    }
}

/// Go's `filepath.Glob`: the existing paths `pattern` matches, each directory's matches in
/// name order; a component without metacharacters is taken as it is.
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from(if pattern.starts_with('/') {
        "/"
    } else {
        ""
    })];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            if !is_glob(part) {
                let p = base.join(part);
                if crate::read::procfs::symlink_metadata(&p).is_ok() {
                    next.push(p);
                }
                continue;
            }
            let pat: Vec<char> = part.chars().collect();
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let names: Vec<String> = crate::read::procfs::names(dir, MAX_LISTED)
                .into_iter()
                .flatten()
                .filter_map(|n| n.into_string().ok())
                .filter(|n| {
                    let n: Vec<char> = n.chars().collect();
                    component_matches(&pat, &n) == Some(true)
                })
                .collect();
            next.extend(names.into_iter().map(|n| base.join(n)));
            if next.len() > 4096 {
                break;
            }
        }
        found = next;
    }
    found.retain(|p| !p.as_os_str().is_empty());
    found
}

/// A file larger than this is an error, not something to hold in memory every tick.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// Entries of one directory listed, at most (a glob's component or a textfile directory).
const MAX_LISTED: usize = 65_536;

/// The families' five types, as TYPE lines name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s.to_ascii_lowercase().as_str() {
            "counter" => Type::Counter,
            "gauge" => Type::Gauge,
            "histogram" => Type::Histogram,
            "summary" => Type::Summary,
            "untyped" => Type::Untyped,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
            Type::Histogram => "histogram",
            Type::Summary => "summary",
            Type::Untyped => "untyped",
        }
    }
}

/// One sample line, validated: its name, its labels (unescaped) and its value as written
/// (or `NaN`, `+Inf`, `-Inf` in their canonical spelling).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: String,
}

impl Sample {
    /// What makes this sample's series one series: its name and its labels, sorted.
    fn series(&self) -> (&str, Vec<(&str, &str)>) {
        let mut key: Vec<(&str, &str)> = self
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        crate::sort::sort(&mut key);
        (self.name.as_str(), key)
    }
}

/// One metric family of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: String,
    /// The HELP text as written (still escaped), if the file has one.
    pub help: Option<String>,
    pub kind: Type,
    /// Whether a TYPE line or a sample has fixed the type (a later TYPE line is an error).
    typed: bool,
    pub samples: Vec<Sample>,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits a metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) off the front of `s`.
fn metric_name(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
        })
        .map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

/// Splits a label name (`[a-zA-Z_][a-zA-Z0-9_]*`) off the front of `s`.
fn label_name(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

/// A float as Go's `strconv.ParseFloat` reads the text format's values, in canonical text;
/// like Go, a finite number too large for a float (`1e400`) is an error, not infinity.
fn value_token(s: &str) -> Option<String> {
    let v: f64 = s.parse().ok()?;
    let spelled_inf = s
        .trim_start_matches(['+', '-'])
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("inf"));
    if v.is_infinite() && !spelled_inf {
        return None;
    }
    Some(if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        s.to_owned()
    })
}

/// A file being parsed: its families by name, and the series seen.
#[derive(Default)]
struct Parser {
    families: Vec<MetricFamily>,
    index: HashMap<String, usize>,
    series: HashSet<(String, Vec<(String, String)>)>,
}

impl Parser {
    /// The family a name belongs to: its own, or for `x_sum`/`x_count`/`x_bucket` the summary or
    /// histogram `x`, or a new untyped one.
    fn family(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        for (suffix, kinds) in [
            ("_sum", &[Type::Summary, Type::Histogram][..]),
            ("_count", &[Type::Summary, Type::Histogram][..]),
            ("_bucket", &[Type::Histogram][..]),
        ] {
            if let Some(&i) = name.strip_suffix(suffix).and_then(|b| self.index.get(b)) {
                if kinds.contains(&self.families[i].kind) {
                    return i;
                }
            }
        }
        self.families.push(MetricFamily {
            name: name.to_owned(),
            help: None,
            kind: Type::Untyped,
            typed: false,
            samples: Vec::new(),
        });
        self.index.insert(name.to_owned(), self.families.len() - 1);
        self.families.len() - 1
    }

    fn comment(&mut self, rest: &str) -> Result<(), String> {
        let rest = rest.trim_start_matches(is_blank);
        let (token, after) = rest.split_at(rest.find(is_blank).unwrap_or(rest.len()));
        if token != "HELP" && token != "TYPE" {
            return Ok(());
        }
        let after = after.trim_start_matches(is_blank);
        if after.is_empty() {
            return Ok(());
        }
        let (name, after) = metric_name(after);
        if name.is_empty() || after.chars().next().is_some_and(|c| !is_blank(c)) {
            return Err("invalid metric name in comment".into());
        }
        let i = self.family(name);
        let text = after.trim_start_matches(is_blank);
        if text.is_empty() {
            return Ok(());
        }
        let fam = &mut self.families[i];
        if token == "HELP" {
            if fam.help.is_some() {
                return Err(format!("second HELP line for metric name {name:?}"));
            }
            let mut chars = text.chars();
            while let Some(c) = chars.next() {
                if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
                    return Err("invalid escape sequence in HELP".into());
                }
            }
            fam.help = Some(text.to_owned());
        } else {
            if fam.typed {
                return Err(format!(
                    "second TYPE line for metric name {name:?}, or TYPE reported after samples"
                ));
            }
            fam.kind = Type::parse(text).ok_or_else(|| format!("unknown metric type {text:?}"))?;
            fam.typed = true;
        }
        Ok(())
    }

    fn sample(&mut self, line: &str) -> Result<(), String> {
        let (name, mut rest) = metric_name(line);
        if name.is_empty() {
            return Err("invalid metric name".into());
        }
        let i = self.family(name);
        self.families[i].typed = true;
        let kind = self.families[i].kind;
        let mut labels: Vec<(String, String)> = Vec::new();
        rest = rest.trim_start_matches(is_blank);
        if let Some(mut r) = rest.strip_prefix('{') {
            loop {
                r = r.trim_start_matches(is_blank);
                if let Some(after) = r.strip_prefix('}') {
                    r = after;
                    break;
                }
                let (label, after) = label_name(r);
                if label.is_empty() {
                    return Err("invalid label name".into());
                }
                if label == "__name__" {
                    return Err("label name \"__name__\" is reserved".into());
                }
                let after = after.trim_start_matches(is_blank);
                let after = after
                    .strip_prefix('=')
                    .ok_or("expected '=' after label name")?
                    .trim_start_matches(is_blank);
                let after = after
                    .strip_prefix('"')
                    .ok_or("expected '\"' at start of label value")?;
                let mut value = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    match chars.next() {
                        None => return Err("unexpected end of label value".into()),
                        Some((i, '"')) => break i,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => return Err("invalid escape sequence in label value".into()),
                        },
                        Some((_, c)) => value.push(c),
                    }
                };
                let numeric = (kind == Type::Histogram && label == "le")
                    || (kind == Type::Summary && label == "quantile");
                if numeric && value_token(&value).is_none() {
                    return Err(format!("expected float as value for {label:?} label"));
                }
                if labels.iter().any(|(l, _)| l == label) {
                    return Err(format!("duplicate label name {label:?}"));
                }
                labels.push((label.to_owned(), value));
                r = after[end + 1..].trim_start_matches(is_blank);
                if let Some(after) = r.strip_prefix(',') {
                    r = after;
                } else if !r.starts_with('}') {
                    return Err("expected ',' or '}' after label value".into());
                }
            }
            rest = r.trim_start_matches(is_blank);
        }
        let (token, after) = rest.split_at(rest.find(is_blank).unwrap_or(rest.len()));
        let value =
            value_token(token).ok_or_else(|| format!("expected float as value, got {token:?}"))?;
        let after = after.trim_start_matches(is_blank);
        if !after.is_empty() {
            let (ts, spurious) = after.split_at(after.find(is_blank).unwrap_or(after.len()));
            if ts.parse::<i64>().is_err() {
                return Err(format!("expected integer as timestamp, got {ts:?}"));
            }
            if !spurious.trim_start_matches(is_blank).is_empty() {
                return Err("spurious string after timestamp".into());
            }
            return Err("contains unsupported client-side timestamps".into());
        }
        let mut key = labels.clone();
        crate::sort::sort(&mut key);
        if !self.series.insert((name.to_owned(), key)) {
            return Err(format!("series {name} given twice"));
        }
        self.families[i].samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
        Ok(())
    }
}

/// Validates a file's text; its families (those with samples), or what is wrong with it and
/// on which line.
pub fn parse(text: &str) -> Result<Vec<MetricFamily>, String> {
    let mut p = Parser::default();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let last = lines.peek().is_none();
        let l = line.trim_start_matches(is_blank);
        if l.is_empty() {
            continue;
        }
        if last {
            return Err(format!("line {}: unexpected end of input stream", n + 1));
        }
        let r = match l.strip_prefix('#') {
            Some(rest) => p.comment(rest),
            None => p.sample(l),
        };
        r.map_err(|e| format!("line {}: {e}", n + 1))?;
    }
    p.families.retain(|f| !f.samples.is_empty());
    Ok(p.families)
}

/// What says a file is unchanged: device, inode, size, and mtime (seconds, nanoseconds).
type Identity = (u64, u64, u64, i64, i64);

/// One file's state, kept while its identity is unchanged.
struct CachedFile {
    identity: Identity,
    result: Result<Arc<Vec<MetricFamily>>, String>,
    mtime: f64,
}

struct TextfileFamily {
    /// `--collector.textfile.directory`, each as given (a directory, or a glob of them, as
    /// node_exporter 1.12 takes it, repeatable).
    dirs: Vec<String>,
    /// Parsed files by path.
    cache: HashMap<PathBuf, CachedFile>,
    last: Option<Last>,
}

/// The last harvest, with the file identities and directory error it was made from.
struct Last {
    identities: Vec<(PathBuf, Identity)>,
    dir_error: bool,
    harvest: Arc<TextfileHarvest>,
}

/// One tick: the validated families as text, each file's mtime, and whether anything failed.
#[derive(Debug, Default, PartialEq)]
pub struct TextfileHarvest {
    pub text: String,
    /// `file` label (the path) and mtime in whole seconds, for each file passed on.
    pub mtimes: Vec<(String, f64)>,
    pub error: bool,
}

/// The path as node_exporter's `filepath.Join` writes it: no `.` components or doubled `/`.
fn clean(path: &Path) -> String {
    let mut out = PathBuf::new();
    for c in path.components() {
        if c != std::path::Component::CurDir {
            out.push(c);
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out.to_string_lossy().into_owned()
}

/// Reads a file, refusing one larger than [`MAX_FILE_BYTES`] or not UTF-8.
fn read_capped(file: &mut impl Read) -> Result<String, String> {
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())
}

/// A family as merged from the files that have it: its first HELP, its files, its samples as
/// exposition lines.
struct Merged<'a> {
    name: &'a str,
    kind: Type,
    help: Option<&'a str>,
    /// The files it came from (escaped for HELP), for a family no file gave a HELP.
    files: Vec<String>,
    lines: String,
}

/// Escapes HELP text (backslash and newline), for the HELP made up from a path.
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

impl TextfileFamily {
    /// Stats, and if it changed reads and parses, one file.
    fn load(&mut self, path: &Path) -> Result<Identity, String> {
        let mut file = crate::read::procfs::open_regular(path).map_err(|e| e.to_string())?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        let identity = (
            meta.dev(),
            meta.ino(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
        );
        if self.cache.get(path).is_some_and(|c| c.identity == identity) {
            return Ok(identity);
        }
        let result = read_capped(&mut file).and_then(|t| parse(&t)).map(Arc::new);
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs() as f64);
        self.cache.insert(
            path.to_owned(),
            CachedFile {
                identity,
                result,
                mtime,
            },
        );
        Ok(identity)
    }

    /// Merges the files' families (in file order) into the exposition text.
    fn merge(&self, files: &[PathBuf], mut error: bool) -> TextfileHarvest {
        let mut merged: Vec<Merged> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut series: HashSet<(&str, Vec<(&str, &str)>)> = HashSet::new();
        let mut mtimes = Vec::new();
        for path in files {
            let Some(cached) = self.cache.get(path) else {
                continue;
            };
            let families = match &cached.result {
                Ok(f) => f,
                Err(e) => {
                    log::debug!("textfile {}: {e}", path.display());
                    error = true;
                    continue;
                }
            };
            let clash = families.iter().find_map(|f| {
                if let Some(&i) = index.get(f.name.as_str()) {
                    if merged[i].kind != f.kind {
                        return Some(format!("{} has another TYPE in an earlier file", f.name));
                    }
                }
                f.samples.iter().find_map(|s| {
                    series
                        .contains(&s.series())
                        .then(|| format!("series {} is in an earlier file too", s.name))
                })
            });
            if let Some(e) = clash {
                log::debug!("textfile {}: {e}", path.display());
                error = true;
                continue;
            }
            let label = clean(path);
            for f in families.iter() {
                for s in &f.samples {
                    series.insert(s.series());
                }
                let i = *index.entry(f.name.as_str()).or_insert_with(|| {
                    merged.push(Merged {
                        name: &f.name,
                        kind: f.kind,
                        help: None,
                        files: Vec::new(),
                        lines: String::new(),
                    });
                    merged.len() - 1
                });
                let m = &mut merged[i];
                if m.help.is_none() {
                    m.help = f.help.as_deref();
                }
                m.files.push(escape_help(&label));
                let lines = &mut m.lines;
                for s in &f.samples {
                    lines.push_str(&s.name);
                    if !s.labels.is_empty() {
                        lines.push('{');
                        for (j, (k, v)) in s.labels.iter().enumerate() {
                            if j > 0 {
                                lines.push(',');
                            }
                            let _ = write!(lines, "{k}=\"{}\"", escape(v));
                        }
                        lines.push('}');
                    }
                    let _ = writeln!(lines, " {}", s.value);
                }
            }
            mtimes.push((label, cached.mtime));
        }
        let mut text = String::new();
        for m in &merged {
            match m.help {
                Some(help) => {
                    let _ = writeln!(text, "# HELP {} {help}", m.name);
                }
                // node_exporter names every file the family came from.
                None => {
                    let _ = writeln!(
                        text,
                        "# HELP {} Metric read from {}",
                        m.name,
                        m.files.join(", ")
                    );
                }
            }
            let _ = writeln!(text, "# TYPE {} {}", m.name, m.kind.as_str());
            text.push_str(&m.lines);
        }
        TextfileHarvest {
            text,
            mtimes,
            error,
        }
    }
}

impl Family for TextfileFamily {
    fn name(&self) -> &'static str {
        "textfile"
    }

    fn harvest(&mut self, _: &Roots) -> Result<Arc<dyn Harvest>, String> {
        if self.dirs.is_empty() {
            return Ok(Arc::new(TextfileHarvest::default()));
        }
        let mut error = false;
        // As node_exporter: a pattern that matches nothing is taken as a directory (whose
        // read then fails: scrape_error 1).
        let mut dirs: Vec<PathBuf> = Vec::new();
        for d in &self.dirs {
            let matched = if is_glob(d) { glob(d) } else { Vec::new() };
            if matched.is_empty() {
                dirs.push(PathBuf::from(d));
            } else {
                dirs.extend(matched);
            }
        }
        let mut paths: Vec<PathBuf> = Vec::new();
        for dir in &dirs {
            let names: Vec<OsString> = match crate::read::procfs::names(dir, MAX_LISTED) {
                Ok(entries) => entries
                    .into_iter()
                    .filter(|n| n.as_encoded_bytes().ends_with(b".prom"))
                    .collect(),
                Err(e) => {
                    log::debug!("textfile directory {}: {e}", dir.display());
                    error = true;
                    Vec::new()
                }
            };
            paths.extend(names.into_iter().map(|n| dir.join(n)));
        }
        // The same file through two patterns is read once.
        let mut seen = HashSet::new();
        paths.retain(|p| seen.insert(p.clone()));
        let mut files = Vec::with_capacity(paths.len());
        let mut identities = Vec::with_capacity(paths.len());
        for path in paths {
            match self.load(&path) {
                Ok(id) => {
                    identities.push((path.clone(), id));
                    files.push(path);
                }
                Err(e) => {
                    log::debug!("textfile {}: {e}", path.display());
                    self.cache.remove(&path);
                    error = true;
                }
            }
        }
        self.cache.retain(|p, _| files.contains(p));
        if let Some(last) = &self.last {
            if last.identities == identities && last.dir_error == error {
                return Ok(last.harvest.clone());
            }
        }
        let harvest = Arc::new(self.merge(&files, error));
        self.last = Some(Last {
            identities,
            dir_error: error,
            harvest: Arc::clone(&harvest),
        });
        Ok(harvest)
    }
}

impl Harvest for TextfileHarvest {
    fn render(&self, out: &mut Encoder) {
        out.raw(&self.text);
        let mut f = out.family(
            "node_textfile_mtime_seconds",
            Kind::Gauge,
            "Unixtime mtime of textfiles successfully read.",
        );
        for (file, mtime) in &self.mtimes {
            f.sample(&[("file", file)], *mtime);
        }
        out.one(
            "node_textfile_scrape_error",
            Kind::Gauge,
            "1 if there was an error opening or reading a file, 0 otherwise",
            &[],
            if self.error { 1.0 } else { 0.0 },
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_glob_components() {
        let m = |p: &str, n: &str| {
            component_matches(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(m("*.d", "cron.d"), Some(true));
        assert_eq!(m("*.d", "cron.dd"), Some(false));
        assert_eq!(m("a?c", "abc"), Some(true));
        assert_eq!(m("[a-c]x", "bx"), Some(true));
        assert_eq!(m("[^a-c]x", "bx"), Some(false));
        assert_eq!(m("[]a]", "]"), Some(true));
        assert_eq!(m("\\*", "*"), Some(true));
        assert_eq!(m("[a-", "a"), None, "malformed");
    }

    #[test]
    fn repeated_directories_and_globs_as_node_exporter_1_12() {
        let base = std::env::temp_dir().join(format!("psmonitor-textglob-{}", std::process::id()));
        for (dir, file, metric) in [
            ("a.d", "one.prom", "one"),
            ("b.d", "two.prom", "two"),
            ("plain", "three.prom", "three"),
        ] {
            std::fs::create_dir_all(base.join(dir)).unwrap();
            std::fs::write(
                base.join(dir).join(file),
                format!("# TYPE {metric} gauge\n{metric} 1\n"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(base.join("c.x")).unwrap();
        let matched = glob(&format!("{}/*.d", base.display()));
        assert_eq!(matched, vec![base.join("a.d"), base.join("b.d")]);
        let settings = Settings {
            textfile_directory: Some(base.join("plain")),
            textfile_directories: vec![
                format!("{}/*.d", base.display()),
                format!("{}/plain", base.display()),
                format!("{}/nothing-*", base.display()),
            ],
            ..Default::default()
        };
        let h = make_family(&settings).harvest(&Roots::default()).unwrap();
        let mut enc = Encoder::default();
        h.render(&mut enc);
        let t = enc.finish();
        for m in ["one 1\n", "two 1\n", "three 1\n"] {
            assert!(t.contains(m), "{m} in {t}");
        }
        assert_eq!(t.matches("three 1\n").count(), 1, "one file read once");
        assert!(
            t.contains("node_textfile_scrape_error 1\n"),
            "a glob matching nothing is an unreadable directory: {t}"
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    use super::*;
    use crate::collect::family::testing::{fixture, value};
    use proptest::prelude::*;

    /// The fixture's textfile directory on `host`.
    fn dir(host: &str) -> PathBuf {
        fixture(host).root("/var/lib/prometheus/node-exporter")
    }

    fn run_dir(dir: Option<PathBuf>) -> String {
        let mut f = (REGISTRATION.make)(&Settings {
            textfile_directory: dir,
            ..Settings::default()
        });
        let mut out = Encoder::default();
        f.harvest(&Roots::default()).unwrap().render(&mut out);
        out.finish()
    }

    #[test]
    fn laptop_fixture() {
        let d = dir("laptop");
        let text = run_dir(Some(d.clone()));
        assert_eq!(value(&text, "node_textfile_scrape_error"), Some(0.0));
        assert_eq!(
            value(
                &text,
                r#"apt_upgrades_pending{arch="amd64",origin="Debian:bookworm/stable"}"#
            ),
            Some(3.0)
        );
        // The same family from a later file is merged under one HELP and TYPE.
        assert_eq!(
            value(
                &text,
                r#"apt_upgrades_pending{arch="amd64",origin="Debian-Security:bookworm-security/stable"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            text.matches("# TYPE apt_upgrades_pending gauge\n").count(),
            1
        );
        assert_eq!(value(&text, "node_reboot_required"), Some(0.0));
        // A histogram passes whole; a family without HELP gets node_exporter's.
        assert_eq!(
            value(
                &text,
                r#"backup_duration_seconds_bucket{job="home",le="+Inf"}"#
            ),
            Some(12.0)
        );
        assert_eq!(
            value(&text, r#"backup_duration_seconds_sum{job="home"}"#),
            Some(4021.5)
        );
        assert!(text.contains("# TYPE backup_duration_seconds histogram\n"));
        let backup = d.join("backup.prom");
        assert!(text.contains(&format!(
            "# HELP backup_runs_total Metric read from {}\n# TYPE backup_runs_total untyped\n",
            backup.display()
        )));
        for file in ["apt.prom", "backup.prom", "zz-security.prom"] {
            let path = d.join(file);
            let mtime = std::fs::metadata(&path)
                .unwrap()
                .modified()
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs() as f64;
            let series = format!("node_textfile_mtime_seconds{{file=\"{}\"}}", path.display());
            assert_eq!(value(&text, &series), Some(mtime), "{series}");
        }
        assert_eq!(text.matches("node_textfile_mtime_seconds{").count(), 3);
        // What was passed on is itself valid.
        parse(&text).unwrap();
    }

    #[test]
    fn hostile_fixture_keeps_only_valid_files() {
        let d = dir("hostile");
        let text = run_dir(Some(d.clone()));
        assert_eq!(value(&text, "node_textfile_scrape_error"), Some(1.0));
        assert_eq!(
            value(&text, r#"good_metric{instance="a\"b\\c\nd"}"#),
            Some(1.0)
        );
        assert!(text.contains("\ngood_nan NaN\n"));
        assert!(text.contains("\ngood_inf +Inf\n"));
        // The rejected files' metrics are nowhere, even their good first lines.
        for bad in [
            "crlf",
            "no_newline",
            "timestamp",
            "type_after",
            "dup_series",
            "bad_escape",
            "not_utf8",
            "clash",
            "second_help",
            "bad_value",
            "reserved",
        ] {
            assert!(
                !text.contains(&format!("{bad}_")),
                "{bad} rejected:\n{text}"
            );
        }
        // mtimes for the files read: good, empty, comments only, and the non-UTF-8 name.
        let files: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("node_textfile_mtime_seconds{file=\""))
            .filter_map(|l| l.split_once('"').map(|(f, _)| f))
            .collect();
        let name = |f: &str| d.join(f).display().to_string();
        assert_eq!(
            files,
            [
                name("comments.prom"),
                name("empty.prom"),
                name("good.prom"),
                name("\u{fffd}.prom"),
            ]
        );
        assert!(text.contains("weird_name_metric 7\n"));
        assert!(!text.contains("instance=\"other\""));
        parse(&text).unwrap();
    }

    #[test]
    fn no_directory_and_missing_directory() {
        assert_eq!(
            run_dir(None),
            "# HELP node_textfile_scrape_error 1 if there was an error opening or reading a file, 0 otherwise\n\
             # TYPE node_textfile_scrape_error gauge\n\
             node_textfile_scrape_error 0\n"
        );
        let text = run_dir(Some("/nonexistent/psmonitor".into()));
        assert_eq!(value(&text, "node_textfile_scrape_error"), Some(1.0));
        assert!(!text.contains("mtime"));
    }

    #[test]
    fn rereads_only_changed_files() {
        let d = std::env::temp_dir().join(format!("psmonitor-textfile-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.prom"), "a 1\n").unwrap();
        let mut f = (REGISTRATION.make)(&Settings {
            textfile_directory: Some(d.clone()),
            ..Settings::default()
        });
        let first = f.harvest(&Roots::default()).unwrap();
        let again = f.harvest(&Roots::default()).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        std::fs::write(d.join("a.prom"), "a 22\n").unwrap();
        let mut out = Encoder::default();
        f.harvest(&Roots::default()).unwrap().render(&mut out);
        assert!(out.text().contains("\na 22\n"));
        // A file that goes away goes with its metrics.
        std::fs::remove_file(d.join("a.prom")).unwrap();
        let mut out = Encoder::default();
        f.harvest(&Roots::default()).unwrap().render(&mut out);
        assert!(!out.text().contains("\na "));
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// A FIFO or a link to `/dev/zero` named `*.prom` in the directory: an error for that
    /// file (opened non-blocking, regular files only), at once, and the other files still read.
    #[test]
    fn fifos_and_devices_in_the_directory_fail_without_hanging() {
        use crate::collect::family::testing::returns;
        use crate::testing::{planted_tree, Planted};
        for planted in [Planted::Fifo, Planted::DevZero] {
            let d = planted_tree("textfile", planted, &["t/bad.prom"]).join("t");
            std::fs::write(d.join("good.prom"), "good 1\n").unwrap();
            let text = returns({
                let d = d.clone();
                move || run_dir(Some(d))
            });
            assert_eq!(
                value(&text, "node_textfile_scrape_error"),
                Some(1.0),
                "{planted:?}"
            );
            assert_eq!(value(&text, "good"), Some(1.0), "{planted:?}");
            std::fs::remove_dir_all(d.parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn a_family_without_help_names_every_file() {
        let d =
            std::env::temp_dir().join(format!("psmonitor-textfile-help-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.prom"), "x 1\n").unwrap();
        std::fs::write(d.join("b.prom"), "x{a=\"b\"} 2\n# HELP y Why.\ny 3\n").unwrap();
        std::fs::write(d.join("c.prom"), "y{a=\"b\"} 4\n").unwrap();
        let text = run_dir(Some(d.clone()));
        std::fs::remove_dir_all(&d).unwrap();
        let (a, b) = (d.join("a.prom"), d.join("b.prom"));
        assert!(text.contains(&format!(
            "# HELP x Metric read from {}, {}\n# TYPE x untyped\nx 1\nx{{a=\"b\"}} 2\n",
            a.display(),
            b.display()
        )));
        assert!(text.contains("# HELP y Why.\n# TYPE y untyped\ny 3\ny{a=\"b\"} 4\n"));
        assert_eq!(value(&text, "node_textfile_scrape_error"), Some(0.0));
    }

    #[test]
    fn parser_errors() {
        for (text, why) in [
            ("a 1", "end of input"),
            ("a 1\r\n", "float"),
            ("a 1 123\n", "timestamps"),
            ("a 1 x\n", "timestamp"),
            ("a 1 1 1\n", "spurious"),
            ("a 1\n# TYPE a gauge\n", "TYPE"),
            ("# TYPE a gauge\n# TYPE a gauge\n", "second TYPE"),
            ("# HELP a x\n# HELP a y\n", "second HELP"),
            ("# TYPE a gauge \n", "unknown metric type"),
            ("# TYPE a foo\n", "unknown metric type"),
            ("# HELP a bad \\x\n", "escape"),
            ("a{b=\"\\x\"} 1\n", "escape"),
            ("a{b=\"c} 1\n", "end of label value"),
            ("a{b=c} 1\n", "start of label value"),
            ("a{b} 1\n", "'='"),
            ("a{b=\"1\" c=\"2\"} 1\n", "',' or '}'"),
            ("a{b=\"1\",b=\"2\"} 1\n", "duplicate label"),
            ("a{__name__=\"x\"} 1\n", "reserved"),
            ("a{1=\"x\"} 1\n", "label name"),
            ("a 1\na 2\n", "twice"),
            ("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n", "twice"),
            ("1a 1\n", "metric name"),
            ("a\n", "float"),
            ("a 1e400\n", "float"),
            ("a one\n", "float"),
            ("# HELP 1a x\n", "metric name in comment"),
            ("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", "\"le\" label"),
            (
                "# TYPE s summary\ns{quantile=\"\"} 1\n",
                "\"quantile\" label",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn parser_accepts() {
        let fams = parse(
            "# just a comment\n\
             #\n\
             \t# HELP x Some help \\\\ with \\n escapes\n\
             # TYPE x COUNTER\n\
             x{a=\"1\",} 1.5e3\n\
             x { b = \"2\" } -Inf\n\
             x{} 3\n\
             \n\
             # TYPE s summary\n\
             s{quantile=\"0.5\"} 1\n\
             s_sum 2\n\
             s_count 3\n\
             # HELP lonely\n\
             # TYPE empty gauge\n\
             y +5\n",
        )
        .unwrap();
        let names: Vec<&str> = fams.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["x", "s", "y"]);
        assert_eq!(fams[0].kind, Type::Counter);
        assert_eq!(
            fams[0].help.as_deref(),
            Some("Some help \\\\ with \\n escapes")
        );
        assert_eq!(fams[0].samples.len(), 3);
        assert_eq!(fams[0].samples[1].labels, [("b".into(), "2".into())]);
        assert_eq!(fams[0].samples[1].value, "-Inf");
        assert_eq!(fams[1].samples.len(), 3);
        assert_eq!(fams[2].kind, Type::Untyped);
        assert_eq!(fams[2].samples[0].value, "+5");
        assert!(parse("").unwrap().is_empty());
        assert!(parse("  \n\t\n").unwrap().is_empty());
        assert!(parse("a 1\n  ").is_ok());
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text parses or is refused; what is accepted is well formed: each family
        /// once, every value a number, every label name once per sample. Text made of
        /// sample-like lines is tried as well as arbitrary text.
        #[test]
        fn any_text_no_panic(
            text in prop_oneof![
                any::<String>(),
                proptest::collection::vec("[a-c_]{1,3}(\\{[a-c]{1,2}=\"[a-z\\\\\"]{0,3}\",?\\})? [-+0-9.eEInfa]{1,6}( [0-9]{1,3})?", 0..6)
                    .prop_map(|l| l.join("\n")),
            ],
        ) {
            if let Ok(fams) = parse(&text) {
                for (i, f) in fams.iter().enumerate() {
                    prop_assert!(fams[..i].iter().all(|g| g.name != f.name), "{} twice", f.name);
                    for s in &f.samples {
                        prop_assert!(s.value.parse::<f64>().is_ok(), "value {:?}", s.value);
                        for (j, (name, _)) in s.labels.iter().enumerate() {
                            prop_assert!(s.labels[..j].iter().all(|(n, _)| n != name));
                        }
                    }
                }
            }
        }

        /// Generated families pass, and what is written of them parses to the same samples.
        #[test]
        fn generated_round_trip(
            rows in proptest::collection::btree_map(
                ("[a-z_][a-z0-9_]{0,8}", "[ -~\n]{0,12}"),
                -1e12f64..1e12,
                1..10,
            )
        ) {
            let mut text = String::from("# HELP m A metric.\n# TYPE m gauge\n");
            for ((label, v), x) in &rows {
                if label == "__name__" {
                    continue;
                }
                text.push_str(&format!("m{{{label}=\"{}\"}} {x}\n", escape(v)));
            }
            let fams = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let d = std::env::temp_dir().join(format!(
                "psmonitor-textfile-prop-{}-{}",
                std::process::id(),
                rows.len()
            ));
            let _ = std::fs::create_dir_all(&d);
            std::fs::write(d.join("m.prom"), &text).unwrap();
            let out = run_dir(Some(d.clone()));
            let _ = std::fs::remove_dir_all(&d);
            let again = parse(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
            prop_assert_eq!(&again[0].samples, &fams[0].samples);
        }
    }
}
