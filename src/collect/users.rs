//! uid → user name, from `/etc/passwd`.
//!
//! Parsed by hand and reloaded when the file changes: `getpwuid` is not thread-safe, and
//! sysinfo's parser skips users whose shell is `/bin/false`, which is exactly the daemon
//! accounts a process table shows. Unknown uids are shown as the number, as `ps` does.

use std::collections::HashMap;
use std::time::SystemTime;

/// A cached uid → name table.
pub struct Users {
    /// `/etc/passwd` below `--path.rootfs`.
    passwd: std::path::PathBuf,
    names: HashMap<u32, String>,
    unknown: HashMap<u32, String>,
    mtime: Option<SystemTime>,
}

/// Parses passwd lines (`name:x:uid:...`).
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?;
            let uid = f.nth(1)?.parse().ok()?;
            (!name.is_empty() && !name.starts_with('#')).then(|| (uid, name.to_owned()))
        })
        .collect()
}

impl Users {
    /// Loads `/etc/passwd` (below `roots.rootfs`); an unreadable file leaves every uid
    /// numeric.
    pub fn load(roots: &super::family::Roots) -> Users {
        let mut u = Users {
            passwd: roots.root("/etc/passwd"),
            names: HashMap::new(),
            unknown: HashMap::new(),
            mtime: None,
        };
        u.refresh();
        u
    }

    /// Re-reads `/etc/passwd` if its modification time changed.
    pub fn refresh(&mut self) {
        let mtime = crate::read::procfs::metadata(&self.passwd)
            .and_then(|m| m.modified())
            .ok();
        if mtime.is_some() && mtime == self.mtime {
            return;
        }
        self.mtime = mtime;
        let mut buf = Vec::new();
        self.names = crate::read::procfs::read_lossy(&self.passwd, &mut buf)
            .map(|t| parse_passwd(&t))
            .unwrap_or_default();
        self.unknown.clear();
    }

    /// The name for `uid`, or the uid as text.
    pub fn name(&mut self, uid: u32) -> &str {
        if let Some(n) = self.names.get(&uid) {
            return n;
        }
        self.unknown.entry(uid).or_insert_with(|| uid.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd() {
        let m = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nmessagebus:x:100:101::/x:/bin/false\nbad\n:x:5\n",
        );
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&100).map(String::as_str), Some("messagebus"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn unknown_uid_is_numeric() {
        let mut u = Users::load(&Default::default());
        assert_eq!(u.name(0), "root");
        assert_eq!(u.name(4_000_000_000), "4000000000");
    }

    mod props {
        //! Properties of the `/etc/passwd` parser.
        use super::super::*;
        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::testing::cases(128))]

            /// Any text parses without panicking; no name is empty or a comment.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..400)) {
                for name in parse_passwd(&String::from_utf8_lossy(&bytes)).values() {
                    prop_assert!(!name.is_empty() && !name.starts_with('#'));
                }
            }

            /// Generated entries, among comments, blank and broken lines, map uid to name.
            #[test]
            fn generated_passwd_round_trips(
                users in btree_map(any::<u32>(), "[a-z_][a-z0-9_.-]{0,31}", 0..20),
                shell in prop_oneof![Just("/bin/bash"), Just("/usr/sbin/nologin"), Just("/bin/false")],
            ) {
                let mut text = String::from("# a comment:x:1:1::/:/bin/sh\n\nbroken line\n");
                for (uid, name) in &users {
                    text.push_str(&format!("{name}:x:{uid}:{uid}:Some One,,,:/home/{name}:{shell}\n"));
                }
                text.push_str("+:::::: \n");
                let parsed = parse_passwd(&text);
                prop_assert_eq!(parsed.len(), users.len());
                for (uid, name) in &users {
                    prop_assert_eq!(parsed.get(uid), Some(name));
                }
            }
        }
    }
}
