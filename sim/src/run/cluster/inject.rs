//! Faults as the cluster applies them: to the servers, their links and the service's
//! clients, scripted or drawn by the [`Injector`](crate::run::faults::Injector), until
//! the fault phase ends and everything heals.

use super::Cluster;
use crate::run::event::{Event, FaultEv};
use crate::run::faults::{self, FaultView};
use crate::scenario::{ms_to_us, FaultAction};
use crate::trace::FaultEvent;
use zab::Sid;

impl Cluster<'_> {
    pub(super) fn fault_event(&mut self, now: u64, ev: FaultEv) {
        match ev {
            FaultEv::Scripted(action) => self.apply_fault(now, action),
            FaultEv::Random => self.random_fault(now),
            FaultEv::RandomClient => {
                if !self.faults.stopped {
                    let Some(f) = &mut self.fleet else { return };
                    let action = f.draw_fault();
                    self.apply_fault(now, action);
                    if let Some(f) = &mut self.fleet {
                        f.schedule_next_fault(&mut self.sched);
                    }
                }
            }
            FaultEv::RestartAfterFault { server } => {
                if !self.faults.stopped {
                    self.restart(now, server);
                }
            }
            FaultEv::HealCut { cut } => {
                if !self.faults.stopped {
                    self.monitor.stats.count_fault("heal");
                    self.monitor.on_fault(now, FaultEvent::Heal { cut });
                    let back = self.transport.net_mut().heal(cut);
                    self.links_up(now, back);
                }
            }
            FaultEv::SlowLinkEnd { from, to } => {
                self.monitor.on_fault(now, FaultEvent::SlowLinkEnd { from, to });
                self.transport.net_mut().set_extra_delay(from, to, 0);
            }
            FaultEv::Stop => self.stop_faults(now),
        }
    }

    pub(super) fn apply_fault(&mut self, now: u64, action: FaultAction) {
        if self.faults.stopped {
            return;
        }
        if !matches!(action, FaultAction::Restart { .. }) {
            self.monitor.stats.count_fault(action.kind()); // Restarts count where they happen.
        }
        let leader = self.servers.leader();
        self.faults.record(now, &action, leader);
        match action {
            FaultAction::Crash { server, for_ms } => self.crash_for(now, server, for_ms),
            FaultAction::CrashLeader { for_ms } => match leader {
                Some(l) => self.crash_for(now, l, for_ms),
                None => {
                    let reason = "crash-leader: no server is LEADING".into();
                    self.monitor.on_fault(now, FaultEvent::Skipped { reason });
                }
            },
            FaultAction::Restart { server } => {
                if self.servers.is_up(server) {
                    let reason = format!("restart: server {server} is up");
                    self.monitor.on_fault(now, FaultEvent::Skipped { reason });
                }
                self.restart(now, server);
            }
            FaultAction::Partition { groups, for_ms } => {
                let (links, isolated) = faults::partition(&groups);
                self.cut(now, links, isolated, for_ms);
            }
            FaultAction::Cut { from, to, for_ms } => {
                let links = from.iter().flat_map(|a| to.iter().map(move |b| (*a, *b))).collect();
                let isolated = if from.len() <= to.len() { from } else { to };
                self.cut(now, links, isolated, for_ms);
            }
            FaultAction::Heal => {
                self.monitor.on_fault(now, FaultEvent::HealAll);
                let back = self.transport.net_mut().heal_all();
                self.links_up(now, back);
            }
            FaultAction::SlowLink { from, to, extra_ms, for_ms } => {
                let extra_us = ms_to_us(extra_ms);
                self.monitor.on_fault(now, FaultEvent::SlowLink { from, to, extra_us });
                self.transport.net_mut().set_extra_delay(from, to, extra_us);
                self.sched.after(ms_to_us(for_ms), Event::Fault(FaultEv::SlowLinkEnd { from, to }));
            }
            client_fault => self.apply_client_fault(now, client_fault),
        }
    }

    /// A fault of the service's clients.
    fn apply_client_fault(&mut self, now: u64, action: FaultAction) {
        let Some((f, mut cx)) = self.fleet_cx() else { return };
        match action {
            FaultAction::CrashInstance { instance, for_ms } => f.crash(now, instance as usize, for_ms, &mut cx),
            FaultAction::IsolateClient { client, for_ms } => f.isolate(now, client as usize, for_ms, &mut cx),
            FaultAction::PauseClient { client, for_ms } => f.pause(now, client as usize, for_ms, &mut cx),
            FaultAction::SlowClient { client, extra_ms, for_ms } => {
                f.slow(now, client as usize, extra_ms, for_ms, &mut cx)
            }
            _ => unreachable!("server faults are applied in apply_fault"),
        }
    }

    fn crash_for(&mut self, now: u64, server: Sid, for_ms: Option<u64>) {
        if !self.crash(now, server) {
            let reason = format!("crash: server {server} is down");
            self.monitor.on_fault(now, FaultEvent::Skipped { reason });
            return;
        }
        if let Some(ms) = for_ms {
            self.sched.after(ms_to_us(ms), Event::Fault(FaultEv::RestartAfterFault { server }));
        }
    }

    fn cut(&mut self, now: u64, links: Vec<(Sid, Sid)>, isolated: Vec<Sid>, for_ms: Option<u64>) {
        let cut = self.faults.next_cut();
        self.monitor.on_fault(now, FaultEvent::Cut { cut, links: links.clone() });
        let lost = self.transport.net_mut().cut(cut, links, isolated);
        self.links_down(now, lost);
        if let Some(ms) = for_ms {
            self.sched.after(ms_to_us(ms), Event::Fault(FaultEv::HealCut { cut }));
        }
    }

    fn random_fault(&mut self, now: u64) {
        if self.faults.stopped {
            return;
        }
        let unsynced = self.servers.unsynced();
        let retired: Vec<Sid> = self.servers.retired.iter().collect();
        let mut faulty: Vec<Sid> = self.transport.net().cut_off();
        faulty.extend(self.scenario.servers().filter(|s| !self.servers.is_up(*s)));
        faulty.sort_unstable();
        faulty.dedup();
        // Stopped servers are out of the run, not faults.
        faulty.retain(|s| !self.servers.retired.contains(*s));
        let initial = self.scenario.quorum().members();
        let joiners: Vec<Sid> = self.scenario.servers().filter(|s| !initial.contains(*s)).collect();
        let budget =
            self.scenario.faults.keep_quorum.then(|| self.scenario.max_faulty().saturating_sub(faulty.len() as u64));
        let view = FaultView {
            servers: self.scenario.cluster.servers,
            faulty: &faulty,
            leader: self.servers.leader(),
            budget,
            unsynced: &unsynced,
            retired: &retired,
            joiners: &joiners,
        };
        if let Some(action) = self.faults.draw(&view) {
            self.apply_fault(now, action);
        }
        self.faults.schedule_next(&mut self.sched);
    }

    /// End of the fault phase: heal everything, restart everything, start the liveness
    /// clock.
    fn stop_faults(&mut self, now: u64) {
        self.monitor.on_fault(now, FaultEvent::FaultsStop);
        let back = self.transport.net_mut().heal_all();
        self.links_up(now, back);
        for s in self.scenario.servers() {
            self.restart(now, s);
        }
        for k in 0..self.fleet.as_ref().map_or(0, |f| f.len()) {
            let Some((f, mut cx)) = self.fleet_cx() else { return };
            f.heal(now, k, &mut cx);
            f.slow_end(now, k, &mut cx);
            let inputs = f.resume(now, k, &mut cx);
            self.client_outcome(crate::run::fleet::Outcome::Replay { k, inputs });
            let Some((f, mut cx)) = self.fleet_cx() else { return };
            let restarted = f.restart(now, k, &mut cx);
            self.client_outcome(restarted);
        }
        if let Some(f) = &mut self.fleet {
            f.recipes.quiesce();
        }
        self.faults.stopped = true;
        self.monitor.checker.faults_stopped(now);
        self.sched.after(self.scenario.liveness_bound_us(), Event::LivenessDeadline);
    }
}
