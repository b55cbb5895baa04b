//! The product is worthless without this: the same seed gives the same run, bit for bit,
//! whatever the number of jobs; different seeds give different runs.

mod common;

use common::{scenario, shipped};
use zabsim::tools::sweep::{sweep, SweepOptions};
use zabsim::{run, RunOptions};

#[test]
fn every_shipped_scenario_replays_to_the_same_trace_hash() {
    for name in shipped() {
        let s = scenario(&name);
        for seed in [0, 1, 17, 4242] {
            let a = run(&s, RunOptions::new(seed));
            let b = run(&s, RunOptions::new(seed));
            assert_eq!(a.trace_hash, b.trace_hash, "{name} seed {seed} diverged");
            assert_eq!(a.events, b.events);
        }
    }
}

#[test]
fn different_seeds_give_different_traces() {
    for name in shipped() {
        let s = scenario(&name);
        let a = run(&s, RunOptions::new(1));
        let b = run(&s, RunOptions::new(2));
        assert_ne!(a.trace_hash, b.trace_hash, "{name}: seeds 1 and 2 gave the same run");
    }
}

#[test]
fn a_sweep_gives_the_same_outcomes_with_one_and_two_jobs() {
    for name in ["leader-crash", "partition-flapping", "service-failover", "migrate-3-to-3"] {
        let s = scenario(name);
        let opts = |jobs| SweepOptions::new(0..40, jobs);
        let (sum1, one) = sweep(&s, &opts(1));
        let (sum2, two) = sweep(&s, &opts(2));
        assert_eq!(one, two, "{name}: per-seed outcomes depend on --jobs");
        assert_eq!(sum1.events, sum2.events);
        assert_eq!(sum1.failing_seeds, sum2.failing_seeds);
    }
}

#[test]
fn the_trace_file_records_the_same_run_as_the_hash() {
    let s = scenario("leader-crash");
    let buf = SharedBuf::default();
    let mut opts = RunOptions::new(5);
    opts.trace = Some(Box::new(buf.clone()));
    let report = run(&s, opts);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("\"kind\":\"header\"") && lines[0].contains("\"seed\":5"));
    let end: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(end["kind"], "end");
    assert_eq!(end["trace_hash"], zabsim::format::hash_hex(report.trace_hash));
    assert_eq!(end["events"], report.events);
    // Tracing does not change the run.
    assert_eq!(run(&s, RunOptions::new(5)).trace_hash, report.trace_hash);
}

/// A `Write` the test can read back after the run.
#[derive(Clone, Default)]
struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
