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

/// The configuration timeline, the operator's steps and the leader handoff of a one-step
/// migration.
#[test]
fn migrate_3_to_3_one_step_seed_2_summary() {
    let r = run(&scenario("migrate-3-to-3-one-step"), RunOptions::new(2));
    insta::assert_snapshot!(r.to_string());
}

#[test]
fn zk_2172_seed_0_violation_report() {
    let r = run(&scenario("zk-2172"), RunOptions::new(0));
    assert!(r.violation.is_some());
    insta::assert_snapshot!(r.to_string());
}
