//! One simulated run: servers, network, disks and faults driven by the scheduler from one
//! seed, checked after every step.

use crate::check::checker::{Checker, Expected};
use crate::check::data_checker::DataChecker;
use crate::check::invariant::{Invariant, Violation};
use crate::format::hash_hex;
use crate::present::summary::{RunReport, Stats};
use crate::run::faults::{self, FaultView};
use crate::run::workload::{cnxn_client, cnxn_id, Recipes, Role, CLIENT_ID_BASE};
use crate::scenario::{ms_to_us, FaultAction, RandomFaults, Retire, Scenario};
use crate::trace::{feed, FaultEvent, StableHasher, TraceHeader, TraceRecord, Tracer};
use crate::world::disk::Disk;
use crate::world::network::Network;
use crate::world::rng::{Purpose, Stream};
use crate::world::scheduler::{Scheduler, TimerSlot};
use std::hash::Hasher;
use std::io::Write;
use zab::client::{Client, ClientConfig, ClientEffect, ClientEvent, ClientInput, ClientTimer};
use zab::durable::{DiskFile, DiskWrite};
use zab::message::{Message, Notification};
use zab::node::{ClientReply, ClientRequest, Effect, Input, NodeConfig, Observation, Outbox, Timer};
use zab::quorum::{QuorumVerifier, SidSet};
use zab::release::Release;
use zab::{Node, ServerState, Sid, Variant};

/// How one run is set up beyond its scenario.
pub struct RunOptions {
    pub seed: u64,
    /// Overrides the scenario's variant.
    pub variant: Option<Variant>,
    /// Overrides the scenario's ZooKeeper release (`--zookeeper`).
    pub release: Option<Release>,
    /// Check invariants (off only to measure the checker's cost).
    pub check: bool,
    /// Stop at this simulated time.
    pub until_us: Option<u64>,
    /// Where to write the JSON-lines trace.
    pub trace: Option<Box<dyn Write + Send>>,
    /// The scenario file, recorded in the trace header.
    pub scenario_path: String,
    /// Keep the last events for the violation report (`run` prints them; a sweep, which
    /// keeps only each seed's outcome, does not, and saves copying every input).
    pub recent_events: bool,
}

impl RunOptions {
    pub fn new(seed: u64) -> RunOptions {
        RunOptions {
            seed,
            variant: None,
            release: None,
            check: true,
            until_us: None,
            trace: None,
            scenario_path: String::new(),
            recent_events: true,
        }
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
    /// A server timer fires: its one scheduler entry, moved when re-armed and dropped
    /// when cancelled or when the process goes down, so it is always current.
    Timer {
        node: Sid,
        timer: Timer,
    },
    FsyncDone {
        node: Sid,
        life: u64,
        id: u64,
        file: DiskFile,
        mark: u64,
        /// Messages that leave once the fsync completes, with the generation of the quorum
        /// connection they were queued on: one closed meanwhile loses them, as a socket
        /// closed under ZooKeeper's sender thread would.
        then_send: Vec<(Sid, u64, Message)>,
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
    /// The supervisor (systemd, a container runtime) starts a server whose process exited.
    SupervisorRestart {
        server: Sid,
    },
    RestartAfterFault {
        server: Sid,
    },
    /// A migration's joiner is started (`reconfig.join_ms`).
    Join {
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
    /// A service client's request reaches a server on connection `generation`.
    ClientSend {
        k: usize,
        server: Sid,
        generation: u64,
        sent_us: u64,
        /// Boxed, like the answer below: the scheduler moves every event, most are not these.
        request: Box<ClientRequest>,
    },
    /// A server's answer reaches service client `k`.
    ClientRecv {
        k: usize,
        server: Sid,
        generation: u64,
        sent_us: u64,
        reply: Box<ClientReply>,
    },
    /// Client `k` learns its connection broke.
    ClientLost {
        k: usize,
        server: Sid,
        generation: u64,
    },
    /// A server learns that connection `cnxn` closed.
    ClientGone {
        server: Sid,
        cnxn: u64,
    },
    /// A client timer fires (always current, as a server timer).
    ClientTimer {
        k: usize,
        timer: ClientTimer,
    },
    /// The periodic work of client `k` (configuration updates, beats).
    ClientWake {
        k: usize,
        life: u64,
    },
    ClientRestart {
        k: usize,
    },
    ClientHeal {
        k: usize,
    },
    ClientResume {
        k: usize,
    },
    ClientSlowEnd {
        k: usize,
    },
    /// Time for the next random client fault.
    ClientFault,
}

impl Event {
    /// The server the event goes to or concerns, if one.
    fn server(&self) -> Option<Sid> {
        match *self {
            Event::Deliver { to: s, .. }
            | Event::Timer { node: s, .. }
            | Event::FsyncDone { node: s, .. }
            | Event::Connection { node: s, .. }
            | Event::SupervisorRestart { server: s }
            | Event::RestartAfterFault { server: s }
            | Event::Join { server: s }
            | Event::ClientWrite { server: s, .. }
            | Event::ClientSend { server: s, .. }
            | Event::ClientRecv { server: s, .. }
            | Event::ClientLost { server: s, .. }
            | Event::ClientGone { server: s, .. } => Some(s),
            _ => None,
        }
    }

    /// The event's kind, for the diagnosis of a run stuck at one instant.
    fn kind(&self) -> &'static str {
        match self {
            Event::Deliver { .. } => "Deliver",
            Event::Timer { .. } => "Timer",
            Event::FsyncDone { .. } => "FsyncDone",
            Event::Connection { .. } => "Connection",
            Event::Fault(_) => "Fault",
            Event::RandomFault => "RandomFault",
            Event::SupervisorRestart { .. } => "SupervisorRestart",
            Event::RestartAfterFault { .. } => "RestartAfterFault",
            Event::Join { .. } => "Join",
            Event::HealCut { .. } => "HealCut",
            Event::SlowLinkEnd { .. } => "SlowLinkEnd",
            Event::FaultsStop => "FaultsStop",
            Event::LivenessDeadline => "LivenessDeadline",
            Event::ClientWrite { .. } => "ClientWrite",
            Event::NextWrite => "NextWrite",
            Event::ProbeTimeout { .. } => "ProbeTimeout",
            Event::ClientSend { .. } => "ClientSend",
            Event::ClientRecv { .. } => "ClientRecv",
            Event::ClientLost { .. } => "ClientLost",
            Event::ClientGone { .. } => "ClientGone",
            Event::ClientTimer { .. } => "ClientTimer",
            Event::ClientWake { .. } => "ClientWake",
            Event::ClientRestart { .. } => "ClientRestart",
            Event::ClientHeal { .. } => "ClientHeal",
            Event::ClientResume { .. } => "ClientResume",
            Event::ClientSlowEnd { .. } => "ClientSlowEnd",
            Event::ClientFault => "ClientFault",
        }
    }
}

/// The longest chain of events at one instant, each scheduled by the one before it for
/// that same instant ([`Scheduler::depth`]), before the run is stopped as stuck there
/// ([`Invariant::TimeProgress`]). A run that loops at one instant (a zero network delay
/// and clients that reconnect at once, forever) would otherwise never reach its deadline,
/// nor `--until-ms`. The shipped scenarios reach a depth of 1 (40 seeds each), and 13 with
/// every delay zero; bursts (a DIFF of many txns delivered at one instant) are wide, not
/// deep, and never come near it.
pub const SAME_INSTANT_DEPTH_MAX: u32 = 10_000;

/// The events at the tip of a stuck chain counted by kind for the diagnosis.
const STUCK_WINDOW: u32 = 1000;

/// Watches virtual time advance.
#[derive(Default)]
struct Progress {
    instant_us: u64,
    /// Kinds of the stuck chain's last [`STUCK_WINDOW`] events, with their counts, and the
    /// servers they went to.
    kinds: Vec<(&'static str, u64)>,
    servers: SidSet,
}

impl Progress {
    /// Looks at one event popped at `now` with chain depth `depth`; a violation once the
    /// chain is too deep.
    #[inline]
    fn event(&mut self, now: u64, depth: u32, ev: &Event) -> Option<Violation> {
        if depth <= SAME_INSTANT_DEPTH_MAX - STUCK_WINDOW {
            return None;
        }
        if now != self.instant_us || self.kinds.is_empty() {
            // The tip of a new chain (an earlier one reached it and time moved on).
            self.instant_us = now;
            self.kinds.clear();
            self.servers = SidSet::EMPTY;
        }
        let kind = ev.kind();
        match self.kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.kinds.push((kind, 1)),
        }
        if let Some(s) = ev.server() {
            self.servers.insert(s);
        }
        if depth <= SAME_INSTANT_DEPTH_MAX {
            return None;
        }
        self.kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let kinds: Vec<String> = self.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        Some(Violation {
            invariant: Invariant::TimeProgress,
            t_us: now,
            nodes: self.servers.iter().collect(),
            detail: format!(
                "virtual time stopped at {}: a chain of {SAME_INSTANT_DEPTH_MAX} events, each scheduled by the one before for that same instant; the events of its last {STUCK_WINDOW} links: {} (a zero delay somewhere?)",
                crate::format::fmt_us(now),
                kinds.join(", ")
            ),
        })
    }
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

/// The service workload's clients and their network.
struct Fleet {
    recipes: Recipes,
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
    converged_us: Option<u64>,
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
    /// Each server timer's one entry in the scheduler, moved when re-armed.
    timer_slots: Vec<[TimerSlot; Timer::COUNT]>,
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
    /// Per ordered pair (from, to): the generation of the quorum connection as `from`
    /// knows it. A learner knows its new connection when it sends FOLLOWERINFO; its leader
    /// only once that arrives, so what the leader sends its old handler meanwhile goes to
    /// the old socket and is lost.
    known_gen: Vec<u64>,
    /// Per unordered pair: the quorum connection broke (a cut, a crash, a close). Nothing
    /// more travels on it, even after the link heals, until a learner connects anew: TCP
    /// delivers all of a connection's bytes in order or breaks it.
    quorum_dead: Vec<bool>,
    net: Network,
    sched: Scheduler<Event>,
    rng_faults: Stream,
    /// Each server's disk: fsync latencies and torn writes.
    rng_disk: Vec<Stream>,
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
    rng_clients: Stream,
    rng_client_faults: Stream,
    fleet: Option<Fleet>,
    data: DataChecker,
    /// Servers a reconfig removed and the operator stopped: never restarted.
    retired: SidSet,
    /// Servers a committed reconfig removed, waiting for every member of its configuration
    /// to activate it before the operator stops them.
    to_retire: Vec<(Sid, QuorumVerifier)>,
}

impl<'a> Cluster<'a> {
    pub fn new(scenario: &'a Scenario, opts: RunOptions) -> Cluster<'a> {
        let variant = opts.variant.unwrap_or(scenario.variant);
        let release = opts.release.unwrap_or(scenario.zookeeper);
        let quorum = scenario.quorum();
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
        let writeback_us = scenario.disk.writeback_ms.saturating_mul(1000);
        let disks = scenario
            .servers()
            .map(|s| Disk::new(scenario.initial_state(s), writeback_us, scenario.disk.ordered_metadata))
            .collect();
        let recent = if opts.recent_events { Tracer::RECENT_MAX } else { 0 };
        let mut tracer = Tracer::new(opts.trace, recent);
        if tracer.is_writing() {
            tracer.record(TraceRecord::Header(Box::new(TraceHeader {
                scenario: scenario.name.clone(),
                scenario_path: opts.scenario_path,
                scenario_hash: hash_hex(scenario.content_hash()),
                seed: opts.seed,
                variant: variant.name().to_string(),
                zookeeper: release.name().to_string(),
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                until_us: opts.until_us,
            })));
        }
        let mut sched = Scheduler::new();
        let timer_slots = (0..n).map(|_| std::array::from_fn(|_| sched.timer_slot())).collect();
        let mut c = Cluster {
            scenario,
            variant,
            seed: opts.seed,
            cfgs,
            nodes: vec![None; n],
            life: vec![0; n],
            disks,
            timer_slots,
            conn_last_us: vec![0; n * n],
            election: vec![ElectionChannel::default(); n * n],
            quorum_gen: vec![0; n * n],
            known_gen: vec![0; n * n],
            quorum_dead: vec![false; n * n],
            net: Network::new(scenario.cluster.servers, scenario.network.delay.clone(), opts.seed),
            sched,
            rng_faults: Stream::new(opts.seed, Purpose::Faults),
            rng_disk: scenario.servers().map(|s| Stream::indexed(opts.seed, Purpose::Disk, s)).collect(),
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
            rng_clients: Stream::new(opts.seed, Purpose::Clients),
            rng_client_faults: Stream::new(opts.seed, Purpose::ClientFaults),
            fleet: None,
            data: DataChecker::default(),
            retired: SidSet::EMPTY,
            to_retire: Vec::new(),
        };
        if let Some(spec) = &scenario.service_failover {
            let recipes = Recipes::new(spec, scenario.reconfig.as_ref());
            let n = recipes.len();
            let timer_slots = (0..n).map(|_| std::array::from_fn(|_| c.sched.timer_slot())).collect();
            c.fleet = Some(Fleet {
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
            });
            if let Some(f) = &spec.faults {
                let first = ms_to_us(c.rng_client_faults.range(f.min_interval_ms, f.max_interval_ms));
                if first < scenario.duration_us() {
                    c.sched.at(first, Event::ClientFault);
                }
            }
        }
        if let Some(w) = &scenario.workload {
            let first = c.rng_workload.range(w.min_interval_us, w.max_interval_us);
            if first < scenario.duration_us() {
                c.sched.at(first, Event::NextWrite);
            }
        }
        for f in &scenario.faults.script {
            c.sched.at(ms_to_us(f.at_ms), Event::Fault(f.action.clone()));
        }
        if scenario.faults.swarm {
            c.random_faults = Some(faults::swarm(&mut c.rng_faults));
        }
        if let Some(r) = c.random_faults.clone() {
            let first = ms_to_us(c.rng_faults.range(r.min_interval_ms, r.max_interval_ms));
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
        // Every process exists before any starts, so first notifications find their peers;
        // a migration's joiners may start later.
        let late = self.scenario.reconfig.as_ref().and_then(|r| r.join_ms.map(|ms| (ms, r.initial_config())));
        for s in self.scenario.servers() {
            match late {
                Some((ms, initial)) if !initial.members().contains(s) => {
                    self.sched.at(ms_to_us(ms), Event::Join { server: s });
                }
                _ => {
                    self.boot(s);
                }
            }
        }
        for s in self.scenario.servers() {
            if self.nodes[Self::idx(s)].is_some() {
                self.step(s, Input::Start, None);
            }
        }
        let n_clients = self.fleet.as_ref().map_or(0, |f| f.clients.len());
        for k in 0..n_clients {
            self.start_client(k);
        }
        let mut stopped_at_us = None;
        let mut progress = Progress::default();
        while self.violation.is_none() && !self.is_done() {
            if let (Some(u), Some(t)) = (until_us, self.sched.peek_time()) {
                if t > u {
                    stopped_at_us = Some(u);
                    break;
                }
            }
            let Some((now, ev)) = self.sched.pop() else { break };
            if let Some(v) = progress.event(now, self.sched.depth(), &ev) {
                self.violate(v);
                break;
            }
            self.handle(now, ev);
            self.retire_when_ready(now);
            let expected = self.expected();
            if self.faults_stopped
                && self.violation.is_none()
                && self.checker.check_converged(now, &self.nodes, &expected)
            {
                self.submit_probe();
            }
            if self.faults_stopped && self.violation.is_none() && self.checker.converged_us().is_some() {
                self.check_clients_converged(now);
            }
        }
        self.finish(stopped_at_us)
    }

    /// What convergence means now: the servers stopped for good, and with a migration the
    /// configuration it made, once made.
    fn expected(&self) -> Expected {
        let migration =
            self.scenario.reconfig.as_ref().map(|_| self.fleet.as_ref().and_then(|f| f.recipes.final_config()));
        let outsiders_stay = self.scenario.reconfig.as_ref().is_some_and(|r| r.retire == Retire::Never);
        Expected { retired: self.retired, migration, outsiders_stay }
    }

    /// Stops the removed servers the operator may stop now: at once, or once every member
    /// of the configuration that removed them has activated it.
    fn retire_when_ready(&mut self, now: u64) {
        if self.to_retire.is_empty() {
            return;
        }
        let at_once = self.scenario.reconfig.as_ref().is_some_and(|r| r.retire == Retire::AtOnce);
        let ready = |c: &QuorumVerifier| {
            at_once
                || c.members().iter().all(|m| {
                    // A member a later step removed and stopped has nothing left to activate.
                    self.retired.contains(m)
                        || self.nodes[Self::idx(m)]
                            .as_ref()
                            .is_some_and(|n| n.quorum_verifier().version() >= c.version())
                })
        };
        let (now_ready, wait): (Vec<_>, Vec<_>) = self.to_retire.iter().partition(|(_, c)| ready(c));
        self.to_retire = wait;
        let retired_any = !now_ready.is_empty();
        for (s, _) in now_ready {
            self.retire(now, s);
        }
        // Stopping one server can make another ready (a member a later step removed has
        // nothing left to activate): the operator goes on at once, not at the next event.
        if retired_any {
            self.retire_when_ready(now);
        }
    }

    /// A reconfig removed `s` and the operator stops it for good.
    fn retire(&mut self, now: u64, s: Sid) {
        if self.retired.contains(s) {
            return;
        }
        self.retired.insert(s);
        self.crash(now, s);
        self.fault_event(now, FaultEvent::Retire { server: s });
    }

    /// The run's work is done: a write committed after convergence, and the service's
    /// clients all point at live instances.
    fn is_done(&self) -> bool {
        self.checker.is_done() && self.fleet.as_ref().is_none_or(|f| f.converged_us.is_some())
    }

    /// The liveness bound ran out with the servers converged: the service's clients must
    /// be too.
    fn failover_deadline(&self, now: u64) -> Option<Violation> {
        let f = self.fleet.as_ref()?;
        if f.converged_us.is_some() {
            return None;
        }
        let leader = self.leader()?;
        let tree = self.nodes[Self::idx(leader)].as_ref()?.tree();
        let why = f.recipes.converged(tree, &f.clients).err()?;
        Some(Violation {
            invariant: Invariant::FailoverLiveness,
            t_us: now,
            nodes: vec![leader],
            detail: format!("{why}, {} after faults stopped", crate::format::fmt_us(self.scenario.liveness_bound_us())),
        })
    }

    fn check_clients_converged(&mut self, now: u64) {
        let Some(leader) = self.leader() else { return };
        let Some(fleet) = &mut self.fleet else { return };
        if fleet.converged_us.is_some() {
            return;
        }
        let tree = self.nodes[Self::idx(leader)].as_ref().expect("the leader is up").tree();
        if fleet.recipes.converged(tree, &fleet.clients).is_ok() {
            fleet.converged_us = Some(now);
        }
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
                if matches!(msg, Message::FollowerInfo { .. }) {
                    // The leader's side of the new connection.
                    self.known_gen[Self::idx(to) * self.nodes.len() + Self::idx(from)] = generation;
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
            Event::Timer { node, timer } => self.step(node, Input::Timer { timer }, None),
            Event::FsyncDone { node, life, id, file, mark, then_send } => {
                let i = Self::idx(node);
                if self.nodes[i].is_none() || self.life[i] != life {
                    return;
                }
                self.disks[i].complete(file, mark);
                for (to, generation, msg) in then_send {
                    if self.quorum_gen[self.pair(node, to)] == generation {
                        self.send(now, node, to, msg);
                    } else {
                        self.stats.run.messages_lost += 1;
                    }
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
            Event::SupervisorRestart { server } => {
                if self.nodes[Self::idx(server)].is_none() && !self.retired.contains(server) {
                    self.fault_event(now, FaultEvent::Restart { server });
                    self.start_and_connect(now, server);
                }
            }
            Event::RestartAfterFault { server } => {
                if !self.faults_stopped {
                    self.restart(now, server);
                }
            }
            Event::Join { server } => {
                if self.nodes[Self::idx(server)].is_none() && !self.retired.contains(server) {
                    self.fault_event(now, FaultEvent::Join { server });
                    self.start_and_connect(now, server);
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
                    if let Some(v) = self.checker.on_deadline(now, &self.nodes, &self.expected()) {
                        self.violate(v);
                    } else if let Some(v) = self.failover_deadline(now) {
                        self.violate(v);
                    }
                }
            }
            Event::ClientWrite { server, client, seq } => {
                if self.nodes[Self::idx(server)].is_some() {
                    self.step(server, Input::Client { client, request: ClientRequest::Write { seq } }, None);
                } else if client == PROBE_CLIENT {
                    self.retry_probe();
                }
            }
            Event::NextWrite => self.next_write(now),
            Event::ClientSend { k, server, generation, sent_us, request } => {
                let f = self.fleet.as_ref().expect("client events need a fleet");
                let c = &f.conns[k];
                if c.generation == generation && c.server == Some(server) && self.nodes[Self::idx(server)].is_some() {
                    let input = Input::Client { client: c.cnxn, request: *request };
                    self.step(server, input, Some(sent_us));
                }
            }
            Event::ClientRecv { k, server, generation, sent_us, reply } => {
                if self.fleet.as_ref().expect("fleet").conns[k].generation == generation {
                    self.client_step(k, ClientInput::Reply { from: server, reply: *reply }, Some(sent_us));
                }
            }
            Event::ClientLost { k, server, generation } => {
                if self.fleet.as_ref().expect("fleet").conns[k].generation == generation {
                    self.client_step(k, ClientInput::ConnectionLost { server }, None);
                }
            }
            Event::ClientGone { server, cnxn } => {
                if self.nodes[Self::idx(server)].is_some() {
                    self.step(server, Input::ClientGone { client: cnxn }, None);
                }
            }
            Event::ClientTimer { k, timer } => self.client_step(k, ClientInput::Timer { timer }, None),
            Event::ClientWake { k, life } => self.client_wake(now, k, life),
            Event::ClientRestart { k } => self.restart_client(now, k),
            Event::ClientHeal { k } => self.heal_client(now, k),
            Event::ClientResume { k } => self.resume_client(now, k),
            Event::ClientSlowEnd { k } => self.client_slow_end(now, k),
            Event::ClientFault => self.random_client_fault(now),
            Event::ProbeTimeout { seq } => {
                if seq == self.probe_attempt {
                    self.retry_probe();
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
            if self.tracer.is_recording() {
                self.tracer.record(TraceRecord::Input {
                    i: self.events,
                    t_us: now,
                    node,
                    sent_us,
                    input: input.clone(),
                });
            }
            n.step(input, &mut out);
        }
        let mut log_written = false;
        let mut log_shrank = false;
        let mut exit = None;
        for effect in out.effects.drain(..) {
            if let Effect::Write(w) = &effect {
                log_written |= matches!(w.file(), DiskFile::Log | DiskFile::Snapshot);
                log_shrank |= matches!(w, DiskWrite::Truncate(_) | DiskWrite::Snapshot(_));
            }
            if let Effect::Exit { code } = effect {
                exit = Some(code);
                continue;
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
        if let Some(code) = exit {
            self.process_exit(now, node, code);
        }
    }

    /// Where ZooKeeper calls `System.exit`: the process is gone (what it wrote to its files
    /// stays in the page cache; an epoch file's atomic replace had not happened), and the
    /// supervisor starts it again after its delay.
    fn process_exit(&mut self, now: u64, s: Sid, code: zab::node::ExitCode) {
        self.fault_event(now, FaultEvent::Exit { server: s, code });
        *self.stats.run.exits.entry(format!("{code:?}")).or_default() += 1;
        let i = Self::idx(s);
        self.disks[i].exit();
        self.take_down(now, s);
        let sup = &self.scenario.supervisor;
        if sup.restart {
            self.sched.after(ms_to_us(sup.restart_after_ms), Event::SupervisorRestart { server: s });
        }
    }

    fn apply_effect(&mut self, now: u64, node: Sid, effect: Effect) {
        let i = Self::idx(node);
        match effect {
            Effect::Send { to, msg } => self.send(now, node, to, msg),
            Effect::SetTimer { timer, after_us } => {
                self.sched.set_after(self.timer_slots[i][timer.index()], after_us, Event::Timer { node, timer });
            }
            Effect::CancelTimer { timer } => self.sched.cancel(self.timer_slots[i][timer.index()]),
            Effect::Write(w) => self.disks[i].write(now, w),
            Effect::Fsync { id, file, then_send } => {
                let latency = self.scenario.disk.fsync.sample(&mut self.rng_disk[i]);
                let (done, mark) = self.disks[i].fsync(file, now, latency);
                let life = self.life[i];
                let n = self.nodes.len();
                let then_send =
                    then_send.into_iter().map(|(to, msg)| (to, self.known_gen[i * n + Self::idx(to)], msg)).collect();
                self.sched.at(done, Event::FsyncDone { node, life, id, file, mark, then_send });
            }
            Effect::CloseConnection { peer } => {
                // The quorum connection closes (the election connection stays): what is in
                // flight on it is lost, and the peer sees the close after a network delay.
                let p = self.pair(node, peer);
                self.quorum_gen[p] += 1;
                self.quorum_dead[p] = true;
                let d = self.net.sample_delay(node, peer);
                let generation = Some(self.quorum_gen[p]);
                self.notify(now, peer, node, false, d, generation);
            }
            Effect::ClientReply { client, reply } => self.on_client_reply(now, node, client, reply),
            Effect::Exit { .. } => unreachable!("exits are taken apart in step"),
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
                            .map(|(n, d)| n.as_ref().map_or(d.durable().history(), |n| n.log()))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    if let Some(v) = self.checker.observe(now, node, &obs, &self.nodes, &logs) {
                        self.violate(v);
                    }
                    let n = self.nodes[i].as_ref().expect("the node just stepped");
                    let data = match &obs {
                        Observation::Applied { zxid, digest, closed } => {
                            self.data.applied(now, node, *zxid, *digest, *closed, n)
                        }
                        Observation::Synced { .. } => self.data.check_ephemerals(now, node, n),
                        _ => None,
                    };
                    if let Some(v) = data {
                        self.violate(v);
                    }
                }
                if self.tracer.is_recording() {
                    self.tracer.record(TraceRecord::Observe { t_us: now, node, obs });
                }
            }
        }
    }

    fn on_client_reply(&mut self, now: u64, server: Sid, client: u64, reply: ClientReply) {
        self.stats.run.client_replies += 1;
        if let Some(k) = cnxn_client(client) {
            self.reply_to_client(now, server, k, client, reply);
            return;
        }
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
                        self.retry_probe();
                    }
                } else {
                    self.writes_in_flight.remove(&(client, seq));
                    self.stats.run.writes_refused += 1;
                }
            }
            // The rest belongs to session clients.
            _ => {}
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
        self.sched.after(d, Event::ClientWrite { server, client, seq });
        let next = self.rng_workload.range(w.min_interval_us, w.max_interval_us);
        self.sched.after(next, Event::NextWrite);
    }

    /// The cluster converged after faults stopped: a write to the leader must now commit.
    fn submit_probe(&mut self) {
        if !self.probe_submitted {
            self.probe_submitted = true;
            self.retry_probe();
        }
    }

    /// Sends the progress write (again) to whoever leads now, a little later. Like a
    /// ZooKeeper client after a connection loss, it retries until it gets an answer.
    fn retry_probe(&mut self) {
        if self.checker.is_done() {
            return;
        }
        self.probe_attempt += 1;
        let seq = self.probe_attempt;
        if let Some(server) = self.leader() {
            let d = self.scenario.network.delay.sample(&mut self.rng_workload);
            self.sched.after(d + PROBE_RETRY_US, Event::ClientWrite { server, client: PROBE_CLIENT, seq });
        }
        self.sched.after(PROBE_TIMEOUT_US, Event::ProbeTimeout { seq });
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
            self.known_gen[Self::idx(from) * self.nodes.len() + Self::idx(to)] = self.quorum_gen[p];
            if !self.net.is_linked(to, from) {
                self.quorum_dead[p] = true;
                self.stats.run.messages_lost += 1;
                return;
            }
        } else if !matches!(msg, Message::Notification(_)) && self.quorum_dead[self.pair(from, to)] {
            self.stats.run.messages_lost += 1;
            return;
        }
        let generation = if matches!(msg, Message::Notification(_)) {
            self.quorum_gen[self.pair(from, to)]
        } else {
            self.known_gen[Self::idx(from) * self.nodes.len() + Self::idx(to)]
        };
        let (at, incarnation) = self.net.transmit(from, to, now);
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
        let at = now.saturating_add(delay_us).max(*slot);
        *slot = at;
        let life = self.life[i];
        self.sched.at(at, Event::Connection { node, peer, life, up, generation });
    }

    /// The quorum connection between two servers, whichever end opened it.
    fn pair(&self, a: Sid, b: Sid) -> usize {
        Self::idx(a.min(b)) * self.nodes.len() + Self::idx(a.max(b))
    }

    fn detect_us(&self) -> u64 {
        ms_to_us(self.scenario.network.detect_ms)
    }

    /// Links that came back: both ends (if up) reconnect after one network delay.
    fn links_up(&mut self, now: u64, links: Vec<(Sid, Sid)>) {
        for (a, b) in pairs(links) {
            if self.nodes[Self::idx(a)].is_some() && self.nodes[Self::idx(b)].is_some() {
                let d = self.net.sample_delay(a, b);
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
        // Each process draws its own snapshot offsets (`SyncRequestProcessor.randRoll`).
        self.cfgs[i].roll_seed = self.rng_disk[i].next_u64();
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

    /// Starts service client `k`'s process: a new library, a new session.
    fn start_client(&mut self, k: usize) {
        let n = self.scenario.cluster.servers;
        let f = self.fleet.as_mut().expect("fleet");
        // The connect string, shuffled as the ZooKeeper client does.
        let mut servers: Vec<Sid> = (1..=n).collect();
        for i in (1..servers.len()).rev() {
            let j = self.rng_clients.below(i as u64 + 1) as usize;
            servers.swap(i, j);
        }
        let cfg = ClientConfig { id: CLIENT_ID_BASE + k as u64, servers, session_timeout_ms: f.session_timeout_ms };
        let mut client = Client::new(cfg);
        let mut out = Vec::new();
        client.start(&mut out);
        f.clients[k] = Some(client);
        let life = f.life[k];
        if let Some(every) = f.recipes.wake_interval_us(k, &mut self.rng_clients) {
            self.sched.after(every, Event::ClientWake { k, life });
        }
        self.client_effects(k, out);
    }

    /// Delivers one input to service client `k` (held while its process is frozen).
    fn client_step(&mut self, k: usize, input: ClientInput, sent_us: Option<u64>) {
        let now = self.sched.now_us();
        let f = self.fleet.as_mut().expect("fleet");
        let Some(client) = f.clients[k].as_mut() else { return };
        if f.paused[k] {
            f.backlog[k].push(input);
            return;
        }
        self.events += 1;
        feed(&mut self.hasher, &(now, CLIENT_ID_BASE + k as u64));
        feed(&mut self.hasher, &input);
        if self.tracer.is_recording() {
            self.tracer.record(TraceRecord::Client {
                i: self.events,
                t_us: now,
                client: k as u64,
                sent_us,
                input: Box::new(input.clone()),
            });
        }
        let mut out = Vec::new();
        client.step(input, &mut out);
        self.client_effects(k, out);
    }

    /// Carries out a client's effects; the recipe's reactions to its events come after.
    fn client_effects(&mut self, k: usize, effects: Vec<ClientEffect>) {
        let now = self.sched.now_us();
        let mut queue: std::collections::VecDeque<ClientEffect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            let f = self.fleet.as_mut().expect("fleet");
            match effect {
                ClientEffect::Send { to, request } => {
                    let c = &mut f.conns[k];
                    if matches!(request, ClientRequest::Connect { .. }) {
                        c.generation += 1;
                        c.opened += 1;
                        c.cnxn = cnxn_id(k, c.opened);
                        c.server = Some(to);
                        c.to_server_last_us = 0;
                        c.to_client_last_us = 0;
                    }
                    if c.server != Some(to) || f.isolated[k] || self.nodes[Self::idx(to)].is_none() {
                        continue; // No connection: lost.
                    }
                    let d = self.scenario.network.delay.sample(&mut self.rng_clients).saturating_add(f.slow_us[k]);
                    let at = now.saturating_add(d).max(c.to_server_last_us);
                    c.to_server_last_us = at;
                    let generation = c.generation;
                    let request = Box::new(request);
                    self.sched.at(at, Event::ClientSend { k, server: to, generation, sent_us: now, request });
                }
                ClientEffect::Close { server } => {
                    let c = &mut f.conns[k];
                    if c.server == Some(server) {
                        c.generation += 1;
                        c.server = None;
                        let d = self.scenario.network.delay.sample(&mut self.rng_clients);
                        self.sched.after(d, Event::ClientGone { server, cnxn: c.cnxn });
                    }
                }
                ClientEffect::SetTimer { timer, after_us } => {
                    let slot = f.timer_slots[k][timer.index()];
                    self.sched.set_after(slot, after_us, Event::ClientTimer { k, timer });
                }
                ClientEffect::CancelTimer { timer } => self.sched.cancel(f.timer_slots[k][timer.index()]),
                ClientEffect::Event(ev) => {
                    self.client_event(now, k, &ev);
                    let f = self.fleet.as_mut().expect("fleet");
                    let Some(client) = f.clients[k].as_mut() else { continue };
                    let mut more = Vec::new();
                    f.recipes.on_event(now, k, &ev, client, &mut self.rng_clients, &mut more);
                    queue.extend(more);
                    let (removed, config) = f.recipes.take_retired();
                    if self.scenario.reconfig.as_ref().is_some_and(|r| r.retire != Retire::Never) {
                        self.to_retire.extend(removed.into_iter().map(|s| (s, config)));
                    }
                    self.retire_when_ready(now);
                }
            }
        }
    }

    /// Checks and traces what a client's library reported.
    fn client_event(&mut self, now: u64, k: usize, ev: &ClientEvent) {
        let id = CLIENT_ID_BASE + k as u64;
        let session = self.fleet.as_ref().and_then(|f| f.clients[k].as_ref()).and_then(|c| c.session()).unwrap_or(0);
        if self.check {
            let v = match ev {
                ClientEvent::Result { request, zxid, server, response, .. } => {
                    self.checker.client_saw(*zxid, id, *server);
                    let mut v = self.data.client_result(now, id, session, *server, request, *zxid, response);
                    let ok_write = request.is_write() && !matches!(response, zab::api::Response::Error { .. });
                    if v.is_none() && ok_write {
                        v = self.checker.client_acked(now, *server, id, *zxid);
                    }
                    v
                }
                ClientEvent::Watch { watched, .. } => {
                    self.data.client_watch(id, watched);
                    None
                }
                ClientEvent::Expired { .. } => {
                    self.data.client_gone(id);
                    None
                }
                ClientEvent::Connected { .. } | ClientEvent::Disconnected { .. } => None,
            };
            if let Some(v) = v {
                self.violate(v);
            }
        }
        if self.tracer.is_recording() {
            self.tracer.record(TraceRecord::ClientEvent { t_us: now, client: k as u64, event: Box::new(ev.clone()) });
        }
    }

    /// A server answered service client `k` on connection `cnxn`: the answer travels back
    /// on that connection, and is lost when the client has closed it (ZooKeeper writes it to
    /// the request's own `ServerCnxn`, never to a newer one).
    fn reply_to_client(&mut self, now: u64, server: Sid, k: usize, cnxn: u64, reply: ClientReply) {
        let f = self.fleet.as_mut().expect("a service client's reply needs a fleet");
        let c = &mut f.conns[k];
        if c.server != Some(server) || c.cnxn != cnxn || f.isolated[k] || f.clients[k].is_none() {
            return;
        }
        let d = self.scenario.network.delay.sample(&mut self.rng_clients);
        let at = now.saturating_add(d).max(c.to_client_last_us);
        c.to_client_last_us = at;
        let generation = c.generation;
        self.sched.at(at, Event::ClientRecv { k, server, generation, sent_us: now, reply: Box::new(reply) });
    }

    fn client_wake(&mut self, now: u64, k: usize, life: u64) {
        // The operator finds the leader as `srvr` on each server would tell it.
        let operator = self.fleet.as_ref().is_some_and(|f| f.recipes.role(k) == Role::Operator);
        let leader = operator
            .then(|| self.leader().filter(|l| self.nodes[Self::idx(*l)].as_ref().is_some_and(|n| n.is_established())))
            .flatten();
        let f = self.fleet.as_mut().expect("fleet");
        if f.life[k] != life || f.clients[k].is_none() {
            return;
        }
        let mut out = Vec::new();
        if !f.paused[k] {
            if operator {
                f.recipes.set_leader(leader);
            }
            let client = f.clients[k].as_mut().expect("checked");
            f.recipes.wake(now, k, client, &mut out);
        }
        if let Some(every) = f.recipes.wake_interval_us(k, &mut self.rng_clients) {
            self.sched.after(every, Event::ClientWake { k, life });
        }
        self.client_effects(k, out);
    }

    /// Client `k`'s connection breaks (a crash of its server, or a cut): both ends learn
    /// of it after the detection delay.
    fn break_client_conn(&mut self, k: usize, tell_server: bool) {
        let detect = self.detect_us();
        let f = self.fleet.as_mut().expect("fleet");
        let c = &mut f.conns[k];
        let Some(server) = c.server else { return };
        // The connection is dead for good: nothing more travels on it, even once the link
        // is back (TCP delivers all of a connection's bytes in order or breaks it).
        c.generation += 1;
        c.server = None;
        let generation = c.generation;
        let cnxn = c.cnxn;
        if f.clients[k].is_some() {
            self.sched.after(detect, Event::ClientLost { k, server, generation });
        }
        if tell_server {
            self.sched.after(detect, Event::ClientGone { server, cnxn });
        }
    }

    /// A server crashed: its clients lose their connections.
    fn server_crashed_for_clients(&mut self, s: Sid) {
        let Some(f) = &self.fleet else { return };
        let ks: Vec<usize> = (0..f.conns.len()).filter(|k| f.conns[*k].server == Some(s)).collect();
        for k in ks {
            self.break_client_conn(k, false);
        }
    }

    fn crash_client(&mut self, now: u64, k: usize, for_ms: Option<u64>) {
        let f = self.fleet.as_mut().expect("fleet");
        if f.clients[k].is_none() {
            self.fault_event(now, FaultEvent::Skipped { reason: format!("crash-instance: client {k} is down") });
            return;
        }
        self.fault_event(now, FaultEvent::ClientCrash { client: k as u64 });
        // The OS closes its sockets: the server learns at once (after the detection delay).
        self.break_client_conn(k, true);
        let f = self.fleet.as_mut().expect("fleet");
        f.clients[k] = None;
        f.life[k] += 1;
        f.paused[k] = false;
        f.backlog[k].clear();
        for t in f.timer_slots[k] {
            self.sched.cancel(t);
        }
        f.recipes.went_down(k, now);
        self.data.client_gone(CLIENT_ID_BASE + k as u64);
        if let Some(ms) = for_ms {
            self.sched.after(ms_to_us(ms), Event::ClientRestart { k });
        }
    }

    fn restart_client(&mut self, now: u64, k: usize) {
        let f = self.fleet.as_mut().expect("fleet");
        if f.clients[k].is_some() {
            return;
        }
        f.recipes.restarted(k);
        self.fault_event(now, FaultEvent::ClientRestart { client: k as u64 });
        self.start_client(k);
    }

    fn isolate_client(&mut self, now: u64, k: usize, for_ms: Option<u64>) {
        let f = self.fleet.as_mut().expect("fleet");
        if f.isolated[k] {
            return;
        }
        f.isolated[k] = true;
        f.recipes.went_down(k, now);
        self.fault_event(now, FaultEvent::ClientIsolated { client: k as u64 });
        self.break_client_conn(k, true);
        if let Some(ms) = for_ms {
            self.sched.after(ms_to_us(ms), Event::ClientHeal { k });
        }
    }

    fn heal_client(&mut self, now: u64, k: usize) {
        let f = self.fleet.as_mut().expect("fleet");
        if f.isolated[k] {
            f.isolated[k] = false;
            self.fault_event(now, FaultEvent::ClientReconnected { client: k as u64 });
        }
    }

    fn pause_client(&mut self, now: u64, k: usize, for_ms: u64) {
        let f = self.fleet.as_mut().expect("fleet");
        if f.paused[k] || f.clients[k].is_none() {
            return;
        }
        f.paused[k] = true;
        f.recipes.went_down(k, now);
        self.fault_event(now, FaultEvent::ClientPaused { client: k as u64 });
        self.sched.after(ms_to_us(for_ms), Event::ClientResume { k });
    }

    fn resume_client(&mut self, now: u64, k: usize) {
        let f = self.fleet.as_mut().expect("fleet");
        if !f.paused[k] {
            return;
        }
        f.paused[k] = false;
        let backlog = std::mem::take(&mut f.backlog[k]);
        self.fault_event(now, FaultEvent::ClientResumed { client: k as u64 });
        for input in backlog {
            self.client_step(k, input, None);
        }
    }

    fn slow_client(&mut self, now: u64, k: usize, extra_ms: u64, for_ms: u64) {
        let f = self.fleet.as_mut().expect("fleet");
        if f.slow_us[k] > 0 || f.clients[k].is_none() {
            return;
        }
        f.slow_us[k] = ms_to_us(extra_ms);
        self.fault_event(now, FaultEvent::ClientSlow { client: k as u64, extra_us: ms_to_us(extra_ms) });
        self.sched.after(ms_to_us(for_ms), Event::ClientSlowEnd { k });
    }

    fn client_slow_end(&mut self, now: u64, k: usize) {
        let f = self.fleet.as_mut().expect("fleet");
        if f.slow_us[k] > 0 {
            f.slow_us[k] = 0;
            self.fault_event(now, FaultEvent::ClientSlowEnd { client: k as u64 });
        }
    }

    fn random_client_fault(&mut self, now: u64) {
        if self.faults_stopped {
            return;
        }
        let spec = self.scenario.service_failover.as_ref().expect("client faults need a service");
        let r = spec.faults.clone().expect("client faults are configured");
        let instances = spec.instances;
        let n = self.scenario.service_clients();
        let total = r.crash_instance + r.isolate_client + r.pause_client + r.slow_client;
        let roll = self.rng_client_faults.below(total);
        let for_ms = self.rng_client_faults.range(r.down_min_ms, r.down_max_ms);
        let action = if roll < r.crash_instance {
            FaultAction::CrashInstance { instance: self.rng_client_faults.below(instances), for_ms: Some(for_ms) }
        } else if roll < r.crash_instance + r.isolate_client {
            FaultAction::IsolateClient { client: self.rng_client_faults.below(n), for_ms: Some(for_ms) }
        } else if roll < r.crash_instance + r.isolate_client + r.pause_client {
            FaultAction::PauseClient { client: self.rng_client_faults.below(n), for_ms }
        } else {
            FaultAction::SlowClient { client: self.rng_client_faults.below(n), extra_ms: r.slow_extra_ms, for_ms }
        };
        self.apply_fault(now, action);
        let next = ms_to_us(self.rng_client_faults.range(r.min_interval_ms, r.max_interval_ms));
        self.sched.after(next, Event::ClientFault);
    }

    fn crash(&mut self, now: u64, s: Sid) -> bool {
        let i = Self::idx(s);
        if self.nodes[i].is_none() {
            return false;
        }
        self.fault_event(now, FaultEvent::Crash { server: s });
        let torn = self.scenario.disk.torn_writes.then_some(&mut self.rng_disk[i]);
        self.disks[i].crash(now, torn);
        self.take_down(now, s);
        true
    }

    /// The process is gone (its disk already settled): its node, timers, client
    /// connections and peer connections.
    fn take_down(&mut self, now: u64, s: Sid) {
        let i = Self::idx(s);
        self.stats.server_left(now, s);
        self.nodes[i] = None;
        self.life[i] += 1;
        for t in self.timer_slots[i] {
            self.sched.cancel(t);
        }
        if self.check {
            if let Some(v) = self.checker.crashed(now, s, self.disks[i].durable().history()) {
                self.violate(v);
            }
        }
        self.server_crashed_for_clients(s);
        let detect = self.detect_us();
        for p in self.scenario.servers().filter(|p| *p != s) {
            self.break_channel(s, p);
            self.break_channel(p, s);
            if self.net.is_linked(s, p) || self.net.is_linked(p, s) {
                self.notify_connection(now, p, s, false, detect);
            }
        }
    }

    fn restart(&mut self, now: u64, s: Sid) {
        if self.nodes[Self::idx(s)].is_some() || self.retired.contains(s) {
            return;
        }
        self.fault_event(now, FaultEvent::Restart { server: s });
        if !self.faults_stopped {
            self.stats.count_fault("restart");
        }
        self.start_and_connect(now, s);
    }

    /// Starts a server that is down and brings up its links to the peers it can reach.
    fn start_and_connect(&mut self, now: u64, s: Sid) {
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
            FaultAction::CrashInstance { instance, for_ms } => self.crash_client(now, instance as usize, for_ms),
            FaultAction::IsolateClient { client, for_ms } => self.isolate_client(now, client as usize, for_ms),
            FaultAction::PauseClient { client, for_ms } => self.pause_client(now, client as usize, for_ms),
            FaultAction::SlowClient { client, extra_ms, for_ms } => {
                self.slow_client(now, client as usize, extra_ms, for_ms)
            }
            FaultAction::SlowLink { from, to, extra_ms, for_ms } => {
                let extra_us = ms_to_us(extra_ms);
                self.fault_event(now, FaultEvent::SlowLink { from, to, extra_us });
                self.net.set_extra_delay(from, to, extra_us);
                self.sched.after(ms_to_us(for_ms), Event::SlowLinkEnd { from, to });
            }
        }
    }

    fn crash_for(&mut self, now: u64, server: Sid, for_ms: Option<u64>) {
        if !self.crash(now, server) {
            self.fault_event(now, FaultEvent::Skipped { reason: format!("crash: server {server} is down") });
            return;
        }
        if let Some(ms) = for_ms {
            self.sched.after(ms_to_us(ms), Event::RestartAfterFault { server });
        }
    }

    fn cut(&mut self, now: u64, links: Vec<(Sid, Sid)>, isolated: Vec<Sid>, for_ms: Option<u64>) {
        self.next_cut += 1;
        let cut = self.next_cut;
        self.fault_event(now, FaultEvent::Cut { cut, links: links.clone() });
        let lost = self.net.cut(cut, links, isolated);
        self.links_down(now, lost);
        if let Some(ms) = for_ms {
            self.sched.after(ms_to_us(ms), Event::HealCut { cut });
        }
    }

    fn random_fault(&mut self, now: u64) {
        if self.faults_stopped {
            return;
        }
        let spec = self.random_faults.clone().expect("random faults are configured");
        let unsynced: Vec<Sid> =
            self.scenario.servers().filter(|s| self.disks[Self::idx(*s)].volatile_writes() > 0).collect();
        let retired: Vec<Sid> = self.retired.iter().collect();
        let mut faulty: Vec<Sid> = self.net.cut_off();
        faulty.extend(self.scenario.servers().filter(|s| self.nodes[Self::idx(*s)].is_none()));
        faulty.sort_unstable();
        faulty.dedup();
        // Stopped servers are out of the run, not faults.
        faulty.retain(|s| !self.retired.contains(*s));
        let initial = self.scenario.quorum().members();
        let joiners: Vec<Sid> = self.scenario.servers().filter(|s| !initial.contains(*s)).collect();
        let budget =
            self.scenario.faults.keep_quorum.then(|| self.scenario.max_faulty().saturating_sub(faulty.len() as u64));
        let view = FaultView {
            servers: self.scenario.cluster.servers,
            faulty: &faulty,
            leader: self.leader(),
            budget,
            unsynced: &unsynced,
            retired: &retired,
            joiners: &joiners,
        };
        if let Some(action) = faults::draw(&mut self.rng_faults, &spec, &view) {
            self.apply_fault(now, action);
        }
        let next = ms_to_us(self.rng_faults.range(spec.min_interval_ms, spec.max_interval_ms));
        self.sched.after(next, Event::RandomFault);
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
        let n_clients = self.fleet.as_ref().map_or(0, |f| f.clients.len());
        for k in 0..n_clients {
            self.heal_client(now, k);
            self.client_slow_end(now, k);
            self.resume_client(now, k);
            self.restart_client(now, k);
        }
        if let Some(f) = &mut self.fleet {
            f.recipes.quiesce();
        }
        self.faults_stopped = true;
        self.checker.faults_stopped(now);
        self.sched.after(self.scenario.liveness_bound_us(), Event::LivenessDeadline);
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
            stats: {
                let mut stats = self.stats.finish(now);
                stats.service = self.fleet.as_ref().map(|f| f.recipes.stats.clone());
                stats
            },
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
#[cfg(test)]
mod tests {
    /// The scheduler, the logs and every step move these by value: a variant that grows
    /// one of them slows every run (the client protocol's payloads are boxed for this).
    /// FLE notifications carry their sender's configuration (24 bytes, as ZooKeeper's
    /// carry theirs), which grew messages from 40 to 64 bytes with no measurable slowdown
    /// of leader-failover, partition-flapping or service-failover sweeps.
    #[test]
    fn the_values_every_step_moves_stay_small() {
        assert!(std::mem::size_of::<super::Event>() <= 104);
        assert!(std::mem::size_of::<zab::Message>() <= 64);
        assert!(std::mem::size_of::<zab::durable::Txn>() <= 32);
        assert!(std::mem::size_of::<zab::Input>() <= 72);
        assert!(std::mem::size_of::<zab::Effect>() <= 72);
        assert!(std::mem::size_of::<crate::trace::TraceRecord>() <= 128);
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    /// A chain of events at one instant deeper than the limit stops the run, naming the
    /// instant, the servers and the kinds of events that repeated; a shallower one does not.
    #[test]
    fn a_chain_at_one_instant_stops_the_run_as_time_progress() {
        let mut p = Progress::default();
        let send =
            Event::ClientSend { k: 0, server: 2, generation: 1, sent_us: 7, request: Box::new(ClientRequest::Ping) };
        for depth in 1..=SAME_INSTANT_DEPTH_MAX {
            assert!(p.event(7, depth, &send).is_none(), "stopped at depth {depth}");
        }
        let v = p.event(7, SAME_INSTANT_DEPTH_MAX + 1, &Event::ClientFault).expect("stuck");
        assert_eq!((v.invariant, v.t_us, v.nodes.clone()), (Invariant::TimeProgress, 7, vec![2]));
        assert!(v.detail.contains("ClientSend 1000") && v.detail.contains("ClientFault 1"), "{}", v.detail);
        // Time moved on: a new instant starts a new count.
        let mut p = Progress::default();
        assert!(p.event(8, SAME_INSTANT_DEPTH_MAX, &Event::ClientFault).is_none());
    }
}
