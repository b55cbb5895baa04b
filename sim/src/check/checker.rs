//! The checker: invariants asserted while a run goes on. A violation stops the run and
//! is reported with what, when, which servers, and the last events before it.
//!
//! Safety, after every step, from the ZooKeeper TLA+ specifications and the Zab paper,
//! against one reference: the *committed log*, the sequence of txns known committed (a
//! leader's whole history when a quorum acknowledges NEWLEADER, then each COMMIT).
//! Every check looks only at what the step changed:
//! - **Leadership**: at most one server enters SYNC (sets currentEpoch) as leader of an
//!   epoch;
//! - **LeaderLogCompleteness** (PrimaryIntegrity): an established leader's log extends the
//!   committed log, which is what keeps the committed log monotonic;
//! - **MonotonicCommittedLog**: each COMMIT extends the committed log with the leader's
//!   next logged txn, in zxid order;
//! - **ProcessConsistency**: a follower that acknowledges NEWLEADER holds a prefix of its
//!   leader's log;
//! - **Agreement** (PrefixConsistency): the history a server serves with is a prefix of the
//!   committed log;
//! - **TotalOrder**, **LocalPrimaryOrder**, **GlobalPrimaryOrder**: each txn a serving
//!   server applies is the committed log's next: never one again, never a later txn of the
//!   same leader first, never a newer epoch's first;
//! - **Integrity**: a server applies only committed txns;
//! - **CommittedLogDurability**: no crash or TRUNC takes the committed log off a quorum of
//!   servers' logs (durable logs for crashed servers) once it was on one; the quorum is
//!   one of the configuration in force: the initial ensemble's, then that of the last
//!   reconfig txn in the committed log, whose voters alone count;
//! - **AcknowledgedWriteLost**: a client write is acknowledged only once committed;
//! - **ConfigAgreement**: every server that proposes or activates configuration version
//!   *v* agrees on its membership, with the committed reconfig of version *v* too;
//! - **ConfigActivation**: a server starts serving with the newest configuration its
//!   history commits in force, and activates only an agreed configuration:
//!   a committed reconfig txn's (same version and members), or an epoch-versioned one
//!   (ZOOKEEPER-1783, counter 0) that a leader established with, its NEWLEADER acked by
//!   a quorum. A reconfig a server activates before the checker saw it commit (its leader
//!   activates it just before reporting the commit; a learner synced while it is pending
//!   activates NEWLEADER's newest config at UPTODATE, as ZooKeeper's `syncWithLeader`
//!   does) is held as provisional: it must be in the activating server's log (or already
//!   provisional), and once it can no longer commit that is **UncommittedConfigActivated**;
//! - **SeenZxidCompleteness**: no txn enters the committed log below a zxid an answer
//!   already gave a client.
//!
//! Liveness: once faults stop (every partition healed, every server restarted), within the
//! scenario's bound one leader must be established with every server following it and
//! serving (**ElectionLiveness** when no server is even LEADING, **BroadcastLiveness**
//! otherwise), and a write submitted then must commit (**BroadcastLiveness**). With a
//! migration, its last step must have committed, every server of the final configuration
//! must have activated it and serve, the leader must vote in it, and the servers it
//! removed must have left (**ReconfigLiveness**). Two causes of a server kept out are
//! reported apart, when they explain every server astray, because ZooKeeper itself has
//! them (README, "Findings about ZooKeeper"): an acceptedEpoch above the leader's epoch
//! (**AcceptedEpochAhead**) and a newest configuration seen that can no longer commit
//! (**PendingConfigLiveness**).

use crate::check::invariant::{Invariant, Violation};
use std::collections::BTreeMap;
use zab::contract::{Observation, SyncDiffers};
use zab::durable::Txn;
use zab::quorum::{QuorumVerifier, SidSet};
use zab::sync::{SyncBranch, SyncMode};
use zab::{Epoch, Node, ServerState, Sid, Zxid};

fn violation(invariant: Invariant, t_us: u64, nodes: Vec<Sid>, detail: String) -> Option<Violation> {
    Some(Violation { invariant, t_us, nodes, detail })
}

/// SyncFromHistory: leader `sid` syncs `learner` with its own history, no txn more and
/// none fewer.
fn sync_from_history(
    now: u64,
    sid: Sid,
    learner: Sid,
    mode: &SyncMode,
    branch: &SyncBranch,
    differs: &SyncDiffers,
) -> Option<Violation> {
    let (foreign, missing) = (&differs.foreign, &differs.missing);
    if foreign.is_empty() && missing.is_empty() {
        return None;
    }
    let first = |z: &[Zxid]| z.first().map_or("none".to_string(), |z| z.to_string());
    violation(
        Invariant::SyncFromHistory,
        now,
        vec![sid, learner],
        format!(
            "leader {sid} synced learner {learner} by {mode:?} ({branch:?}) with {} txn(s) its own history does not hold (first {}) and without {} txn(s) it holds (first {})",
            foreign.len(),
            first(foreign),
            missing.len(),
            first(missing)
        ),
    )
}

/// TruncateCompleteness: after a TRUNC, learner `sid`'s files reload to no more than the
/// truncation point.
fn truncate_completeness(now: u64, sid: Sid, leader: Sid, to: Zxid, loaded: Zxid) -> Option<Violation> {
    if loaded <= to {
        return None;
    }
    violation(
        Invariant::TruncateCompleteness,
        now,
        vec![sid, leader],
        format!(
            "learner {sid} truncated to {to} for leader {leader}, but reloading its files gave a database up to {loaded} (a snapshot or log entry past the truncation survived)"
        ),
    )
}

/// A reconfig some servers activated before it entered the committed log (ConfigActivation).
#[derive(Clone, Debug)]
struct Provisional {
    config: QuorumVerifier,
    /// Who activated it, and when.
    by: Vec<(Sid, u64)>,
}

/// The checker's state for one run.
#[derive(Clone, Debug)]
pub struct Checker {
    /// The configuration in force for CommittedLogDurability: the initial ensemble's, then
    /// the config of the last reconfig txn to enter the committed log.
    in_force: QuorumVerifier,
    /// ConfigAgreement: each configuration version proposed or activated, with the first
    /// server that did (a handful per run, so a map lookup per activation is cheap).
    configs_seen: BTreeMap<Zxid, (QuorumVerifier, Sid)>,
    /// ConfigAgreement: configurations known agreed, by version: committed reconfig txns'
    /// (keyed by the txn's zxid) and epoch-versioned ones a leader established with.
    agreed: BTreeMap<Zxid, QuorumVerifier>,
    /// Reconfigs activated before they committed; empty in nearly every step.
    provisional: Vec<Provisional>,
    /// The newest zxid a server's answer gave a client: that client and that server.
    seen: Option<(Zxid, u64, Sid)>,
    /// The leader that entered SYNC in each epoch.
    epoch_leader: BTreeMap<Epoch, Sid>,
    /// The committed log, by zxid.
    committed: Vec<Zxid>,
    /// Per server (index sid-1): how much of the committed log it has applied while
    /// serving; `None` while it is not serving.
    applied: Vec<Option<usize>>,
    /// Per server: the length of the common prefix of its log and the committed log (the
    /// durable log for a crashed server).
    log_match: Vec<usize>,
    /// Was the committed log on a quorum of logs after the last change?
    on_quorum: bool,
    /// When the fault phase ended, once it has.
    faults_stopped_us: Option<u64>,
    /// When the cluster first converged after that.
    converged_us: Option<u64>,
    /// When the write submitted after convergence committed.
    probe_committed_us: Option<u64>,
}

impl Checker {
    /// `initial` is the initial ensemble's configuration, in force until a reconfig
    /// commits; `servers` counts every server of the run, members or not. The committed
    /// log starts empty.
    pub fn new(initial: QuorumVerifier, servers: usize) -> Checker {
        // Holders are counted in a bit set of server ids.
        assert!(servers as u64 <= zab::quorum::MAX_SID, "{servers} servers, more than a configuration can name");
        Checker {
            in_force: initial,
            configs_seen: BTreeMap::new(),
            agreed: BTreeMap::new(),
            provisional: Vec::new(),
            seen: None,
            epoch_leader: BTreeMap::new(),
            committed: Vec::new(),
            applied: vec![None; servers],
            log_match: vec![0; servers],
            on_quorum: true,
            faults_stopped_us: None,
            converged_us: None,
            probe_committed_us: None,
        }
    }

    /// How many servers the run has, members or not.
    pub fn servers(&self) -> usize {
        self.applied.len()
    }

    fn idx(sid: Sid) -> usize {
        sid as usize - 1
    }

    /// Feeds what decides the checker's future verdicts, without times (when faults
    /// stopped, when a configuration was activated): for an explorer's state fingerprint.
    pub fn fingerprint<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        (self.in_force, &self.configs_seen, &self.agreed, self.seen, &self.epoch_leader).hash(h);
        for p in &self.provisional {
            p.config.hash(h);
            p.by.iter().for_each(|(s, _)| s.hash(h));
        }
        (&self.committed, &self.applied, &self.log_match, self.on_quorum).hash(h);
    }

    pub fn committed(&self) -> &[Zxid] {
        &self.committed
    }

    /// The configuration whose quorums CommittedLogDurability counts.
    pub fn config_in_force(&self) -> QuorumVerifier {
        self.in_force
    }

    /// A node reported `obs`; `nodes` is the cluster after the step and `logs` every
    /// server's log (its durable log when it is down).
    pub fn observe(
        &mut self,
        now: u64,
        sid: Sid,
        obs: &Observation,
        nodes: &[Option<Node>],
        logs: &[&[Txn]],
    ) -> Option<Violation> {
        let i = Self::idx(sid);
        match obs {
            Observation::ElectionStarted { .. } => {
                self.applied[i] = None;
                let node = nodes[i].as_ref().expect("an observing node is up");
                last_logged_zxid(now, sid, node)
            }
            Observation::LeaderEpoch { epoch } => self.on_leader_epoch(now, sid, *epoch),
            Observation::LeaderEstablished { epoch, .. } => {
                let log = nodes[i].as_ref().expect("an observing node is up").log();
                self.on_established(now, sid, *epoch, log, logs)
            }
            Observation::Committed { zxid } => {
                let log = nodes[i].as_ref().expect("an observing node is up").log();
                self.on_committed(now, sid, *zxid, log, logs)
            }
            Observation::NewLeaderAcked { leader, epoch } => self.on_newleader_acked(now, sid, *leader, *epoch, nodes),
            Observation::Synced { committed_upto, .. } => {
                let node = nodes[i].as_ref().expect("an observing node is up");
                self.on_synced(now, sid, *committed_upto, node.log(), node.quorum_verifier())
            }
            Observation::Delivered { zxid } => self.on_delivered(now, sid, *zxid),
            // The data tree is the data checker's (`crate::check::data_checker`).
            Observation::Applied { .. } => None,
            Observation::Sync { learner, mode, branch, differs, .. } => {
                sync_from_history(now, sid, *learner, mode, branch, differs)
            }
            Observation::Truncated { leader, to, loaded } => truncate_completeness(now, sid, *leader, *to, *loaded),
            Observation::Decided { .. } | Observation::FollowerConnected { .. } | Observation::Proposed { .. } => None,
            Observation::ReconfigProposed { config } => self.config_seen(now, sid, *config),
            Observation::ConfigActivated { config, .. } => {
                let node = nodes[i].as_ref().expect("an observing node is up");
                self.on_config_activated(now, sid, *config, node, nodes)
            }
        }
    }

    /// Leadership: one server leads an epoch into synchronization (sets its currentEpoch
    /// as leader).
    fn on_leader_epoch(&mut self, now: u64, sid: Sid, epoch: Epoch) -> Option<Violation> {
        match self.epoch_leader.insert(epoch, sid) {
            Some(other) if other != sid => violation(
                Invariant::Leadership,
                now,
                vec![other, sid],
                format!("servers {other} and {sid} both led epoch {epoch} into synchronization"),
            ),
            _ => None,
        }
    }

    /// ConfigAgreement, first half: one membership per configuration version.
    fn config_seen(&mut self, now: u64, sid: Sid, config: QuorumVerifier) -> Option<Violation> {
        let v = config.version();
        match self.configs_seen.get(&v) {
            Some((first, by)) if !first.same_members(&config) => violation(
                Invariant::ConfigAgreement,
                now,
                vec![*by, sid],
                format!("servers {by} and {sid} disagree on configuration {v}: {by} has {first}, {sid} has {config}"),
            ),
            Some(_) => None,
            None => {
                self.configs_seen.insert(v, (config, sid));
                None
            }
        }
    }

    /// ConfigActivation (ConfigAgreement when the membership differs from the agreed one):
    /// a server activates only an agreed configuration, or
    /// one that may still be (see the module's doc).
    fn on_config_activated(
        &mut self,
        now: u64,
        sid: Sid,
        config: QuorumVerifier,
        node: &Node,
        nodes: &[Option<Node>],
    ) -> Option<Violation> {
        if let Some(v) = self.config_seen(now, sid, config) {
            return Some(v);
        }
        let v = config.version();
        if let Some(agreed) = self.agreed.get(&v) {
            if agreed.same_members(&config) {
                return None;
            }
            return violation(
                Invariant::ConfigAgreement,
                now,
                vec![sid],
                format!("server {sid} activated {config}, but the agreed configuration {v} is {agreed}"),
            );
        }
        if v.counter() == 0 {
            return self.on_epoch_config_activated(now, sid, config, node);
        }
        if let Some(p) = self.provisional.iter_mut().find(|p| p.config.version() == v) {
            // Adopted from a server that activated it early (FLE), or activated by another
            // learner at UPTODATE: agreed or lost together with it.
            p.by.push((sid, now));
            return None;
        }
        self.on_uncommitted_reconfig_activated(now, sid, config, node, nodes)
    }

    /// ZOOKEEPER-1783's version (counter 0): only a leader establishing with it (which just
    /// happened, its NEWLEADER acked by a quorum) makes it agreed. A leader activates
    /// nothing else while established. The version may be of an earlier epoch the same
    /// server proposed and failed to establish: NEWLEADER carries the newest configuration
    /// seen, which can be that one.
    fn on_epoch_config_activated(
        &mut self,
        now: u64,
        sid: Sid,
        config: QuorumVerifier,
        node: &Node,
    ) -> Option<Violation> {
        if node.state() == ServerState::Leading && node.is_established() {
            self.agreed.insert(config.version(), config);
            return None;
        }
        violation(
            Invariant::ConfigActivation,
            now,
            vec![sid],
            format!("server {sid} activated {config}, a configuration no established leader had"),
        )
    }

    /// A reconfig activated before the checker saw it commit. A learner activates at
    /// UPTODATE the configuration its leader's NEWLEADER carried, whose txn is in the
    /// leader's log, not always in its own (an observer never gets the proposal): a
    /// proposal some server holds, that can still commit, is held as provisional; anything
    /// else breaks ConfigActivation.
    fn on_uncommitted_reconfig_activated(
        &mut self,
        now: u64,
        sid: Sid,
        config: QuorumVerifier,
        node: &Node,
        nodes: &[Option<Node>],
    ) -> Option<Violation> {
        let v = config.version();
        let in_log = |log: &[Txn]| log.binary_search_by_key(&v, |t| t.zxid).ok().and_then(|k| log[k].op.reconfig());
        let logged = in_log(node.log())
            .map(|l| (l, sid))
            .or_else(|| nodes.iter().flatten().find_map(|n| in_log(n.log()).map(|l| (l, n.id()))));
        if logged.is_some_and(|(l, _)| l.same_members(&config)) && !self.lost(v) {
            self.provisional.push(Provisional { config, by: vec![(sid, now)] });
            return None;
        }
        let lost = self.lost(v);
        violation(
            Invariant::ConfigActivation,
            now,
            vec![sid],
            format!(
                "server {sid} activated {config}, which is not a committed reconfig{}",
                match logged {
                    Some((l, holder)) if lost => format!(
                        " and can no longer commit (server {holder}'s log has reconfig {v} to {l}; the committed log ends at {})",
                        self.committed.last().copied().unwrap_or(Zxid::ZERO)
                    ),
                    Some((l, holder)) => format!(" (server {holder}'s log has reconfig {v} to {l})"),
                    None => format!(" nor one in any server's log (no reconfig txn {v})"),
                }
            ),
        )
    }

    /// Can reconfig `v` no longer enter the committed log? Once the committed log holds a
    /// later zxid, `v` has no place left in it (the committed log is in zxid order).
    fn lost(&self, v: Zxid) -> bool {
        !self.agreed.contains_key(&v) && self.committed.last().is_some_and(|last| *last > v)
    }

    /// Txns entered the committed log: reconfigs among them are agreed and the last is in
    /// force (it runs on every commit, so it only looks at the new txns).
    fn note_committed(&mut self, now: u64, sid: Sid, txns: &[Txn]) -> Option<Violation> {
        let below = match (self.seen, txns.first()) {
            (Some((seen, client, server)), Some(t)) if t.zxid < seen => violation(
                Invariant::SeenZxidCompleteness,
                now,
                vec![sid, server],
                format!(
                    "leader {sid} commits {}, below {seen}, which server {server} already gave client {client}",
                    t.zxid
                ),
            ),
            _ => None,
        };
        for t in txns {
            if let Some(config) = t.op.reconfig() {
                self.agreed.insert(t.zxid, config);
                self.in_force = config;
            }
        }
        below
    }

    /// After the committed log grew: provisional activations that committed are settled,
    /// and one that can no longer commit is a violation.
    fn settle_provisional(&mut self, now: u64) -> Option<Violation> {
        if self.provisional.is_empty() {
            return None;
        }
        let mut found = None;
        let mut k = 0;
        while k < self.provisional.len() {
            let p = &self.provisional[k];
            let v = p.config.version();
            if let Some(agreed) = self.agreed.get(&v) {
                if !agreed.same_members(&p.config) && found.is_none() {
                    found = violation(
                        Invariant::ConfigAgreement,
                        now,
                        p.by.iter().map(|b| b.0).collect(),
                        format!(
                            "servers activated {} before it committed, but the committed reconfig {v} is {agreed}",
                            p.config
                        ),
                    );
                }
                self.provisional.swap_remove(k);
            } else if self.lost(v) {
                if found.is_none() {
                    let by: Vec<String> =
                        p.by.iter().map(|(s, t)| format!("{s} at {}", crate::format::fmt_us(*t))).collect();
                    found = violation(
                        Invariant::UncommittedConfigActivated,
                        now,
                        p.by.iter().map(|b| b.0).collect(),
                        format!(
                            "reconfig {} was activated before it committed ({}), and can no longer commit: the committed log ends at {}",
                            p.config,
                            by.join(", "),
                            self.committed.last().copied().unwrap_or(Zxid::ZERO)
                        ),
                    );
                }
                self.provisional.swap_remove(k);
            } else {
                k += 1;
            }
        }
        found
    }

    fn on_established(&mut self, now: u64, sid: Sid, epoch: Epoch, log: &[Txn], logs: &[&[Txn]]) -> Option<Violation> {
        if let Some(k) = first_mismatch(log, &self.committed) {
            let missing = self.committed[k];
            return violation(
                Invariant::LeaderLogCompleteness,
                now,
                vec![sid],
                format!(
                    "server {sid} established epoch {epoch} without committed txn {missing} (its log: {} txns, last {}; committed: {} txns)",
                    log.len(),
                    log.last().map_or(Zxid::ZERO, |t| t.zxid),
                    self.committed.len()
                ),
            );
        }
        let new = &log[self.committed.len()..];
        let below = self.note_committed(now, sid, new);
        self.committed.extend(new.iter().map(|t| t.zxid));
        self.applied[Self::idx(sid)] = Some(self.committed.len());
        self.committed_grew(logs);
        below.or_else(|| self.settle_provisional(now))
    }

    fn on_committed(&mut self, now: u64, sid: Sid, zxid: Zxid, log: &[Txn], logs: &[&[Txn]]) -> Option<Violation> {
        let k = self.committed.len();
        let pos = log.iter().rposition(|t| t.zxid == zxid);
        let i = Self::idx(sid);
        match pos {
            // A leader of an older epoch may still commit what a newer one already holds
            // (acks were in flight): harmless if it is the same txn at the same place.
            Some(p) if p < k && self.committed[p] == zxid => {
                self.applied[i] = self.applied[i].map(|_| p + 1);
                None
            }
            Some(p) if p == k && self.committed.last().is_none_or(|last| *last < zxid) => {
                let below = self.note_committed(now, sid, &log[p..=p]);
                self.committed.push(zxid);
                self.applied[i] = self.applied[i].map(|a| a + 1);
                self.committed_grew(logs);
                below.or_else(|| self.settle_provisional(now))
            }
            _ => violation(
                Invariant::MonotonicCommittedLog,
                now,
                vec![sid],
                format!(
                    "leader {sid} committed {zxid} at position {} of its log, but the committed log has {} there (committed so far ends at {})",
                    pos.map_or("none".to_string(), |p| p.to_string()),
                    pos.and_then(|p| self.committed.get(p)).map_or("nothing".to_string(), |z| z.to_string()),
                    self.committed.last().copied().unwrap_or(Zxid::ZERO)
                ),
            ),
        }
    }

    fn on_newleader_acked(
        &mut self,
        now: u64,
        sid: Sid,
        leader: Sid,
        epoch: Epoch,
        nodes: &[Option<Node>],
    ) -> Option<Violation> {
        let (Some(f), Some(l)) = (&nodes[Self::idx(sid)], &nodes[Self::idx(leader)]) else { return None };
        if l.state() != ServerState::Leading || l.epoch() != Some(epoch) {
            return None; // That leader is gone; nothing to compare with.
        }
        let (flog, llog) = (f.log(), l.log());
        let diverge = flog.iter().zip(llog).position(|(a, b)| a.zxid != b.zxid);
        if flog.len() > llog.len() || diverge.is_some() {
            let at = diverge.unwrap_or(llog.len());
            return violation(
                Invariant::ProcessConsistency,
                now,
                vec![sid, leader],
                format!(
                    "follower {sid} acknowledged NEWLEADER of epoch {epoch} with a log that is not a prefix of leader {leader}'s: at position {at} it has {} where the leader has {}",
                    flog.get(at).map_or("nothing".to_string(), |t| t.zxid.to_string()),
                    llog.get(at).map_or("nothing".to_string(), |t| t.zxid.to_string())
                ),
            );
        }
        None
    }

    fn on_synced(
        &mut self,
        now: u64,
        sid: Sid,
        committed_upto: Zxid,
        log: &[Txn],
        in_force: QuorumVerifier,
    ) -> Option<Violation> {
        let k = log.partition_point(|t| t.zxid <= committed_upto);
        if k > self.committed.len() {
            return violation(
                Invariant::Integrity,
                now,
                vec![sid],
                format!(
                    "server {sid} serves with {k} txns applied up to {committed_upto}, but only {} are committed",
                    self.committed.len()
                ),
            );
        }
        if let Some(at) = first_mismatch(&log[..k], &self.committed[..k]) {
            return violation(
                Invariant::Agreement,
                now,
                vec![sid],
                format!(
                    "server {sid} serves with {} at position {at} of its history where the committed log has {}",
                    log[at].zxid, self.committed[at]
                ),
            );
        }
        // A server starts serving with the newest configuration its history commits (or
        // a newer one NEWLEADER brought) in force.
        if let Some(t) = log[..k].iter().rev().find(|t| t.op.reconfig().is_some()) {
            if in_force.version() < t.zxid {
                return violation(
                    Invariant::ConfigActivation,
                    now,
                    vec![sid],
                    format!(
                        "server {sid} serves with configuration {in_force} in force, though its history commits reconfig {} to {}",
                        t.zxid,
                        t.op.reconfig().expect("found as a reconfig")
                    ),
                );
            }
        }
        self.applied[Self::idx(sid)] = Some(k);
        None
    }

    /// A txn applied while serving must be the next one of the committed log; which
    /// order it breaks otherwise says how it went wrong.
    fn on_delivered(&mut self, now: u64, sid: Sid, zxid: Zxid) -> Option<Violation> {
        let i = Self::idx(sid);
        let Some(k) = self.applied[i] else {
            return violation(
                Invariant::Integrity,
                now,
                vec![sid],
                format!("server {sid} applied {zxid} while not serving"),
            );
        };
        if self.committed.get(k) == Some(&zxid) {
            self.applied[i] = Some(k + 1);
            return None;
        }
        let expected = self.committed.get(k).map_or("nothing yet".to_string(), |z| z.to_string());
        match self.committed.iter().position(|z| *z == zxid) {
            None => violation(
                Invariant::Integrity,
                now,
                vec![sid],
                format!("server {sid} applied {zxid}, which is not committed"),
            ),
            Some(p) if p < k => violation(
                Invariant::TotalOrder,
                now,
                vec![sid],
                format!("server {sid} applied {zxid} again, after later txns (committed #{p}; it has applied {k})"),
            ),
            Some(_) => {
                let skipped = self.committed[k];
                let (invariant, whose) = if skipped.epoch() == zxid.epoch() {
                    (Invariant::LocalPrimaryOrder, "the same leader")
                } else {
                    (Invariant::GlobalPrimaryOrder, "an earlier epoch")
                };
                violation(
                    invariant,
                    now,
                    vec![sid],
                    format!("server {sid} applied {zxid} before {expected}, a txn of {whose} committed before it"),
                )
            }
        }
    }

    /// Server `sid`'s log changed (a write it issued, or a crash leaving its durable log).
    pub fn log_changed(&mut self, now: u64, sid: Sid, log: &[Txn], shrank: bool) -> Option<Violation> {
        let i = Self::idx(sid);
        let mut m = if shrank { 0 } else { self.log_match[i].min(log.len()) };
        while m < log.len() && m < self.committed.len() && log[m].zxid == self.committed[m] {
            m += 1;
        }
        self.log_match[i] = m;
        self.check_on_quorum(now, shrank)
    }

    /// Server `sid` crashed: it applies nothing, and only its durable log survives.
    pub fn crashed(&mut self, now: u64, sid: Sid, durable_log: &[Txn]) -> Option<Violation> {
        self.applied[Self::idx(sid)] = None;
        self.log_changed(now, sid, durable_log, true)
    }

    /// The committed log grew: extend every server's match, note whether it is on a
    /// quorum (a buggy variant can commit what is not).
    fn committed_grew(&mut self, logs: &[&[Txn]]) {
        for (i, log) in logs.iter().enumerate() {
            let mut m = self.log_match[i];
            while m < log.len() && m < self.committed.len() && log[m].zxid == self.committed[m] {
                m += 1;
            }
            self.log_match[i] = m;
        }
        self.on_quorum = self.in_force.has_quorum(self.holders());
    }

    /// The servers whose logs hold the whole committed log, members or not (checked on
    /// every log write, so it does not allocate: a bit set).
    fn holders(&self) -> SidSet {
        let c = self.committed.len();
        let mut s = SidSet::EMPTY;
        for (i, m) in self.log_match.iter().enumerate() {
            if *m >= c {
                s.insert(i as Sid + 1);
            }
        }
        s
    }

    /// CommittedLogDurability: a crash or a shrink may not take the committed log off a
    /// quorum of the configuration in force it was on. Only its voters count: an observer
    /// or a server outside the configuration holding it does not make it durable.
    fn check_on_quorum(&mut self, now: u64, lost_something: bool) -> Option<Violation> {
        let holders = self.holders();
        let ok = self.in_force.has_quorum(holders);
        let was = std::mem::replace(&mut self.on_quorum, ok);
        if was && !ok && lost_something {
            let voters = holders.intersection(self.in_force.voter_set());
            return violation(
                Invariant::CommittedLogDurability,
                now,
                voters.iter().collect(),
                format!(
                    "the committed log ({} txns, up to {}) is left on {} voter(s) ({}), fewer than a quorum of {} of configuration {}",
                    self.committed.len(),
                    self.committed.last().copied().unwrap_or(Zxid::ZERO),
                    voters.len(),
                    voters,
                    self.in_force.quorum_size(),
                    self.in_force
                ),
            );
        }
        None
    }

    /// A server's answer gave a client `zxid` (`lastZxidSeen`): every txn up to it must
    /// be committed already (SeenZxidCompleteness).
    pub fn client_saw(&mut self, zxid: Zxid, client: u64, server: Sid) {
        if self.seen.is_none_or(|(z, _, _)| zxid > z) {
            self.seen = Some((zxid, client, server));
        }
    }

    /// A client was told its write committed as `zxid`.
    pub fn client_acked(&mut self, now: u64, server: Sid, client: u64, zxid: Zxid) -> Option<Violation> {
        if self.committed.binary_search(&zxid).is_err() {
            return violation(
                Invariant::AcknowledgedWriteLost,
                now,
                vec![server],
                format!(
                    "server {server} acknowledged client {client}'s write as {zxid}, which is not in the committed log"
                ),
            );
        }
        None
    }

    pub fn faults_stopped(&mut self, now_us: u64) {
        self.faults_stopped_us = Some(now_us);
    }

    pub fn converged_us(&self) -> Option<u64> {
        self.converged_us
    }

    /// How long convergence took after faults stopped.
    pub fn recovery_us(&self) -> Option<u64> {
        Some(self.converged_us? - self.faults_stopped_us?)
    }

    /// After a step, once faults stopped: did the cluster converge just now?
    pub fn check_converged(&mut self, now_us: u64, nodes: &[Option<Node>], expected: &Expected) -> bool {
        if self.faults_stopped_us.is_none() || self.converged_us.is_some() {
            return false;
        }
        if blocker(nodes, expected).is_ok() {
            self.converged_us = Some(now_us);
            return true;
        }
        false
    }

    /// How long after faults stopped the progress write committed.
    pub fn progress_us(&self) -> Option<u64> {
        Some(self.probe_committed_us? - self.faults_stopped_us?)
    }

    pub fn probe_committed(&mut self, now_us: u64) {
        self.probe_committed_us.get_or_insert(now_us);
    }

    pub fn is_done(&self) -> bool {
        self.probe_committed_us.is_some()
    }

    /// The liveness bound ran out.
    pub fn on_deadline(&self, now_us: u64, nodes: &[Option<Node>], expected: &Expected) -> Option<Violation> {
        if self.probe_committed_us.is_some() {
            return None;
        }
        let servers = describe(nodes);
        if self.converged_us.is_some() {
            let leaders =
                nodes.iter().flatten().filter(|n| n.state() == ServerState::Leading).map(|n| n.id()).collect();
            return violation(
                Invariant::BroadcastLiveness,
                now_us,
                leaders,
                format!("a write submitted after the cluster converged did not commit; servers: {servers}"),
            );
        }
        let (culprits, why) = converged(nodes, expected).err()?;
        // No server even LEADING: the election never settled. A leader that cannot get its
        // followers synced and serving is Zab's failure. A migration that did not finish,
        // or a configuration not activated where it should be, is the reconfig's.
        let any_leading = nodes.iter().flatten().any(|n| n.state() == ServerState::Leading);
        if let Some(why) = locked_out_by_accepted_epoch(nodes, &culprits) {
            return violation(Invariant::AcceptedEpochAhead, now_us, culprits, format!("{why}; servers: {servers}"));
        }
        if let Some((astray, why)) = self.locked_out_by_pending_config(nodes, expected) {
            return violation(Invariant::PendingConfigLiveness, now_us, astray, format!("{why}; servers: {servers}"));
        }
        let invariant = if why.contains("configuration") || why.contains("migration") {
            Invariant::ReconfigLiveness
        } else if any_leading {
            Invariant::BroadcastLiveness
        } else {
            Invariant::ElectionLiveness
        };
        violation(invariant, now_us, culprits, format!("{why} after faults stopped; servers: {servers}"))
    }
}

impl Checker {
    /// If one established leader serves and every server up and astray (not following it
    /// and serving) holds as its newest configuration seen a reconfig that can no longer
    /// commit, which servers and why.
    fn locked_out_by_pending_config(&self, nodes: &[Option<Node>], expected: &Expected) -> Option<(Vec<Sid>, String)> {
        let (leader, epoch) = sole_established_leader(nodes)?;
        let mut astray = Vec::new();
        let mut pending = Vec::new();
        for n in nodes.iter().flatten() {
            if expected.retired.contains(n.id()) || (n.leader() == Some(leader.id()) && n.is_established()) {
                continue;
            }
            let seen = n.last_seen_quorum_verifier();
            let v = seen.version();
            let dead = v > n.quorum_verifier().version()
                && (self.lost(v) || (v.epoch() < epoch && leader.log().binary_search_by_key(&v, |t| t.zxid).is_err()));
            if !dead {
                return None;
            }
            astray.push(n.id());
            pending.push(format!("{} holds {seen}", n.id()));
        }
        (!astray.is_empty()).then(|| {
            let why = format!(
                "leader {} serves epoch {epoch}, and servers whose newest configuration seen is a reconfig that can no longer commit cannot follow it ({})",
                leader.id(),
                pending.join(", ")
            );
            (astray, why)
        })
    }
}

/// What convergence means for a run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// Servers a reconfig removed and the operator stopped: they must stay down.
    pub retired: SidSet,
    /// With a migration: `None` until its last step committed, then the configuration it
    /// made, which every server up must have activated.
    pub migration: Option<Option<QuorumVerifier>>,
    /// Servers outside the final configuration may stay up, as non-voting followers
    /// (the operator does not stop removed servers).
    pub outsiders_stay: bool,
}

/// The first position where `log` does not extend `prefix` (or `None` if it does).
fn first_mismatch(log: &[Txn], prefix: &[Zxid]) -> Option<usize> {
    if let Some(k) = prefix.iter().zip(log).position(|(z, t)| *z != t.zxid) {
        return Some(k);
    }
    (log.len() < prefix.len()).then_some(log.len())
}

/// Is there one established leader that every server follows (every server not stopped
/// for good, all in the migration's final configuration)? If not, which servers stand in
/// the way and why.
pub fn converged(nodes: &[Option<Node>], expected: &Expected) -> Result<Sid, (Vec<Sid>, String)> {
    blocker(nodes, expected).map_err(|b| b.explain(nodes, expected))
}

/// What stops convergence, found without allocating: the check runs after every event
/// until the cluster converges, the explanation only when a deadline needs it.
enum Blocker {
    RemovedUp(Sid),
    Down,
    MigrationUnfinished,
    Stale(QuorumVerifier),
    Outsiders(QuorumVerifier),
    LeaderNotVoter(Sid, QuorumVerifier),
    NoLeader,
    ManyLeaders,
    Astray(Sid),
}

fn blocker(nodes: &[Option<Node>], expected: &Expected) -> Result<Sid, Blocker> {
    let mut down = false;
    let (mut leaders, mut leader) = (0, 0);
    for (i, n) in nodes.iter().enumerate() {
        let sid = i as Sid + 1;
        match n {
            None if expected.retired.contains(sid) => {}
            None => down = true,
            Some(_) if expected.retired.contains(sid) => return Err(Blocker::RemovedUp(sid)),
            Some(n) if n.state() == ServerState::Leading => {
                leaders += 1;
                if leaders == 1 {
                    leader = n.id();
                }
            }
            Some(_) => {}
        }
    }
    if down {
        return Err(Blocker::Down);
    }
    let up = || nodes.iter().flatten();
    match expected.migration {
        None => {}
        Some(None) => return Err(Blocker::MigrationUnfinished),
        Some(Some(c)) => {
            if up().any(|n| n.quorum_verifier().version() != c.version() || !n.quorum_verifier().same_members(&c)) {
                return Err(Blocker::Stale(c));
            }
            if !expected.outsiders_stay && up().any(|n| !c.members().contains(n.id())) {
                return Err(Blocker::Outsiders(c));
            }
            if let Some(l) = up().filter(|n| n.state() == ServerState::Leading).find(|n| !c.is_voter(n.id())) {
                return Err(Blocker::LeaderNotVoter(l.id(), c));
            }
        }
    }
    match leaders {
        0 => return Err(Blocker::NoLeader),
        1 => {}
        _ => return Err(Blocker::ManyLeaders),
    }
    if up().any(|n| n.leader() != Some(leader) || !n.is_established()) {
        return Err(Blocker::Astray(leader));
    }
    Ok(leader)
}

impl Blocker {
    /// The servers in the way, and why.
    fn explain(self, nodes: &[Option<Node>], expected: &Expected) -> (Vec<Sid>, String) {
        let up = || nodes.iter().flatten();
        let ids = |f: &dyn Fn(&Node) -> bool| up().filter(|n| f(n)).map(|n| n.id()).collect::<Vec<Sid>>();
        match self {
            Blocker::RemovedUp(sid) => (vec![sid], "a removed server is up".into()),
            Blocker::Down => {
                let sids = (1..).zip(nodes);
                let down = sids.filter(|(sid, n)| n.is_none() && !expected.retired.contains(*sid)).map(|(sid, _)| sid);
                (down.collect(), "servers are down".into())
            }
            Blocker::MigrationUnfinished => (ids(&|_| true), "the migration has not finished".into()),
            Blocker::Stale(c) => (
                ids(&|n| n.quorum_verifier().version() != c.version() || !n.quorum_verifier().same_members(&c)),
                format!("not every server has activated the final configuration {c}"),
            ),
            Blocker::Outsiders(c) => {
                (ids(&|n| !c.members().contains(n.id())), format!("servers outside the final configuration {c} are up"))
            }
            Blocker::LeaderNotVoter(l, c) => {
                (vec![l], format!("the leader does not vote in the final configuration {c}"))
            }
            Blocker::NoLeader => (ids(&|_| true), "no server is LEADING".into()),
            Blocker::ManyLeaders => {
                (ids(&|n| n.state() == ServerState::Leading), "more than one server is LEADING".into())
            }
            Blocker::Astray(l) => (
                ids(&|n| n.leader() != Some(l) || !n.is_established()),
                format!("not every server follows and serves with leader {l}"),
            ),
        }
    }
}

/// The only server LEADING, if it is established, with its epoch.
fn sole_established_leader(nodes: &[Option<Node>]) -> Option<(&Node, Epoch)> {
    let mut leaders = nodes.iter().flatten().filter(|n| n.state() == ServerState::Leading);
    let leader = leaders.next()?;
    if leaders.next().is_some() || !leader.is_established() {
        return None;
    }
    Some((leader, leader.epoch()?))
}

/// If one established leader serves and every server astray (`culprits`) is up and has
/// accepted an epoch above that leader's, why: `registerWithLeader` refuses its LEADERINFO.
fn locked_out_by_accepted_epoch(nodes: &[Option<Node>], culprits: &[Sid]) -> Option<String> {
    let (leader, epoch) = sole_established_leader(nodes)?;
    let mut ahead = Vec::new();
    for sid in culprits {
        let n = nodes.get((*sid - 1) as usize)?.as_ref()?;
        let accepted = n.disk_view().accepted_epoch;
        if n.id() == leader.id() || accepted <= epoch {
            return None;
        }
        ahead.push(format!("{sid} accepted epoch {accepted}"));
    }
    (!ahead.is_empty()).then(|| {
        format!(
            "leader {} serves epoch {epoch}, and servers that accepted a newer epoch cannot join it ({}: \
             \"Leaders epoch, {epoch} is less than accepted epoch\")",
            leader.id(),
            ahead.join(", ")
        )
    })
}

/// One word per server: `1:FOLLOWING(5)`, `2:LOOKING(r7)`, `3:down`.
pub fn describe(nodes: &[Option<Node>]) -> String {
    let parts: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| match n {
            None => format!("{}:down", i + 1),
            Some(n) => match n.state() {
                ServerState::Looking => format!("{}:LOOKING(r{})", n.id(), n.round()),
                s => format!(
                    "{}:{}({}{})",
                    n.id(),
                    s,
                    n.leader().unwrap_or(0),
                    if n.is_established() { "" } else { ", not established" }
                ),
            },
        })
        .collect();
    parts.join(" ")
}

/// LastLoggedZxid: a server back in LOOKING votes with a zxid its files hold.
fn last_logged_zxid(now: u64, sid: Sid, node: &Node) -> Option<Violation> {
    let memory = node.last_processed();
    let logged = node.log().last().map_or(Zxid::ZERO, |t| t.zxid);
    if memory <= logged || memory.counter() == 0 {
        return None;
    }
    violation(
        Invariant::LastLoggedZxid,
        now,
        vec![sid],
        format!(
            "server {sid} went back to LOOKING with {memory} in memory, which it votes and syncs with, but its snapshot and log end at {logged}"
        ),
    )
}
