//! `os`: `node_os_info` and `node_os_version` from os-release (node_exporter's `os` collector),
//! `<rootfs>/etc/os-release`, else `<rootfs>/usr/lib/os-release`.
//!
//! Pitfalls: `/etc/os-release` is usually a symlink, and an absolute one
//! (`/usr/lib/os-release`) would resolve in psmonitor's own filesystem, not the host's, when
//! `--path.rootfs` points at a mounted host; links are therefore followed below the rootfs by
//! hand. The file is shell syntax (quotes, backslash escapes, comments), not `key=value`
//! lines. It rarely changes, so it is re-read only when its mtime or size does.
//! `node_os_version` is `VERSION_ID`'s leading `major.minor` as a number, left out when there
//! is none (`rolling`, or no `VERSION_ID` at all).

use super::family::{Empty, Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{is_absent, read_lossy};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Registers the `os` family.
pub const REGISTRATION: Registration = Registration {
    name: "os",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(OsFamily::default())
}

/// The os-release files, in the order os-release(5) says to look.
const FILES: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// The keys that become `node_os_info` labels, with their label names (sorted by label, as
/// node_exporter's output is).
const KEYS: [(&str, &str); 12] = [
    ("build_id", "BUILD_ID"),
    ("id", "ID"),
    ("id_like", "ID_LIKE"),
    ("image_id", "IMAGE_ID"),
    ("image_version", "IMAGE_VERSION"),
    ("name", "NAME"),
    ("pretty_name", "PRETTY_NAME"),
    ("variant", "VARIANT"),
    ("variant_id", "VARIANT_ID"),
    ("version", "VERSION"),
    ("version_codename", "VERSION_CODENAME"),
    ("version_id", "VERSION_ID"),
];

/// The file last read, to skip re-reading it while it is unchanged.
struct Cached {
    path: PathBuf,
    mtime: Option<SystemTime>,
    len: u64,
    release: Arc<OsRelease>,
}

#[derive(Default)]
struct OsFamily {
    buf: Vec<u8>,
    cached: Option<Cached>,
}

/// What os-release says, as `node_os_info`'s labels, plus the version number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsRelease {
    /// Values for [`KEYS`], in its order; a key the file lacks is empty.
    pub labels: [String; 12],
    /// `VERSION_ID`'s leading `major.minor`, 0 when it has none.
    pub version: f64,
}

impl OsRelease {
    /// The value of the label `name`.
    pub fn label(&self, name: &str) -> &str {
        KEYS.iter()
            .position(|(l, _)| *l == name)
            .map_or("", |i| &self.labels[i])
    }
}

/// Parses os-release text: `KEY=value` lines in shell syntax (`export ` prefix, `"..."` with
/// backslash escapes, `'...'` literal, unquoted words, `#` comments). A malformed line is
/// skipped; a key given twice keeps the last value, as a shell would.
pub fn parse(text: &str) -> OsRelease {
    let mut labels: [String; 12] = Default::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        if let Some(i) = KEYS.iter().position(|(_, k)| *k == key) {
            labels[i] = unquote(raw);
        }
    }
    let version = major_minor(&labels[11]);
    OsRelease { labels, version }
}

/// A shell word: quotes removed and escapes applied, up to unquoted whitespace or a comment.
fn unquote(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => out.push(e),
                            Some(e) => {
                                out.push('\\');
                                out.push(e);
                            }
                            None => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
            '\'' => out.extend(chars.by_ref().take_while(|c| *c != '\'')),
            '\\' => out.extend(chars.next()),
            c if c.is_whitespace() => break,
            c => out.push(c),
        }
    }
    out
}

/// node_exporter's `^[0-9]+\.?[0-9]*` of `VERSION_ID`, as a number; 0 if it does not match.
fn major_minor(version_id: &str) -> f64 {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major = digits(version_id);
    if major == 0 {
        return 0.0;
    }
    let mut end = major;
    if version_id[end..].starts_with('.') {
        end += 1 + digits(&version_id[end + 1..]);
    }
    version_id[..end]
        .trim_end_matches('.')
        .parse()
        .unwrap_or(0.0)
}

/// `rel` below the rootfs, with symlinks followed below the rootfs too (an absolute link
/// target means the host's root, not ours). Gives up after a few links, as a loop would.
fn resolve(roots: &Roots, rel: &str) -> PathBuf {
    let mut path = roots.root(rel);
    if roots.rootfs == Path::new("/") {
        return path;
    }
    for _ in 0..8 {
        let Ok(target) = crate::read::procfs::read_link(&path) else {
            break;
        };
        path = match target.strip_prefix("/") {
            Ok(below) => roots.rootfs.join(below),
            Err(_) => match path.parent() {
                Some(dir) => dir.join(&target),
                None => target,
            },
        };
    }
    path
}

impl Family for OsFamily {
    fn name(&self) -> &'static str {
        "os"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        for rel in FILES {
            let path = resolve(roots, rel);
            let meta = match crate::read::procfs::metadata(&path) {
                Ok(m) => m,
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(format!("{}: {e}", path.display())),
            };
            let mtime = meta.modified().ok();
            if let Some(c) = &self.cached {
                if c.path == path && c.mtime == mtime && c.len == meta.len() {
                    return Ok(c.release.clone());
                }
            }
            let text =
                read_lossy(&path, &mut self.buf).map_err(|e| format!("{}: {e}", path.display()))?;
            let release = Arc::new(parse(&text));
            self.cached = Some(Cached {
                path,
                mtime,
                len: meta.len(),
                release: Arc::clone(&release),
            });
            return Ok(release);
        }
        self.cached = None;
        Ok(Arc::new(Empty))
    }
}

impl Harvest for OsRelease {
    fn render(&self, out: &mut Encoder) {
        let labels: Vec<(&str, &str)> = KEYS
            .iter()
            .zip(&self.labels)
            .map(|((label, _), v)| (*label, v.as_str()))
            .collect();
        out.one(
            "node_os_info",
            Kind::Gauge,
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, \
             image_version, name, pretty_name, variant, variant_id, version, version_codename, \
             version_id.",
            &labels,
            1.0,
        );
        if self.version > 0.0 {
            out.one(
                "node_os_version",
                Kind::Gauge,
                "Metric containing the major.minor part of the OS version.",
                &[
                    ("id", self.label("id")),
                    ("id_like", self.label("id_like")),
                    ("name", self.label("name")),
                ],
                self.version,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{run, value};
    use proptest::prelude::*;

    #[test]
    fn vm_fixture_is_debian() {
        let text = run(&REGISTRATION, "vm");
        assert_eq!(
            value(
                &text,
                "node_os_info{build_id=\"\",id=\"debian\",id_like=\"\",image_id=\"\",\
                 image_version=\"\",name=\"Debian GNU/Linux\",\
                 pretty_name=\"Debian GNU/Linux 12 (bookworm)\",variant=\"\",variant_id=\"\",\
                 version=\"12 (bookworm)\",version_codename=\"bookworm\",version_id=\"12\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                "node_os_version{id=\"debian\",id_like=\"\",name=\"Debian GNU/Linux\"}"
            ),
            Some(12.0)
        );
    }

    #[test]
    fn pi_follows_an_absolute_link_below_the_rootfs() {
        // etc/os-release -> /usr/lib/os-release: the Pi's, not this machine's.
        let text = run(&REGISTRATION, "pi");
        assert!(text.contains("pretty_name=\"Raspbian GNU/Linux 12 (bookworm)\""));
        assert_eq!(
            value(
                &text,
                "node_os_version{id=\"raspbian\",id_like=\"debian\",name=\"Raspbian GNU/Linux\"}"
            ),
            Some(12.0)
        );
    }

    #[test]
    fn laptop_falls_back_to_usr_lib() {
        let text = run(&REGISTRATION, "laptop");
        assert!(text.contains("id=\"fedora\""), "{text}");
        assert!(text.contains("variant=\"Workstation Edition\""));
        assert!(text.contains("variant_id=\"workstation\""));
        assert_eq!(
            value(
                &text,
                "node_os_version{id=\"fedora\",id_like=\"\",name=\"Fedora Linux\"}"
            ),
            Some(36.0)
        );
    }

    #[test]
    fn hostile_fixture() {
        let text = run(&REGISTRATION, "hostile");
        // Escapes, single quotes, a comment, an export, a non-UTF-8 byte, and junk lines.
        assert!(text.contains(r#"name="Evil \"Linux\" \\o/""#), "{text}");
        assert!(text.contains("id=\"evil\""));
        assert!(text.contains("pretty_name=\"$(reboot)`x`\""));
        assert!(text.contains("version=\"1\u{fffd}\""));
        assert!(text.contains("version_codename=\"first\""));
        // VERSION_ID=rolling: no version metric.
        assert!(!text.contains("node_os_version"));
    }

    #[test]
    fn nothing_there_is_empty() {
        let mut out = Encoder::default();
        OsFamily::default()
            .harvest(&Roots::under("/nonexistent/psmonitor"))
            .unwrap()
            .render(&mut out);
        assert_eq!(out.finish(), "");
    }

    #[test]
    fn rereads_only_when_changed() {
        let dir = std::env::temp_dir().join(format!("psmonitor-os-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("root/etc")).unwrap();
        let file = dir.join("root/etc/os-release");
        std::fs::write(&file, "ID=one\nVERSION_ID=1\n").unwrap();
        let roots = Roots::under(&dir);
        let mut f = OsFamily::default();
        let a = f.harvest(&roots).unwrap();
        let b = f.harvest(&roots).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        std::fs::write(&file, "ID=two\nVERSION_ID=22.04\n").unwrap();
        let mut out = Encoder::default();
        f.harvest(&roots).unwrap().render(&mut out);
        let text = out.finish();
        assert!(text.contains("id=\"two\""));
        assert!(text.contains("} 22.04\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn versions() {
        assert_eq!(major_minor("12"), 12.0);
        assert_eq!(major_minor("22.04"), 22.04);
        assert_eq!(major_minor("3.19.1"), 3.19);
        assert_eq!(major_minor("7."), 7.0);
        assert_eq!(major_minor("rolling"), 0.0);
        assert_eq!(major_minor(""), 0.0);
        assert_eq!(major_minor("٣"), 0.0);
    }

    #[test]
    fn shell_words() {
        assert_eq!(unquote(r#""a b""#), "a b");
        assert_eq!(unquote(r#""a\"b\\c\$d\n""#), "a\"b\\c$d\\n");
        assert_eq!(unquote("'a\\b'"), "a\\b");
        assert_eq!(unquote("plain # comment"), "plain");
        assert_eq!(unquote(r#"con"cat"'ed'"#), "concated");
        assert_eq!(unquote("\"unterminated"), "unterminated");
        assert_eq!(unquote(""), "");
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        #[test]
        fn any_text(text in any::<String>()) {
            let r = parse(&text);
            prop_assert!(r.version >= 0.0);
        }

        /// A double-quoted value with escapes comes back as written.
        #[test]
        fn quoted_values_round_trip(v in "[ -~]{0,40}") {
            let quoted: String = v
                .chars()
                .flat_map(|c| match c {
                    '"' | '\\' | '$' | '`' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            let r = parse(&format!("NAME=\"{quoted}\"\n"));
            prop_assert_eq!(r.label("name"), v.as_str());
        }
    }
}
