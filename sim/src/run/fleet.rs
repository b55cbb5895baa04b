//! The service's clients: each one's ZooKeeper client library ([`Client`]) and recipe
//! ([`Recipes`]), its connection to a server as the network sees it, its timers, and the
//! faults that hit client processes (crash, isolation, a frozen process, a slow link).

use crate::run::client_id::ClientId;
use crate::run::event::{ClientEv, Event, FaultEv};
use crate::run::monitor::Monitor;
use crate::run::servers::Servers;
use crate::run::workload::{Recipes, Role};
use crate::scenario::{ms_to_us, ClientFaults, FaultAction, Scenario};
use crate::trace::FaultEvent;
use crate::world::dist::Delay;
use crate::world::rng::{Purpose, Stream};
use crate::world::scheduler::{Scheduler, TimerSlot};
use std::collections::VecDeque;
use zab::client::{Client, ClientConfig, ClientEffect, ClientInput, ClientTimer};
use zab::contract::{ClientReply, ClientRequest, Input};
use zab::quorum::QuorumVerifier;
use zab::Sid;

/// What the fleet may touch of the rest of the run.
pub(crate) struct Ctx<'a> {
    pub sched: &'a mut Scheduler<Event>,
    pub servers: &'a Servers,
    pub monitor: &'a mut Monitor,
}

/// A service client's connection, as the network sees it.
#[derive(Clone, Debug, Default)]
struct ClientConn {
    server: Option<Sid>,
    /// Bumped at each new connection and each break: older messages are dropped.
    generation: u64,
    /// The id the server knows this connection by (ZooKeeper's `ServerCnxn`): a fresh one
    /// per connection attempt, so an answer on a connection the client has left is never
    /// read on its next one, even to the same server.
    cnxn: u64,
    /// Connections this client has opened, for the next `cnxn`.
    opened: u64,
    /// FIFO: nothing is delivered before the previous message in the same direction.
    to_server_last_us: u64,
    to_client_last_us: u64,
}

/// What a client event asks of the cluster.
pub(crate) enum Outcome {
    Nothing,
    /// An input for a server.
    ToServer {
        server: Sid,
        input: Input,
        sent_us: Option<u64>,
    },
    /// An input for client `k` (held while its process is frozen).
    ToClient {
        k: usize,
        input: ClientInput,
        sent_us: Option<u64>,
    },
    /// Effects of client `k` to carry out.
    Effects {
        k: usize,
        effects: Vec<ClientEffect>,
    },
    /// Inputs a frozen client `k` missed, to deliver in order, each with its effects.
    Replay {
        k: usize,
        inputs: Vec<ClientInput>,
    },
}

/// The service workload's clients and their network.
#[derive(Clone)]
pub(crate) struct Fleet {
    pub recipes: Recipes,
    clients: Vec<Option<Client>>,
    conns: Vec<ClientConn>,
    /// Each client timer's one entry in the scheduler, moved when re-armed.
    timer_slots: Vec<[TimerSlot; ClientTimer::COUNT]>,
    /// Bumped when the process dies: its wake-ups are dropped.
    life: Vec<u64>,
    isolated: Vec<bool>,
    paused: Vec<bool>,
    /// Extra delay of everything the client sends.
    slow_us: Vec<u64>,
    /// Inputs that reached a frozen process, delivered when it resumes.
    backlog: Vec<Vec<ClientInput>>,
    session_timeout_ms: u32,
    /// When every client pointed at a live instance after faults stopped.
    pub converged_us: Option<u64>,
    servers: u64,
    delay: Delay,
    detect_us: u64,
    rng: Stream,
    rng_faults: Stream,
    faults: Option<ClientFaults>,
    /// Instances and clients the random client faults pick from.
    instances: u64,
    fault_targets: u64,
}

impl Fleet {
    /// The scenario's service clients, if it has a service; the first random client fault
    /// is scheduled if it comes before faults stop.
    pub fn new(scenario: &Scenario, seed: u64, sched: &mut Scheduler<Event>) -> Option<Fleet> {
        let spec = scenario.service_failover.as_ref()?;
        let recipes = Recipes::new(spec, scenario.reconfig.as_ref());
        let n = recipes.len();
        let timer_slots = (0..n).map(|_| std::array::from_fn(|_| sched.timer_slot())).collect();
        let mut f = Fleet {
            recipes,
            clients: vec![None; n],
            conns: vec![ClientConn::default(); n],
            timer_slots,
            life: vec![0; n],
            isolated: vec![false; n],
            paused: vec![false; n],
            slow_us: vec![0; n],
            backlog: vec![Vec::new(); n],
            session_timeout_ms: spec.session_timeout_ms,
            converged_us: None,
            servers: scenario.cluster.servers,
            delay: scenario.network.delay.clone(),
            detect_us: ms_to_us(scenario.network.detect_ms),
            rng: Stream::new(seed, Purpose::Clients),
            rng_faults: Stream::new(seed, Purpose::ClientFaults),
            faults: spec.faults.clone(),
            instances: spec.instances,
            fault_targets: scenario.service_clients(),
        };
        if let Some(r) = &f.faults {
            let first = ms_to_us(f.rng_faults.range(r.min_interval_ms, r.max_interval_ms));
            if first < scenario.duration_us() {
                sched.at(first, Event::Fault(FaultEv::RandomClient));
            }
        }
        Some(f)
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// What a scheduled client event asks of the cluster.
    pub fn handle(&mut self, now: u64, ev: ClientEv, cx: &mut Ctx) -> Outcome {
        match ev {
            ClientEv::Send { k, server, generation, sent_us, request } => {
                let c = &self.conns[k];
                if c.generation == generation && c.server == Some(server) && cx.servers.is_up(server) {
                    let input = Input::Client { client: c.cnxn, request: *request };
                    return Outcome::ToServer { server, input, sent_us: Some(sent_us) };
                }
                Outcome::Nothing
            }
            ClientEv::Recv { k, server, generation, sent_us, reply } if self.conns[k].generation == generation => {
                Outcome::ToClient {
                    k,
                    input: ClientInput::Reply { from: server, reply: *reply },
                    sent_us: Some(sent_us),
                }
            }
            ClientEv::Lost { k, server, generation } if self.conns[k].generation == generation => {
                Outcome::ToClient { k, input: ClientInput::ConnectionLost { server }, sent_us: None }
            }
            ClientEv::Gone { server, cnxn } if cx.servers.is_up(server) => {
                Outcome::ToServer { server, input: Input::ClientGone { client: cnxn }, sent_us: None }
            }
            ClientEv::Timer { k, timer } => Outcome::ToClient { k, input: ClientInput::Timer { timer }, sent_us: None },
            ClientEv::Wake { k, life } => self.wake(now, k, life, cx),
            ClientEv::Restart { k } => self.restart(now, k, cx),
            ClientEv::Heal { k } => {
                self.heal(now, k, cx);
                Outcome::Nothing
            }
            ClientEv::Resume { k } => Outcome::Replay { k, inputs: self.resume(now, k, cx) },
            ClientEv::SlowEnd { k } => {
                self.slow_end(now, k, cx);
                Outcome::Nothing
            }
            ClientEv::Recv { .. } | ClientEv::Lost { .. } | ClientEv::Gone { .. } => Outcome::Nothing,
        }
    }

    /// Starts service client `k`'s process: a new library, a new session.
    pub fn start(&mut self, k: usize, cx: &mut Ctx) -> Vec<ClientEffect> {
        // The connect string, shuffled as the ZooKeeper client does.
        let mut servers: Vec<Sid> = (1..=self.servers).collect();
        for i in (1..servers.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            servers.swap(i, j);
        }
        let cfg =
            ClientConfig { id: ClientId::Service(k).wire(), servers, session_timeout_ms: self.session_timeout_ms };
        let mut client = Client::new(cfg);
        let mut out = Vec::new();
        client.start(&mut out);
        self.clients[k] = Some(client);
        let life = self.life[k];
        if let Some(every) = self.recipes.wake_interval_us(k, &mut self.rng) {
            cx.sched.after(every, Event::Client(ClientEv::Wake { k, life }));
        }
        out
    }

    /// Delivers one input to client `k`: its effects, or nothing while the process is
    /// frozen (the input waits) or down.
    pub fn step(
        &mut self,
        now: u64,
        k: usize,
        input: ClientInput,
        sent_us: Option<u64>,
        cx: &mut Ctx,
    ) -> Vec<ClientEffect> {
        let Some(client) = self.clients[k].as_mut() else { return Vec::new() };
        if self.paused[k] {
            self.backlog[k].push(input);
            return Vec::new();
        }
        cx.monitor.on_client_input(now, k, ClientId::Service(k).wire(), &input, sent_us);
        let mut out = Vec::new();
        client.step(input, &mut out);
        out
    }

    /// Carries out client `k`'s effects from `queue` up to and including the next event
    /// its library reports, whose recipe reactions join the queue. Returns `None` once
    /// the queue is empty, else the servers that event's reconfig removed, with the
    /// configuration that removed them: the cluster retires them before the rest.
    pub fn apply_effects(
        &mut self,
        now: u64,
        k: usize,
        queue: &mut VecDeque<ClientEffect>,
        cx: &mut Ctx,
    ) -> Option<(Vec<Sid>, QuorumVerifier)> {
        while let Some(effect) = queue.pop_front() {
            match effect {
                ClientEffect::Send { to, request } => self.send(now, k, to, request, cx),
                ClientEffect::Close { server } => {
                    let c = &mut self.conns[k];
                    if c.server == Some(server) {
                        c.generation += 1;
                        c.server = None;
                        let d = self.delay.sample(&mut self.rng);
                        cx.sched.after(d, Event::Client(ClientEv::Gone { server, cnxn: c.cnxn }));
                    }
                }
                ClientEffect::SetTimer { timer, after_us } => {
                    let slot = self.timer_slots[k][timer.index()];
                    cx.sched.set_after(slot, after_us, Event::Client(ClientEv::Timer { k, timer }));
                }
                ClientEffect::CancelTimer { timer } => cx.sched.cancel(self.timer_slots[k][timer.index()]),
                ClientEffect::Event(ev) => {
                    let id = ClientId::Service(k).wire();
                    let session = self.clients[k].as_ref().and_then(|c| c.session()).unwrap_or(0);
                    cx.monitor.on_client_event(now, k, id, session, &ev);
                    let Some(client) = self.clients[k].as_mut() else { continue };
                    let mut more = Vec::new();
                    self.recipes.on_event(now, k, &ev, client, &mut self.rng, &mut more);
                    self.forward_notes(now, cx);
                    queue.extend(more);
                    return Some(self.recipes.take_retired());
                }
            }
        }
        None
    }

    fn send(&mut self, now: u64, k: usize, to: Sid, request: ClientRequest, cx: &mut Ctx) {
        let c = &mut self.conns[k];
        if matches!(request, ClientRequest::Connect { .. }) {
            c.generation += 1;
            c.opened += 1;
            c.cnxn = ClientId::Cnxn { k, opened: c.opened }.wire();
            c.server = Some(to);
            c.to_server_last_us = 0;
            c.to_client_last_us = 0;
        }
        if c.server != Some(to) || self.isolated[k] || !cx.servers.is_up(to) {
            return; // No connection: lost.
        }
        let d = self.delay.sample(&mut self.rng).saturating_add(self.slow_us[k]);
        let at = now.saturating_add(d).max(c.to_server_last_us);
        c.to_server_last_us = at;
        let generation = c.generation;
        let request = Box::new(request);
        cx.sched.at(at, Event::Client(ClientEv::Send { k, server: to, generation, sent_us: now, request }));
    }

    /// A server answered service client `k` on connection `cnxn`: the answer travels back
    /// on that connection, and is lost when the client has closed it (ZooKeeper writes it to
    /// the request's own `ServerCnxn`, never to a newer one).
    pub fn reply(&mut self, now: u64, server: Sid, k: usize, cnxn: u64, reply: ClientReply, cx: &mut Ctx) {
        let c = &mut self.conns[k];
        if c.server != Some(server) || c.cnxn != cnxn || self.isolated[k] || self.clients[k].is_none() {
            return;
        }
        let d = self.delay.sample(&mut self.rng);
        let at = now.saturating_add(d).max(c.to_client_last_us);
        c.to_client_last_us = at;
        let generation = c.generation;
        let ev = ClientEv::Recv { k, server, generation, sent_us: now, reply: Box::new(reply) };
        cx.sched.at(at, Event::Client(ev));
    }

    fn wake(&mut self, now: u64, k: usize, life: u64, cx: &mut Ctx) -> Outcome {
        // The operator finds the leader as `srvr` on each server would tell it.
        let operator = self.recipes.role(k) == Role::Operator;
        let leader = operator
            .then(|| cx.servers.leader().filter(|l| cx.servers.node(*l).is_some_and(|n| n.is_established())))
            .flatten();
        if self.life[k] != life || self.clients[k].is_none() {
            return Outcome::Nothing;
        }
        let mut out = Vec::new();
        if !self.paused[k] {
            if operator {
                self.recipes.set_leader(leader);
            }
            let client = self.clients[k].as_mut().expect("checked");
            self.recipes.wake(now, k, client, &mut out);
            self.forward_notes(now, cx);
        }
        if let Some(every) = self.recipes.wake_interval_us(k, &mut self.rng) {
            cx.sched.after(every, Event::Client(ClientEv::Wake { k, life }));
        }
        Outcome::Effects { k, effects: out }
    }

    /// What the recipe's holders reported goes to the checker.
    fn forward_notes(&mut self, now: u64, cx: &mut Ctx) {
        for note in std::mem::take(&mut self.recipes.notes) {
            cx.monitor.on_recipe_note(now, &note);
        }
    }

    /// Client `k`'s connection breaks (a crash of its server, or a cut): both ends learn
    /// of it after the detection delay.
    fn break_conn(&mut self, k: usize, tell_server: bool, sched: &mut Scheduler<Event>) {
        let c = &mut self.conns[k];
        let Some(server) = c.server else { return };
        // The connection is dead for good: nothing more travels on it, even once the link
        // is back (TCP delivers all of a connection's bytes in order or breaks it).
        c.generation += 1;
        c.server = None;
        let generation = c.generation;
        let cnxn = c.cnxn;
        if self.clients[k].is_some() {
            sched.after(self.detect_us, Event::Client(ClientEv::Lost { k, server, generation }));
        }
        if tell_server {
            sched.after(self.detect_us, Event::Client(ClientEv::Gone { server, cnxn }));
        }
    }

    /// A server went down: its clients lose their connections.
    pub fn server_down(&mut self, s: Sid, sched: &mut Scheduler<Event>) {
        for k in 0..self.conns.len() {
            if self.conns[k].server == Some(s) {
                self.break_conn(k, false, sched);
            }
        }
    }

    pub fn crash(&mut self, now: u64, k: usize, for_ms: Option<u64>, cx: &mut Ctx) {
        if self.clients[k].is_none() {
            let reason = format!("crash-instance: client {k} is down");
            cx.monitor.on_fault(now, FaultEvent::Skipped { reason });
            return;
        }
        cx.monitor.on_fault(now, FaultEvent::ClientCrash { client: k as u64 });
        // The OS closes its sockets: the server learns at once (after the detection delay).
        self.break_conn(k, true, cx.sched);
        self.clients[k] = None;
        self.life[k] += 1;
        self.paused[k] = false;
        self.backlog[k].clear();
        for t in self.timer_slots[k] {
            cx.sched.cancel(t);
        }
        self.recipes.went_down(k, now);
        self.recipes.died(k);
        self.forward_notes(now, cx);
        cx.monitor.data.client_gone(ClientId::Service(k).wire());
        if let Some(ms) = for_ms {
            cx.sched.after(ms_to_us(ms), Event::Client(ClientEv::Restart { k }));
        }
    }

    /// Restarts client `k`'s process if it is down: the new library's first effects.
    pub fn restart(&mut self, now: u64, k: usize, cx: &mut Ctx) -> Outcome {
        if self.clients[k].is_some() {
            return Outcome::Nothing;
        }
        self.recipes.restarted(k);
        cx.monitor.on_fault(now, FaultEvent::ClientRestart { client: k as u64 });
        Outcome::Effects { k, effects: self.start(k, cx) }
    }

    pub fn isolate(&mut self, now: u64, k: usize, for_ms: Option<u64>, cx: &mut Ctx) {
        if self.isolated[k] {
            return;
        }
        self.isolated[k] = true;
        self.recipes.went_down(k, now);
        cx.monitor.on_fault(now, FaultEvent::ClientIsolated { client: k as u64 });
        self.break_conn(k, true, cx.sched);
        if let Some(ms) = for_ms {
            cx.sched.after(ms_to_us(ms), Event::Client(ClientEv::Heal { k }));
        }
    }

    pub fn heal(&mut self, now: u64, k: usize, cx: &mut Ctx) {
        if self.isolated[k] {
            self.isolated[k] = false;
            cx.monitor.on_fault(now, FaultEvent::ClientReconnected { client: k as u64 });
        }
    }

    pub fn pause(&mut self, now: u64, k: usize, for_ms: u64, cx: &mut Ctx) {
        if self.paused[k] || self.clients[k].is_none() {
            return;
        }
        self.paused[k] = true;
        self.recipes.went_down(k, now);
        cx.monitor.on_fault(now, FaultEvent::ClientPaused { client: k as u64 });
        cx.sched.after(ms_to_us(for_ms), Event::Client(ClientEv::Resume { k }));
    }

    /// Client `k`'s frozen process resumes: the inputs it missed, to deliver in order.
    pub fn resume(&mut self, now: u64, k: usize, cx: &mut Ctx) -> Vec<ClientInput> {
        if !self.paused[k] {
            return Vec::new();
        }
        self.paused[k] = false;
        let backlog = std::mem::take(&mut self.backlog[k]);
        cx.monitor.on_fault(now, FaultEvent::ClientResumed { client: k as u64 });
        backlog
    }

    pub fn slow(&mut self, now: u64, k: usize, extra_ms: u64, for_ms: u64, cx: &mut Ctx) {
        if self.slow_us[k] > 0 || self.clients[k].is_none() {
            return;
        }
        self.slow_us[k] = ms_to_us(extra_ms);
        cx.monitor.on_fault(now, FaultEvent::ClientSlow { client: k as u64, extra_us: ms_to_us(extra_ms) });
        cx.sched.after(ms_to_us(for_ms), Event::Client(ClientEv::SlowEnd { k }));
    }

    pub fn slow_end(&mut self, now: u64, k: usize, cx: &mut Ctx) {
        if self.slow_us[k] > 0 {
            self.slow_us[k] = 0;
            cx.monitor.on_fault(now, FaultEvent::ClientSlowEnd { client: k as u64 });
        }
    }

    /// Draws the next random client fault.
    pub fn draw_fault(&mut self) -> FaultAction {
        let r = self.faults.as_ref().expect("random client faults are configured");
        let (instances, n) = (self.instances, self.fault_targets);
        let rng = &mut self.rng_faults;
        let total = r.crash_instance + r.isolate_client + r.pause_client + r.slow_client;
        let roll = rng.below(total);
        let for_ms = rng.range(r.down_min_ms, r.down_max_ms);
        if roll < r.crash_instance {
            FaultAction::CrashInstance { instance: rng.below(instances), for_ms: Some(for_ms) }
        } else if roll < r.crash_instance + r.isolate_client {
            FaultAction::IsolateClient { client: rng.below(n), for_ms: Some(for_ms) }
        } else if roll < r.crash_instance + r.isolate_client + r.pause_client {
            FaultAction::PauseClient { client: rng.below(n), for_ms }
        } else {
            FaultAction::SlowClient { client: rng.below(n), extra_ms: r.slow_extra_ms, for_ms }
        }
    }

    /// Schedules the random client fault after the one just applied.
    pub fn schedule_next_fault(&mut self, sched: &mut Scheduler<Event>) {
        let r = self.faults.as_ref().expect("random client faults are configured");
        let next = ms_to_us(self.rng_faults.range(r.min_interval_ms, r.max_interval_ms));
        sched.after(next, Event::Fault(FaultEv::RandomClient));
    }

    /// Every client points at a live instance and all agree, judged on the leader's tree;
    /// the time is kept the first time it holds.
    pub fn check_converged(&mut self, now: u64, servers: &Servers) {
        if self.converged_us.is_some() {
            return;
        }
        let Some(leader) = servers.leader() else { return };
        let tree = servers.node(leader).expect("the leader is up").tree();
        if self.recipes.converged(tree, &self.clients).is_ok() {
            self.converged_us = Some(now);
        }
    }

    /// Why the clients have not converged, once the liveness bound ran out.
    pub fn not_converged(&self, servers: &Servers) -> Option<(Sid, String)> {
        if self.converged_us.is_some() {
            return None;
        }
        let leader = servers.leader()?;
        let tree = servers.node(leader)?.tree();
        self.recipes.converged(tree, &self.clients).err().map(|why| (leader, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::checker::Checker;
    use crate::run::stats::Stats;
    use crate::trace::Tracer;
    use zab::contract::NodeConfig;

    /// A fleet of one instance and one client over three servers, with what it may touch.
    fn world() -> (Fleet, Scheduler<Event>, Servers, Monitor) {
        let text = concat!(
            "name = \"t\"\nduration_ms = 0\nliveness_bound_ms = 1000\n[cluster]\nservers = 3\n",
            "[service_failover]\ninstances = 1\nclients = 1\nsession_timeout_ms = 4000\n",
        );
        let scenario = Scenario::parse(text, "t").expect("a valid scenario");
        let mut sched = Scheduler::new();
        let cfgs = scenario
            .servers()
            .map(|id| NodeConfig::new(id, scenario.quorum(), scenario.timing(), zab::Variant::None))
            .collect();
        let mut servers = Servers::new(&scenario, cfgs, 1, &mut sched);
        for s in 1..=3 {
            servers.boot(s).expect("boots");
        }
        let fleet = Fleet::new(&scenario, 1, &mut sched).expect("a service");
        let monitor = Monitor::new(true, Checker::new(scenario.quorum(), 3), Stats::new(3), Tracer::new(None, 0));
        (fleet, sched, servers, monitor)
    }

    /// A frozen process takes no input: what reaches it waits, and is handed back in
    /// order when it resumes.
    #[test]
    fn a_paused_client_keeps_its_inputs_for_when_it_resumes() {
        let (mut f, mut sched, servers, mut monitor) = world();
        let mut cx = Ctx { sched: &mut sched, servers: &servers, monitor: &mut monitor };
        let k = 1;
        let effects = f.start(k, &mut cx);
        assert!(!effects.is_empty(), "a new client connects");
        f.pause(0, k, 1_000, &mut cx);
        let lost = [ClientInput::ConnectionLost { server: 1 }, ClientInput::ConnectionLost { server: 2 }];
        for input in lost.clone() {
            assert!(f.step(0, k, input, None, &mut cx).is_empty(), "frozen");
        }
        assert_eq!(f.resume(5, k, &mut cx), lost.to_vec());
        assert!(f.resume(6, k, &mut cx).is_empty(), "resumed once");
    }

    /// An answer travels back on the connection its request came in on: once the client
    /// has left that connection (a new attempt gets a new id), the answer is lost.
    #[test]
    fn an_answer_on_a_connection_the_client_left_is_lost() {
        let (mut f, mut sched, servers, mut monitor) = world();
        let mut cx = Ctx { sched: &mut sched, servers: &servers, monitor: &mut monitor };
        let k = 1;
        let mut queue: VecDeque<ClientEffect> = f.start(k, &mut cx).into();
        while f.apply_effects(0, k, &mut queue, &mut cx).is_some() {}
        let (server, cnxn) = (f.conns[k].server.expect("connecting"), f.conns[k].cnxn);
        let queued = cx.sched.len();
        f.reply(0, server, k, cnxn, ClientReply::NotServing { seq: 0 }, &mut cx);
        assert_eq!(cx.sched.len(), queued + 1, "on the current connection: delivered");
        f.break_conn(k, false, cx.sched);
        f.reply(0, server, k, cnxn, ClientReply::NotServing { seq: 0 }, &mut cx);
        assert_eq!(cx.sched.len(), queued + 2, "only the news of the break was added");
    }
}
