//! Transaction log files as ZooKeeper keeps them (`FileTxnLog`): a directory of files
//! `log.<zxid>`, each named by the first txn written to it, preallocated in blocks
//! (`FilePadding`), appended to while the process holds it open, and rolled when a
//! snapshot is due (`SyncRequestProcessor`), when the process restarts, and after a TRUNC
//! (`FileTxnSnapLog.truncateLog` opens a new `FileTxnLog`).
//!
//! Sizes are numbers, not bytes: each txn has a deterministic serialized size
//! ([`entry_size`]) and a file's length is its padded size, which is what
//! `FileTxnIterator.getStorageSize` adds up when the leader decides between a DIFF from the
//! log and a SNAP.

use crate::api::TreeTxn;
use crate::txn::{Op, Txn};
use crate::types::Zxid;
use serde::{Deserialize, Serialize};

/// `FileHeader`: magic, version, dbid.
pub const FILE_HEADER_BYTES: u64 = 16;

/// `FilePadding.preAllocSize` default (`zookeeper.preAllocSize`, 64 MB).
pub const PREALLOC_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;

/// One log file: the txns written to it, in write order, and its sizes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogFile {
    /// The zxid in its name (`Util.makeLogName`): the first txn appended to it.
    pub start: Zxid,
    pub txns: Vec<Txn>,
    /// Bytes written: the header and every entry.
    pub written_bytes: u64,
    /// The file's length on disk, padding included (`File.length()`).
    pub size_bytes: u64,
}

impl LogFile {
    fn new(start: Zxid, prealloc_bytes: u64) -> LogFile {
        let written_bytes = FILE_HEADER_BYTES;
        LogFile { start, txns: Vec::new(), written_bytes, size_bytes: padded(written_bytes, 0, prealloc_bytes) }
    }

    fn push(&mut self, txn: Txn, prealloc_bytes: u64) {
        // `FileTxnLog.append` pads before it writes the entry.
        self.size_bytes = padded(self.written_bytes, self.size_bytes, prealloc_bytes);
        self.written_bytes += entry_size(&txn);
        self.size_bytes = self.size_bytes.max(self.written_bytes);
        self.txns.push(txn);
    }
}

/// `FilePadding.calculateFileSizeWithPadding`: within 4 KB of the preallocated end, the
/// file grows by another block (or to the next block boundary past `position`).
pub fn padded(position: u64, size: u64, prealloc_bytes: u64) -> u64 {
    if prealloc_bytes == 0 || position + 4096 < size {
        return size;
    }
    if position > size {
        let s = position + prealloc_bytes;
        s - s % prealloc_bytes
    } else {
        size + prealloc_bytes
    }
}

/// The serialized size of one log entry: checksum (8), length (4), `TxnHeader` (32), the
/// txn record, its `TxnDigest` (12) and the end-of-record byte. A model, not the exact
/// jute encoding: strings count 4 + their length, an ACL (`OPEN_ACL_UNSAFE`) 27 bytes.
pub fn entry_size(txn: &Txn) -> u64 {
    const FRAME: u64 = 8 + 4 + 32 + 12 + 1;
    const ACL: u64 = 27;
    let s = |x: &str| 4 + x.len() as u64;
    let body = match &txn.op {
        // A scenario's initial history and the bare `writes` workload stand for small
        // setData txns on a short path.
        Op::Initial | Op::Write { .. } => s("/w/0000000000") + s("") + 4,
        Op::CreateSession { .. } => 4,
        Op::CloseSession(c) => 4 + c.paths.iter().map(|p| s(p)).sum::<u64>(),
        Op::Tree(w) => match &w.txn {
            TreeTxn::Create { path, data, .. } => s(path) + s(data) + ACL + 1 + 4,
            TreeTxn::Delete { path } => s(path),
            TreeTxn::SetData { path, data, .. } => s(path) + s(data) + 4,
            TreeTxn::Error { .. } => 4,
        },
        // setData of `/zookeeper/config` with a `server.N=...` line per member.
        Op::Reconfig(r) => s("/zookeeper/config") + 4 + 40 * r.config.members().len() as u64 + 20,
    };
    FRAME + body
}

/// A server's transaction log directory, plus whether the process holds a file open for
/// appends (`FileTxnLog.logStream`): volatile, gone with the process.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxnLog {
    /// In name order (ascending start zxid).
    pub files: Vec<LogFile>,
    /// The last file is open for appends.
    #[serde(skip)]
    pub open: bool,
    /// `zookeeper.preAllocSize` of the server writing it.
    pub prealloc_bytes: u64,
}

impl Default for TxnLog {
    fn default() -> TxnLog {
        TxnLog { files: Vec::new(), open: false, prealloc_bytes: PREALLOC_BYTES_DEFAULT }
    }
}

/// A truncation (`FileTxnLog.truncate`): the file `file` keeps its first `keep` entries
/// and the files after it, as they were when it ran, are deleted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Truncation {
    pub file: Zxid,
    pub keep: usize,
    pub deleted: Vec<Zxid>,
}

impl TxnLog {
    pub fn is_empty(&self) -> bool {
        self.files.iter().all(|f| f.txns.is_empty())
    }

    /// Every logged txn, file after file, in write order.
    pub fn txns(&self) -> impl DoubleEndedIterator<Item = &Txn> + '_ {
        self.files.iter().flat_map(|f| f.txns.iter())
    }

    /// `FileTxnLog.getLastLoggedZxid`: the last txn of the newest file.
    pub fn last_logged_zxid(&self) -> Option<Zxid> {
        self.txns().next_back().map(|t| t.zxid)
    }

    /// The file an append goes to: the open one, or a new one named by `zxid`
    /// (`FileTxnLog.append` with no `logStream`).
    pub fn append_target(&self, zxid: Zxid) -> Zxid {
        match (self.open, self.files.last()) {
            (true, Some(f)) => f.start,
            _ => zxid,
        }
    }

    /// Appends `txn` to file `file`, creating it if needed, and leaves it open.
    pub fn append(&mut self, file: Zxid, txn: Txn) {
        let prealloc_bytes = self.prealloc_bytes;
        // Nearly always the newest file, the one open.
        let newest = self.files.len().checked_sub(1).filter(|&k| self.files[k].start == file);
        let i = match newest.map_or_else(|| self.files.binary_search_by_key(&file, |f| f.start), Ok) {
            Ok(i) => i,
            Err(i) => {
                self.files.insert(i, LogFile::new(file, prealloc_bytes));
                i
            }
        };
        self.files[i].push(txn, prealloc_bytes);
        self.open = i + 1 == self.files.len();
    }

    /// `rollLog`: the next append starts a new file.
    pub fn roll(&mut self) {
        self.open = false;
    }

    /// The files a `FileTxnIterator` starting at `zxid` reads, oldest first: the last file
    /// named below `zxid` (or the oldest, if none is) and every later one
    /// (`FileTxnIterator.init`).
    fn files_from(&self, zxid: Zxid) -> &[LogFile] {
        let first = self.files.partition_point(|f| f.start < zxid);
        &self.files[first.saturating_sub(1)..]
    }

    /// `FileTxnIterator` without fast-forward: every txn from the start of the file it
    /// opens for `zxid`.
    pub fn read_from_file_of(&self, zxid: Zxid) -> impl Iterator<Item = &Txn> + '_ {
        self.files_from(zxid).iter().flat_map(|f| f.txns.iter())
    }

    /// `FileTxnIterator` with fast-forward (`FileTxnLog.read`): skips the txns before
    /// `zxid` at its start, then returns everything after, in log order.
    pub fn read(&self, zxid: Zxid) -> impl Iterator<Item = &Txn> + '_ {
        self.read_from_file_of(zxid).skip_while(move |t| t.zxid < zxid)
    }

    /// `FileTxnIterator.getStorageSize`: the lengths of the files after the one opened
    /// for `zxid`.
    pub fn storage_size_after(&self, zxid: Zxid) -> u64 {
        self.files_from(zxid).iter().skip(1).map(|f| f.size_bytes).sum()
    }

    /// What `FileTxnLog.truncate(zxid)` does: the iterator fast-forwarded to `zxid` sits
    /// just after the first entry at or past it; the file is cut there and later files
    /// are deleted. `None` when there is no log file ("No log files found to truncate").
    pub fn truncation(&self, zxid: Zxid) -> Option<Truncation> {
        let files = self.files_from(zxid);
        let first = files.first()?;
        let mut file = first.start;
        let mut keep = 0;
        // Walk like the iterator: the entry it stops on is the first at or past `zxid`.
        'found: for f in files {
            file = f.start;
            for (k, t) in f.txns.iter().enumerate() {
                if t.zxid >= zxid {
                    keep = k + 1;
                    break 'found;
                }
            }
            keep = f.txns.len();
        }
        let deleted = self.files.iter().filter(|f| f.start > file).map(|f| f.start).collect();
        Some(Truncation { file, keep, deleted })
    }

    /// Applies a truncation.
    pub fn truncate(&mut self, t: &Truncation) {
        self.files.retain(|f| !t.deleted.contains(&f.start));
        if let Some(f) = self.files.iter_mut().find(|f| f.start == t.file) {
            f.txns.truncate(t.keep);
            f.written_bytes = FILE_HEADER_BYTES + f.txns.iter().map(entry_size).sum::<u64>();
            // `RandomAccessFile.setLength(pos)`: the padding past the position goes too.
            f.size_bytes = f.written_bytes;
        }
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(e: u64, c: u64) -> Txn {
        Txn { zxid: Zxid::new(e, c), op: Op::Initial }
    }

    fn log_of(files: &[&[(u64, u64)]]) -> TxnLog {
        let mut log = TxnLog::default();
        for f in files {
            log.roll();
            for &(e, c) in *f {
                let target = log.append_target(Zxid::new(e, c));
                log.append(target, txn(e, c));
            }
        }
        log
    }

    #[test]
    fn a_new_file_is_one_preallocated_block() {
        let log = log_of(&[&[(1, 1)]]);
        assert_eq!(log.files.len(), 1);
        assert_eq!(log.files[0].start, Zxid::new(1, 1));
        assert_eq!(log.files[0].size_bytes, PREALLOC_BYTES_DEFAULT);
    }

    #[test]
    fn padding_grows_by_a_block_near_the_end() {
        // `FilePadding.calculateFileSizeWithPadding`.
        const P: u64 = 1_000_000;
        assert_eq!(padded(16, 0, P), P);
        assert_eq!(padded(100, P, P), P, "far from the end");
        assert_eq!(padded(P - 100, P, P), 2 * P, "within 4 KB of the end");
        assert_eq!(padded(2 * P + 500, P, P), 3 * P, "written past the end");
        assert_eq!(padded(2 * P + 500, P, 0), P, "no preallocation");
    }

    #[test]
    fn appends_go_to_the_open_file_until_it_is_rolled() {
        let log = log_of(&[&[(1, 1), (1, 2)], &[(1, 3)]]);
        let starts: Vec<Zxid> = log.files.iter().map(|f| f.start).collect();
        assert_eq!(starts, vec![Zxid::new(1, 1), Zxid::new(1, 3)]);
        assert_eq!(log.last_logged_zxid(), Some(Zxid::new(1, 3)));
    }

    #[test]
    fn the_iterator_opens_the_last_file_named_below_the_zxid() {
        // `FileTxnIterator.init`, and `getStorageSize` counts only the newer files.
        let log = log_of(&[&[(1, 1), (1, 2)], &[(1, 3), (1, 4)], &[(1, 5)]]);
        let from: Vec<u64> = log.read_from_file_of(Zxid::new(1, 2)).map(|t| t.zxid.counter()).collect();
        assert_eq!(from, vec![1, 2, 3, 4, 5]);
        assert_eq!(log.storage_size_after(Zxid::new(1, 2)), 2 * PREALLOC_BYTES_DEFAULT);
        assert_eq!(log.storage_size_after(Zxid::new(1, 4)), PREALLOC_BYTES_DEFAULT);
        assert_eq!(log.storage_size_after(Zxid::new(1, 6)), 0, "the newest file alone");
        let ff: Vec<u64> = log.read(Zxid::new(1, 4)).map(|t| t.zxid.counter()).collect();
        assert_eq!(ff, vec![4, 5]);
        // A zxid older than every file opens the oldest.
        assert_eq!(log.read_from_file_of(Zxid::ZERO).next().map(|t| t.zxid), Some(Zxid::new(1, 1)));
    }

    #[test]
    fn truncate_cuts_after_the_entry_and_deletes_later_files() {
        let mut log = log_of(&[&[(1, 1), (1, 2), (1, 3)], &[(1, 4)]]);
        let t = log.truncation(Zxid::new(1, 2)).unwrap();
        assert_eq!(t, Truncation { file: Zxid::new(1, 1), keep: 2, deleted: vec![Zxid::new(1, 4)] });
        log.truncate(&t);
        assert_eq!(log.last_logged_zxid(), Some(Zxid::new(1, 2)));
        assert!(!log.open, "a TRUNC opens a new FileTxnLog");
    }

    #[test]
    fn truncate_to_a_zxid_the_log_lacks_keeps_the_next_entry() {
        // The iterator stops on the first entry at or past the zxid, and the cut is after it.
        let mut log = log_of(&[&[(1, 1), (1, 2), (1, 4)]]);
        let t = log.truncation(Zxid::new(1, 3)).unwrap();
        log.truncate(&t);
        assert_eq!(log.last_logged_zxid(), Some(Zxid::new(1, 4)));
    }

    #[test]
    fn there_is_nothing_to_truncate_without_a_log_file() {
        assert_eq!(TxnLog::default().truncation(Zxid::new(1, 1)), None);
    }
}
