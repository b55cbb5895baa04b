//! The node contract: a server is a value that reacts to one [`Input`] at a time and
//! answers with [`Effect`]s written into an [`Outbox`]. It never reads a clock, draws a
//! random number, spawns a thread or does I/O; the simulator owns all of that.
//!
//! One dispatch on role, per-role handlers (`election`, `leader`, `follower`), as in
//! ZooKeeper's `QuorumPeer.run` loop.

use crate::api::{Request, Response, SessionId, WatchedEvent, Xid};
use crate::durable::{DiskFile, DiskWrite, DurableState, Op, StartupError, StorageConfig, Txn};
use crate::election::{Decision, Election, Vote};
use crate::follower::Follower;
use crate::leader::Leader;
use crate::message::{Message, Notification};
use crate::quorum::{QuorumVerifier, Quorums};
use crate::session::{self, ClientConns};
use crate::timing::Timing;
use crate::tree::DataTree;
use crate::types::{Epoch, Round, ServerState, Sid, Zxid, ROUND_NONE};
use crate::variant::Variant;
use crate::zkdb::{Loaded, ZkDatabase};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What does not change while a server runs: its id, its static configuration file,
/// timing, variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeConfig {
    pub id: Sid,
    /// The membership in the static configuration (version 0). Once the server activates
    /// a configuration, the dynamic file on its disk is in force instead.
    pub quorum: QuorumVerifier,
    pub timing: Timing,
    pub variant: Variant,
    /// The ZooKeeper release whose behaviour the server has.
    pub release: crate::release::Release,
    /// Snapshot and log settings (`snapCount`, `preAllocSize`, `commitLogCount`,
    /// `snapshotSizeFactor`).
    pub storage: StorageConfig,
    /// Where this process's `SyncRequestProcessor` draws its random snapshot offsets
    /// (`randRoll`) from: the simulator sets it at each start from the server's disk stream.
    pub roll_seed: u64,
}

impl NodeConfig {
    /// A server with ZooKeeper's default storage settings.
    pub fn new(id: Sid, quorum: QuorumVerifier, timing: Timing, variant: Variant) -> NodeConfig {
        NodeConfig {
            id,
            quorum,
            timing,
            variant,
            release: crate::release::Release::default(),
            storage: StorageConfig::default(),
            roll_seed: 0,
        }
    }
}

/// A node's timers. Each is one-shot; setting it again replaces the pending one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timer {
    /// FLE's poll timeout (`notTimeout`): silence this long makes a LOOKING server resend.
    FleNotification,
    /// FLE's `finalizeWait`: silence this long after a quorum agrees decides the election.
    FleFinalize,
    /// The learner's socket read timeout (`initLimit`, then `syncLimit` ticks).
    LearnerRead,
    /// `Learner.connectToLeader` retries once a second until the leader answers.
    LearnerConnectRetry,
    /// The leader's main loop, every half tick (`Leader.lead`).
    LeaderTick,
    /// The leader's wait for a quorum of learners (`initLimit` ticks).
    LeaderInit,
}

impl Timer {
    pub const COUNT: usize = 6;

    /// A dense index, for per-timer tables in the simulator.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A client request to a server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum ClientRequest {
    /// The `srvr` four-letter command: mode, zxid, epoch.
    Srvr,
    /// A write; `seq` is the client's own number for it.
    Write { seq: u64 },
    /// Open a connection (`ConnectRequest`): a new session (`session: None`), or an
    /// existing one after a reconnect. `last_zxid_seen` is the newest zxid the client saw:
    /// a server behind it refuses the connection.
    Connect { session: Option<SessionId>, timeout_ms: u32, last_zxid_seen: Zxid },
    /// An API call on the connection's session (boxed: inputs and effects are moved on
    /// every step, and most are not client calls).
    Op { xid: Xid, call: Box<Request> },
    /// The client's heartbeat; it keeps the session alive.
    Ping,
    /// After a reconnect: the watches the client holds, to be set again or fired at once
    /// if they missed a change since `relative_zxid` (`SetWatches`).
    SetWatches(Box<WatchSet>),
}

/// The watches a reconnecting client holds (`SetWatches`): to be set again, or fired at
/// once if they missed a change since `relative_zxid`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WatchSet {
    pub relative_zxid: Zxid,
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
}

/// A server's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum ClientReply {
    Srvr {
        state: ServerState,
        leader: Option<Sid>,
        zxid: Zxid,
        current_epoch: Epoch,
    },
    /// The write committed as `zxid` and this server applied it.
    WriteOk {
        seq: u64,
        zxid: Zxid,
    },
    /// This server is not serving (LOOKING, or not yet synced): try another.
    NotServing {
        seq: u64,
    },
    /// The connection carries a session (`ConnectResponse`).
    Connected {
        session: SessionId,
        timeout_ms: u32,
    },
    /// The session is closed: the client must start a new one (`ConnectResponse` with
    /// timeout 0, or the close of a connection whose session expired).
    SessionExpired,
    /// The server closed the connection: it stopped serving, or it is behind what the
    /// client has seen. The client tries another server.
    ConnectionClosed,
    /// The answer to request `xid`; `zxid` is the server's last applied txn when it
    /// answered (`ReplyHeader.zxid`).
    Reply {
        xid: Xid,
        zxid: Zxid,
        response: Box<Response>,
    },
    /// A watch fired.
    Watch {
        event: WatchedEvent,
    },
    Pong,
}

/// One input to a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum Input {
    /// The process started (fresh or after a crash) from its durable image.
    Start,
    Message {
        from: Sid,
        msg: Message,
    },
    Timer {
        timer: Timer,
    },
    /// A connection with `peer` is up (after a heal or the peer's restart).
    ConnectionUp {
        peer: Sid,
    },
    /// The connection with `peer` broke; messages in flight on it were lost.
    ConnectionDown {
        peer: Sid,
    },
    /// The fsync with this id completed: every write issued before it is durable.
    Durable {
        fsync: u64,
    },
    Client {
        client: u64,
        request: ClientRequest,
    },
    /// The connection with a client closed (the client moved, or the link broke).
    ClientGone {
        client: u64,
    },
}

/// Why a server (re)entered LOOKING.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookingReason {
    Startup,
    /// A follower heard nothing from its leader for its read timeout.
    LeaderTimeout,
    /// A follower's connection to its leader broke.
    LeaderConnectionLost,
    /// A follower could not connect to its leader in `CONNECT_TRIES_MAX` attempts.
    LeaderUnreachable,
    /// A follower was offered an epoch older than one it accepted (`registerWithLeader`).
    EpochBehind,
    /// A follower got a packet its phase does not allow (ZooKeeper throws or exits).
    ProtocolError,
    /// The zxid counter would roll over: a new epoch is needed (`ProposalRequestProcessor`).
    ZxidRollover,
    /// A leader's synced learners fell below a quorum.
    QuorumLost,
    /// A leader did not gather a quorum of learners within `initLimit` ticks.
    InitTimeout,
    /// FLE brought news of a newer configuration with other members: the election starts
    /// over in it.
    NewConfig,
    /// A configuration was activated that changes this server's role or its leader. With
    /// a designated leader the server takes its new role without an election.
    Reconfig,
    /// Not a return to LOOKING: ZooKeeper exits the process here
    /// (`ServiceUtils.requestSystemExit`).
    Exit(ExitCode),
}

/// Why the process exited (`ExitCode`): where ZooKeeper calls `System.exit`, the server's
/// volatile state is gone; whether something restarts it is the deployment's choice.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitCode {
    /// `FollowerZooKeeperServer.commit`: a COMMIT that is not for the oldest pending txn.
    UnmatchedTxnCommit,
    /// `Learner.syncWithLeader`: the first packet of a sync is not DIFF, TRUNC or SNAP, or
    /// a TRUNC could not truncate the log.
    QuorumPacketError,
}

/// What a node reports for the checker and the summary. The simulator records these but
/// never acts on them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "obs", rename_all = "snake_case")]
pub enum Observation {
    /// `lookForLeader` began a round; or, with reason `Reconfig` and a designated leader,
    /// the server left its role for the one the reconfig gave it, without an election.
    ElectionStarted { round: Round, reason: LookingReason },
    /// FLE decided, or a reconfig designated the leader.
    Decided { state: ServerState, leader: Sid, round: Round, zxid: Zxid, peer_epoch: Epoch },
    /// A quorum acknowledged the leader's new epoch; it set its currentEpoch and enters
    /// synchronization (Zab phase SYNC).
    LeaderEpoch { epoch: Epoch },
    /// A quorum acknowledged NEWLEADER: the leader serves in `epoch` (phase BROADCAST).
    /// Its whole log is now committed.
    LeaderEstablished { epoch: Epoch, round: Round, quorum: Vec<Sid> },
    /// A follower accepted its leader's LEADERINFO.
    FollowerConnected { leader: Sid, epoch: Epoch },
    /// A learner ran a TRUNC (`ZKDatabase.truncateLog`): `to` is the leader's zxid,
    /// `loaded` the last zxid of what reloading its files gave before
    /// `setlastProcessedZxid(to)` relabelled it.
    Truncated { leader: Sid, to: Zxid, loaded: Zxid },
    /// A leader chose how to synchronize `learner` (`syncFollower`): the op, the branch that
    /// chose it, how many txns follow it, those of them the leader's own history does not
    /// hold, and the txns of its history in the synced range that the payload skips (both
    /// empty unless the payload is not the leader's history: ZOOKEEPER-2846, -4925).
    Sync {
        learner: Sid,
        mode: crate::sync::SyncMode,
        branch: crate::sync::SyncBranch,
        txns: u64,
        /// Boxed: every effect is as large as its largest observation.
        differs: Box<SyncDiffers>,
    },
    /// A follower processed NEWLEADER: its log is now its copy of the leader's history.
    NewLeaderAcked { leader: Sid, epoch: Epoch },
    /// A follower got UPTODATE and serves; its applied state is its log up to
    /// `committed_upto`.
    Synced { leader: Sid, epoch: Epoch, committed_upto: Zxid },
    /// The leader proposed a txn.
    Proposed { zxid: Zxid },
    /// The leader committed (and applied) a txn.
    Committed { zxid: Zxid },
    /// A follower applied a committed txn while serving.
    Delivered { zxid: Zxid },
    /// A txn that changes the data tree was applied; `digest` is the tree's digest after
    /// it (two servers at the same zxid must hold the same tree), `closed` the session it
    /// closed, if it was a closeSession.
    Applied { zxid: Zxid, digest: u64, closed: Option<SessionId> },
    /// The leader proposed a reconfig; `config`'s version is its zxid.
    ReconfigProposed { config: QuorumVerifier },
    /// The server activated a configuration (`processReconfig`, `setQuorumVerifier`):
    /// from a commit (`designated` is the leader it names), a NEWLEADER at UPTODATE, or FLE.
    ConfigActivated { config: QuorumVerifier, designated: Option<Sid> },
}

/// How a sync payload differs from its leader's history (both empty as it should be).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncDiffers {
    pub foreign: Vec<Zxid>,
    pub missing: Vec<Zxid>,
}

/// An effect a node asks the world to carry out, returned as data.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    Send {
        to: Sid,
        msg: Message,
    },
    SetTimer {
        timer: Timer,
        after_us: u64,
    },
    CancelTimer {
        timer: Timer,
    },
    /// A volatile write; durable only once an fsync of its file issued after it completes.
    Write(DiskWrite),
    /// Make every earlier write to `file` durable; then deliver [`Input::Durable`] and send
    /// `then_send`. A message that may only leave after a write is durable rides here.
    Fsync {
        id: u64,
        file: DiskFile,
        then_send: Vec<(Sid, Message)>,
    },
    /// Close the connection with `peer` (a `LearnerHandler` giving up on its learner).
    CloseConnection {
        peer: Sid,
    },
    /// The process exits (`System.exit`): always the last effect of a step; the node takes
    /// no input after it.
    Exit {
        code: ExitCode,
    },
    ClientReply {
        client: u64,
        reply: ClientReply,
    },
    Observe(Observation),
}

/// Where a node writes its effects. The simulator reuses one across steps.
#[derive(Debug, Default)]
pub struct Outbox {
    pub effects: Vec<Effect>,
}

impl Outbox {
    pub fn send(&mut self, to: Sid, msg: Message) {
        self.effects.push(Effect::Send { to, msg });
    }

    pub fn set_timer(&mut self, timer: Timer, after_us: u64) {
        assert!(after_us > 0, "timer {timer:?} set to fire immediately");
        self.effects.push(Effect::SetTimer { timer, after_us });
    }

    pub fn cancel_timer(&mut self, timer: Timer) {
        self.effects.push(Effect::CancelTimer { timer });
    }

    pub fn observe(&mut self, obs: Observation) {
        self.effects.push(Effect::Observe(obs));
    }

    pub fn clear(&mut self) {
        self.effects.clear();
    }
}

/// The role a server plays, as in `QuorumPeer.run`.
#[derive(Clone, Debug)]
enum Role {
    Looking,
    Following(Follower),
    Leading(Leader),
}

/// What every role of a server shares: its config, its view of its disk (durable image
/// plus the writes it issued since), its in-memory database, and the client writes it owes
/// an answer.
#[derive(Clone, Debug)]
pub struct Core {
    pub cfg: NodeConfig,
    disk: DurableState,
    /// `ZKDatabase`: the tree, `lastProcessedZxid`, `committedLog`.
    db: ZkDatabase,
    next_fsync: u64,
    /// Client writes this server took and will answer when it applies them.
    client_writes: BTreeSet<(u64, u64)>,
    /// Client connections, their sessions, what they are owed and their watches.
    pub clients: ClientConns,
    /// `zk-2355`: the zxid a DIFF claimed as processed before its txns were applied.
    claimed_processed: Option<Zxid>,
    /// The configuration in force (`quorumVerifier`) and the newer one seen, if any
    /// (`lastSeenQuorumVerifier`); changed only by [`crate::reconfig`]'s methods.
    pub(crate) quorums: Quorums,
    /// `reconfigFlag` with the vote `updateVote` set: a reconfig named this leader (and
    /// the zxid it was designated at), so leaving the current role goes straight to the
    /// new one (`updateServerState`) instead of to an election.
    pub(crate) designated: Option<(Sid, Zxid)>,
    /// `restartLeaderElection` ran (`processReconfig` activated other members): the node
    /// replaces its election object before it next looks for a leader.
    pub(crate) restart_election: bool,
    /// `SyncRequestProcessor`: txns logged since the last roll (`ZKDatabase.txnCount`),
    /// and the random part of the next snapshot's threshold (`randRoll`).
    txn_count: u64,
    rand_roll: u64,
    roll_state: u64,
    /// Loading found no files: the empty snapshot is written at start.
    save_empty_snapshot: bool,
}

impl Core {
    pub fn id(&self) -> Sid {
        self.cfg.id
    }

    pub fn disk(&self) -> &DurableState {
        &self.disk
    }

    pub fn last_processed(&self) -> Zxid {
        self.db.last_processed()
    }

    /// The zxid the server reports for itself in FLE and ACKEPOCH:
    /// `QuorumPeer.getLastLoggedZxid`, which is the in-memory `lastProcessedZxid` (not the
    /// log's last zxid: see [`crate::zkdb`]).
    pub fn last_zxid(&self) -> Zxid {
        let processed = self.db.last_processed();
        match self.cfg.variant {
            Variant::Zk2355 => self.claimed_processed.unwrap_or(processed).max(processed),
            _ => processed,
        }
    }

    pub fn tree(&self) -> &DataTree {
        self.db.tree()
    }

    pub fn db(&self) -> &ZkDatabase {
        &self.db
    }

    pub(crate) fn db_mut(&mut self) -> &mut ZkDatabase {
        &mut self.db
    }

    /// Appends a txn to the open log file (a new one if none is open), as
    /// `FileTxnLog.append` does.
    pub fn append(&mut self, txn: Txn, out: &mut Outbox) {
        let file = self.disk.log.append_target(txn.zxid);
        self.txn_count += 1;
        self.write(DiskWrite::Append { file, txn }, out);
    }

    /// `SyncRequestProcessor.run` after an append: past `snapCount / 2 + randRoll` txns,
    /// roll the log and take a snapshot (ZooKeeper's snapshot thread: not synced).
    pub fn maybe_snapshot(&mut self, out: &mut Outbox) {
        if self.txn_count <= self.cfg.storage.snap_count / 2 + self.rand_roll {
            return;
        }
        self.disk.log.roll();
        self.txn_count = 0;
        self.draw_rand_roll();
        self.take_snapshot(false, out);
    }

    /// `resetSnapshotStats`: `randRoll` uniform in `[0, snapCount / 2)`, drawn from the
    /// process's seed (splitmix64, so the node itself stays a pure function of its inputs).
    fn draw_rand_roll(&mut self) {
        self.roll_state = self.roll_state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.roll_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let half = self.cfg.storage.snap_count / 2;
        self.rand_roll = if half == 0 { 0 } else { z % half };
    }

    /// `ZooKeeperServer.takeSnapshot(syncSnap)`: the tree as it is now, named by its
    /// `lastProcessedZxid`. Returns the fsync that makes a synced one durable.
    pub fn take_snapshot(&mut self, sync: bool, out: &mut Outbox) -> Option<u64> {
        let snap = self.db.snapshot();
        self.write(DiskWrite::Snapshot(snap), out);
        sync.then(|| self.fsync(DiskFile::Snapshot, Vec::new(), out))
    }

    /// `ZKDatabase.truncateLog`: clear the database, truncate the log (not synced), load
    /// again. False when there is no log file to truncate.
    pub fn truncate_log(&mut self, zxid: Zxid, out: &mut Outbox) -> bool {
        self.db.clear();
        let Some(t) = self.disk.log.truncation(zxid) else { return false };
        self.write(DiskWrite::Truncate(t), out);
        self.db.load(&self.disk).is_ok()
    }

    /// `fastForwardDataBase`, when a running server shuts down its role: applies what the
    /// log holds past `lastProcessedZxid`, never going back.
    pub fn fast_forward(&mut self) {
        self.db.fast_forward(&self.disk.log);
    }

    /// `ZKDatabase.clear` and, as `getLastLoggedZxid` does for a database that is not
    /// initialized, load it again from disk.
    pub fn reload(&mut self) {
        // The files loaded when the process started; they cannot have become unloadable.
        self.db.load(&self.disk).expect("files that loaded once load again");
    }

    pub fn quorums(&self) -> &Quorums {
        &self.quorums
    }

    /// A sync completed: nothing is claimed beyond what is applied.
    pub fn clear_claim(&mut self) {
        self.claimed_processed = None;
    }

    /// `zk-2355`: DIFF sets lastProcessedZxid to the leader's before the txns are applied.
    pub fn claim_processed(&mut self, zxid: Zxid) {
        assert_eq!(self.cfg.variant, Variant::Zk2355, "only zk-2355 claims txns it has not applied");
        self.claimed_processed = Some(zxid);
    }

    /// Issues a volatile write, applying it to the server's own view.
    pub fn write(&mut self, w: DiskWrite, out: &mut Outbox) {
        self.disk.apply(&w);
        out.effects.push(Effect::Write(w));
    }

    /// Asks for an fsync of `file`; `then_send` leaves once it completes.
    pub fn fsync(&mut self, file: DiskFile, then_send: Vec<(Sid, Message)>, out: &mut Outbox) -> u64 {
        let id = self.next_fsync;
        self.next_fsync += 1;
        out.effects.push(Effect::Fsync { id, file, then_send });
        id
    }

    /// Applies a committed txn in zxid order, answering the client if it wrote to us
    /// (`FinalRequestProcessor` -> `ZooKeeperServer.processTxn(Request)`, which adds it to
    /// `committedLog`).
    pub fn apply(&mut self, txn: &Txn, out: &mut Outbox) {
        self.apply_as(txn, true, out);
    }

    /// Applies a txn committed during a sync, before NEWLEADER (a SNAP's or TRUNC's
    /// COMMIT) or with the DIFF's committed txns. Whether it reaches `committedLog` depends
    /// on the release ([`crate::release`]); the `zk-4925` variant keeps 3.9.3's "never".
    pub fn apply_synced(&mut self, txn: &Txn, diff: bool, out: &mut Outbox) {
        let release = self.cfg.release;
        let by_release =
            if diff { release.diff_commits_in_committed_log() } else { release.presync_commits_in_committed_log() };
        let committed_log = by_release && self.cfg.variant != Variant::Zk4925;
        self.apply_as(txn, committed_log, out);
    }

    /// Applies a committed txn; `committed_log` says whether it also goes into
    /// `committedLog`.
    pub fn apply_as(&mut self, txn: &Txn, committed_log: bool, out: &mut Outbox) {
        let last = self.db.last_processed();
        assert!(txn.zxid > last, "server {} applies {} after {}", self.cfg.id, txn.zxid, last);
        if committed_log {
            self.db.add_committed(txn.clone());
        }
        match &txn.op {
            Op::Initial | Op::Write { .. } => {
                self.db.process(txn);
            }
            Op::CreateSession { .. } | Op::CloseSession(_) | Op::Tree(_) | Op::Reconfig(_) => {
                self.apply_to_tree(txn, out)
            }
        }
        if let Op::Write { client, seq } = &txn.op {
            if self.client_writes.remove(&(*client, *seq)) {
                let reply = ClientReply::WriteOk { seq: *seq, zxid: txn.zxid };
                out.effects.push(Effect::ClientReply { client: *client, reply });
            }
        }
    }

    /// `FinalRequestProcessor`: apply to the tree, fire the watches, then answer the
    /// request's own client, then the reads that waited for it.
    fn apply_to_tree(&mut self, txn: &Txn, out: &mut Outbox) {
        let applied = self.db.process(txn);
        let closed = match &txn.op {
            Op::CloseSession(c) => Some(c.session),
            _ => None,
        };
        out.observe(Observation::Applied { zxid: txn.zxid, digest: self.db.tree().digest(), closed });
        for (client, event) in self.clients.watches.trigger(&applied.events) {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::Watch { event } });
        }
        match &txn.op {
            Op::CreateSession { client, timeout_ms } => {
                if self.clients.finish_create(*client, txn.zxid.0) {
                    let reply = ClientReply::Connected { session: txn.zxid.0, timeout_ms: *timeout_ms };
                    out.effects.push(Effect::ClientReply { client: *client, reply });
                }
            }
            Op::CloseSession(c) => {
                let session = &c.session;
                // The session's connections here close with it.
                for client in self.clients.clients_of(*session) {
                    out.effects.push(Effect::ClientReply { client, reply: ClientReply::SessionExpired });
                    self.clients.remove(client);
                }
            }
            Op::Tree(w) => {
                let (session, xid) = (&w.session, &w.xid);
                let response = applied.response.expect("a tree txn has an answer");
                self.complete_request(*session, *xid, response, out);
            }
            Op::Reconfig(r) => {
                let response = applied.response.expect("a reconfig has an answer");
                self.complete_request(r.session, r.xid, response, out);
            }
            Op::Initial | Op::Write { .. } => unreachable!("no tree change"),
        }
    }

    /// The leader's answer to a reconnect with `session`.
    pub fn finish_revalidate(&mut self, client: u64, session: SessionId, valid: bool, out: &mut Outbox) {
        if !self.clients.finish_revalidate(client, session, valid) {
            return;
        }
        let reply = match self.db.tree().sessions().get(&session) {
            Some(timeout_ms) if valid => ClientReply::Connected { session, timeout_ms: *timeout_ms },
            _ => {
                self.clients.remove(client);
                ClientReply::SessionExpired
            }
        };
        out.effects.push(Effect::ClientReply { client, reply });
    }

    /// A session's write or sync got its answer here: reply to its connection, then the
    /// reads held behind it.
    pub fn complete_request(&mut self, session: SessionId, xid: Xid, response: Response, out: &mut Outbox) {
        let (owed, reads) = self.clients.complete(session, xid);
        if !owed {
            return;
        }
        let Some(client) = self.clients.clients_of(session).first().copied() else { return };
        let reply = ClientReply::Reply { xid, zxid: self.db.last_processed(), response: Box::new(response) };
        out.effects.push(Effect::ClientReply { client, reply });
        for (xid, request) in reads {
            self.serve_read(client, xid, &request, out);
        }
    }

    /// A read, served from this server's tree (sequentially consistent, not linearizable).
    pub fn serve_read(&mut self, client: u64, xid: Xid, request: &Request, out: &mut Outbox) {
        let response = match request {
            Request::GetData { path, watch } => match self.db.tree().get_data(path) {
                Ok((data, stat)) => {
                    if *watch {
                        self.clients.watches.add_data_watch(path, client);
                    }
                    Response::GetData { data, stat }
                }
                Err(code) => Response::Error { code },
            },
            Request::GetChildren { path, watch } => match self.db.tree().get_children(path) {
                Ok((children, stat)) => {
                    if *watch {
                        self.clients.watches.add_child_watch(path, client);
                    }
                    Response::GetChildren { children, stat }
                }
                Err(code) => Response::Error { code },
            },
            Request::Exists { path, watch } => {
                // An exists watch is set whether or not the node is there.
                if *watch {
                    self.clients.watches.add_data_watch(path, client);
                }
                Response::Exists { stat: self.db.tree().exists(path) }
            }
            Request::GetConfig => Response::Config { config: self.quorums.current },
            other => panic!("{other:?} is not a read"),
        };
        let reply = ClientReply::Reply { xid, zxid: self.db.last_processed(), response: Box::new(response) };
        out.effects.push(Effect::ClientReply { client, reply });
    }

    /// Remembers a client write to answer once it is applied here.
    pub fn take_client_write(&mut self, client: u64, seq: u64) {
        self.client_writes.insert((client, seq));
    }
}

/// One ZooKeeper server.
#[derive(Clone, Debug)]
pub struct Node {
    core: Core,
    fle: Election,
    role: Role,
    /// The process exited: no further input reaches it.
    exited: bool,
    /// `QuorumPeer.currentVote`: the vote that ended the last election (what a non-LOOKING
    /// server answers LOOKING peers with), and the round it won.
    current_vote: Option<(Vote, Round)>,
}

impl Node {
    /// Builds a server from its durable image, running ZooKeeper's startup checks. The
    /// node does nothing until it receives [`Input::Start`]. Like `loadDataBase`, it
    /// applies its whole log.
    pub fn recover(cfg: NodeConfig, durable: DurableState) -> Result<Node, StartupError> {
        // `QuorumPeer.loadDataBase`: load, then check the epoch files against what loaded.
        let mut db = ZkDatabase::new(cfg.storage.commit_log_count);
        let loaded = db.load(&durable)?;
        durable.startup_check(db.last_processed())?;
        // The dynamic configuration file, if any, overrides the static one; the `.next` file
        // is read only beside a dynamic file (`QuorumPeerConfig.parse`), and
        // `QuorumPeer.createFromConfig` passes it to `setLastSeenQuorumVerifier(next, false)`,
        // which takes it whatever its version (one not newer than the configuration in force
        // counts as nothing pending, see `Core::see_config`).
        let current = durable.config.unwrap_or(cfg.quorum);
        let last_seen = durable.config.and(durable.next_config).unwrap_or(current);
        let mut durable = durable;
        // A new process holds no log file open: its first append starts a new one.
        durable.log.open = false;
        let mut core = Core {
            db,
            roll_state: cfg.roll_seed,
            cfg,
            disk: durable,
            next_fsync: 0,
            client_writes: BTreeSet::new(),
            clients: ClientConns::default(),
            claimed_processed: None,
            quorums: Quorums::new(current, last_seen),
            designated: None,
            restart_election: false,
            txn_count: 0,
            rand_roll: 0,
            save_empty_snapshot: loaded == Loaded::Empty,
        };
        core.draw_rand_roll();
        Ok(Node { fle: Election::new(core.cfg.id), core, role: Role::Looking, current_vote: None, exited: false })
    }

    pub fn id(&self) -> Sid {
        self.core.cfg.id
    }

    pub fn config(&self) -> &NodeConfig {
        &self.core.cfg
    }

    pub fn state(&self) -> ServerState {
        match &self.role {
            Role::Looking => ServerState::Looking,
            Role::Following(f) if f.is_observer() => ServerState::Observing,
            Role::Following(_) => ServerState::Following,
            Role::Leading(_) => ServerState::Leading,
        }
    }

    /// The leader this server follows or is, when not LOOKING.
    pub fn leader(&self) -> Option<Sid> {
        match &self.role {
            Role::Looking => None,
            Role::Following(f) => Some(f.leader()),
            Role::Leading(_) => Some(self.id()),
        }
    }

    /// Serving: a leader a quorum acknowledged (BROADCAST), or a follower past UPTODATE.
    pub fn is_established(&self) -> bool {
        match &self.role {
            Role::Looking => false,
            Role::Following(f) => f.is_serving(),
            Role::Leading(l) => l.is_established(),
        }
    }

    /// The epoch this server leads or follows in, once known.
    pub fn epoch(&self) -> Option<Epoch> {
        match &self.role {
            Role::Looking => None,
            Role::Following(f) => f.epoch(),
            Role::Leading(l) => l.epoch(),
        }
    }

    /// The configuration in force (`quorumVerifier`).
    pub fn quorum_verifier(&self) -> QuorumVerifier {
        self.core.quorums.current
    }

    /// The newest configuration seen (`lastSeenQuorumVerifier`).
    pub fn last_seen_quorum_verifier(&self) -> QuorumVerifier {
        self.core.quorums.last_seen()
    }

    /// The FLE round (`logicalclock`).
    pub fn round(&self) -> Round {
        self.fle.logical_clock()
    }

    /// The vote this server currently proposes (LOOKING) or stands by (otherwise).
    pub fn vote(&self) -> Vote {
        match (&self.role, &self.current_vote) {
            (Role::Looking, _) | (_, None) => self.fle.proposal(),
            (_, Some((v, _))) => *v,
        }
    }

    /// The server's view of its disk: the durable image plus writes not yet fsynced.
    pub fn disk_view(&self) -> &DurableState {
        self.core.disk()
    }

    /// The server's history as its files hold it (durable and volatile writes): the
    /// newest snapshot's txns, then the log after it.
    pub fn log(&self) -> &[Txn] {
        self.core.disk().history()
    }

    pub fn last_processed(&self) -> Zxid {
        self.core.last_processed()
    }

    /// The data tree at `last_processed`.
    pub fn tree(&self) -> &DataTree {
        self.core.tree()
    }

    /// Switches the release a test server behaves as.
    #[cfg(test)]
    pub(crate) fn set_release(&mut self, release: crate::release::Release) {
        self.core.cfg.release = release;
    }

    /// The leader role, for tests that need to reach states no short run reaches.
    #[cfg(test)]
    pub(crate) fn leader_mut(&mut self) -> Option<&mut Leader> {
        match &mut self.role {
            Role::Leading(l) => Some(l),
            _ => None,
        }
    }

    /// `startLeaderElection`'s `new Vote(myid, getLastLoggedZxid(), getCurrentEpoch())`.
    fn self_vote(&self) -> Vote {
        Vote { leader: self.id(), zxid: self.core.last_zxid(), peer_epoch: self.core.disk().current_epoch }
    }

    /// `FastLeaderElection.getInitId`, `getInitLastLoggedZxid`, `getPeerEpoch`: the id is
    /// this server's if it votes in the configuration in force, else nobody
    /// (`Long.MIN_VALUE`: id 0 here, which any voter's vote beats); the zxid and epoch are
    /// its real last logged zxid and currentEpoch while its learner type is PARTICIPANT (a
    /// voter, or a joiner outside the configuration: `updateLearnerType` makes a server
    /// not in the view a participant), and `Long.MIN_VALUE` for an OBSERVER (0 here, the
    /// smallest unsigned value; a voter's vote beats it either way). Same in 3.8.0, 3.9.3
    /// and 3.9.4.
    fn init_vote(&self) -> Vote {
        let current = &self.core.quorums.current;
        let leader = if current.is_voter(self.id()) { self.id() } else { 0 };
        if current.is_observer(self.id()) {
            return Vote { leader, zxid: Zxid::ZERO, peer_epoch: 0 };
        }
        Vote { leader, zxid: self.core.last_zxid(), peer_epoch: self.core.disk().current_epoch }
    }

    /// Whether the process exited (`ExitCode`).
    pub fn has_exited(&self) -> bool {
        self.exited
    }

    /// Handles one input. Effects are appended to `out`.
    pub fn step(&mut self, input: Input, out: &mut Outbox) {
        assert!(!self.exited, "server {}: input after its process exited", self.id());
        match input {
            Input::Start => {
                if std::mem::take(&mut self.core.save_empty_snapshot) {
                    // `FileTxnSnapLog.restore` with no files: an empty snapshot, not synced.
                    self.core.take_snapshot(false, out);
                }
                // `QuorumPeer.start` -> `startLeaderElection`: `currentVote` is the server's
                // own vote until an election ends.
                self.current_vote = Some((self.self_vote(), ROUND_NONE));
                self.start_looking(LookingReason::Startup, out)
            }
            Input::Message { from, msg: Message::Notification(n) } => self.on_notification(from, n, out),
            Input::Message { from, msg } => self.on_quorum_message(from, msg, out),
            Input::Timer { timer } => self.on_timer(timer, out),
            Input::ConnectionUp { peer } => {
                // QCM's SendWorker resends the last notification on a new connection, so
                // a peer that was cut off learns our vote without waiting for a timeout.
                if matches!(self.role, Role::Looking) {
                    self.fle.resend_to(&self.core.quorums, peer, out);
                }
            }
            Input::ConnectionDown { peer } => self.on_connection_down(peer, out),
            Input::Durable { fsync } => self.on_durable(fsync, out),
            Input::Client { client, request } => self.on_client(client, request, out),
            Input::ClientGone { client } => self.core.clients.remove(client),
        }
        self.restart_election_if_reconfigured();
        if self.exited {
            return;
        }
        self.update_election_vote();
        self.drain_self_notifications(out);
    }

    /// `QuorumPeer.restartLeaderElection` / `startLeaderElection`: a new
    /// `FastLeaderElection` object, whose `logicalclock` starts at 0 (its first
    /// `lookForLeader` makes it 1). The vote this server answers with
    /// (`currentVote`) is kept: `startLeaderElection` resets it only when LOOKING.
    fn restart_election_if_reconfigured(&mut self) {
        if std::mem::take(&mut self.core.restart_election) {
            self.fle = Election::new(self.id());
        }
    }

    /// `QuorumPeer.updateElectionVote` (ZOOKEEPER-1732): once a leader is established, or a
    /// learner gets UPTODATE, the vote it answers LOOKING servers with carries the epoch it
    /// now serves in, so every member of the ensemble reports the same vote. (A reconfig's
    /// designated leader is taken with the epoch of before; without this its followers and
    /// it would report different epochs and a joining server could never match them.)
    fn update_election_vote(&mut self) {
        let Some((vote, _)) = &mut self.current_vote else { return };
        let serving_in = match &self.role {
            Role::Looking => None,
            Role::Following(f) if f.is_serving() => f.epoch(),
            Role::Leading(l) if l.is_established() => l.epoch(),
            _ => None,
        };
        if let Some(epoch) = serving_in {
            vote.peer_epoch = epoch;
        }
    }

    fn on_client(&mut self, client: u64, request: ClientRequest, out: &mut Outbox) {
        match request {
            ClientRequest::Srvr => {
                let reply = ClientReply::Srvr {
                    state: self.state(),
                    leader: self.leader(),
                    zxid: self.core.last_processed(),
                    current_epoch: self.core.disk().current_epoch,
                };
                out.effects.push(Effect::ClientReply { client, reply });
            }
            ClientRequest::Write { seq } => {
                let back_to_looking = match &mut self.role {
                    Role::Leading(l) if l.is_established() => l.on_client_write(&mut self.core, client, seq, out),
                    Role::Following(f) if f.is_serving() => {
                        f.on_client_write(&mut self.core, client, seq, out);
                        None
                    }
                    _ => {
                        out.effects.push(Effect::ClientReply { client, reply: ClientReply::NotServing { seq } });
                        None
                    }
                };
                if let Some(reason) = back_to_looking {
                    self.start_looking(reason, out);
                }
            }
            ClientRequest::Connect { session, timeout_ms, last_zxid_seen } => {
                self.on_connect(client, session, timeout_ms, last_zxid_seen, out)
            }
            ClientRequest::Op { xid, call } => self.on_client_op(client, xid, *call, out),
            ClientRequest::Ping => match self.core.clients.session_of(client) {
                Some(session) if self.is_established() => {
                    self.touch_session(session);
                    out.effects.push(Effect::ClientReply { client, reply: ClientReply::Pong });
                }
                _ => out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed }),
            },
            ClientRequest::SetWatches(w) => {
                if self.core.clients.session_of(client).is_none() {
                    return;
                }
                let tree = self.core.db.tree();
                let WatchSet { relative_zxid, data, exist, child } = *w;
                let events = self.core.clients.watches.set_watches(tree, client, relative_zxid, &data, &exist, &child);
                for event in events {
                    out.effects.push(Effect::ClientReply { client, reply: ClientReply::Watch { event } });
                }
            }
        }
    }

    /// `ZooKeeperServer.processConnectRequest`: refuse when not serving or behind the
    /// client; a new session becomes a `createSession` txn, an old one is revalidated by the
    /// leader (which alone knows whether it expired).
    fn on_connect(
        &mut self,
        client: u64,
        session: Option<SessionId>,
        timeout_ms: u32,
        last_zxid_seen: Zxid,
        out: &mut Outbox,
    ) {
        self.core.clients.remove(client); // A connection replaces an earlier one.
        if !self.is_established() || last_zxid_seen > self.core.last_processed() {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
            return;
        }
        let timeout_ms = session::negotiate_timeout(timeout_ms, self.core.cfg.timing.tick_ms());
        let mut back_to_looking = None;
        match (session, &mut self.role) {
            (None, Role::Leading(l)) => {
                self.core.clients.start_create(client, timeout_ms);
                back_to_looking = l.propose(&mut self.core, Op::CreateSession { client, timeout_ms }, out);
            }
            (None, Role::Following(f)) => {
                self.core.clients.start_create(client, timeout_ms);
                f.forward(Message::CreateSession { client, timeout_ms }, out);
            }
            (Some(s), Role::Leading(l)) => {
                self.core.clients.start_revalidate(client, s);
                let valid = l.touch(&self.core, s);
                self.core.finish_revalidate(client, s, valid, out);
            }
            (Some(s), Role::Following(f)) => {
                self.core.clients.start_revalidate(client, s);
                f.forward(Message::Revalidate { client, session: s }, out);
            }
            (_, Role::Looking) => unreachable!("established"),
        }
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    /// A session's API call: writes and syncs go to the leader; reads are answered here,
    /// after the session's earlier writes.
    fn on_client_op(&mut self, client: u64, xid: Xid, request: Request, out: &mut Outbox) {
        let Some(session) = self.core.clients.session_of(client) else {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
            return;
        };
        if !self.is_established() {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
            return;
        }
        self.touch_session(session);
        if request.is_write() || matches!(request, Request::Sync { .. }) {
            self.core.clients.push_in_flight(session, xid);
            let back_to_looking = match &mut self.role {
                Role::Leading(l) => l.on_session_op(&mut self.core, None, session, xid, request, out),
                Role::Following(f) => {
                    f.forward(Message::ClientOp { session, xid, request: Box::new(request) }, out);
                    None
                }
                Role::Looking => unreachable!("established"),
            };
            if let Some(reason) = back_to_looking {
                self.start_looking(reason, out);
            }
        } else if self.core.clients.must_hold(session) {
            self.core.clients.hold_read(session, xid, request);
        } else {
            self.core.serve_read(client, xid, &request, out);
        }
    }

    /// A client's request or ping keeps its session alive: at the leader directly, at a
    /// follower through its next PING answer.
    fn touch_session(&mut self, session: SessionId) {
        match &mut self.role {
            Role::Leading(l) => {
                l.touch(&self.core, session);
            }
            Role::Following(_) => {
                let timeout = self.core.db.tree().sessions().get(&session).copied().unwrap_or(0);
                self.core.clients.touch(session, timeout);
            }
            Role::Looking => {}
        }
    }

    fn on_durable(&mut self, fsync: u64, out: &mut Outbox) {
        assert!(fsync < self.core.next_fsync, "fsync {fsync} completed before it was issued");
        let back_to_looking = match &mut self.role {
            Role::Looking => None,
            Role::Following(f) => f.on_durable(&mut self.core, fsync, out),
            Role::Leading(l) => l.on_durable(&mut self.core, fsync, out),
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    /// FLE delivers a server's own notifications to itself through its receive queue,
    /// after whatever it is processing now (`QuorumCnxManager.toSend` to self).
    fn drain_self_notifications(&mut self, out: &mut Outbox) {
        while let Some(n) = self.fle.take_self_notification() {
            if matches!(self.role, Role::Looking) {
                let init = self.init_vote();
                let q = self.core.quorums;
                if let Some(d) = self.fle.on_notification(&self.core.cfg, &q, init, self.id(), n, out) {
                    self.decide(d, out);
                }
            }
        }
    }

    /// `FastLeaderElection.WorkerReceiver`, then `lookForLeader` while LOOKING.
    fn on_notification(&mut self, from: Sid, n: Notification, out: &mut Outbox) {
        let q = self.core.quorums;
        if n.config.version() > q.current.version() && matches!(self.role, Role::Looking) {
            // A newer configuration, from anyone: adopt it; if its members differ, the
            // election starts over in it and this notification is dropped.
            self.core.activate_config(n.config, None, out);
            if !n.config.same_members(&q.current) {
                // `shuttingDownLE`: the election object is shut down and `QuorumPeer.run`
                // builds a new one (`startLeaderElection`: `logicalclock` starts over, and
                // `currentVote` becomes a vote for itself with election epoch -1).
                // The old object's wait ends with it (`lookForLeader` returns).
                out.cancel_timer(Timer::FleNotification);
                out.cancel_timer(Timer::FleFinalize);
                self.fle = Election::new(self.id());
                self.current_vote = Some((self.self_vote(), ROUND_NONE));
                self.start_looking(LookingReason::NewConfig, out);
                return;
            }
        }
        let q = self.core.quorums;
        if !q.voters().contains(from) {
            // `WorkerReceiver`, `!validVoter(response.sid)`: not a voter of our
            // configurations (an observer, a joiner, a removed server). It only learns
            // `getCurrentVote()` (the vote that ended our last election, or our own vote
            // from `startLeaderElection`) with our `logicalclock`, state and configuration,
            // whatever our state: a LOOKING server does not send its current proposal.
            // Same in 3.8.0, 3.9.3 and 3.9.4.
            let (vote, _) = self.current_vote.unwrap_or((self.self_vote(), ROUND_NONE));
            let answer = Notification {
                state: self.state(),
                leader: vote.leader,
                zxid: vote.zxid,
                election_epoch: self.fle.logical_clock(),
                peer_epoch: vote.peer_epoch,
                config: q.current,
            };
            out.send(from, Message::Notification(answer));
            return;
        }
        let q = self.core.quorums;
        match &self.role {
            Role::Looking => {
                // Answer a LOOKING peer from an older round with our vote.
                if n.state == ServerState::Looking && n.election_epoch < self.fle.logical_clock() {
                    out.send(from, Message::Notification(self.fle.notification(&q)));
                }
                if !q.voters().contains(n.leader) {
                    return; // `validVoter(n.leader)`: a vote for a non-voter does not count.
                }
                let init = self.init_vote();
                if let Some(d) = self.fle.on_notification(&self.core.cfg, &q, init, from, n, out) {
                    self.decide(d, out);
                }
            }
            Role::Following(_) | Role::Leading(_) => {
                // A server out of election tells a LOOKING peer who leads.
                if n.state == ServerState::Looking {
                    out.send(from, Message::Notification(self.own_notification()));
                }
            }
        }
    }

    /// What this server tells a peer: its proposal while LOOKING, else the vote that ended
    /// its last election with its state; always its configuration.
    fn own_notification(&self) -> Notification {
        match (&self.role, self.current_vote) {
            (Role::Looking, _) | (_, None) => self.fle.notification(&self.core.quorums),
            (_, Some((vote, round))) => Notification {
                state: self.state(),
                leader: vote.leader,
                zxid: vote.zxid,
                election_epoch: round,
                peer_epoch: vote.peer_epoch,
                config: self.core.quorums.current,
            },
        }
    }

    fn on_quorum_message(&mut self, from: Sid, msg: Message, out: &mut Outbox) {
        let back_to_looking = match &mut self.role {
            Role::Looking => {
                // No learner acceptor is open while LOOKING: a connection attempt is refused,
                // anything else was meant for a role we left.
                if matches!(msg, Message::FollowerInfo { .. }) {
                    out.send(from, Message::Refused);
                }
                None
            }
            Role::Following(f) => f.on_message(&mut self.core, from, msg, out),
            Role::Leading(l) => l.on_message(&mut self.core, from, msg, out),
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    fn on_timer(&mut self, timer: Timer, out: &mut Outbox) {
        let back_to_looking = match (&mut self.role, timer) {
            (Role::Looking, Timer::FleNotification | Timer::FleFinalize) => {
                let q = self.core.quorums;
                if let Some(d) = self.fle.on_timer(&self.core.cfg, &q, timer, out) {
                    self.decide(d, out);
                }
                None
            }
            (Role::Following(f), Timer::LearnerRead | Timer::LearnerConnectRetry) => {
                f.on_timer(&mut self.core, timer, out)
            }
            (Role::Leading(l), Timer::LeaderTick | Timer::LeaderInit) => l.on_timer(&mut self.core, timer, out),
            // A timer of a role this server no longer plays: it was cancelled on the way
            // out, so the simulator should not deliver it.
            (_, t) => panic!("server {}: timer {t:?} fired in state {}", self.id(), self.state()),
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    fn on_connection_down(&mut self, peer: Sid, out: &mut Outbox) {
        let back_to_looking = match &mut self.role {
            Role::Looking => None,
            Role::Following(f) => f.on_connection_down(peer),
            Role::Leading(l) => {
                l.on_connection_down(peer);
                None
            }
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    /// `QuorumPeer.run` going back to LOOKING: leave the role, start a new election round.
    /// (Or, where ZooKeeper exits the process, exit.)
    fn start_looking(&mut self, reason: LookingReason, out: &mut Outbox) {
        if let LookingReason::Exit(code) = reason {
            self.exited = true;
            out.effects.push(Effect::Exit { code });
            return;
        }
        // Leaving a role closes its quorum connections (`Learner.shutdown`,
        // `LearnerHandler.shutdown`), so the other ends notice at once.
        match &self.role {
            Role::Looking => {}
            Role::Following(f) => {
                out.cancel_timer(Timer::LearnerRead);
                out.cancel_timer(Timer::LearnerConnectRetry);
                out.effects.push(Effect::CloseConnection { peer: f.leader() });
            }
            Role::Leading(l) => {
                out.cancel_timer(Timer::LeaderTick);
                out.cancel_timer(Timer::LeaderInit);
                for peer in l.learners() {
                    out.effects.push(Effect::CloseConnection { peer });
                }
            }
        }
        if !matches!(self.role, Role::Looking) {
            // `ZooKeeperServer.shutdown`: a running server fast-forwards its database over
            // what it logged (the ZOOKEEPER-2845 fix: a logged but uncommitted txn counts in
            // the next election); it never goes back. `Learner.shutdown` clears it after an
            // interrupted SNAP (`shutdown(syncMode == SNAP)`); an interrupted TRUNC keeps
            // what it applied past its log (ZOOKEEPER-5094). The variants predate the fix.
            let running = self.is_established();
            let interrupted_snap = matches!(&self.role, Role::Following(f) if f.in_snap_sync());
            if running && !matches!(self.core.cfg.variant, Variant::Zk2845 | Variant::Zk2355) {
                self.core.fast_forward();
            }
            if interrupted_snap {
                self.core.reload();
            }
            // Clients of a server that stops serving get no answer (connection loss), and
            // its client connections close.
            self.core.client_writes.clear();
            for client in self.core.clients.close_all() {
                out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
            }
        }
        self.role = Role::Looking;
        self.restart_election_if_reconfigured();
        if let Some((leader, zxid)) = self.core.designated.take() {
            // `updateServerState` with the reconfig flag: straight to the role the new
            // configuration gives, following the designated leader with the vote
            // `updateVote` set, `new Vote(designatedLeader, zxid)`: election epoch and peer
            // epoch -1 (the peer epoch is an unsigned epoch here: 0 stands for -1, below
            // any real one; `updateElectionVote` gives it the epoch served in once synced).
            out.observe(Observation::ElectionStarted { round: self.fle.logical_clock(), reason });
            let vote = Vote { leader, zxid, peer_epoch: 0 };
            return self.decide(Decision { vote, round: ROUND_NONE }, out);
        }
        let init = self.init_vote();
        let q = self.core.quorums;
        self.fle.look_for_leader(&self.core.cfg, &q, init, out);
        out.observe(Observation::ElectionStarted { round: self.fle.logical_clock(), reason });
    }

    fn decide(&mut self, d: Decision, out: &mut Outbox) {
        assert!(matches!(self.role, Role::Looking), "server {} decided while not LOOKING", self.id());
        self.current_vote = Some((d.vote, d.round));
        let state = if d.vote.leader == self.id() {
            ServerState::Leading
        } else if self.core.quorums.current.is_observer(self.id()) {
            ServerState::Observing
        } else {
            ServerState::Following
        };
        out.observe(Observation::Decided {
            state,
            leader: d.vote.leader,
            round: d.round,
            zxid: d.vote.zxid,
            peer_epoch: d.vote.peer_epoch,
        });
        // `learningState`: an observer of the configuration in force observes.
        let observer = self.core.quorums.current.is_observer(self.id());
        self.role = if state == ServerState::Leading {
            Role::Leading(Leader::start(&mut self.core, d.round, out))
        } else {
            Role::Following(Follower::start(&mut self.core, d.vote.leader, observer, out))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: Sid) -> Node {
        let cfg = NodeConfig::new(id, QuorumVerifier::majority_of(3), Timing::default(), Variant::None);
        Node::recover(cfg, DurableState::default()).unwrap()
    }

    fn notifications(out: &Outbox) -> Vec<(Sid, Notification)> {
        out.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg: Message::Notification(n) } => Some((*to, *n)),
                _ => None,
            })
            .collect()
    }

    fn looking_from(leader: Sid, round: Round) -> Input {
        let n = Notification {
            state: ServerState::Looking,
            leader,
            zxid: Zxid::ZERO,
            election_epoch: round,
            peer_epoch: 0,
            config: QuorumVerifier::majority_of(3),
        };
        Input::Message { from: leader, msg: Message::Notification(n) }
    }

    /// Server 3 of 3 elected by hearing 1's and 2's votes for it.
    fn leader_3() -> Node {
        let mut n = node(3);
        let mut out = Outbox::default();
        n.step(Input::Start, &mut out);
        for from in [1, 2] {
            let v = Notification {
                state: ServerState::Looking,
                leader: 3,
                zxid: Zxid::ZERO,
                election_epoch: 1,
                peer_epoch: 0,
                config: QuorumVerifier::majority_of(3),
            };
            n.step(Input::Message { from, msg: Message::Notification(v) }, &mut out);
        }
        n.step(Input::Timer { timer: Timer::FleFinalize }, &mut out);
        assert_eq!(n.state(), ServerState::Leading);
        n
    }

    #[test]
    fn a_looking_server_answers_a_looking_peer_from_an_older_round() {
        let mut n = node(1);
        let mut out = Outbox::default();
        n.step(Input::Start, &mut out);
        n.step(Input::Timer { timer: Timer::FleNotification }, &mut out);
        // Jump to round 3 by hearing of it.
        n.step(looking_from(2, 3), &mut out);
        let mut out = Outbox::default();
        n.step(looking_from(3, 1), &mut out);
        let replies = notifications(&out);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].0, 3);
        assert_eq!(replies[0].1.election_epoch, 3);
        assert_eq!(replies[0].1.state, ServerState::Looking);
    }

    #[test]
    fn a_decided_server_answers_looking_peers_with_its_final_vote_and_state() {
        let mut n = leader_3();
        let mut out = Outbox::default();
        n.step(looking_from(1, 9), &mut out);
        let replies = notifications(&out);
        assert_eq!(replies.len(), 1);
        let (to, r) = replies[0];
        assert_eq!(to, 1);
        assert_eq!((r.state, r.leader, r.election_epoch), (ServerState::Leading, 3, 1));
    }

    #[test]
    fn a_decided_server_does_not_answer_servers_out_of_election() {
        let mut n = leader_3();
        let mut out = Outbox::default();
        let v = Notification {
            state: ServerState::Following,
            leader: 3,
            zxid: Zxid::ZERO,
            election_epoch: 1,
            peer_epoch: 0,
            config: QuorumVerifier::majority_of(3),
        };
        n.step(Input::Message { from: 1, msg: Message::Notification(v) }, &mut out);
        assert!(notifications(&out).is_empty());
    }

    #[test]
    fn own_notification_counts_in_the_vote_after_the_current_input() {
        // Server 1 of 3 adopts 3's vote; its own loopback notification then makes 2 of 3.
        let mut n = node(1);
        let mut out = Outbox::default();
        n.step(Input::Start, &mut out);
        let mut out = Outbox::default();
        n.step(looking_from(3, 1), &mut out);
        assert!(out.effects.contains(&Effect::SetTimer { timer: Timer::FleFinalize, after_us: 200_000 }));
    }

    #[test]
    fn a_leader_without_a_quorum_of_learners_gives_up_after_init_limit() {
        let mut n = leader_3();
        assert!(!n.is_established());
        let mut out = Outbox::default();
        n.step(Input::Timer { timer: Timer::LeaderInit }, &mut out);
        assert_eq!(n.state(), ServerState::Looking);
        assert!(out
            .effects
            .contains(&Effect::Observe(Observation::ElectionStarted { round: 2, reason: LookingReason::InitTimeout })));
    }

    #[test]
    fn srvr_reports_mode_and_zxid() {
        let mut n = leader_3();
        let mut out = Outbox::default();
        n.step(Input::Client { client: 7, request: ClientRequest::Srvr }, &mut out);
        assert_eq!(
            out.effects,
            vec![Effect::ClientReply {
                client: 7,
                reply: ClientReply::Srvr {
                    state: ServerState::Leading,
                    leader: Some(3),
                    zxid: Zxid::ZERO,
                    current_epoch: 0
                }
            }]
        );
    }
}
