//! ZooKeeper's data dir, read as `LearnerHandler.syncFollower` sees it: the txn log files
//! (`version-2/log.<zxid>`) with the zxids each holds and its size, and the snapshots.
//!
//! A log file (`FileTxnLog`) is a `FileHeader` (magic "ZKLG" int, version int, dbid long),
//! then entries: crc long, length int, the txn bytes, and an end-of-record byte 'B'. A txn
//! starts with its `TxnHeader` (clientId long, cxid int, zxid long, time long, type int). A
//! zero length is the preallocated padding: the end of the log.

use crate::corpus::{parse_hex, Hex, SnapshotFile, TxnLogFile};
use std::path::Path;

const MAGIC: u32 = u32::from_be_bytes(*b"ZKLG");
/// A txn longer than this is not one ZooKeeper wrote (`jute.maxbuffer` is 1 MB by default).
const TXN_LEN_MAX: usize = 16 << 20;

/// The zxids in a log file's bytes, or why it is not a log file.
pub fn log_zxids(bytes: &[u8]) -> Result<Vec<Hex>, String> {
    Ok(log_entries(bytes)?.into_iter().map(|e| e.zxid).collect())
}

/// One txn of a log file: its header's zxid, clientId (the session) and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub zxid: Hex,
    pub session: u64,
    pub op: i32,
}

impl LogEntry {
    /// `0x100000001 createSession 0x3...`: the txn types a case meets by name.
    pub fn describe(&self) -> String {
        let op = match self.op {
            -10 => "createSession".to_string(),
            -11 => "closeSession".to_string(),
            1 => "create".to_string(),
            2 => "delete".to_string(),
            5 => "setData".to_string(),
            o => format!("type {o}"),
        };
        format!("{} {op} session 0x{:x}", self.zxid, self.session)
    }
}

/// The txns in a log file's bytes, or why it is not a log file.
pub fn log_entries(bytes: &[u8]) -> Result<Vec<LogEntry>, String> {
    let mut r = Reader { b: bytes, at: 0 };
    let magic = r.u32().ok_or("shorter than a file header")?;
    if magic != MAGIC {
        return Err(format!("magic 0x{magic:08x} is not ZKLG"));
    }
    let _version = r.u32().ok_or("shorter than a file header")?;
    let _dbid = r.u64().ok_or("shorter than a file header")?;
    let mut out = Vec::new();
    while let Some(_crc) = r.u64() {
        let Some(len) = r.u32() else { break };
        let len = len as usize;
        if len == 0 {
            break;
        }
        if len > TXN_LEN_MAX {
            return Err(format!("entry at byte {} claims {len} bytes", r.at - 4));
        }
        let Some(txn) = r.take(len) else { break }; // a torn last entry
        if txn.len() < 32 {
            return Err(format!("txn at byte {} is {len} bytes, shorter than its header", r.at - len));
        }
        let be64 = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&txn[at..at + 8]);
            u64::from_be_bytes(a)
        };
        let op = txn.get(28..32).map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]])).unwrap_or(0);
        out.push(LogEntry { zxid: Hex(be64(12)), session: be64(0), op });
        if r.take(1) != Some(b"B") {
            break;
        }
    }
    Ok(out)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Some(u64::from_be_bytes(a))
    }
}

/// The log and snapshot files of a data dir's `version-2`, sorted by zxid.
pub fn read_data_dir(version2: &Path) -> Result<(Vec<TxnLogFile>, Vec<SnapshotFile>), String> {
    let mut logs = Vec::new();
    let mut snaps = Vec::new();
    let entries = std::fs::read_dir(version2).map_err(|e| format!("{}: {e}", version2.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let path = e.path();
        if let Some(z) = name.strip_prefix("log.").and_then(parse_hex) {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let zxids = log_zxids(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            logs.push(TxnLogFile { name, start_zxid: Hex(z), size: bytes.len() as u64, zxids });
        } else if let Some(z) = name.strip_prefix("snapshot.").and_then(parse_hex) {
            let size = e.metadata().map_err(|e| format!("{}: {e}", path.display()))?.len();
            snaps.push(SnapshotFile { name, zxid: Hex(z), size });
        }
    }
    logs.sort_by_key(|l| l.start_zxid);
    snaps.sort_by_key(|s| s.zxid);
    Ok((logs, snaps))
}

/// The sessions a snapshot file holds (`FileSnap`: a `FileHeader` "ZKSN", then
/// `SerializeUtils.serializeSnapshot`'s session count and (id long, timeout int) pairs,
/// then the tree): (session id, timeout ms).
pub fn snapshot_sessions(bytes: &[u8]) -> Result<Vec<(u64, u32)>, String> {
    let mut r = Reader { b: bytes, at: 0 };
    let magic = r.u32().ok_or("shorter than a file header")?;
    if magic != u32::from_be_bytes(*b"ZKSN") {
        return Err(format!("magic 0x{magic:08x} is not ZKSN"));
    }
    r.u32().and(r.u64()).ok_or("shorter than a file header")?;
    let n = r.u32().ok_or("no session count")?;
    if n > 1 << 20 {
        return Err(format!("{n} sessions"));
    }
    (0..n).map(|_| r.u64().zip(r.u32()).ok_or_else(|| "torn session list".to_string())).collect()
}

/// An epoch file (`acceptedEpoch`, `currentEpoch`): a decimal number.
pub fn read_epoch(file: &Path) -> Option<u64> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(zxid: u64) -> Vec<u8> {
        let mut txn = Vec::new();
        txn.extend_from_slice(&7u64.to_be_bytes()); // clientId
        txn.extend_from_slice(&1u32.to_be_bytes()); // cxid
        txn.extend_from_slice(&zxid.to_be_bytes());
        txn.extend_from_slice(&0u64.to_be_bytes()); // time
        txn.extend_from_slice(&1u32.to_be_bytes()); // type
        txn.extend_from_slice(b"body");
        let mut e = Vec::new();
        e.extend_from_slice(&0u64.to_be_bytes()); // crc
        e.extend_from_slice(&(txn.len() as u32).to_be_bytes());
        e.extend_from_slice(&txn);
        e.push(b'B');
        e
    }

    fn header() -> Vec<u8> {
        let mut h = b"ZKLG".to_vec();
        h.extend_from_slice(&2u32.to_be_bytes());
        h.extend_from_slice(&0u64.to_be_bytes());
        h
    }

    #[test]
    fn a_padded_log_yields_its_zxids_and_stops_at_the_padding() {
        let mut f = header();
        f.extend(entry(0x1_0000_0001));
        f.extend(entry(0x1_0000_0002));
        f.extend(vec![0u8; 100]);
        assert_eq!(log_zxids(&f).unwrap(), vec![Hex(0x1_0000_0001), Hex(0x1_0000_0002)]);
    }

    #[test]
    fn a_torn_last_entry_is_dropped_and_garbage_is_an_error() {
        let mut f = header();
        f.extend(entry(0x1_0000_0001));
        let e = entry(0x1_0000_0002);
        f.extend(&e[..e.len() - 6]);
        assert_eq!(log_zxids(&f).unwrap(), vec![Hex(0x1_0000_0001)]);
        assert!(log_zxids(b"NOTALOGFILE.....").unwrap_err().contains("not ZKLG"));
        assert!(log_zxids(b"ZK").is_err());
    }

    #[test]
    fn entries_carry_session_and_type_and_snapshots_their_sessions() {
        let mut f = header();
        f.extend(entry(0x1_0000_0001));
        let e = log_entries(&f).unwrap();
        assert_eq!(e, vec![LogEntry { zxid: Hex(0x1_0000_0001), session: 7, op: 1 }]);
        assert_eq!(e[0].describe(), "0x100000001 create session 0x7");
        let mut s = b"ZKSN".to_vec();
        s.extend_from_slice(&2u32.to_be_bytes());
        s.extend_from_slice(&0u64.to_be_bytes());
        s.extend_from_slice(&1u32.to_be_bytes());
        s.extend_from_slice(&0x3000_0000_0000_0001u64.to_be_bytes());
        s.extend_from_slice(&4000u32.to_be_bytes());
        assert_eq!(snapshot_sessions(&s).unwrap(), vec![(0x3000_0000_0000_0001, 4000)]);
        assert!(snapshot_sessions(&s[..s.len() - 2]).is_err());
    }
}
