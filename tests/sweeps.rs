//! Seed sweeps of the shipped scenarios: the correct protocol never breaks an invariant,
//! and every bug variant is caught by the invariant its scenario names.
//! Sized for CI; `ZABSIM_SWEEP_SEEDS=100000 cargo test --release --test sweeps` goes long.

mod common;

use common::{scenario, shipped};
use zab::Variant;
use zabsim::sweep::{sweep, SweepOptions};

fn seeds(default: u64) -> u64 {
    std::env::var("ZABSIM_SWEEP_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn the_correct_protocol_passes_every_shipped_scenario() {
    let mut total = 0;
    for name in shipped() {
        let s = scenario(&name);
        let n = seeds(if s.faults.random.is_some() { 1000 } else { 300 });
        let opts =
            SweepOptions { seeds: 0..n, jobs: jobs(), variant: Some(Variant::None), progress: false, check: true };
        let (summary, _) = sweep(&s, &opts);
        assert_eq!(summary.failures, 0, "{name} with --variant none failed: {summary}");
        total += n;
    }
    assert!(total >= 2000, "the sweep covers some thousands of seeds ({total})");
}

#[test]
fn every_bug_variant_is_caught_by_its_scenario() {
    let mut checked = 0;
    for name in shipped() {
        let s = scenario(&name);
        let Some(expected) = s.expect.violation else { continue };
        let opts = SweepOptions { seeds: 0..seeds(20), jobs: jobs(), variant: None, progress: false, check: true };
        let (summary, _) = sweep(&s, &opts);
        assert!(summary.failures > 0, "{name}: variant {} not caught", s.variant);
        assert!(summary.as_expected(), "{name}: expected {expected}, got {summary}");
        checked += 1;
    }
    assert!(checked >= 1, "no scenario expects a violation");
}
