//! Seed sweeps of the shipped scenarios: the correct protocol never breaks an invariant
//! (beyond what a scenario declares ZooKeeper itself breaks), and every bug variant is
//! caught by an invariant its scenario names.
//!
//! Sized for CI (debug build, two cores). Long sweeps are opt-in:
//! `ZABSIM_SWEEP_SEEDS=10000 cargo test --release --test sweeps -- --nocapture`.

mod common;

use common::{scenario, shipped};
use zab::Variant;
use zabsim::tools::sweep::{sweep, SweepOptions};

fn env_seeds() -> Option<u64> {
    std::env::var("ZABSIM_SWEEP_SEEDS").ok().and_then(|s| s.parse().ok())
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn the_correct_protocol_passes_every_shipped_scenario() {
    let mut total = 0;
    for name in shipped() {
        let s = scenario(&name);
        if s.variant == Variant::None && !s.expect.violation.is_empty() {
            // A scenario built to show a bug ZooKeeper itself has (`zk-5094`): the bug
            // test below sweeps it.
            continue;
        }
        // Client load makes a run a hundred times longer than an election alone.
        let default = match (s.workload.is_some(), s.faults.random.is_some() || s.faults.swarm) {
            _ if s.service_failover.is_some() => 100,
            (true, _) => 30,
            (false, true) => 1000,
            (false, false) => 300,
        };
        let n = env_seeds().unwrap_or(default);
        let opts = SweepOptions { variant: Some(Variant::None), ..SweepOptions::new(0..n, jobs()) };
        let (summary, _) = sweep(&s, &opts);
        assert!(summary.as_expected(), "{name} with --variant none failed: {summary}");
        println!("{name}: {} seeds, {:?}", summary.seeds, summary.violations);
        total += n;
    }
    assert!(total >= 2000, "the sweep covers some thousands of seeds ({total})");
}

/// For each bug scenario, a window of seeds known to hold a catch (how often each variant
/// is caught over thousands of seeds is in the README). If a model change moves the
/// catches, find new ones with `zabsim sweep scenarios/NAME.toml --seeds 0..2000`.
const CATCH_WINDOWS: &[(&str, u64, u64)] = &[
    ("zk-1419", 0, 4),
    ("zk-1154", 30, 40),
    ("zk-2845", 0, 10),
    ("zk-3911", 37, 43),
    ("zk-4643", 4, 9),
    ("zk-4646", 4, 8),
    ("zk-2355", 0, 2),
    ("zk-1208", 0, 2),
    ("zk-2172", 0, 2),
    ("zk-4925", 0, 2),
    ("zk-5094", 249, 250),
    ("split-joiners", 0, 2),
    // Not bug variants: recipes whose users' assumptions break on the correct protocol.
    ("recipe-leader-unfenced", 21, 22),
    ("recipe-leader-naive", 2, 3),
];

#[test]
fn every_bug_variant_is_caught_by_its_scenario() {
    let mut checked = 0;
    for name in shipped() {
        let s = scenario(&name);
        if s.expect.violation.is_empty() {
            continue;
        }
        let &(_, from, to) = CATCH_WINDOWS
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} expects a violation: add its catch window"));
        let seeds = match env_seeds() {
            Some(n) => 0..n,
            None => from..to,
        };
        let opts = SweepOptions::new(seeds, jobs());
        let (summary, _) = sweep(&s, &opts);
        assert!(summary.failures > 0, "{name}: variant {} not caught: {summary}", s.variant);
        assert!(summary.as_expected(), "{name}: expected {:?}, got {summary}", s.expect.violation);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} bug scenarios");
}
