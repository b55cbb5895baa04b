//! Property tests over generated fault schedules (`zabsim::tools::strategies`): the correct
//! protocol breaks no invariant whatever the schedule. A failing case shrinks with
//! proptest's own shrinking to the fewest, earliest, shortest faults that still fail.

use proptest::prelude::*;
use zabsim::tools::strategies::{suite_config, with_fault_script};
use zabsim::{run, RunOptions, Scenario};

/// Five servers without load. A crash between the snapshot a SNAP-synced follower takes at
/// NEWLEADER and its currentEpoch write hits ZooKeeper 3.9's own startup window (README,
/// "Findings"); the findings are declared known as in the shipped scenarios.
fn election_base() -> Scenario {
    Scenario::parse(
        "duration_ms = 20000\nliveness_bound_ms = 60000\n[expect]\nknown = [\"StartupCheck\", \"SyncFromHistory\", \"TruncateCompleteness\", \"AcceptedEpochAhead\"]\n\
         [cluster]\nservers = 5\n\
         [network]\ndelay = { dist = \"uniform\", min_us = 200, max_us = 5000 }\n",
        "election-under-scripted-faults",
    )
    .unwrap()
}

/// Three servers under load. Crashes and cuts here reach ZooKeeper's own findings (README,
/// "Findings"): the startup window, a DIFF served from a stale txn log and a dirty snapshot
/// surviving TRUNC, which every base here declares known, as the shipped scenarios do.
fn broadcast_base() -> Scenario {
    Scenario::parse(
        "duration_ms = 8000\nliveness_bound_ms = 60000\n[expect]\nknown = [\"StartupCheck\", \"SyncFromHistory\", \"TruncateCompleteness\", \"AcceptedEpochAhead\"]\n\
         [cluster]\nservers = 3\n[workload]\nclients = 3\nmin_interval_us = 2000\nmax_interval_us = 20000\n",
        "broadcast-under-scripted-faults",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(suite_config(96))]

    #[test]
    fn elections_recover_from_any_fault_schedule(s in with_fault_script(election_base(), 8), seed in any::<u64>()) {
        let r = run(&s, RunOptions::new(seed));
        prop_assert!(r.as_expected(), "{}\nscript: {:?}", r, s.faults.script);
    }
}

proptest! {
    #![proptest_config(suite_config(32))]

    #[test]
    fn broadcast_keeps_every_invariant_under_any_fault_schedule(
        s in with_fault_script(broadcast_base(), 6),
        seed in any::<u64>(),
    ) {
        let r = run(&s, RunOptions::new(seed));
        prop_assert!(r.as_expected(), "{}\nscript: {:?}", r, s.faults.script);
    }
}

/// The service-failover workload on three servers: instances crash at random (their own
/// stream), and the generated schedule crashes and partitions the servers.
fn failover_base() -> Scenario {
    Scenario::parse(
        "duration_ms = 8000\nliveness_bound_ms = 30000\n[expect]\nknown = [\"StartupCheck\", \"SyncFromHistory\", \"TruncateCompleteness\", \"AcceptedEpochAhead\"]\n\
         [cluster]\nservers = 3\n[timing]\ntick_ms = 500\n\
         [service_failover]\ninstances = 2\nclients = 3\nsession_timeout_ms = 2000\n\
         [service_failover.faults]\nmin_interval_ms = 500\nmax_interval_ms = 2000\ndown_min_ms = 200\n\
         down_max_ms = 4000\ncrash_instance = 2\nisolate_client = 1\npause_client = 1\n",
        "failover-under-scripted-faults",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(suite_config(32))]

    #[test]
    fn service_failover_keeps_every_invariant_under_any_fault_schedule(
        s in with_fault_script(failover_base(), 6),
        seed in any::<u64>(),
    ) {
        let r = run(&s, RunOptions::new(seed));
        prop_assert!(r.as_expected(), "{}\nscript: {:?}", r, s.faults.script);
    }
}

/// A migration of servers 1-3 to 4-6, one swap per step, under the failover workload: the
/// generated schedule crashes and partitions old, new and removed servers alike, during
/// and between the steps.
fn migration_base() -> Scenario {
    Scenario::parse(
        "duration_ms = 8000\nliveness_bound_ms = 40000\n[expect]\nknown = [\"StartupCheck\", \"SyncFromHistory\", \"TruncateCompleteness\", \"AcceptedEpochAhead\", \"UncommittedConfigActivated\", \"PendingConfigLiveness\"]\n\
         [cluster]\nservers = 6\n[timing]\ntick_ms = 500\n\
         [reconfig]\ninitial = [1, 2, 3]\nstart_ms = 1000\ninterval_ms = 1000\n\
         steps = [{ add = [4], remove = [1] }, { add = [5], remove = [2] }, { add = [6], remove = [3] }]\n\
         [service_failover]\ninstances = 2\nclients = 2\nsession_timeout_ms = 2000\n",
        "migration-under-scripted-faults",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(suite_config(24))]

    #[test]
    fn a_migration_keeps_every_invariant_under_any_fault_schedule(
        s in with_fault_script(migration_base(), 6),
        seed in any::<u64>(),
    ) {
        let r = run(&s, RunOptions::new(seed));
        prop_assert!(r.as_expected(), "{}\nscript: {:?}", r, s.faults.script);
    }
}
