//! The ZooKeeper client API's vocabulary: requests, responses, error codes, `Stat`, watch
//! events, and the txns a request becomes once the leader has validated it.
//!
//! Names follow ZooKeeper's Java client (`ZooKeeper`, `CreateMode`,
//! `KeeperException.Code`, `Watcher.Event.EventType`) and its txn records (`CreateTxn`,
//! `DeleteTxn`, `SetDataTxn`, `CreateSessionTxn`, `CloseSessionTxn`, `ErrorTxn`).

use crate::quorum::QuorumVerifier;
use crate::types::{Sid, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A session id. The model uses the zxid of the session's `createSession` txn: unique in
/// the history, and the same on every server.
pub type SessionId = u64;

/// A client's own number for a request (`xid`, `cxid` on the server); replies carry it.
pub type Xid = u64;

/// `CreateMode`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
}

impl CreateMode {
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }

    pub fn is_sequential(self) -> bool {
        matches!(self, CreateMode::PersistentSequential | CreateMode::EphemeralSequential)
    }
}

/// `KeeperException.Code`: the errors the modelled operations return.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NoNode,
    NodeExists,
    BadVersion,
    NotEmpty,
    NoChildrenForEphemerals,
    /// A malformed path (`PathUtils.validatePath`), or a sequential flag where none may be.
    BadArguments,
    /// The session is closed or closing (`SessionTracker.checkSession`).
    SessionExpired,
    /// The server is not serving, or the connection broke before the answer came: the
    /// request may or may not have been applied.
    ConnectionLoss,
    /// A reconfig while another one is proposed and not yet activated.
    ReconfigInProgress,
    /// A reconfig whose new configuration does not have a quorum connected to the leader
    /// and synced.
    NewConfigNoQuorum,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorCode::NoNode => "NoNode",
            ErrorCode::NodeExists => "NodeExists",
            ErrorCode::BadVersion => "BadVersion",
            ErrorCode::NotEmpty => "NotEmpty",
            ErrorCode::NoChildrenForEphemerals => "NoChildrenForEphemerals",
            ErrorCode::BadArguments => "BadArguments",
            ErrorCode::SessionExpired => "SessionExpired",
            ErrorCode::ConnectionLoss => "ConnectionLoss",
            ErrorCode::ReconfigInProgress => "ReconfigInProgress",
            ErrorCode::NewConfigNoQuorum => "NewConfigNoQuorum",
        };
        f.write_str(s)
    }
}

/// A znode's metadata (`Stat`; the fields the model needs).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stat {
    /// The zxid that created the node.
    pub czxid: Zxid,
    /// The zxid that last changed its data.
    pub mzxid: Zxid,
    /// The zxid that last changed its children.
    pub pzxid: Zxid,
    /// Data version: setData count.
    pub version: i32,
    /// Child version: creates and deletes of children.
    pub cversion: i32,
    /// The owning session of an ephemeral node; 0 for a persistent one.
    pub ephemeral_owner: SessionId,
    pub num_children: u32,
}

/// An operation of the client API. Reads are served by the server the client is connected
/// to; writes go through the leader and Zab.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Create {
        path: String,
        data: String,
        mode: CreateMode,
    },
    /// `version: None` stands for ZooKeeper's -1: any version.
    Delete {
        path: String,
        version: Option<i32>,
    },
    SetData {
        path: String,
        data: String,
        version: Option<i32>,
    },
    GetData {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    /// Completes once the leader's last proposed txn (when the sync reached it) has been
    /// applied by the server the client is connected to.
    Sync {
        path: String,
    },
    /// `ZooKeeper.reconfig` (boxed: rare and large).
    Reconfig(Box<ReconfigRequest>),
    /// `ZooKeeper.getConfig`: the configuration this server has activated.
    GetConfig,
}

/// `ZooKeeper.reconfig(joiningServers, leavingServers, newMembers, fromConfig)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReconfigRequest {
    pub change: MembershipChange,
    /// Compare-and-swap: refused with `BadVersion` unless this is the version of the
    /// newest configuration (`fromConfig`; `None` stands for -1).
    pub from_config: Option<Zxid>,
}

/// What a reconfig changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MembershipChange {
    /// Add participants and observers, remove servers, keep the rest.
    Incremental { add_participants: Vec<Sid>, add_observers: Vec<Sid>, remove: Vec<Sid> },
    /// A whole new membership.
    NonIncremental { participants: Vec<Sid>, observers: Vec<Sid> },
}

impl MembershipChange {
    /// The membership after the change, applied to `base`; `None` when it leaves no
    /// voter (`BadArguments`).
    pub fn apply(&self, base: &QuorumVerifier) -> Option<QuorumVerifier> {
        let (voters, observers): (Vec<Sid>, Vec<Sid>) = match self {
            MembershipChange::Incremental { add_participants, add_observers, remove } => {
                let keep = |s: &Sid| !remove.contains(s) && !add_participants.contains(s) && !add_observers.contains(s);
                let mut v: Vec<Sid> = base.voters().filter(keep).collect();
                let mut o: Vec<Sid> = base.observer_set().iter().filter(keep).collect();
                v.extend(add_participants.iter().copied().filter(|s| !remove.contains(s)));
                o.extend(
                    add_observers.iter().copied().filter(|s| !remove.contains(s) && !add_participants.contains(s)),
                );
                (v, o)
            }
            MembershipChange::NonIncremental { participants, observers } => {
                let o = observers.iter().copied().filter(|s| !participants.contains(s)).collect();
                (participants.clone(), o)
            }
        };
        if voters.is_empty() || voters.iter().chain(&observers).any(|s| !(1..=crate::quorum::MAX_SID).contains(s)) {
            return None;
        }
        Some(QuorumVerifier::with_observers(voters, observers))
    }
}

impl Request {
    /// Goes through the leader and becomes a txn.
    pub fn is_write(&self) -> bool {
        matches!(self, Request::Create { .. } | Request::Delete { .. } | Request::SetData { .. } | Request::Reconfig(_))
    }

    pub fn path(&self) -> &str {
        match self {
            Request::Create { path, .. }
            | Request::Delete { path, .. }
            | Request::SetData { path, .. }
            | Request::GetData { path, .. }
            | Request::GetChildren { path, .. }
            | Request::Exists { path, .. }
            | Request::Sync { path } => path,
            Request::Reconfig(_) | Request::GetConfig => CONFIG_NODE,
        }
    }
}

/// The znode that holds the configuration (`ZooDefs.CONFIG_NODE`).
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// The answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// The path created (with its sequence number, for a sequential node).
    Create {
        path: String,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    GetData {
        data: String,
        stat: Stat,
    },
    GetChildren {
        children: Vec<String>,
        stat: Stat,
    },
    /// `None`: no such node (an exists watch is still set).
    Exists {
        stat: Option<Stat>,
    },
    Sync,
    /// The configuration created by a reconfig, or the one a server has activated
    /// (`getConfig`).
    Config {
        config: QuorumVerifier,
    },
    Error {
        code: ErrorCode,
    },
}

/// `Watcher.Event.EventType`, for the events of the data tree.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    NodeCreated,
    NodeDeleted,
    NodeDataChanged,
    NodeChildrenChanged,
}

/// A watch firing (`WatchedEvent`); `zxid` is the txn that fired it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WatchedEvent {
    pub kind: EventType,
    pub path: String,
    pub zxid: Zxid,
}

/// What a validated write does to the data tree (the txn record). Every condition
/// (versions, existence, session liveness) was checked by the leader's prep step, so
/// applying one needs no decision: every server applies it the same way, and applying it
/// again to a tree that already has it changes nothing (`DataTree.processTxn`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "txn", rename_all = "snake_case")]
pub enum TreeTxn {
    /// `CreateTxn`: `path` is final (sequence number included); `parent_cversion` is the
    /// parent's cversion after this create.
    Create {
        path: String,
        data: String,
        /// The owner session of an ephemeral; 0 for a persistent node.
        ephemeral_owner: SessionId,
        parent_cversion: i32,
    },
    /// `DeleteTxn`.
    Delete { path: String },
    /// `SetDataTxn`: `version` is the node's version after the write.
    SetData { path: String, data: String, version: i32 },
    /// `ErrorTxn`: a request prep refused still goes through Zab, so that its answer is
    /// ordered with the session's other answers.
    Error { code: ErrorCode },
}
