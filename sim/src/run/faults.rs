//! Faults: the injector that schedules scripted faults and draws random ones (what to
//! break next, from the run's fault stream, within the scenario's bound on how many
//! servers may be crashed or cut off at once), and the record of what it applied.

use crate::run::event::{Event, FaultEv};
use crate::scenario::{ms_to_us, FaultAction, RandomFaults, Scenario, ScriptedFault};
use crate::world::rng::{Purpose, Stream};
use crate::world::scheduler::Scheduler;
use zab::Sid;

/// What the fault generator may look at.
pub struct FaultView<'a> {
    pub servers: u64,
    /// Servers crashed or cut off now.
    pub faulty: &'a [Sid],
    /// The server LEADING now, if any.
    pub leader: Option<Sid>,
    /// How many more servers may become faulty (`None`: no bound).
    pub budget: Option<u64>,
    /// Servers with writes not yet durable (an fsync in flight).
    pub unsynced: &'a [Sid],
    /// Servers a reconfig removed and the operator stopped: out of the run.
    pub retired: &'a [Sid],
    /// Servers outside the initial configuration (a migration's joiners).
    pub joiners: &'a [Sid],
}

/// Draws the next random fault, or `None` when the budget allows nothing of the drawn
/// kind. The fault undoes itself after a drawn down time.
pub fn draw(rng: &mut Stream, spec: &RandomFaults, view: &FaultView<'_>) -> Option<FaultAction> {
    let weights = spec.weights().map(|(_, w)| w);
    let kind = rng.weighted(&weights);
    let down_ms = rng.range(spec.down_min_ms, spec.down_max_ms);
    let for_ms = Some(down_ms);
    let healthy: Vec<Sid> =
        (1..=view.servers).filter(|s| !view.faulty.contains(s) && !view.retired.contains(s)).collect();
    let budget = view.budget.unwrap_or(view.servers).min(healthy.len() as u64);
    match kind {
        0 if budget > 0 => Some(FaultAction::Crash { server: rng.pick(&healthy), for_ms }),
        1 => {
            let leader = view.leader.filter(|l| !view.faulty.contains(l) && budget > 0)?;
            Some(FaultAction::Crash { server: leader, for_ms })
        }
        2 | 3 if budget > 0 => {
            // Isolate a few healthy servers from everyone else.
            let k = rng.range(1, budget);
            let mut pool = healthy;
            rng.shuffle(&mut pool);
            let mut isolated: Vec<Sid> = pool.into_iter().take(k as usize).collect();
            isolated.sort_unstable();
            let rest: Vec<Sid> = (1..=view.servers).filter(|s| !isolated.contains(s)).collect();
            if kind == 2 {
                Some(FaultAction::Partition { groups: vec![isolated, rest], for_ms })
            } else if rng.chance(1, 2) {
                Some(FaultAction::Cut { from: isolated, to: rest, for_ms })
            } else {
                Some(FaultAction::Cut { from: rest, to: isolated, for_ms })
            }
        }
        5 => {
            // Cut the leader off from everyone, both ways.
            let leader = view.leader.filter(|l| !view.faulty.contains(l) && budget > 0)?;
            let rest: Vec<Sid> = (1..=view.servers).filter(|s| *s != leader).collect();
            Some(FaultAction::Partition { groups: vec![vec![leader], rest], for_ms })
        }
        6 if budget > 0 => {
            // Crash a server while an fsync is in flight, when there is one.
            let candidates: Vec<Sid> = healthy.iter().copied().filter(|s| view.unsynced.contains(s)).collect();
            let pool = if candidates.is_empty() { &healthy } else { &candidates };
            Some(FaultAction::Crash { server: rng.pick(pool), for_ms })
        }
        7 if budget > 0 => {
            // Crash a joiner (a server outside the initial configuration) that is up.
            let joiners: Vec<Sid> = healthy.iter().copied().filter(|s| view.joiners.contains(s)).collect();
            (!joiners.is_empty()).then(|| FaultAction::Crash { server: rng.pick(&joiners), for_ms })
        }
        8 if !view.joiners.is_empty() => {
            // Cut the initial ensemble off from the joiners, both ways.
            let old: Vec<Sid> = (1..=view.servers).filter(|s| !view.joiners.contains(s)).collect();
            Some(FaultAction::Partition { groups: vec![old, view.joiners.to_vec()], for_ms })
        }
        4 if view.servers >= 2 => {
            let from = rng.range(1, view.servers);
            let mut to = rng.range(1, view.servers - 1);
            if to >= from {
                to += 1;
            }
            Some(FaultAction::SlowLink { from, to, extra_ms: spec.slow_extra_ms, for_ms: down_ms })
        }
        _ => None,
    }
}

/// Swarm testing: a random fault mix for one seed. Every kind's weight, the pace of
/// faults and how long they last are drawn from the seed, so a sweep covers many mixes.
pub fn swarm(rng: &mut Stream) -> RandomFaults {
    let mut w = || rng.range(0, 3);
    let (crash, crash_leader, partition, one_way, slow_link, isolate_leader, crash_unsynced) =
        (w(), w(), w(), w(), w(), w(), w());
    let pace = rng.range(1, 4);
    let down = rng.range(1, 4);
    let mut spec = RandomFaults {
        crash_joiner: 0,
        partition_old_new: 0,
        min_interval_ms: 200 * pace,
        max_interval_ms: 3000 * pace,
        down_min_ms: 100 * down,
        down_max_ms: 4000 * down,
        crash,
        crash_leader,
        partition,
        one_way,
        slow_link,
        slow_extra_ms: rng.range(50, 1000),
        isolate_leader,
        crash_unsynced,
    };
    if spec.crash
        + spec.crash_leader
        + spec.partition
        + spec.one_way
        + spec.slow_link
        + spec.isolate_leader
        + spec.crash_unsynced
        == 0
    {
        spec.crash = 1;
    }
    spec
}

/// The fault injector: the scripted faults, the random fault mix and its stream, and the
/// record of every fault applied.
#[derive(Clone)]
pub(crate) struct Injector {
    rng: Stream,
    /// The random fault mix: the scenario's, or this seed's swarm draw.
    random: Option<RandomFaults>,
    /// Every fault applied, scripted or random, as a script (for `shrink`).
    pub applied: Vec<ScriptedFault>,
    next_cut: u64,
    /// The fault phase is over.
    pub stopped: bool,
}

impl Injector {
    /// Schedules the scripted faults, the first random fault and the end of the fault phase.
    pub fn new(scenario: &Scenario, seed: u64, sched: &mut Scheduler<Event>) -> Injector {
        let mut rng = Stream::new(seed, Purpose::Faults);
        for f in &scenario.faults.script {
            sched.at(ms_to_us(f.at_ms), Event::Fault(FaultEv::Scripted(f.action.clone())));
        }
        let random = if scenario.faults.swarm { Some(swarm(&mut rng)) } else { scenario.faults.random.clone() };
        if let Some(r) = &random {
            let first = ms_to_us(rng.range(r.min_interval_ms, r.max_interval_ms));
            sched.at(first, Event::Fault(FaultEv::Random));
        }
        sched.at(scenario.duration_us(), Event::Fault(FaultEv::Stop));
        Injector { rng, random, applied: Vec::new(), next_cut: 0, stopped: false }
    }

    /// Records a fault as a script would say it: a leader crash names the leader.
    pub fn record(&mut self, now: u64, action: &FaultAction, leader: Option<Sid>) {
        let as_scripted = match action {
            FaultAction::CrashLeader { for_ms } => leader.map(|server| FaultAction::Crash { server, for_ms: *for_ms }),
            a => Some(a.clone()),
        };
        if let Some(action) = as_scripted {
            self.applied.push(ScriptedFault { at_ms: now / 1000, action });
        }
    }

    /// A new cut's id.
    pub fn next_cut(&mut self) -> u64 {
        self.next_cut += 1;
        self.next_cut
    }

    /// Draws the random fault due now (none when the mix allows none in this state).
    pub fn draw(&mut self, view: &FaultView<'_>) -> Option<FaultAction> {
        draw(&mut self.rng, self.random.as_ref().expect("random faults are configured"), view)
    }

    /// Schedules the random fault after the one due now.
    pub fn schedule_next(&mut self, sched: &mut Scheduler<Event>) {
        let r = self.random.as_ref().expect("random faults are configured");
        let next = ms_to_us(self.rng.range(r.min_interval_ms, r.max_interval_ms));
        sched.after(next, Event::Fault(FaultEv::Random));
    }
}

/// The directed links a partition into `groups` cuts, and the servers it isolates: all
/// but the first largest group.
pub(crate) fn partition(groups: &[Vec<Sid>]) -> (Vec<(Sid, Sid)>, Vec<Sid>) {
    let mut links = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        for (hi, h) in groups.iter().enumerate() {
            if gi != hi {
                links.extend(g.iter().flat_map(|a| h.iter().map(move |b| (*a, *b))));
            }
        }
    }
    let largest = groups.iter().map(Vec::len).max().unwrap_or(0);
    let mut isolated: Vec<Sid> = Vec::new();
    let mut kept_largest = false;
    for g in groups {
        if g.len() == largest && !kept_largest {
            kept_largest = true;
        } else {
            isolated.extend(g);
        }
    }
    (links, isolated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::rng::Purpose;

    fn spec() -> RandomFaults {
        RandomFaults {
            min_interval_ms: 1,
            max_interval_ms: 2,
            down_min_ms: 1,
            down_max_ms: 2,
            crash: 1,
            crash_leader: 1,
            partition: 1,
            one_way: 1,
            slow_link: 1,
            slow_extra_ms: 5,
            isolate_leader: 1,
            crash_unsynced: 1,
            crash_joiner: 1,
            partition_old_new: 1,
        }
    }

    #[test]
    fn an_exhausted_budget_only_allows_slow_links() {
        let mut rng = Stream::new(4, Purpose::Faults);
        let view = FaultView {
            servers: 5,
            faulty: &[1, 2],
            leader: Some(5),
            budget: Some(0),
            unsynced: &[],
            retired: &[],
            joiners: &[],
        };
        for _ in 0..200 {
            match draw(&mut rng, &spec(), &view) {
                None | Some(FaultAction::SlowLink { .. }) => {}
                Some(f) => panic!("drew {f:?} with no budget"),
            }
        }
    }

    #[test]
    fn partitions_isolate_at_most_the_budget() {
        let mut rng = Stream::new(5, Purpose::Faults);
        let view = FaultView {
            servers: 5,
            faulty: &[],
            leader: None,
            budget: Some(2),
            unsynced: &[],
            retired: &[],
            joiners: &[],
        };
        for _ in 0..200 {
            if let Some(FaultAction::Partition { groups, .. }) = draw(&mut rng, &spec(), &view) {
                assert!(groups[0].len() <= 2 && !groups[0].is_empty());
                assert_eq!(groups[0].len() + groups[1].len(), 5);
            }
        }
    }
}
