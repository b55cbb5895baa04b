//! Shrinking a failing run to the smallest fault schedule that still fails with the same
//! invariant: the run's faults (random ones included) become an explicit timed script,
//! then, while the violation holds, faults are removed, shortened and moved earlier,
//! message delays shortened, the client load cut, and the fault phase ended sooner.
//! Every candidate is one deterministic run of the same seed.

use crate::check::invariant::{Invariant, Violation};
use crate::run::cluster::{run, RunOptions};
use crate::scenario::{FaultAction, Scenario, ScriptedFault};
use crate::world::dist::Delay;
use zab::Variant;

/// How many candidate runs a shrink may try.
pub const RUNS_MAX: usize = 400;

/// What a shrink found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest failing scenario found, its faults as a script.
    pub scenario: Scenario,
    pub invariant: Invariant,
    pub faults_before: usize,
    pub faults_after: usize,
    pub events_before: u64,
    pub events_after: u64,
    /// Candidate runs tried.
    pub runs: usize,
}

/// The search state: the smallest failing scenario so far.
struct Search {
    seed: u64,
    variant: Variant,
    invariant: Invariant,
    best: Scenario,
    best_events: u64,
    runs: usize,
}

impl Search {
    /// One run of the candidate; it becomes the best if it breaks the same invariant with
    /// fewer faults, or as many in no more events.
    fn keep(&mut self, cand: Scenario) -> bool {
        if self.runs >= RUNS_MAX || cand.validate().is_err() {
            return false;
        }
        self.runs += 1;
        let mut o = RunOptions::new(self.seed);
        o.variant = Some(self.variant);
        let r = run(&cand, o);
        match r.violation {
            // Fewer faults always count as smaller; otherwise the run must not grow.
            Some(v)
                if v.invariant == self.invariant
                    && (self.best_events == 0
                        || cand.faults.script.len() < self.best.faults.script.len()
                        || r.events <= self.best_events) =>
            {
                self.best = cand;
                self.best_events = r.events;
                true
            }
            _ => false,
        }
    }

    /// One round of every shrinking step, each kept only while the violation holds.
    /// Returns whether the round changed the best scenario (or its events).
    fn round(&mut self) -> bool {
        let before = (self.best.clone(), self.best_events);
        self.remove_faults();
        self.shorten_and_advance_faults();
        self.end_fault_phase_sooner();
        self.cut_load();
        self.shorten_delays();
        (self.best.clone(), self.best_events) != before
    }

    /// Removes faults: halves first, then smaller chunks down to one at a time.
    fn remove_faults(&mut self) {
        let mut chunk = self.best.faults.script.len().div_ceil(2).max(1);
        loop {
            let mut i = 0;
            while i < self.best.faults.script.len() {
                let mut cand = self.best.clone();
                let end = (i + chunk).min(cand.faults.script.len());
                cand.faults.script.drain(i..end);
                if !self.keep(cand) {
                    i += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }

    /// Shortens each fault, and moves it halfway to the one before.
    fn shorten_and_advance_faults(&mut self) {
        for i in 0..self.best.faults.script.len() {
            if let Some(cand) = with_fault(&self.best, i, shorten) {
                self.keep(cand);
            }
            let mut cand = self.best.clone();
            let earliest = if i == 0 { 0 } else { cand.faults.script[i - 1].at_ms };
            let at = &mut cand.faults.script[i].at_ms;
            if *at > earliest {
                *at = earliest + (*at - earliest) / 2;
                self.keep(cand);
            }
        }
    }

    /// Ends the fault phase a second after the last fault is over.
    fn end_fault_phase_sooner(&mut self) {
        let last = self.best.faults.script.iter().map(|f| f.at_ms + fault_length(&f.action)).max().unwrap_or(0);
        if last + 1000 < self.best.duration_ms {
            let mut cand = self.best.clone();
            cand.duration_ms = last + 1000;
            self.keep(cand);
        }
    }

    /// Cuts the client load: none at all, else fewer clients and fewer writes.
    fn cut_load(&mut self) {
        if self.best.workload.is_none() {
            return;
        }
        let mut cand = self.best.clone();
        cand.workload = None;
        if self.keep(cand) {
            return;
        }
        let mut cand = self.best.clone();
        let w = cand.workload.as_mut().expect("kept");
        w.clients = (w.clients / 2).max(1);
        self.keep(cand);
        let mut cand = self.best.clone();
        let w = cand.workload.as_mut().expect("kept");
        w.min_interval_us *= 2;
        w.max_interval_us *= 2;
        self.keep(cand);
    }

    /// Shortens message delays.
    fn shorten_delays(&mut self) {
        if let Some(d) = shorter(&self.best.network.delay) {
            let mut cand = self.best.clone();
            cand.network.delay = d;
            self.keep(cand);
        }
    }
}

/// Shrinks the run of `seed` (with `variant`, if given) of `scenario`.
pub fn shrink(scenario: &Scenario, seed: u64, variant: Option<Variant>) -> Result<Shrunk, String> {
    let variant = variant.unwrap_or(scenario.variant);
    let mut first = RunOptions::new(seed);
    first.variant = Some(variant);
    let original = run(scenario, first);
    let Some(v) = &original.violation else {
        return Err(format!("seed {seed} of {} passes with variant {variant}: nothing to shrink", scenario.name));
    };
    let scripted = as_script(scenario, variant, &original.applied_faults, v);
    let faults_before = scripted.faults.script.len();
    let mut sh = Search { seed, variant, invariant: v.invariant, best: scenario.clone(), best_events: 0, runs: 0 };
    if !sh.keep(scripted) {
        return Err(format!(
            "the run's faults replayed as a script no longer break {} (their timing within a millisecond mattered); \
             nothing shrunk",
            v.invariant
        ));
    }
    loop {
        let changed = sh.round();
        if !changed || sh.runs >= RUNS_MAX {
            break;
        }
    }
    let mut best = sh.best;
    best.description = format!(
        "Shrunk by `zabsim shrink` from {} seed {seed} variant {variant}: {} faults instead of {faults_before}, \
         breaking {}. Run it with `zabsim run FILE --seed {seed}`.\n\nThe original scenario:\n{}",
        scenario.name,
        best.faults.script.len(),
        sh.invariant,
        scenario.description
    );
    best.name = format!("{}-shrunk-seed{seed}", scenario.name);
    Ok(Shrunk {
        faults_after: best.faults.script.len(),
        scenario: best,
        invariant: sh.invariant,
        faults_before,
        events_before: original.events,
        events_after: sh.best_events,
        runs: sh.runs,
    })
}

/// The scenario with the run's applied faults (random ones included) as an explicit script
/// and the variant pinned, so every candidate replays them. A safety violation at time t
/// owes nothing to what comes after t, so later faults are dropped and the fault phase (and
/// the load) ends just after it.
fn as_script(scenario: &Scenario, variant: Variant, applied: &[ScriptedFault], v: &Violation) -> Scenario {
    let mut scripted = scenario.clone();
    scripted.variant = variant;
    scripted.faults.random = None;
    scripted.faults.swarm = false;
    if let Some(service) = &mut scripted.service_failover {
        service.faults = None; // Its applied faults are in the script too.
    }
    scripted.faults.keep_quorum = false;
    scripted.faults.script = applied.to_vec();
    scripted.expect.violation = vec![v.invariant];
    let liveness = matches!(v.invariant, Invariant::ElectionLiveness | Invariant::BroadcastLiveness);
    if !liveness {
        let t_ms = v.t_us / 1000;
        scripted.faults.script.retain(|f| f.at_ms <= t_ms);
        scripted.duration_ms = scripted.duration_ms.min(t_ms + 1);
    }
    scripted
}

/// The scenario with fault `i` replaced by `f` of it, if `f` has a smaller one.
fn with_fault(s: &Scenario, i: usize, f: fn(&FaultAction) -> Option<FaultAction>) -> Option<Scenario> {
    let mut cand = s.clone();
    let action = f(&cand.faults.script[i].action)?;
    cand.faults.script[i] = ScriptedFault { at_ms: cand.faults.script[i].at_ms, action };
    Some(cand)
}

/// The same fault, half as long (no shorter than 1 ms).
fn shorten(a: &FaultAction) -> Option<FaultAction> {
    let half = |ms: u64| (ms > 1).then_some(ms / 2);
    Some(match a.clone() {
        FaultAction::Crash { server, for_ms: Some(ms) } => FaultAction::Crash { server, for_ms: Some(half(ms)?) },
        FaultAction::CrashLeader { for_ms: Some(ms) } => FaultAction::CrashLeader { for_ms: Some(half(ms)?) },
        FaultAction::Partition { groups, for_ms: Some(ms) } => {
            FaultAction::Partition { groups, for_ms: Some(half(ms)?) }
        }
        FaultAction::Cut { from, to, for_ms: Some(ms) } => FaultAction::Cut { from, to, for_ms: Some(half(ms)?) },
        FaultAction::SlowLink { from, to, extra_ms, for_ms } => {
            FaultAction::SlowLink { from, to, extra_ms, for_ms: half(for_ms)? }
        }
        FaultAction::CrashInstance { instance, for_ms: Some(ms) } => {
            FaultAction::CrashInstance { instance, for_ms: Some(half(ms)?) }
        }
        FaultAction::IsolateClient { client, for_ms: Some(ms) } => {
            FaultAction::IsolateClient { client, for_ms: Some(half(ms)?) }
        }
        FaultAction::PauseClient { client, for_ms } => FaultAction::PauseClient { client, for_ms: half(for_ms)? },
        FaultAction::SlowClient { client, extra_ms, for_ms } => {
            FaultAction::SlowClient { client, extra_ms, for_ms: half(for_ms)? }
        }
        _ => return None,
    })
}

fn fault_length(a: &FaultAction) -> u64 {
    match a {
        FaultAction::Crash { for_ms, .. }
        | FaultAction::CrashLeader { for_ms }
        | FaultAction::Partition { for_ms, .. }
        | FaultAction::Cut { for_ms, .. }
        | FaultAction::CrashInstance { for_ms, .. }
        | FaultAction::IsolateClient { for_ms, .. } => for_ms.unwrap_or(0),
        FaultAction::SlowLink { for_ms, .. }
        | FaultAction::PauseClient { for_ms, .. }
        | FaultAction::SlowClient { for_ms, .. } => *for_ms,
        FaultAction::Restart { .. } | FaultAction::Heal => 0,
    }
}

/// Half the largest delay, if that is still a distribution.
fn shorter(d: &Delay) -> Option<Delay> {
    match *d {
        Delay::Constant { us } if us > 1 => Some(Delay::Constant { us: us / 2 }),
        Delay::Uniform { min_us, max_us } if max_us / 2 > min_us => Some(Delay::Uniform { min_us, max_us: max_us / 2 }),
        Delay::LongTail { min_us, scale_us, max_us } if max_us / 2 > min_us => {
            Some(Delay::LongTail { min_us, scale_us, max_us: max_us / 2 })
        }
        _ => None,
    }
}
