//! `shrink` turns a failing run into a scenario file with a small, explicit fault script
//! that still breaks the same invariant.

mod common;

use common::scenario;
use zabsim::tools::shrink::shrink;
use zabsim::{run, RunOptions, Scenario};

/// Every bug scenario, a seed of each that fails, and the most faults the shrunk script
/// may keep. The crash-timing variants (zk-4643, zk-4646) shrink to a handful on some
/// seeds only (the seeds here); on others removing an early crash changes the whole later
/// history, and their windows are a few milliseconds wide (README, "Shrinking").
const CASES: &[(&str, u64, usize)] = &[
    ("zk-2845", 0, 1),
    ("zk-1154", 32, 1),
    ("zk-3911", 9, 3),
    ("zk-1419", 0, 0),
    ("zk-4643", 4, 6),
    ("zk-4646", 7, 4),
    ("zk-2355", 0, 1),
    ("zk-1208", 1, 1),
    ("zk-2172", 0, 0),
    ("split-joiners", 0, 0),
];

#[test]
fn shrunk_scenarios_still_fail_with_a_handful_of_faults() {
    for &(name, seed, most) in CASES {
        let s = scenario(name);
        let shrunk = shrink(&s, seed, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(shrunk.faults_after <= most, "{name}: {} faults left", shrunk.faults_after);
        assert!(shrunk.faults_after <= shrunk.faults_before);
        // The file it writes loads and fails the same way when run.
        let text = shrunk.scenario.to_toml();
        let again = Scenario::parse(&text, "shrunk").unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert!(again.faults.random.is_none() && !again.faults.swarm);
        let r = run(&again, RunOptions::new(seed));
        let v = r.violation.clone().unwrap_or_else(|| panic!("{name}: the shrunk scenario passes"));
        assert_eq!(v.invariant, shrunk.invariant, "{name}");
        assert!(r.as_expected(), "{name}: the shrunk scenario expects what it breaks");
    }
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    let e = shrink(&scenario("election-basic"), 1, None).unwrap_err();
    assert!(e.contains("nothing to shrink"), "{e}");
}
