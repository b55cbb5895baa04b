//! The servers' connections over the [`Network`]: FLE's election channels with their
//! send window, and the quorum (learner) connections with their generations, as TCP
//! gives them to ZooKeeper. It never touches the scheduler: each call returns, or pushes
//! onto `out`, the events to schedule, in the order they must be scheduled.

use crate::world::dist::Delay;
use crate::world::network::Network;
use zab::message::{Channel, Message, Notification};
use zab::Sid;

/// Events of the servers' network.
#[derive(Clone)]
pub enum NetEvent {
    Deliver {
        from: Sid,
        to: Sid,
        sent_us: u64,
        incarnation: u64,
        /// The quorum connection's generation, for quorum-protocol messages.
        generation: u64,
        msg: Message,
    },
    /// `node` learns that its connection with `peer` came up or went down.
    Connection {
        node: Sid,
        peer: Sid,
        life: u64,
        up: bool,
        /// For a closed quorum connection: its generation, so that news of it does not
        /// reach a newer connection between the same servers.
        generation: Option<u64>,
    },
}

/// Events to schedule, with their times, in order.
pub type Out = Vec<(u64, NetEvent)>;

/// When a message sent now is delivered, and on what: the channel's incarnation and the
/// quorum connection's generation.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub at: u64,
    pub sent_us: u64,
    pub incarnation: u64,
    pub generation: u64,
}

impl NetEvent {
    /// The delivery of `msg` from `from` to `to`, as stamped when it was sent.
    #[inline]
    pub fn deliver(from: Sid, to: Sid, stamp: Stamp, msg: Message) -> NetEvent {
        let Stamp { sent_us, incarnation, generation, .. } = stamp;
        NetEvent::Deliver { from, to, sent_us, incarnation, generation, msg }
    }
}

/// The election connection from one server to another.
#[derive(Clone, Debug, Default)]
struct ElectionChannel {
    in_flight: u32,
    waiting: Option<Notification>,
}

/// Messages counted for the run's statistics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub sent: u64,
    pub lost: u64,
    pub coalesced: u64,
}

/// The connections between servers.
#[derive(Clone)]
pub struct Transport {
    n: usize,
    net: Network,
    /// Notifications in flight per election channel before the next one waits.
    election_window: u32,
    detect_us: u64,
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
    pub counts: Counts,
}

impl Transport {
    pub fn new(servers: u64, delay: Delay, seed: u64, election_window: u32, detect_us: u64) -> Transport {
        let n = servers as usize;
        Transport {
            n,
            net: Network::new(servers, delay, seed),
            election_window,
            detect_us,
            conn_last_us: vec![0; n * n],
            election: vec![ElectionChannel::default(); n * n],
            quorum_gen: vec![0; n * n],
            known_gen: vec![0; n * n],
            quorum_dead: vec![false; n * n],
            counts: Counts::default(),
        }
    }

    /// Feeds the connections' state without their counters: which links are up, which
    /// quorum connections are dead, whether each end knows the current one, the election
    /// channels' windows. Delivery stamps are judged by [`Transport::is_stale`] instead.
    pub fn fingerprint<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        for a in 1..=self.n as Sid {
            for b in 1..=self.n as Sid {
                let (o, p) = (self.ordered(a, b), self.pair(a, b));
                (self.net.is_linked(a, b), self.quorum_dead[p], self.known_gen[o] == self.quorum_gen[p]).hash(h);
                (self.election[o].in_flight, self.election[o].waiting).hash(h);
            }
        }
    }

    /// A delivery stamped with `incarnation` and `generation` will be dropped on arrival.
    pub fn is_stale(&self, from: Sid, to: Sid, incarnation: u64, generation: u64, msg: &Message) -> bool {
        self.net.incarnation(from, to) != incarnation
            || (msg.channel() == Channel::Quorum && self.quorum_gen[self.pair(from, to)] != generation)
    }

    /// The links, cuts and delays underneath.
    pub fn net(&self) -> &Network {
        &self.net
    }

    pub fn net_mut(&mut self) -> &mut Network {
        &mut self.net
    }

    #[inline]
    fn ordered(&self, from: Sid, to: Sid) -> usize {
        (from as usize - 1) * self.n + (to as usize - 1)
    }

    /// The quorum connection between two servers, whichever end opened it.
    #[inline]
    fn pair(&self, a: Sid, b: Sid) -> usize {
        self.ordered(a.min(b), a.max(b))
    }

    /// Either direction of the link between `a` and `b` is up.
    pub fn linked_either_way(&self, a: Sid, b: Sid) -> bool {
        self.net.is_linked(a, b) || self.net.is_linked(b, a)
    }

    /// A server sends `msg`; `to_up` says whether the peer's process is up. When the
    /// message leaves: its delivery stamp (the caller schedules the delivery, with the
    /// message moved once, into the event).
    #[inline]
    pub fn send(&mut self, now: u64, from: Sid, to: Sid, to_up: bool, msg: &Message) -> Option<Stamp> {
        assert_ne!(from, to, "server {from} sent itself a message over the network");
        self.counts.sent += 1;
        if !to_up || !self.net.is_linked(from, to) {
            self.counts.lost += 1; // No connection: the send fails.
            return None;
        }
        if let Message::Notification(n) = msg {
            // The election channel's window (a notification is the election connection's).
            let window = self.election_window;
            let o = self.ordered(from, to);
            let c = &mut self.election[o];
            if c.in_flight >= window {
                if c.waiting.replace(*n).is_some() {
                    self.counts.coalesced += 1;
                }
                return None;
            }
            c.in_flight += 1;
        }
        self.transmit(now, from, to, msg)
    }

    #[inline]
    fn transmit(&mut self, now: u64, from: Sid, to: Sid, msg: &Message) -> Option<Stamp> {
        let p = self.pair(from, to);
        let generation = match msg.channel() {
            // News of a closed quorum connection must not reach a newer one: notifications
            // carry the pair's current generation for that.
            Channel::Election => self.quorum_gen[p],
            Channel::Quorum if self.quorum_dead[p] => {
                self.counts.lost += 1;
                return None;
            }
            Channel::Quorum => self.known_gen[self.ordered(from, to)],
        };
        let (at, incarnation) = self.net.transmit(from, to, now);
        Some(Stamp { at, sent_us: now, incarnation, generation })
    }

    /// A learner opens a new quorum connection to its leader (`Effect::Connect`); whatever
    /// was on the old one is gone. An attempt to a process that is down, or over a link
    /// that is cut, makes no connection; TCP needs both directions to connect, so over a
    /// one-way cut the attempt times out and the connection is dead from the start.
    pub fn connect(&mut self, from: Sid, to: Sid, to_up: bool) {
        if !to_up || !self.net.is_linked(from, to) {
            return;
        }
        let p = self.pair(from, to);
        self.quorum_gen[p] += 1;
        self.quorum_dead[p] = !self.net.is_linked(to, from);
        let o = self.ordered(from, to);
        self.known_gen[o] = self.quorum_gen[p];
    }

    /// A message arrives at `to` (up or not, `to_up`): whether it is delivered. A
    /// notification leaving its election channel frees the window, and the waiting one,
    /// if any, goes: returned with its stamp.
    #[inline]
    pub fn arrive(
        &mut self,
        now: u64,
        (from, to, incarnation, generation): (Sid, Sid, u64, u64),
        msg: &Message,
        to_up: bool,
    ) -> (bool, Option<(Stamp, Message)>) {
        if self.net.incarnation(from, to) != incarnation {
            return (false, None); // Counted as lost when the channel broke.
        }
        let p = self.pair(from, to);
        let quorum = msg.channel() == Channel::Quorum;
        if quorum && self.quorum_gen[p] != generation {
            self.counts.lost += 1;
            return (false, None); // Sent on a quorum connection since closed or replaced.
        }
        let o = self.ordered(to, from);
        if quorum && generation > self.known_gen[o] {
            // The first bytes of a new connection: the leader's side accepts it.
            self.known_gen[o] = generation;
        }
        let mut next = None;
        if !quorum {
            let o = self.ordered(from, to);
            let c = &mut self.election[o];
            c.in_flight -= 1;
            if let Some(n) = c.waiting.take() {
                c.in_flight += 1;
                let waiting = Message::Notification(n);
                next = self.transmit(now, from, to, &waiting).map(|stamp| (stamp, waiting));
            }
        }
        if !to_up {
            self.counts.lost += 1;
            return (false, next);
        }
        (true, next)
    }

    /// The generation of the quorum connection `from` sends to `to` on, as `from` knows it.
    #[inline]
    pub fn known_generation(&self, from: Sid, to: Sid) -> u64 {
        self.known_gen[self.ordered(from, to)]
    }

    /// A message queued behind an fsync on connection `generation` may leave now: false
    /// (and counted lost) when that connection closed meanwhile.
    #[inline]
    pub fn still_open(&mut self, from: Sid, to: Sid, generation: u64) -> bool {
        let open = self.quorum_gen[self.pair(from, to)] == generation;
        if !open {
            self.counts.lost += 1;
        }
        open
    }

    /// News of a connection event reaches a process of life `life` only if its
    /// connection is still that generation.
    #[inline]
    pub fn is_current(&self, node: Sid, peer: Sid, generation: Option<u64>) -> bool {
        generation.is_none_or(|g| self.quorum_gen[self.pair(node, peer)] == g)
    }

    /// `node` closes its quorum connection with `peer` (the election connection stays):
    /// what is in flight on it is lost, and the peer (of life `peer_life`, if up) sees the
    /// close after a network delay.
    pub fn close(&mut self, now: u64, node: Sid, peer: Sid, peer_life: Option<u64>) -> Option<(u64, NetEvent)> {
        let p = self.pair(node, peer);
        self.quorum_gen[p] += 1;
        self.quorum_dead[p] = true;
        let d = self.net.sample_delay(node, peer);
        let generation = Some(self.quorum_gen[p]);
        self.notify(now, (peer, node), peer_life, false, d, generation)
    }

    /// Tells `node` (of life `life`, if up) about its connection with `peer`, in order
    /// with earlier such news.
    fn notify(
        &mut self,
        now: u64,
        (node, peer): (Sid, Sid),
        life: Option<u64>,
        up: bool,
        delay_us: u64,
        generation: Option<u64>,
    ) -> Option<(u64, NetEvent)> {
        let life = life?;
        let o = self.ordered(node, peer);
        let slot = &mut self.conn_last_us[o];
        let at = now.saturating_add(delay_us).max(*slot);
        *slot = at;
        Some((at, NetEvent::Connection { node, peer, life, up, generation }))
    }

    /// Breaks channel from->to: what is in flight on it is lost, and the quorum
    /// connection between the two is dead.
    fn break_channel(&mut self, from: Sid, to: Sid) {
        self.net.break_channel(from, to);
        let p = self.pair(from, to);
        self.quorum_dead[p] = true;
        let o = self.ordered(from, to);
        let c = &mut self.election[o];
        self.counts.lost += u64::from(c.in_flight) + u64::from(c.waiting.is_some());
        *c = ElectionChannel::default();
    }

    /// Links that came back: both ends (if up: `life` gives a process's life) reconnect
    /// after one network delay.
    pub fn links_up(&mut self, now: u64, links: Vec<(Sid, Sid)>, life: impl Fn(Sid) -> Option<u64>, out: &mut Out) {
        for (a, b) in pairs(links) {
            let (la, lb) = (life(a), life(b));
            if la.is_some() && lb.is_some() {
                let d = self.net.sample_delay(a, b);
                out.extend(self.notify(now, (a, b), la, true, d, None));
                out.extend(self.notify(now, (b, a), lb, true, d, None));
            }
        }
    }

    /// Links that went away: the channels break and both ends learn of it after the
    /// detection delay.
    pub fn links_down(&mut self, now: u64, links: Vec<(Sid, Sid)>, life: impl Fn(Sid) -> Option<u64>, out: &mut Out) {
        for &(a, b) in &links {
            self.break_channel(a, b);
        }
        for (a, b) in pairs(links) {
            let (la, lb) = (life(a), life(b));
            if la.is_some() && lb.is_some() {
                out.extend(self.notify(now, (a, b), la, false, self.detect_us, None));
                out.extend(self.notify(now, (b, a), lb, false, self.detect_us, None));
            }
        }
    }

    /// Server `s`'s process is gone: its channels break, and each peer it was linked
    /// with learns of it after the detection delay.
    pub fn server_down(&mut self, now: u64, s: Sid, life: impl Fn(Sid) -> Option<u64>, out: &mut Out) {
        for p in (1..=self.n as Sid).filter(|p| *p != s) {
            self.break_channel(s, p);
            self.break_channel(p, s);
            if self.linked_either_way(s, p) {
                out.extend(self.notify(now, (p, s), life(p), false, self.detect_us, None));
            }
        }
    }

    /// The links of `s` that are up, either way, for a server that starts.
    pub fn links_of(&self, s: Sid) -> Vec<(Sid, Sid)> {
        (1..=self.n as Sid).filter(|p| *p != s && self.linked_either_way(s, *p)).map(|p| (s, p)).collect()
    }
}

/// Unordered pairs of the given directed links, each once.
fn pairs(links: Vec<(Sid, Sid)>) -> Vec<(Sid, Sid)> {
    let mut v: Vec<(Sid, Sid)> = links.into_iter().map(|(a, b)| (a.min(b), a.max(b))).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::dist::Delay;
    use zab::Zxid;

    fn transport() -> Transport {
        Transport::new(3, Delay::Constant { us: 100 }, 1, 2, 1_000)
    }

    fn info() -> Message {
        Message::FollowerInfo { accepted_epoch: 0, observer: false, config_version: Zxid::ZERO }
    }

    /// Learner 1 connects to leader 2: the first message on the new connection is
    /// delivered, and the leader's side knows the connection once it arrives, so what it
    /// sends back travels on it; what the leader sent before on an older connection is not.
    #[test]
    fn a_connection_opens_on_connect_and_the_leader_accepts_it_when_bytes_arrive() {
        let mut t = transport();
        let stale = t.send(0, 2, 1, true, &Message::Ping).expect("the link is up");
        t.connect(1, 2, true);
        let first = t.send(0, 1, 2, true, &info()).expect("sent on the new connection");
        assert!(!t.arrive(50, (2, 1, stale.incarnation, stale.generation), &Message::Ping, true).0, "old connection");
        let before = t.send(60, 2, 1, true, &Message::Ping).expect("the leader writes to its old handler");
        assert_ne!(before.generation, first.generation, "the leader has not accepted yet");
        assert!(t.arrive(100, (1, 2, first.incarnation, first.generation), &info(), true).0);
        let after = t.send(100, 2, 1, true, &Message::Ping).expect("sent");
        assert_eq!(after.generation, first.generation, "accepted: the leader answers on the new connection");
    }

    /// TCP needs both directions: over a one-way cut the attempt times out, and nothing
    /// travels on that connection; an attempt to a process that is down makes none.
    #[test]
    fn a_connection_needs_the_link_both_ways_and_a_live_peer() {
        let mut t = transport();
        t.net_mut().cut(1, vec![(2, 1)], vec![]);
        t.connect(1, 2, true);
        assert!(t.send(0, 1, 2, true, &info()).is_none(), "dead from the start");
        assert_eq!(t.counts.lost, 1);

        let mut t = transport();
        t.connect(1, 2, true);
        let g = t.send(0, 1, 2, true, &info()).expect("sent").generation;
        t.connect(1, 2, false);
        assert_eq!(t.send(0, 1, 2, true, &Message::Ping).expect("the old connection lives on").generation, g);
    }
}
