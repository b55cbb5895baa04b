//! What a server keeps on disk, and the writes that change it.
//!
//! Durable state and volatile state are different types: the one way to build a node is
//! [`crate::node::Node::recover`] from a [`DurableState`], the image the simulated disk
//! holds after a crash (only fsynced writes).

use crate::api::{SessionId, TreeTxn, Xid};
use crate::quorum::QuorumVerifier;
use crate::types::{Epoch, Zxid};
use serde::{Deserialize, Serialize};

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
    /// History a scenario gives a server at start; its content does not matter.
    Initial,
    /// A client's write: the client and its own sequence number for the request. It does
    /// not touch the data tree (the `writes` workload measures broadcast alone).
    Write { client: u64, seq: u64 },
    /// `createSession`: the new session's id is this txn's zxid. `client` is the connection
    /// the server that took the connect request answers once it applies the txn.
    CreateSession { client: u64, timeout_ms: u32 },
    /// `closeSession`, on expiry or the client's request (boxed, like `Tree`: every log
    /// entry and message holds an `Op`, most are small, and the log's size is what a run's
    /// memory grows with).
    CloseSession(Box<CloseSessionTxn>),
    /// A session's write to the data tree, validated by the leader.
    Tree(Box<SessionWrite>),
    /// `reconfig`: a setData of `/zookeeper/config` with the new configuration, whose
    /// version is this txn's zxid.
    Reconfig(Box<ReconfigTxn>),
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
        Op::CloseSession(Box::new(CloseSessionTxn { session, paths }))
    }

    pub fn tree(session: SessionId, xid: Xid, txn: TreeTxn) -> Op {
        Op::Tree(Box::new(SessionWrite { session, xid, txn }))
    }

    /// The configuration a reconfig txn creates.
    pub fn reconfig(&self) -> Option<QuorumVerifier> {
        match self {
            Op::Reconfig(r) => Some(r.config),
            _ => None,
        }
    }
}

/// A server's durable image: the two epoch files, the dynamic configuration files and the
/// transaction log (`QuorumPeer.acceptedEpoch`/`currentEpoch`, `zoo.cfg.dynamic.<version>`
/// and its `.next`, `FileTxnSnapLog`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DurableState {
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    /// Logged txns in zxid order.
    pub log: Vec<Txn>,
    /// The last activated configuration (`zoo.cfg.dynamic.<version>`); `None` until the
    /// first activation: the static configuration is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<QuorumVerifier>,
    /// The newest configuration seen, proposed but maybe not activated
    /// (`zoo.cfg.dynamic.next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_config: Option<QuorumVerifier>,
}

impl DurableState {
    /// A history of `counter` txns in `epoch` (zxids `epoch:1 ..= epoch:counter`), the
    /// shape a scenario's `last_zxid` stands for.
    pub fn with_history(accepted_epoch: Epoch, current_epoch: Epoch, last_zxid: Zxid) -> DurableState {
        let log =
            (1..=last_zxid.counter()).map(|c| Txn { zxid: Zxid::new(last_zxid.epoch(), c), op: Op::Initial }).collect();
        DurableState { accepted_epoch, current_epoch, log, config: None, next_config: None }
    }

    /// Epoch files and a log, no dynamic configuration file yet.
    pub fn new(accepted_epoch: Epoch, current_epoch: Epoch, log: Vec<Txn>) -> DurableState {
        DurableState { accepted_epoch, current_epoch, log, config: None, next_config: None }
    }

    /// `getLastLoggedZxid`: the last logged zxid, or zero for an empty log.
    pub fn last_logged_zxid(&self) -> Zxid {
        self.log.last().map_or(Zxid::ZERO, |t| t.zxid)
    }

    /// Applies one write, as the disk does when it makes it durable (and as the node does
    /// to its own view when it issues it).
    pub fn apply(&mut self, write: &DiskWrite) {
        match write {
            DiskWrite::AcceptedEpoch(e) => self.accepted_epoch = *e,
            DiskWrite::CurrentEpoch(e) => self.current_epoch = *e,
            // Like `FileTxnLog.append`, an append out of zxid order is written anyway
            // (ZooKeeper only warns "Current zxid is <= ..."): only a buggy variant gets here,
            // and the checker reports what it leads to.
            DiskWrite::Append(txn) => self.log.push(txn.clone()),
            DiskWrite::Truncate { after } => self.log.retain(|t| t.zxid <= *after),
            DiskWrite::Snapshot { txns } => self.log = txns.clone(),
            DiskWrite::Config(qv) => self.config = Some(*qv),
            DiskWrite::NextConfig(qv) => self.next_config = Some(*qv),
            DiskWrite::DeleteNextConfig => self.next_config = None,
        }
    }

    /// ZooKeeper's startup checks (`QuorumPeer.loadDataBase`): a server whose files
    /// contradict each other refuses to start.
    pub fn startup_check(&self) -> Result<(), StartupError> {
        if self.accepted_epoch < self.current_epoch {
            return Err(StartupError::AcceptedBelowCurrent {
                accepted_epoch: self.accepted_epoch,
                current_epoch: self.current_epoch,
            });
        }
        let zxid = self.last_logged_zxid();
        if zxid.epoch() > self.current_epoch {
            return Err(StartupError::ZxidAheadOfEpoch { zxid, current_epoch: self.current_epoch });
        }
        Ok(())
    }
}

/// Why a server refused to start from its durable image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartupError {
    /// "The accepted epoch, N is less than the current epoch, M".
    AcceptedBelowCurrent { accepted_epoch: Epoch, current_epoch: Epoch },
    /// "The current epoch, N, is older than the last zxid, Z".
    ZxidAheadOfEpoch { zxid: Zxid, current_epoch: Epoch },
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartupError::AcceptedBelowCurrent { accepted_epoch, current_epoch } => {
                write!(f, "the accepted epoch, {accepted_epoch}, is less than the current epoch, {current_epoch}")
            }
            StartupError::ZxidAheadOfEpoch { zxid, current_epoch } => {
                write!(f, "the current epoch, {current_epoch}, is older than the last zxid, {zxid}")
            }
        }
    }
}

/// A write a node asks its disk for. It stays volatile until an fsync of its file covers
/// it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "write", rename_all = "snake_case")]
pub enum DiskWrite {
    AcceptedEpoch(Epoch),
    CurrentEpoch(Epoch),
    Append(Txn),
    /// Drop every txn after `after` (`TRUNC`).
    Truncate {
        after: Zxid,
    },
    /// A snapshot of the whole committed history, which replaces the log (SNAP sync). The
    /// model keeps snapshot and log as one history: what a restart would replay.
    Snapshot {
        txns: Vec<Txn>,
    },
    /// Activate a configuration: write `zoo.cfg.dynamic.<version>` and point the static
    /// file at it (`QuorumPeer.setQuorumVerifier`).
    Config(QuorumVerifier),
    /// Remember the newest configuration seen (`setLastSeenQuorumVerifier`: the `.next` file).
    NextConfig(QuorumVerifier),
    /// Delete the `.next` file (`setQuorumVerifier` activating the newest one seen).
    DeleteNextConfig,
}

/// The files a server writes: the epoch files (each written atomically), the dynamic
/// configuration files, and the transaction log with its snapshots. An fsync covers one
/// file's writes only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskFile {
    Epochs,
    Log,
    /// `zoo.cfg.dynamic.*`: ZooKeeper writes these synchronously (`AtomicFileWritingIdiom`:
    /// a temporary file, fsynced, renamed), so a write is durable when it returns; the
    /// disk applies it at once and no fsync is ever issued for this file.
    Config,
}

impl DiskWrite {
    pub fn file(&self) -> DiskFile {
        match self {
            DiskWrite::AcceptedEpoch(_) | DiskWrite::CurrentEpoch(_) => DiskFile::Epochs,
            DiskWrite::Config(_) | DiskWrite::NextConfig(_) | DiskWrite::DeleteNextConfig => DiskFile::Config,
            DiskWrite::Append(_) | DiskWrite::Truncate { .. } | DiskWrite::Snapshot { .. } => DiskFile::Log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ends_at_last_zxid() {
        let d = DurableState::with_history(2, 2, Zxid::new(1, 3));
        assert_eq!(d.log.len(), 3);
        assert_eq!(d.last_logged_zxid(), Zxid::new(1, 3));
        assert!(d.startup_check().is_ok());
    }

    #[test]
    fn startup_check_rejects_accepted_below_current() {
        let d = DurableState::new(1, 2, vec![]);
        assert!(matches!(d.startup_check(), Err(StartupError::AcceptedBelowCurrent { .. })));
    }

    #[test]
    fn startup_check_rejects_zxid_from_a_future_epoch() {
        let d = DurableState::with_history(1, 1, Zxid::new(2, 1));
        assert!(matches!(d.startup_check(), Err(StartupError::ZxidAheadOfEpoch { .. })));
    }

    #[test]
    fn truncate_keeps_the_prefix() {
        let mut d = DurableState::with_history(1, 1, Zxid::new(1, 5));
        d.apply(&DiskWrite::Truncate { after: Zxid::new(1, 2) });
        assert_eq!(d.last_logged_zxid(), Zxid::new(1, 2));
    }
}
