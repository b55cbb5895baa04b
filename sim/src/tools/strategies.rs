//! Proptest strategies for fault schedules and scenarios, so that a user can write a
//! `proptest!` over generated schedules against the correct protocol and get proptest's
//! own shrinking (fewer faults, earlier, shorter) when a case fails:
//!
//! ```no_run
//! use proptest::prelude::*;
//! use zabsim::tools::strategies::with_fault_script;
//! use zabsim::{run, RunOptions, Scenario};
//!
//! let base = Scenario::load(std::path::Path::new("scenarios/leader-failover.toml")).unwrap();
//! proptest!(|(s in with_fault_script(base, 6), seed in any::<u64>())| {
//!     let r = run(&s, RunOptions::new(seed));
//!     prop_assert!(r.as_expected(), "{r}");
//! });
//! ```

use crate::scenario::{FaultAction, Scenario, ScriptedFault};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use zab::Sid;

/// The seed the project's property tests draw their cases from, so that a plain
/// `cargo test` (and CI) runs the same cases every time: a new failure then comes from a
/// change, not from the draw.
pub const SUITE_RNG_SEED: u64 = 0x7a61_6273_696d;

/// A proptest configuration with `cases` cases drawn from [`SUITE_RNG_SEED`], unless the
/// environment names another seed (`PROPTEST_RNG_SEED=N cargo test` explores new cases).
pub fn suite_config(cases: u32) -> Config {
    // No regression files: the fixed seed replays a failure, and a file written while
    // exploring another seed would be replayed first by every later run.
    let mut config = Config { cases, failure_persistence: None, ..Config::default() };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(SUITE_RNG_SEED);
    }
    config
}

/// A fault lasting `[100, 5000]` ms that undoes itself: a crash (of a server or of the
/// leader), a partition isolating one or two servers, a one-way cut, or a slow link.
pub fn fault_action(servers: u64) -> impl Strategy<Value = FaultAction> {
    assert!(servers >= 2, "faults need at least two servers");
    let server = 1..=servers;
    let for_ms = 100u64..5000;
    prop_oneof![
        (server.clone(), for_ms.clone()).prop_map(|(server, ms)| FaultAction::Crash { server, for_ms: Some(ms) }),
        for_ms.clone().prop_map(|ms| FaultAction::CrashLeader { for_ms: Some(ms) }),
        (
            prop::sample::subsequence((1..=servers).collect::<Vec<Sid>>(), 1..=2.min(servers as usize - 1)),
            for_ms.clone()
        )
            .prop_map(move |(isolated, ms)| {
                let rest: Vec<Sid> = (1..=servers).filter(|s| !isolated.contains(s)).collect();
                FaultAction::Partition { groups: vec![isolated, rest], for_ms: Some(ms) }
            }),
        (server.clone(), any::<bool>(), for_ms.clone()).prop_map(move |(s, outgoing, ms)| {
            let rest: Vec<Sid> = (1..=servers).filter(|x| *x != s).collect();
            let (from, to) = if outgoing { (vec![s], rest) } else { (rest, vec![s]) };
            FaultAction::Cut { from, to, for_ms: Some(ms) }
        }),
        (server.clone(), server, 10u64..1000, for_ms).prop_filter_map(
            "a slow link joins two servers",
            |(a, b, extra, ms)| {
                (a != b).then_some(FaultAction::SlowLink { from: a, to: b, extra_ms: extra, for_ms: ms })
            }
        ),
    ]
}

/// Up to `max_faults` faults at times within `[0, duration_ms]`, in time order.
pub fn fault_script(servers: u64, duration_ms: u64, max_faults: usize) -> impl Strategy<Value = Vec<ScriptedFault>> {
    prop::collection::vec((0..=duration_ms, fault_action(servers)), 0..=max_faults).prop_map(|mut v| {
        v.sort_by_key(|(at, _)| *at);
        v.into_iter().map(|(at_ms, action)| ScriptedFault { at_ms, action }).collect()
    })
}

/// `base` with its random faults replaced by a generated script of up to `max_faults`
/// faults. The scenario keeps everything else (cluster, timing, network, disk, workload,
/// expectations).
pub fn with_fault_script(base: Scenario, max_faults: usize) -> impl Strategy<Value = Scenario> {
    let (servers, duration) = (base.cluster.servers, base.duration_ms);
    fault_script(servers, duration, max_faults).prop_map(move |script| {
        let mut s = base.clone();
        s.faults.random = None;
        s.faults.swarm = false;
        s.faults.keep_quorum = false;
        s.faults.script = script;
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn generated_scenarios_are_valid() {
        let base =
            Scenario::parse("duration_ms = 5000\nliveness_bound_ms = 30000\n[cluster]\nservers = 5\n", "b").unwrap();
        let mut runner = TestRunner::deterministic();
        for _ in 0..200 {
            let s = with_fault_script(base.clone(), 8).new_tree(&mut runner).unwrap().current();
            s.validate().unwrap_or_else(|e| panic!("{e}: {s:?}"));
            assert!(s.faults.script.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        }
    }
}
