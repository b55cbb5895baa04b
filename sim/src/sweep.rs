//! Sweeps: many seeds of one scenario over all cores. Parallelism is across seeds only;
//! each run is single-threaded and deterministic, and results are kept in seed order, so
//! the summary is the same with any number of jobs (wall-clock figures aside).

use crate::checker::Invariant;
use crate::cluster::{run, RunOptions};
use crate::scenario::Scenario;
use crate::summary::{fmt_us, percentile, RunReport};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zab::Variant;

pub struct SweepOptions {
    pub seeds: Range<u64>,
    pub jobs: usize,
    pub variant: Option<Variant>,
    /// Overrides the scenario's ZooKeeper release.
    pub release: Option<zab::release::Release>,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    pub check: bool,
    /// Stop handing out seeds once one fails (to measure how fast a bug is found).
    pub stop_on_failure: bool,
    /// Run only this share of the seeds: `(index, count)` takes every `count`-th seed of the
    /// range, starting at its `index`-th, so that `count` machines split a sweep.
    pub shard: Option<(u64, u64)>,
}

impl SweepOptions {
    pub fn new(seeds: Range<u64>, jobs: usize) -> SweepOptions {
        SweepOptions {
            seeds,
            jobs,
            variant: None,
            release: None,
            progress: false,
            check: true,
            stop_on_failure: false,
            shard: None,
        }
    }

    /// The seeds this sweep runs, in order.
    pub fn seed_list(&self) -> Vec<u64> {
        let (index, count) = self.shard.unwrap_or((0, 1));
        assert!(count > 0 && index < count, "shard {index}/{count}");
        self.seeds.clone().filter(|s| (s - self.seeds.start) % count == index).collect()
    }
}

/// The outcome of one seed with its metrics: one line of `sweep --out`. Nothing here
/// depends on the wall clock, so shards merge into exactly a single sweep's lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedOutcome {
    pub scenario: String,
    pub variant: Variant,
    pub seed: u64,
    pub violation: Option<Invariant>,
    pub events: u64,
    pub sim_us: u64,
    pub trace_hash: String,
    /// Faults stopped -> every server serving.
    pub recovery_us: Option<u64>,
    /// Faults stopped -> a new write committed.
    pub progress_us: Option<u64>,
    /// Elections decided (server level) and their median LOOKING-to-decided time.
    pub elections: u64,
    pub election_p50_us: u64,
    /// The longest LOOKING-to-decided time of any server (0 without elections).
    #[serde(default)]
    pub election_max_us: u64,
    /// Time with no established leader, in all.
    pub unavailable_us: u64,
    /// The length of each stretch with no established leader, in time order (the first is
    /// the start-up election; a last one still open when the run ended counts up to its end).
    #[serde(default)]
    pub unavailable_windows_us: Vec<u64>,
    pub commits: u64,
    pub writes_acked: u64,
    pub write_p50_us: u64,
    pub write_p99_us: u64,
    /// Client failover time (a client's server lost to the moment it is served again) for
    /// workloads that measure it; `None` where the workload does not.
    #[serde(default)]
    pub failover_p50_us: Option<u64>,
    #[serde(default)]
    pub failover_p99_us: Option<u64>,
    /// Each committed reconfig's unavailability window (its commit until a leader voting in
    /// the new configuration can commit), in commit order; one still open at the end of the
    /// run counts up to it. Empty without reconfigs, and then left out of the line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconfig_unavailable_us: Vec<u64>,
}

/// The k-th committed reconfig's unavailability over the seeds that committed one: a
/// sweep compares reconfig steps (the first, the second, ...) across seeds, since a
/// scenario's script makes the k-th step the same change in every seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconfigStep {
    /// 1 for the first committed reconfig.
    pub step: usize,
    pub seeds: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// The per-step figures of some outcomes (empty when no seed committed a reconfig).
pub fn reconfig_steps(outcomes: &[SeedOutcome]) -> Vec<ReconfigStep> {
    let steps = outcomes.iter().map(|o| o.reconfig_unavailable_us.len()).max().unwrap_or(0);
    (0..steps)
        .map(|k| {
            let mut v: Vec<u64> = outcomes.iter().filter_map(|o| o.reconfig_unavailable_us.get(k).copied()).collect();
            v.sort_unstable();
            ReconfigStep {
                step: k + 1,
                seeds: v.len() as u64,
                p50_us: percentile(&v, 50),
                p99_us: percentile(&v, 99),
                max_us: v.last().copied().unwrap_or(0),
            }
        })
        .collect()
}

/// What a sweep found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepSummary {
    pub scenario: String,
    pub variant: Variant,
    /// The violation the scenario expects of this variant.
    pub expected: Vec<Invariant>,
    pub seeds: u64,
    pub first_seed: u64,
    pub failures: u64,
    pub failing_seeds: Vec<u64>,
    /// Invariant name -> number of seeds that broke it.
    pub violations: BTreeMap<String, u64>,
    /// Invariants the scenario declares ZooKeeper itself breaks (see `expect.known`).
    pub known: Vec<Invariant>,
    pub events: u64,
    /// Total simulated time over all seeds.
    pub sim_ms: u64,
    pub wall_ms: u64,
    pub jobs: usize,
    pub events_per_s: f64,
    pub seeds_per_s: f64,
    /// Unavailability per reconfig step, when seeds committed reconfigs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconfig_unavailable: Vec<ReconfigStep>,
}

impl SweepSummary {
    /// Did the sweep show what the scenario expects? A correct protocol: no seed fails. A
    /// bug variant with an expected violation: at least one seed breaks exactly that
    /// invariant and no seed breaks another.
    pub fn as_expected(&self) -> bool {
        let known = |k: &String| self.known.iter().any(|i| i.name() == k);
        if self.expected.is_empty() {
            return self.violations.keys().all(known);
        }
        let expected = |k: &String| self.expected.iter().any(|i| i.name() == k);
        self.violations.keys().any(expected) && self.violations.keys().all(|k| expected(k) || known(k))
    }
}

/// Runs every seed; returns the summary and each seed's outcome, in seed order.
pub fn sweep(scenario: &Scenario, opts: &SweepOptions) -> (SweepSummary, Vec<SeedOutcome>) {
    assert!(opts.jobs > 0, "a sweep needs at least one job");
    let seeds = opts.seed_list();
    let total = seeds.len() as u64;
    let next = AtomicU64::new(0);
    let results: Mutex<Vec<SeedOutcome>> = Mutex::new(Vec::with_capacity(total as usize));
    let bar = if opts.progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds  {per_sec}  eta {eta}  {msg}")
            .expect("the template is valid"),
    );
    let failures = AtomicU64::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    #[allow(clippy::disallowed_methods)] // Wall-clock time of the sweep itself, never of a run.
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.min(total.max(1) as usize) {
            s.spawn(|| {
                let mut local = Vec::new();
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let slot = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(slot as usize) else { break };
                    let mut ro = RunOptions::new(seed);
                    ro.variant = opts.variant;
                    ro.release = opts.release;
                    ro.check = opts.check;
                    let r = run(scenario, ro);
                    if r.violation.is_some() {
                        let f = failures.fetch_add(1, Ordering::Relaxed) + 1;
                        bar.set_message(format!("{f} failing"));
                        // What ZooKeeper itself is known to break here is not what we look for.
                        let known = r.violation.as_ref().is_some_and(|v| scenario.expect.known.contains(&v.invariant));
                        if opts.stop_on_failure && !known {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    local.push(outcome(&r));
                    bar.inc(1);
                }
                results.lock().expect("no worker panicked").extend(local);
            });
        }
    });
    let wall = started.elapsed();
    bar.finish_and_clear();
    let mut outcomes = results.into_inner().expect("no worker panicked");
    outcomes.sort_by_key(|o| o.seed);
    let variant = opts.variant.unwrap_or(scenario.variant);
    let mut summary = SweepSummary {
        scenario: scenario.name.clone(),
        variant,
        expected: scenario.expected_of(variant),
        known: scenario.expect.known.clone(),
        seeds: outcomes.len() as u64,
        first_seed: opts.seeds.start,
        failures: 0,
        failing_seeds: Vec::new(),
        violations: BTreeMap::new(),
        events: 0,
        sim_ms: 0,
        wall_ms: wall.as_millis() as u64,
        jobs: opts.jobs,
        events_per_s: 0.0,
        seeds_per_s: 0.0,
        reconfig_unavailable: reconfig_steps(&outcomes),
    };
    for o in &outcomes {
        summary.events += o.events;
        summary.sim_ms += o.sim_us / 1000;
        if let Some(v) = o.violation {
            summary.failures += 1;
            summary.failing_seeds.push(o.seed);
            *summary.violations.entry(v.name().to_string()).or_default() += 1;
        }
    }
    let secs = wall.as_secs_f64().max(1e-9);
    summary.events_per_s = summary.events as f64 / secs;
    summary.seeds_per_s = summary.seeds as f64 / secs;
    (summary, outcomes)
}

fn outcome(r: &RunReport) -> SeedOutcome {
    let sorted = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v
    };
    let elections = sorted(&r.stats.election_us);
    let latency = sorted(&r.stats.write_latency_us);
    // Client failover times of the service workload, when it ran and any failover happened.
    let failovers = r.stats.service.as_ref().and_then(|s| {
        let times: Vec<u64> = s.failovers.iter().map(|f| f.failover_us()).collect();
        (!times.is_empty()).then(|| sorted(&times))
    });
    SeedOutcome {
        scenario: r.scenario.clone(),
        variant: r.variant,
        seed: r.seed,
        violation: r.violation.as_ref().map(|v| v.invariant),
        events: r.events,
        sim_us: r.sim_us,
        trace_hash: crate::trace::hash_hex(r.trace_hash),
        recovery_us: r.recovery_us,
        progress_us: r.progress_us,
        elections: elections.len() as u64,
        election_p50_us: percentile(&elections, 50),
        election_max_us: elections.last().copied().unwrap_or(0),
        unavailable_us: r.stats.unavailable_us.iter().map(|w| w.1).sum(),
        unavailable_windows_us: r.stats.unavailable_us.iter().map(|w| w.1).collect(),
        commits: r.stats.commits_by_epoch.values().sum(),
        writes_acked: r.stats.writes_acked,
        write_p50_us: percentile(&latency, 50),
        write_p99_us: percentile(&latency, 99),
        failover_p50_us: failovers.as_ref().map(|f| percentile(f, 50)),
        failover_p99_us: failovers.as_ref().map(|f| percentile(f, 99)),
        reconfig_unavailable_us: r.stats.reconfig_unavailable_us(),
    }
}

/// Merges the `--out` lines of several shards into one sweep's lines, in seed order. A
/// seed present twice must have the same outcome; all lines must be of one scenario and
/// variant.
pub fn merge(shards: Vec<Vec<SeedOutcome>>) -> Result<Vec<SeedOutcome>, String> {
    let mut by_seed: BTreeMap<u64, SeedOutcome> = BTreeMap::new();
    let mut first: Option<(String, Variant)> = None;
    for o in shards.into_iter().flatten() {
        let key = (o.scenario.clone(), o.variant);
        match &first {
            None => first = Some(key),
            Some(k) if *k != key => {
                return Err(format!(
                    "seed {} is of scenario {} variant {}, others of scenario {} variant {}",
                    o.seed, o.scenario, o.variant, k.0, k.1
                ))
            }
            Some(_) => {}
        }
        if let Some(prev) = by_seed.get(&o.seed) {
            if *prev != o {
                return Err(format!("seed {} appears twice with different outcomes", o.seed));
            }
        }
        by_seed.insert(o.seed, o);
    }
    Ok(by_seed.into_values().collect())
}

impl fmt::Display for SweepSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sweep {} (variant {}): {} seeds from {}, {} failing",
            self.scenario, self.variant, self.seeds, self.first_seed, self.failures
        )?;
        writeln!(
            f,
            "  {} events, {} simulated, {:.2} s wall with {} job(s)",
            self.events,
            fmt_us(self.sim_ms * 1000),
            self.wall_ms as f64 / 1000.0,
            self.jobs
        )?;
        writeln!(f, "  {:.0} events/s, {:.1} seeds/s", self.events_per_s, self.seeds_per_s)?;
        if !self.reconfig_unavailable.is_empty() {
            writeln!(f, "  unavailability per reconfig step (its commit until a leader voting in it can commit):")?;
            for r in &self.reconfig_unavailable {
                writeln!(
                    f,
                    "    #{}: {} seeds, p50 {}, p99 {}, max {}",
                    r.step,
                    r.seeds,
                    fmt_us(r.p50_us),
                    fmt_us(r.p99_us),
                    fmt_us(r.max_us)
                )?;
            }
        }
        if !self.violations.is_empty() {
            let v: Vec<String> = self.violations.iter().map(|(k, n)| format!("{k} in {n} seeds")).collect();
            writeln!(f, "  violations: {}", v.join(", "))?;
            let shown: Vec<String> = self.failing_seeds.iter().take(20).map(|s| s.to_string()).collect();
            let more = self.failing_seeds.len().saturating_sub(20);
            let more = if more > 0 { format!(" (+{more} more)") } else { String::new() };
            writeln!(f, "  failing seeds: {}{more}", shown.join(", "))?;
        }
        let names = |v: &[Invariant]| v.iter().map(|i| i.name()).collect::<Vec<_>>().join(" or ");
        match self.expected.as_slice() {
            [] => {}
            e if self.as_expected() => {
                let caught: u64 =
                    self.violations.iter().filter(|(k, _)| e.iter().any(|i| i.name() == *k)).map(|(_, n)| n).sum();
                return write!(
                    f,
                    "result: ok, variant {} caught by {} in {caught} of {} seeds",
                    self.variant,
                    names(e),
                    self.seeds
                );
            }
            e if self.failures == 0 => {
                return write!(
                    f,
                    "result: NOT CAUGHT, no seed broke {} (expected of variant {})",
                    names(e),
                    self.variant
                );
            }
            e => return write!(f, "result: FAILED, seeds broke invariants other than the expected {}", names(e)),
        }
        match () {
            () if self.failures == 0 => write!(f, "result: ok"),
            () if self.as_expected() => write!(
                f,
                "result: ok, but seeds broke invariants ZooKeeper itself is known to break here: {}",
                self.known.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")
            ),
            () => write!(f, "result: FAILED"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(seed: u64, reconfigs: Vec<u64>) -> SeedOutcome {
        SeedOutcome {
            scenario: "s".into(),
            variant: Variant::None,
            seed,
            violation: None,
            events: 1,
            sim_us: 1,
            trace_hash: "0".into(),
            recovery_us: None,
            progress_us: None,
            elections: 0,
            election_p50_us: 0,
            election_max_us: 0,
            unavailable_us: 0,
            unavailable_windows_us: vec![],
            commits: 0,
            writes_acked: 0,
            write_p50_us: 0,
            write_p99_us: 0,
            failover_p50_us: None,
            failover_p99_us: None,
            reconfig_unavailable_us: reconfigs,
        }
    }

    #[test]
    fn reconfig_steps_pool_the_kth_reconfig_of_every_seed() {
        let outcomes = [outcome(0, vec![0, 400]), outcome(1, vec![200]), outcome(2, vec![])];
        let steps = reconfig_steps(&outcomes);
        assert_eq!(
            steps,
            [
                ReconfigStep { step: 1, seeds: 2, p50_us: 0, p99_us: 200, max_us: 200 },
                ReconfigStep { step: 2, seeds: 1, p50_us: 400, p99_us: 400, max_us: 400 },
            ]
        );
        assert!(reconfig_steps(&outcomes[2..]).is_empty());
    }

    #[test]
    fn outcome_lines_without_reconfigs_stay_as_they_were() {
        let line = serde_json::to_string(&outcome(0, vec![])).expect("serializes");
        assert!(!line.contains("reconfig"), "{line}");
        let back: SeedOutcome = serde_json::from_str(&line).expect("an older line parses");
        assert_eq!(back, outcome(0, vec![]));
        let line = serde_json::to_string(&outcome(0, vec![7])).expect("serializes");
        assert!(line.contains("\"reconfig_unavailable_us\":[7]"), "{line}");
    }

    #[test]
    fn the_sweep_summary_prints_each_reconfig_step() {
        let mut summary = SweepSummary {
            scenario: "s".into(),
            variant: Variant::None,
            expected: vec![],
            seeds: 2,
            first_seed: 0,
            failures: 0,
            failing_seeds: vec![],
            violations: BTreeMap::new(),
            known: vec![],
            events: 2,
            sim_ms: 0,
            wall_ms: 0,
            jobs: 1,
            events_per_s: 0.0,
            seeds_per_s: 0.0,
            reconfig_unavailable: vec![],
        };
        assert!(!summary.to_string().contains("reconfig"));
        summary.reconfig_unavailable = reconfig_steps(&[outcome(0, vec![0, 400_000]), outcome(1, vec![2_000])]);
        let text = summary.to_string();
        assert!(text.contains("    #1: 2 seeds, p50 0 us, p99 2 ms, max 2 ms\n"), "{text}");
        assert!(text.contains("    #2: 1 seeds, p50 400 ms, p99 400 ms, max 400 ms\n"), "{text}");
    }
}
