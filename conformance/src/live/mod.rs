//! The live harness: a real ZooKeeper ensemble on 127.0.0.1 (see the README's
//! "Conformance against a real ZooKeeper"). Wall-clock waits and threads' sleeps are its
//! nature; nothing here runs inside a simulation.
#![allow(clippy::disallowed_methods)]

pub mod cases;
pub mod client;
pub mod ensemble;
pub mod extract;
pub mod finding;
pub mod finding_dirty;
pub mod finding_trunc;
pub mod logwatch;
pub mod run;

use crate::corpus::CaseRecord;
use std::path::Path;
use std::time::{Duration, Instant};

/// How many attempts a case gets when a run is void (`ZK_ATTEMPTS`, 3 by default).
pub fn attempts() -> u32 {
    std::env::var("ZK_ATTEMPTS").ok().and_then(|v| v.parse().ok()).filter(|&n| n >= 1).unwrap_or(3)
}

/// Wall-clock budget of a whole `record` (`ZK_LIVE_BUDGET_S`, 600 s by default): no
/// retry starts once the next attempt would likely end past it.
pub fn budget() -> Duration {
    Duration::from_secs(std::env::var("ZK_LIVE_BUDGET_S").ok().and_then(|v| v.parse().ok()).unwrap_or(600))
}

/// Whether a script's error says the run was void for timing reasons: the ensemble did
/// not take the path the script needs (another leader, a freeze landing too early or too
/// late), or a wall-clock wait ran out. Anything else (I/O, a protocol error, a parse
/// error of a data dir) is a failure of its own and is not retried.
pub fn is_void(err: &str) -> bool {
    const VOID: [&str; 6] =
        ["void run", "the script wants", "timed out waiting for", "did not log", "did not vote", "never led"];
    VOID.iter().any(|v| err.contains(v))
}

/// One case's outcome in `record`.
pub struct Outcome {
    pub case: String,
    /// Attempts made, and the void errors of those that did not record.
    pub attempts: u32,
    pub voids: Vec<String>,
    /// A failure: a non-void error, every attempt void, or the record not written.
    pub error: Option<String>,
}

/// Runs the cases whose names contain one of `filters` (all when empty) and writes each
/// record to `out/<case>.json`. A void run (see [`is_void`]) is retried, up to
/// [`attempts`] in all and within [`budget`]; the case fails when every attempt is void.
pub fn record(filters: &[String], out: &Path) -> Vec<Outcome> {
    let (max, budget, t0) = (attempts(), budget(), Instant::now());
    let mut outcomes = Vec::new();
    for case in cases::CASES {
        if !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f.as_str())) {
            continue;
        }
        eprintln!("case {}: {}", case.name, case.description);
        let mut o = Outcome { case: case.name.to_string(), attempts: 0, voids: Vec::new(), error: None };
        loop {
            o.attempts += 1;
            let t = Instant::now();
            match record_one(case) {
                Ok(rec) => {
                    let file = out.join(format!("{}.json", case.name));
                    let text = serde_json::to_string_pretty(&rec).unwrap_or_default() + "\n";
                    if let Err(e) = std::fs::write(&file, text) {
                        o.error = Some(format!("{}: {e}", file.display()));
                    } else {
                        eprintln!(
                            "  wrote {} ({} decisions; attempt {}/{max})",
                            file.display(),
                            rec.decisions.len(),
                            o.attempts
                        );
                    }
                    break;
                }
                Err(e) if is_void(&e) => {
                    eprintln!("  attempt {}/{max} void: {e}", o.attempts);
                    o.voids.push(e);
                    let took = t.elapsed();
                    if o.attempts >= max {
                        o.error = Some(format!("void in all {} attempts", o.attempts));
                        break;
                    }
                    if t0.elapsed() + took > budget {
                        o.error = Some(format!("void after {} attempts; no time left for another", o.attempts));
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("  FAILED (attempt {}/{max}): {e}", o.attempts);
                    o.error = Some(e);
                    break;
                }
            }
        }
        outcomes.push(o);
    }
    let retried: Vec<String> = outcomes
        .iter()
        .filter(|o| o.attempts > 1)
        .map(|o| format!("{} ({} attempts{})", o.case, o.attempts, if o.error.is_some() { ", failed" } else { "" }))
        .collect();
    eprintln!(
        "recorded {} of {} cases in {:.0} s; retried after a void run: {}",
        outcomes.iter().filter(|o| o.error.is_none()).count(),
        outcomes.len(),
        t0.elapsed().as_secs_f64(),
        if retried.is_empty() { "none".to_string() } else { retried.join(", ") }
    );
    outcomes
}

fn record_one(case: &cases::Case) -> Result<CaseRecord, String> {
    let mut r = run::Run::new(case.name, case.servers, (case.settings)())?;
    r.record_elections = case.elections;
    (case.script)(&mut r)?;
    let rec = r.finish(case.name, case.description)?;
    if rec.decisions.is_empty() {
        return Err("no decisions recorded".into());
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::is_void;

    #[test]
    fn timing_errors_are_void_and_others_are_not() {
        assert!(is_void("void run: server 2 logged P"));
        assert!(is_void("leader of epoch 1 is 2, the script wants 3"));
        assert!(is_void("timed out waiting for servers to serve"));
        assert!(is_void("server 3 did not log \"=LEADING\" within 3s"));
        assert!(!is_void("read: connection reset by peer"));
        assert!(!is_void("/x/version-2/log.1: magic 0x00000000 is not ZKLG"));
        assert!(!is_void("no decisions recorded"));
    }
}
