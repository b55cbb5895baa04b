//! Virtual time must advance: a run stuck at one instant is stopped as
//! [`Invariant::TimeProgress`] with a diagnosis of what repeated.

use crate::check::invariant::{Invariant, Violation};
use crate::format::fmt_us;
use crate::run::event::Event;
use zab::quorum::SidSet;

/// The longest chain of events at one instant, each scheduled by the one before it for
/// that same instant ([`Scheduler::depth`](crate::world::scheduler::Scheduler::depth)), before the run is stopped as stuck there
/// ([`Invariant::TimeProgress`]). A run that loops at one instant (a zero network delay
/// and clients that reconnect at once, forever) would otherwise never reach its deadline,
/// nor `--until-ms`. The shipped scenarios reach a depth of 1 (40 seeds each), and 13 with
/// every delay zero; bursts (a DIFF of many txns delivered at one instant) are wide, not
/// deep, and never come near it.
pub const SAME_INSTANT_DEPTH_MAX: u32 = 10_000;

/// The events at the tip of a stuck chain counted by kind for the diagnosis.
const STUCK_WINDOW: u32 = 1000;

/// Watches virtual time advance.
#[derive(Clone, Default)]
pub(crate) struct Progress {
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
    pub(crate) fn event(&mut self, now: u64, depth: u32, ev: &Event) -> Option<Violation> {
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
                fmt_us(now),
                kinds.join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::event::{ClientEv, FaultEv};
    use zab::contract::ClientRequest;

    /// A chain of events at one instant deeper than the limit stops the run, naming the
    /// instant, the servers and the kinds of events that repeated; a shallower one does not.
    #[test]
    fn a_chain_at_one_instant_stops_the_run_as_time_progress() {
        let mut p = Progress::default();
        let request = Box::new(ClientRequest::Ping);
        let send = Event::Client(ClientEv::Send { k: 0, server: 2, generation: 1, sent_us: 7, request });
        for depth in 1..=SAME_INSTANT_DEPTH_MAX {
            assert!(p.event(7, depth, &send).is_none(), "stopped at depth {depth}");
        }
        let v = p.event(7, SAME_INSTANT_DEPTH_MAX + 1, &Event::Fault(FaultEv::RandomClient)).expect("stuck");
        assert_eq!((v.invariant, v.t_us, v.nodes.clone()), (Invariant::TimeProgress, 7, vec![2]));
        assert!(v.detail.contains("ClientSend 1000") && v.detail.contains("ClientFault 1"), "{}", v.detail);
        // Time moved on: a new instant starts a new count.
        let mut p = Progress::default();
        assert!(p.event(8, SAME_INSTANT_DEPTH_MAX, &Event::Fault(FaultEv::RandomClient)).is_none());
    }
}
