//! The findings the README reports, each pinned to a seed that shows it, so a model change
//! that makes one disappear (or a fix that should) is noticed.

mod common;

use common::{scenario, scenario_path};
use zab::Variant;
use zabsim::checker::Invariant;
use zabsim::scenario::Retire;
use zabsim::{run, RunOptions, Scenario};

fn violation(s: &Scenario, seed: u64, variant: Option<Variant>) -> Option<Invariant> {
    let mut opts = RunOptions::new(seed);
    opts.variant = variant;
    run(s, opts).violation.map(|v| v.invariant)
}

/// README, "A finding: a reconfig storm breaks safety": seed 3145 elects two leaders of
/// epoch 7; the candidate fix does not.
#[test]
fn a_reconfig_storm_elects_two_leaders_of_an_epoch_unless_newleader_carries_the_committed_config() {
    let s = Scenario::load(&scenario_path("findings/reconfig-storm")).unwrap();
    assert_eq!(violation(&s, 3145, None), Some(Invariant::Leadership));
    let fixed = violation(&s, 3145, Some(Variant::NewLeaderCommittedConfig));
    assert!(
        !matches!(
            fixed,
            Some(Invariant::Leadership | Invariant::LeaderLogCompleteness | Invariant::CommittedLogDurability)
        ),
        "{fixed:?}"
    );
}

/// README, "A finding: stopping removed servers as soon as reconfig returns": the new
/// servers wait for a quorum of old servers that are gone.
#[test]
fn stopping_removed_servers_at_once_can_stall_the_new_ensemble() {
    let mut s = scenario("migrate-3-to-3-one-step");
    assert_eq!(violation(&s, 3, None), None, "waiting for the activations keeps it live");
    s.reconfig.as_mut().unwrap().retire = Retire::AtOnce;
    assert_eq!(violation(&s, 3, None), Some(Invariant::ReconfigLiveness));
}

/// README, "A finding: a reconfig that never committed can be activated by a later
/// leader": one seed per path (the txn lost in a crash, the txn truncated away).
#[test]
fn a_reconfig_that_never_committed_is_activated_by_a_later_leader() {
    assert_eq!(violation(&scenario("migrate-3-to-3"), 6289, None), Some(Invariant::ConfigActivation));
    assert_eq!(violation(&scenario("rolling-replace"), 821, None), Some(Invariant::ConfigActivation));
}
