//! The disk: each server's durable image plus the writes it has issued but not yet
//! fsynced. A crash loses the volatile writes; a restart sees only the durable image.

use std::collections::VecDeque;
use zab::durable::{DiskWrite, DurableState};

#[derive(Clone, Debug)]
pub struct Disk {
    durable: DurableState,
    /// Issued, not yet durable, in issue order.
    pending: VecDeque<DiskWrite>,
    /// Writes issued so far (durable ones included).
    issued: u64,
    /// When the last fsync completes (fsyncs complete in order).
    last_fsync_done_us: u64,
}

impl Disk {
    pub fn new(durable: DurableState) -> Disk {
        Disk { durable, pending: VecDeque::new(), issued: 0, last_fsync_done_us: 0 }
    }

    pub fn durable(&self) -> &DurableState {
        &self.durable
    }

    pub fn write(&mut self, w: DiskWrite) {
        self.pending.push_back(w);
        self.issued += 1;
    }

    /// An fsync issued now: it completes at the returned time, in order after earlier
    /// ones, and covers every write issued up to now (the returned mark).
    pub fn fsync(&mut self, now_us: u64, latency_us: u64) -> (u64, u64) {
        let done = (now_us + latency_us).max(self.last_fsync_done_us);
        self.last_fsync_done_us = done;
        (done, self.issued)
    }

    /// An fsync completed: every write up to `mark` is durable.
    pub fn complete(&mut self, mark: u64) {
        let durable_count = self.issued - self.pending.len() as u64;
        let n = mark.saturating_sub(durable_count);
        for _ in 0..n {
            let w = self.pending.pop_front().expect("fsync covers only issued writes");
            self.durable.apply(&w);
        }
    }

    /// A crash: volatile writes are gone.
    pub fn crash(&mut self) {
        self.issued -= self.pending.len() as u64;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_drops_unsynced_writes() {
        let mut d = Disk::new(DurableState::default());
        d.write(DiskWrite::AcceptedEpoch(1));
        let (_, mark) = d.fsync(0, 10);
        d.write(DiskWrite::CurrentEpoch(1));
        d.complete(mark);
        assert_eq!(d.durable().accepted_epoch, 1);
        d.crash();
        assert_eq!(d.durable().current_epoch, 0, "the unsynced write died with the process");
    }

    #[test]
    fn fsyncs_complete_in_order() {
        let mut d = Disk::new(DurableState::default());
        let (a, _) = d.fsync(0, 100);
        let (b, _) = d.fsync(10, 5);
        assert!(b >= a);
    }
}
