//! The ZooKeeper client API's vocabulary: requests, responses, error codes, `Stat`, watch
//! events, and the txns a request becomes once the leader has validated it.
//!
//! Names follow ZooKeeper's Java client (`ZooKeeper`, `CreateMode`,
//! `KeeperException.Code`, `Watcher.Event.EventType`) and its txn records (`CreateTxn`,
//! `DeleteTxn`, `SetDataTxn`, `CreateSessionTxn`, `CloseSessionTxn`, `ErrorTxn`).

use crate::types::Zxid;
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
}

impl Request {
    /// Goes through the leader and becomes a txn.
    pub fn is_write(&self) -> bool {
        matches!(self, Request::Create { .. } | Request::Delete { .. } | Request::SetData { .. })
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
        }
    }
}

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
