//! The service's clients and the raw-write workload, as the cluster carries their events
//! and effects to and from the servers.

use super::Cluster;
use crate::run::client_id::ClientId;
use crate::run::event::WorkloadEvent;
use crate::run::fleet::{Ctx, Fleet, Outcome};
use crate::scenario::Retire;
use std::collections::VecDeque;
use zab::client::{ClientEffect, ClientInput};
use zab::contract::{ClientRequest, Input};

impl Cluster<'_> {
    /// The fleet, if the scenario has a service, with what it may touch of the rest.
    pub(super) fn fleet_cx(&mut self) -> Option<(&mut Fleet, Ctx<'_>)> {
        let f = self.fleet.as_mut()?;
        Some((f, Ctx { sched: &mut self.sched, servers: &self.servers, monitor: &mut self.monitor }))
    }

    /// Starts service client `k`'s process.
    pub(super) fn start_client(&mut self, k: usize) {
        let Some((f, mut cx)) = self.fleet_cx() else { return };
        let effects = f.start(k, &mut cx);
        self.client_effects(k, effects);
    }

    /// Carries out what a client event asked for.
    pub(super) fn client_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Nothing => {}
            Outcome::ToServer { server, input, sent_us } => self.step(server, input, sent_us),
            Outcome::ToClient { k, input, sent_us } => self.client_step(k, input, sent_us),
            Outcome::Effects { k, effects } => self.client_effects(k, effects),
            Outcome::Replay { k, inputs } => {
                for input in inputs {
                    self.client_step(k, input, None);
                }
            }
        }
    }

    /// Delivers one input to service client `k` (held while its process is frozen).
    fn client_step(&mut self, k: usize, input: ClientInput, sent_us: Option<u64>) {
        let now = self.sched.now_us();
        let Some((f, mut cx)) = self.fleet_cx() else { return };
        let effects = f.step(now, k, input, sent_us, &mut cx);
        self.client_effects(k, effects);
    }

    /// Carries out a client's effects; the recipe's reactions to its events come after.
    /// A reconfig the operator's recipe saw commit may retire servers: they stop before
    /// the effects that follow.
    fn client_effects(&mut self, k: usize, effects: Vec<ClientEffect>) {
        let now = self.sched.now_us();
        let mut queue: VecDeque<ClientEffect> = effects.into();
        loop {
            let Some((f, mut cx)) = self.fleet_cx() else { return };
            let Some((removed, config)) = f.apply_effects(now, k, &mut queue, &mut cx) else { return };
            if self.scenario.reconfig.as_ref().is_some_and(|r| r.retire != Retire::Never) {
                self.servers.to_retire.extend(removed.into_iter().map(|s| (s, config)));
            }
            self.retire_when_ready(now);
        }
    }

    pub(super) fn workload_event(&mut self, now: u64, ev: WorkloadEvent) {
        match ev {
            WorkloadEvent::Write { server, client, seq } => {
                if self.servers.is_up(server) {
                    self.step(server, Input::Client { client, request: ClientRequest::Write { seq } }, None);
                } else if ClientId::of_wire(client) == ClientId::Probe {
                    self.retry_probe();
                }
            }
            WorkloadEvent::Next => {
                if !self.faults.stopped {
                    self.writes.next_write(now, &mut self.monitor, &mut self.sched);
                }
            }
            WorkloadEvent::ProbeTimeout { seq } => {
                if self.writes.probe_timed_out(seq) {
                    self.retry_probe();
                }
            }
        }
    }

    /// The cluster converged after faults stopped: a write to the leader must now commit.
    pub(super) fn submit_probe(&mut self) {
        let done = self.monitor.checker.is_done();
        self.writes.submit_probe(done, self.servers.leader(), &mut self.sched);
    }

    /// Sends the progress write again, to whoever leads now.
    pub(super) fn retry_probe(&mut self) {
        let done = self.monitor.checker.is_done();
        self.writes.retry_probe(done, self.servers.leader(), &mut self.sched);
    }
}
