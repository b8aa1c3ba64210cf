//! A real container cgroup, laid out as Docker lays one out on this host (cgroup v1's
//! cgroupfs driver: `<controller>/docker/<id>`; on a pure v2 host `docker-<id>.scope`), with
//! a real process in it, found by the real binary in `/system` and `/metrics`. The container's
//! name comes from a `config.v2.json` below a temporary `--path.rootfs`. Needs root and
//! writable cgroups; skips with a message otherwise.

mod common;
use common::{request, wait_until, Server};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const CGROUP: &str = "/sys/fs/cgroup";
/// The v1 controllers the container joins (`cpuacct` may be `cpu,cpuacct`).
const V1: &[&str] = &["memory", "cpuacct", "pids", "blkio", "freezer"];
/// What the process allocates.
const ALLOCATED: u64 = 8_000_000;

/// The container's cgroup directories, removed (with the process moved out and killed) on drop.
struct Cgroup {
    dirs: Vec<PathBuf>,
    child: Option<Child>,
}

impl Cgroup {
    /// Creates the directories for `id`, or says why it cannot.
    fn create(id: &str) -> Result<Cgroup, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root".into());
        }
        let base = Path::new(CGROUP);
        let dirs: Vec<PathBuf> = if base.join("cgroup.controllers").exists() {
            vec![base.join(format!("docker-{id}.scope"))]
        } else {
            V1.iter()
                .map(|c| base.join(c).join("docker").join(id))
                .collect()
        };
        let mut cg = Cgroup {
            dirs: Vec::new(),
            child: None,
        };
        for d in dirs {
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            cg.dirs.push(d);
        }
        Ok(cg)
    }

    /// Moves `pid` into every directory.
    fn enter(&self, pid: u32) {
        for d in &self.dirs {
            std::fs::write(d.join("cgroup.procs"), pid.to_string())
                .unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            for d in &self.dirs {
                // Back to the hierarchy's root: `.../docker/<id>` → `...`.
                let root = d.ancestors().nth(if self.dirs.len() == 1 { 1 } else { 2 });
                if let Some(root) = root {
                    let _ = std::fs::write(root.join("cgroup.procs"), child.id().to_string());
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for d in &self.dirs {
            for _ in 0..50 {
                if std::fs::remove_dir(d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            if d.parent().is_some_and(|p| p.ends_with("docker")) {
                let _ = std::fs::remove_dir(d.parent().unwrap());
            }
        }
    }
}

/// A `sh` that waits for a line on stdin, then holds about [`ALLOCATED`] bytes and spins.
fn spinner() -> Child {
    Command::new("sh")
        .args([
            "-c",
            "read go; x=$(head -c 8000000 /dev/zero | tr '\\0' a); while :; do :; done",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn sh")
}

fn fake_rootfs(id: &str) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("psmonitor-containers-root-{}", std::process::id()));
    let dir = root.join("var/lib/docker/containers").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.v2.json"),
        r#"{"Name":"/psmonitor-test","Config":{"Image":"busybox:latest"}}"#,
    )
    .unwrap();
    root
}

#[test]
fn a_real_docker_cgroup_is_found_with_its_memory_and_cpu() {
    let id = format!("{:064x}", u128::from(std::process::id()) << 64 | 0xfeed);
    // .ci/run checks that it runs as root with writable cgroups: without them this test
    // cannot run, and fails rather than passing unseen.
    let mut cg = Cgroup::create(&id).unwrap_or_else(|why| {
        panic!("cannot make a container cgroup ({why}); run as root with writable cgroups")
    });
    let mut child = spinner();
    cg.enter(child.id());
    writeln!(child.stdin.take().unwrap(), "go").unwrap();
    cg.child = Some(child);

    let rootfs = fake_rootfs(&id);
    let s = Server::start(&[
        "--interval",
        "200",
        "--path.rootfs",
        rootfs.to_str().unwrap(),
    ]);
    let mut last = serde_json::Value::Null;
    let found = wait_until(15, || {
        let system = s.get_json("/system");
        let Some(c) = system["containers"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["id"] == id.as_str()))
        else {
            return false;
        };
        last = c.clone();
        c["memory_usage"].as_u64().unwrap_or(0) >= ALLOCATED
            && c["cpu_percent"].as_f64() > Some(20.0)
    });
    assert!(
        found,
        "container {id} not found with its memory and CPU: {last}"
    );
    eprintln!("found: {last}");
    assert_eq!(last["name"], "psmonitor-test");
    assert_eq!(last["image"], "busybox:latest");
    assert_eq!(last["runtime"], "docker");
    assert_eq!(last["status"], "running");
    assert!(last["pids"].as_u64() >= Some(1), "{last}");

    let labels = "image=\"busybox:latest\",name=\"psmonitor-test\"";
    let series = |name: &str| -> Option<f64> {
        let text = request(s.addr, "GET", "/metrics", &[], b"").text();
        text.lines().find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            (k.starts_with(&format!("{name}{{"))
                && k.contains(&id)
                && k.ends_with(&format!("{labels}}}")))
            .then(|| v.parse().ok())?
        })
    };
    assert!(
        wait_until(10, || series("container_memory_usage_bytes")
            >= Some(ALLOCATED as f64)),
        "container_memory_usage_bytes for {id}"
    );
    assert!(series("container_cpu_usage_seconds_total") > Some(0.0));
    assert!(series("container_processes") >= Some(1.0));

    // And in the Glances API, with the fields Homepage's container widget reads.
    let glances: serde_json::Value = request(s.addr, "GET", "/api/4/containers", &[], b"").json();
    let g = glances
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("{id} not in /api/4/containers: {glances}"));
    assert_eq!(g["name"], "psmonitor-test");
    assert!(g["memory"]["usage"].as_u64() >= Some(ALLOCATED), "{g}");
    assert!(g["memory"]["inactive_file"].is_u64(), "{g}");
    assert!(g["cpu_percent"].as_f64() > Some(0.0), "{g}");
    drop(cg);
    let _ = std::fs::remove_dir_all(&rootfs);
}
