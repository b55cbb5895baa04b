//! One simulated run: the event loop that drives the servers, their network, the
//! service's clients, the workloads and the faults from one seed, with the monitor
//! checking after every step. Each part owns its state (`Servers`, [`Transport`],
//! `Fleet`, `Writes`, `Injector`, [`Monitor`]); the cluster dispatches each event to its
//! owner and carries effects from one part to another: here the servers' steps, in
//! `lifecycle` their processes coming and going, in `clients` the service's clients and
//! the workloads, in `inject` the faults, in `liveness` convergence after faults stop, in
//! `choices` the world stepped one chosen event at a time.

mod choices;
mod clients;
mod explore;
mod inject;
mod lifecycle;
mod liveness;
#[cfg(test)]
mod tests;

pub use crate::run::options::RunOptions;
pub use choices::Choice;
pub use explore::{run_moves, Move, Outlook};

use crate::check::checker::Checker;
use crate::check::recipe_checker::RecipeChecker;
use crate::format::hash_hex;
use crate::run::client_id::ClientId;
use crate::run::event::{Event, NetEvent, ServerEvent};
use crate::run::faults::Injector;
use crate::run::fleet::Fleet;
use crate::run::monitor::Monitor;
use crate::run::progress::Progress;
use crate::run::servers::Servers;
use crate::run::stats::{RunReport, Stats};
use crate::run::writes::Writes;
use crate::scenario::{ms_to_us, Scenario};
use crate::trace::{FaultEvent, TraceHeader, Tracer};
use crate::world::scheduler::Scheduler;
use crate::world::transport::{self, Transport};
use zab::contract::{ClientReply, Effect, Input, NodeConfig, Outbox};
use zab::message::Message;
use zab::{Sid, Variant};

/// What one step of the event loop did.
enum Advance {
    /// Took an event; the run goes on.
    Went,
    /// The run is over: done, a violation, or no event left.
    Over,
    /// `--until` stopped it at this time.
    Stopped(u64),
}

/// A cluster in the middle of a run: a value, which a clone forks (the copy writes no
/// trace).
#[derive(Clone)]
pub struct Cluster<'a> {
    scenario: &'a Scenario,
    variant: Variant,
    seed: u64,
    sched: Scheduler<Event>,
    servers: Servers,
    transport: Transport,
    /// The transport's events to schedule, reused between calls.
    net_out: transport::Out,
    outbox: Outbox,
    fleet: Option<Fleet>,
    writes: Writes,
    faults: Injector,
    monitor: Monitor,
}

impl<'a> Cluster<'a> {
    pub fn new(scenario: &'a Scenario, opts: RunOptions) -> Cluster<'a> {
        let variant = opts.variant.unwrap_or(scenario.variant);
        let release = opts.release.unwrap_or(scenario.zookeeper);
        let timing = scenario.timing();
        let n = scenario.cluster.servers as usize;
        let cfgs: Vec<NodeConfig> = scenario
            .servers()
            .map(|id| NodeConfig {
                storage: scenario.storage.config(),
                release,
                ..NodeConfig::new(id, scenario.static_config(id, variant), timing.clone(), variant)
            })
            .collect();
        let recent = if opts.recent_events { Tracer::RECENT_MAX } else { 0 };
        let tracer = Tracer::new(opts.trace, recent);
        let mut monitor = Monitor::new(opts.check, Checker::new(scenario.quorum(), n), Stats::new(n), tracer);
        monitor.recipe = scenario.recipe_checker();
        monitor.header(|| TraceHeader {
            scenario: scenario.name.clone(),
            scenario_path: opts.scenario_path,
            scenario_hash: hash_hex(scenario.content_hash()),
            seed: opts.seed,
            variant: variant.name().to_string(),
            zookeeper: release.name().to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            until_us: opts.until_us,
            moves: opts.moves,
        });
        // The order the parts are made in is the order their first events are scheduled.
        let mut sched = Scheduler::new();
        let servers = Servers::new(scenario, cfgs, opts.seed, &mut sched);
        let fleet = Fleet::new(scenario, opts.seed, &mut sched);
        let writes = Writes::new(scenario, opts.seed, &mut sched);
        let faults = Injector::new(scenario, opts.seed, &mut sched);
        let net = &scenario.network;
        Cluster {
            scenario,
            variant,
            seed: opts.seed,
            sched,
            servers,
            transport: Transport::new(
                scenario.cluster.servers,
                net.delay.clone(),
                opts.seed,
                net.election_window,
                ms_to_us(net.detect_ms),
            ),
            net_out: Vec::new(),
            outbox: Outbox::default(),
            fleet,
            writes,
            faults,
            monitor,
        }
    }

    /// Runs to the end: convergence after faults stop, a violation, or `until`.
    pub fn run(mut self, until_us: Option<u64>) -> RunReport {
        self.start();
        let mut progress = Progress::default();
        let stopped_at_us = loop {
            match self.advance(until_us, &mut progress) {
                Advance::Went => {}
                Advance::Over => break None,
                Advance::Stopped(u) => break Some(u),
            }
        };
        self.finish(stopped_at_us)
    }

    /// Takes the next event, with the checks after it.
    #[inline]
    fn advance(&mut self, until_us: Option<u64>, progress: &mut Progress) -> Advance {
        if self.monitor.violation().is_some() || self.is_done() {
            return Advance::Over;
        }
        if let (Some(u), Some(t)) = (until_us, self.sched.peek_time()) {
            if t > u {
                return Advance::Stopped(u);
            }
        }
        let Some((now, ev)) = self.sched.pop() else { return Advance::Over };
        if let Some(v) = progress.event(now, self.sched.depth(), &ev) {
            self.monitor.violate(v);
            return Advance::Over;
        }
        self.after(now, ev);
        Advance::Went
    }

    /// Carries out one event taken from the scheduler, with the checks after it.
    #[inline]
    fn after(&mut self, now: u64, ev: Event) {
        self.handle(now, ev);
        if !self.servers.to_retire.is_empty() {
            self.retire_when_ready(now);
        }
        self.check_convergence(now);
    }

    /// Every process exists before any starts, so first notifications find their peers;
    /// a migration's joiners may start later. Then the service's clients start.
    fn start(&mut self) {
        let late = self.scenario.reconfig.as_ref().and_then(|r| r.join_ms.map(|ms| (ms, r.initial_config())));
        for s in self.scenario.servers() {
            match late {
                Some((ms, initial)) if !initial.members().contains(s) => {
                    self.sched.at(ms_to_us(ms), Event::Server(ServerEvent::Join { server: s }));
                }
                _ => {
                    self.boot(s);
                }
            }
        }
        for s in self.scenario.servers() {
            if self.servers.is_up(s) {
                self.step(s, Input::Start, None);
            }
        }
        for k in 0..self.fleet.as_ref().map_or(0, Fleet::len) {
            self.start_client(k);
        }
    }

    #[inline]
    fn handle(&mut self, now: u64, ev: Event) {
        match ev {
            Event::Server(e) => self.server_event(now, e),
            Event::Net(e) => self.net_event(now, e),
            Event::Client(e) => {
                let Some((f, mut cx)) = self.fleet_cx() else { return };
                let outcome = f.handle(now, e, &mut cx);
                self.client_outcome(outcome);
            }
            Event::Fault(e) => self.fault_event(now, e),
            Event::Workload(e) => self.workload_event(now, e),
            Event::LivenessDeadline => self.liveness_deadline(now),
        }
    }

    #[inline]
    fn server_event(&mut self, now: u64, ev: ServerEvent) {
        match ev {
            ServerEvent::Timer { node, timer } => self.step(node, Input::Timer { timer }, None),
            ServerEvent::FsyncDone { node, life, id, file, mark, then_send } => {
                if !self.servers.fsync_done(node, life, file, mark) {
                    return;
                }
                for (to, generation, msg) in then_send {
                    if self.transport.still_open(node, to, generation) {
                        self.send(now, node, to, msg);
                    }
                }
                self.step(node, Input::Durable { fsync: id }, None);
            }
            ServerEvent::SupervisorRestart { server } | ServerEvent::Join { server } => {
                if !self.servers.is_up(server) && !self.servers.retired.contains(server) {
                    let joins = matches!(ev, ServerEvent::Join { .. });
                    let e = if joins { FaultEvent::Join { server } } else { FaultEvent::Restart { server } };
                    self.monitor.on_fault(now, e);
                    self.start_and_connect(now, server);
                }
            }
        }
    }

    #[inline]
    fn net_event(&mut self, now: u64, ev: NetEvent) {
        match ev {
            NetEvent::Deliver { from, to, sent_us, incarnation, generation, msg } => {
                let up = self.servers.is_up(to);
                let (deliver, next) = self.transport.arrive(now, (from, to, incarnation, generation), &msg, up);
                if let Some((stamp, waiting)) = next {
                    self.sched.at(stamp.at, Event::Net(NetEvent::deliver(from, to, stamp, waiting)));
                }
                if deliver {
                    self.step(to, Input::Message { from, msg }, Some(sent_us));
                }
            }
            NetEvent::Connection { node, peer, life, up, generation } => {
                // News of a process already gone, or of a connection already replaced.
                if self.servers.is_in_life(node, life) && self.transport.is_current(node, peer, generation) {
                    let input = if up { Input::ConnectionUp { peer } } else { Input::ConnectionDown { peer } };
                    self.step(node, input, None);
                }
            }
        }
    }

    /// Schedules what the transport returned, in order.
    fn schedule_net(&mut self, mut out: transport::Out) {
        for (at, e) in out.drain(..) {
            self.sched.at(at, Event::Net(e));
        }
        self.net_out = out;
    }

    /// Delivers one input to a live server and carries out its effects.
    fn step(&mut self, node: Sid, input: Input, sent_us: Option<u64>) {
        let now = self.sched.now_us();
        self.monitor.on_input(now, node, &input, sent_us);
        let mut out = std::mem::take(&mut self.outbox);
        self.servers.node_mut(node).expect("inputs go to live nodes").step(input, &mut out);
        let mut exit = None;
        for effect in out.effects.drain(..) {
            self.monitor.on_effect(now, node, &effect, &self.servers);
            match effect {
                Effect::Exit { code } => exit = Some(code),
                Effect::Observe(obs) => drop(obs),
                effect => self.apply_effect(now, node, effect),
            }
        }
        self.outbox = out;
        self.monitor.on_step_end(now, node, &self.servers);
        if let Some(code) = exit {
            self.process_exit(now, node, code);
        }
    }

    fn apply_effect(&mut self, now: u64, node: Sid, effect: Effect) {
        match effect {
            Effect::Send { to, msg } => self.send(now, node, to, msg),
            Effect::SetTimer { timer, after_us } => {
                let slot = self.servers.timer_slot(node, timer);
                self.sched.set_after(slot, after_us, Event::Server(ServerEvent::Timer { node, timer }));
            }
            Effect::CancelTimer { timer } => self.sched.cancel(self.servers.timer_slot(node, timer)),
            Effect::Write(w) => self.servers.write(now, node, w),
            Effect::Fsync { id, file, then_send } => {
                let (done, mark) = self.servers.fsync(now, node, file);
                let life = self.servers.life_if_up(node).expect("the node just stepped");
                let t = &self.transport;
                let then_send =
                    then_send.into_iter().map(|(to, msg)| (to, t.known_generation(node, to), msg)).collect();
                self.sched.at(done, Event::Server(ServerEvent::FsyncDone { node, life, id, file, mark, then_send }));
            }
            Effect::Connect { peer } => self.transport.connect(node, peer, self.servers.is_up(peer)),
            Effect::CloseConnection { peer } => {
                if let Some((at, e)) = self.transport.close(now, node, peer, self.servers.life_if_up(peer)) {
                    self.sched.at(at, Event::Net(e));
                }
            }
            Effect::ClientReply { client, reply } => self.on_client_reply(now, node, client, reply),
            Effect::Exit { .. } | Effect::Observe(_) => unreachable!("taken apart in step"),
        }
    }

    fn send(&mut self, now: u64, from: Sid, to: Sid, msg: Message) {
        if let Some(stamp) = self.transport.send(now, from, to, self.servers.is_up(to), &msg) {
            self.sched.at(stamp.at, Event::Net(NetEvent::deliver(from, to, stamp, msg)));
        }
    }

    fn on_client_reply(&mut self, now: u64, server: Sid, client: u64, reply: ClientReply) {
        self.monitor.stats.run.client_replies += 1;
        if let ClientId::Cnxn { k, .. } = ClientId::of_wire(client) {
            if let Some((f, mut cx)) = self.fleet_cx() {
                f.reply(now, server, k, client, reply, &mut cx);
            }
        } else if self.writes.on_reply(now, server, client, reply, &mut self.monitor) {
            self.retry_probe();
        }
    }

    fn finish(mut self, stopped_at_us: Option<u64>) -> RunReport {
        let now = self.sched.now_us();
        let counts = self.transport.counts;
        let run = &mut self.monitor.stats.run;
        run.messages_sent += counts.sent;
        run.messages_lost += counts.lost;
        run.notifications_coalesced += counts.coalesced;
        let expected = self.scenario.expected_of(self.variant);
        let recipe_terms = self.monitor.recipe.as_ref().map(RecipeChecker::terms);
        let fin = self.monitor.finish(now);
        let mut stats = fin.stats;
        stats.service = self.fleet.as_ref().map(|f| f.recipes.stats.clone());
        if let (Some(sv), Some(terms)) = (&mut stats.service, recipe_terms) {
            sv.terms = terms;
        }
        RunReport {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            variant: self.variant,
            expected,
            known: self.scenario.expect.known.clone(),
            applied_faults: self.faults.applied,
            violation: fin.violation,
            sim_us: now,
            events: fin.events,
            stopped_at_us,
            recovery_us: fin.checker.recovery_us(),
            progress_us: fin.checker.progress_us(),
            liveness_bound_us: self.scenario.liveness_bound_us(),
            trace_hash: fin.trace_hash,
            recent: fin.recent,
            trace_error: fin.trace_error,
            stats,
            coverage: fin.coverage,
        }
    }
}

/// Runs one seed of a scenario.
pub fn run(scenario: &Scenario, opts: RunOptions) -> RunReport {
    let until = opts.until_us;
    Cluster::new(scenario, opts).run(until)
}
