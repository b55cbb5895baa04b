//! The workload every engine of the peer benchmark runs, as plain state machines so that
//! each engine only moves messages: one leader and four followers; the leader sends each
//! proposal to every follower (PROPOSAL), each follower acknowledges each one (ACK), and the
//! leader sends COMMIT to every follower once a quorum (3 of 5, itself included) has it.
//!
//! The leader keeps at most [`WINDOW`] proposals uncommitted and proposes the next as one
//! commits. A window needs no timer, so the workload means the same thing in an engine with
//! a 1 ms tick and in one with no time at all (stateright).

use std::collections::VecDeque;

/// Followers; the leader is node 0, followers are 1..=FOLLOWERS.
pub const FOLLOWERS: usize = 4;
/// Proposals in one run.
pub const PROPOSALS: u64 = 10_000;
/// Proposals in flight (proposed, not yet committed) at most.
pub const WINDOW: u64 = 16;
/// Follower ACKs that make a quorum with the leader's own: 3 of 5.
pub const QUORUM_ACKS: u8 = 2;
/// Per-message network delay, uniform in `[DELAY_US_MIN, DELAY_US_MAX]`.
pub const DELAY_US_MIN: u64 = 200;
pub const DELAY_US_MAX: u64 = 2000;

/// Messages delivered in a run of `proposals`: a PROPOSAL, an ACK and a COMMIT per follower.
pub const fn messages(proposals: u64) -> u64 {
    proposals * FOLLOWERS as u64 * 3
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Msg {
    Proposal(u64),
    Ack(u64),
    Commit(u64),
}

/// A message on a byte stream (turmoil's and madsim's TCP): a kind byte and the zxid.
pub const FRAME_BYTES: usize = 9;

impl Msg {
    pub fn encode(self) -> [u8; FRAME_BYTES] {
        let (kind, zxid) = match self {
            Msg::Proposal(z) => (0, z),
            Msg::Ack(z) => (1, z),
            Msg::Commit(z) => (2, z),
        };
        let mut b = [0; FRAME_BYTES];
        b[0] = kind;
        b[1..].copy_from_slice(&zxid.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8; FRAME_BYTES]) -> Msg {
        let zxid = u64::from_le_bytes(b[1..].try_into().expect("8 bytes"));
        match b[0] {
            0 => Msg::Proposal(zxid),
            1 => Msg::Ack(zxid),
            2 => Msg::Commit(zxid),
            k => panic!("unknown message kind {k}"),
        }
    }
}

/// Messages to send, as (destination node, message); the caller moves them.
pub type Outbox = Vec<(usize, Msg)>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Leader {
    proposals: u64,
    window: u64,
    /// The next zxid to propose.
    next: u64,
    pub committed: u64,
    /// ACK counts of the zxids from `counted_from` on; a zxid leaves once all have acked, so
    /// the state stays small (stateright clones it on every step).
    acks: VecDeque<u8>,
    counted_from: u64,
    /// The last zxid each follower acked: ACKs come in order on a FIFO channel.
    last_ack: [u64; FOLLOWERS],
    pub acks_received: u64,
    pub sent: u64,
}

impl Leader {
    pub fn new(proposals: u64, window: u64) -> Leader {
        assert!(proposals > 0 && window > 0);
        Leader {
            proposals,
            window,
            next: 1,
            committed: 0,
            acks: VecDeque::new(),
            counted_from: 1,
            last_ack: [0; FOLLOWERS],
            acks_received: 0,
            sent: 0,
        }
    }

    pub fn proposals(&self) -> u64 {
        self.proposals
    }

    /// Fills the window.
    pub fn start(&mut self, out: &mut Outbox) {
        self.propose(out);
    }

    fn propose(&mut self, out: &mut Outbox) {
        while self.next <= self.proposals && self.next - 1 - self.committed < self.window {
            let z = self.next;
            self.next += 1;
            self.acks.push_back(0);
            self.broadcast(Msg::Proposal(z), out);
        }
    }

    fn broadcast(&mut self, msg: Msg, out: &mut Outbox) {
        for f in 1..=FOLLOWERS {
            out.push((f, msg));
        }
        self.sent += FOLLOWERS as u64;
    }

    pub fn on_msg(&mut self, from: usize, msg: Msg, out: &mut Outbox) {
        let Msg::Ack(z) = msg else { panic!("leader got {msg:?} from {from}") };
        assert!((1..=FOLLOWERS).contains(&from), "ACK from node {from}");
        assert_eq!(z, self.last_ack[from - 1] + 1, "follower {from}'s ACKs out of order");
        assert!(z < self.next, "ACK for zxid {z}, never proposed");
        self.last_ack[from - 1] = z;
        self.acks_received += 1;
        let i = (z - self.counted_from) as usize;
        self.acks[i] += 1;
        if self.acks[i] == QUORUM_ACKS {
            // FIFO channels and in-order ACKs make quorums form in zxid order.
            assert_eq!(z, self.committed + 1, "quorum for {z} before {}", self.committed + 1);
            self.committed = z;
            self.broadcast(Msg::Commit(z), out);
            self.propose(out);
        }
        while self.acks.front() == Some(&(FOLLOWERS as u8)) {
            self.acks.pop_front();
            self.counted_from += 1;
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Follower {
    pub id: usize,
    pub logged: u64,
    pub committed: u64,
    pub sent: u64,
}

impl Follower {
    pub fn new(id: usize) -> Follower {
        assert!((1..=FOLLOWERS).contains(&id));
        Follower { id, logged: 0, committed: 0, sent: 0 }
    }

    pub fn on_msg(&mut self, from: usize, msg: Msg, out: &mut Outbox) {
        assert_eq!(from, 0, "follower {} got {msg:?} from {from}", self.id);
        match msg {
            Msg::Proposal(z) => {
                assert_eq!(z, self.logged + 1, "follower {}: PROPOSAL out of order", self.id);
                self.logged = z;
                self.sent += 1;
                out.push((0, Msg::Ack(z)));
            }
            Msg::Commit(z) => {
                assert_eq!(z, self.committed + 1, "follower {}: COMMIT out of order", self.id);
                assert!(z <= self.logged, "follower {}: COMMIT {z} before its PROPOSAL", self.id);
                self.committed = z;
            }
            Msg::Ack(_) => panic!("follower {} got {msg:?}", self.id),
        }
    }

    /// Messages this follower received.
    pub fn received(&self) -> u64 {
        self.logged + self.committed
    }
}

/// Has every message arrived and every proposal committed everywhere?
pub fn is_done(leader: &Leader, followers: &[&Follower]) -> bool {
    let n = leader.proposals;
    leader.committed == n
        && leader.acks_received == n * FOLLOWERS as u64
        && followers.len() == FOLLOWERS
        && followers.iter().all(|f| f.logged == n && f.committed == n)
}

/// Panics unless every message arrived and every proposal committed on every node; returns
/// the messages delivered.
pub fn check(leader: &Leader, followers: &[&Follower]) -> u64 {
    let n = leader.proposals;
    assert_eq!(followers.len(), FOLLOWERS, "followers reported");
    assert_eq!(leader.committed, n, "proposals committed by the leader");
    assert_eq!(leader.acks_received, n * FOLLOWERS as u64, "ACKs the leader received");
    for f in followers {
        assert_eq!(f.logged, n, "follower {}: PROPOSALs received", f.id);
        assert_eq!(f.committed, n, "follower {}: COMMITs received", f.id);
    }
    let sent = leader.sent + followers.iter().map(|f| f.sent).sum::<u64>();
    let received = leader.acks_received + followers.iter().map(|f| f.received()).sum::<u64>();
    assert_eq!(sent, received, "messages sent and delivered");
    assert_eq!(received, messages(n));
    received
}

/// CPU time (user + system) this process has used, in microseconds, all threads included.
pub fn cpu_time_us() -> u64 {
    // SAFETY: getrusage writes one struct rusage, which we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// One run's result: messages delivered, the simulated time it took (0 where the engine
/// has none), and the CPU time the run used.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub messages: u64,
    pub virtual_us: u64,
    pub cpu_us: u64,
}

impl Run {
    /// The one line a child process prints for the driver.
    pub fn line(&self, engine: &str, seed: u64) -> String {
        format!(
            "engine={engine} seed={seed} messages={} virtual_us={} cpu_us={}",
            self.messages, self.virtual_us, self.cpu_us
        )
    }

    /// Reads [`Run::line`]'s output back: (engine, run).
    pub fn parse(line: &str) -> Option<(String, Run)> {
        let field =
            |name: &str| line.split_whitespace().find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')));
        let num = |name: &str| field(name).and_then(|v| v.parse().ok());
        let run = Run { messages: num("messages")?, virtual_us: num("virtual_us")?, cpu_us: num("cpu_us")? };
        Some((field("engine")?.to_string(), run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivering every message at once, in send order, runs the workload to the end.
    #[test]
    fn a_fifo_loop_runs_the_workload_to_the_end() {
        let mut leader = Leader::new(100, 4);
        let mut followers: Vec<Follower> = (1..=FOLLOWERS).map(Follower::new).collect();
        let mut queue: VecDeque<(usize, usize, Msg)> = VecDeque::new();
        let mut out = Outbox::new();
        leader.start(&mut out);
        queue.extend(out.drain(..).map(|(to, m)| (0, to, m)));
        while let Some((from, to, msg)) = queue.pop_front() {
            if to == 0 {
                leader.on_msg(from, msg, &mut out);
            } else {
                followers[to - 1].on_msg(from, msg, &mut out);
            }
            queue.extend(out.drain(..).map(|(t, m)| (to, t, m)));
        }
        let fs: Vec<&Follower> = followers.iter().collect();
        assert!(is_done(&leader, &fs));
        assert_eq!(check(&leader, &fs), messages(100));
    }

    #[test]
    fn a_run_line_reads_back() {
        let r = Run { messages: 120_000, virtual_us: 5, cpu_us: 7 };
        assert_eq!(Run::parse(&r.line("zabsim", 3)), Some(("zabsim".to_string(), r)));
        assert_eq!(Run::parse("engine=x messages=1"), None);
    }

    #[test]
    fn frames_round_trip() {
        for m in [Msg::Proposal(1), Msg::Ack(u64::MAX), Msg::Commit(77)] {
            assert_eq!(Msg::decode(&m.encode()), m);
        }
    }
}
