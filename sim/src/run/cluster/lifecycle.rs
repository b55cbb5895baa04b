//! The servers' processes coming and going: boot, exit, crash, restart, retirement, and
//! the links that come up and go down with them.

use super::Cluster;
use crate::check::invariant::{Invariant, Violation};
use crate::run::event::{Event, ServerEvent};
use crate::scenario::{ms_to_us, Retire};
use crate::trace::FaultEvent;
use zab::contract::{ExitCode, Input};
use zab::Sid;

impl Cluster<'_> {
    /// Where ZooKeeper calls `System.exit`: the process is gone (what it wrote to its files
    /// stays in the page cache; an epoch file's atomic replace had not happened), and the
    /// supervisor starts it again after its delay.
    pub(super) fn process_exit(&mut self, now: u64, s: Sid, code: ExitCode) {
        self.monitor.on_fault(now, FaultEvent::Exit { server: s, code });
        *self.monitor.stats.run.exits.entry(format!("{code:?}")).or_default() += 1;
        self.servers.exit_disk(s);
        self.take_down(now, s);
        let sup = &self.scenario.supervisor;
        if sup.restart {
            let ev = Event::Server(ServerEvent::SupervisorRestart { server: s });
            self.sched.after(ms_to_us(sup.restart_after_ms), ev);
        }
    }

    /// Builds a server from its durable image; false when its startup checks fail.
    pub(super) fn boot(&mut self, s: Sid) -> bool {
        match self.servers.boot(s) {
            Ok(()) => true,
            Err(e) => {
                self.monitor.violate(Violation {
                    invariant: Invariant::StartupCheck,
                    t_us: self.sched.now_us(),
                    nodes: vec![s],
                    detail: format!("server {s} cannot start from its durable state: {e}"),
                });
                false
            }
        }
    }

    /// Starts a server that is down and brings up its links to the peers it can reach.
    pub(super) fn start_and_connect(&mut self, now: u64, s: Sid) {
        if !self.boot(s) {
            return;
        }
        self.step(s, Input::Start, None);
        if self.servers.is_up(s) {
            let links = self.transport.links_of(s);
            self.links_up(now, links);
        }
    }

    pub(super) fn crash(&mut self, now: u64, s: Sid) -> bool {
        if !self.servers.is_up(s) {
            return false;
        }
        self.monitor.on_fault(now, FaultEvent::Crash { server: s });
        self.servers.crash_disk(now, s);
        self.take_down(now, s);
        true
    }

    /// The process is gone (its disk already settled): its node, timers, client
    /// connections and peer connections.
    pub(super) fn take_down(&mut self, now: u64, s: Sid) {
        self.monitor.stats.server_left(now, s);
        for t in self.servers.take_down(s) {
            self.sched.cancel(t);
        }
        self.monitor.on_crash(now, s, self.servers.disk(s).durable().history());
        if let Some(f) = &mut self.fleet {
            f.server_down(s, &mut self.sched);
        }
        let mut out = std::mem::take(&mut self.net_out);
        let servers = &self.servers;
        self.transport.server_down(now, s, |p| servers.life_if_up(p), &mut out);
        self.schedule_net(out);
    }

    pub(super) fn restart(&mut self, now: u64, s: Sid) {
        if self.servers.is_up(s) || self.servers.retired.contains(s) {
            return;
        }
        self.monitor.on_fault(now, FaultEvent::Restart { server: s });
        if !self.faults.stopped {
            self.monitor.stats.count_fault("restart");
        }
        self.start_and_connect(now, s);
    }

    /// Links that came back: both ends (if up) reconnect after one network delay.
    pub(super) fn links_up(&mut self, now: u64, links: Vec<(Sid, Sid)>) {
        let mut out = std::mem::take(&mut self.net_out);
        let servers = &self.servers;
        self.transport.links_up(now, links, |p| servers.life_if_up(p), &mut out);
        self.schedule_net(out);
    }

    /// Links that went away: the channels break and both ends learn of it after the
    /// detection delay.
    pub(super) fn links_down(&mut self, now: u64, links: Vec<(Sid, Sid)>) {
        let mut out = std::mem::take(&mut self.net_out);
        let servers = &self.servers;
        self.transport.links_down(now, links, |p| servers.life_if_up(p), &mut out);
        self.schedule_net(out);
    }

    /// Stops the removed servers the operator may stop now: at once, or once every member
    /// of the configuration that removed them has activated it.
    pub(super) fn retire_when_ready(&mut self, now: u64) {
        if self.servers.to_retire.is_empty() {
            return;
        }
        let at_once = self.scenario.reconfig.as_ref().is_some_and(|r| r.retire == Retire::AtOnce);
        let ready = self.servers.take_ready_to_retire(at_once);
        let retired_any = !ready.is_empty();
        for s in ready {
            if !self.servers.retired.contains(s) {
                self.servers.retired.insert(s);
                self.crash(now, s);
                self.monitor.on_fault(now, FaultEvent::Retire { server: s });
            }
        }
        // Stopping one server can make another ready (a member a later step removed has
        // nothing left to activate): the operator goes on at once, not at the next event.
        if retired_any {
            self.retire_when_ready(now);
        }
    }
}
