//! `psmonitor snapshot`: one JSON object on stdout, no port opened. For cron jobs and boards
//! where a server is not wanted.

use crate::collect::Collector;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// How long CPU usage and rates are measured over.
const WINDOW: Duration = Duration::from_millis(250);

/// Collects twice, `WINDOW` apart, so CPU usage and network rates are real, then prints.
pub fn run(network: bool, pretty: bool) -> ExitCode {
    let mut c = Collector::default();
    c.sample(true);
    std::thread::sleep(WINDOW);
    let snap = c.sample(true);
    let json = match (network, pretty) {
        (false, false) => serde_json::to_string(&snap.system),
        (false, true) => serde_json::to_string_pretty(&snap.system),
        (true, false) => serde_json::to_string(&snap.network),
        (true, true) => serde_json::to_string_pretty(&snap.network),
    };
    let out = json.map_err(|e| e.to_string()).and_then(|j| {
        let mut o = std::io::stdout().lock();
        writeln!(o, "{j}").map_err(|e| e.to_string())
    });
    match out {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "psmonitor: snapshot failed: {e}");
            ExitCode::from(1)
        }
    }
}
