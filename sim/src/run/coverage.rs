//! Abstract protocol-state coverage: what a run reached, in a form small enough to compare
//! across seeds and cheap enough to compute after every step.
//!
//! Each server is abstracted to a few facts: its role and Zab phase (down, LOOKING, leader
//! in discovery / sync / broadcast, follower connected / syncing / NEWLEADER acknowledged /
//! serving), the sync mode its leader chose for it while it syncs, which files it has an
//! fsync in flight on (log, epochs), whether its currentEpoch is behind the highest one and
//! its acceptedEpoch ahead of its own currentEpoch, and where its last zxid stands against
//! the highest of any server and against the highest committed zxid (below, at, above).
//! The cluster's abstract state is the multiset of its servers' (server ids do not
//! matter), hashed as a sum of the codes spread over 64 bits; a transition is a pair of consecutive distinct abstract states; a fault
//! state is a fault's kind, its target's abstract state and the cluster's.
//!
//! Why these facts: the crash-timing bugs need a follower crashed while syncing with an
//! fsync in flight (ZOOKEEPER-4643: currentEpoch written, log not yet durable; -4646:
//! NEWLEADER acknowledged before the log's flush), then a restart with an epoch ahead and a
//! log behind that wins; the phase, the fsync files, the epoch ranks and the zxid ranks
//! tell each of those situations apart from the common ones (a crash while serving, a
//! crash with nothing in flight). ZOOKEEPER-2845 needs a server leaving its role with logged
//! but uncommitted txns (zxid above committed), ZOOKEEPER-2355 a partition during a DIFF
//! (the sync mode). Times, counters and absolute epochs are left out, so the number of
//! abstract states stays finite and a sweep can show it saturating.
//!
//! The coverage only reads: it never feeds the trace hash, the scheduler or any stream.

use zab::contract::{Effect, Input, Observation, SyncMode};
use zab::durable::DiskFile;
use zab::{Epoch, ServerState, Sid, Zxid};

/// A server's phase, as far as the abstraction goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
enum Phase {
    #[default]
    Down = 0,
    Looking = 1,
    LeaderDiscovery = 2,
    LeaderSync = 3,
    LeaderBroadcast = 4,
    FollowerDiscovery = 5,
    FollowerSync = 6,
    FollowerNewLeader = 7,
    FollowerBroadcast = 8,
}

/// What the abstraction keeps of one server.
#[derive(Clone, Debug, Default)]
struct Facts {
    phase: Phase,
    /// The sync mode chosen for it while it syncs (0 none, 1 DIFF, 2 TRUNC, 3 SNAP).
    mode: u8,
    /// Fsyncs in flight, by id and file.
    fsyncs: Vec<(u64, DiskFile)>,
    /// Bit 0: one of the log (or a snapshot) is in flight; bit 1: of the epochs (or config).
    fsync_files: u8,
    current_epoch: Epoch,
    accepted_epoch: Epoch,
    last: Zxid,
}

/// How many moments worth a targeted crash a run keeps (see [`Coverage::moments`]).
pub const MOMENTS_MAX: usize = 256;

/// A sorted set of hashes in a vector: a run reaches some tens to thousands, and a vector
/// is cheaper to fill, clone and drop than a B-tree. A small direct-mapped cache skips the
/// search for items met again and again (a steady state flipping between a few states).
#[derive(Clone, Debug, Default)]
pub struct Hashes {
    items: Vec<u64>,
    recent: Vec<u64>,
}

const RECENT: usize = 64;

impl PartialEq for Hashes {
    fn eq(&self, other: &Hashes) -> bool {
        self.items == other.items
    }
}

impl Eq for Hashes {}

impl Hashes {
    /// Adds `h`; true if it was not there.
    #[inline]
    pub fn insert(&mut self, h: u64) -> bool {
        if self.recent.is_empty() {
            self.recent = vec![0; RECENT];
        }
        let slot = (h as usize) % RECENT;
        if self.recent[slot] == h {
            return false;
        }
        self.recent[slot] = h;
        match self.items.binary_search(&h) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, h);
                true
            }
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, sorted.
    pub fn iter(&self) -> std::slice::Iter<'_, u64> {
        self.items.iter()
    }

    pub fn contains(&self, h: u64) -> bool {
        self.items.binary_search(&h).is_ok()
    }
}

/// A run's coverage: the abstract states, transitions and fault states it reached, as
/// 64-bit hashes, and the moments a crash would hit an fsync in flight outside broadcast.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    servers: Vec<Facts>,
    /// Each server's abstract code, as of the last step that could change it.
    codes: Vec<u16>,
    /// What the relative bits of every code were computed against.
    max_epoch: Epoch,
    max_last: Zxid,
    committed: Zxid,
    /// Some server's code changed without it stepping (the sync mode a leader chose, the
    /// committed zxid moved).
    stale: bool,
    /// The stepping server's fsyncs or phase changed during this step.
    dirty: bool,
    /// The cluster's abstract state now: a sum of the servers' mixed codes, so that it
    /// does not depend on which server is which and one code's change updates it at once.
    current: u64,
    pub states: Hashes,
    pub transitions: Hashes,
    pub faults: Hashes,
    /// Where a crash could hit an fsync in flight outside broadcast (at most
    /// [`MOMENTS_MAX`]). The fuzzer aims crashes there, preferring globally rare states and
    /// the counterexample shape of ZOOKEEPER-4643 and -4646.
    pub moments: Vec<Moment>,
    /// The stepping server acknowledged NEWLEADER during this step.
    newleader: bool,
}

/// A moment worth a crash: the stepping server, with an fsync in flight while electing or
/// syncing, took the cluster to an abstract state new in this run, or acknowledged NEWLEADER.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Moment {
    /// The next whole virtual millisecond: a fault scripted at it comes after the step.
    pub ms: u64,
    pub server: Sid,
    /// The cluster's abstract state after the step.
    pub state: u64,
    /// The server has acknowledged NEWLEADER (its currentEpoch is the new one, its synced
    /// txns may not be durable yet): the window of ZOOKEEPER-4643 and -4646.
    pub newleader: bool,
    /// Servers down then. With one down, a crash of the leader (or of the server) leaves
    /// the restarted one and the server with the new epoch to elect each other.
    pub down: u8,
    /// The server's sync mode then (0 none, 1 DIFF, 2 TRUNC, 3 SNAP).
    pub mode: u8,
    /// Its files with an fsync in flight (bit 0 the log or a snapshot, bit 1 the epochs).
    pub files: u8,
    /// The lowest-numbered server down then (0: none): the one to bring back.
    pub first_down: Sid,
}

/// A fault, as the coverage tells them apart.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Crash,
    Restart,
    Cut,
    Heal,
    SlowLink,
}

impl Coverage {
    pub fn new(servers: usize) -> Coverage {
        let mut c =
            Coverage { servers: vec![Facts::default(); servers], codes: vec![0; servers], ..Coverage::default() };
        c.recompute();
        c.states.insert(c.current);
        c
    }

    /// Every item reached: states, transitions and fault states, tagged apart.
    pub fn items(&self) -> impl Iterator<Item = u64> + '_ {
        let tag = |t: u64| move |h: &u64| mix(*h, t);
        self.states.iter().map(tag(1)).chain(self.transitions.iter().map(tag(2))).chain(self.faults.iter().map(tag(3)))
    }

    /// The server takes an input: a completed fsync leaves the in-flight set.
    #[inline]
    pub fn on_input(&mut self, node: Sid, input: &Input) {
        if let Input::Durable { fsync } = input {
            let f = &mut self.servers[node as usize - 1];
            f.fsyncs.retain(|(id, _)| id != fsync);
            f.fsync_files = f.fsyncs.iter().fold(0, |b, (_, file)| b | file_bit(*file));
            self.dirty = true;
        }
    }

    /// One effect of a step: fsyncs issued and the phases observations mark.
    #[inline]
    pub fn on_effect(&mut self, node: Sid, effect: &Effect) {
        match effect {
            Effect::Fsync { id, file, .. } => {
                let f = &mut self.servers[node as usize - 1];
                f.fsyncs.push((*id, *file));
                f.fsync_files |= file_bit(*file);
                self.dirty = true;
            }
            Effect::Observe(obs) => self.observe(node, obs),
            _ => {}
        }
    }

    fn observe(&mut self, node: Sid, obs: &Observation) {
        let me = node as usize - 1;
        let phase = match obs {
            Observation::ElectionStarted { .. } => Phase::Looking,
            Observation::Decided { state: ServerState::Leading, .. } => Phase::LeaderDiscovery,
            Observation::Decided { state: ServerState::Looking, .. } => Phase::Looking,
            Observation::Decided { .. } => Phase::FollowerDiscovery,
            Observation::LeaderEpoch { .. } => Phase::LeaderSync,
            Observation::LeaderEstablished { .. } => Phase::LeaderBroadcast,
            Observation::FollowerConnected { .. } => Phase::FollowerSync,
            Observation::NewLeaderAcked { .. } => Phase::FollowerNewLeader,
            Observation::Synced { .. } => Phase::FollowerBroadcast,
            Observation::Sync { learner, mode, .. } => {
                if let Some(l) = self.servers.get_mut(*learner as usize - 1) {
                    l.mode = match mode {
                        SyncMode::Diff => 1,
                        SyncMode::Trunc => 2,
                        SyncMode::Snap => 3,
                    };
                    self.stale = true;
                }
                return;
            }
            Observation::Committed { zxid } | Observation::Delivered { zxid } => {
                if *zxid > self.committed {
                    self.committed = *zxid;
                    self.stale = true;
                }
                return;
            }
            _ => return,
        };
        let f = &mut self.servers[me];
        f.phase = phase;
        self.newleader |= phase == Phase::FollowerNewLeader;
        if !matches!(phase, Phase::FollowerSync | Phase::FollowerNewLeader) {
            f.mode = 0;
        }
        self.dirty = true;
    }

    /// The step is over: the server's epochs and last zxid are read, and the cluster's
    /// abstract state recorded if it changed.
    #[inline]
    pub fn on_step_end(&mut self, now_us: u64, node: Sid, epochs: (Epoch, Epoch), last: Zxid) {
        let i = node as usize - 1;
        let f = &mut self.servers[i];
        let same = (f.current_epoch, f.accepted_epoch) == epochs && f.last == last && f.phase != Phase::Down;
        if same && !self.dirty && !self.stale {
            // Nothing the abstraction keeps changed: most steps (notifications, pings).
            return;
        }
        self.dirty = false;
        (f.current_epoch, f.accepted_epoch) = epochs;
        f.last = last;
        if f.phase == Phase::Down {
            f.phase = Phase::Looking; // Started: the first observation may come later.
        }
        let newleader = std::mem::take(&mut self.newleader);
        if self.update(now_us, i, true) && newleader && !self.servers[i].fsyncs.is_empty() {
            // Every NEWLEADER acknowledged with a write in flight, new state or not.
            self.moment(now_us, i);
        }
    }

    /// Keeps the current moment of server `i` (while there is room).
    fn moment(&mut self, now_us: u64, i: usize) {
        if self.moments.len() < MOMENTS_MAX {
            let f = &self.servers[i];
            let down = self.servers.iter().filter(|f| f.phase == Phase::Down).count() as u8;
            let newleader = f.phase == Phase::FollowerNewLeader;
            let (ms, server, state) = (now_us / 1000 + 1, i as Sid + 1, self.current);
            let (mode, files) = (f.mode, f.fsync_files);
            let first_down = self.servers.iter().position(|f| f.phase == Phase::Down).map_or(0, |d| d as Sid + 1);
            self.moments.push(Moment { ms, server, state, newleader, down, mode, files, first_down });
        }
    }

    /// Server `s` went down with `durable_last` its last durable zxid.
    pub fn on_crash(&mut self, now_us: u64, s: Sid, durable_last: Zxid) {
        let i = s as usize - 1;
        let f = &mut self.servers[i];
        *f = Facts { phase: Phase::Down, last: durable_last, ..Facts::default() };
        self.update(now_us, i, false);
    }

    /// A fault is applied to `target` (if it has one) in the current state.
    pub fn on_fault(&mut self, kind: FaultKind, target: Option<Sid>) {
        let code = target.and_then(|s| self.codes.get(s as usize - 1)).map_or(0xffff, |c| u64::from(*c));
        self.faults.insert(mix(mix(self.current, kind as u64 + 1), code));
    }

    /// Server `i`'s facts changed: its code, or every code when what they are relative to
    /// moved, and the cluster's state if that changed. True unless a moment was kept.
    #[inline]
    fn update(&mut self, now_us: u64, i: usize, stepped: bool) -> bool {
        let mut max_epoch = 0;
        let mut max_last = Zxid::ZERO;
        for f in &self.servers {
            max_epoch = max_epoch.max(f.current_epoch);
            max_last = max_last.max(f.last);
        }
        let state = if self.stale || (max_epoch, max_last) != (self.max_epoch, self.max_last) {
            (self.max_epoch, self.max_last, self.stale) = (max_epoch, max_last, false);
            self.recompute()
        } else {
            let code = self.code(&self.servers[i]);
            let old = std::mem::replace(&mut self.codes[i], code);
            if code == old {
                return true; // The common step: nothing the abstraction keeps changed.
            }
            self.current.wrapping_sub(spread(old)).wrapping_add(spread(code))
        };
        if state == self.current {
            return true;
        }
        self.transitions.insert(mix(self.current, state));
        self.current = state;
        if self.states.insert(state) && stepped {
            // A new state with the stepping server writing outside broadcast: worth a crash.
            let f = &self.servers[i];
            let broadcast = matches!(f.phase, Phase::LeaderBroadcast | Phase::FollowerBroadcast);
            if !f.fsyncs.is_empty() && !broadcast {
                self.moment(now_us, i);
                return false;
            }
        }
        true
    }

    /// Every server's code against the current maxima; returns the cluster's state.
    fn recompute(&mut self) -> u64 {
        let mut h = 0u64;
        for i in 0..self.servers.len() {
            let c = self.code(&self.servers[i]);
            self.codes[i] = c;
            h = h.wrapping_add(spread(c));
        }
        h
    }

    #[inline]
    fn code(&self, f: &Facts) -> u16 {
        let vs_committed = match f.last.cmp(&self.committed) {
            std::cmp::Ordering::Less => 0,
            std::cmp::Ordering::Equal => 1,
            std::cmp::Ordering::Greater => 2,
        };
        let mut c = f.phase as u16;
        c |= u16::from(f.mode) << 4;
        c |= u16::from(f.fsync_files) << 6;
        c |= u16::from(f.current_epoch < self.max_epoch) << 8;
        c |= u16::from(f.accepted_epoch > f.current_epoch) << 9;
        c |= u16::from(f.last < self.max_last) << 10;
        c |= vs_committed << 11;
        c
    }
}

/// A HyperLogLog sketch of a set of 64-bit hashes: 256 registers, each the longest run of
/// leading zeros seen (plus one) among the hashes that fall in it. Sketches of different
/// seeds merge by taking each register's maximum, so a sweep's `--out` lines (and shards'
/// lines merged) say how many distinct items the sweep reached, within about 6.5%, in 256
/// characters a line instead of 16 hex digits an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sketch(pub [u8; SKETCH_REGISTERS]);

pub const SKETCH_REGISTERS: usize = 256;

/// One character per register (values 0..=57).
const SKETCH_DIGITS: &[u8; 64] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

impl Default for Sketch {
    fn default() -> Sketch {
        Sketch([0; SKETCH_REGISTERS])
    }
}

impl Sketch {
    pub fn of(items: impl Iterator<Item = u64>) -> Sketch {
        let mut s = Sketch::default();
        for h in items {
            s.add(h);
        }
        s
    }

    pub fn add(&mut self, h: u64) {
        let h = mix(h, 0x736b_6574_6368); // Spread again: items may share low bits.
        let r = (h >> 56) as usize;
        let rank = ((h << 8) | 0x80).leading_zeros() as u8 + 1;
        self.0[r] = self.0[r].max(rank);
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = (*a).max(*b);
        }
    }

    /// The estimated number of distinct items, rounded: linear counting while registers
    /// are still empty, else the HyperLogLog mean. Powers of two and a libm-free logarithm,
    /// so the figure is the same on every machine.
    pub fn estimate(&self) -> u64 {
        let m = SKETCH_REGISTERS as f64;
        let zeros = self.0.iter().filter(|r| **r == 0).count() as u64;
        let sum: f64 = self.0.iter().map(|r| 1.0 / (1u64 << *r) as f64).sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let e = if raw <= 2.5 * m && zeros > 0 {
            let ln = (crate::present::svg::log2(SKETCH_REGISTERS as u64) - crate::present::svg::log2(zeros))
                * std::f64::consts::LN_2;
            m * ln
        } else {
            raw
        };
        e.round() as u64
    }

    pub fn encode(&self) -> String {
        self.0.iter().map(|r| SKETCH_DIGITS[*r as usize] as char).collect()
    }

    pub fn decode(s: &str) -> Result<Sketch, String> {
        let b = s.as_bytes();
        if b.len() != SKETCH_REGISTERS {
            return Err(format!("{} characters, not {SKETCH_REGISTERS}", b.len()));
        }
        let mut out = Sketch::default();
        for (r, c) in out.0.iter_mut().zip(b) {
            *r = SKETCH_DIGITS.iter().position(|d| d == c).filter(|v| *v <= 57).ok_or("not a sketch digit")? as u8;
        }
        Ok(out)
    }
}

/// Which bit of `Facts::fsync_files` an fsync of `file` sets.
#[inline]
fn file_bit(file: DiskFile) -> u8 {
    match file {
        DiskFile::Log | DiskFile::Snapshot => 1,
        DiskFile::Epochs | DiskFile::Config => 2,
    }
}

/// A server code spread over 64 bits, not linearly (a multiply, then the high half folded
/// in), so that sums of different multisets of codes do not meet.
#[inline]
fn spread(c: u16) -> u64 {
    let x = (u64::from(c) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

/// A cheap, well-spread 64-bit combination (a splitmix64 round over `h ^ v`).
#[inline]
pub fn mix(h: u64, v: u64) -> u64 {
    let mut z = (h ^ v.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zx(e: u64, c: u64) -> Zxid {
        Zxid::new(e, c)
    }

    /// Server ids do not matter: two clusters that differ only in which server is which
    /// reach the same abstract state.
    #[test]
    fn the_state_is_symmetric_in_server_ids() {
        let (mut a, mut b) = (Coverage::new(3), Coverage::new(3));
        a.on_step_end(0, 1, (1, 1), zx(1, 5));
        b.on_step_end(0, 3, (1, 1), zx(1, 5));
        assert_eq!(a.current, b.current);
        assert_eq!(a.states, b.states);
    }

    /// An fsync in flight during sync is another state than none, and a crash there is
    /// another fault state than a crash while serving; it is kept as a moment.
    #[test]
    fn an_fsync_in_flight_while_syncing_is_its_own_state_and_moment() {
        let mut c = Coverage::new(3);
        for s in 1..=3 {
            c.on_step_end(0, s, (1, 1), zx(1, 1));
        }
        c.on_effect(2, &Effect::Observe(Observation::NewLeaderAcked { leader: 1, epoch: 2 }));
        c.on_step_end(1000, 2, (1, 2), zx(1, 1));
        let before = c.states.len();
        c.on_fault(FaultKind::Crash, Some(2));
        c.on_effect(2, &Effect::Fsync { id: 7, file: DiskFile::Log, then_send: Vec::new() });
        c.on_step_end(2000, 2, (1, 2), zx(2, 1));
        assert!(c.states.len() > before);
        assert_eq!(c.moments.iter().map(|m| (m.ms, m.server, m.down)).collect::<Vec<_>>(), vec![(3, 2, 0)]);
        c.on_fault(FaultKind::Crash, Some(2));
        assert_eq!(c.faults.len(), 2, "the same crash with an fsync in flight is another fault state");
        c.on_input(2, &Input::Durable { fsync: 7 });
        c.on_step_end(3000, 2, (1, 2), zx(2, 1));
        c.on_crash(4000, 2, zx(1, 1));
        assert!(c.transitions.len() >= 3);
        let items: std::collections::BTreeSet<u64> = c.items().collect();
        assert_eq!(items.len(), c.states.len() + c.transitions.len() + c.faults.len());
    }

    /// Every NEWLEADER acknowledged with a write in flight is a moment, even in a state the
    /// run reached before, and says who is down.
    #[test]
    fn a_newleader_ack_with_a_write_in_flight_is_a_moment_each_time() {
        let mut c = Coverage::new(3);
        for s in 1..=2 {
            c.on_step_end(0, s, (1, 1), zx(1, 1));
        }
        for t in [1000, 5000] {
            c.on_effect(2, &Effect::Observe(Observation::NewLeaderAcked { leader: 1, epoch: 2 }));
            c.on_effect(2, &Effect::Fsync { id: t, file: DiskFile::Log, then_send: Vec::new() });
            c.on_step_end(t * 1000, 2, (2, 2), zx(1, 1));
            c.on_input(2, &Input::Durable { fsync: t });
            c.on_effect(2, &Effect::Observe(Observation::Synced { leader: 1, epoch: 2, committed_upto: zx(1, 1) }));
            c.on_step_end(t * 1000 + 10, 2, (2, 2), zx(1, 1));
        }
        let got: Vec<_> =
            c.moments.iter().map(|m| (m.ms, m.server, m.newleader, m.down, m.first_down, m.files)).collect();
        assert_eq!(got, vec![(1001, 2, true, 1, 3, 1), (5001, 2, true, 1, 3, 1)]);
    }

    /// Sketches estimate within a few percent, merge as a union, and read back as written.
    #[test]
    fn sketches_estimate_unions_and_round_trip() {
        // HyperLogLog with 256 registers errs by about 6.5% (one standard deviation).
        let a = Sketch::of((0..3000u64).map(|i| mix(i, 7)));
        let b = Sketch::of((2000..6000u64).map(|i| mix(i, 7)));
        let mut u = a.clone();
        u.merge(&b);
        for (s, n) in [(&a, 3000.0), (&u, 6000.0)] {
            let e = s.estimate() as f64;
            assert!((e - n).abs() / n < 0.15, "{e} for {n}");
        }
        assert_eq!(Sketch::of((0..20u64).map(|i| mix(i, 2))).estimate(), 20);
        assert_eq!(Sketch::default().estimate(), 0);
        assert_eq!(Sketch::decode(&u.encode()), Ok(u));
        assert!(Sketch::decode("012").is_err());
        assert!(Sketch::decode(&"_".repeat(SKETCH_REGISTERS)).is_err());
    }
}
