//! The leader's side of Zab (`Leader`, `LearnerHandler`), event-driven:
//!
//! - discovery: gather FOLLOWERINFO from a quorum (itself included), propose
//!   `max(acceptedEpoch) + 1`, persist it as acceptedEpoch, send LEADERINFO; gather a quorum
//!   of ACKEPOCH, refusing a learner ahead of it; persist currentEpoch;
//! - synchronization: per learner DIFF / TRUNC / SNAP ([`crate::sync`]), then NEWLEADER;
//!   a quorum of NEWLEADER ACKs establishes the leader, which sends UPTODATE;
//! - broadcast: PROPOSAL, ACK after fsync (its own too), COMMIT in zxid order on a quorum;
//! - every half tick: count ticks, step down when synced learners fall below a quorum,
//!   ping every learner;
//! - reconfiguration: a reconfig request is checked (one at a time, a quorum of the new
//!   configuration synced) and proposed; from then until it commits, every proposal needs
//!   a quorum of the old and of the new configuration. Its commit activates the new one
//!   (COMMITANDACTIVATE, INFORMANDACTIVATE to observers) and names the leader in it: this
//!   one if it is a voter there, otherwise the new voter that acknowledged most; a leader
//!   that is not designated stops committing.
//!
//! Each wait of discovery and synchronization is bounded by `initLimit` ticks. Where the
//! leader is, is one value, its phase, named after the stages of `Leader.lead()`.

use crate::api::{ErrorCode, ReconfigRequest, Request, Response, SessionId, TreeTxn, Xid};
use crate::contract::{Effect, LookingReason, NodeConfig, Observation, Outbox, SyncDiffers, Timer};
use crate::durable::{DiskFile, DiskWrite, Op, ReconfigTxn, Txn};
use crate::message::Message;
use crate::quorum::{QuorumVerifier, Quorums, SidSet};
use crate::reconfig;
use crate::server::Core;
use crate::session::SessionTracker;
use crate::sync::{self, SyncOp};
use crate::tree::DataTree;
use crate::types::{Epoch, Round, Sid, Zxid};
use crate::variant::Variant;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Where a `LearnerHandler` is with its learner.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Stage {
    /// FOLLOWERINFO received; LEADERINFO not sent yet.
    Connected,
    EpochSent,
    /// ACKEPOCH received, with the learner's last zxid; sync not started yet.
    EpochAcked {
        last_zxid: Zxid,
    },
    NewLeaderSent,
    /// The first ACK after NEWLEADER arrived (counted or not); UPTODATE follows once the
    /// leader is established.
    NewLeaderAcked,
    UpToDate,
}

#[derive(Clone, Debug, Hash)]
struct LearnerHandler {
    stage: Stage,
    /// `tickOfNextAckDeadline`: the learner is synced while `tick <= deadline`.
    tick_of_next_ack_deadline: u64,
    /// Gets new PROPOSALs and COMMITs, or INFORMs (`forwardingFollowers`,
    /// `observingLearners`).
    forwarding: bool,
    /// An observer (OBSERVERINFO): gets INFORMs, not proposals; its acks never count.
    observer: bool,
}

/// A proposal not committed yet (`Proposal`): who acknowledged it, and the configurations
/// whose quorums it needs (`qvAcksetPairs`: the one in force, and the pending one).
#[derive(Clone, Debug, Hash)]
struct Pending {
    acks: SidSet,
    quorums: Quorums,
    txn: Txn,
}

/// Where the leader is in `Leader.lead()`: each of its waits is a phase, in order, and the
/// leader only moves forward (a failed wait sends the server back to LOOKING instead).
/// Zab's discovery is the first four, synchronization the fifth (`ZabState.SYNCHRONIZATION`),
/// broadcast the last (`ZabState.BROADCAST`).
#[derive(Clone, Debug, Hash)]
enum Phase {
    /// `getEpochToPropose`: FOLLOWERINFOs (and the leader's own acceptedEpoch) are
    /// gathered (`connectingFollowers`) until a quorum of the configuration in force,
    /// this leader included, has connected.
    GettingEpoch { connecting: BTreeMap<Sid, Epoch> },
    /// `getEpochToPropose`'s `setAcceptedEpoch(epoch)`: `epoch` is chosen, and LEADERINFO
    /// waits until the fsync `fsync` makes it durable (`LearnerHandler` sends LEADERINFO
    /// only once `getEpochToPropose` returned).
    PersistingAcceptedEpoch { epoch: Epoch, fsync: u64 },
    /// `waitForEpochAck`: LEADERINFO went out; ACKEPOCHs from learners not ahead of the
    /// leader are gathered (`electingFollowers`, this leader included) until a quorum.
    WaitingForEpochAck { epoch: Epoch, electing: BTreeSet<Sid> },
    /// `lead()`'s `setCurrentEpoch(epoch)` after `waitForEpochAck`: synchronization starts
    /// once the fsync `fsync` makes it durable.
    PersistingCurrentEpoch { epoch: Epoch, fsync: u64 },
    /// `waitForNewLeaderAck`: each learner that acked the epoch is synced and sent NEWLEADER;
    /// their ACKs of it are gathered (`newLeaderProposal`, this leader included) until a
    /// quorum of every configuration it needs.
    WaitingForNewLeaderAck { epoch: Epoch, newleader_acks: BTreeSet<Sid> },
    /// `startZkServer` ran; `lead()`'s main loop: the leader serves, proposes and commits.
    /// `prep` is the tree with every proposed txn applied, committed or not: requests are
    /// validated against it (`PrepRequestProcessor` with its `outstandingChanges`).
    Broadcast { epoch: Epoch, prep: Box<DataTree> },
}

#[derive(Clone, Debug, Hash)]
pub struct Leader {
    round: Round,
    /// `leaderStateSummary`: (currentEpoch, last zxid) when it started leading.
    summary: (Epoch, Zxid),
    learners: BTreeMap<Sid, LearnerHandler>,
    phase: Phase,
    last_proposed: Zxid,
    last_committed: Zxid,
    /// Proposals not committed yet.
    outstanding: BTreeMap<Zxid, Pending>,
    /// `allowedToCommit`: false once a committed reconfig designated another leader.
    allowed_to_commit: bool,
    /// The leader's own log fsyncs, by the zxid each makes durable.
    self_ack_fsyncs: BTreeMap<u64, Zxid>,
    tick: u64,
    tick_skip: bool,
    /// Session expiry; only the leader expires sessions.
    sessions: SessionTracker,
    /// Syncs waiting for the commit of the last txn outstanding when they arrived: the
    /// learner that forwarded each (`None`: one of our own clients), its session and xid.
    syncs: BTreeMap<Zxid, Vec<(Option<Sid>, SessionId, Xid)>>,
    /// `toBeApplied`: txns committed (COMMIT sent) that the `CommitProcessor` has not
    /// applied yet, oldest first; empty unless `commit_processor_us` gives it a latency.
    to_be_applied: VecDeque<Txn>,
}

impl Leader {
    pub fn start(core: &mut Core, round: Round, out: &mut Outbox) -> Leader {
        let me = core.id();
        // `Leader.lead` -> `ZooKeeperServer.loadData`: the database is loaded already (or
        // again, if it was cleared), and a clean snapshot is taken (not synced).
        if !core.db().is_initialized() {
            core.reload();
        }
        core.take_snapshot(false, out);
        let mut leader = Leader {
            round,
            summary: (core.disk().current_epoch, core.last_processed()),
            learners: BTreeMap::new(),
            phase: Phase::GettingEpoch { connecting: BTreeMap::from([(me, core.disk().accepted_epoch)]) },
            last_proposed: core.last_processed(),
            last_committed: core.last_processed(),
            outstanding: BTreeMap::new(),
            allowed_to_commit: true,
            self_ack_fsyncs: BTreeMap::new(),
            tick: 0,
            tick_skip: true,
            sessions: SessionTracker::default(),
            syncs: BTreeMap::new(),
            to_be_applied: VecDeque::new(),
        };
        out.set_timer(Timer::LeaderInit, core.cfg.timing.init_timeout_us());
        leader.try_propose_epoch(core, out);
        leader
    }

    /// Moves the zxid counter, so that a test can reach the rollover without proposing
    /// four billion txns: as if everything up to `zxid` were proposed and committed.
    #[cfg(test)]
    pub(crate) fn set_last_proposed(&mut self, zxid: Zxid) {
        assert!(self.outstanding.is_empty(), "the counter moves with nothing outstanding");
        self.last_proposed = zxid;
        self.last_committed = zxid;
    }

    /// The learners with a live handler.
    pub fn learners(&self) -> impl Iterator<Item = Sid> + '_ {
        self.learners.keys().copied()
    }

    /// In broadcast: a quorum acknowledged NEWLEADER and `startZkServer` ran.
    pub fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Broadcast { .. })
    }

    /// The epoch proposed, once a quorum connected.
    pub fn epoch(&self) -> Option<Epoch> {
        match self.phase {
            Phase::GettingEpoch { .. } => None,
            Phase::PersistingAcceptedEpoch { epoch, .. }
            | Phase::WaitingForEpochAck { epoch, .. }
            | Phase::PersistingCurrentEpoch { epoch, .. }
            | Phase::WaitingForNewLeaderAck { epoch, .. }
            | Phase::Broadcast { epoch, .. } => Some(epoch),
        }
    }

    /// The tree requests are prepared against; only a leader in broadcast has one.
    fn prep(&self) -> &DataTree {
        match &self.phase {
            Phase::Broadcast { prep, .. } => prep,
            _ => panic!("requests are prepared once the leader is established"),
        }
    }

    /// `getEpochToPropose`: once a quorum (itself included) of the configuration in force
    /// has connected, the epoch is one past every acceptedEpoch heard, and it is persisted.
    fn try_propose_epoch(&mut self, core: &mut Core, out: &mut Outbox) {
        let Phase::GettingEpoch { connecting } = &self.phase else { return };
        if !core.quorums().current.contains_quorum(connecting.keys().copied()) {
            return;
        }
        let e = connecting.values().max().copied().expect("self is connecting") + 1;
        self.last_proposed = Zxid::new(e, 0);
        core.write(DiskWrite::AcceptedEpoch(e), out);
        let fsync = core.fsync(DiskFile::Epochs, Vec::new(), out);
        self.phase = Phase::PersistingAcceptedEpoch { epoch: e, fsync };
        let q = *core.quorums();
        if q.current.version() == Zxid::ZERO && q.next.is_none() {
            // ZOOKEEPER-1783: the static configuration gets the NEWLEADER zxid as its
            // version, agreed through NEWLEADER like a pending reconfig, so that it beats
            // any joiner's partial version-0 configuration.
            core.see_config(q.current.with_version(self.last_proposed), out);
        }
    }

    /// Returns a reason when the leader must go back to LOOKING.
    pub fn on_message(&mut self, core: &mut Core, from: Sid, msg: Message, out: &mut Outbox) -> Option<LookingReason> {
        if let Message::FollowerInfo { accepted_epoch, observer, config_version } = msg {
            if config_version > core.quorums().current.version() {
                // `LearnerHandler.run`: "Follower is ahead of the leader (has a later
                // activated configuration)": this handler gives up before the learner
                // counts for the epoch (same in 3.8.0, 3.9.3 and 3.9.4).
                self.learners.remove(&from);
                out.effects.push(Effect::CloseConnection { peer: from });
                return None;
            }
            return self.on_follower_info(core, from, accepted_epoch, observer, out);
        }
        let tick = self.tick;
        let Some(h) = self.learners.get_mut(&from) else {
            return None; // Not one of our learners (a stale connection): ignored.
        };
        // Every packet from the learner moves its deadline (`LearnerHandler.run`).
        h.tick_of_next_ack_deadline = tick + core.cfg.timing.sync_limit;
        match msg {
            Message::AckEpoch { current_epoch, last_zxid } => {
                self.on_ack_epoch(core, from, current_epoch, last_zxid, out)
            }
            Message::Ack { zxid } => self.on_ack(core, from, zxid, out),
            Message::Request { client, seq } => self.on_request(core, client, seq, out),
            Message::CreateSession { client, timeout_ms } if self.is_established() => {
                self.propose(core, Op::CreateSession { client, timeout_ms }, out)
            }
            Message::ClientOp { session, xid, request } if self.is_established() => {
                self.touch(core, session);
                self.on_session_op(core, Some(from), session, xid, *request, out)
            }
            Message::Revalidate { client, session } if self.is_established() => {
                let valid = self.touch(core, session);
                out.send(from, Message::Revalidated { client, session, valid });
                None
            }
            Message::SessionPing { touched } => {
                for (session, _) in touched {
                    self.touch(core, session);
                }
                None
            }
            // PING only moves the deadline. Anything else is not a learner's to send.
            _ => None,
        }
    }

    fn on_follower_info(
        &mut self,
        core: &mut Core,
        from: Sid,
        accepted_epoch: Epoch,
        observer: bool,
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        // A new connection from this learner replaces any earlier one. Its first deadline
        // leaves time to sync (`LearnerHandler.run`: initLimit + syncLimit ticks).
        let deadline = self.tick + core.cfg.timing.init_limit + core.cfg.timing.sync_limit;
        let mut h = LearnerHandler {
            stage: Stage::Connected,
            tick_of_next_ack_deadline: deadline,
            forwarding: false,
            observer,
        };
        match &mut self.phase {
            Phase::GettingEpoch { connecting } => {
                connecting.insert(from, accepted_epoch);
                self.learners.insert(from, h);
                self.try_propose_epoch(core, out);
            }
            // LEADERINFO once the epoch is durable.
            Phase::PersistingAcceptedEpoch { .. } => {
                self.learners.insert(from, h);
            }
            Phase::WaitingForEpochAck { epoch, .. }
            | Phase::PersistingCurrentEpoch { epoch, .. }
            | Phase::WaitingForNewLeaderAck { epoch, .. }
            | Phase::Broadcast { epoch, .. } => {
                out.send(from, Message::LeaderInfo { epoch: *epoch });
                h.stage = Stage::EpochSent;
                self.learners.insert(from, h);
            }
        }
        None
    }

    /// `waitForEpochAck`.
    fn on_ack_epoch(
        &mut self,
        core: &mut Core,
        from: Sid,
        current_epoch: Option<Epoch>,
        last_zxid: Zxid,
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        let h = self.learners.get_mut(&from).expect("checked by the caller");
        if h.stage != Stage::EpochSent {
            return None;
        }
        h.stage = Stage::EpochAcked { last_zxid };
        match &mut self.phase {
            Phase::GettingEpoch { .. } | Phase::PersistingAcceptedEpoch { .. } => {
                unreachable!("server {}: ACKEPOCH from {from} before LEADERINFO went out", core.id())
            }
            Phase::WaitingForEpochAck { electing, .. } => {
                if let Some(ce) = current_epoch {
                    if (ce, last_zxid) > self.summary {
                        // "Follower is ahead of the leader": this handler gives up.
                        self.learners.remove(&from);
                        out.effects.push(Effect::CloseConnection { peer: from });
                        return None;
                    }
                    // Non-voters are recorded too; quorums count voters only.
                    electing.insert(from);
                }
                self.try_finish_epoch(core, out);
            }
            // Synced once currentEpoch is durable, with the others.
            Phase::PersistingCurrentEpoch { .. } => {}
            // Past the wait (`electionFinished`), `waitForEpochAck` returns at once: the sync
            // follows.
            Phase::WaitingForNewLeaderAck { .. } | Phase::Broadcast { .. } => self.sync_learner(core, from, out),
        }
        None
    }

    /// `waitForEpochAck` returns when a quorum (this leader included) acknowledged the
    /// epoch; `lead()` then persists currentEpoch (`setCurrentEpoch`), and synchronizes.
    fn try_finish_epoch(&mut self, core: &mut Core, out: &mut Outbox) {
        let Phase::WaitingForEpochAck { epoch, electing } = &self.phase else { return };
        if !core.quorums().current.contains_quorum(electing.iter().copied()) {
            return;
        }
        let epoch = *epoch;
        out.observe(Observation::LeaderEpoch { epoch });
        core.write(DiskWrite::CurrentEpoch(epoch), out);
        let fsync = core.fsync(DiskFile::Epochs, Vec::new(), out);
        self.phase = Phase::PersistingCurrentEpoch { epoch, fsync };
    }

    pub fn on_durable(&mut self, core: &mut Core, fsync: u64, out: &mut Outbox) -> Option<LookingReason> {
        match self.phase {
            Phase::PersistingAcceptedEpoch { epoch, fsync: id } if id == fsync => {
                self.wait_for_epoch_ack(core, epoch, out)
            }
            Phase::PersistingCurrentEpoch { epoch, fsync: id } if id == fsync => {
                self.wait_for_new_leader_ack(core, epoch, out)
            }
            _ => {
                if let Some(zxid) = self.self_ack_fsyncs.remove(&fsync) {
                    // Our own log holds the proposal: the leader acknowledges it too.
                    if let Some(p) = self.outstanding.get_mut(&zxid) {
                        p.acks.insert(core.id());
                    }
                    self.try_commit(core, out);
                }
            }
        }
        None
    }

    /// acceptedEpoch is on disk (`getEpochToPropose` returns): LEADERINFO goes out to every
    /// learner connected so far, and `waitForEpochAck` begins, this leader's ack first.
    fn wait_for_epoch_ack(&mut self, core: &mut Core, epoch: Epoch, out: &mut Outbox) {
        self.phase = Phase::WaitingForEpochAck { epoch, electing: BTreeSet::from([core.id()]) };
        for (sid, h) in self.learners.iter_mut() {
            if h.stage == Stage::Connected {
                out.send(*sid, Message::LeaderInfo { epoch });
                h.stage = Stage::EpochSent;
            }
        }
        out.set_timer(Timer::LeaderInit, core.cfg.timing.init_timeout_us());
        self.try_finish_epoch(core, out);
    }

    /// currentEpoch is on disk: synchronization (`ZabState.SYNCHRONIZATION`). Every learner
    /// that acked the epoch is synced and sent NEWLEADER, and `waitForNewLeaderAck` begins,
    /// this leader's ack first.
    fn wait_for_new_leader_ack(&mut self, core: &mut Core, epoch: Epoch, out: &mut Outbox) {
        self.phase = Phase::WaitingForNewLeaderAck { epoch, newleader_acks: BTreeSet::from([core.id()]) };
        let ready: Vec<Sid> = self
            .learners
            .iter()
            .filter(|(_, h)| matches!(h.stage, Stage::EpochAcked { .. }))
            .map(|(s, _)| *s)
            .collect();
        for sid in ready {
            self.sync_learner(core, sid, out);
        }
        out.set_timer(Timer::LeaderInit, core.cfg.timing.init_timeout_us());
        self.try_establish(core, out);
    }

    /// `syncFollower` and the NEWLEADER that follows the payload.
    fn sync_learner(&mut self, core: &mut Core, sid: Sid, out: &mut Outbox) {
        let epoch = self.epoch().expect("learners are synced after the epoch is proposed");
        let established = self.is_established();
        let h = self.learners.get_mut(&sid).expect("syncing a known learner");
        let Stage::EpochAcked { last_zxid } = h.stage else { panic!("sync before ACKEPOCH") };
        if core.cfg.variant.is_correct() {
            // `lead()` persists currentEpoch before `waitForNewLeaderAck`: no learner is synced
            // to a history the leader has not claimed on disk.
            assert_eq!(core.disk().current_epoch, epoch, "server {}: syncs {sid} before its currentEpoch", core.id());
        }
        let db = core.db();
        let (min_committed, max_committed) = db.committed_bounds();
        let source = sync::SyncSource {
            committed_log: db.committed_log(),
            min_committed,
            max_committed,
            last_processed: db.last_processed(),
            log: &core.disk().log,
            newest_snapshot_bytes: core.disk().newest_snapshot_bytes(),
            snapshot_size_factor_pct: core.cfg.storage.snapshot_size_factor_pct,
        };
        let plan = sync::sync_follower(core.cfg.variant, source, last_zxid);
        // How the payload differs from our own history between the learner's zxid and where
        // the sync leaves it: stale log entries it holds, txns it skips (ZOOKEEPER-2846: a
        // DIFF read from the txn log; ZOOKEEPER-4925: holes in committedLog).
        let (foreign, missing) = match plan.op {
            SyncOp::Snap => (Vec::new(), Vec::new()),
            _ => sync::compare_with_history(db.history(), &plan, last_zxid),
        };
        out.observe(Observation::Sync {
            learner: sid,
            mode: plan.op.mode(),
            branch: plan.branch,
            txns: plan.txns.len() as u64,
            differs: Box::new(SyncDiffers { foreign, missing }),
        });
        match plan.op {
            SyncOp::Diff { zxid } => out.send(sid, Message::Diff { zxid }),
            SyncOp::Trunc { zxid } => out.send(sid, Message::Trunc { zxid }),
            SyncOp::Snap => {
                // The tree as it is now, labelled with its `lastProcessedZxid`.
                let zxid = db.last_processed();
                out.send(sid, Message::Snap { zxid, txns: db.history().to_vec() })
            }
        }
        for t in &plan.txns {
            out.send(sid, Message::Proposal { txn: t.clone() });
            out.send(sid, Message::Commit { zxid: t.zxid });
        }
        // `startForwarding`: txns committed but not applied yet past what the sync queued,
        // each with its COMMIT (to an observer too), then the proposals still in flight, then
        // everything new (an observer gets them as INFORMs once committed).
        if self.last_proposed > plan.last_queued {
            for t in self.to_be_applied.iter().filter(|t| t.zxid > plan.last_queued) {
                out.send(sid, Message::Proposal { txn: t.clone() });
                out.send(sid, Message::Commit { zxid: t.zxid });
            }
            if !h.observer {
                for (zxid, p) in self.outstanding.range(Zxid(plan.last_queued.0 + 1)..) {
                    debug_assert_eq!(*zxid, p.txn.zxid);
                    out.send(sid, Message::Proposal { txn: p.txn.clone() });
                }
            }
        }
        h.forwarding = true;
        let zxid = Zxid::new(epoch, 0);
        // ZooKeeper sends its newest configuration, even one only proposed, which the learner
        // activates at UPTODATE (the candidate fix keeps an established leader's to the one
        // in force: a new leader's pending one commits with its NEWLEADER anyway).
        let config = match core.cfg.variant {
            Variant::NewLeaderCommittedConfig if established => core.quorums().current,
            _ => core.quorums().last_seen(),
        };
        out.send(sid, Message::NewLeader { zxid, config });
        h.stage = Stage::NewLeaderSent;
    }

    fn on_ack(&mut self, core: &mut Core, from: Sid, zxid: Zxid, out: &mut Outbox) -> Option<LookingReason> {
        let h = self.learners.get_mut(&from).expect("checked by the caller");
        if h.stage == Stage::NewLeaderSent {
            // The first packet after NEWLEADER must be its ACK (`waitForNewLeaderAck`). An
            // ACK of another zxid is logged and not counted, and the handler moves on.
            h.stage = Stage::NewLeaderAcked;
            match &mut self.phase {
                Phase::WaitingForNewLeaderAck { epoch, newleader_acks } => {
                    if zxid == Zxid::new(*epoch, 0) {
                        newleader_acks.insert(from);
                    }
                    self.try_establish(core, out);
                }
                // Past the wait (`quorumFormed`), `waitForNewLeaderAck` returns at once: the
                // learner gets UPTODATE.
                Phase::Broadcast { .. } => {
                    out.send(from, Message::UpToDate);
                    h.stage = Stage::UpToDate;
                }
                _ => unreachable!("server {}: NEWLEADER went to {from} before synchronization", core.id()),
            }
            return None;
        }
        if let Some(p) = self.outstanding.get_mut(&zxid) {
            p.acks.insert(from);
            self.try_commit(core, out);
        }
        None
    }

    /// `waitForNewLeaderAck` returns: a quorum holds our history. `startZkServer`, then
    /// serve (`ZabState.BROADCAST`).
    fn try_establish(&mut self, core: &mut Core, out: &mut Outbox) {
        let Phase::WaitingForNewLeaderAck { epoch, newleader_acks } = &self.phase else { return };
        let acks: SidSet = newleader_acks.iter().copied().collect();
        if !core.quorums().has_all_quorums(acks) {
            return;
        }
        let epoch = *epoch;
        let quorum: Vec<Sid> = newleader_acks.iter().copied().collect();
        // The whole log is committed now, a pending reconfig included: activate the
        // newest configuration, and stop committing if another server is to lead it.
        let new = core.quorums().last_seen();
        let designated = self.designated_leader(core, new, acks, self.last_proposed);
        core.process_reconfig(new, Some((designated, self.last_proposed)), core.id(), false, out);
        if designated != core.id() {
            self.allowed_to_commit = false;
        }
        // `startZkServer`: the tree's last processed zxid becomes `newEpoch << 32`, so a
        // learner at our old last zxid is no longer in sync with us.
        self.last_committed = self.last_proposed;
        core.db_mut().set_last_processed(self.last_proposed);
        // The whole log is committed now: requests are prepared against it, and every
        // session's timer restarts.
        let tick_ms = core.cfg.timing.tick_ms();
        for (session, timeout_ms) in core.tree().sessions() {
            self.sessions.add(*session, *timeout_ms, self.tick, tick_ms);
        }
        self.phase = Phase::Broadcast { epoch, prep: Box::new(core.tree().clone()) };
        out.cancel_timer(Timer::LeaderInit);
        out.set_timer(Timer::LeaderTick, core.cfg.timing.half_tick_us());
        out.observe(Observation::LeaderEstablished { epoch, round: self.round, quorum });
        for (sid, h) in self.learners.iter_mut() {
            if h.stage == Stage::NewLeaderAcked {
                out.send(*sid, Message::UpToDate);
                h.stage = Stage::UpToDate;
            }
        }
    }

    /// A client's write at this server.
    pub fn on_client_write(
        &mut self,
        core: &mut Core,
        client: u64,
        seq: u64,
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        core.take_client_write(client, seq);
        self.propose(core, Op::Write { client, seq }, out)
    }

    fn on_request(&mut self, core: &mut Core, client: u64, seq: u64, out: &mut Outbox) -> Option<LookingReason> {
        if !self.is_established() {
            return None; // Not serving yet: the learner's client gets no answer.
        }
        self.propose(core, Op::Write { client, seq }, out)
    }

    /// `touchSession` for a session one of our clients or learners kept alive; false when
    /// it is not alive (expired or closing).
    pub fn touch(&mut self, core: &Core, session: SessionId) -> bool {
        self.sessions.touch(session, self.tick, core.cfg.timing.tick_ms())
    }

    /// A session's write or sync, from one of our clients (`from: None`) or forwarded by a
    /// learner.
    pub fn on_session_op(
        &mut self,
        core: &mut Core,
        from: Option<Sid>,
        session: SessionId,
        xid: Xid,
        request: Request,
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        if let Request::Sync { .. } = request {
            // Behind the last proposal still uncommitted, if any (`last_proposed` alone is
            // no guide: a new leader's is `epoch << 32`, which never commits).
            match self.outstanding.last_key_value() {
                Some((&last, _)) => self.syncs.entry(last).or_default().push((from, session, xid)),
                None => self.finish_sync(core, from, session, xid, out),
            }
            return None;
        }
        if let Request::Reconfig(r) = &request {
            let op = match self.prep_reconfig(core, session, r) {
                Ok(config) => Op::Reconfig(std::sync::Arc::new(ReconfigTxn { session, xid, config })),
                Err(code) => Op::tree(session, xid, TreeTxn::Error { code }),
            };
            return self.propose(core, op, out);
        }
        let prep = self.prep();
        let txn = if core.cfg.variant == Variant::Zk1208 && !prep.sessions().contains_key(&session) {
            // The bug: a session whose closeSession is prepared but not committed still
            // passes the session check.
            let mut alive = prep.clone();
            if let Some(timeout_ms) = core.tree().sessions().get(&session).copied() {
                // Back in the table as it was: a session's id is its createSession zxid.
                alive.apply(&Txn { zxid: Zxid(session), op: Op::CreateSession { client: 0, timeout_ms } });
            }
            alive.prep(session, &request)
        } else {
            prep.prep(session, &request)
        };
        self.propose(core, Op::tree(session, xid, txn), out)
    }

    /// `PrepRequestProcessor.pRequest2TxnReconfig` at this leader.
    fn prep_reconfig(&self, core: &Core, session: SessionId, r: &ReconfigRequest) -> Result<QuorumVerifier, ErrorCode> {
        let alive = self.prep().sessions().contains_key(&session);
        reconfig::prep(core.quorums(), alive, self.quorum_synced(core), r)
    }

    /// `isQuorumSynced`'s set: this leader and the participants that got their sync and are
    /// heard from (`forwardingFollowers` that are `synced()`).
    fn quorum_synced(&self, core: &Core) -> SidSet {
        let tick = self.tick;
        std::iter::once(core.id())
            .chain(
                self.learners
                    .iter()
                    .filter(|(_, h)| h.forwarding && !h.observer && tick <= h.tick_of_next_ack_deadline)
                    .map(|(s, _)| *s),
            )
            .collect()
    }

    /// `getDesignatedLeader` for a reconfig to `new` acknowledged by `acks` at `zxid`.
    fn designated_leader(&self, core: &Core, new: QuorumVerifier, acks: SidSet, zxid: Zxid) -> Sid {
        let later = self.outstanding.range(Zxid(zxid.0 + 1)..).map(|(_, p)| (p.acks, p.quorums));
        reconfig::designated_leader(core.id(), new, acks, later)
    }

    fn finish_sync(&mut self, core: &mut Core, from: Option<Sid>, session: SessionId, xid: Xid, out: &mut Outbox) {
        match from {
            Some(learner) => out.send(learner, Message::SyncDone { session, xid }),
            None => core.complete_request(session, xid, Response::Sync, out),
        }
    }

    /// `Leader.propose`: log it, ack it after fsync, send it to every forwarding learner.
    pub fn propose(&mut self, core: &mut Core, op: Op, out: &mut Outbox) -> Option<LookingReason> {
        assert!(self.is_established(), "proposing before the leader is established");
        if self.last_proposed.counter() + 1 == u64::from(u32::MAX) {
            // "zxid lower 32 bits have rolled over, forcing re-election".
            return Some(LookingReason::ZxidRollover);
        }
        let zxid = Zxid::new(self.last_proposed.epoch(), self.last_proposed.counter() + 1);
        if core.cfg.variant.is_correct() {
            // A proposal is in the epoch the leader established, above everything it
            // committed or still has outstanding; a reconfig only while no other is pending
            // (`ReconfigInProgress`: from then on proposals need both configurations).
            assert_eq!(Some(zxid.epoch()), self.epoch(), "server {}: proposes {zxid} outside its epoch", core.id());
            assert!(zxid > self.last_committed, "server {}: proposes {zxid} at or below a commit", core.id());
            assert!(
                self.outstanding.last_key_value().is_none_or(|(&last, _)| last < zxid),
                "server {}: proposes {zxid} below an outstanding proposal",
                core.id()
            );
            if matches!(op, Op::Reconfig(_)) {
                assert!(core.quorums().next.is_none(), "server {}: a second reconfig is pending", core.id());
            }
        }
        self.last_proposed = zxid;
        let mut op = op;
        if let Op::Reconfig(r) = &mut op {
            // The new configuration's version is its txn's zxid; from now on quorums need a
            // majority of it too.
            let r = std::sync::Arc::make_mut(r);
            r.config = r.config.with_version(zxid);
            core.see_config(r.config, out);
            out.observe(Observation::ReconfigProposed { config: r.config });
        }
        let txn = Txn { zxid, op };
        if let Phase::Broadcast { prep, .. } = &mut self.phase {
            prep.apply(&txn);
        }
        core.append(txn.clone(), out);
        let id = core.fsync(DiskFile::Log, Vec::new(), out);
        core.maybe_snapshot(out);
        self.self_ack_fsyncs.insert(id, zxid);
        self.outstanding.insert(zxid, Pending { acks: SidSet::EMPTY, quorums: *core.quorums(), txn: txn.clone() });
        out.observe(Observation::Proposed { zxid });
        for (sid, h) in &self.learners {
            if h.forwarding && !h.observer {
                out.send(*sid, Message::Proposal { txn: txn.clone() });
            }
        }
        None
    }

    /// `tryToCommit`: strictly in zxid order, each on a quorum of acks in every
    /// configuration it needs, and only while allowed to.
    fn try_commit(&mut self, core: &mut Core, out: &mut Outbox) {
        while let Some((&zxid, p)) = self.outstanding.first_key_value() {
            if !self.allowed_to_commit || !p.quorums.has_all_quorums(p.acks) {
                break;
            }
            if core.cfg.variant.is_correct() {
                // `tryToCommit` only warns when a commit is "not first"; here it never is: the
                // established leader commits its own proposals of its epoch, one after another.
                assert!(self.is_established(), "server {}: commits {zxid} before it is established", core.id());
                assert_eq!(
                    zxid,
                    Zxid(self.last_committed.0 + 1),
                    "server {}: commits {zxid} after {}",
                    core.id(),
                    self.last_committed
                );
                assert!(zxid <= self.last_proposed, "server {}: commits {zxid}, never proposed", core.id());
                assert_eq!(Some(zxid.epoch()), self.epoch(), "server {}: commits {zxid} outside its epoch", core.id());
            }
            let acks = p.acks;
            let txn = self.outstanding.remove(&zxid).expect("peeked").txn;
            self.last_committed = zxid;
            if let Some(new) = txn.op.reconfig() {
                let designated = self.designated_leader(core, new, acks, zxid);
                core.process_reconfig(new, Some((designated, self.last_proposed)), core.id(), false, out);
                if designated != core.id() {
                    self.allowed_to_commit = false;
                }
                for (sid, h) in &self.learners {
                    if h.forwarding && h.observer {
                        out.send(*sid, Message::InformAndActivate { txn: txn.clone(), designated });
                    } else if h.forwarding {
                        out.send(*sid, Message::CommitAndActivate { zxid, designated });
                    }
                }
            } else {
                for (sid, h) in &self.learners {
                    if h.forwarding && h.observer {
                        out.send(*sid, Message::Inform { txn: txn.clone() });
                    } else if h.forwarding {
                        out.send(*sid, Message::Commit { zxid });
                    }
                }
            }
            out.observe(Observation::Committed { zxid });
            if let Op::CreateSession { timeout_ms, .. } = txn.op {
                self.sessions.add(zxid.0, timeout_ms, self.tick, core.cfg.timing.tick_ms());
            }
            self.hand_to_commit_processor(core, txn, out);
            for (from, session, xid) in self.syncs.remove(&zxid).unwrap_or_default() {
                self.finish_sync(core, from, session, xid, out);
            }
        }
    }

    /// `tryToCommit` -> `zk.commitProcessor.commit`: the txn joins `toBeApplied` and is
    /// applied (`FinalRequestProcessor`) once the `CommitProcessor` gets to it; without a
    /// latency, at once.
    fn hand_to_commit_processor(&mut self, core: &mut Core, txn: Txn, out: &mut Outbox) {
        let latency = core.cfg.timing.commit_processor_us;
        if latency == 0 {
            core.apply(&txn, out);
            return;
        }
        if self.to_be_applied.is_empty() {
            out.set_timer(Timer::CommitProcessor, latency);
        }
        self.to_be_applied.push_back(txn);
    }

    /// The `CommitProcessor` holds txns committed and not applied yet.
    pub fn applying(&self) -> bool {
        !self.to_be_applied.is_empty()
    }

    /// The `CommitProcessor` drains its queue: each txn is applied, and leaves `toBeApplied`
    /// (`ToBeAppliedRequestProcessor`).
    fn apply_committed(&mut self, core: &mut Core, out: &mut Outbox) {
        assert!(!self.to_be_applied.is_empty(), "server {}: the commit processor woke for nothing", core.id());
        while let Some(txn) = self.to_be_applied.pop_front() {
            core.apply(&txn, out);
        }
    }

    pub fn on_timer(&mut self, core: &mut Core, timer: Timer, out: &mut Outbox) -> Option<LookingReason> {
        match timer {
            Timer::CommitProcessor => {
                self.apply_committed(core, out);
                None
            }
            Timer::LeaderInit => {
                assert!(!self.is_established(), "init timer outlived establishment");
                Some(LookingReason::InitTimeout)
            }
            Timer::LeaderTick => self.on_half_tick(core, out),
            other => panic!("leader got a timer it does not own: {other:?}"),
        }
    }

    /// Learners heard from recently, and self: `syncedAckSet`.
    fn synced(&self, cfg: &NodeConfig) -> SidSet {
        let tick = self.tick;
        std::iter::once(cfg.id)
            .chain(self.learners.iter().filter(move |(_, h)| tick <= h.tick_of_next_ack_deadline).map(|(s, _)| *s))
            .collect()
    }

    /// One turn of `Leader.lead`'s loop, and of the session tracker's expiry.
    fn on_half_tick(&mut self, core: &mut Core, out: &mut Outbox) -> Option<LookingReason> {
        let cfg = &core.cfg;
        if !self.tick_skip {
            self.tick += 1;
        }
        if !self.tick_skip && !core.quorums().has_all_quorums(self.synced(cfg)) {
            return Some(LookingReason::QuorumLost);
        }
        self.tick_skip = !self.tick_skip;
        for session in self.sessions.expire(self.tick) {
            // `SessionTrackerImpl.run` -> `expire`: a closeSession that deletes the
            // session's ephemerals as they stand with every proposed txn.
            let paths = self.prep().session_ephemerals(session);
            if let Some(reason) = self.propose(core, Op::close_session(session, paths), out) {
                return Some(reason);
            }
        }
        let cfg = &core.cfg;
        // `LearnerHandler.ping` is silent until the handler's sender runs, after the sync
        // payload: a learner still registering hears nothing and times out.
        for (sid, h) in &self.learners {
            if h.forwarding {
                out.send(*sid, Message::Ping);
            }
        }
        out.set_timer(Timer::LeaderTick, cfg.timing.half_tick_us());
        None
    }

    /// The learner's socket broke: its `LearnerHandler` dies.
    pub fn on_connection_down(&mut self, peer: Sid) {
        self.learners.remove(&peer);
    }
}
