//! The node contract's vocabulary: what a server takes ([`Input`]), what it asks the world
//! to do ([`Effect`], written into an [`Outbox`]), what it reports for the checker
//! ([`Observation`]), and what it talks to clients in. Data only: this module knows no role
//! and no state machine, so the simulator, the client and every role can share it without
//! a cycle.

use crate::api::{Request, Response, SessionId, WatchedEvent, Xid};
use crate::durable::{DiskFile, DiskWrite, StorageConfig};
use crate::message::Message;
use crate::quorum::QuorumVerifier;
use crate::timing::Timing;
use crate::types::{Epoch, Round, ServerState, Sid, Zxid};
use crate::variant::Variant;
use serde::{Deserialize, Serialize};

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
    /// The leader's `CommitProcessor` hands the txns it committed (`toBeApplied`) to
    /// `FinalRequestProcessor`; armed only when the scenario gives that a latency.
    CommitProcessor,
}

impl Timer {
    pub const COUNT: usize = 7;

    /// A dense index, for per-timer tables in the simulator.
    pub fn index(self) -> usize {
        self as usize
    }
}

// The simulator sizes its per-timer tables with `COUNT`: every index must fit, the last
// timer's included (a timer added after `CommitProcessor` takes its place here).
const _: () = assert!(Timer::CommitProcessor as usize + 1 == Timer::COUNT);

/// A client request to a server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum ClientRequest {
    /// The `srvr` four-letter command: mode, zxid, epoch.
    Srvr,
    /// A write; `seq` is the client's own number for it. The raw-write pipeline: no
    /// session, no tree change (see [`crate::txn::Op::Write`] for why the protocol crate
    /// keeps it beside the session requests).
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
        mode: SyncMode,
        branch: SyncBranch,
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

/// The three ways to synchronize, for observations and summaries.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SyncMode {
    Diff,
    Trunc,
    Snap,
}

/// Which branch of `syncFollower` decided: the model's answer to "why this mode".
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncBranch {
    /// `lastProcessedZxid == peerLastZxid`.
    InSync,
    /// `peerLastZxid > maxCommittedLog` and not a new-epoch zxid.
    TruncPastCommittedLog,
    /// Within `[minCommittedLog, maxCommittedLog]`.
    CommittedLog,
    /// Below `minCommittedLog`: the txn log, then `committedLog`.
    TxnLogThenCommittedLog,
    /// Anything else, a TRUNC across epochs, a log that does not reach back, or a log
    /// too large next to the snapshot.
    Snap,
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
    /// Open a new quorum connection to `peer`, the leader (`Learner.connectToLeader`):
    /// whatever was on the old one is gone. The connection needs the link both ways; the
    /// next message to `peer` is the first on it.
    Connect {
        peer: Sid,
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
#[derive(Clone, Debug, Default)]
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
