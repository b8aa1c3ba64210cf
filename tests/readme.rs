//! The examples of README.md and docs/, run as written against the real binary (only the
//! address is changed from 127.0.0.1:4500 to the test server's).

mod common;
use common::Server;
use std::process::Command;

/// README.md and every page of docs/, one after the other.
fn documents() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    let mut text = std::fs::read_to_string(root.join("README.md")).unwrap();
    for page in pages {
        text.push_str(&std::fs::read_to_string(page).unwrap());
    }
    text
}

/// The fenced code block that follows `<!-- readme-test: NAME -->` in README.md or docs/.
fn example(name: &str) -> String {
    let readme = documents();
    let marker = format!("<!-- readme-test: {name} -->");
    let after = &readme[readme.find(&marker).expect("marker in the docs") + marker.len()..];
    let start = after.find("```").unwrap();
    let body = &after[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_owned()
}

#[test]
fn python_example_works_as_written() {
    common::ensure_python("requests, websockets", &["requests", "websockets"]);
    let s = Server::start(&["--interval", "200"]);
    let code = example("python").replace("127.0.0.1:4500", &s.addr.to_string());
    let out = Command::new("python3")
        .args(["-c", &code])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "connected to monitor, transmitting data...");
    assert_eq!(lines.len(), 4, "{stdout}");
    for l in &lines[1..] {
        let parts: Vec<&str> = l.split_whitespace().collect();
        assert!(
            parts[0].parse::<f64>().is_ok() && parts[1].parse::<f64>().is_ok(),
            "{l}"
        );
    }
}

#[test]
fn curl_examples_answer() {
    let s = Server::start(&["--fleet", "pi.lan:4500"]);
    let readme = documents();
    let mut ran = 0;
    // Every standalone curl line (the token example is run as a whole below).
    for line in readme
        .lines()
        .filter(|l| l.starts_with("curl ") && !l.contains("token"))
    {
        let line = line.replace("127.0.0.1:4500", &s.addr.to_string());
        let out = Command::new("sh").args(["-c", &line]).output().unwrap();
        assert!(out.status.success(), "{line}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.trim().is_empty(), "{line} printed something");
        if text.starts_with('{') || text.starts_with('[') {
            serde_json::from_str::<serde_json::Value>(&text).expect("JSON");
        }
        ran += 1;
    }
    assert!(ran >= 12, "{ran} curl lines");
}

/// Runs the example `name`, a shell script that starts an installed `psmonitor` on port 4500:
/// here this build on a free port, in a scratch directory, stopped at the end. Its stdout.
fn run_example(name: &str) -> String {
    let port = common::free_port();
    let bin = env!("CARGO_BIN_EXE_psmonitor");
    let script = example(name)
        .replace("127.0.0.1:4500", &format!("127.0.0.1:{port}"))
        .replace("psmonitor --", &format!("{bin} --port {port} --"))
        + "kill $!\n";
    let dir = std::env::temp_dir().join(format!("psm-readme-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn token_example_works_as_written() {
    let stdout = run_example("token");
    let mut lines = stdout.lines();
    let system: serde_json::Value =
        serde_json::from_str(lines.next().unwrap_or("")).expect("JSON with the token");
    assert!(system["cpu"].is_object());
    assert_eq!(lines.next(), Some("401"), "{stdout}");
}

#[test]
fn cors_example_works_as_written() {
    let stdout = run_example("cors");
    let lines: Vec<String> = stdout.lines().map(|l| l.trim().to_lowercase()).collect();
    assert_eq!(
        lines,
        ["access-control-allow-origin: http://pi.lan:4500", "0"],
        "{stdout}"
    );
}

/// README is a front door (at most 250 lines, with the dashboard's picture, at most 150 KB);
/// every relative link in it and in docs/ names a file that exists.
#[test]
fn readme_is_short_and_every_link_resolves() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines");
    let picture = std::fs::read(root.join("docs/dashboard.png")).expect("docs/dashboard.png");
    assert!(picture.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(picture.len() <= 150 * 1024, "{} bytes", picture.len());
    let mut pages = vec![(root.to_path_buf(), readme)];
    for e in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push((root.join("docs"), std::fs::read_to_string(&p).unwrap()));
        }
    }
    let mut checked = 0;
    for (dir, text) in &pages {
        for link in text.split("](").skip(1) {
            let target = &link[..link.find(')').unwrap_or(0)];
            let file = target.split('#').next().unwrap();
            if file.is_empty() || target.contains("://") || target.contains(' ') {
                continue;
            }
            assert!(
                dir.join(file).exists(),
                "a link to {target} from {}",
                dir.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked} links");
}
