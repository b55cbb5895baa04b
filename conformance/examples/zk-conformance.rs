//! `zk-conformance`: record the corpus from a real ZooKeeper ensemble, compare it with the
//! model, print the table.
//!
//! ```text
//! cargo run -p zab-conformance --example zk-conformance -- table
//! cargo run -p zab-conformance --example zk-conformance -- check
//! cargo run -p zab-conformance --example zk-conformance -- record [CASE-FILTER...]
//! ```
//!
//! `record` retries a case whose run is void for timing reasons (`ZK_ATTEMPTS`, 3 by
//! default, within `ZK_LIVE_BUDGET_S`, 600 s by default) and fails on any other error,
//! on a case void in every attempt, and on an undeclared divergence.

use std::process::ExitCode;
use zab_conformance::{compare, corpus, live};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::env::var_os("ZK_CORPUS_DIR").map(std::path::PathBuf::from).unwrap_or_else(corpus::default_dir);
    match args.first().map(String::as_str) {
        Some("record") => {
            let outcomes = live::record(&args[1..], &dir);
            let mut failed = false;
            for o in &outcomes {
                if let Some(e) = &o.error {
                    failed = true;
                    eprintln!("case {} failed after {} attempt(s): {e}", o.case, o.attempts);
                    for (i, v) in o.voids.iter().enumerate() {
                        eprintln!("  void attempt {}: {v}", i + 1);
                    }
                }
            }
            if failed {
                return ExitCode::FAILURE;
            }
            compare_and_print(&dir, false)
        }
        Some("table") => compare_and_print(&dir, true),
        Some("check") => compare_and_print(&dir, false),
        Some("list") => {
            for c in live::cases::CASES {
                println!("{:40} {}", c.name, c.description);
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: zk-conformance record [CASE-FILTER...] | check | table | list");
            ExitCode::from(2)
        }
    }
}

fn compare_and_print(dir: &std::path::Path, table: bool) -> ExitCode {
    let loaded = corpus::load_dir(dir).and_then(|c| corpus::load_known(dir).map(|k| (c, k)));
    let (cases, known) = match loaded {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let rows = compare::rows(&cases, &known);
    if table {
        print!("{}", compare::table(&rows));
    }
    let bad = compare::failures(&rows, &known);
    for b in &bad {
        eprintln!("divergence: {b}");
    }
    if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
