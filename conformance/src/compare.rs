//! The recorded corpus against the model: one row per decision, and the table the README
//! shows.

use crate::corpus::{CaseRecord, KnownDifferences, Recorded};
use crate::model;

/// One decision, the real server's and the model's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub case: String,
    pub decision: usize,
    pub what: String,
    pub real: String,
    pub model: String,
    pub matches: bool,
    /// The declared cause, when this row is a known difference.
    pub known: Option<String>,
}

/// Compares one recorded decision with the model's.
pub fn compare(d: &Recorded) -> (String, String) {
    match d {
        Recorded::Sync(s) => (s.real.to_string(), model::model_sync_decision(s).to_string()),
        Recorded::Election(e) => {
            let real = format!("{} {}", e.real_state, e.real_vote);
            let m = match model::model_election(e) {
                Ok((v, st)) => format!("{st} {v}"),
                Err(err) => format!("error: {err}"),
            };
            (real, m)
        }
        Recorded::Epoch(e) => (format!("epoch {}", e.real_epoch), format!("epoch {}", model::model_epoch(e))),
        Recorded::Client(c) => (c.real.clone(), model::model_client(c)),
        Recorded::Reconfig(r) => {
            let real = format!("voters {:?} version {}", r.real_voters, r.real_version);
            let m = match model::model_reconfig(r) {
                Ok((v, ver)) => format!("voters {v:?} version {ver}"),
                Err(err) => format!("error: {err}"),
            };
            (real, m)
        }
    }
}

pub fn rows(cases: &[CaseRecord], known: &KnownDifferences) -> Vec<Row> {
    let mut out = Vec::new();
    for c in cases {
        for (i, d) in c.decisions.iter().enumerate() {
            let (real, m) = compare(d);
            let known = known.differences.iter().find(|k| k.case == c.case && k.decision == i).map(|k| k.cause.clone());
            out.push(Row {
                case: c.case.clone(),
                decision: i,
                what: d.label(),
                matches: real == m,
                real,
                model: m,
                known,
            });
        }
    }
    out
}

/// Rows that differ and are not declared, and declarations that name no differing row.
pub fn failures(rows: &[Row], known: &KnownDifferences) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .filter(|r| !r.matches && r.known.is_none())
        .map(|r| format!("{} #{} {}: real {} / model {}", r.case, r.decision, r.what, r.real, r.model))
        .collect();
    for k in &known.differences {
        if !rows.iter().any(|r| r.case == k.case && r.decision == k.decision && !r.matches) {
            out.push(format!(
                "{} #{}: declared a known difference, but it matches (or does not exist)",
                k.case, k.decision
            ));
        }
    }
    out
}

/// The Markdown table: case, decision, real, model, match.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from("| case | decision | real | model | match |\n|---|---|---|---|---|\n");
    for r in rows {
        let m = match (&r.known, r.matches) {
            (_, true) => "yes".to_string(),
            (Some(_), false) => "no (known)".to_string(),
            (None, false) => "**NO**".to_string(),
        };
        s.push_str(&format!("| {} | {} | {} | {} | {} |\n", r.case, r.what, r.real, r.model, m));
    }
    let n = rows.len();
    let ok = rows.iter().filter(|r| r.matches).count();
    s.push_str(&format!("\n{ok} of {n} decisions match.\n"));
    s
}
