//! What a server keeps on disk, and the writes that change it.
//!
//! Durable state and volatile state are different types: the one way to build a node is
//! [`crate::node::Node::recover`] from a [`DurableState`], the image the simulated disk
//! holds after a crash (only fsynced writes).

pub use crate::txn::{is_replay, CloseSessionTxn, Op, ReconfigTxn, SessionWrite, Txn};

use crate::quorum::QuorumVerifier;
use crate::tree::DataTree;
use crate::txnlog::{Truncation, TxnLog};
use crate::types::{Epoch, Zxid};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `zookeeper.commitLogCount` default: how many committed proposals `ZKDatabase` keeps
/// for a DIFF.
pub const COMMIT_LOG_COUNT: usize = 500;

/// A snapshot file (`snapshot.<zxid>`): the tree at `zxid` and its length. The model keeps
/// the txns the tree was built from instead of the tree's bytes, so that a server's
/// history can be compared with the others' (and the tree rebuilt on load).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    /// The tree's `lastProcessedZxid` when it was taken: the file's name.
    pub zxid: Zxid,
    pub size_bytes: u64,
    pub txns: Arc<Vec<Txn>>,
}

impl Snapshot {
    pub fn of(zxid: Zxid, tree: &DataTree, txns: Arc<Vec<Txn>>) -> Snapshot {
        Snapshot { zxid, size_bytes: tree.snapshot_size_bytes(), txns }
    }
}

/// What a server's storage does that ZooKeeper lets an operator tune.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StorageConfig {
    /// `snapCount` (100,000): a snapshot and a log roll after `snapCount / 2` plus a random
    /// part of `snapCount / 2` txns (`SyncRequestProcessor.shouldSnapshot`).
    pub snap_count: u64,
    /// `zookeeper.preAllocSize` in bytes (64 MB): log files grow in blocks of this size.
    pub prealloc_bytes: u64,
    /// `zookeeper.commitLogCount` (500).
    pub commit_log_count: usize,
    /// `zookeeper.snapshotSizeFactor` in percent (33): a DIFF from the txn log is allowed
    /// while the log files it would read after the first are at most this share of the
    /// newest snapshot's size; negative turns log syncs off.
    pub snapshot_size_factor_pct: i64,
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            snap_count: 100_000,
            prealloc_bytes: crate::txnlog::PREALLOC_BYTES_DEFAULT,
            commit_log_count: COMMIT_LOG_COUNT,
            snapshot_size_factor_pct: 33,
        }
    }
}

/// A server's durable image: the two epoch files, the dynamic configuration files, the
/// snapshot files and the transaction log files (`QuorumPeer.acceptedEpoch`/`currentEpoch`,
/// `zoo.cfg.dynamic.<version>` and its `.next`, `FileTxnSnapLog`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DurableState {
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    /// Snapshot files in zxid order; a snapshot of the same zxid replaces the file.
    pub snapshots: Vec<Snapshot>,
    pub log: TxnLog,
    /// The last activated configuration (`zoo.cfg.dynamic.<version>`); `None` until the
    /// first activation: the static configuration is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<QuorumVerifier>,
    /// The newest configuration seen, proposed but maybe not activated
    /// (`zoo.cfg.dynamic.next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_config: Option<QuorumVerifier>,
    /// What loading these files yields (the newest snapshot's txns, then the log after
    /// it, as `FileTxnSnapLog.restore` reads it): the server's history for the checker.
    /// Derived, kept up to date by [`DurableState::apply`].
    #[serde(skip)]
    history: Vec<Txn>,
    /// Whether the log read after the newest snapshot has reached its first txn: every
    /// later append is then part of the history.
    #[serde(skip)]
    replaying: bool,
}

impl DurableState {
    /// A history of `counter` txns in `epoch` (zxids `epoch:1 ..= epoch:counter`), the
    /// shape a scenario's `last_zxid` stands for: the empty snapshot a new server writes,
    /// and one log file.
    pub fn with_history(accepted_epoch: Epoch, current_epoch: Epoch, last_zxid: Zxid) -> DurableState {
        let log =
            (1..=last_zxid.counter()).map(|c| Txn { zxid: Zxid::new(last_zxid.epoch(), c), op: Op::Initial }).collect();
        DurableState::new(accepted_epoch, current_epoch, log)
    }

    /// Epoch files, an empty snapshot and a log file of `log`, no dynamic configuration
    /// file yet.
    pub fn new(accepted_epoch: Epoch, current_epoch: Epoch, log: Vec<Txn>) -> DurableState {
        let mut d = DurableState { accepted_epoch, current_epoch, ..DurableState::default() };
        static EMPTY_BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let size_bytes = *EMPTY_BYTES.get_or_init(|| DataTree::new().snapshot_size_bytes());
        d.apply(&DiskWrite::Snapshot(Snapshot { zxid: Zxid::ZERO, size_bytes, txns: Arc::new(Vec::new()) }));
        if let Some(first) = log.first() {
            let file = first.zxid;
            for txn in log {
                d.apply(&DiskWrite::Append { file, txn });
            }
        }
        d.log.open = false;
        d
    }

    /// The same image for a server whose log files grow in blocks of `prealloc_bytes`.
    pub fn with_prealloc(self, prealloc_bytes: u64) -> DurableState {
        let mut d = DurableState { log: TxnLog { prealloc_bytes, ..TxnLog::default() }, ..DurableState::default() };
        d.accepted_epoch = self.accepted_epoch;
        d.current_epoch = self.current_epoch;
        d.config = self.config;
        d.next_config = self.next_config;
        for s in &self.snapshots {
            d.apply(&DiskWrite::Snapshot(s.clone()));
        }
        for f in &self.log.files {
            for t in &f.txns {
                d.apply(&DiskWrite::Append { file: f.start, txn: t.clone() });
            }
        }
        d.log.open = false;
        d
    }

    /// What loading yields, in order: the newest snapshot's txns, then the log's.
    pub fn history(&self) -> &[Txn] {
        &self.history
    }

    /// The last zxid of [`DurableState::history`], or zero.
    pub fn last_logged_zxid(&self) -> Zxid {
        self.history.last().map_or(Zxid::ZERO, |t| t.zxid)
    }

    /// The newest snapshot's length (`findMostRecentSnapshot().length()`), 0 without one.
    pub fn newest_snapshot_bytes(&self) -> u64 {
        self.snapshots.last().map_or(0, |s| s.size_bytes)
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
            DiskWrite::Append { file, txn } => {
                self.log.append(*file, txn.clone());
                let from = self.snapshots.last().map_or(Zxid(1), |s| Zxid(s.zxid.0 + 1));
                if (self.replaying || txn.zxid >= from) && !is_replay(&self.history, txn) {
                    self.replaying = true;
                    self.history.push(txn.clone());
                }
            }
            DiskWrite::Truncate(t) => {
                self.log.truncate(t);
                self.rebuild_history();
            }
            DiskWrite::Snapshot(s) => {
                match self.snapshots.binary_search_by_key(&s.zxid, |x| x.zxid) {
                    Ok(i) => self.snapshots[i] = s.clone(),
                    Err(i) => self.snapshots.insert(i, s.clone()),
                }
                self.rebuild_history();
            }
            DiskWrite::Config(qv) => self.config = Some(*qv),
            DiskWrite::NextConfig(qv) => self.next_config = Some(*qv),
            DiskWrite::DeleteNextConfig => self.next_config = None,
        }
    }

    /// `FileTxnSnapLog.restore`'s view of the files.
    fn rebuild_history(&mut self) {
        let (from, mut history) = match self.snapshots.last() {
            Some(s) => (Zxid(s.zxid.0 + 1), s.txns.as_ref().clone()),
            None => (Zxid(1), Vec::new()),
        };
        let mut replaying = false;
        for t in self.log.read(from) {
            replaying = true;
            if !is_replay(&history, t) {
                history.push(t.clone());
            }
        }
        self.replaying = replaying;
        self.history = history;
    }

    /// ZooKeeper's startup checks (`QuorumPeer.loadDataBase`): a server whose files
    /// contradict each other refuses to start.
    /// `last_processed` is what loading the files yielded (`lastProcessedZxid`).
    pub fn startup_check(&self, last_processed: Zxid) -> Result<(), StartupError> {
        if self.snapshots.is_empty() && !self.log.is_empty() {
            return Err(StartupError::LogWithoutSnapshot);
        }
        if self.accepted_epoch < self.current_epoch {
            return Err(StartupError::AcceptedBelowCurrent {
                accepted_epoch: self.accepted_epoch,
                current_epoch: self.current_epoch,
            });
        }
        let zxid = last_processed;
        if zxid.epoch() > self.current_epoch {
            return Err(StartupError::ZxidAheadOfEpoch { zxid, current_epoch: self.current_epoch });
        }
        Ok(())
    }
}

/// Why a server refused to start from its durable image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum StartupError {
    /// "The accepted epoch, N is less than the current epoch, M".
    AcceptedBelowCurrent { accepted_epoch: Epoch, current_epoch: Epoch },
    /// "The current epoch, N, is older than the last zxid, Z".
    ZxidAheadOfEpoch { zxid: Zxid, current_epoch: Epoch },
    /// `FileTxnSnapLog.restore`: "No snapshot found, but there are log entries. Something
    /// is broken!"
    LogWithoutSnapshot,
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
            StartupError::LogWithoutSnapshot => f.write_str("no snapshot found, but there are log entries"),
        }
    }
}

/// A write a node asks its disk for. It stays volatile until an fsync of its file covers
/// it (or, for files ZooKeeper never syncs, until the operating system writes it back).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "write", rename_all = "snake_case")]
pub enum DiskWrite {
    AcceptedEpoch(Epoch),
    CurrentEpoch(Epoch),
    /// An entry appended to log file `file` (created by its first append).
    Append {
        file: Zxid,
        txn: Txn,
    },
    /// `FileTxnLog.truncate` (TRUNC): cut one file, delete the later ones. ZooKeeper does
    /// not sync it (`RandomAccessFile.setLength`), and later appends go to a new file; the
    /// model takes a journaling file system (ext4, XFS), which commits such metadata in
    /// order, so the next fsync of the log makes it durable too.
    Truncate(Truncation),
    /// A snapshot file (`FileTxnSnapLog.save`), synced or not as the caller asks.
    Snapshot(Snapshot),
    /// Activate a configuration: write `zoo.cfg.dynamic.<version>` and point the static
    /// file at it (`QuorumPeer.setQuorumVerifier`).
    Config(QuorumVerifier),
    /// Remember the newest configuration seen (`setLastSeenQuorumVerifier`: the `.next` file).
    NextConfig(QuorumVerifier),
    /// Delete the `.next` file (`setQuorumVerifier` activating the newest one seen).
    DeleteNextConfig,
}

/// The files a server writes, each with its own queue of volatile writes: an fsync covers
/// one file's writes only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskFile {
    Epochs,
    Log,
    /// Snapshot files: synced (`save(.., syncSnap = true)`) after a SNAP, written back by
    /// the operating system otherwise.
    Snapshot,
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
            DiskWrite::Append { .. } | DiskWrite::Truncate(_) => DiskFile::Log,
            DiskWrite::Snapshot(_) => DiskFile::Snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ends_at_last_zxid() {
        let d = DurableState::with_history(2, 2, Zxid::new(1, 3));
        assert_eq!(d.history().len(), 3);
        assert_eq!(d.log.files.len(), 1);
        assert_eq!(d.snapshots.len(), 1, "the empty snapshot a new server writes");
        assert_eq!(d.last_logged_zxid(), Zxid::new(1, 3));
        assert!(d.startup_check(d.last_logged_zxid()).is_ok());
    }

    #[test]
    fn startup_check_rejects_accepted_below_current() {
        let d = DurableState::new(1, 2, vec![]);
        assert!(matches!(d.startup_check(d.last_logged_zxid()), Err(StartupError::AcceptedBelowCurrent { .. })));
    }

    #[test]
    fn startup_check_rejects_zxid_from_a_future_epoch() {
        let d = DurableState::with_history(1, 1, Zxid::new(2, 1));
        assert!(matches!(d.startup_check(d.last_logged_zxid()), Err(StartupError::ZxidAheadOfEpoch { .. })));
    }

    #[test]
    fn truncate_keeps_the_prefix() {
        let mut d = DurableState::with_history(1, 1, Zxid::new(1, 5));
        let t = d.log.truncation(Zxid::new(1, 2)).unwrap();
        d.apply(&DiskWrite::Truncate(t));
        assert_eq!(d.last_logged_zxid(), Zxid::new(1, 2));
    }
}
