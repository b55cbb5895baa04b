//! The committed corpus against the model: every decision a real ensemble made matches the
//! model's, or is a declared known difference with its cause.

use crate::compare::{failures, rows, table};
use crate::corpus::{default_dir, load_dir, load_known, Recorded};

#[test]
fn the_recorded_corpus_matches_the_model_or_declares_why_not() {
    let dir = default_dir();
    let cases = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let known = load_known(&dir).unwrap_or_else(|e| panic!("{e}"));
    let rows = rows(&cases, &known);
    let bad = failures(&rows, &known);
    assert!(bad.is_empty(), "divergences from the real ZooKeeper:\n{}\n\n{}", bad.join("\n"), table(&rows));
}

#[test]
fn every_recorded_case_names_its_version_and_steps() {
    let cases = load_dir(&default_dir()).unwrap_or_else(|e| panic!("{e}"));
    for c in &cases {
        assert!(c.zookeeper_version.starts_with("3."), "{}: version `{}`", c.case, c.zookeeper_version);
        assert!(!c.steps.is_empty(), "{}: no steps", c.case);
        assert!(!c.decisions.is_empty(), "{}: no decisions", c.case);
    }
}

#[test]
fn recorded_syncs_carry_the_leaders_files() {
    let cases = load_dir(&default_dir()).unwrap_or_else(|e| panic!("{e}"));
    for c in &cases {
        for d in &c.decisions {
            if let Recorded::Sync(s) = d {
                for f in &s.txn_logs {
                    assert!(
                        f.zxids.iter().all(|z| *z >= f.start_zxid),
                        "{}: {} holds a zxid before its name",
                        c.case,
                        f.name
                    );
                }
            }
        }
    }
}
