//! A transaction as the log, the tree and the protocol messages carry it. A leaf module:
//! the txn log files, the data tree, the durable image and the messages all speak of
//! txns, and this speaks of none of them.

use crate::api::{SessionId, TreeTxn, Xid};
use crate::quorum::QuorumVerifier;
use crate::types::Zxid;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One logged transaction: its zxid and what it does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    pub zxid: Zxid,
    pub op: Op,
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// History a scenario gives a server at start; its content does not matter. Not a
    /// ZooKeeper txn type: kept in the protocol crate because a node recovers from a
    /// durable image, and an image a test or scenario writes needs txns whose content
    /// nothing reads (ZooKeeper's own tests build logs of arbitrary `SetData` txns alike).
    Initial,
    /// A client's write: the client and its own sequence number for the request. It does
    /// not touch the data tree (the `writes` workload measures broadcast alone). Not a
    /// ZooKeeper txn type either: the raw-write pipeline ([`crate::contract::ClientRequest::Write`])
    /// is the smallest request that goes through `ProposalRequestProcessor`, commit and
    /// apply like any write, without sessions; it lets broadcast be measured and checked
    /// (AcknowledgedWriteLost) apart from the data tree's session machinery.
    Write { client: u64, seq: u64 },
    /// `createSession`: the new session's id is this txn's zxid. `client` is the connection
    /// the server that took the connect request answers once it applies the txn.
    CreateSession { client: u64, timeout_ms: u32 },
    /// `closeSession`, on expiry or the client's request (behind an `Arc`, like `Tree`: every
    /// log entry and message holds an `Op`, most are small, a txn is copied into every
    /// server's log, history and `committedLog`, and sharing makes each copy a count).
    CloseSession(Arc<CloseSessionTxn>),
    /// A session's write to the data tree, validated by the leader.
    Tree(Arc<SessionWrite>),
    /// `reconfig`: a setData of `/zookeeper/config` with the new configuration, whose
    /// version is this txn's zxid.
    Reconfig(Arc<ReconfigTxn>),
}

/// A reconfiguration: the new membership, and the session that asked for it (answered by
/// the server it is connected to once applied).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReconfigTxn {
    pub session: SessionId,
    pub xid: Xid,
    /// The new configuration; its version is set to the txn's zxid when proposed.
    pub config: QuorumVerifier,
}

/// `CloseSessionTxn`: the session's ephemerals, listed when the leader prepared it
/// (`paths2Delete`), go in one txn.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CloseSessionTxn {
    pub session: SessionId,
    pub paths: Vec<String>,
}

/// A session's write to the data tree, validated by the leader; `xid` identifies the
/// answer the server the client is connected to owes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionWrite {
    pub session: SessionId,
    pub xid: Xid,
    pub txn: TreeTxn,
}

impl Op {
    pub fn close_session(session: SessionId, paths: Vec<String>) -> Op {
        Op::CloseSession(Arc::new(CloseSessionTxn { session, paths }))
    }

    pub fn tree(session: SessionId, xid: Xid, txn: TreeTxn) -> Op {
        Op::Tree(Arc::new(SessionWrite { session, xid, txn }))
    }

    /// The configuration a reconfig txn creates.
    pub fn reconfig(&self) -> Option<QuorumVerifier> {
        match self {
            Op::Reconfig(r) => Some(r.config),
            _ => None,
        }
    }
}

/// A txn logged again (a learner re-synced by DIFF from a lower `lastProcessedZxid` gets
/// txns its log already holds; `FileTxnLog.append` only warns "Current zxid is <= ..."):
/// replaying it again changes nothing, so the history does not count it twice. A different
/// txn out of zxid order is not a replay and stays.
pub fn is_replay(history: &[Txn], txn: &Txn) -> bool {
    history.last().is_some_and(|l| txn.zxid <= l.zxid)
        && history.binary_search_by_key(&txn.zxid, |h| h.zxid).is_ok_and(|k| history[k] == *txn)
}
