//! The disk: each server's durable image plus the writes it has issued but not yet
//! fsynced, per file. An fsync of a file covers that file's earlier writes and no other
//! file's (the epoch files and the transaction log are separate files in ZooKeeper).
//! A crash loses the volatile writes; a restart sees only the durable image.

use crate::rng::Stream;
use std::collections::VecDeque;
use zab::durable::{DiskFile, DiskWrite, DurableState};

#[derive(Clone, Debug, Default)]
struct FileQueue {
    /// Issued, not yet durable, in issue order.
    pending: VecDeque<DiskWrite>,
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
    epochs: FileQueue,
    log: FileQueue,
    /// When the last fsync completes (the device completes fsyncs in order).
    last_fsync_done_us: u64,
}

impl Disk {
    pub fn new(durable: DurableState) -> Disk {
        Disk { durable, epochs: FileQueue::default(), log: FileQueue::default(), last_fsync_done_us: 0 }
    }

    pub fn durable(&self) -> &DurableState {
        &self.durable
    }

    fn file(&mut self, f: DiskFile) -> &mut FileQueue {
        match f {
            DiskFile::Epochs => &mut self.epochs,
            DiskFile::Log => &mut self.log,
            DiskFile::Config => unreachable!("configuration files are written synchronously"),
        }
    }

    pub fn write(&mut self, w: DiskWrite) {
        if w.file() == DiskFile::Config {
            // Written atomically and durably before the call returns.
            self.durable.apply(&w);
            return;
        }
        let q = self.file(w.file());
        q.pending.push_back(w);
        q.issued += 1;
    }

    /// Writes issued and not yet durable, in all files.
    pub fn volatile_writes(&self) -> usize {
        self.epochs.pending.len() + self.log.pending.len()
    }

    /// An fsync of `file` issued now: it completes at the returned time, in order after
    /// earlier ones, and covers every write to that file issued up to now (the mark).
    pub fn fsync(&mut self, file: DiskFile, now_us: u64, latency_us: u64) -> (u64, u64) {
        let done = (now_us + latency_us).max(self.last_fsync_done_us);
        self.last_fsync_done_us = done;
        (done, self.file(file).issued)
    }

    /// An fsync completed: every write to `file` up to `mark` is durable. Returns whether
    /// the durable log changed.
    pub fn complete(&mut self, file: DiskFile, mark: u64) -> bool {
        let q = match file {
            DiskFile::Epochs => &mut self.epochs,
            DiskFile::Log => &mut self.log,
            DiskFile::Config => unreachable!("configuration files are written synchronously"),
        };
        let n = mark.saturating_sub(q.durable_count());
        for _ in 0..n {
            let w = q.pending.pop_front().expect("an fsync covers only issued writes");
            self.durable.apply(&w);
        }
        n > 0 && file == DiskFile::Log
    }

    /// A crash: volatile writes are gone. With `torn`, the operating system may have
    /// written some of them out already: a random prefix of each file's volatile writes
    /// survives, and the write after it, if any, is torn (its checksum fails on load, so
    /// it is lost too). The protocol must not depend on unsynced writes either vanishing or surviving.
    pub fn crash(&mut self, mut torn: Option<&mut Stream>) {
        for f in [DiskFile::Epochs, DiskFile::Log] {
            let keep = match torn.as_deref_mut() {
                Some(rng) => rng.range(0, self.file(f).pending.len() as u64),
                None => 0,
            };
            for _ in 0..keep {
                let w = self.file(f).pending.pop_front().expect("kept writes were pending");
                self.durable.apply(&w);
            }
            let q = self.file(f);
            q.issued -= q.pending.len() as u64;
            q.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab::durable::{Op, Txn};
    use zab::Zxid;

    #[test]
    fn crash_drops_unsynced_writes() {
        let mut d = Disk::new(DurableState::default());
        d.write(DiskWrite::AcceptedEpoch(1));
        let (_, mark) = d.fsync(DiskFile::Epochs, 0, 10);
        d.write(DiskWrite::CurrentEpoch(1));
        d.complete(DiskFile::Epochs, mark);
        assert_eq!(d.durable().accepted_epoch, 1);
        d.crash(None);
        assert_eq!(d.durable().current_epoch, 0, "the unsynced write died with the process");
        assert_eq!(d.volatile_writes(), 0);
    }

    #[test]
    fn an_fsync_covers_only_its_own_file() {
        let mut d = Disk::new(DurableState::default());
        d.write(DiskWrite::Append(Txn { zxid: Zxid::new(1, 1), op: Op::Initial }));
        d.write(DiskWrite::CurrentEpoch(1));
        let (_, mark) = d.fsync(DiskFile::Epochs, 0, 10);
        assert!(!d.complete(DiskFile::Epochs, mark));
        d.crash(None);
        assert_eq!(d.durable().current_epoch, 1);
        assert!(d.durable().log.is_empty(), "the log was never fsynced");
    }

    #[test]
    fn a_torn_crash_keeps_a_prefix_of_the_unsynced_writes() {
        let mut rng = Stream::new(1, crate::rng::Purpose::Disk);
        let mut lengths = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let mut d = Disk::new(DurableState::default());
            for c in 1..=5 {
                d.write(DiskWrite::Append(Txn { zxid: Zxid::new(1, c), op: Op::Initial }));
            }
            d.crash(Some(&mut rng));
            let kept: Vec<u64> = d.durable().log.iter().map(|t| t.zxid.counter()).collect();
            assert_eq!(kept, (1..=kept.len() as u64).collect::<Vec<_>>(), "a prefix, in order");
            assert_eq!(d.volatile_writes(), 0);
            lengths.insert(kept.len());
        }
        assert!(lengths.len() > 2, "prefixes of several lengths survive: {lengths:?}");
    }

    #[test]
    fn fsyncs_complete_in_order() {
        let mut d = Disk::new(DurableState::default());
        let (a, _) = d.fsync(DiskFile::Log, 0, 100);
        let (b, _) = d.fsync(DiskFile::Epochs, 10, 5);
        assert!(b >= a);
    }
}
