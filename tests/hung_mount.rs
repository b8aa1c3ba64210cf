//! A mount whose `statfs` never answers (a FUSE daemon that hangs in it, as a dead NFS server
//! does) stalls nothing: the sampler keeps ticking, websocket frames keep coming, `/system`
//! lists the mount with `device_error`, and `/metrics` has `node_filesystem_device_error 1` for it.
//!
//! The mount lives in a private mount namespace (`unshare -m`) shared only by psmonitor and the
//! FUSE daemon (Debian's `python3-fuse`; needs root and `/dev/fuse`, as `.ci/run` provides), so
//! no other process on the machine, this test included, can ever touch it. Why the first try
//! hung the test: a thread in a FUSE request sleeps uninterruptibly until the daemon answers,
//! so killing psmonitor (as `Server`'s drop, or the harness's start-up timeout, does) and
//! waiting for it waits forever. Here the daemon is killed first (which aborts the FUSE
//! connection: the stuck `statfs` fails at once) on success and on panic, and it leaves by
//! itself as soon as psmonitor is sent SIGKILL or exits, so a psmonitor that regresses (blocks
//! before listening) fails the test instead of hanging it, and a killed test leaves nothing.

mod common;
use common::{wait_until, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A FUSE filesystem (fuse-python) whose root is an empty directory and whose `statfs` waits
/// forever, after touching `$HANG_DIR/statfs` to say it was asked. It exits when its parent
/// (the shell that becomes psmonitor) exits or is sent SIGKILL: a process with a thread in a
/// FUSE request cannot die until the request is answered or the daemon is gone, so whoever
/// kills psmonitor (this test, `Server`'s drop, the harness's start-up timeout) frees it.
const HANG_PY: &str = r#"
import ctypes, fuse, os, stat, threading, time
ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
parent = os.getppid()
def watch():
    while True:
        pending = 0
        try:
            with open(f"/proc/{parent}/status") as f:
                for line in f:
                    if line.startswith(("SigPnd:", "ShdPnd:")):
                        pending |= int(line.split()[1], 16)
        except OSError:
            os._exit(0)
        if pending & (1 << 8):  # SIGKILL
            os._exit(0)
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
fuse.fuse_python_api = (0, 2)
class Hang(fuse.Fuse):
    def getattr(self, path):
        if path != "/":
            return -2
        st = fuse.Stat()
        st.st_mode = stat.S_IFDIR | 0o755
        st.st_nlink = 2
        return st
    def readdir(self, path, offset):
        for n in (".", ".."):
            yield fuse.Direntry(n)
    def statfs(self):
        open(os.path.join(os.environ["HANG_DIR"], "statfs"), "w").close()
        threading.Event().wait()
fs = Hang()
fs.parse(errex=1)
fs.multithreaded = True
fs.main()
"#;

/// Started as the server binary: dies with the test's thread (`setpriv --pdeathsig`), enters a
/// new mount namespace, mounts the hanging filesystem on `$HANG_DIR/mnt` (the daemon in the
/// foreground, its pid in `$HANG_DIR/pid`), waits for the mount, shows its own mount table as
/// init's (the `filesystem` family reads `/proc/1/mounts`, as node_exporter does in a
/// container), then becomes psmonitor (same pid) with the arguments it was given.
const WRAPPER: &str = r#"#!/bin/sh
exec setpriv --pdeathsig KILL unshare -m --propagation private sh -c '
  d="$HANG_DIR"
  /usr/bin/python3 "$d/hang.py" "$d/mnt" -f -o fsname=/dev/psmonitor-hang 2>"$d/fuse.log" &
  echo $! >"$d/pid"
  until grep -q " $d/mnt " /proc/self/mounts; do
    kill -0 $! 2>/dev/null || { echo "the FUSE daemon exited: $(cat "$d/fuse.log")" >&2; exit 3; }
    sleep 0.05
  done
  mount --bind /proc/$$/mounts /proc/1/mounts || exit 4
  exec "$HANG_PSMONITOR" "$@"' sh "$@"
"#;

/// Debian's python3-fuse for the system python3 (installed when missing, as root), and the
/// tools the wrapper runs; fails (never skips) when they cannot be had.
fn ensure_fuse() {
    common::ensure_tool("setpriv", "util-linux");
    common::ensure_tool("unshare", "util-linux");
    common::ensure_tool("nsenter", "util-linux");
    let importable = || {
        Command::new("/usr/bin/python3")
            .args(["-c", "import fuse"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !importable() {
        // The binding is for Debian's python3 (not another one on PATH), so it comes from apt.
        let _ = Command::new("sh")
            .args([
                "-c",
                "export DEBIAN_FRONTEND=noninteractive; apt-get -o DPkg::Lock::Timeout=300 update -qq && \
                 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3-fuse",
            ])
            .output();
    }
    assert!(
        importable(),
        "this test needs Debian's python3-fuse: apt-get install -y python3-fuse"
    );
    assert!(Path::new("/dev/fuse").exists(), "this test needs /dev/fuse");
}

/// The server in the namespace with the hung mount. Dropping it kills the FUSE daemon first
/// (which unblocks the stuck `statfs`), detaches the mount, then stops psmonitor and removes
/// the directory.
struct HungMount {
    server: Option<Server>,
    dir: PathBuf,
}

impl HungMount {
    fn start() -> HungMount {
        ensure_fuse();
        let dir = std::env::temp_dir().join(format!("psmonitor-hung-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mnt")).unwrap();
        std::fs::write(dir.join("hang.py"), HANG_PY).unwrap();
        let wrapper = dir.join("psmonitor-in-ns");
        std::fs::write(&wrapper, WRAPPER).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut rig = HungMount { server: None, dir };
        rig.server = Some(
            Server::builder()
                .bin(&wrapper)
                .args(&["--interval", "200"])
                .env("HANG_DIR", rig.dir.to_str().unwrap())
                .env("HANG_PSMONITOR", env!("CARGO_BIN_EXE_psmonitor"))
                .start(),
        );
        rig
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    fn mountpoint(&self) -> String {
        self.dir.join("mnt").to_str().unwrap().to_owned()
    }

    /// The mount's entry in `/system`'s `disks`.
    fn disk(&self) -> Option<serde_json::Value> {
        let mp = self.mountpoint();
        self.server().get_json("/system")["disks"]
            .as_array()?
            .iter()
            .find(|d| d["mountpoint"] == mp.as_str())
            .cloned()
    }
}

impl Drop for HungMount {
    fn drop(&mut self) {
        let daemon = std::fs::read_to_string(self.dir.join("pid"))
            .ok()
            .and_then(|p| p.trim().parse::<libc::pid_t>().ok());
        if let Some(pid) = daemon {
            // SAFETY: kill(2) on the pid of the daemon this test started; no memory involved.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if let Some(s) = &self.server {
            // The connection is aborted now: detaching the mount cannot block.
            let _ = Command::new("nsenter")
                .args(["-t", &s.pid().to_string(), "-m", "umount", "-l"])
                .arg(self.dir.join("mnt"))
                .output();
        }
        drop(self.server.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_hung_mount_stalls_no_stream_and_is_a_device_error() {
    let rig = HungMount::start();
    let s = rig.server();
    assert!(
        wait_until(30, || rig.disk().is_some_and(|d| d["device_error"] == true)),
        "the hung mount in /system: {:?}\n{}",
        rig.disk(),
        s.log()
    );
    assert!(
        rig.dir.join("statfs").exists(),
        "the daemon was never asked for statfs, so nothing hung"
    );
    assert!(
        rig.disk().unwrap()["fstype"]
            .as_str()
            .is_some_and(|t| t.starts_with("fuse")),
        "{:?}",
        rig.disk()
    );

    // The sampler keeps ticking while the statfs hangs...
    s.wait_ticks(5);
    // ... and a stream keeps sending frames, each with the mount as a device error and `/`
    // measured.
    let mp = rig.mountpoint();
    let mut ws = s.session();
    let mut frames = 0;
    while frames < 5 {
        let msg = ws.read().expect("the stream stopped");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&msg.to_string()) else {
            continue;
        };
        let Some(disks) = v["disks"].as_array() else {
            continue;
        };
        let hung = disks.iter().find(|d| d["mountpoint"] == mp.as_str());
        assert!(hung.is_some_and(|d| d["device_error"] == true), "{v}");
        assert!(v["disk"]["total"].as_f64().is_some_and(|t| t > 0.0), "{v}");
        frames += 1;
    }
    s.wait_ticks(2);
    assert_eq!(rig.disk().unwrap()["device_error"], true);

    // A scrape is not held up either, and node_exporter's `filesystem` family says the same.
    let metrics = common::request(s.addr, "GET", "/metrics", &[], b"").text();
    let error = metrics
        .lines()
        .find(|l| {
            l.starts_with("node_filesystem_device_error{")
                && l.contains(&format!("mountpoint=\"{mp}\""))
        })
        .unwrap_or_else(|| panic!("no device_error series for {mp} in:\n{metrics}"));
    assert!(error.ends_with(" 1"), "{error}");
}
