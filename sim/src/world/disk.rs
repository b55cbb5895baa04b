//! The disk: each server's durable image plus the writes it has issued but not yet
//! fsynced, per file. An fsync of a file covers that file's earlier writes and no other
//! file's data (the epoch files and the transaction log are separate files in ZooKeeper);
//! with ordered metadata (ext4, XFS) it also commits the journal, which holds a truncation
//! of the log issued before it. A crash loses the volatile writes; a restart sees only the
//! durable image.

use crate::world::rng::Stream;
use std::collections::VecDeque;
use zab::durable::{DiskFile, DiskWrite, DurableState};

/// The files with a queue of volatile writes (configuration files are written durably).
const FILES: [DiskFile; 3] = [DiskFile::Epochs, DiskFile::Log, DiskFile::Snapshot];

#[derive(Clone, Debug, Default)]
struct FileQueue {
    /// Issued, not yet durable, in issue order, with the time each was issued.
    pending: VecDeque<(u64, DiskWrite)>,
    /// Writes issued to this file so far.
    issued: u64,
}

impl FileQueue {
    fn durable_count(&self) -> u64 {
        self.issued - self.pending.len() as u64
    }
}

#[derive(Clone, Debug)]
pub struct Disk {
    durable: DurableState,
    queues: [FileQueue; 3],
    /// When the last fsync completes (the device completes fsyncs in order).
    last_fsync_done_us: u64,
    /// The operating system writes a dirty page back this long after it was written
    /// (`vm.dirty_expire_centisecs`): a write nobody syncs is durable by then.
    writeback_us: u64,
    /// Any fsync commits the file system's journal (ext4, XFS).
    ordered_metadata: bool,
    /// Per fsync in flight, in completion order: how many log writes its journal commit
    /// makes durable (up to the last truncation of the log issued before it).
    journal: VecDeque<u64>,
}

impl Disk {
    pub fn new(durable: DurableState, writeback_us: u64, ordered_metadata: bool) -> Disk {
        Disk {
            durable,
            queues: Default::default(),
            last_fsync_done_us: 0,
            writeback_us,
            ordered_metadata,
            journal: VecDeque::new(),
        }
    }

    /// Feeds what the disk holds, durable and pending, without when each write was
    /// issued: for an explorer's state fingerprint, where time is abstracted away.
    pub fn fingerprint<H: std::hash::Hasher>(&self, h: &mut H) {
        use std::hash::Hash;
        self.durable.hash(h);
        for q in &self.queues {
            q.issued.hash(h);
            for (_, w) in &q.pending {
                w.hash(h);
            }
        }
        self.journal.hash(h);
    }

    pub fn durable(&self) -> &DurableState {
        &self.durable
    }

    fn file(&mut self, f: DiskFile) -> &mut FileQueue {
        &mut self.queues[Self::queue_index(f)]
    }

    fn queue_index(f: DiskFile) -> usize {
        FILES.iter().position(|x| *x == f).expect("configuration files are written synchronously")
    }

    pub fn write(&mut self, now_us: u64, w: DiskWrite) {
        if w.file() == DiskFile::Config {
            // Written atomically and durably before the call returns.
            self.durable.apply(&w);
            return;
        }
        let q = self.file(w.file());
        q.pending.push_back((now_us, w));
        q.issued += 1;
    }

    /// Writes issued and not yet durable, in all files.
    pub fn volatile_writes(&self) -> usize {
        self.queues.iter().map(|q| q.pending.len()).sum()
    }

    /// An fsync of `file` issued now: it completes at the returned time, in order after
    /// earlier ones, and covers every write to that file issued up to now (the mark).
    pub fn fsync(&mut self, file: DiskFile, now_us: u64, latency_us: u64) -> (u64, u64) {
        let done = now_us.saturating_add(latency_us).max(self.last_fsync_done_us);
        self.last_fsync_done_us = done;
        // The journal commit takes the log's writes up to its last truncation (the earlier
        // appends with it: a simplification, they are in the page cache before the cut).
        let log = &self.queues[Self::queue_index(DiskFile::Log)];
        let last_cut = || log.pending.iter().rposition(|(_, w)| matches!(w, DiskWrite::Truncate(_)));
        let journal = match self.ordered_metadata.then(last_cut).flatten() {
            Some(k) => log.durable_count() + k as u64 + 1,
            None => 0,
        };
        self.journal.push_back(journal);
        (done, self.file(file).issued)
    }

    /// An fsync completed: every write to `file` up to `mark` is durable. Returns whether
    /// the durable history changed.
    pub fn complete(&mut self, file: DiskFile, mark: u64) -> bool {
        let journal = self.journal.pop_front().expect("fsyncs complete in the order they were issued");
        let mut changed = self.make_durable(file, mark) > 0 && file != DiskFile::Epochs;
        if file != DiskFile::Log {
            changed |= self.make_durable(DiskFile::Log, journal) > 0;
        }
        changed
    }

    /// Every write to `file` up to `mark` is durable: how many were not yet.
    fn make_durable(&mut self, file: DiskFile, mark: u64) -> u64 {
        let q = &mut self.queues[Self::queue_index(file)];
        let n = mark.saturating_sub(q.durable_count());
        for _ in 0..n {
            let (_, w) = q.pending.pop_front().expect("an fsync covers only issued writes");
            self.durable.apply(&w);
        }
        n
    }

    /// The process exited: what it wrote to the log and snapshot files is in the page cache
    /// and stays (the model counts it durable from here); an epoch file's atomic replace
    /// (a temporary file, fsynced, then renamed) had not happened.
    pub fn exit(&mut self) {
        for f in [DiskFile::Log, DiskFile::Snapshot] {
            for (_, w) in self.queues[Self::queue_index(f)].pending.drain(..) {
                self.durable.apply(&w);
            }
        }
        let q = self.file(DiskFile::Epochs);
        q.issued -= q.pending.len() as u64;
        q.pending.clear();
        self.journal.clear();
    }

    /// A crash that loses every volatile write (the operating system wrote none back).
    pub fn lose_volatile(&mut self) {
        for f in FILES {
            let q = self.file(f);
            q.issued -= q.pending.len() as u64;
            q.pending.clear();
        }
        self.journal.clear();
    }

    /// A crash at `now_us`: volatile writes are gone, except those the operating system
    /// wrote back already. With `torn`, it may have written some more: a random prefix
    /// of each file's remaining volatile writes survives, and the write after it, if any,
    /// is torn (its checksum fails on load, so it is lost too). The protocol must not
    /// depend on unsynced writes either vanishing or surviving.
    pub fn crash(&mut self, now_us: u64, mut torn: Option<&mut Stream>) {
        let writeback_us = self.writeback_us;
        for f in FILES {
            let q = self.file(f);
            let written_back =
                q.pending.iter().take_while(|(t, _)| t.saturating_add(writeback_us) <= now_us).count() as u64;
            let rest = q.pending.len() as u64 - written_back;
            let keep = written_back
                + match torn.as_deref_mut() {
                    Some(rng) => rng.range(0, rest),
                    None => 0,
                };
            for _ in 0..keep {
                let (_, w) = self.file(f).pending.pop_front().expect("kept writes were pending");
                self.durable.apply(&w);
            }
            let q = self.file(f);
            q.issued -= q.pending.len() as u64;
            q.pending.clear();
        }
        self.journal.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab::durable::{Op, Txn};
    use zab::Zxid;

    fn append(c: u64) -> DiskWrite {
        DiskWrite::Append { file: Zxid::new(1, 1), txn: Txn { zxid: Zxid::new(1, c), op: Op::Initial } }
    }

    #[test]
    fn the_operating_system_writes_back_what_nobody_syncs() {
        let mut d = Disk::new(DurableState::default(), 30_000_000, true);
        d.write(0, append(1));
        d.write(20_000_000, append(2));
        d.crash(40_000_000, None);
        let kept: Vec<u64> = d.durable().history().iter().map(|t| t.zxid.counter()).collect();
        assert_eq!(kept, vec![1], "the first append is older than the writeback delay");
    }

    #[test]
    fn crash_drops_unsynced_writes() {
        let mut d = Disk::new(DurableState::default(), u64::MAX, true);
        d.write(0, DiskWrite::AcceptedEpoch(1));
        let (_, mark) = d.fsync(DiskFile::Epochs, 0, 10);
        d.write(0, DiskWrite::CurrentEpoch(1));
        d.complete(DiskFile::Epochs, mark);
        assert_eq!(d.durable().accepted_epoch, 1);
        d.crash(0, None);
        assert_eq!(d.durable().current_epoch, 0, "the unsynced write died with the process");
        assert_eq!(d.volatile_writes(), 0);
    }

    fn truncate_to_first() -> DiskWrite {
        DiskWrite::Truncate(zab::txnlog::Truncation { file: Zxid::new(1, 1), keep: 1, deleted: vec![] })
    }

    /// `FileTxnLog.truncate` then `setCurrentEpoch` at NEWLEADER: with ordered metadata the
    /// epoch file's fsync commits the journal, and the cut with it.
    #[test]
    fn ordered_metadata_makes_an_earlier_truncation_durable_with_any_fsync() {
        for (ordered, kept) in [(true, vec![1]), (false, vec![1, 2])] {
            let mut d = Disk::new(DurableState::default(), u64::MAX, ordered);
            d.write(0, append(1));
            d.write(0, append(2));
            let (_, mark) = d.fsync(DiskFile::Log, 0, 10);
            d.complete(DiskFile::Log, mark);
            d.write(1, truncate_to_first());
            d.write(1, DiskWrite::CurrentEpoch(2));
            let (_, mark) = d.fsync(DiskFile::Epochs, 1, 10);
            d.complete(DiskFile::Epochs, mark);
            d.crash(20, None);
            let log: Vec<u64> = d.durable().history().iter().map(|t| t.zxid.counter()).collect();
            assert_eq!((d.durable().current_epoch, log), (2, kept), "ordered metadata: {ordered}");
        }
    }

    #[test]
    fn an_fsync_covers_only_its_own_file() {
        let mut d = Disk::new(DurableState::default(), u64::MAX, true);
        d.write(0, append(1));
        d.write(0, DiskWrite::CurrentEpoch(1));
        let (_, mark) = d.fsync(DiskFile::Epochs, 0, 10);
        assert!(!d.complete(DiskFile::Epochs, mark));
        d.crash(0, None);
        assert_eq!(d.durable().current_epoch, 1);
        assert!(d.durable().log.is_empty(), "the log was never fsynced");
    }

    #[test]
    fn a_torn_crash_keeps_a_prefix_of_the_unsynced_writes() {
        let mut rng = Stream::new(1, crate::world::rng::Purpose::Disk);
        let mut lengths = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let mut d = Disk::new(DurableState::default(), u64::MAX, true);
            for c in 1..=5 {
                d.write(0, append(c));
            }
            d.crash(0, Some(&mut rng));
            let kept: Vec<u64> = d.durable().history().iter().map(|t| t.zxid.counter()).collect();
            assert_eq!(kept, (1..=kept.len() as u64).collect::<Vec<_>>(), "a prefix, in order");
            assert_eq!(d.volatile_writes(), 0);
            lengths.insert(kept.len());
        }
        assert!(lengths.len() > 2, "prefixes of several lengths survive: {lengths:?}");
    }

    #[test]
    fn fsyncs_complete_in_order() {
        let mut d = Disk::new(DurableState::default(), u64::MAX, true);
        let (a, _) = d.fsync(DiskFile::Log, 0, 100);
        let (b, _) = d.fsync(DiskFile::Epochs, 10, 5);
        assert!(b >= a);
    }
}
