//! The world stepped one choice at a time, as an exhaustive explorer needs it: every
//! pending event that may happen next once time is abstracted away, and taking one of
//! them. A run always takes the earliest; an explorer may take any, and the world keeps
//! every FIFO order that TCP and the disk give (a channel's messages, a server's news of a
//! peer, a file's fsyncs, a client connection's traffic).

use super::Cluster;
use crate::run::event::{ClientEv, Event, NetEvent, ServerEvent};
use std::collections::BTreeMap;

/// A pending event that may be taken next.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Choice {
    pub at_us: u64,
    pub seq: u64,
    pub slot: u32,
}

/// The FIFO an event waits in, if any: only its earliest may be taken.
fn fifo(ev: &Event) -> Option<(u8, u64, u64)> {
    match *ev {
        Event::Net(NetEvent::Deliver { from, to, .. }) => Some((0, from, to)),
        Event::Net(NetEvent::Connection { node, peer, .. }) => Some((1, node, peer)),
        Event::Server(ServerEvent::FsyncDone { node, file, .. }) => Some((2, node, file as u64)),
        Event::Client(ClientEv::Send { k, .. }) => Some((3, k as u64, 0)),
        Event::Client(ClientEv::Recv { k, .. }) => Some((4, k as u64, 0)),
        _ => None,
    }
}

impl Cluster<'_> {
    /// The events that may happen next: every pending event but those queued behind an
    /// earlier one in the same FIFO, sorted by (time, sequence): the first is the one a
    /// run takes. The run's own deadlines (the end of the fault phase, the liveness
    /// deadline) are choices too; an explorer checking safety alone leaves them out.
    pub fn choices(&self) -> Vec<Choice> {
        let mut heads: BTreeMap<(u8, u64, u64), Choice> = BTreeMap::new();
        let mut free = Vec::new();
        for (p, ev) in self.sched.pending() {
            let c = Choice { at_us: p.at_us, seq: p.seq, slot: p.slot };
            match fifo(ev) {
                Some(key) => {
                    let head = heads.entry(key).or_insert(c);
                    if c.seq < head.seq {
                        *head = c;
                    }
                }
                None => free.push(c),
            }
        }
        free.extend(heads.into_values());
        free.sort_unstable();
        free
    }

    /// The run is over: a violation, or its work done after faults stopped.
    pub fn is_over(&self) -> bool {
        self.monitor.violation().is_some() || self.is_done()
    }

    /// Takes `choice` and carries it out with the checks after it, as a run takes its next
    /// event; the clock moves to the event's time if that is later. False if it was not
    /// pending.
    pub fn take(&mut self, choice: Choice) -> bool {
        let Some((now, ev)) = self.sched.take(choice.slot) else { return false };
        self.after(now, ev);
        true
    }
}

impl Cluster<'_> {
    /// A fingerprint of the world with time abstracted away, for an explorer's
    /// deduplication: the servers' states, their disks' contents, the connections, the
    /// checker's memory, and the pending events as each FIFO orders them, without when
    /// they are due, their sequence numbers, their slots, or counters whose only job is to
    /// tell stale from current (a stale delivery counts as stale). Two worlds reached by
    /// taking independent events in either order (deliveries to different servers) share
    /// it. The service's clients and the raw-write workload are not in it: a world with
    /// them must not be deduplicated by it.
    pub fn fingerprint(&self) -> u64 {
        use crate::trace::{feed, StableHasher};
        use std::hash::Hasher;
        let mut h = StableHasher::new();
        for s in 1..=self.scenario.cluster.servers {
            feed(&mut h, &self.servers.node(s));
            self.servers.disk(s).fingerprint(&mut h);
        }
        feed(&mut h, &(self.servers.retired, &self.servers.to_retire));
        self.transport.fingerprint(&mut h);
        self.monitor.checker.fingerprint(&mut h);
        let mut pending: Vec<((u8, u64, u64), u64, u64)> = self
            .sched
            .pending()
            .map(|(p, ev)| {
                let mut e = StableHasher::new();
                self.feed_event(&mut e, ev);
                (fifo(ev).unwrap_or((u8::MAX, 0, 0)), p.seq, e.finish())
            })
            .collect();
        // Within a FIFO, in order; the FIFOs themselves, and the events in none, as a set.
        pending.sort_unstable_by_key(|&(key, seq, e)| (key, if key.0 == u8::MAX { e } else { seq }));
        for (key, _, e) in pending {
            feed(&mut h, &(key, e));
        }
        h.finish()
    }

    /// One pending event, without its time and with its counters judged.
    fn feed_event(&self, h: &mut crate::trace::StableHasher, ev: &Event) {
        use crate::trace::feed;
        match ev {
            Event::Net(NetEvent::Deliver { from, to, incarnation, generation, msg, .. }) => {
                let stale = self.transport.is_stale(*from, *to, *incarnation, *generation, msg);
                feed(h, &("deliver", from, to, stale, msg));
            }
            Event::Net(NetEvent::Connection { node, peer, life, up, generation }) => {
                let current =
                    self.servers.is_in_life(*node, *life) && self.transport.is_current(*node, *peer, *generation);
                feed(h, &("connection", node, peer, current, up));
            }
            Event::Server(ServerEvent::Timer { node, timer }) => feed(h, &("timer", node, timer)),
            Event::Server(ServerEvent::FsyncDone { node, life, id, file, mark, then_send }) => {
                let current = self.servers.is_in_life(*node, *life);
                let sends: Vec<(u64, bool, &zab::Message)> = then_send
                    .iter()
                    .map(|(to, g, m)| (*to, self.transport.is_current(*node, *to, Some(*g)), m))
                    .collect();
                feed(h, &("fsync", node, current, id, file, mark, sends));
            }
            other => feed(h, &other.kind()),
        }
    }
}
