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
