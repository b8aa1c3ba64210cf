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
    let ok = Command::new("python3")
        .args(["-c", "import requests, websockets"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "this test needs python3 with requests and websockets: python3 -m pip install requests websockets");
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
    for line in readme.lines().filter(|l| l.starts_with("curl ")) {
        let line = line.replace("127.0.0.1:4500", &s.addr.to_string());
        let out = Command::new("sh").args(["-c", &line]).output().unwrap();
        assert!(out.status.success(), "{line}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(v.is_object(), "{line}");
        ran += 1;
    }
    assert!(ran >= 4);
}
