//! The in-memory database (`ZKDatabase`): the data tree with its `lastProcessedZxid`, and
//! `committedLog`, the recent committed proposals a leader syncs learners from.
//!
//! It is apart from the disk on purpose. ZooKeeper loads it once (`loadDataBase`: the
//! newest valid snapshot, then the log after it), moves it only forward while the process
//! lives (`fastForwardDataBase` when a role ends, never a rewind), and clears it only where
//! it must (`truncateLog`, a SNAP, an interrupted SNAP). So a server's last zxid in an
//! election is what it has *processed*, which may be more than its log holds
//! (ZOOKEEPER-5094) or less than it logged.

use crate::durable::{DurableState, Snapshot, StartupError, Txn};
use crate::tree::{Applied, DataTree};
use crate::txnlog::TxnLog;
use crate::types::Zxid;
use std::collections::VecDeque;
use std::sync::Arc;

pub use crate::durable::COMMIT_LOG_COUNT;

#[derive(Clone, Debug, Hash)]
pub struct ZkDatabase {
    tree: DataTree,
    /// `DataTree.lastProcessedZxid`: may be a label with no txn (a new leader's
    /// `epoch << 32`, a TRUNC's or a SNAP's zxid).
    last_processed: Zxid,
    /// The txns applied to `tree`, in order: what a snapshot of it stands for (the model
    /// keeps the history so that the checker can compare servers' histories).
    history: Vec<Txn>,
    committed_log: VecDeque<Txn>,
    min_committed: Zxid,
    max_committed: Zxid,
    commit_log_count: usize,
    /// `ZKDatabase.initialized`: false after `clear` until the next load.
    initialized: bool,
}

/// What loading found: whether there was no snapshot and no log, so ZooKeeper writes an
/// empty snapshot (`FileTxnSnapLog.restore` with `autoCreateDB`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Loaded {
    FromSnapshot,
    Empty,
}

impl ZkDatabase {
    pub fn new(commit_log_count: usize) -> ZkDatabase {
        ZkDatabase {
            tree: DataTree::new(),
            last_processed: Zxid::ZERO,
            history: Vec::new(),
            committed_log: VecDeque::new(),
            min_committed: Zxid::ZERO,
            max_committed: Zxid::ZERO,
            commit_log_count,
            initialized: false,
        }
    }

    /// `loadDataBase` -> `FileTxnSnapLog.restore`: the newest snapshot (its name is its
    /// zxid), then every txn of the log after it, each added to `committedLog`
    /// (`commitProposalPlaybackListener`). A log without any snapshot refuses to load
    /// ("No snapshot found, but there are log entries").
    pub fn load(&mut self, disk: &DurableState) -> Result<Loaded, StartupError> {
        let Some(snap) = disk.snapshots.last() else {
            self.clear();
            self.initialized = true;
            if !disk.log.is_empty() {
                return Err(StartupError::LogWithoutSnapshot);
            }
            return Ok(Loaded::Empty);
        };
        // `install` clears first.
        self.install(snap.zxid, &snap.txns);
        self.fast_forward(&disk.log);
        Ok(Loaded::FromSnapshot)
    }

    /// `fastForwardDataBase` -> `FileTxnSnapLog.fastForwardFromEdits`: applies the log from
    /// `lastProcessedZxid + 1` on, adding each txn to `committedLog`. Returns whether
    /// anything was applied.
    pub fn fast_forward(&mut self, log: &TxnLog) -> bool {
        self.initialized = true;
        let from = Zxid(self.last_processed.0 + 1);
        let replayed = log.read(from).count();
        if replayed == 0 {
            return false;
        }
        self.history.reserve(replayed);
        // Only the last `commitLogCount + 1` can still be in `committedLog` afterwards:
        // adding the earlier ones would push each in and out again.
        let window = self.commit_log_count + 1;
        for (k, t) in log.read(from).enumerate() {
            self.process(t);
            if replayed - k <= window {
                self.add_committed(t.clone());
            }
        }
        true
    }

    /// `ZKDatabase.clear`: a new empty tree, an empty `committedLog`.
    pub fn clear(&mut self) {
        let count = self.commit_log_count;
        *self = ZkDatabase::new(count);
    }

    /// `deserializeSnapshot`: the tree a snapshot holds, labelled `zxid`.
    pub fn install(&mut self, zxid: Zxid, txns: &[Txn]) {
        let count = self.commit_log_count;
        *self = ZkDatabase::new(count);
        for t in txns {
            self.tree.apply(t);
        }
        self.history = txns.to_vec();
        self.last_processed = zxid;
        self.initialized = true;
    }

    /// `DataTree.processTxn`: applies one txn; `lastProcessedZxid` only moves forward.
    pub fn process(&mut self, txn: &Txn) -> Applied {
        let applied = self.tree.apply(txn);
        if !crate::txn::is_replay(&self.history, txn) {
            self.history.push(txn.clone());
        }
        self.last_processed = self.last_processed.max(txn.zxid);
        applied
    }

    /// `addCommittedProposal`: keeps the last `commitLogCount` (+1: ZooKeeper checks the
    /// size before adding) committed proposals, with their bounds.
    pub fn add_committed(&mut self, txn: Txn) {
        if self.committed_log.len() > self.commit_log_count {
            self.committed_log.pop_front();
            self.min_committed = self.committed_log.front().expect("not empty").zxid;
        }
        if self.committed_log.is_empty() {
            self.min_committed = txn.zxid;
        }
        self.max_committed = txn.zxid;
        self.committed_log.push_back(txn);
    }

    /// `setlastProcessedZxid`.
    pub fn set_last_processed(&mut self, zxid: Zxid) {
        self.last_processed = zxid;
    }

    pub fn last_processed(&self) -> Zxid {
        self.last_processed
    }

    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    pub fn history(&self) -> &[Txn] {
        &self.history
    }

    pub fn committed_log(&self) -> &VecDeque<Txn> {
        &self.committed_log
    }

    /// `getminCommittedLog`, `getmaxCommittedLog`.
    pub fn committed_bounds(&self) -> (Zxid, Zxid) {
        (self.min_committed, self.max_committed)
    }

    /// `FileTxnSnapLog.save`: a snapshot of the tree, named by `lastProcessedZxid`.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(self.last_processed, &self.tree, Arc::new(self.history.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::{DiskWrite, Op};

    fn txn(c: u64) -> Txn {
        Txn { zxid: Zxid::new(1, c), op: Op::Initial }
    }

    #[test]
    fn the_committed_log_keeps_the_count_plus_one() {
        // `addCommittedProposal` removes only when the size is already past the count.
        let mut db = ZkDatabase::new(3);
        for c in 1..=10 {
            db.add_committed(txn(c));
        }
        assert_eq!(db.committed_log().len(), 4);
        assert_eq!(db.committed_bounds(), (Zxid::new(1, 7), Zxid::new(1, 10)));
    }

    #[test]
    fn load_replays_the_log_after_the_newest_snapshot_into_the_committed_log() {
        let mut disk = DurableState::with_history(1, 1, Zxid::new(1, 4));
        let mut db = ZkDatabase::new(COMMIT_LOG_COUNT);
        assert_eq!(db.load(&disk), Ok(Loaded::FromSnapshot));
        assert_eq!(db.last_processed(), Zxid::new(1, 4));
        assert_eq!(db.committed_log().len(), 4);
        // A snapshot at 1:3 leaves only 1:4 to replay.
        let mut at3 = ZkDatabase::new(COMMIT_LOG_COUNT);
        for c in 1..=3 {
            at3.process(&txn(c));
        }
        disk.apply(&DiskWrite::Snapshot(at3.snapshot()));
        db.load(&disk).unwrap();
        assert_eq!(db.last_processed(), Zxid::new(1, 4));
        assert_eq!(db.committed_bounds(), (Zxid::new(1, 4), Zxid::new(1, 4)));
        assert_eq!(db.history().len(), 4);
    }

    #[test]
    fn a_log_without_a_snapshot_does_not_load() {
        let mut disk = DurableState::with_history(1, 1, Zxid::new(1, 2));
        disk.snapshots.clear();
        assert_eq!(ZkDatabase::new(COMMIT_LOG_COUNT).load(&disk), Err(StartupError::LogWithoutSnapshot));
        assert_eq!(ZkDatabase::new(COMMIT_LOG_COUNT).load(&DurableState::default()), Ok(Loaded::Empty));
    }

    #[test]
    fn fast_forward_never_rewinds() {
        let disk = DurableState::with_history(1, 1, Zxid::new(1, 2));
        let mut db = ZkDatabase::new(COMMIT_LOG_COUNT);
        db.load(&disk).unwrap();
        db.process(&txn(3));
        assert!(!db.fast_forward(&disk.log), "the log holds nothing past 1:3");
        assert_eq!(db.last_processed(), Zxid::new(1, 3), "ahead of the log, and it stays so");
    }
}
