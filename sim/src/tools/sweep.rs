//! Sweeps: many seeds of one scenario over all cores. Parallelism is across seeds only;
//! each run is single-threaded and deterministic, and outcomes go out in seed order as they
//! finish, folded into the summary rather than kept, so the `--out` lines and the summary
//! are the same with any number of jobs (wall-clock figures aside) and a sweep's memory
//! does not grow with its seeds.

use crate::check::invariant::Invariant;
use crate::format::{fmt_us, percentile};
use crate::run::cluster::{run, RunOptions};
use crate::run::coverage::{Coverage, Sketch};
use crate::run::stats::RunReport;
use crate::scenario::Scenario;
use crate::tools::keyed::HashedSet;
use crate::trace::JsonLines;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufReader, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use zab::release::Release;
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

    /// How many seeds this sweep runs (its shard's share of the range).
    pub fn seed_count(&self) -> u64 {
        let (index, count) = self.shard.unwrap_or((0, 1));
        assert!(count > 0 && index < count, "shard {index}/{count}");
        let len = self.seeds.end.saturating_sub(self.seeds.start);
        if index >= len {
            0
        } else {
            (len - index - 1) / count + 1
        }
    }

    /// The `slot`-th seed this sweep runs (`slot < seed_count()`): seeds are computed, not
    /// listed, so a sweep of a billion seeds holds no list of them.
    pub fn seed_at(&self, slot: u64) -> u64 {
        let (index, count) = self.shard.unwrap_or((0, 1));
        self.seeds.start + index + slot * count
    }

    /// What every line of this sweep's `--out` says it belongs to.
    pub fn sweep_id(&self, scenario: &Scenario) -> SweepId {
        SweepId {
            scenario: scenario.name.clone(),
            scenario_hash: crate::format::hash_hex(scenario.content_hash()),
            variant: self.variant.unwrap_or(scenario.variant),
            zookeeper: self.release.unwrap_or(scenario.zookeeper),
            seeds: SeedRange(self.seeds.clone()),
            shard: self.shard.map(|(index, count)| Shard { index, count }),
            no_check: !self.check,
        }
    }
}

/// A sweep's seed range, written `A..B` as `--seeds` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SeedRange(pub Range<u64>);

impl From<SeedRange> for String {
    fn from(r: SeedRange) -> String {
        format!("{}..{}", r.0.start, r.0.end)
    }
}

impl TryFrom<String> for SeedRange {
    type Error = String;
    fn try_from(s: String) -> Result<SeedRange, String> {
        let bad = || "seeds: expected `A..B` with A below B".to_string();
        let (a, b) = s.split_once("..").ok_or_else(bad)?;
        let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a >= b {
            return Err(bad());
        }
        Ok(SeedRange(a..b))
    }
}

/// A shard, written `K/N` as `--shard` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl From<Shard> for String {
    fn from(s: Shard) -> String {
        format!("{}/{}", s.index, s.count)
    }
}

impl TryFrom<String> for Shard {
    type Error = String;
    fn try_from(s: String) -> Result<Shard, String> {
        let bad = || "shard: expected `K/N` with K below N".to_string();
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Which sweep a line of `--out` belongs to. `merge` and `sweep --resume` put lines
/// together only when these agree (shard index aside, for `merge`): the same scenario
/// content, variant, release, seed range, shard count and checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepId {
    pub scenario: String,
    pub scenario_hash: String,
    pub variant: Variant,
    pub zookeeper: Release,
    pub seeds: SeedRange,
    pub shard: Option<Shard>,
    pub no_check: bool,
}

impl SweepId {
    /// The first way `self` is of another sweep than `other` (called `other_name` in the
    /// answer), shard index aside: what a refusal says.
    pub fn differs_from(&self, other: &SweepId, other_name: &str) -> Option<String> {
        let count = |s: &SweepId| s.shard.map_or(1, |s| s.count);
        let range = |s: &SweepId| String::from(s.seeds.clone());
        let (what, mine, theirs, why) = if self.scenario != other.scenario {
            ("scenario", self.scenario.clone(), other.scenario.clone(), "")
        } else if self.scenario_hash != other.scenario_hash {
            (
                "scenario content hash",
                self.scenario_hash.clone(),
                other.scenario_hash.clone(),
                " (the scenario file was edited between the sweeps)",
            )
        } else if self.variant != other.variant {
            ("variant", self.variant.to_string(), other.variant.to_string(), "")
        } else if self.zookeeper != other.zookeeper {
            ("ZooKeeper release", self.zookeeper.to_string(), other.zookeeper.to_string(), "")
        } else if self.seeds != other.seeds {
            ("seeds", range(self), range(other), "")
        } else if count(self) != count(other) {
            ("shard count", count(self).to_string(), count(other).to_string(), "")
        } else if self.no_check != other.no_check {
            ("no_check", self.no_check.to_string(), other.no_check.to_string(), "")
        } else {
            return None;
        };
        let (mine, theirs) = (crate::format::brief(&mine, 64), crate::format::brief(&theirs, 64));
        Some(format!("{what} {mine}, but {other_name} has {theirs}{why}"))
    }

    /// The options that run this sweep's seeds (to find which seed comes when).
    pub fn seed_order(&self) -> SweepOptions {
        let mut o = SweepOptions::new(self.seeds.0.clone(), 1);
        o.shard = self.shard.map(|s| (s.index, s.count));
        o
    }
}

/// The outcome of one seed with its metrics: one line of `sweep --out`. Nothing here
/// depends on the wall clock, so shards merge into exactly a single sweep's lines. Unknown
/// fields are refused: a line someone edited is not a sweep's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOutcome {
    pub scenario: String,
    /// The sweep's identity (see [`SweepId`]); absent in lines of older versions, which
    /// `report` still reads but `merge` and `sweep --resume` refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_hash: Option<String>,
    pub variant: Variant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<Release>,
    /// The whole sweep's `--seeds`, whichever shard ran this seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<SeedRange>,
    /// `K/N` in a shard's lines; absent in a whole sweep's (and so in `merge`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// A sweep run with `--no-check`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_check: bool,
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
    /// The seed's abstract-state coverage (see `run::coverage`); absent in older lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<SeedCoverage>,
    /// The items themselves, for the summary's exact counts; not written.
    #[serde(skip)]
    pub reached: Option<Reached>,
}

/// The abstract states, transitions and fault states a seed reached (see `run::coverage`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    pub states: Vec<u64>,
    pub transitions: Vec<u64>,
    pub faults: Vec<u64>,
}

impl Reached {
    pub fn of(c: &Coverage) -> Reached {
        Reached {
            states: c.states.iter().copied().collect(),
            transitions: c.transitions.iter().copied().collect(),
            faults: c.faults.iter().copied().collect(),
        }
    }
}

/// One seed's coverage in its `--out` line: how many distinct abstract states, transitions
/// and fault states it reached, and a sketch of each of the first two (see
/// [`Sketch`]) so that `report` can tell how a sweep's coverage grew over its seeds, also
/// across merged shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCoverage {
    pub states: u64,
    pub transitions: u64,
    pub fault_states: u64,
    pub states_sketch: String,
    pub transitions_sketch: String,
}

impl SeedCoverage {
    pub fn of(c: &Coverage) -> SeedCoverage {
        SeedCoverage {
            states: c.states.len() as u64,
            transitions: c.transitions.len() as u64,
            fault_states: c.faults.len() as u64,
            states_sketch: Sketch::of(c.states.iter().copied()).encode(),
            transitions_sketch: Sketch::of(c.transitions.iter().copied()).encode(),
        }
    }

    /// The two sketches, read back.
    pub fn sketches(&self) -> Result<(Sketch, Sketch), String> {
        let s = Sketch::decode(&self.states_sketch).map_err(|e| format!("coverage.states_sketch: {e}"))?;
        let t = Sketch::decode(&self.transitions_sketch).map_err(|e| format!("coverage.transitions_sketch: {e}"))?;
        Ok((s, t))
    }
}

impl SeedOutcome {
    /// The sweep the line says it is of; an error for a line of an older version.
    pub fn sweep_id(&self) -> Result<SweepId, String> {
        let missing =
            |f: &str| format!("no `{f}`: written by an older zabsim, which did not record its sweep; re-run it");
        Ok(SweepId {
            scenario: self.scenario.clone(),
            scenario_hash: self.scenario_hash.clone().ok_or_else(|| missing("scenario_hash"))?,
            variant: self.variant,
            zookeeper: self.zookeeper.ok_or_else(|| missing("zookeeper"))?,
            seeds: self.seeds.clone().ok_or_else(|| missing("seeds"))?,
            shard: self.shard,
            no_check: self.no_check,
        })
    }

    /// Every duration lies within the run: a value beyond `sim_us` is not a run's (and once
    /// made `report` draw axes without end).
    pub fn check_ranges(&self) -> Result<(), String> {
        let sim = self.sim_us;
        let one = |name: &str, v: Option<u64>| match v {
            Some(v) if v > sim => Err(format!("{name}: {v} is longer than the run (sim_us {sim})")),
            _ => Ok(()),
        };
        let all = |name: &str, v: &[u64]| v.iter().try_for_each(|x| one(name, Some(*x)));
        one("recovery_us", self.recovery_us)?;
        one("progress_us", self.progress_us)?;
        one("election_p50_us", Some(self.election_p50_us))?;
        one("election_max_us", Some(self.election_max_us))?;
        one("unavailable_us", Some(self.unavailable_us))?;
        all("unavailable_windows_us", &self.unavailable_windows_us)?;
        one("write_p50_us", Some(self.write_p50_us))?;
        one("write_p99_us", Some(self.write_p99_us))?;
        one("failover_p50_us", self.failover_p50_us)?;
        one("failover_p99_us", self.failover_p99_us)?;
        all("reconfig_unavailable_us", &self.reconfig_unavailable_us)?;
        if let Some(c) = &self.coverage {
            c.sketches()?;
        }
        if self.election_p50_us > self.election_max_us && self.election_max_us > 0 {
            return Err(format!(
                "election_p50_us: {} is above election_max_us {}",
                self.election_p50_us, self.election_max_us
            ));
        }
        Ok(())
    }
}

/// Parses and checks one line of a `--out` file: no unknown field, durations within the
/// run. The error names the field but not the file or line.
pub fn parse_outcome(line: &str) -> Result<SeedOutcome, String> {
    let o: SeedOutcome = crate::trace::parse_strict(line).map_err(|e| format!("not a sweep outcome: {e}"))?;
    o.check_ranges()?;
    Ok(o)
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
    let mut tally = Tally::default();
    for o in outcomes {
        tally.add_reconfigs(o);
    }
    tally.reconfig_steps()
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
    /// Of `seeds`, those read back from `--out` by `--resume` rather than run (the speed
    /// figures count only the seeds run).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed: u64,
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
    /// What the seeds run here reached of the abstract protocol states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<SweepCoverage>,
}

/// A sweep's coverage: distinct abstract states, transitions and fault states over the
/// seeds it ran (those read back by `--resume` are not counted), and how many of the
/// states only its last tenth of seeds found (0: the sweep stopped finding new states).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepCoverage {
    pub states: u64,
    pub transitions: u64,
    pub fault_states: u64,
    pub states_new_in_last_tenth: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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

/// What a sweep's summary needs of its outcomes, folded in as they come so that a sweep
/// keeps none of them: counts and sums, the failing seeds (8 bytes each) and, because a
/// percentile needs every value, each seed's k-th reconfig window for the per-step
/// figures (8 bytes per seed and committed reconfig; nothing without reconfigs).
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub seeds: u64,
    pub events: u64,
    /// Simulated time over all seeds, each seed's rounded down to milliseconds.
    pub sim_ms: u64,
    pub failing_seeds: Vec<u64>,
    /// Invariant name -> seeds that broke it.
    pub violations: BTreeMap<String, u64>,
    /// Per reconfig step, the window of every seed that committed it.
    reconfig_us: Vec<Vec<u64>>,
    /// Coverage of the seeds run here, in seed order: sets only counted (a tree's
    /// inserts were 4% of election-basic's sweep).
    cov_states: HashedSet,
    cov_transitions: HashedSet,
    cov_faults: HashedSet,
    /// For each distinct state, the number of seeds tallied when it was first reached.
    cov_found_at: Vec<u64>,
    cov_seeds: u64,
}

impl Tally {
    pub fn add(&mut self, o: &SeedOutcome) {
        self.seeds += 1;
        self.events = self.events.saturating_add(o.events);
        self.sim_ms = self.sim_ms.saturating_add(o.sim_us / 1000);
        if let Some(v) = o.violation {
            self.failing_seeds.push(o.seed);
            *self.violations.entry(v.name().to_string()).or_default() += 1;
        }
        self.add_reconfigs(o);
        if let Some(r) = &o.reached {
            self.cov_seeds += 1;
            for s in &r.states {
                if self.cov_states.insert(*s) {
                    self.cov_found_at.push(self.cov_seeds);
                }
            }
            self.cov_transitions.extend(r.transitions.iter().copied());
            self.cov_faults.extend(r.faults.iter().copied());
        }
    }

    /// The coverage of the seeds run here, if any ran.
    fn coverage(&self) -> Option<SweepCoverage> {
        let n = self.cov_seeds;
        (n > 0).then(|| SweepCoverage {
            states: self.cov_states.len() as u64,
            transitions: self.cov_transitions.len() as u64,
            fault_states: self.cov_faults.len() as u64,
            states_new_in_last_tenth: self.cov_found_at.iter().filter(|at| **at > n - n / 10).count() as u64,
        })
    }

    fn add_reconfigs(&mut self, o: &SeedOutcome) {
        for (k, us) in o.reconfig_unavailable_us.iter().enumerate() {
            if self.reconfig_us.len() <= k {
                self.reconfig_us.push(Vec::new());
            }
            self.reconfig_us[k].push(*us);
        }
    }

    fn reconfig_steps(&self) -> Vec<ReconfigStep> {
        self.reconfig_us
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let mut v = v.clone();
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
}

/// How many finished outcomes may wait for an earlier seed that is still running before
/// the workers wait too: outcomes go out in seed order, and this bounds what a sweep holds
/// (some hundreds of bytes each) whatever its length, at the cost of idling the workers
/// behind a seed that runs 4096 times longer than the others.
pub const REORDER_MAX: u64 = 4096;

/// Finished outcomes on their way out in seed order.
struct InOrder<'a> {
    /// The slot whose outcome goes out next.
    next: u64,
    waiting: BTreeMap<u64, SeedOutcome>,
    tally: Tally,
    /// The events of the seeds run here (not resumed), for the speed figures.
    events_run: u64,
    each: &'a mut (dyn FnMut(SeedOutcome) -> Result<(), String> + Send),
    error: Option<String>,
}

impl InOrder<'_> {
    /// Hands out every outcome that is next in seed order; false once `each` failed.
    fn drain(&mut self) -> bool {
        while self.error.is_none() {
            let Some(o) = self.waiting.remove(&self.next) else { break };
            self.next += 1;
            self.tally.add(&o);
            if let Err(e) = (self.each)(o) {
                self.error = Some(e);
            }
        }
        self.error.is_none()
    }
}

/// Runs every seed; returns the summary and each seed's outcome, in seed order.
pub fn sweep(scenario: &Scenario, opts: &SweepOptions) -> (SweepSummary, Vec<SeedOutcome>) {
    let mut outcomes = Vec::new();
    let summary = sweep_into(scenario, opts, Tally::default(), &mut |o| {
        outcomes.push(o);
        Ok(())
    })
    .expect("collecting outcomes cannot fail");
    (summary, outcomes)
}

/// Runs the sweep's seeds and hands each outcome to `each` in seed order, as soon as it and
/// every earlier one have finished, whatever the number of jobs: what `each` sees is the
/// same with any `--jobs`. `done` holds the outcomes of the sweep's first seeds, run
/// before (`sweep --resume`): those seeds are skipped and the summary counts them. An
/// error of `each` stops the sweep and is returned.
pub fn sweep_into(
    scenario: &Scenario,
    opts: &SweepOptions,
    done: Tally,
    each: &mut (dyn FnMut(SeedOutcome) -> Result<(), String> + Send),
) -> Result<SweepSummary, String> {
    assert!(opts.jobs > 0, "a sweep needs at least one job");
    let total = opts.seed_count();
    assert!(done.seeds <= total, "{} seeds done of {total}", done.seeds);
    let resumed = done.seeds;
    let known = |name: &str| scenario.expect.known.iter().any(|i| i.name() == name);
    // A resumed sweep that already broke an invariant it looks for has nothing left to run.
    let stop = opts.stop_on_failure && done.violations.keys().any(|v| !known(v));
    let workers = Workers {
        scenario,
        opts,
        id: opts.sweep_id(scenario),
        total,
        next: AtomicU64::new(done.seeds),
        bar: progress_bar(opts.progress, total, done.seeds),
        failures: AtomicU64::new(done.failing_seeds.len() as u64),
        stop: AtomicBool::new(stop),
        order: Mutex::new(InOrder {
            next: done.seeds,
            waiting: BTreeMap::new(),
            tally: done,
            events_run: 0,
            each,
            error: None,
        }),
        moved: Condvar::new(),
    };
    #[allow(clippy::disallowed_methods)] // Wall-clock time of the sweep itself, never of a run.
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.min(total.max(1) as usize) {
            s.spawn(|| workers.work());
        }
    });
    let wall = started.elapsed();
    workers.bar.finish_and_clear();
    let order = workers.order.into_inner().expect("no worker panicked");
    if let Some(e) = order.error {
        return Err(e);
    }
    assert!(order.waiting.is_empty(), "every seed handed out finished");
    Ok(summary(scenario, opts, &workers.id, order, resumed, wall))
}

/// The progress bar of a sweep (hidden unless asked for), starting at the seeds done.
fn progress_bar(shown: bool, total: u64, done: u64) -> ProgressBar {
    let bar = if shown { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds  {per_sec}  eta {eta}  {msg}")
            .expect("the template is valid"),
    );
    bar.set_position(done);
    bar
}

/// What a sweep's worker threads share: the seeds to hand out, whether to stop, and the
/// outcomes on their way out in seed order.
struct Workers<'a, 'e> {
    scenario: &'a Scenario,
    opts: &'a SweepOptions,
    id: SweepId,
    /// Slots in the sweep (its shard's seeds).
    total: u64,
    /// The next slot to hand out.
    next: AtomicU64,
    bar: ProgressBar,
    /// Failing seeds so far, resumed ones included, for the bar.
    failures: AtomicU64,
    /// Hand out no more seeds: a seed failed with `--stop-on-failure`, or `each` failed.
    stop: AtomicBool,
    order: Mutex<InOrder<'e>>,
    /// Outcomes went out: a worker too far ahead of the next one may go on.
    moved: Condvar,
}

impl Workers<'_, '_> {
    /// One worker: runs the next slot's seed until none is left or the sweep stops.
    fn work(&self) {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let slot = self.next.fetch_add(1, Ordering::Relaxed);
            if slot >= self.total {
                break;
            }
            if !self.wait_for_room(slot) {
                break;
            }
            let r = self.run_slot(slot);
            self.hand_in(slot, &r);
        }
    }

    /// Waits while `slot` is [`REORDER_MAX`] or more ahead of the next outcome to go out;
    /// false once `each` failed.
    fn wait_for_room(&self, slot: u64) -> bool {
        let mut o = self.order.lock().expect("no worker panicked");
        while slot >= o.next + REORDER_MAX && o.error.is_none() {
            o = self.moved.wait(o).expect("no worker panicked");
        }
        o.error.is_none()
    }

    /// Runs the seed of `slot`; a failure shows on the bar and, with `--stop-on-failure`,
    /// stops the sweep.
    fn run_slot(&self, slot: u64) -> RunReport {
        let opts = self.opts;
        let mut ro = RunOptions::new(opts.seed_at(slot));
        ro.variant = opts.variant;
        ro.release = opts.release;
        ro.check = opts.check;
        ro.recent_events = false;
        let r = run(self.scenario, ro);
        if let Some(v) = &r.violation {
            let f = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("{f} failing"));
            // What ZooKeeper itself is known to break here is not what we look for.
            if opts.stop_on_failure && !self.scenario.expect.known.contains(&v.invariant) {
                self.stop.store(true, Ordering::Relaxed);
            }
        }
        r
    }

    /// Queues the outcome of `slot` and hands out every outcome next in seed order; an
    /// error of `each` stops the sweep.
    fn hand_in(&self, slot: u64, r: &RunReport) {
        // Made before the lock, so that other workers need not wait for it.
        let outcome = outcome(r, &self.id);
        let mut o = self.order.lock().expect("no worker panicked");
        o.events_run = o.events_run.saturating_add(r.events);
        o.waiting.insert(slot, outcome);
        if !o.drain() {
            self.stop.store(true, Ordering::Relaxed);
        }
        self.moved.notify_all();
        drop(o);
        self.bar.inc(1);
    }
}

/// The summary of a finished sweep from its tally; the speeds count only the seeds run
/// here, not those resumed.
fn summary(
    scenario: &Scenario,
    opts: &SweepOptions,
    id: &SweepId,
    order: InOrder<'_>,
    resumed: u64,
    wall: std::time::Duration,
) -> SweepSummary {
    let tally = order.tally;
    let seeds_run = tally.seeds - resumed;
    let secs = wall.as_secs_f64().max(1e-9);
    SweepSummary {
        scenario: scenario.name.clone(),
        variant: id.variant,
        expected: scenario.expected_of(id.variant),
        known: scenario.expect.known.clone(),
        seeds: tally.seeds,
        first_seed: opts.seeds.start,
        resumed,
        failures: tally.failing_seeds.len() as u64,
        violations: tally.violations.clone(),
        events: tally.events,
        sim_ms: tally.sim_ms,
        wall_ms: wall.as_millis() as u64,
        jobs: opts.jobs,
        events_per_s: order.events_run as f64 / secs,
        seeds_per_s: seeds_run as f64 / secs,
        reconfig_unavailable: tally.reconfig_steps(),
        coverage: tally.coverage(),
        failing_seeds: tally.failing_seeds,
    }
}

/// One seed's `--out` line, from its run: the figures a report plots, per seed.
fn outcome(r: &RunReport, id: &SweepId) -> SeedOutcome {
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
        scenario_hash: Some(id.scenario_hash.clone()),
        variant: r.variant,
        zookeeper: Some(id.zookeeper),
        seeds: Some(id.seeds.clone()),
        shard: id.shard,
        no_check: id.no_check,
        seed: r.seed,
        violation: r.violation.as_ref().map(|v| v.invariant),
        events: r.events,
        sim_us: r.sim_us,
        trace_hash: crate::format::hash_hex(r.trace_hash),
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
        coverage: Some(SeedCoverage::of(&r.coverage)),
        reached: Some(Reached::of(&r.coverage)),
    }
}

/// One shard's `--out` file, read line by line as `merge` needs its next seed.
struct ShardFile {
    name: String,
    lines: JsonLines<BufReader<std::fs::File>>,
    id: SweepId,
    /// The next outcome and its line number.
    next: Option<(SeedOutcome, u64)>,
}

impl ShardFile {
    fn open(path: &Path) -> Result<ShardFile, String> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
        let mut lines = JsonLines::new(BufReader::new(file));
        let Some((first, n)) = read_outcome(&name, &mut lines)? else {
            return Err(format!("{name}: no outcomes in it (write one with `zabsim sweep ... --out FILE`)"));
        };
        let id = first.sweep_id().map_err(|e| format!("{name}: line {n}: {e}"))?;
        Ok(ShardFile { name, lines, id, next: Some((first, n)) })
    }

    fn advance(&mut self) -> Result<(), String> {
        self.next = read_outcome(&self.name, &mut self.lines)?;
        Ok(())
    }

    fn shard(&self) -> Shard {
        self.id.shard.unwrap_or(Shard { index: 0, count: 1 })
    }
}

/// The next outcome of a `--out` file and its line number; errors name the file and line.
pub fn read_outcome<R: std::io::BufRead>(
    name: &str,
    lines: &mut JsonLines<R>,
) -> Result<Option<(SeedOutcome, u64)>, String> {
    match lines.next_line().map_err(|e| format!("{name}: {e}"))? {
        None => Ok(None),
        Some(l) => {
            let o = parse_outcome(l.text).map_err(|e| format!("{name}: line {}: {e}", l.number))?;
            Ok(Some((o, l.number)))
        }
    }
}

/// What `sweep --resume` finds in its `--out` file.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The outcomes of the sweep's first seeds, tallied.
    pub done: Tally,
    /// Where the complete lines end: the file is cut there before new lines go after them.
    pub keep_bytes: u64,
    /// A last line without its newline (the sweep was stopped while writing it) was left
    /// out; its seed runs again.
    pub dropped_partial: bool,
}

/// Reads the `--out` file of an interrupted sweep to resume it. Every complete line must
/// be this sweep's (the same [`SweepId`], shard included) and hold its next seed: a sweep
/// writes in seed order, so what it finished is a prefix of its seeds. A missing file is a
/// sweep that has not started.
pub fn read_resumed(path: &Path, scenario: &Scenario, opts: &SweepOptions) -> Result<Resumed, String> {
    let name = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Resumed::default()),
        Err(e) => return Err(format!("{name}: cannot read: {e}")),
    };
    let id = opts.sweep_id(scenario);
    let total = opts.seed_count();
    let mut r = Resumed::default();
    let mut lines = JsonLines::new(BufReader::new(file));
    while let Some(l) = lines.next_line().map_err(|e| format!("{name}: {e}"))? {
        if !l.terminated {
            r.dropped_partial = true;
            break;
        }
        let at = |e: String| format!("{name}: line {}: {e}", l.number);
        let o = parse_outcome(l.text).map_err(at)?;
        let line_id = o.sweep_id().map_err(at)?;
        if let Some(why) = line_id.differs_from(&id, "this sweep") {
            return Err(at(format!("{why}: not this sweep's file")));
        }
        if line_id.shard != id.shard {
            let shard = |s: Option<Shard>| s.map_or("none".to_string(), |s| s.to_string());
            return Err(at(format!(
                "shard {}, but this sweep has {}: not this sweep's file",
                shard(line_id.shard),
                shard(id.shard)
            )));
        }
        let slot = r.done.seeds;
        if slot >= total {
            return Err(at(format!("seed {} after the sweep's last seed", o.seed)));
        }
        if o.seed != opts.seed_at(slot) {
            return Err(at(format!("seed {}, but seed {} comes next in this sweep", o.seed, opts.seed_at(slot))));
        }
        r.done.add(&o);
        r.keep_bytes = lines.offset();
    }
    Ok(r)
}

/// Merges the `--out` files of a sweep's shards into the lines one sweep of the whole range
/// writes, in seed order, into `out`; returns the seeds written and the failing ones. The
/// files must be of one sweep (scenario content, variant, release, range, shard count), each
/// shard exactly once, each complete (every seed of its share, in order: an interrupted
/// shard is finished with `sweep --resume` first). Memory does not grow with the files: a
/// seed's shard is known from the seed, so the files are read in step, a line at a time.
pub fn merge_files(paths: &[PathBuf], out: &mut dyn Write) -> Result<(u64, Vec<u64>), String> {
    let mut files = paths.iter().map(|p| ShardFile::open(p)).collect::<Result<Vec<_>, _>>()?;
    let first = files.first().ok_or("no files to merge")?;
    let (id, first_name) = (first.id.clone(), first.name.clone());
    for f in &files {
        if let Some(why) = f.id.differs_from(&id, &first_name) {
            return Err(format!("{}: {why}: not shards of one sweep", f.name));
        }
    }
    let count = files[0].shard().count;
    files.sort_by_key(|f| f.shard().index);
    for w in files.windows(2) {
        if w[0].shard() == w[1].shard() {
            return Err(format!("{} and {} are both shard {}", w[0].name, w[1].name, w[0].shard()));
        }
    }
    if let Some(k) = (0..count).find(|k| files.get(*k as usize).is_none_or(|f| f.shard().index != *k)) {
        return Err(format!("shard {k}/{count} is missing ({} files for {count} shards)", files.len()));
    }
    let order = id.seed_order();
    let mut merged = 0;
    let mut failing = Vec::new();
    for seed in order.seeds.clone() {
        let f = &mut files[((seed - order.seeds.start) % count) as usize];
        let Some((mut o, n)) = f.next.take() else {
            return Err(format!(
                "{} (shard {}): ends before seed {seed}: the shard is incomplete (finish it with `sweep --resume`)",
                f.name,
                f.shard()
            ));
        };
        if o.seed != seed {
            return Err(format!(
                "{}: line {n}: seed {}, but seed {seed} comes next in shard {}",
                f.name,
                o.seed,
                f.shard()
            ));
        }
        let line_id = o.sweep_id().map_err(|e| format!("{}: line {n}: {e}", f.name))?;
        if line_id != f.id {
            let why = line_id.differs_from(&f.id, "the file's first line").unwrap_or_else(|| {
                let shard = line_id.shard.map_or("none".to_string(), |s| s.to_string());
                format!("shard {shard}, but the file's first line has {}", f.shard())
            });
            return Err(format!("{}: line {n}: {why}", f.name));
        }
        f.advance()?;
        o.shard = None;
        if o.violation.is_some() {
            failing.push(seed);
        }
        let line = serde_json::to_string(&o).expect("outcomes serialize");
        writeln!(out, "{line}").map_err(|e| format!("cannot write: {e}"))?;
        merged += 1;
    }
    if let Some(f) = files.iter().find(|f| f.next.is_some()) {
        let (o, n) = f.next.as_ref().expect("found");
        return Err(format!("{}: line {n}: seed {} after the shard's last seed", f.name, o.seed));
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    Ok((merged, failing))
}

impl fmt::Display for SweepSummary {
    /// What ran and how fast, unavailability per reconfig step, the violations, then the
    /// result against what the scenario expects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resumed =
            if self.resumed > 0 { format!(" ({} read back from --out)", self.resumed) } else { String::new() };
        writeln!(
            f,
            "sweep {} (variant {}): {} seeds from {}{resumed}, {} failing",
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
        if let Some(c) = &self.coverage {
            let here = if self.resumed > 0 { " (seeds run here)" } else { "" };
            writeln!(
                f,
                "  coverage{here}: {} abstract states, {} transitions, {} fault states; {} states new in the last tenth of the seeds",
                c.states, c.transitions, c.fault_states, c.states_new_in_last_tenth
            )?;
        }
        self.write_reconfig_steps(f)?;
        self.write_violations(f)?;
        self.write_result(f)
    }
}

impl SweepSummary {
    /// One line per reconfig step, when seeds committed reconfigs.
    fn write_reconfig_steps(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reconfig_unavailable.is_empty() {
            return Ok(());
        }
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
        Ok(())
    }

    /// Seeds per broken invariant, and the first 20 failing seeds.
    fn write_violations(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.violations.is_empty() {
            return Ok(());
        }
        let v: Vec<String> = self.violations.iter().map(|(k, n)| format!("{k} in {n} seeds")).collect();
        writeln!(f, "  violations: {}", v.join(", "))?;
        let shown: Vec<String> = self.failing_seeds.iter().take(20).map(|s| s.to_string()).collect();
        let more = self.failing_seeds.len().saturating_sub(20);
        let more = if more > 0 { format!(" (+{more} more)") } else { String::new() };
        writeln!(f, "  failing seeds: {}{more}", shown.join(", "))
    }

    /// The last line: for a bug variant, whether the seeds caught it; otherwise ok (maybe
    /// with what ZooKeeper itself is known to break) or FAILED.
    fn write_result(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            scenario_hash: None,
            variant: Variant::None,
            zookeeper: None,
            seeds: None,
            shard: None,
            no_check: false,
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
            coverage: None,
            reached: None,
        }
    }

    #[test]
    fn seeds_are_computed_for_every_shard_as_the_old_list_filtered_them() {
        for (range, count) in [(0..10, 3), (5..6, 2), (7..100, 7), (0..3, 5)] {
            for index in 0..count {
                let mut o = SweepOptions::new(range.clone(), 1);
                o.shard = Some((index, count));
                let listed: Vec<u64> = range.clone().filter(|s| (s - range.start) % count == index).collect();
                let computed: Vec<u64> = (0..o.seed_count()).map(|k| o.seed_at(k)).collect();
                assert_eq!(computed, listed, "{range:?} shard {index}/{count}");
            }
        }
        assert_eq!(SweepOptions::new(0..u64::MAX, 1).seed_count(), u64::MAX);
    }

    #[test]
    fn seed_ranges_and_shards_read_back_as_written_and_refuse_nonsense() {
        let line = serde_json::to_string(&(SeedRange(3..9), Shard { index: 1, count: 4 })).unwrap();
        assert_eq!(line, r#"["3..9","1/4"]"#);
        assert_eq!(
            serde_json::from_str::<(SeedRange, Shard)>(&line).unwrap(),
            (SeedRange(3..9), Shard { index: 1, count: 4 })
        );
        for bad in [r#""9..3""#, r#""3..3""#, r#""a..b""#, r#""3""#] {
            assert!(serde_json::from_str::<SeedRange>(bad).is_err(), "{bad}");
        }
        for bad in [r#""4/4""#, r#""1/0""#, r#""1""#, r#""-1/3""#] {
            assert!(serde_json::from_str::<Shard>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_beyond_the_run_are_refused() {
        let mut o = outcome(0, vec![1]);
        o.sim_us = 100;
        o.recovery_us = Some(100);
        assert!(o.check_ranges().is_ok());
        o.recovery_us = Some(101);
        assert_eq!(o.check_ranges().unwrap_err(), "recovery_us: 101 is longer than the run (sim_us 100)");
        o.recovery_us = None;
        o.reconfig_unavailable_us = vec![5, u64::MAX];
        assert!(o.check_ranges().unwrap_err().starts_with("reconfig_unavailable_us: 18446744073709551615"));
    }

    #[test]
    fn sweep_ids_say_the_first_thing_that_differs() {
        let s = crate::scenario::Scenario::parse(
            "duration_ms = 0\nliveness_bound_ms = 5000\n[cluster]\nservers = 3\n",
            "x",
        )
        .unwrap();
        let a = SweepOptions::new(0..10, 1).sweep_id(&s);
        assert_eq!(a.differs_from(&a, "b"), None);
        let mut sharded = SweepOptions::new(0..10, 1);
        sharded.shard = Some((1, 3));
        let b = sharded.sweep_id(&s);
        assert_eq!(a.differs_from(&b, "b").unwrap(), "shard count 1, but b has 3");
        let mut c = b.clone();
        c.shard = Some(Shard { index: 2, count: 3 });
        assert_eq!(b.differs_from(&c, "c"), None, "the shard index aside");
        c.seeds = SeedRange(0..11);
        c.zookeeper = Release::V3_8_0;
        assert_eq!(b.differs_from(&c, "c").unwrap(), "ZooKeeper release 3.9.4, but c has 3.8.0");
    }

    #[test]
    fn outcomes_reach_the_sink_in_seed_order_whatever_the_jobs_and_a_resumed_tally_counts() {
        let s = crate::scenario::Scenario::parse(
            "duration_ms = 0\nliveness_bound_ms = 5000\n[cluster]\nservers = 3\n",
            "x",
        )
        .unwrap();
        let mut seen = Vec::new();
        let summary = sweep_into(&s, &SweepOptions::new(10..30, 3), Tally::default(), &mut |o| {
            seen.push(o);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.iter().map(|o| o.seed).collect::<Vec<_>>(), (10..30).collect::<Vec<_>>());
        assert_eq!(summary.seeds, 20);
        // The first eight read back, the rest run: the same summary, the rest of the lines.
        let mut done = Tally::default();
        seen[..8].iter().for_each(|o| done.add(o));
        let mut rest = Vec::new();
        let resumed = sweep_into(&s, &SweepOptions::new(10..30, 2), done, &mut |o| {
            rest.push(o);
            Ok(())
        })
        .unwrap();
        assert_eq!(rest, seen[8..]);
        assert_eq!((resumed.seeds, resumed.resumed, resumed.events), (20, 8, summary.events));
        // A sink that fails stops the sweep with its error.
        let mut n = 0;
        let err = sweep_into(&s, &SweepOptions::new(0..50, 2), Tally::default(), &mut |_| {
            n += 1;
            if n == 3 {
                Err("disk full".into())
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(err, "disk full");
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

    /// The tally counts distinct items over the seeds in seed order, and the states only
    /// the last tenth of the seeds reached.
    #[test]
    fn the_tally_counts_coverage_and_what_the_last_tenth_added() {
        let mut tally = Tally::default();
        for seed in 0..20 {
            let mut o = outcome(seed, vec![]);
            let states = if seed == 19 { vec![1, 2, 99] } else { vec![1, 2, seed % 3 + 10] };
            o.reached = Some(Reached { states, transitions: vec![seed % 2], faults: vec![] });
            tally.add(&o);
        }
        let c = tally.coverage().expect("seeds ran");
        assert_eq!((c.states, c.transitions, c.fault_states, c.states_new_in_last_tenth), (6, 2, 0, 1));
        assert_eq!(Tally::default().coverage(), None);
    }

    #[test]
    fn the_sweep_summary_prints_each_reconfig_step() {
        let mut summary = SweepSummary {
            scenario: "s".into(),
            variant: Variant::None,
            expected: vec![],
            seeds: 2,
            first_seed: 0,
            resumed: 0,
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
            coverage: None,
        };
        assert!(!summary.to_string().contains("reconfig"));
        summary.reconfig_unavailable = reconfig_steps(&[outcome(0, vec![0, 400_000]), outcome(1, vec![2_000])]);
        let text = summary.to_string();
        assert!(text.contains("    #1: 2 seeds, p50 0 us, p99 2 ms, max 2 ms\n"), "{text}");
        assert!(text.contains("    #2: 1 seeds, p50 400 ms, p99 400 ms, max 400 ms\n"), "{text}");
    }
}
