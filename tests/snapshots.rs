//! Snapshots of run summaries: review changes with `cargo insta review` and accept only
//! diffs you can explain.

mod common;

use common::scenario;
use zabsim::{run, RunOptions};

#[test]
fn election_basic_seed_1_summary() {
    let r = run(&scenario("election-basic"), RunOptions::new(1));
    insta::assert_snapshot!(r.to_string());
}

#[test]
fn leader_crash_seed_7_summary() {
    let r = run(&scenario("leader-crash"), RunOptions::new(7));
    insta::assert_snapshot!(r.to_string());
}

#[test]
fn zk_1419_seed_0_violation_report() {
    let r = run(&scenario("zk-1419"), RunOptions::new(0));
    assert!(r.violation.is_some());
    insta::assert_snapshot!(r.to_string());
}

#[test]
fn zk_2845_seed_0_violation_report() {
    let r = run(&scenario("zk-2845"), RunOptions::new(0));
    assert!(r.violation.is_some());
    insta::assert_snapshot!(r.to_string());
}
