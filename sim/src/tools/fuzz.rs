//! Coverage-guided fault search (`zabsim fuzz`): a corpus of inputs (a seed, a random fault
//! mix, and a script of faults added to the scenario's own) that reached new abstract
//! protocol states (see `run::coverage`), whose scripts are mutated (a fault added, dropped,
//! moved, retargeted, lengthened or shortened; the mix remixed; a crash aimed at a moment
//! the parent run had an fsync in flight outside broadcast: of the leader when a learner
//! acknowledged NEWLEADER there, else of that server), with more energy for inputs and
//! moments that reach rarely reached coverage.
//!
//! Everything comes from the campaign seed: inputs are made in batches of [`BATCH`] from
//! the corpus as it stood before the batch, run in parallel, and folded back in batch
//! order, so a campaign does the same runs and finds the same thing whatever `--jobs`.

use crate::check::invariant::Invariant;
use crate::run::cluster::{run, RunOptions};
use crate::run::coverage::{mix, Coverage, Moment};
use crate::run::stats::RunReport;
use crate::scenario::{FaultAction, RandomFaults, Scenario, ScriptedFault};
use crate::tools::keyed::HashedSet;
use crate::world::rng::{Purpose, Stream};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use zab::{Sid, Variant};

/// Inputs made, run and folded back together. Fixed, so that the campaign does not depend
/// on `--jobs`.
pub const BATCH: usize = 8;

/// Fresh runs (the scenario's own random faults, a new seed) before mutating anything.
pub const FRESH_FIRST: u64 = 1;

/// The most faults a mutated script may hold.
pub const SCRIPT_MAX: usize = 64;

#[derive(Clone, Debug)]
pub struct FuzzOptions {
    pub campaign: u64,
    /// Stop after this many runs.
    pub runs: u64,
    pub jobs: usize,
    pub variant: Option<Variant>,
    /// Stop at the first violation the scenario does not declare known.
    pub stop_on_failure: bool,
}

/// One input: a seed, the random fault mix its faults are drawn from, and, unless fresh,
/// a fault script added to the scenario's faults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzInput {
    pub seed: u64,
    /// `None`: the scenario's own random fault mix; else a remix of it (swarm testing
    /// within the scenario's fault kinds: their weights, pace and length redrawn).
    pub mix: Option<RandomFaults>,
    /// `None`: no faults added; else the faults added to the scenario's (its random faults
    /// are still drawn from the seed).
    pub script: Option<Vec<ScriptedFault>>,
}

impl FuzzInput {
    /// Whether the run is the scenario exactly as it is, with a seed of its own.
    fn as_is(&self) -> bool {
        self.mix.is_none() && self.script.is_none()
    }
}

/// A corpus entry: an input that reached new coverage, what it reached, and the moments
/// its run had an fsync in flight outside broadcast.
#[derive(Clone, Debug)]
struct Entry {
    seed: u64,
    mix: Option<RandomFaults>,
    script: Vec<ScriptedFault>,
    items: Vec<u64>,
    moments: Vec<Moment>,
    picked: u64,
    /// The sum over its items of 1/(runs that reached it), scaled; updated each batch.
    rarity: u64,
}

/// How much a moment looks like the counterexamples of ZOOKEEPER-4643 and -4646, as a
/// weight. Measured on `bench/fuzz/*-blackbox.toml` (campaigns of 300 runs): a crash of the
/// leader at a learner's NEWLEADER acknowledgement with its log and epochs in flight, its
/// sync a DIFF, another server down and restarted just after, breaks safety in 30-60% of
/// the runs; 10-20% with no server down, under 5% after a SNAP; fresh seeds and the other
/// mutations 0-3%.
fn shape(m: &Moment) -> u64 {
    let w = |yes: bool, by: u64| if yes { by } else { 1 };
    w(m.newleader, 8) * w(m.down > 0, 4) * w(m.mode == 1, 2) * w(m.files == 3, 2)
}

/// A violation the campaign found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// 1 for the campaign's first run.
    pub run: u64,
    pub seed: u64,
    pub invariant: Invariant,
    /// Whether the run added mutated faults (else a fresh seed).
    pub mutated: bool,
    /// Whether the run's random faults came from a remix of the scenario's mix.
    pub remixed: bool,
    /// The scenario that replays it with `zabsim run FILE --seed SEED`.
    #[serde(skip)]
    pub scenario: Scenario,
}

/// What a campaign did.
#[derive(Clone, Debug, Serialize)]
pub struct FuzzSummary {
    pub scenario: String,
    pub variant: Variant,
    pub campaign: u64,
    pub runs: u64,
    pub events: u64,
    pub corpus: usize,
    pub states: u64,
    pub transitions: u64,
    pub fault_states: u64,
    pub findings: Vec<Finding>,
    /// Runs whose violation the scenario declares known (not findings).
    pub known: u64,
}

/// The scenario an input runs: `extra` faults scripted on top of its own (its random faults
/// still drawn from the seed, so that a crash of whoever leads still hits the leader after
/// an added fault changed who does), its random fault mix replaced by `mix` if any, and the
/// variant pinned.
pub fn scripted(
    scenario: &Scenario,
    variant: Variant,
    mix: Option<&RandomFaults>,
    extra: &[ScriptedFault],
) -> Scenario {
    let mut s = scenario.clone();
    s.variant = variant;
    if let Some(m) = mix {
        s.faults.random = Some(m.clone());
    }
    s.faults.script.extend(extra.iter().cloned());
    s.faults.script.sort_by_key(|f| f.at_ms);
    s
}

/// The campaign's state between batches.
struct Campaign<'a> {
    scenario: &'a Scenario,
    variant: Variant,
    rng: Stream,
    corpus: Vec<Entry>,
    /// How many runs reached each item.
    hits: BTreeMap<u64, u64>,
    /// Everything reached so far: only counted.
    states: HashedSet,
    transitions: HashedSet,
    faults: HashedSet,
    runs: u64,
    events: u64,
    known: u64,
    findings: Vec<Finding>,
}

impl<'a> Campaign<'a> {
    /// A campaign with nothing run yet, its stream drawn from `campaign`.
    fn new(scenario: &'a Scenario, variant: Variant, campaign: u64) -> Campaign<'a> {
        Campaign {
            scenario,
            variant,
            rng: Stream::new(campaign, Purpose::Fuzz),
            corpus: Vec::new(),
            hits: BTreeMap::new(),
            states: HashedSet::default(),
            transitions: HashedSet::default(),
            faults: HashedSet::default(),
            runs: 0,
            events: 0,
            known: 0,
            findings: Vec::new(),
        }
    }
}

/// Runs a campaign; `progress` sees each batch's runs so far and the distinct states.
pub fn fuzz(scenario: &Scenario, opts: &FuzzOptions, progress: &mut dyn FnMut(u64, u64)) -> FuzzSummary {
    let variant = opts.variant.unwrap_or(scenario.variant);
    let mut c = Campaign::new(scenario, variant, opts.campaign);
    while c.runs < opts.runs && (!opts.stop_on_failure || c.findings.is_empty()) {
        // The fresh runs first, alone: the next batch already mutates what they reached.
        let size = if c.runs < FRESH_FIRST { (FRESH_FIRST - c.runs) as usize } else { BATCH };
        let n = size.min((opts.runs - c.runs) as usize);
        if (c.runs / BATCH as u64) % 8 == 0 {
            c.rate();
        }
        let inputs: Vec<FuzzInput> = (0..n).map(|i| c.next_input(c.runs + i as u64)).collect();
        let reports = run_batch(scenario, variant, &inputs, opts.jobs, opts.stop_on_failure);
        for (input, (report, parent)) in inputs.into_iter().zip(reports.into_iter().map_while(|r| r)) {
            c.fold(input, report, parent, opts.stop_on_failure);
            if opts.stop_on_failure && !c.findings.is_empty() {
                break;
            }
        }
        progress(c.runs, c.states.len() as u64);
    }
    FuzzSummary {
        scenario: scenario.name.clone(),
        variant,
        campaign: opts.campaign,
        runs: c.runs,
        events: c.events,
        corpus: c.corpus.len(),
        states: c.states.len() as u64,
        transitions: c.transitions.len() as u64,
        fault_states: c.faults.len() as u64,
        findings: c.findings,
        known: c.known,
    }
}

/// A finished run and the faults its input added.
type Ran = (RunReport, Vec<ScriptedFault>);

/// Runs a batch over `jobs` threads; the reports come back in input order, each with the
/// faults it added (none for a fresh run). With `stop`, inputs after one that broke an
/// invariant the scenario does not declare known are not run (`None`): every input before
/// it is, whatever the jobs, so the campaign's first finding does not depend on them.
fn run_batch(scenario: &Scenario, variant: Variant, inputs: &[FuzzInput], jobs: usize, stop: bool) -> Vec<Option<Ran>> {
    let next = AtomicUsize::new(0);
    let found = AtomicUsize::new(usize::MAX);
    let out: Mutex<Vec<Option<Ran>>> = Mutex::new(vec![None; inputs.len()]);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(input) = inputs.get(i) else { break };
        if i > found.load(Ordering::Relaxed) {
            break;
        }
        let mut o = RunOptions::new(input.seed);
        o.variant = Some(variant);
        o.recent_events = false;
        let script = input.script.clone().unwrap_or_default();
        let r = if input.as_is() {
            run(scenario, o)
        } else {
            run(&scripted(scenario, variant, input.mix.as_ref(), &script), o)
        };
        if stop && r.violation.as_ref().is_some_and(|v| !r.known.contains(&v.invariant)) {
            found.fetch_min(i, Ordering::Relaxed);
        }
        out.lock().expect("no worker panicked")[i] = Some((r, script));
    };
    if jobs <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..jobs.min(inputs.len().max(1)) {
                s.spawn(work);
            }
        });
    }
    out.into_inner().expect("no worker panicked")
}

impl Campaign<'_> {
    /// The input for run number `k` (from 0).
    fn next_input(&mut self, k: u64) -> FuzzInput {
        if k < FRESH_FIRST || self.corpus.is_empty() || self.rng.chance(1, 8) {
            // A fresh seed: the first run under the scenario's own mix, then 3 in 4 remixed.
            let mix = if k >= FRESH_FIRST && self.rng.chance(3, 4) { self.remix() } else { None };
            return FuzzInput { seed: self.rng.next_u64(), mix, script: None };
        }
        let i = self.pick();
        self.corpus[i].picked += 1;
        let parent = self.corpus[i].clone();
        let (script, mix, aimed) = self.mutate(&parent);
        // A crash aimed at a moment needs the parent's run up to it, so its seed and mix;
        // other mutations take a new seed half the time (the same faults under other delays).
        let seed = if aimed || self.rng.chance(1, 2) { parent.seed } else { self.rng.next_u64() };
        FuzzInput { seed, mix, script: Some(script) }
    }

    /// A remix of the scenario's random fault mix (swarm testing within the scenario's
    /// kinds), or `None` when it has none: each kind's weight times 0 to 3 (the scenario's
    /// weights when that zeroes them all), faults 2, 4, 8 or 16 times as frequent, lasting
    /// 1, 1/2, 1/4 or 1/8 as long. Denser and shorter faults reach states the scenario's own
    /// pace rarely does, for fewer events (the servers spend less time serving load): 200
    /// seeds of `zk-4643` with faults 3 times as frequent and a third as long reach 2.3
    /// times the states in under half the CPU; and the mixes reach different states, so a
    /// union over them grows faster than one mix's (README, "Coverage-guided fault search").
    fn remix(&mut self) -> Option<RandomFaults> {
        let mut m = self.scenario.faults.random.clone()?;
        let dense = 2 << self.rng.below(4);
        let short = 1 << self.rng.below(4);
        m.min_interval_ms = (m.min_interval_ms / dense).max(1);
        m.max_interval_ms = (m.max_interval_ms / dense).max(1);
        m.down_min_ms = (m.down_min_ms / short).max(1);
        m.down_max_ms = (m.down_max_ms / short).max(1);
        let own = m.clone();
        let weights = [
            &mut m.crash,
            &mut m.crash_leader,
            &mut m.partition,
            &mut m.one_way,
            &mut m.slow_link,
            &mut m.isolate_leader,
            &mut m.crash_unsynced,
            &mut m.crash_joiner,
            &mut m.partition_old_new,
        ];
        let mut total = 0;
        for w in weights {
            *w *= self.rng.range(0, 3);
            total += *w;
        }
        if total == 0 {
            return Some(own);
        }
        Some(m)
    }

    /// Rates every corpus entry's rarity against the hits so far (every 8th batch: it
    /// reads every item of every entry; a new entry starts rated by what it found first).
    fn rate(&mut self) {
        for e in &mut self.corpus {
            e.rarity = e.items.iter().map(|i| 1_000_000 / self.hits.get(i).copied().unwrap_or(1).max(1)).sum();
        }
    }

    /// A corpus entry, drawn with weight its rarity (the sum over what it reached of
    /// 1/(runs that reached it)), lowered the more often it was picked already.
    fn pick(&mut self) -> usize {
        let weights: Vec<u64> = self.corpus.iter().map(|e| (e.rarity / (1 + e.picked / 4)).max(1)).collect();
        self.rng.weighted(&weights)
    }

    /// The parent's script with one to three mutations; or, often (nearly always when the
    /// parent's run has a NEWLEADER moment), a crash aimed at a moment of the parent's run
    /// with an fsync in flight outside broadcast (the faults before it unchanged, so the
    /// run gets there the same way).
    fn mutate(&mut self, parent: &Entry) -> (Vec<ScriptedFault>, Option<RandomFaults>, bool) {
        let mut script = parent.script.clone();
        let mut mix = parent.mix.clone();
        let duration = self.scenario.duration_ms;
        let shaped = parent.moments.iter().any(|m| m.newleader);
        let aimed = !parent.moments.is_empty() && if shaped { self.rng.chance(7, 8) } else { self.rng.chance(3, 4) };
        if aimed {
            self.aim(parent, &mut script, duration);
        } else {
            for _ in 0..self.rng.range(1, 3) {
                self.mutate_once(&mut script, &mut mix, duration);
            }
        }
        script.truncate(SCRIPT_MAX);
        script.sort_by_key(|f| f.at_ms);
        (script, mix, aimed)
    }

    /// A crash at a moment of the parent's run, drawn with weight [`shape`] over the runs
    /// that reached the moment's state (rare states first). At a NEWLEADER moment (15 in
    /// 16) the leader crashes there for long (half to all of the longest random down time)
    /// and the server that was down, if any, restarts within 300 ms: the learner, its
    /// currentEpoch the newest, and the server coming back then elect the learner, whose
    /// log lacks txns the leader committed (the counterexample shape of the explorer and
    /// of the sweeps' failing seeds; a leader back early would win instead).
    /// Otherwise the moment's server crashes, and half the time the leader once it is back.
    fn aim(&mut self, parent: &Entry, script: &mut Vec<ScriptedFault>, duration: u64) {
        let weights: Vec<u64> = parent
            .moments
            .iter()
            .map(|m| shape(m) * 1_000_000 / self.hits.get(&mix(m.state, 1)).copied().unwrap_or(1).max(1))
            .collect();
        let m = parent.moments[self.rng.weighted(&weights)];
        let at_ms = (m.ms + self.rng.range(0, 1)).min(duration);
        let down = self.down_ms();
        if m.newleader && self.rng.chance(15, 16) {
            let hi = self.scenario.faults.random.as_ref().map_or(3000, |r| r.down_max_ms);
            let long = self.rng.range(hi / 2, hi).max(down);
            script.push(ScriptedFault { at_ms, action: FaultAction::CrashLeader { for_ms: Some(long) } });
            if m.first_down > 0 {
                let back = (at_ms + self.rng.range(1, 300)).min(duration);
                script.push(ScriptedFault { at_ms: back, action: FaultAction::Restart { server: m.first_down } });
            }
            return;
        }
        script.push(ScriptedFault { at_ms, action: FaultAction::Crash { server: m.server, for_ms: Some(down) } });
        if self.rng.chance(1, 2) {
            // Then the leader, once the crashed server is back: the crash-timing bugs
            // need it to lead next.
            let later = (at_ms + down + self.rng.range(1, 2000)).min(duration);
            let for_ms = Some(self.down_ms());
            script.push(ScriptedFault { at_ms: later, action: FaultAction::CrashLeader { for_ms } });
        }
    }

    /// One mutation of a script, or of the random fault mix it is added to (a new remix,
    /// one in seven; one in four of an empty script).
    fn mutate_once(&mut self, script: &mut Vec<ScriptedFault>, mix: &mut Option<RandomFaults>, duration: u64) {
        let servers = self.scenario.cluster.servers;
        let op = if !script.is_empty() {
            self.rng.below(7)
        } else if self.rng.chance(1, 4) {
            6
        } else {
            0
        };
        match op {
            6 => *mix = self.remix(),
            0 => {
                let at_ms = self.rng.range(0, duration);
                let action = self.new_fault(servers);
                script.push(ScriptedFault { at_ms, action });
            }
            1 => {
                let i = self.rng.below(script.len() as u64) as usize;
                script.remove(i);
            }
            2 => {
                let i = self.rng.below(script.len() as u64) as usize;
                let scale = [10, 100, 1000][self.rng.below(3) as usize];
                let d = self.rng.range(1, scale);
                let at = &mut script[i].at_ms;
                *at = if self.rng.chance(1, 2) { at.saturating_sub(d) } else { (*at + d).min(duration) };
            }
            3 => {
                let i = self.rng.below(script.len() as u64) as usize;
                let to = self.rng.range(1, servers);
                if let FaultAction::Crash { server, .. } | FaultAction::Restart { server } = &mut script[i].action {
                    *server = to;
                }
            }
            _ => {
                let i = self.rng.below(script.len() as u64) as usize;
                let longer = self.rng.chance(1, 2);
                let scale = |ms: &mut u64| *ms = if longer { (*ms * 2).min(duration.max(1)) } else { (*ms / 2).max(1) };
                match &mut script[i].action {
                    FaultAction::Crash { for_ms: Some(ms), .. }
                    | FaultAction::CrashLeader { for_ms: Some(ms) }
                    | FaultAction::Partition { for_ms: Some(ms), .. }
                    | FaultAction::Cut { for_ms: Some(ms), .. }
                    | FaultAction::SlowLink { for_ms: ms, .. } => scale(ms),
                    _ => {}
                }
            }
        }
    }

    /// How long a new fault lasts: the scenario's random down times, else 0.2 to 3 s.
    fn down_ms(&mut self) -> u64 {
        let (lo, hi) = self.scenario.faults.random.as_ref().map_or((200, 3000), |r| (r.down_min_ms, r.down_max_ms));
        self.rng.range(lo, hi)
    }

    /// A new fault of a kind the scenario's random mix has (crashes when it has none).
    fn new_fault(&mut self, servers: u64) -> FaultAction {
        let Some(r) = self.scenario.faults.random.clone() else {
            return FaultAction::Crash { server: self.rng.range(1, servers), for_ms: Some(self.down_ms()) };
        };
        let weights = [
            r.crash + r.crash_unsynced + r.crash_joiner,
            r.crash_leader,
            r.partition + r.isolate_leader + r.partition_old_new,
            r.one_way,
            r.slow_link,
        ];
        let kind = if weights.iter().sum::<u64>() == 0 { 0 } else { self.rng.weighted(&weights) };
        let for_ms = self.down_ms();
        let server = self.rng.range(1, servers);
        let rest: Vec<Sid> = (1..=servers).filter(|s| *s != server).collect();
        match kind {
            1 => FaultAction::CrashLeader { for_ms: Some(for_ms) },
            2 => FaultAction::Partition { groups: vec![vec![server], rest], for_ms: Some(for_ms) },
            3 if self.rng.chance(1, 2) => FaultAction::Cut { from: vec![server], to: rest, for_ms: Some(for_ms) },
            3 => FaultAction::Cut { from: rest, to: vec![server], for_ms: Some(for_ms) },
            4 => {
                let to = self.rng.pick(&rest);
                FaultAction::SlowLink { from: server, to, extra_ms: r.slow_extra_ms, for_ms }
            }
            _ => FaultAction::Crash { server, for_ms: Some(for_ms) },
        }
    }

    /// Folds one finished run in: its coverage, and a finding or a corpus entry.
    fn fold(&mut self, input: FuzzInput, r: RunReport, script: Vec<ScriptedFault>, stop: bool) {
        self.runs += 1;
        self.events += r.events;
        let cov: &Coverage = &r.coverage;
        self.states.extend(cov.states.iter().copied());
        self.transitions.extend(cov.transitions.iter().copied());
        self.faults.extend(cov.faults.iter().copied());
        let items: Vec<u64> = cov.items().collect();
        let mut new = 0;
        for i in &items {
            let h = self.hits.entry(*i).or_insert(0);
            new += u64::from(*h == 0);
            *h += 1;
        }
        if let Some(v) = &r.violation {
            if r.known.contains(&v.invariant) {
                self.known += 1;
            } else if !stop || self.findings.is_empty() {
                let scenario = if input.as_is() {
                    self.scenario.clone()
                } else {
                    scripted(self.scenario, self.variant, input.mix.as_ref(), &script)
                };
                let (run, seed, invariant) = (self.runs, input.seed, v.invariant);
                let (mutated, remixed) = (input.script.is_some(), input.mix.is_some());
                self.findings.push(Finding { run, seed, invariant, mutated, remixed, scenario });
            }
            return; // A run stopped by a violation is no parent: its end is cut short.
        }
        if new > 0 {
            // A fault is scripted within the scenario's duration.
            let end = self.scenario.duration_ms;
            let moments: Vec<Moment> = cov.moments.iter().filter(|m| m.ms < end).copied().collect();
            let rarity = new * 1_000_000;
            let (seed, mix) = (input.seed, input.mix);
            self.corpus.push(Entry { seed, mix, script, items, moments, picked: 0, rarity });
        }
    }
}

/// A finding as a scenario file's text: the scenario that replays it (the scenario with the
/// faults the input added and its remixed random fault mix, if any), the variant pinned, and the
/// invariant expected, so that `zabsim run FILE --seed N` fails with it and `zabsim shrink`
/// can take it from there.
pub fn finding_scenario(base: &Scenario, f: &Finding, campaign: u64) -> Scenario {
    let mut s = f.scenario.clone();
    s.variant = f.scenario.variant;
    s.expect.violation = vec![f.invariant];
    s.name = format!("{}-fuzz-c{campaign}-run{}", base.name, f.run);
    s.description = format!(
        "Found by `zabsim fuzz` (campaign {campaign}, run {}) on {}: seed {} breaks {}. Run it with \
         `zabsim run FILE --seed {}`; shrink it with `zabsim shrink FILE --seed {}`.\n\nThe original scenario:\n{}",
        f.run, base.name, f.seed, f.invariant, f.seed, f.seed, base.description
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario::parse(
            "duration_ms = 3000\nliveness_bound_ms = 30000\n[cluster]\nservers = 3\n\
             [faults.random]\nmin_interval_ms = 300\nmax_interval_ms = 1000\ndown_min_ms = 100\n\
             down_max_ms = 800\ncrash = 1\ncrash_leader = 1\npartition = 1\nslow_link = 1\n",
            "f",
        )
        .expect("valid")
    }

    /// The same campaign seed gives the same campaign whatever the jobs, and mutated
    /// scripts stay valid scenarios.
    #[test]
    fn a_campaign_is_the_same_with_any_jobs_and_its_scripts_are_valid() {
        let s = scenario();
        let opts = |jobs| FuzzOptions { campaign: 3, runs: 20, jobs, variant: None, stop_on_failure: false };
        let a = fuzz(&s, &opts(1), &mut |_, _| {});
        let b = fuzz(&s, &opts(3), &mut |_, _| {});
        assert_eq!((a.runs, a.states, a.transitions, a.corpus), (b.runs, b.states, b.transitions, b.corpus));
        assert_eq!(a.runs, 20);
        assert!(a.corpus > 0 && a.states > 0);
        let mut c = Campaign::new(&s, s.variant, 1);
        let parent = Entry {
            seed: 1,
            mix: None,
            script: Vec::new(),
            items: vec![1],
            moments: vec![Moment {
                ms: 1500,
                server: 2,
                state: 7,
                newleader: true,
                down: 1,
                mode: 1,
                files: 1,
                first_down: 3,
            }],
            picked: 0,
            rarity: 1,
        };
        let mut shaped = 0;
        for _ in 0..300 {
            let (script, mix, _) = c.mutate(&parent);
            scripted(&s, s.variant, mix.as_ref(), &script).validate().unwrap_or_else(|e| panic!("{e}: {script:?}"));
            shaped += usize::from(matches!(
                script.as_slice(),
                [
                    ScriptedFault { at_ms: 1500 | 1501, action: FaultAction::CrashLeader { for_ms: Some(400..=800) } },
                    ScriptedFault { at_ms: 1502..=1801, action: FaultAction::Restart { server: 3 } }
                ]
            ));
        }
        // At a NEWLEADER moment with a server down: the leader's crash there, long, and the
        // down server's restart just after, in 7/8 x 15/16 of the mutations.
        assert!((220..=290).contains(&shaped), "{shaped}");
    }

    /// A remix keeps to the scenario's kinds (some weighted), its faults 2 to 16 times as
    /// frequent and 1 to 1/8 as long, and is a valid scenario; a scenario without random
    /// faults has nothing to remix.
    #[test]
    fn a_remix_stays_within_the_scenarios_kinds_and_paces() {
        let s = scenario();
        let own = s.faults.random.clone().expect("a random mix");
        let mut c = Campaign::new(&s, s.variant, 9);
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let m = c.remix().expect("a mix to remix");
            scripted(&s, s.variant, Some(&m), &[]).validate().unwrap_or_else(|e| panic!("{e}: {m:?}"));
            for ((name, w), (_, w0)) in m.weights().iter().zip(own.weights()) {
                assert!(*w <= 3 * w0, "{name}: {w} against the scenario's {w0}");
            }
            assert!(m.weights().iter().any(|(_, w)| *w > 0), "{m:?}");
            let paced = [2, 4, 8, 16].iter().any(|d| {
                (m.min_interval_ms, m.max_interval_ms)
                    == ((own.min_interval_ms / d).max(1), (own.max_interval_ms / d).max(1))
            });
            let lasting = [1, 2, 4, 8].iter().any(|d| {
                (m.down_min_ms, m.down_max_ms) == ((own.down_min_ms / d).max(1), (own.down_max_ms / d).max(1))
            });
            assert!(paced && lasting, "{m:?}");
            distinct.insert((m.min_interval_ms, m.down_max_ms, m.weights().map(|(_, w)| w)));
        }
        assert!(distinct.len() > 100, "{}", distinct.len());
        let mut bare = s.clone();
        bare.faults.random = None;
        assert_eq!(Campaign::new(&bare, bare.variant, 9).remix(), None);
    }
}
