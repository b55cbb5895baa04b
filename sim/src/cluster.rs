//! One simulated run: servers, network, disks and faults driven by the scheduler from one
//! seed, checked after every step.

use crate::checker::{Checker, Invariant, Violation};
use crate::disk::Disk;
use crate::faults::{self, FaultView};
use crate::network::Network;
use crate::rng::{Purpose, Stream};
use crate::scenario::{FaultAction, RandomFaults, Scenario};
use crate::scheduler::Scheduler;
use crate::summary::{RunReport, Stats};
use crate::trace::{feed, hash_hex, FaultEvent, StableHasher, TraceHeader, TraceRecord, Tracer};
use std::hash::Hasher;
use std::io::Write;
use zab::durable::{DiskFile, DiskWrite};
use zab::message::{Message, Notification};
use zab::node::{ClientReply, ClientRequest, Effect, Input, NodeConfig, Observation, Outbox, Timer};
use zab::{Node, ServerState, Sid, Variant};

/// How one run is set up beyond its scenario.
pub struct RunOptions {
    pub seed: u64,
    /// Overrides the scenario's variant.
    pub variant: Option<Variant>,
    /// Check invariants (off only to measure the checker's cost).
    pub check: bool,
    /// Stop at this simulated time.
    pub until_us: Option<u64>,
    /// Where to write the JSON-lines trace.
    pub trace: Option<Box<dyn Write + Send>>,
    /// The scenario file, recorded in the trace header.
    pub scenario_path: String,
}

impl RunOptions {
    pub fn new(seed: u64) -> RunOptions {
        RunOptions { seed, variant: None, check: true, until_us: None, trace: None, scenario_path: String::new() }
    }
}

/// What the scheduler holds.
enum Event {
    Deliver {
        from: Sid,
        to: Sid,
        sent_us: u64,
        incarnation: u64,
        /// The quorum connection's generation, for quorum-protocol messages.
        generation: u64,
        msg: Message,
    },
    Timer {
        node: Sid,
        timer: Timer,
        generation: u64,
    },
    FsyncDone {
        node: Sid,
        life: u64,
        id: u64,
        file: DiskFile,
        mark: u64,
        then_send: Vec<(Sid, Message)>,
    },
    Connection {
        node: Sid,
        peer: Sid,
        life: u64,
        up: bool,
        /// For a closed quorum connection: its generation, so that news of it does not
        /// reach a newer connection between the same servers.
        generation: Option<u64>,
    },
    Fault(FaultAction),
    /// Time for the next random fault.
    RandomFault,
    RestartAfterFault {
        server: Sid,
    },
    HealCut {
        cut: u64,
    },
    SlowLinkEnd {
        from: Sid,
        to: Sid,
    },
    FaultsStop,
    LivenessDeadline,
    /// A client write reaches a server.
    ClientWrite {
        server: Sid,
        client: u64,
        seq: u64,
    },
    /// Time for the workload's next write.
    NextWrite,
    /// The progress write's attempt `seq` got no answer in time.
    ProbeTimeout {
        seq: u64,
    },
}

/// The client that submits the write proving progress once the cluster converged.
pub const PROBE_CLIENT: u64 = u64::MAX;

/// How long the progress write waits before it is sent again after a refusal.
const PROBE_RETRY_US: u64 = 100_000;

/// How long the progress write waits for an answer before it is sent again.
const PROBE_TIMEOUT_US: u64 = 2_000_000;

/// The election connection from one server to another.
#[derive(Clone, Debug, Default)]
struct ElectionChannel {
    in_flight: u32,
    waiting: Option<Notification>,
}

/// A cluster in the middle of a run.
pub struct Cluster<'a> {
    scenario: &'a Scenario,
    variant: Variant,
    seed: u64,
    cfgs: Vec<NodeConfig>,
    nodes: Vec<Option<Node>>,
    /// Bumped at each crash: events addressed to an earlier life are dropped.
    life: Vec<u64>,
    disks: Vec<Disk>,
    timer_gen: Vec<[u64; Timer::COUNT]>,
    /// Connection events to node a about peer b are delivered in order.
    conn_last_us: Vec<u64>,
    /// Per ordered pair, the election channel: notifications in flight, and the one
    /// waiting to be sent when the window is full. `QuorumCnxManager` queues one message
    /// per peer (`SEND_CAPACITY = 1`): a newer vote replaces a waiting one. The window
    /// stands for the socket's buffers; it only fills in a notification storm.
    election: Vec<ElectionChannel>,
    /// Per unordered pair, the generation of the quorum (learner) connection: bumped when
    /// a learner connects anew or either end closes it. Quorum messages and news of a
    /// closed connection from an older generation are dropped.
    quorum_gen: Vec<u64>,
    /// Per unordered pair: the quorum connection broke (a cut, a crash, a close). Nothing
    /// more travels on it, even after the link heals, until a learner connects anew: TCP
    /// delivers all of a connection's bytes in order or breaks it.
    quorum_dead: Vec<bool>,
    net: Network,
    sched: Scheduler<Event>,
    rng_net: Stream,
    rng_faults: Stream,
    rng_disk: Stream,
    rng_workload: Stream,
    outbox: Outbox,
    hasher: StableHasher,
    events: u64,
    tracer: Tracer,
    check: bool,
    checker: Checker,
    stats: Stats,
    next_cut: u64,
    faults_stopped: bool,
    violation: Option<Violation>,
    /// Client writes submitted and not answered yet, with when they were submitted.
    writes_in_flight: std::collections::BTreeMap<(u64, u64), u64>,
    next_write_seq: u64,
    probe_submitted: bool,
    probe_attempt: u64,
    /// The random fault mix: the scenario's, or this seed's swarm draw.
    random_faults: Option<RandomFaults>,
    /// Every fault applied, scripted or random, as a script.
    applied_faults: Vec<crate::scenario::ScriptedFault>,
}

impl<'a> Cluster<'a> {
    pub fn new(scenario: &'a Scenario, opts: RunOptions) -> Cluster<'a> {
        let variant = opts.variant.unwrap_or(scenario.variant);
        let quorum = scenario.quorum();
        let timing = scenario.timing();
        let n = scenario.cluster.servers as usize;
        let cfgs: Vec<NodeConfig> = scenario
            .servers()
            .map(|id| NodeConfig { id, quorum: quorum.clone(), timing: timing.clone(), variant })
            .collect();
        let disks = scenario.servers().map(|s| Disk::new(scenario.initial_state(s))).collect();
        let mut tracer = Tracer::new(opts.trace);
        if tracer.is_writing() {
            tracer.record(TraceRecord::Header(TraceHeader {
                scenario: scenario.name.clone(),
                scenario_path: opts.scenario_path,
                scenario_hash: hash_hex(scenario.content_hash()),
                seed: opts.seed,
                variant: variant.name().to_string(),
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
            }));
        }
        let mut c = Cluster {
            scenario,
            variant,
            seed: opts.seed,
            cfgs,
            nodes: vec![None; n],
            life: vec![0; n],
            disks,
            timer_gen: vec![[0; Timer::COUNT]; n],
            conn_last_us: vec![0; n * n],
            election: vec![ElectionChannel::default(); n * n],
            quorum_gen: vec![0; n * n],
            quorum_dead: vec![false; n * n],
            net: Network::new(scenario.cluster.servers, scenario.network.delay.clone()),
            sched: Scheduler::new(),
            rng_net: Stream::new(opts.seed, Purpose::Network),
            rng_faults: Stream::new(opts.seed, Purpose::Faults),
            rng_disk: Stream::new(opts.seed, Purpose::Disk),
            rng_workload: Stream::new(opts.seed, Purpose::Workload),
            outbox: Outbox::default(),
            hasher: StableHasher::new(),
            events: 0,
            tracer,
            check: opts.check,
            checker: Checker::new(quorum, n),
            stats: Stats::new(n),
            next_cut: 0,
            faults_stopped: false,
            violation: None,
            writes_in_flight: std::collections::BTreeMap::new(),
            next_write_seq: 0,
            probe_submitted: false,
            probe_attempt: 0,
            random_faults: scenario.faults.random.clone(),
            applied_faults: Vec::new(),
        };
        if let Some(w) = &scenario.workload {
            let first = c.rng_workload.range(w.min_interval_us, w.max_interval_us);
            if first < scenario.duration_us() {
                c.sched.at(first, Event::NextWrite);
            }
        }
        for f in &scenario.faults.script {
            c.sched.at(f.at_ms * 1000, Event::Fault(f.action.clone()));
        }
        if scenario.faults.swarm {
            c.random_faults = Some(faults::swarm(&mut c.rng_faults));
        }
        if let Some(r) = c.random_faults.clone() {
            let first = c.rng_faults.range(r.min_interval_ms, r.max_interval_ms) * 1000;
            c.sched.at(first, Event::RandomFault);
        }
        c.sched.at(scenario.duration_us(), Event::FaultsStop);
        c
    }

    fn idx(s: Sid) -> usize {
        s as usize - 1
    }

    /// Runs to the end: convergence after faults stop, a violation, or `until`.
    pub fn run(mut self, until_us: Option<u64>) -> RunReport {
        // Every process exists before any starts, so first notifications find their peers.
        for s in self.scenario.servers() {
            self.boot(s);
        }
        for s in self.scenario.servers() {
            if self.nodes[Self::idx(s)].is_some() {
                self.step(s, Input::Start, None);
            }
        }
        let mut stopped_at_us = None;
        while self.violation.is_none() && !self.checker.is_done() {
            if let (Some(u), Some(t)) = (until_us, self.sched.peek_time()) {
                if t > u {
                    stopped_at_us = Some(u);
                    break;
                }
            }
            let Some((now, ev)) = self.sched.pop() else { break };
            self.handle(now, ev);
            if self.faults_stopped && self.violation.is_none() && self.checker.check_converged(now, &self.nodes) {
                self.submit_probe(now);
            }
        }
        self.finish(stopped_at_us)
    }

    fn handle(&mut self, now: u64, ev: Event) {
        match ev {
            Event::Deliver { from, to, sent_us, incarnation, generation, msg } => {
                let i = Self::idx(to);
                if self.net.incarnation(from, to) != incarnation {
                    return; // Counted as lost when the channel broke.
                }
                if !matches!(msg, Message::Notification(_)) && self.quorum_gen[self.pair(from, to)] != generation {
                    self.stats.run.messages_lost += 1;
                    return; // Sent on a quorum connection since closed or replaced.
                }
                if matches!(msg, Message::Notification(_)) {
                    self.election_window_freed(now, from, to);
                }
                if self.nodes[i].is_none() {
                    self.stats.run.messages_lost += 1;
                    return;
                }
                self.step(to, Input::Message { from, msg }, Some(sent_us));
            }
            Event::Timer { node, timer, generation } => {
                let i = Self::idx(node);
                if self.nodes[i].is_some() && self.timer_gen[i][timer.index()] == generation {
                    self.step(node, Input::Timer { timer }, None);
                }
            }
            Event::FsyncDone { node, life, id, file, mark, then_send } => {
                let i = Self::idx(node);
                if self.nodes[i].is_none() || self.life[i] != life {
                    return;
                }
                self.disks[i].complete(file, mark);
                for (to, msg) in then_send {
                    self.send(now, node, to, msg);
                }
                self.step(node, Input::Durable { fsync: id }, None);
            }
            Event::Connection { node, peer, life, up, generation } => {
                let i = Self::idx(node);
                if self.nodes[i].is_none() || self.life[i] != life {
                    return;
                }
                if generation.is_some_and(|g| self.quorum_gen[self.pair(node, peer)] != g) {
                    return; // News of a connection already replaced by a newer one.
                }
                let input = if up { Input::ConnectionUp { peer } } else { Input::ConnectionDown { peer } };
                self.step(node, input, None);
            }
            Event::Fault(action) => self.apply_fault(now, action),
            Event::RandomFault => self.random_fault(now),
            Event::RestartAfterFault { server } => {
                if !self.faults_stopped {
                    self.restart(now, server);
                }
            }
            Event::HealCut { cut } => {
                if !self.faults_stopped {
                    self.stats.count_fault("heal");
                    self.fault_event(now, FaultEvent::Heal { cut });
                    let back = self.net.heal(cut);
                    self.links_up(now, back);
                }
            }
            Event::SlowLinkEnd { from, to } => {
                self.fault_event(now, FaultEvent::SlowLinkEnd { from, to });
                self.net.set_extra_delay(from, to, 0);
            }
            Event::FaultsStop => self.stop_faults(now),
            Event::LivenessDeadline => {
                if self.faults_stopped {
                    if let Some(v) = self.checker.on_deadline(now, &self.nodes) {
                        self.violate(v);
                    }
                }
            }
            Event::ClientWrite { server, client, seq } => {
                if self.nodes[Self::idx(server)].is_some() {
                    self.step(server, Input::Client { client, request: ClientRequest::Write { seq } }, None);
                } else if client == PROBE_CLIENT {
                    self.retry_probe(now);
                }
            }
            Event::NextWrite => self.next_write(now),
            Event::ProbeTimeout { seq } => {
                if seq == self.probe_attempt {
                    self.retry_probe(now);
                }
            }
        }
    }

    /// Delivers one input to a live node and carries out its effects.
    fn step(&mut self, node: Sid, input: Input, sent_us: Option<u64>) {
        let now = self.sched.now_us();
        self.events += 1;
        feed(&mut self.hasher, &(now, node));
        feed(&mut self.hasher, &input);
        let i = Self::idx(node);
        let mut out = std::mem::take(&mut self.outbox);
        {
            let n = self.nodes[i].as_mut().expect("inputs go to live nodes");
            self.tracer.record(TraceRecord::Input { i: self.events, t_us: now, node, sent_us, input: input.clone() });
            n.step(input, &mut out);
        }
        let mut log_written = false;
        let mut log_shrank = false;
        for effect in out.effects.drain(..) {
            if let Effect::Write(w) = &effect {
                log_written |= w.file() == DiskFile::Log;
                log_shrank |= matches!(w, DiskWrite::Truncate { .. } | DiskWrite::Snapshot { .. });
            }
            self.apply_effect(now, node, effect);
        }
        self.outbox = out;
        if log_written && self.check {
            let log = self.nodes[i].as_ref().expect("the node just stepped").log();
            if let Some(v) = self.checker.log_changed(now, node, log, log_shrank) {
                self.violate(v);
            }
        }
    }

    fn apply_effect(&mut self, now: u64, node: Sid, effect: Effect) {
        let i = Self::idx(node);
        match effect {
            Effect::Send { to, msg } => self.send(now, node, to, msg),
            Effect::SetTimer { timer, after_us } => {
                let g = &mut self.timer_gen[i][timer.index()];
                *g += 1;
                let generation = *g;
                self.sched.at(now + after_us, Event::Timer { node, timer, generation });
            }
            Effect::CancelTimer { timer } => self.timer_gen[i][timer.index()] += 1,
            Effect::Write(w) => self.disks[i].write(w),
            Effect::Fsync { id, file, then_send } => {
                let latency = self.scenario.disk.fsync.sample(&mut self.rng_disk);
                let (done, mark) = self.disks[i].fsync(file, now, latency);
                let life = self.life[i];
                self.sched.at(done, Event::FsyncDone { node, life, id, file, mark, then_send });
            }
            Effect::CloseConnection { peer } => {
                // The quorum connection closes (the election connection stays): what is in
                // flight on it is lost, and the peer sees the close after a network delay.
                let p = self.pair(node, peer);
                self.quorum_gen[p] += 1;
                self.quorum_dead[p] = true;
                let d = self.scenario.network.delay.sample(&mut self.rng_net);
                let generation = Some(self.quorum_gen[p]);
                self.notify(now, peer, node, false, d, generation);
            }
            Effect::ClientReply { client, reply } => self.on_client_reply(now, node, client, reply),
            Effect::Observe(obs) => {
                self.stats.observe(now, node, &obs);
                if self.check {
                    // Only a growing committed log needs every server's log (durable when down).
                    let needs_logs =
                        matches!(obs, Observation::LeaderEstablished { .. } | Observation::Committed { .. });
                    let logs: Vec<&[zab::durable::Txn]> = if needs_logs {
                        self.nodes
                            .iter()
                            .zip(&self.disks)
                            .map(|(n, d)| n.as_ref().map_or(d.durable().log.as_slice(), |n| n.log()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    if let Some(v) = self.checker.observe(now, node, &obs, &self.nodes, &logs) {
                        self.violate(v);
                    }
                }
                self.tracer.record(TraceRecord::Observe { t_us: now, node, obs });
            }
        }
    }

    fn on_client_reply(&mut self, now: u64, server: Sid, client: u64, reply: ClientReply) {
        self.stats.run.client_replies += 1;
        match reply {
            ClientReply::WriteOk { zxid, .. } if client == PROBE_CLIENT => {
                if self.check {
                    if let Some(v) = self.checker.client_acked(now, server, client, zxid) {
                        self.violate(v);
                    }
                }
                self.checker.probe_committed(now);
            }
            ClientReply::WriteOk { seq, zxid } => {
                if let Some(sent) = self.writes_in_flight.remove(&(client, seq)) {
                    self.stats.run.write_latency_us.push(now - sent);
                }
                self.stats.run.writes_acked += 1;
                if self.check {
                    if let Some(v) = self.checker.client_acked(now, server, client, zxid) {
                        self.violate(v);
                    }
                }
            }
            ClientReply::NotServing { seq } => {
                if client == PROBE_CLIENT {
                    if seq == self.probe_attempt {
                        self.retry_probe(now);
                    }
                } else {
                    self.writes_in_flight.remove(&(client, seq));
                    self.stats.run.writes_refused += 1;
                }
            }
            ClientReply::Srvr { .. } => {}
        }
    }

    /// The workload's next write: a random client writes to a random server.
    fn next_write(&mut self, now: u64) {
        let Some(w) = &self.scenario.workload else { return };
        if self.faults_stopped {
            return;
        }
        let client = self.rng_workload.below(w.clients);
        let server = self.rng_workload.range(1, self.scenario.cluster.servers);
        let seq = self.next_write_seq;
        self.next_write_seq += 1;
        self.writes_in_flight.insert((client, seq), now);
        self.stats.run.writes_submitted += 1;
        let d = self.scenario.network.delay.sample(&mut self.rng_workload);
        self.sched.at(now + d, Event::ClientWrite { server, client, seq });
        let next = self.rng_workload.range(w.min_interval_us, w.max_interval_us);
        self.sched.at(now + next, Event::NextWrite);
    }

    /// The cluster converged after faults stopped: a write to the leader must now commit.
    fn submit_probe(&mut self, now: u64) {
        if !self.probe_submitted {
            self.probe_submitted = true;
            self.retry_probe(now);
        }
    }

    /// Sends the progress write (again) to whoever leads now, a little later. Like a
    /// ZooKeeper client after a connection loss, it retries until it gets an answer.
    fn retry_probe(&mut self, now: u64) {
        if self.checker.is_done() {
            return;
        }
        self.probe_attempt += 1;
        let seq = self.probe_attempt;
        if let Some(server) = self.leader() {
            let d = self.scenario.network.delay.sample(&mut self.rng_workload);
            self.sched.at(now + d + PROBE_RETRY_US, Event::ClientWrite { server, client: PROBE_CLIENT, seq });
        }
        self.sched.at(now + PROBE_TIMEOUT_US, Event::ProbeTimeout { seq });
    }

    fn send(&mut self, now: u64, from: Sid, to: Sid, msg: Message) {
        assert_ne!(from, to, "server {from} sent itself a message over the network");
        self.stats.run.messages_sent += 1;
        if self.nodes[Self::idx(to)].is_none() || !self.net.is_linked(from, to) {
            self.stats.run.messages_lost += 1; // No connection: the send fails.
            return;
        }
        if let Message::Notification(n) = msg {
            let c = &mut self.election[Self::idx(from) * self.nodes.len() + Self::idx(to)];
            if c.in_flight >= self.scenario.network.election_window {
                if c.waiting.replace(n).is_some() {
                    self.stats.run.notifications_coalesced += 1;
                }
                return;
            }
            c.in_flight += 1;
        }
        self.transmit(now, from, to, msg);
    }

    fn transmit(&mut self, now: u64, from: Sid, to: Sid, msg: Message) {
        if matches!(msg, Message::FollowerInfo { .. }) {
            // A learner opens a new quorum connection; whatever was on the old one is gone.
            // TCP needs both directions to connect: over a one-way cut the attempt times out.
            let p = self.pair(from, to);
            self.quorum_gen[p] += 1;
            self.quorum_dead[p] = false;
            if !self.net.is_linked(to, from) {
                self.quorum_dead[p] = true;
                self.stats.run.messages_lost += 1;
                return;
            }
        } else if !matches!(msg, Message::Notification(_)) && self.quorum_dead[self.pair(from, to)] {
            self.stats.run.messages_lost += 1;
            return;
        }
        let generation = self.quorum_gen[self.pair(from, to)];
        let (at, incarnation) = self.net.transmit(from, to, now, &mut self.rng_net);
        self.sched.at(at, Event::Deliver { from, to, sent_us: now, incarnation, generation, msg });
    }

    /// A notification left the election channel from->to: the waiting one, if any, goes.
    fn election_window_freed(&mut self, now: u64, from: Sid, to: Sid) {
        let c = &mut self.election[Self::idx(from) * self.nodes.len() + Self::idx(to)];
        c.in_flight -= 1;
        if let Some(n) = c.waiting.take() {
            c.in_flight += 1;
            self.transmit(now, from, to, Message::Notification(n));
        }
    }

    /// Breaks channel from->to: what is in flight on it is lost, and the quorum
    /// connection between the two is dead.
    fn break_channel(&mut self, from: Sid, to: Sid) {
        self.net.break_channel(from, to);
        let p = self.pair(from, to);
        self.quorum_dead[p] = true;
        let c = &mut self.election[Self::idx(from) * self.nodes.len() + Self::idx(to)];
        self.stats.run.messages_lost += u64::from(c.in_flight) + u64::from(c.waiting.is_some());
        *c = ElectionChannel::default();
    }

    /// Tells `node` about its connection with `peer`, in order with earlier such news.
    fn notify_connection(&mut self, now: u64, node: Sid, peer: Sid, up: bool, delay_us: u64) {
        self.notify(now, node, peer, up, delay_us, None);
    }

    fn notify(&mut self, now: u64, node: Sid, peer: Sid, up: bool, delay_us: u64, generation: Option<u64>) {
        let i = Self::idx(node);
        if self.nodes[i].is_none() {
            return;
        }
        let n = self.nodes.len();
        let slot = &mut self.conn_last_us[i * n + Self::idx(peer)];
        let at = (now + delay_us).max(*slot);
        *slot = at;
        let life = self.life[i];
        self.sched.at(at, Event::Connection { node, peer, life, up, generation });
    }

    /// The quorum connection between two servers, whichever end opened it.
    fn pair(&self, a: Sid, b: Sid) -> usize {
        Self::idx(a.min(b)) * self.nodes.len() + Self::idx(a.max(b))
    }

    fn detect_us(&self) -> u64 {
        self.scenario.network.detect_ms * 1000
    }

    /// Links that came back: both ends (if up) reconnect after one network delay.
    fn links_up(&mut self, now: u64, links: Vec<(Sid, Sid)>) {
        for (a, b) in pairs(links) {
            if self.nodes[Self::idx(a)].is_some() && self.nodes[Self::idx(b)].is_some() {
                let d = self.scenario.network.delay.sample(&mut self.rng_net);
                self.notify_connection(now, a, b, true, d);
                self.notify_connection(now, b, a, true, d);
            }
        }
    }

    /// Links that went away: the channels break and both ends learn of it after the
    /// detection delay.
    fn links_down(&mut self, now: u64, links: Vec<(Sid, Sid)>) {
        for &(a, b) in &links {
            self.break_channel(a, b);
        }
        let detect = self.detect_us();
        for (a, b) in pairs(links) {
            if self.nodes[Self::idx(a)].is_some() && self.nodes[Self::idx(b)].is_some() {
                self.notify_connection(now, a, b, false, detect);
                self.notify_connection(now, b, a, false, detect);
            }
        }
    }

    /// Starts a server: rebuilt from its durable image, then [`Input::Start`].
    fn start_server(&mut self, s: Sid) {
        if self.boot(s) {
            self.step(s, Input::Start, None);
        }
    }

    /// Builds a server from its durable image; false when its startup checks fail.
    fn boot(&mut self, s: Sid) -> bool {
        let i = Self::idx(s);
        match Node::recover(self.cfgs[i].clone(), self.disks[i].durable().clone()) {
            Ok(node) => {
                self.nodes[i] = Some(node);
                true
            }
            Err(e) => {
                self.violate(Violation {
                    invariant: Invariant::StartupCheck,
                    t_us: self.sched.now_us(),
                    nodes: vec![s],
                    detail: format!("server {s} cannot start from its durable state: {e}"),
                });
                false
            }
        }
    }

    fn crash(&mut self, now: u64, s: Sid) -> bool {
        let i = Self::idx(s);
        if self.nodes[i].is_none() {
            return false;
        }
        self.fault_event(now, FaultEvent::Crash { server: s });
        self.stats.server_left(now, s);
        self.nodes[i] = None;
        self.life[i] += 1;
        for g in self.timer_gen[i].iter_mut() {
            *g += 1;
        }
        let torn = self.scenario.disk.torn_writes.then_some(&mut self.rng_disk);
        self.disks[i].crash(torn);
        if self.check {
            if let Some(v) = self.checker.crashed(now, s, &self.disks[i].durable().log) {
                self.violate(v);
            }
        }
        let detect = self.detect_us();
        for p in self.scenario.servers().filter(|p| *p != s) {
            self.break_channel(s, p);
            self.break_channel(p, s);
            if self.net.is_linked(s, p) || self.net.is_linked(p, s) {
                self.notify_connection(now, p, s, false, detect);
            }
        }
        true
    }

    fn restart(&mut self, now: u64, s: Sid) {
        if self.nodes[Self::idx(s)].is_some() {
            return;
        }
        self.fault_event(now, FaultEvent::Restart { server: s });
        if !self.faults_stopped {
            self.stats.count_fault("restart");
        }
        self.start_server(s);
        if self.nodes[Self::idx(s)].is_none() {
            return;
        }
        let links: Vec<(Sid, Sid)> = self
            .scenario
            .servers()
            .filter(|p| *p != s && (self.net.is_linked(s, *p) || self.net.is_linked(*p, s)))
            .map(|p| (s, p))
            .collect();
        self.links_up(now, links);
    }

    fn apply_fault(&mut self, now: u64, action: FaultAction) {
        if self.faults_stopped {
            return;
        }
        if !matches!(action, FaultAction::Restart { .. }) {
            self.stats.count_fault(action.kind()); // Restarts count where they happen.
        }
        // The fault as a script would say it, for `shrink` (the leader resolved).
        let as_scripted = match &action {
            FaultAction::CrashLeader { for_ms } => {
                self.leader().map(|server| FaultAction::Crash { server, for_ms: *for_ms })
            }
            a => Some(a.clone()),
        };
        if let Some(action) = as_scripted {
            self.applied_faults.push(crate::scenario::ScriptedFault { at_ms: now / 1000, action });
        }
        match action {
            FaultAction::Crash { server, for_ms } => self.crash_for(now, server, for_ms),
            FaultAction::CrashLeader { for_ms } => match self.leader() {
                Some(l) => self.crash_for(now, l, for_ms),
                None => {
                    self.fault_event(now, FaultEvent::Skipped { reason: "crash-leader: no server is LEADING".into() })
                }
            },
            FaultAction::Restart { server } => {
                if self.nodes[Self::idx(server)].is_some() {
                    self.fault_event(now, FaultEvent::Skipped { reason: format!("restart: server {server} is up") });
                }
                self.restart(now, server);
            }
            FaultAction::Partition { groups, for_ms } => {
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
                for g in &groups {
                    if g.len() == largest && !kept_largest {
                        kept_largest = true;
                    } else {
                        isolated.extend(g);
                    }
                }
                self.cut(now, links, isolated, for_ms);
            }
            FaultAction::Cut { from, to, for_ms } => {
                let links = from.iter().flat_map(|a| to.iter().map(move |b| (*a, *b))).collect();
                let isolated = if from.len() <= to.len() { from } else { to };
                self.cut(now, links, isolated, for_ms);
            }
            FaultAction::Heal => {
                self.fault_event(now, FaultEvent::HealAll);
                let back = self.net.heal_all();
                self.links_up(now, back);
            }
            FaultAction::SlowLink { from, to, extra_ms, for_ms } => {
                let extra_us = extra_ms * 1000;
                self.fault_event(now, FaultEvent::SlowLink { from, to, extra_us });
                self.net.set_extra_delay(from, to, extra_us);
                self.sched.at(now + for_ms * 1000, Event::SlowLinkEnd { from, to });
            }
        }
    }

    fn crash_for(&mut self, now: u64, server: Sid, for_ms: Option<u64>) {
        if !self.crash(now, server) {
            self.fault_event(now, FaultEvent::Skipped { reason: format!("crash: server {server} is down") });
            return;
        }
        if let Some(ms) = for_ms {
            self.sched.at(now + ms * 1000, Event::RestartAfterFault { server });
        }
    }

    fn cut(&mut self, now: u64, links: Vec<(Sid, Sid)>, isolated: Vec<Sid>, for_ms: Option<u64>) {
        self.next_cut += 1;
        let cut = self.next_cut;
        self.fault_event(now, FaultEvent::Cut { cut, links: links.clone() });
        let lost = self.net.cut(cut, links, isolated);
        self.links_down(now, lost);
        if let Some(ms) = for_ms {
            self.sched.at(now + ms * 1000, Event::HealCut { cut });
        }
    }

    fn random_fault(&mut self, now: u64) {
        if self.faults_stopped {
            return;
        }
        let spec = self.random_faults.clone().expect("random faults are configured");
        let unsynced: Vec<Sid> =
            self.scenario.servers().filter(|s| self.disks[Self::idx(*s)].volatile_writes() > 0).collect();
        let mut faulty: Vec<Sid> = self.net.cut_off();
        faulty.extend(self.scenario.servers().filter(|s| self.nodes[Self::idx(*s)].is_none()));
        faulty.sort_unstable();
        faulty.dedup();
        let budget =
            self.scenario.faults.keep_quorum.then(|| self.scenario.max_faulty().saturating_sub(faulty.len() as u64));
        let view = FaultView {
            servers: self.scenario.cluster.servers,
            faulty: &faulty,
            leader: self.leader(),
            budget,
            unsynced: &unsynced,
        };
        if let Some(action) = faults::draw(&mut self.rng_faults, &spec, &view) {
            self.apply_fault(now, action);
        }
        let next = self.rng_faults.range(spec.min_interval_ms, spec.max_interval_ms) * 1000;
        self.sched.at(now + next, Event::RandomFault);
    }

    /// End of the fault phase: heal everything, restart everything, start the liveness
    /// clock.
    fn stop_faults(&mut self, now: u64) {
        self.fault_event(now, FaultEvent::FaultsStop);
        let back = self.net.heal_all();
        self.links_up(now, back);
        for s in self.scenario.servers() {
            self.restart(now, s);
        }
        self.faults_stopped = true;
        self.checker.faults_stopped(now);
        self.sched.at(now + self.scenario.liveness_bound_us(), Event::LivenessDeadline);
    }

    /// The server LEADING now; an established one if several claim it.
    fn leader(&self) -> Option<Sid> {
        let leading = self.nodes.iter().flatten().filter(|n| n.state() == ServerState::Leading);
        leading.max_by_key(|n| n.is_established()).map(|n| n.id())
    }

    fn fault_event(&mut self, now: u64, fault: FaultEvent) {
        feed(&mut self.hasher, &(now, &fault));
        self.tracer.record(TraceRecord::Fault { i: self.events, t_us: now, fault });
    }

    fn violate(&mut self, v: Violation) {
        if self.violation.is_none() {
            self.tracer.record(TraceRecord::Violation { t_us: v.t_us, violation: v.clone() });
            self.violation = Some(v);
        }
    }

    fn finish(mut self, stopped_at_us: Option<u64>) -> RunReport {
        let now = self.sched.now_us();
        let trace_hash = self.hasher.finish();
        self.tracer.record(TraceRecord::End { t_us: now, events: self.events, trace_hash: hash_hex(trace_hash) });
        let trace_error = self.tracer.finish().err();
        let expected = self.scenario.expected_of(self.variant);
        let recent = if self.violation.is_some() { self.tracer.recent().cloned().collect() } else { Vec::new() };
        RunReport {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            variant: self.variant,
            expected,
            known: self.scenario.expect.known.clone(),
            applied_faults: self.applied_faults,
            violation: self.violation,
            sim_us: now,
            events: self.events,
            stopped_at_us,
            recovery_us: self.checker.recovery_us(),
            progress_us: self.checker.progress_us(),
            liveness_bound_us: self.scenario.liveness_bound_us(),
            trace_hash,
            recent,
            trace_error,
            stats: self.stats.finish(now),
        }
    }
}

/// Unordered pairs of the given directed links, each once.
fn pairs(links: Vec<(Sid, Sid)>) -> Vec<(Sid, Sid)> {
    let mut v: Vec<(Sid, Sid)> = links.into_iter().map(|(a, b)| (a.min(b), a.max(b))).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Runs one seed of a scenario.
pub fn run(scenario: &Scenario, opts: RunOptions) -> RunReport {
    let until = opts.until_us;
    Cluster::new(scenario, opts).run(until)
}
