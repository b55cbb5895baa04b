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
pub mod run;

use crate::corpus::CaseRecord;
use std::path::Path;

/// Runs the cases whose names contain one of `filters` (all when empty) and writes each
/// record to `out/<case>.json`. Returns the failures (case, error).
pub fn record(filters: &[String], out: &Path) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    for case in cases::CASES {
        if !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f.as_str())) {
            continue;
        }
        eprintln!("case {}: {}", case.name, case.description);
        match record_one(case) {
            Ok(rec) => {
                let file = out.join(format!("{}.json", case.name));
                let text = serde_json::to_string_pretty(&rec).unwrap_or_default() + "\n";
                if let Err(e) = std::fs::write(&file, text) {
                    failures.push((case.name.to_string(), format!("{}: {e}", file.display())));
                } else {
                    eprintln!("  wrote {} ({} decisions)", file.display(), rec.decisions.len());
                }
            }
            Err(e) => {
                eprintln!("  FAILED: {e}");
                failures.push((case.name.to_string(), e));
            }
        }
    }
    failures
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
