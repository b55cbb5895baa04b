//! The findings the README reports, each pinned to a seed that shows it, so a model change
//! that makes one disappear (or a fix that should) is noticed.

mod common;

use common::{scenario, scenario_path};
use zab::Variant;
use zabsim::scenario::Retire;
use zabsim::Invariant;
use zabsim::{run, RunOptions, Scenario};

fn violation(s: &Scenario, seed: u64, variant: Option<Variant>) -> Option<Invariant> {
    let mut opts = RunOptions::new(seed);
    opts.variant = variant;
    run(s, opts).violation.map(|v| v.invariant)
}

fn finding(name: &str) -> Scenario {
    Scenario::load(&scenario_path(&format!("findings/{name}"))).unwrap()
}

/// README, "A DIFF from the txn log serves stale entries" (the ZOOKEEPER-2846 family,
/// reproduced live by `finding-stale-txnlog-diff`): seed 3 of its shrunk scenario; with
/// DIFFs from the log off (`snapshotSizeFactor` -1, the workaround) the run passes.
#[test]
fn a_sync_from_a_txn_log_a_snap_left_stale_carries_txns_the_leader_never_had() {
    let mut s = finding("stale-txnlog-diff");
    assert_eq!(violation(&s, 3, None), Some(Invariant::SyncFromHistory));
    s.storage.snapshot_size_factor_pct = -1;
    assert_eq!(violation(&s, 3, None), None);
}

/// README, "A dirty snapshot survives TRUNC" (reproduced live by
/// `finding-dirty-snapshot-trunc`): seed 177 of its shrunk scenario.
#[test]
fn a_trunc_reloads_a_leaders_snapshot_of_txns_that_never_committed() {
    assert_eq!(violation(&finding("dirty-snapshot-trunc"), 177, None), Some(Invariant::TruncateCompleteness));
}

/// README, "A TRUNC to a zxid the log lacks keeps the next entry" (reproduced live by
/// `finding-trunc-absent-zxid`): no faults needed.
#[test]
fn a_trunc_to_zero_keeps_the_learners_first_txn() {
    assert_eq!(violation(&finding("trunc-absent-zxid"), 0, None), Some(Invariant::TruncateCompleteness));
}

/// README, "A reconfig storm breaks safety": with the storage findings kept out
/// of the way (DIFFs from the log off), seed 2879 elects two leaders of an epoch and seed 3186
/// loses a committed txn; the candidate fix (an established leader's NEWLEADER carries its
/// configuration in force) clears both.
#[test]
fn a_reconfig_storm_breaks_safety_unless_newleader_carries_the_committed_config() {
    let s = finding("reconfig-storm");
    assert_eq!(violation(&s, 2879, None), Some(Invariant::Leadership));
    assert_eq!(violation(&s, 3186, None), Some(Invariant::LeaderLogCompleteness));
    for seed in [2879, 3186] {
        assert_eq!(violation(&s, seed, Some(Variant::NewLeaderCommittedConfig)), None, "seed {seed}");
    }
}

/// README, "Stopping removed servers as soon as reconfig returns": the new
/// servers wait for a quorum of old servers that are gone (ReconfigLiveness in 133 of seeds
/// 0..1000 with `at-once`).
#[test]
fn stopping_removed_servers_at_once_can_stall_the_new_ensemble() {
    let mut s = scenario("migrate-3-to-3-one-step");
    assert_eq!(violation(&s, 4, None), None, "waiting for the activations keeps it live");
    s.reconfig.as_mut().unwrap().retire = Retire::AtOnce;
    assert_eq!(violation(&s, 4, None), Some(Invariant::ReconfigLiveness));
}

/// README, "A reconfig only proposed is activated and never commits", the route withdrawn: both seeds that showed it had a learner keep a
/// reconfig a SNAP removed from its log in its `.next` file. ZooKeeper does not: the
/// NEWLEADER after that SNAP goes through `QuorumPeer.setLastSeenQuorumVerifier`, which
/// overwrites a newer configuration seen with the leader's (`Learner.syncWithLeader`); the
/// model now does too, and both seeds pass.
#[test]
fn a_reconfig_removed_by_a_later_sync_is_no_longer_activated() {
    assert_eq!(violation(&scenario("migrate-3-to-3"), 6289, None), None);
    assert_eq!(violation(&scenario("rolling-replace"), 821, None), None);
}

/// README, "Stopping removed servers as soon as reconfig returns", as a shrunk
/// reproducer: no fault is needed, the operator's stop is enough.
#[test]
fn retiring_at_once_stalls_without_any_fault() {
    assert_eq!(violation(&finding("retire-at-once"), 4, None), Some(Invariant::ReconfigLiveness));
}

/// README, "A crash between the sync's persistence and currentEpoch blocks the restart" (the ZOOKEEPER-2354 family):
/// a crash between the synced txns' flush and currentEpoch.
#[test]
fn a_crash_between_the_synced_txns_and_current_epoch_fails_the_startup_check() {
    assert_eq!(violation(&finding("sync-crash-window"), 27, None), Some(Invariant::StartupCheck));
}

/// README, "A server whose acceptedEpoch is ahead cannot rejoin": a leader persists the
/// epoch it proposes (`Leader.getEpochToPropose`) before any follower accepts it, twice;
/// the others then establish a lower epoch, which `Learner.registerWithLeader` refuses.
#[test]
fn a_server_that_persisted_an_epoch_nobody_accepted_cannot_rejoin() {
    let s = finding("accepted-epoch-ahead");
    assert_eq!(violation(&s, 1452916811379324612, None), Some(Invariant::AcceptedEpochAhead));
}

/// A reconfig that a stale leader proposes and that never commits stays the newest
/// configuration seen (`lastSeenQuorumVerifier`) on the servers that logged it, and FLE
/// then needs a majority of it too (`FastLeaderElection.getVoteTracker`): leader 3, cut off
/// from voters 2 and 4 but still leading for up to a tick, proposes step 2 with joiner 5 as
/// its synced quorum of the new voters 3,4,5; 3 and 5 can then never follow 4, which the
/// others elected without that txn. Without the partition the same seed migrates.
#[test]
fn a_reconfig_proposed_by_a_stale_leader_keeps_its_loggers_out_for_good() {
    let s = finding("stale-pending-reconfig");
    let seed = 31518549553455241;
    let r = run(&s, RunOptions::new(seed));
    let v = r.violation.expect("the servers that logged the reconfig never rejoin");
    assert_eq!(v.invariant, Invariant::PendingConfigLiveness);
    assert!(v.detail.contains("3:LOOKING") && v.detail.contains("5:LOOKING"), "{}", v.detail);
    let mut healthy = s.clone();
    healthy.faults.script.clear();
    assert_eq!(violation(&healthy, seed, None), None);
}

/// A TRUNC's cut is not fsynced (`FileTxnLog.truncate`) but the currentEpoch written at
/// NEWLEADER is: on a file system that does not order metadata, a power loss brings the
/// truncated txn back on a server with the newest
/// epoch, which then wins and commits it below the zxid clients already saw (a leader of an
/// empty epoch, `startZkServer`), so `DataTree.setWatches` never fires their data watch.
/// With the cut written back before the crash, or with ordered metadata, the seed passes.
#[test]
fn a_truncated_txn_a_power_loss_brings_back_commits_below_what_clients_saw() {
    let s = finding("lost-trunc-watch");
    assert!(!s.disk.ordered_metadata, "the window needs a file system that does not order metadata");
    assert_eq!(violation(&s, 204, None), Some(Invariant::SeenZxidCompleteness));
    let mut written_back = s.clone();
    written_back.disk.writeback_ms = 1000;
    assert_eq!(violation(&written_back, 204, None), None);
    // ext4 and XFS: the currentEpoch fsync commits the journal, and the cut with it.
    let mut ordered = s;
    ordered.disk.ordered_metadata = true;
    assert_eq!(violation(&ordered, 204, None), None);
}

/// A reconfig only proposed, activated at UPTODATE by two new voters that synced with the
/// old leader while it was outstanding: NEWLEADER carries the leader's newest configuration
/// seen (`Leader.getQuorumVerifierBytes`), the leader does not vote in it, so each gives up
/// the sync (`Learner.syncWithLeader`) before logging the outstanding reconfig, and the two,
/// a quorum of the new configuration, elect a leader whose log ends before it. Seed 393 of
/// `migrate-3-to-3-one-step` and its shrunk scenario; an established leader's NEWLEADER
/// carrying its configuration in force (the candidate fix) clears both.
#[test]
fn new_voters_that_activate_a_proposed_reconfig_at_uptodate_elect_a_leader_without_it() {
    for s in [finding("uptodate-leaves-reconfig-unlogged"), scenario("migrate-3-to-3-one-step")] {
        assert_eq!(violation(&s, 393, None), Some(Invariant::UncommittedConfigActivated), "{}", s.name);
        assert_eq!(violation(&s, 393, Some(Variant::NewLeaderCommittedConfig)), None, "{}", s.name);
    }
}

/// A reconfig only proposed, handed by a leader cut off before anyone logged it, which has
/// not yet noticed it lost its quorum, to a joiner that follows it: the LOOKING voters
/// answer a non-voter with their vote of the last election (`FastLeaderElection`'s
/// `WorkerReceiver`), the stale leader's notification completes that quorum, its NEWLEADER
/// carries the reconfig, the joiner activates it at UPTODATE and the stale leader adopts it
/// from the joiner's notification once it steps down; the next epoch's leader never had
/// it. Seed 411 of `rolling-replace` and its shrunk scenario; the candidate fix clears both.
#[test]
fn a_stale_leader_hands_a_reconfig_nobody_else_logged_to_a_joiner() {
    for s in [finding("stale-leader-hands-reconfig"), scenario("rolling-replace")] {
        assert_eq!(violation(&s, 411, None), Some(Invariant::UncommittedConfigActivated), "{}", s.name);
        assert_eq!(violation(&s, 411, Some(Variant::NewLeaderCommittedConfig)), None, "{}", s.name);
    }
}

/// README, "A TRUNC sync keeps the txns committed before NEWLEADER only in an unsynced
/// snapshot": seed 132 of its shrunk scenario; with the page cache written back within
/// 100 ms, or with a leader that applies its txns as it commits them, the run passes.
#[test]
fn a_power_loss_takes_the_only_copy_of_txns_a_trunc_sync_applied_before_newleader() {
    let mut s = finding("trunc-snapshot-power-loss");
    assert_eq!(violation(&s, 132, None), Some(Invariant::ProcessConsistency));
    let mut fast_writeback = s.clone();
    fast_writeback.disk.writeback_ms = 100;
    assert_eq!(violation(&fast_writeback, 132, None), None);
    s.timing.commit_processor_us = 0;
    assert_eq!(violation(&s, 132, None), None);
}

/// README, *Variants* (ZOOKEEPER-5094): seed 249 of `zk-5094` goes back to LOOKING with a
/// txn in memory that its files lack; with the proposed fix (`zk-5094-fix`), or with the
/// txns applied as they commit, it does not (it may run on into a known finding).
#[test]
fn an_interrupted_trunc_sync_votes_with_a_zxid_its_files_lack() {
    let mut s = scenario("zk-5094");
    assert_eq!(violation(&s, 249, None), Some(Invariant::LastLoggedZxid));
    let v = violation(&s, 249, Some(Variant::Zk5094Fix));
    assert!(v.is_none_or(|i| s.expect.known.contains(&i)), "the proposed fix: {v:?}");
    s.timing.commit_processor_us = 0;
    let v = violation(&s, 249, None);
    assert!(v.is_none_or(|i| s.expect.known.contains(&i)), "{v:?}");
}

/// README, "A TRUNC sync keeps the txns committed before NEWLEADER only in an unsynced
/// snapshot", its other route: seeds 2067 and 6299 of `zk-5094` TRUNC a learner whose log
/// holds committed txns the leader has not applied, which leaves them on one log of three.
#[test]
fn a_trunc_to_the_applied_point_cuts_committed_txns_from_the_learners_log() {
    let s = scenario("zk-5094");
    for seed in [2067, 6299] {
        assert_eq!(violation(&s, seed, None), Some(Invariant::CommittedLogDurability), "seed {seed}");
    }
}
