//! The cluster as a value: forking it mid-run.

use super::*;

/// The world is a value: a clone taken mid-run (as the explorer branches) finishes
/// exactly as the original and as a run never forked, trace hash and all.
#[test]
fn a_world_forked_mid_run_finishes_as_the_original() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/partition-flapping.toml");
    let scenario = Scenario::load(&path).expect("a shipped scenario");
    let whole = run(&scenario, RunOptions::new(3));
    let mut c = Cluster::new(&scenario, RunOptions::new(3));
    c.start();
    let mut progress = Progress::default();
    for _ in 0..500 {
        assert!(matches!(c.advance(None, &mut progress), Advance::Went), "the run is longer");
    }
    let fork = c.clone();
    let (a, b) = (c.run_on(progress.clone()), fork.run_on(progress));
    assert_eq!(a.trace_hash, whole.trace_hash);
    assert_eq!(b.trace_hash, whole.trace_hash);
    assert_eq!((a.events, b.events), (whole.events, whole.events));
}

impl Cluster<'_> {
    /// Runs a started cluster to the end.
    fn run_on(mut self, mut progress: Progress) -> RunReport {
        while let Advance::Went = self.advance(None, &mut progress) {}
        self.finish(None)
    }
}
