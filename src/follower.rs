//! The follower's side of Zab (`Learner`, `Follower`), event-driven:
//!
//! - connect and register: FOLLOWERINFO; a refused connection is retried every 100 ms up to
//!   5 times; LEADERINFO with a newer epoch is persisted as acceptedEpoch before ACKEPOCH;
//! - synchronize (`syncWithLeader`): DIFF / TRUNC / SNAP, the txns that follow, then on
//!   NEWLEADER (ZooKeeper 3.9.3's order) log and fsync the synced txns, persist
//!   currentEpoch, and only then ACK; serve after UPTODATE;
//! - broadcast: log each PROPOSAL and ACK it once fsynced; apply COMMITs in order; an
//!   observer logs and applies each INFORM and acknowledges nothing;
//! - reconfiguration: a reconfig proposal (or NEWLEADER's configuration) is remembered as
//!   the newest seen; COMMITANDACTIVATE / INFORMANDACTIVATE (or UPTODATE, for NEWLEADER's)
//!   activates it, and a change of role or leader sends the server to its new role;
//! - go back to LOOKING when the leader is silent for the read timeout (`initLimit` ticks
//!   while connecting and syncing, `syncLimit` after) or the connection breaks.

use crate::contract::{Effect, ExitCode, LookingReason, Observation, Outbox, Timer};
use crate::durable::{DiskFile, DiskWrite, Txn};
use crate::message::Message;
use crate::quorum::QuorumVerifier;
use crate::release::NewLeaderOrder;
use crate::server::Core;
use crate::sync::SyncMode;
use crate::types::{Epoch, Sid, Zxid};
use crate::variant::Variant;
use std::collections::VecDeque;

/// `Learner.connectToLeader` sleeps this long between attempts
/// (`zookeeper.leaderConnectDelayDuringRetryMs`, 100 ms).
pub const CONNECT_RETRY_US: u64 = 100_000;

/// `Learner.connectToLeader` gives up after this many refused attempts.
pub const CONNECT_TRIES_MAX: u32 = 5;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Phase {
    /// FOLLOWERINFO sent; waiting for LEADERINFO.
    Connecting,
    /// ACKEPOCH sent (or waiting on acceptedEpoch's fsync); the sync payload follows.
    Syncing { op_seen: bool },
    /// NEWLEADER processed; waiting for UPTODATE.
    NewLeaderAcked,
    /// UPTODATE received: serving.
    Broadcast,
}

#[derive(Clone, Debug, Hash)]
pub struct Follower {
    leader: Sid,
    /// An observer (`Observer`): gets INFORMs, acknowledges nothing, never votes.
    observer: bool,
    /// The configuration NEWLEADER carried, activated at UPTODATE.
    new_leader_qv: Option<QuorumVerifier>,
    tries: u32,
    phase: Phase,
    epoch: Option<Epoch>,
    /// Txns received during sync, logged at NEWLEADER (`packetsNotCommitted`).
    sync_txns: Vec<Txn>,
    /// The highest zxid known committed (sync point, COMMITs) before serving.
    committed_upto: Zxid,
    /// Logged proposals waiting for their COMMIT (`pendingTxns`).
    pending: VecDeque<Txn>,
    /// `zk-3911`: synced txns still to log after UPTODATE.
    unlogged: Vec<Txn>,
    /// What NEWLEADER's sequence does once the fsync with this id completes: ZooKeeper
    /// runs these steps one after the other, each after the previous one's fsync returned.
    after_fsync: Option<(u64, AfterFsync)>,
    /// The correct protocol's NEWLEADER sequence: proposals not committed at NEWLEADER,
    /// and those that come after it, are logged (and acknowledged) only after UPTODATE
    /// (the bug variants with their own NEWLEADER order keep their historical behaviour).
    holds_acks: bool,
    /// Proposals `syncWithLeader` keeps in `packetsNotLogged` until UPTODATE.
    held: Vec<Txn>,
    /// `QuorumPeer.syncMode` (`QuorumPeer.SyncMode`): which sync is under way, until
    /// NEWLEADER sets it back.
    sync_mode: Option<SyncMode>,
    /// `writeToTxnLog`: a DIFF's txns wait for NEWLEADER to be logged; before NEWLEADER a
    /// SNAP's or TRUNC's COMMITs apply to the tree at once, unlogged.
    write_to_txn_log: bool,
    /// Synced txns the bug variants log at NEWLEADER and apply at UPTODATE.
    to_apply: Vec<Txn>,
    /// `lastQueued` of `syncWithLeader`: the last sync proposal's zxid.
    last_queued: Option<Zxid>,
}

/// A step of NEWLEADER's sequence that waits for the previous one to be durable.
#[derive(Clone, Debug, Hash)]
enum AfterFsync {
    PersistEpoch { epoch: Epoch, then_send: Vec<(Sid, Message)> },
}

impl Follower {
    pub fn start(core: &mut Core, leader: Sid, observer: bool, out: &mut Outbox) -> Follower {
        assert_ne!(leader, core.id(), "a server does not follow itself");
        let mut f = Follower {
            leader,
            observer,
            new_leader_qv: None,
            tries: 0,
            phase: Phase::Connecting,
            epoch: None,
            sync_txns: Vec::new(),
            committed_upto: Zxid::ZERO,
            pending: VecDeque::new(),
            unlogged: Vec::new(),
            after_fsync: None,
            holds_acks: false,
            held: Vec::new(),
            sync_mode: None,
            write_to_txn_log: false,
            to_apply: Vec::new(),
            last_queued: None,
        };
        f.connect(core, out);
        out.set_timer(Timer::LearnerRead, core.cfg.timing.init_timeout_us());
        f
    }

    /// One connection attempt; a leader that is not LEADING refuses it.
    fn connect(&mut self, core: &Core, out: &mut Outbox) {
        self.tries += 1;
        let observer = self.observer;
        let config_version = core.quorums().current.version();
        let accepted_epoch = core.disk().accepted_epoch;
        // `Learner.connectToLeader`, then `registerWithLeader` sends FOLLOWERINFO first.
        out.effects.push(Effect::Connect { peer: self.leader });
        out.send(self.leader, Message::FollowerInfo { accepted_epoch, observer, config_version });
    }

    pub fn leader(&self) -> Sid {
        self.leader
    }

    pub fn epoch(&self) -> Option<Epoch> {
        self.epoch
    }

    pub fn is_observer(&self) -> bool {
        self.observer
    }

    pub fn is_serving(&self) -> bool {
        self.phase == Phase::Broadcast
    }

    /// A SNAP sync under way: leaving the role now clears the database.
    pub fn in_snap_sync(&self) -> bool {
        self.sync_mode == Some(SyncMode::Snap)
    }

    /// A TRUNC sync under way (ZOOKEEPER-5094's proposed fix clears the database then too).
    pub fn in_trunc_sync(&self) -> bool {
        self.sync_mode == Some(SyncMode::Trunc)
    }

    /// A client's session request, forwarded to the leader (`Learner.request`).
    pub fn forward(&mut self, msg: Message, out: &mut Outbox) {
        out.send(self.leader, msg);
    }

    /// A client's write: forwarded to the leader (`Learner.request`), answered once applied.
    pub fn on_client_write(&mut self, core: &mut Core, client: u64, seq: u64, out: &mut Outbox) {
        core.take_client_write(client, seq);
        out.send(self.leader, Message::Request { client, seq });
    }

    pub fn on_message(&mut self, core: &mut Core, from: Sid, msg: Message, out: &mut Outbox) -> Option<LookingReason> {
        if from != self.leader {
            return None; // Not our leader's connection.
        }
        if self.phase == (Phase::Syncing { op_seen: false })
            && matches!(
                msg,
                Message::Proposal { .. }
                    | Message::Commit { .. }
                    | Message::CommitAndActivate { .. }
                    | Message::Inform { .. }
                    | Message::InformAndActivate { .. }
                    | Message::NewLeader { .. }
                    | Message::UpToDate
            )
        {
            // `syncWithLeader`: "Got unexpected packet from leader ... exiting".
            return Some(LookingReason::Exit(ExitCode::QuorumPacketError));
        }
        let reason = match msg {
            Message::Refused => return self.on_refused(out),
            Message::LeaderInfo { epoch } => self.on_leader_info(core, epoch, out),
            Message::Diff { zxid } => self.on_sync_op(core, SyncMode::Diff, zxid, &[], out),
            Message::Trunc { zxid } => self.on_sync_op(core, SyncMode::Trunc, zxid, &[], out),
            Message::Snap { zxid, txns } => self.on_sync_op(core, SyncMode::Snap, zxid, &txns, out),
            Message::Proposal { txn } => self.on_proposal(core, txn, out),
            Message::Commit { zxid } => self.on_commit(core, zxid, out),
            Message::CommitAndActivate { zxid, designated } => self.on_commit_and_activate(core, zxid, designated, out),
            Message::Inform { txn } => self.on_inform(core, txn, None, out),
            Message::InformAndActivate { txn, designated } => self.on_inform(core, txn, Some(designated), out),
            Message::NewLeader { zxid, config } => {
                core.see_config(config, out);
                self.new_leader_qv = Some(config);
                self.on_new_leader(core, zxid, out)
            }
            Message::UpToDate => self.on_up_to_date(core, out),
            Message::Ping => {
                // The PING answer carries the sessions our clients kept alive.
                let touched = core.clients.take_touched();
                if !touched.is_empty() {
                    out.send(self.leader, Message::SessionPing { touched });
                }
                out.send(self.leader, Message::Ping);
                None
            }
            Message::Revalidated { client, session, valid } => {
                core.finish_revalidate(client, session, valid, out);
                None
            }
            Message::SyncDone { session, xid } => {
                core.complete_request(session, xid, crate::api::Response::Sync, out);
                None
            }
            // Learner-to-leader packets and FLE never reach a follower's quorum port.
            _ => None,
        };
        if reason.is_none() {
            // Every packet from the leader restarts the socket's read timeout.
            let timing = &core.cfg.timing;
            let timeout = match self.phase {
                Phase::Connecting | Phase::Syncing { .. } => timing.init_timeout_us(),
                Phase::NewLeaderAcked | Phase::Broadcast => timing.sync_timeout_us(),
            };
            out.set_timer(Timer::LearnerRead, timeout);
        }
        reason
    }

    fn on_refused(&mut self, out: &mut Outbox) -> Option<LookingReason> {
        if self.phase != Phase::Connecting {
            return None;
        }
        if self.tries >= CONNECT_TRIES_MAX {
            return Some(LookingReason::LeaderUnreachable);
        }
        out.set_timer(Timer::LearnerConnectRetry, CONNECT_RETRY_US);
        None
    }

    /// `registerWithLeader`.
    fn on_leader_info(&mut self, core: &mut Core, epoch: Epoch, out: &mut Outbox) -> Option<LookingReason> {
        if self.phase != Phase::Connecting {
            return Some(LookingReason::ProtocolError);
        }
        out.cancel_timer(Timer::LearnerConnectRetry);
        let accepted = core.disk().accepted_epoch;
        let last_zxid = core.last_zxid();
        if epoch > accepted {
            // Persist the new acceptedEpoch; ACKEPOCH may leave only once it is durable.
            let ack = Message::AckEpoch { current_epoch: Some(core.disk().current_epoch), last_zxid };
            core.write(DiskWrite::AcceptedEpoch(epoch), out);
            core.fsync(DiskFile::Epochs, vec![(self.leader, ack)], out);
        } else if epoch == accepted {
            // Already acked this epoch: send -1, which does not count.
            out.send(self.leader, Message::AckEpoch { current_epoch: None, last_zxid });
        } else {
            // "Leaders epoch, E is less than accepted epoch, A".
            return Some(LookingReason::EpochBehind);
        }
        self.epoch = Some(epoch);
        self.phase = Phase::Syncing { op_seen: false };
        out.observe(Observation::FollowerConnected { leader: self.leader, epoch });
        None
    }

    /// The first packet of the sync (`syncWithLeader`): DIFF, TRUNC or SNAP.
    fn on_sync_op(
        &mut self,
        core: &mut Core,
        mode: SyncMode,
        zxid: Zxid,
        snapshot: &[Txn],
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        if self.phase != (Phase::Syncing { op_seen: false }) {
            return Some(LookingReason::ProtocolError);
        }
        self.phase = Phase::Syncing { op_seen: true };
        self.sync_mode = Some(mode);
        match mode {
            SyncMode::Diff => {
                // Our history up to the zxid we reported matches the leader's; the txns
                // that follow are logged at NEWLEADER.
                self.write_to_txn_log = true;
                self.committed_upto = core.last_zxid();
                if core.cfg.variant == Variant::Zk2355 {
                    core.claim_processed(zxid);
                }
            }
            SyncMode::Snap => {
                // `deserializeSnapshot` (the database is cleared first), then
                // `setlastProcessedZxid`.
                core.db_mut().install(zxid, snapshot);
                self.committed_upto = zxid;
            }
            SyncMode::Trunc => {
                // `ZKDatabase.truncateLog`: clear, truncate the log (not synced), load again;
                // a failed truncation exits the process (`QUORUM_PACKET_ERROR`).
                if !core.truncate_log(zxid, out) {
                    return Some(LookingReason::Exit(ExitCode::QuorumPacketError));
                }
                let loaded = core.last_processed();
                out.observe(Observation::Truncated { leader: self.leader, to: zxid, loaded });
                core.db_mut().set_last_processed(zxid);
                self.committed_upto = zxid;
            }
        }
        None
    }

    fn on_proposal(&mut self, core: &mut Core, txn: Txn, out: &mut Outbox) -> Option<LookingReason> {
        if self.observer && self.phase != (Phase::Syncing { op_seen: true }) {
            // An observer gets the sync payload's PROPOSALs like any learner, then INFORMs.
            return Some(LookingReason::ProtocolError);
        }
        if let Some(qv) = txn.op.reconfig() {
            // A reconfig proposal: its configuration is the newest seen.
            core.see_config(qv, out);
        }
        if self.phase == (Phase::Syncing { op_seen: true }) && core.cfg.release.enforces_continuous_proposals() {
            // `Learner.enforceContinuousProposal` (3.9.4): a sync proposal that skips a zxid
            // within an epoch ends the sync ("DIFF sync got proposal 0x.., last queued ..").
            if let Some(last) = self.last_queued {
                if txn.zxid != Zxid(last.0 + 1) && txn.zxid.epoch() <= last.epoch() {
                    return Some(LookingReason::ProtocolError);
                }
            }
            self.last_queued = Some(txn.zxid);
        }
        match self.phase {
            Phase::Syncing { op_seen: true } => self.sync_txns.push(txn),
            Phase::NewLeaderAcked if !self.unlogged.is_empty() => {
                // `zk-3911`: still applying in memory only; logged (and acked) after UPTODATE.
                self.unlogged.push(txn.clone());
                self.pending.push_back(txn);
            }
            Phase::NewLeaderAcked if self.holds_acks => {
                // `packetsNotLogged`: logged after UPTODATE.
                self.held.push(txn.clone());
                self.pending.push_back(txn);
            }
            Phase::NewLeaderAcked | Phase::Broadcast => {
                // UPTODATE logged the held proposals before anything that follows.
                assert!(self.held.is_empty(), "server {}: proposal {} overtakes held ones", core.id(), txn.zxid);
                // Log, then ACK once the log is fsynced (`SyncRequestProcessor`, `SendAckRequestProcessor`).
                let zxid = txn.zxid;
                core.append(txn.clone(), out);
                core.fsync(DiskFile::Log, vec![(self.leader, Message::Ack { zxid })], out);
                core.maybe_snapshot(out);
                self.pending.push_back(txn);
            }
            _ => return Some(LookingReason::ProtocolError),
        }
        None
    }

    fn on_commit(&mut self, core: &mut Core, zxid: Zxid, out: &mut Outbox) -> Option<LookingReason> {
        match self.phase {
            Phase::Syncing { op_seen: true } if !self.write_to_txn_log => {
                // A SNAP's or TRUNC's COMMIT before NEWLEADER: applied to the tree at once
                // and not logged; the NEWLEADER snapshot will hold it.
                if core.cfg.variant.is_correct() {
                    // `syncFollower` queues each txn as PROPOSAL then COMMIT, in zxid order.
                    assert!(
                        self.sync_txns.first().is_some_and(|t| t.zxid == zxid),
                        "server {}: sync COMMIT {zxid} is not for the proposal before it",
                        core.id()
                    );
                }
                if self.sync_txns.first().is_some_and(|t| t.zxid == zxid) {
                    let t = self.sync_txns.remove(0);
                    core.apply_synced(&t, false, out);
                }
                self.committed_upto = self.committed_upto.max(zxid);
                None
            }
            Phase::Syncing { op_seen: true } | Phase::NewLeaderAcked => {
                self.committed_upto = self.committed_upto.max(zxid);
                None
            }
            Phase::Broadcast => self.deliver(core, zxid, out),
            _ => Some(LookingReason::ProtocolError),
        }
    }

    /// COMMITANDACTIVATE: activate the reconfig's configuration, commit it, and leave for
    /// the new role if it changes the role or the leader. While syncing, ZooKeeper
    /// handles it in `syncWithLeader` (the `zk-2172` variant takes it for a COMMIT).
    fn on_commit_and_activate(
        &mut self,
        core: &mut Core,
        zxid: Zxid,
        designated: Sid,
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        let syncing = matches!(self.phase, Phase::Syncing { op_seen: true } | Phase::NewLeaderAcked);
        if syncing && core.cfg.variant == Variant::Zk2172 {
            return self.on_commit(core, zxid, out);
        }
        let qv = match self.phase {
            Phase::Syncing { op_seen: true } => self.sync_txns.iter().find(|t| t.zxid == zxid),
            Phase::NewLeaderAcked | Phase::Broadcast => self.pending.iter().find(|t| t.zxid == zxid),
            _ => return Some(LookingReason::ProtocolError),
        }
        .and_then(|t| t.op.reconfig());
        let Some(qv) = qv else {
            return self.on_commit(core, zxid, out); // Not a reconfig we hold: a COMMIT.
        };
        let major = core.process_reconfig(qv, Some((designated, zxid)), self.leader, self.observer, out);
        let reason = self.on_commit(core, zxid, out);
        if major {
            return Some(LookingReason::Reconfig);
        }
        reason
    }

    /// An observer's INFORM (or INFORMANDACTIVATE): a committed txn to log and apply.
    fn on_inform(
        &mut self,
        core: &mut Core,
        txn: Txn,
        designated: Option<Sid>,
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        if !self.observer {
            return Some(LookingReason::ProtocolError);
        }
        let zxid = txn.zxid;
        let activate = designated.zip(txn.op.reconfig());
        match self.phase {
            Phase::Syncing { op_seen: true } if !self.write_to_txn_log => {
                // Before NEWLEADER a SNAP's or TRUNC's INFORMs apply at once, unlogged.
                core.apply_synced(&txn, false, out);
                self.committed_upto = self.committed_upto.max(zxid);
            }
            Phase::Syncing { op_seen: true } => {
                self.sync_txns.push(txn);
                self.committed_upto = self.committed_upto.max(zxid);
            }
            Phase::NewLeaderAcked => {
                // Kept until UPTODATE, then committed (and logged) like the others.
                self.pending.push_back(txn);
                self.committed_upto = self.committed_upto.max(zxid);
            }
            Phase::Broadcast => {
                core.append(txn.clone(), out);
                core.fsync(DiskFile::Log, Vec::new(), out);
                core.maybe_snapshot(out);
                out.observe(Observation::Delivered { zxid });
                core.apply(&txn, out);
            }
            _ => return Some(LookingReason::ProtocolError),
        }
        if let Some((designated, qv)) = activate {
            // `Observer.processPacket` / `syncWithLeader`: INFORMANDACTIVATE goes straight to
            // `processReconfig` (the configuration was never proposed to an observer).
            if core.process_reconfig(qv, Some((designated, zxid)), self.leader, self.observer, out) {
                return Some(LookingReason::Reconfig);
            }
        }
        None
    }

    /// `FollowerZooKeeperServer.commit`: the COMMIT must match the oldest pending txn;
    /// otherwise ZooKeeper exits the process.
    fn deliver(&mut self, core: &mut Core, zxid: Zxid, out: &mut Outbox) -> Option<LookingReason> {
        match self.pending.front() {
            // "Committing zxid without seeing txn": ZooKeeper logs it and moves on.
            None => None,
            Some(t) if t.zxid == zxid => {
                let t = self.pending.pop_front().expect("peeked");
                out.observe(Observation::Delivered { zxid });
                core.apply(&t, out);
                None
            }
            // "Committing zxid 0x.. but next pending txn 0x..": the process exits.
            _ => Some(LookingReason::Exit(ExitCode::UnmatchedTxnCommit)),
        }
    }

    /// NEWLEADER (`syncWithLeader`, release-3.9.3): save the snapshot a SNAP (synced) or
    /// TRUNC (not synced) needs; a follower logs and applies the DIFF's committed txns and
    /// flushes them (never acknowledging them); then currentEpoch is persisted and
    /// NEWLEADER acknowledged. Proposals not committed yet wait for UPTODATE.
    fn on_new_leader(&mut self, core: &mut Core, zxid: Zxid, out: &mut Outbox) -> Option<LookingReason> {
        if self.phase != (Phase::Syncing { op_seen: true }) {
            return Some(LookingReason::ProtocolError);
        }
        let epoch = zxid.epoch();
        if core.cfg.variant.is_correct() {
            // NEWLEADER follows our ACKEPOCH, which left only once the epoch LEADERINFO
            // announced was our acceptedEpoch; it is that epoch's, and it starts NEWLEADER's
            // sequence afresh: nothing of a broadcast is held yet.
            assert_eq!(self.epoch, Some(epoch), "server {}: NEWLEADER {zxid} for another epoch", core.id());
            assert_eq!(core.disk().accepted_epoch, epoch, "server {}: NEWLEADER before acceptedEpoch", core.id());
            assert!(self.sync_mode.is_some(), "server {}: NEWLEADER before DIFF, TRUNC or SNAP", core.id());
            assert!(self.after_fsync.is_none(), "server {}: a second NEWLEADER sequence", core.id());
            assert!(
                self.pending.is_empty() && self.held.is_empty() && self.unlogged.is_empty(),
                "server {}: proposals queued before NEWLEADER",
                core.id()
            );
        }
        let leader = self.leader;
        let txns = std::mem::take(&mut self.sync_txns);
        let ack = (leader, Message::Ack { zxid });
        let txn_acks = || txns.iter().map(|t| (leader, Message::Ack { zxid: t.zxid })).collect::<Vec<_>>();
        // `snapshotNeeded`: SNAP and TRUNC save the tree they built (`takeSnapshot(syncSnapshot)`).
        let snapshot_fsync = match self.sync_mode {
            Some(SyncMode::Snap) => core.take_snapshot(true, out),
            Some(SyncMode::Trunc) => core.take_snapshot(false, out),
            _ => None,
        };
        self.write_to_txn_log = true;
        match core.cfg.variant {
            Variant::Zk3911 => {
                // The synced txns stay in memory until after UPTODATE, and are acked then.
                self.persist_epoch(core, epoch, vec![ack], out);
                self.unlogged = txns.clone();
                self.to_apply = txns.clone();
            }
            Variant::Zk4646 => {
                // Logged, but the ACK does not wait for the flush.
                append_all(core, &txns, out);
                self.persist_epoch(core, epoch, vec![ack], out);
                core.fsync(DiskFile::Log, txn_acks(), out);
                self.to_apply = txns.clone();
            }
            Variant::Zk4643 => {
                // currentEpoch first, the txns after: their writes queue behind its fsync
                // (in order before any later proposal), and the ACK waits for the log.
                self.persist_epoch(core, epoch, Vec::new(), out);
                append_all(core, &txns, out);
                let mut then = vec![ack];
                then.extend(txn_acks());
                core.fsync(DiskFile::Log, then, out);
                self.to_apply = txns.clone();
            }
            Variant::Zk4685 => {
                // Each synced txn is acked before NEWLEADER.
                let id = log_and_ack(core, leader, &txns, out);
                self.after_fsync = Some((id, AfterFsync::PersistEpoch { epoch, then_send: vec![ack] }));
                self.to_apply = txns.clone();
            }
            Variant::None
            | Variant::Zk1419
            | Variant::Zk1154
            | Variant::Zk2845
            | Variant::Zk2355
            | Variant::Zk1208
            | Variant::Zk2172
            | Variant::SplitJoiners
            | Variant::NewLeaderCommittedConfig
            | Variant::Zk4925
            | Variant::Zk5094Fix => {
                self.holds_acks = true;
                if core.cfg.release.newleader_order() == NewLeaderOrder::EpochFirst {
                    // 3.8.0: `setCurrentEpoch` (after the snapshot: fsyncs complete in
                    // order), the ACK as soon as it returns, then every synced txn to the sync
                    // processor (`logRequest`, acknowledged once flushed): the ACK does not
                    // wait for that flush (ZOOKEEPER-4646's order) and currentEpoch is durable
                    // before the txns (ZOOKEEPER-4643's).
                    self.persist_epoch(core, epoch, vec![ack], out);
                    if !self.observer && !txns.is_empty() {
                        log_and_ack(core, leader, &txns, out);
                    }
                    self.to_apply = txns.clone();
                } else {
                    let mut last_fsync = snapshot_fsync;
                    if self.observer {
                        // An observer logs nothing before its ACK: its INFORMs are committed
                        // after UPTODATE (`ObserverZooKeeperServer.commitRequest`).
                        self.to_apply = txns.clone();
                    } else {
                        // `packetsCommitted`: log and apply each (`appendRequest`,
                        // `processTxn`), then `ZKDatabase.commit` (ZOOKEEPER-3911, -4646).
                        let committed = txns.iter().take_while(|t| t.zxid <= self.committed_upto);
                        let mut any = false;
                        for t in committed {
                            core.append(t.clone(), out);
                            core.apply_synced(t, true, out);
                            any = true;
                        }
                        if any {
                            last_fsync = Some(core.fsync(DiskFile::Log, Vec::new(), out));
                        }
                        // The rest, `packetsNotLogged`, is logged after UPTODATE.
                        self.held = txns.iter().filter(|t| t.zxid > self.committed_upto).cloned().collect();
                    }
                    // currentEpoch once the writes before it returned (ZOOKEEPER-4643), then
                    // the NEWLEADER ACK.
                    match last_fsync {
                        Some(id) => {
                            self.after_fsync = Some((id, AfterFsync::PersistEpoch { epoch, then_send: vec![ack] }))
                        }
                        None => self.persist_epoch(core, epoch, vec![ack], out),
                    }
                }
            }
        }
        // The synced txns past the last COMMIT are proposals still waiting for one.
        self.pending = txns.into_iter().filter(|t| t.zxid > self.committed_upto).collect();
        self.phase = Phase::NewLeaderAcked;
        out.observe(Observation::NewLeaderAcked { leader, epoch });
        None
    }

    /// `setCurrentEpoch`, then the packets that wait for it; the sync is over
    /// (`setSyncMode(NONE)`).
    fn persist_epoch(&mut self, core: &mut Core, epoch: Epoch, then_send: Vec<(Sid, Message)>, out: &mut Outbox) {
        core.write(DiskWrite::CurrentEpoch(epoch), out);
        core.fsync(DiskFile::Epochs, then_send, out);
        self.sync_mode = None;
    }

    /// UPTODATE: activate NEWLEADER's configuration, acknowledge, log what waited, apply
    /// what is committed, and serve.
    fn on_up_to_date(&mut self, core: &mut Core, out: &mut Outbox) -> Option<LookingReason> {
        if self.phase != Phase::NewLeaderAcked {
            return Some(LookingReason::ProtocolError);
        }
        if core.cfg.variant.is_correct() {
            // The leader sends UPTODATE after our first ACK since NEWLEADER, which is
            // NEWLEADER's own: it left only once NEWLEADER's sequence was done and currentEpoch
            // durable (ZOOKEEPER-4643, -4646 and -4685 are the ways to break this).
            let epoch = self.epoch.expect("synced after LEADERINFO");
            assert!(self.after_fsync.is_none(), "server {}: UPTODATE before NEWLEADER's sequence ended", core.id());
            assert_eq!(core.disk().current_epoch, epoch, "server {}: UPTODATE before its currentEpoch", core.id());
            assert!(self.sync_mode.is_none() && self.sync_txns.is_empty(), "server {}: UPTODATE mid-sync", core.id());
        }
        if let Some(qv) = self.new_leader_qv.take() {
            // The leader's configuration, agreed through NEWLEADER: activate it; a change of
            // role, or a leader that does not vote in it, means a new election.
            if core.process_reconfig(qv, None, self.leader, self.observer, out) {
                return Some(LookingReason::Reconfig);
            }
        }
        let epoch = self.epoch.expect("synced after LEADERINFO");
        if self.holds_acks {
            // `ack.setZxid(makeZxid(newEpoch, 0))`: the UPTODATE acknowledgement.
            out.send(self.leader, Message::Ack { zxid: Zxid::new(epoch, 0) });
        }
        if !self.unlogged.is_empty() {
            let txns = std::mem::take(&mut self.unlogged);
            log_and_ack(core, self.leader, &txns, out);
        }
        if !self.held.is_empty() {
            // `fzk.logRequest` for each of `packetsNotLogged`: logged, acknowledged once flushed.
            let txns = std::mem::take(&mut self.held);
            log_and_ack(core, self.leader, &txns, out);
            core.maybe_snapshot(out);
        }
        // Everything known up to the last COMMIT is applied (an observer logs it first).
        let upto = self.committed_upto;
        let known = std::mem::take(&mut self.to_apply);
        let mut logged = false;
        for t in known.iter().chain(self.pending.iter()) {
            if t.zxid > core.last_processed() && t.zxid <= upto {
                if self.observer && self.holds_acks {
                    core.append(t.clone(), out);
                    logged = true;
                }
                core.apply(t, out);
            }
        }
        if logged {
            core.fsync(DiskFile::Log, Vec::new(), out);
        }
        core.clear_claim();
        if core.cfg.variant.is_correct() {
            // Everything up to the last COMMIT came before it, as a sync txn or a proposal:
            // the follower serves exactly the committed prefix it was told of.
            assert_eq!(core.last_processed(), upto, "server {}: serves short of its last COMMIT", core.id());
        }
        while self.pending.front().is_some_and(|t| t.zxid <= upto) {
            self.pending.pop_front();
        }
        self.phase = Phase::Broadcast;
        out.observe(Observation::Synced { leader: self.leader, epoch, committed_upto: upto });
        None
    }

    /// An fsync completed: the next step of NEWLEADER's sequence, if it waited on it. (ACKs
    /// ride on their fsyncs.)
    pub fn on_durable(&mut self, core: &mut Core, fsync: u64, out: &mut Outbox) -> Option<LookingReason> {
        match self.after_fsync.take() {
            Some((id, next)) if id == fsync => match next {
                AfterFsync::PersistEpoch { epoch, then_send } => self.persist_epoch(core, epoch, then_send, out),
            },
            other => self.after_fsync = other,
        }
        None
    }

    pub fn on_timer(&mut self, core: &mut Core, timer: Timer, out: &mut Outbox) -> Option<LookingReason> {
        match timer {
            Timer::LearnerRead => Some(LookingReason::LeaderTimeout),
            Timer::LearnerConnectRetry => {
                assert_eq!(self.phase, Phase::Connecting, "connect retry after the leader answered");
                self.connect(core, out);
                None
            }
            other => panic!("follower got a timer it does not own: {other:?}"),
        }
    }

    pub fn on_connection_down(&mut self, peer: Sid) -> Option<LookingReason> {
        (peer == self.leader).then_some(LookingReason::LeaderConnectionLost)
    }
}

fn append_all(core: &mut Core, txns: &[Txn], out: &mut Outbox) {
    for t in txns {
        core.append(t.clone(), out);
    }
}

/// Logs `txns` and acknowledges each once the log is flushed (`SyncRequestProcessor`,
/// `SendAckRequestProcessor`); returns the fsync's id.
fn log_and_ack(core: &mut Core, leader: Sid, txns: &[Txn], out: &mut Outbox) -> u64 {
    append_all(core, txns, out);
    let acks = txns.iter().map(|t| (leader, Message::Ack { zxid: t.zxid })).collect();
    core.fsync(DiskFile::Log, acks, out)
}
