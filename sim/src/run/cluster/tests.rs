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

/// Taking the first choice every time is the run itself: the same trace hash.
#[test]
fn taking_the_earliest_choice_every_time_is_the_run() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/partition-flapping.toml");
    let scenario = Scenario::load(&path).expect("a shipped scenario");
    let whole = run(&scenario, RunOptions::new(5));
    let mut c = Cluster::new(&scenario, RunOptions::new(5));
    c.start();
    while !c.is_over() {
        let Some(first) = c.choices().first().copied() else { break };
        assert!(c.take(first));
    }
    assert_eq!(c.finish(None).trace_hash, whole.trace_hash);
}

/// Any choice may be taken, but only the head of a FIFO is offered: a channel's later
/// message never overtakes an earlier one, even when time is abstracted away.
#[test]
fn only_the_head_of_each_channel_is_a_choice() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/election-basic.toml");
    let scenario = Scenario::load(&path).expect("a shipped scenario");
    let mut c = Cluster::new(&scenario, RunOptions::new(1));
    c.start();
    for step in 0..200 {
        let choices = c.choices();
        let Some(last) = choices.last().copied() else { break };
        for ch in &choices {
            let (_, ev) = c.sched.pending().find(|(p, _)| p.slot == ch.slot).expect("pending");
            if let Event::Net(NetEvent::Deliver { from, to, .. }) = ev {
                let earliest = c
                    .sched
                    .pending()
                    .filter(|(_, e)| matches!(e, Event::Net(NetEvent::Deliver { from: f, to: t, .. }) if f == from && t == to))
                    .map(|(p, _)| p.seq)
                    .min();
                assert_eq!(earliest, Some(ch.seq), "step {step}: a later message offered first");
            }
        }
        // The latest choice, not the earliest: an order a run would not take.
        assert!(c.take(last));
        if c.is_over() {
            break;
        }
    }
    assert!(c.monitor.violation().is_none(), "the correct protocol stays safe in any order");
}

/// Deliveries to different servers commute: taken in either order they reach worlds with
/// one fingerprint (time, sequence numbers and slots aside), and each step changes it.
#[test]
fn independent_deliveries_commute_in_the_fingerprint() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/election-basic.toml");
    let scenario = Scenario::load(&path).expect("a shipped scenario");
    let mut root = Cluster::new(&scenario, RunOptions::new(2));
    root.start();
    let to = |c: &Cluster, ch: &Choice| match c.sched.pending().find(|(p, _)| p.slot == ch.slot) {
        Some((_, Event::Net(NetEvent::Deliver { to, .. }))) => Some(*to),
        _ => None,
    };
    let choices = root.choices();
    let (a, b) = choices
        .iter()
        .flat_map(|a| choices.iter().map(move |b| (*a, *b)))
        .find(|(a, b)| matches!((to(&root, a), to(&root, b)), (Some(x), Some(y)) if x != y))
        .expect("two deliveries to different servers");
    let (mut ab, mut ba) = (root.clone(), root.clone());
    assert!(ab.take(a) && ab.take(b));
    assert!(ba.take(b) && ba.take(a));
    assert_eq!(ab.fingerprint(), ba.fingerprint());
    let mut one = root.clone();
    assert!(one.take(a));
    assert_ne!(one.fingerprint(), root.fingerprint());
    assert_ne!(one.fingerprint(), ab.fingerprint());
}
