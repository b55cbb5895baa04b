//! The monitor: everything that watches a run without taking part in it. It owns the
//! checker, the data checker, the statistics, the trace and the trace hash; it is fed each
//! input and each effect as they happen, and reads the servers' logs through a
//! [`ClusterView`] when an observation needs them.

use crate::check::checker::Checker;
use crate::check::data_checker::DataChecker;
use crate::check::invariant::Violation;
use crate::check::recipe_checker::{RecipeChecker, RecipeNote};
use crate::format::hash_hex;
use crate::run::coverage::{Coverage, FaultKind};
use crate::run::stats::{RunStats, Stats};
use crate::trace::{feed, FaultEvent, StableHasher, TraceHeader, TraceRecord, Tracer};
use std::hash::Hasher;
use zab::client::{ClientEvent, ClientInput};
use zab::contract::{Effect, Input, Observation};
use zab::durable::{DiskFile, DiskWrite, Txn};
use zab::{Node, Sid, Zxid};

/// What the monitor may read of the cluster.
pub trait ClusterView {
    /// Every server's node, `None` while down.
    fn nodes(&self) -> &[Option<Node>];
    /// Server `s`'s log: its node's, or its durable log while it is down.
    fn log(&self, s: Sid) -> &[Txn];
    /// Every server's log, by id.
    fn logs(&self) -> Vec<&[Txn]> {
        (1..=self.nodes().len() as Sid).map(|s| self.log(s)).collect()
    }
}

/// The run's observers.
#[derive(Clone)]
pub struct Monitor {
    /// Check invariants (off only to measure the checker's cost).
    check: bool,
    pub checker: Checker,
    pub data: DataChecker,
    /// The recipe invariants, when the service runs a recipe.
    pub recipe: Option<RecipeChecker>,
    pub stats: Stats,
    tracer: Tracer,
    hasher: StableHasher,
    /// Inputs delivered so far, servers' and clients'.
    events: u64,
    violation: Option<Violation>,
    /// The step under way wrote the log or a snapshot, and shrank the log.
    log_written: bool,
    log_shrank: bool,
    /// Abstract protocol-state coverage (reads only; never in the hash).
    pub coverage: Coverage,
    /// Coverage is measured (an explorer's worlds leave it: it would grow with every
    /// path, and every world is cloned).
    covering: bool,
}

/// What the monitor saw of a whole run.
pub struct Finished {
    pub trace_hash: u64,
    pub events: u64,
    pub violation: Option<Violation>,
    /// The last trace records, when a violation stopped the run and they were kept.
    pub recent: Vec<TraceRecord>,
    pub trace_error: Option<String>,
    pub checker: Checker,
    pub stats: RunStats,
    pub coverage: Coverage,
}

impl Monitor {
    pub fn new(check: bool, checker: Checker, stats: Stats, tracer: Tracer) -> Monitor {
        let servers = checker.servers();
        Monitor {
            check,
            checker,
            data: DataChecker::default(),
            recipe: None,
            stats,
            tracer,
            hasher: StableHasher::new(),
            events: 0,
            violation: None,
            log_written: false,
            log_shrank: false,
            coverage: Coverage::new(servers),
            covering: true,
        }
    }

    /// Stops measuring coverage and forgets what was measured.
    pub fn stop_covering(&mut self) {
        self.covering = false;
        self.coverage = Coverage::default();
    }

    /// Writes the trace's header, if a trace is written.
    pub fn header(&mut self, header: impl FnOnce() -> TraceHeader) {
        if self.tracer.is_writing() {
            self.tracer.record(TraceRecord::Header(Box::new(header())));
        }
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// A server takes an input.
    #[inline]
    pub fn on_input(&mut self, now: u64, node: Sid, input: &Input, sent_us: Option<u64>) {
        self.events += 1;
        if self.covering {
            self.coverage.on_input(node, input);
        }
        feed(&mut self.hasher, &(now, node));
        feed(&mut self.hasher, input);
        if self.tracer.is_recording() {
            let input = input.clone();
            self.tracer.record(TraceRecord::Input { i: self.events, t_us: now, node, sent_us, input });
        }
    }

    /// Service client `k`, known to the hash as `id`, takes an input.
    pub fn on_client_input(&mut self, now: u64, k: usize, id: u64, input: &ClientInput, sent_us: Option<u64>) {
        self.events += 1;
        feed(&mut self.hasher, &(now, id));
        feed(&mut self.hasher, input);
        if self.tracer.is_recording() {
            let input = Box::new(input.clone());
            self.tracer.record(TraceRecord::Client { i: self.events, t_us: now, client: k as u64, sent_us, input });
        }
    }

    /// One effect of the step `node` is taking, in the order it produced them.
    #[inline]
    pub fn on_effect(&mut self, now: u64, node: Sid, effect: &Effect, view: &impl ClusterView) {
        if self.covering {
            self.coverage.on_effect(node, effect);
        }
        match effect {
            Effect::Write(w) => {
                self.log_written |= matches!(w.file(), DiskFile::Log | DiskFile::Snapshot);
                self.log_shrank |= matches!(w, DiskWrite::Truncate(_) | DiskWrite::Snapshot(_));
            }
            Effect::Observe(obs) => self.observe(now, node, obs, view),
            _ => {}
        }
    }

    fn observe(&mut self, now: u64, node: Sid, obs: &Observation, view: &impl ClusterView) {
        self.stats.observe(now, node, obs);
        if self.check {
            // Only a growing committed log needs every server's log (durable when down).
            let needs_logs = matches!(obs, Observation::LeaderEstablished { .. } | Observation::Committed { .. });
            let logs: Vec<&[Txn]> =
                if needs_logs { (1..=view.nodes().len() as Sid).map(|s| view.log(s)).collect() } else { Vec::new() };
            if let Some(v) = self.checker.observe(now, node, obs, view.nodes(), &logs) {
                self.violate(v);
            }
            let n = view.nodes()[node as usize - 1].as_ref().expect("the node just stepped");
            let data = match obs {
                Observation::Applied { zxid, digest, closed } => {
                    self.data.applied(now, node, *zxid, *digest, *closed, n)
                }
                Observation::Synced { .. } => self.data.check_ephemerals(now, node, n),
                _ => None,
            };
            if let Some(v) = data {
                self.violate(v);
            }
            if let (Some(r), Observation::Applied { zxid, .. }) = (&mut self.recipe, obs) {
                // The first server to apply a txn feeds it to the recipe checker.
                if *zxid > r.last_zxid() {
                    let log = view.log(node);
                    if let Ok(i) = log.binary_search_by_key(zxid, |t| t.zxid) {
                        if let Some(v) = r.committed(now, node, *zxid, &log[i].op) {
                            self.violate(v);
                        }
                    }
                }
            }
        }
        if self.tracer.is_recording() {
            self.tracer.record(TraceRecord::Observe { t_us: now, node, obs: obs.clone() });
        }
    }

    /// The step `node` took is over: its log, if the step wrote it, is checked.
    #[inline]
    pub fn on_step_end(&mut self, now: u64, node: Sid, view: &impl ClusterView) {
        let (written, shrank) = (self.log_written, self.log_shrank);
        (self.log_written, self.log_shrank) = (false, false);
        if let Some(n) = view.nodes()[node as usize - 1].as_ref().filter(|_| self.covering) {
            let d = n.disk_view();
            let last = n.log().last().map_or(Zxid::ZERO, |t| t.zxid);
            self.coverage.on_step_end(now, node, (d.current_epoch, d.accepted_epoch), last);
        }
        if written && self.check {
            if let Some(v) = self.checker.log_changed(now, node, view.log(node), shrank) {
                self.violate(v);
            }
        }
    }

    /// Server `s` went down with `durable_log` on its disk.
    pub fn on_crash(&mut self, now: u64, s: Sid, durable_log: &[Txn]) {
        if self.covering {
            self.coverage.on_crash(now, s, durable_log.last().map_or(Zxid::ZERO, |t| t.zxid));
        }
        if self.check {
            if let Some(v) = self.checker.crashed(now, s, durable_log) {
                self.violate(v);
            }
        }
    }

    /// `server` acknowledged `client`'s write as `zxid`.
    pub fn on_write_acked(&mut self, now: u64, server: Sid, client: u64, zxid: Zxid) {
        if self.check {
            if let Some(v) = self.checker.client_acked(now, server, client, zxid) {
                self.violate(v);
            }
        }
    }

    /// What service client `k` (id `id`, in session `session`) heard from its library.
    pub fn on_client_event(&mut self, now: u64, k: usize, id: u64, session: u64, ev: &ClientEvent) {
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

    /// What a recipe's holder reported about its belief.
    pub fn on_recipe_note(&mut self, now: u64, note: &RecipeNote) {
        if let (true, Some(r)) = (self.check, &mut self.recipe) {
            if let Some(v) = r.note(now, note) {
                self.violate(v);
            }
        }
    }

    /// A fault, or a lifecycle event of the run, in the hash and the trace.
    pub fn on_fault(&mut self, now: u64, fault: FaultEvent) {
        let (kind, target) = match &fault {
            FaultEvent::Crash { server } => (Some(FaultKind::Crash), Some(*server)),
            FaultEvent::Restart { server } => (Some(FaultKind::Restart), Some(*server)),
            FaultEvent::Cut { links, .. } => (Some(FaultKind::Cut), links.first().map(|l| l.0)),
            FaultEvent::Heal { .. } | FaultEvent::HealAll => (Some(FaultKind::Heal), None),
            FaultEvent::SlowLink { from, .. } => (Some(FaultKind::SlowLink), Some(*from)),
            _ => (None, None),
        };
        if let Some(kind) = kind.filter(|_| self.covering) {
            self.coverage.on_fault(kind, target);
        }
        feed(&mut self.hasher, &(now, &fault));
        self.tracer.record(TraceRecord::Fault { i: self.events, t_us: now, fault });
    }

    /// The first violation stops the run; later ones are not recorded.
    pub fn violate(&mut self, v: Violation) {
        if self.violation.is_none() {
            self.tracer.record(TraceRecord::Violation { t_us: v.t_us, violation: v.clone() });
            self.violation = Some(v);
        }
    }

    /// The run is over at `now`.
    pub fn finish(mut self, now: u64) -> Finished {
        let trace_hash = self.hasher.finish();
        self.tracer.record(TraceRecord::End { t_us: now, events: self.events, trace_hash: hash_hex(trace_hash) });
        let trace_error = self.tracer.finish().err();
        let recent = if self.violation.is_some() { self.tracer.recent().cloned().collect() } else { Vec::new() };
        Finished {
            trace_hash,
            events: self.events,
            violation: self.violation,
            recent,
            trace_error,
            checker: self.checker,
            stats: self.stats.finish(now),
            coverage: self.coverage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::invariant::Invariant;
    use zab::quorum::QuorumVerifier;

    fn monitor() -> Monitor {
        Monitor::new(true, Checker::new(QuorumVerifier::majority_of(3), 3), Stats::new(3), Tracer::new(None, 0))
    }

    fn violation(invariant: Invariant, t_us: u64) -> Violation {
        Violation { invariant, t_us, nodes: vec![1], detail: String::new() }
    }

    /// Every input counts and moves the trace hash; the first violation is the run's, the
    /// ones after it are not recorded.
    #[test]
    fn inputs_move_the_hash_and_the_first_violation_stays() {
        let (mut a, b) = (monitor(), monitor());
        a.on_input(5, 1, &Input::Start, None);
        assert_eq!(a.events(), 1);
        a.violate(violation(Invariant::Agreement, 5));
        a.violate(violation(Invariant::Integrity, 6));
        assert_eq!(a.violation().map(|v| v.invariant), Some(Invariant::Agreement));
        let (fa, fb) = (a.finish(7), b.finish(7));
        assert_ne!(fa.trace_hash, fb.trace_hash);
        assert_eq!((fa.events, fb.events), (1, 0));
    }
}
