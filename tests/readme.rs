//! The README's client examples, run as written against the real binary (only the address is
//! changed from 127.0.0.1:4500 to the test server's).

mod common;
use common::Server;
use std::process::Command;

/// The fenced code block that follows `<!-- readme-test: NAME -->` in README.md.
fn example(name: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let marker = format!("<!-- readme-test: {name} -->");
    let after = &readme[readme.find(&marker).expect("marker in README") + marker.len()..];
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
    let s = Server::start(&[]);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
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
    assert!(ran >= 5);
}

#[test]
fn token_example_works_as_written() {
    // The example runs an installed `psmonitor` on port 4500; here it runs this build on a free
    // port, in a scratch directory.
    let port = common::free_port();
    let bin = env!("CARGO_BIN_EXE_psmonitor");
    let script = example("token")
        .replace("127.0.0.1:4500", &format!("127.0.0.1:{port}"))
        .replace(
            "psmonitor --address 0.0.0.0",
            &format!("{bin} --port {port} --address 0.0.0.0"),
        )
        + "kill $!\n";
    let dir = std::env::temp_dir().join(format!("psm-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let system: serde_json::Value =
        serde_json::from_str(lines.next().unwrap_or("")).expect("JSON with the token");
    assert!(system["cpu"].is_object());
    assert_eq!(lines.next(), Some("401"), "{stdout}");
}
