//! The raw-write workload (clients that write to random servers, without sessions) and the
//! progress write: once the cluster converged after faults stopped, one write to the
//! leader must commit.

use crate::run::client_id::ClientId;
use crate::run::event::{Event, WorkloadEvent};
use crate::run::monitor::Monitor;
use crate::scenario::{Scenario, WorkloadSpec};
use crate::world::dist::Delay;
use crate::world::rng::{Purpose, Stream};
use crate::world::scheduler::Scheduler;
use std::collections::BTreeMap;
use zab::contract::ClientReply;
use zab::Sid;

/// The number the progress write is submitted under.
fn probe_client() -> u64 {
    ClientId::Probe.wire()
}

/// How long the progress write waits before it is sent again after a refusal.
const PROBE_RETRY_US: u64 = 100_000;

/// How long the progress write waits for an answer before it is sent again.
const PROBE_TIMEOUT_US: u64 = 2_000_000;

#[derive(Clone)]
pub(crate) struct Writes {
    spec: Option<WorkloadSpec>,
    servers: u64,
    delay: Delay,
    rng: Stream,
    /// Client writes submitted and not answered yet, with when they were submitted.
    in_flight: BTreeMap<(u64, u64), u64>,
    next_seq: u64,
    probe_submitted: bool,
    probe_attempt: u64,
}

impl Writes {
    /// The workload, with its first write scheduled if it comes before faults stop.
    pub fn new(scenario: &Scenario, seed: u64, sched: &mut Scheduler<Event>) -> Writes {
        let mut w = Writes {
            spec: scenario.workload.clone(),
            servers: scenario.cluster.servers,
            delay: scenario.network.delay.clone(),
            rng: Stream::new(seed, Purpose::Workload),
            in_flight: BTreeMap::new(),
            next_seq: 0,
            probe_submitted: false,
            probe_attempt: 0,
        };
        if let Some(spec) = &w.spec {
            let first = w.rng.range(spec.min_interval_us, spec.max_interval_us);
            if first < scenario.duration_us() {
                sched.at(first, Event::Workload(WorkloadEvent::Next));
            }
        }
        w
    }

    /// The workload's next write: a random client writes to a random server.
    pub fn next_write(&mut self, now: u64, monitor: &mut Monitor, sched: &mut Scheduler<Event>) {
        let Some(spec) = &self.spec else { return };
        let client = ClientId::Raw(self.rng.below(spec.clients)).wire();
        let server = self.rng.range(1, self.servers);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight.insert((client, seq), now);
        monitor.stats.run.writes_submitted += 1;
        let d = self.delay.sample(&mut self.rng);
        sched.after(d, Event::Workload(WorkloadEvent::Write { server, client, seq }));
        let next = self.rng.range(spec.min_interval_us, spec.max_interval_us);
        sched.after(next, Event::Workload(WorkloadEvent::Next));
    }

    /// The cluster converged after faults stopped: a write to the leader must now commit.
    pub fn submit_probe(&mut self, done: bool, leader: Option<Sid>, sched: &mut Scheduler<Event>) {
        if !self.probe_submitted {
            self.probe_submitted = true;
            self.retry_probe(done, leader, sched);
        }
    }

    /// Sends the progress write (again) to whoever leads now, a little later. Like a
    /// ZooKeeper client after a connection loss, it retries until it gets an answer.
    pub fn retry_probe(&mut self, done: bool, leader: Option<Sid>, sched: &mut Scheduler<Event>) {
        if done {
            return;
        }
        self.probe_attempt += 1;
        let seq = self.probe_attempt;
        if let Some(server) = leader {
            let d = self.delay.sample(&mut self.rng);
            sched.after(
                d + PROBE_RETRY_US,
                Event::Workload(WorkloadEvent::Write { server, client: probe_client(), seq }),
            );
        }
        sched.after(PROBE_TIMEOUT_US, Event::Workload(WorkloadEvent::ProbeTimeout { seq }));
    }

    /// The progress write's attempt `seq` timed out: true if it is the current one, to
    /// be sent again.
    pub fn probe_timed_out(&self, seq: u64) -> bool {
        seq == self.probe_attempt
    }

    /// A server answered a raw write. True when the progress write must be sent again.
    pub fn on_reply(&mut self, now: u64, server: Sid, client: u64, reply: ClientReply, monitor: &mut Monitor) -> bool {
        match reply {
            ClientReply::WriteOk { zxid, .. } if ClientId::of_wire(client) == ClientId::Probe => {
                monitor.on_write_acked(now, server, client, zxid);
                monitor.checker.probe_committed(now);
            }
            ClientReply::WriteOk { seq, zxid } => {
                if let Some(sent) = self.in_flight.remove(&(client, seq)) {
                    monitor.stats.run.write_latency_us.push(now - sent);
                }
                monitor.stats.run.writes_acked += 1;
                monitor.on_write_acked(now, server, client, zxid);
            }
            ClientReply::NotServing { seq } => {
                if ClientId::of_wire(client) == ClientId::Probe {
                    return seq == self.probe_attempt;
                }
                self.in_flight.remove(&(client, seq));
                monitor.stats.run.writes_refused += 1;
            }
            // The rest belongs to session clients.
            _ => {}
        }
        false
    }
}
