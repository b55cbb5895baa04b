//! The server processes: each one's [`Node`] while it is up, its life count, its disk and
//! its timers' scheduler entries, with boot, crash, exit and retirement. A process that is
//! down is `None`; its disk stays.

use crate::run::monitor::ClusterView;
use crate::scenario::Scenario;
use crate::world::disk::Disk;
use crate::world::dist::Delay;
use crate::world::rng::{Purpose, Stream};
use crate::world::scheduler::{Scheduler, TimerSlot};
use zab::contract::{NodeConfig, Timer};
use zab::durable::{DiskFile, DiskWrite, Txn};
use zab::quorum::{QuorumVerifier, SidSet};
use zab::{Node, ServerState, Sid};

#[derive(Clone)]
pub(crate) struct Servers {
    cfgs: Vec<NodeConfig>,
    nodes: Vec<Option<Node>>,
    /// Bumped at each crash: events addressed to an earlier life are dropped.
    life: Vec<u64>,
    disks: Vec<Disk>,
    /// Each server's disk: fsync latencies and torn writes.
    rng_disk: Vec<Stream>,
    fsync: Delay,
    torn_writes: bool,
    /// Each server timer's one entry in the scheduler, moved when re-armed.
    timer_slots: Vec<[TimerSlot; Timer::COUNT]>,
    /// Servers a reconfig removed and the operator stopped: never restarted.
    pub retired: SidSet,
    /// Servers a committed reconfig removed, waiting for every member of its configuration
    /// to activate it before the operator stops them.
    pub to_retire: Vec<(Sid, QuorumVerifier)>,
}

/// A server's index in the per-server vectors.
pub(crate) fn idx(s: Sid) -> usize {
    s as usize - 1
}

impl Servers {
    pub fn new<E>(scenario: &Scenario, cfgs: Vec<NodeConfig>, seed: u64, sched: &mut Scheduler<E>) -> Servers {
        let n = cfgs.len();
        let writeback_us = scenario.disk.writeback_ms.saturating_mul(1000);
        let disks = scenario
            .servers()
            .map(|s| Disk::new(scenario.initial_state(s), writeback_us, scenario.disk.ordered_metadata))
            .collect();
        let timer_slots = (0..n).map(|_| std::array::from_fn(|_| sched.timer_slot())).collect();
        Servers {
            cfgs,
            nodes: vec![None; n],
            life: vec![0; n],
            disks,
            rng_disk: scenario.servers().map(|s| Stream::indexed(seed, Purpose::Disk, s)).collect(),
            fsync: scenario.disk.fsync.clone(),
            torn_writes: scenario.disk.torn_writes,
            timer_slots,
            retired: SidSet::EMPTY,
            to_retire: Vec::new(),
        }
    }

    pub fn all(&self) -> &[Option<Node>] {
        &self.nodes
    }

    #[inline]
    pub fn node(&self, s: Sid) -> Option<&Node> {
        self.nodes[idx(s)].as_ref()
    }

    #[inline]
    pub fn node_mut(&mut self, s: Sid) -> Option<&mut Node> {
        self.nodes[idx(s)].as_mut()
    }

    #[inline]
    pub fn is_up(&self, s: Sid) -> bool {
        self.nodes[idx(s)].is_some()
    }

    /// The life of `s`'s process, if it is up.
    #[inline]
    pub fn life_if_up(&self, s: Sid) -> Option<u64> {
        self.is_up(s).then(|| self.life[idx(s)])
    }

    /// `s` is up in life `life`: events of an earlier life are dropped.
    #[inline]
    pub fn is_in_life(&self, s: Sid, life: u64) -> bool {
        self.is_up(s) && self.life[idx(s)] == life
    }

    pub fn disk(&self, s: Sid) -> &Disk {
        &self.disks[idx(s)]
    }

    #[inline]
    pub fn timer_slot(&self, s: Sid, timer: Timer) -> TimerSlot {
        self.timer_slots[idx(s)][timer.index()]
    }

    /// Builds a server from its durable image; an error when its startup checks fail.
    pub fn boot(&mut self, s: Sid) -> Result<(), String> {
        let i = idx(s);
        // Each process draws its own snapshot offsets (`SyncRequestProcessor.randRoll`).
        self.cfgs[i].roll_seed = self.rng_disk[i].next_u64();
        let node = Node::recover(self.cfgs[i].clone(), self.disks[i].durable().clone()).map_err(|e| e.to_string())?;
        self.nodes[i] = Some(node);
        Ok(())
    }

    pub fn write(&mut self, now: u64, s: Sid, w: DiskWrite) {
        self.disks[idx(s)].write(now, w);
    }

    /// Starts an fsync of `file` on `s`'s disk: when it completes, and its mark.
    pub fn fsync(&mut self, now: u64, s: Sid, file: DiskFile) -> (u64, u64) {
        let i = idx(s);
        let latency = self.fsync.sample(&mut self.rng_disk[i]);
        self.disks[i].fsync(file, now, latency)
    }

    /// An fsync of life `life` completed: false when that process is gone.
    pub fn fsync_done(&mut self, s: Sid, life: u64, file: DiskFile, mark: u64) -> bool {
        if !self.is_in_life(s, life) {
            return false;
        }
        self.disks[idx(s)].complete(file, mark);
        true
    }

    /// The process exits: what it wrote stays in the page cache.
    pub fn exit_disk(&mut self, s: Sid) {
        self.disks[idx(s)].exit();
    }

    /// The machine crashes and every write not yet durable is lost, however long ago it
    /// was written: the explorer's crash, which has no clock to judge writeback by.
    pub fn lose_volatile(&mut self, s: Sid) {
        self.disks[idx(s)].lose_volatile();
    }

    /// The machine crashes: unsynced writes are lost (torn, if the scenario says so).
    pub fn crash_disk(&mut self, now: u64, s: Sid) {
        let i = idx(s);
        let torn = self.torn_writes.then_some(&mut self.rng_disk[i]);
        self.disks[i].crash(now, torn);
    }

    /// The process is gone: its node, and its life moves on. Its timers' entries are
    /// returned for the caller to cancel.
    pub fn take_down(&mut self, s: Sid) -> [TimerSlot; Timer::COUNT] {
        let i = idx(s);
        self.nodes[i] = None;
        self.life[i] += 1;
        self.timer_slots[i]
    }

    /// The server LEADING now; an established one if several claim it.
    pub fn leader(&self) -> Option<Sid> {
        let leading = self.nodes.iter().flatten().filter(|n| n.state() == ServerState::Leading);
        leading.max_by_key(|n| n.is_established()).map(|n| n.id())
    }

    /// Servers with writes not yet synced to their disk.
    pub fn unsynced(&self) -> Vec<Sid> {
        (1..=self.nodes.len() as Sid).filter(|s| self.disks[idx(*s)].volatile_writes() > 0).collect()
    }

    /// Removed servers the operator may stop now: at once, or once every member of the
    /// configuration that removed them has activated it. They leave the waiting list.
    pub fn take_ready_to_retire(&mut self, at_once: bool) -> Vec<Sid> {
        let ready = |c: &QuorumVerifier| {
            at_once
                || c.members().iter().all(|m| {
                    // A member a later step removed and stopped has nothing left to activate.
                    self.retired.contains(m)
                        || self.nodes[idx(m)].as_ref().is_some_and(|n| n.quorum_verifier().version() >= c.version())
                })
        };
        let (now_ready, wait): (Vec<_>, Vec<_>) = self.to_retire.iter().partition(|(_, c)| ready(c));
        self.to_retire = wait;
        now_ready.into_iter().map(|(s, _)| s).collect()
    }
}

impl ClusterView for Servers {
    #[inline]
    fn nodes(&self) -> &[Option<Node>] {
        &self.nodes
    }

    #[inline]
    fn log(&self, s: Sid) -> &[Txn] {
        let i = idx(s);
        self.nodes[i].as_ref().map_or(self.disks[i].durable().history(), |n| n.log())
    }

    /// Every log in one pass over nodes and disks (a growing committed log asks for all
    /// of them at each commit).
    fn logs(&self) -> Vec<&[Txn]> {
        self.nodes.iter().zip(&self.disks).map(|(n, d)| n.as_ref().map_or(d.durable().history(), |n| n.log())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab::Zxid;

    fn servers(n: u64) -> (Servers, Scheduler<()>) {
        let text = format!("name = \"t\"\nduration_ms = 0\nliveness_bound_ms = 1000\n[cluster]\nservers = {n}\n");
        let scenario = Scenario::parse(&text, "t").expect("a valid scenario");
        let cfgs = scenario
            .servers()
            .map(|id| NodeConfig::new(id, scenario.quorum(), scenario.timing(), zab::Variant::None))
            .collect();
        let mut sched = Scheduler::new();
        (Servers::new(&scenario, cfgs, 1, &mut sched), sched)
    }

    /// A process's life moves on when it goes down: what its earlier life started (an
    /// fsync) completes for nobody, and its timers are handed back to be cancelled.
    #[test]
    fn an_earlier_life_gets_nothing() {
        let (mut s, _) = servers(3);
        s.boot(1).expect("an empty disk boots");
        assert_eq!(s.life_if_up(1), Some(0));
        let (_, mark) = s.fsync(0, 1, DiskFile::Log);
        let slots = s.take_down(1);
        assert_eq!(slots.len(), Timer::COUNT);
        assert_eq!(s.life_if_up(1), None);
        assert!(!s.fsync_done(1, 0, DiskFile::Log, mark), "the process that asked is gone");
        s.boot(1).expect("boots again");
        assert_eq!(s.life_if_up(1), Some(1));
        assert!(!s.is_in_life(1, 0) && s.is_in_life(1, 1));
    }

    /// The operator stops a removed server once every member of the configuration that
    /// removed it has activated it (a member stopped for good has nothing to activate),
    /// or at once when told to.
    #[test]
    fn removed_servers_wait_for_the_members_to_activate() {
        let (mut s, _) = servers(4);
        for id in 1..=4 {
            s.boot(id).expect("boots");
        }
        let config = QuorumVerifier::new([1, 2, 3]).with_version(Zxid::new(1, 5));
        s.to_retire.push((4, config));
        assert!(s.take_ready_to_retire(false).is_empty(), "no member activated it");
        assert_eq!(s.to_retire.len(), 1, "still waiting");
        for id in 1..=3 {
            s.take_down(id);
            s.retired.insert(id);
        }
        assert_eq!(s.take_ready_to_retire(false), vec![4]);
        s.to_retire.push((4, config));
        assert_eq!(s.take_ready_to_retire(true), vec![4], "at once");
        assert!(s.to_retire.is_empty());
    }

    /// A server's whole state hashes (the exhaustive explorer deduplicates worlds by it):
    /// the same inputs give the same hash, one more input another.
    #[test]
    fn a_nodes_state_hashes_by_its_history() {
        use std::hash::Hasher;
        let hash = |n: &Node| {
            let mut h = crate::trace::StableHasher::new();
            crate::trace::feed(&mut h, n);
            h.finish()
        };
        let (mut a, _) = servers(3);
        let (mut b, _) = servers(3);
        a.boot(1).expect("boots");
        b.boot(1).expect("boots");
        let (na, nb) = (a.node(1).expect("up"), b.node(1).expect("up"));
        assert_eq!(hash(na), hash(nb));
        let mut out = zab::contract::Outbox::default();
        let started = {
            let mut n = na.clone();
            n.step(zab::contract::Input::Start, &mut out);
            n
        };
        assert_ne!(hash(&started), hash(nb));
    }
}
