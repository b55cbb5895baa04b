//! How a leader synchronizes a learner (`LearnerHandler.syncFollower`, release-3.9.3 and
//! release-3.8.0, identical there): an empty DIFF, DIFF or TRUNC from the in-memory
//! `committedLog`, DIFF from the on-disk txn log followed by `committedLog`, or SNAP.
//!
//! The inputs are exactly what ZooKeeper looks at: the committed log and its bounds, the
//! tree's `lastProcessedZxid`, the txn log files with their lengths, and the newest
//! snapshot's length. The learner's last zxid is its in-memory `lastProcessedZxid`.

pub use crate::contract::{SyncBranch, SyncMode};
use crate::durable::Txn;
use crate::txnlog::TxnLog;
use crate::types::Zxid;
use crate::variant::Variant;
use std::collections::VecDeque;

/// The first packet of a sync.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SyncOp {
    /// DIFF: the learner's log matches up to its last zxid; `zxid` is the leader's
    /// `maxCommittedLog` (or, in sync already, the learner's own zxid).
    Diff { zxid: Zxid },
    /// TRUNC: drop everything after `zxid`, then the txns.
    Trunc { zxid: Zxid },
    /// SNAP: the leader's tree replaces the learner's.
    Snap,
}

impl SyncOp {
    pub fn mode(&self) -> SyncMode {
        match self {
            SyncOp::Diff { .. } => SyncMode::Diff,
            SyncOp::Trunc { .. } => SyncMode::Trunc,
            SyncOp::Snap => SyncMode::Snap,
        }
    }
}

/// What the leader queues: the op packet, each txn as PROPOSAL + COMMIT, and the zxid
/// `startForwarding` continues from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyncPlan {
    pub op: SyncOp,
    pub branch: SyncBranch,
    pub txns: Vec<Txn>,
    /// `currentZxid`: the last zxid this sync brings the learner to.
    pub last_queued: Zxid,
}

/// What the leader's database holds for a sync.
#[derive(Clone, Copy, Debug, Hash)]
pub struct SyncSource<'a> {
    pub committed_log: &'a VecDeque<Txn>,
    pub min_committed: Zxid,
    pub max_committed: Zxid,
    /// `getDataTreeLastProcessedZxid`.
    pub last_processed: Zxid,
    pub log: &'a TxnLog,
    /// `findMostRecentSnapshot().length()`.
    pub newest_snapshot_bytes: u64,
    /// `snapshotSizeFactor` in percent; negative: `isTxnLogSyncEnabled` is false.
    pub snapshot_size_factor_pct: i64,
}

/// `syncFollower` with the learner's `peerLastZxid`.
pub fn sync_follower(variant: Variant, db: SyncSource<'_>, peer_last_zxid: Zxid) -> SyncPlan {
    let is_peer_new_epoch_zxid = peer_last_zxid.counter() == 0;
    let (mut min_committed, mut max_committed) = (db.min_committed, db.max_committed);
    let last_processed = db.last_processed;
    if db.committed_log.is_empty() {
        min_committed = last_processed;
        max_committed = last_processed;
    }
    let mut q = Queue::new(peer_last_zxid);
    let snap =
        |q: Queue| SyncPlan { op: SyncOp::Snap, branch: SyncBranch::Snap, txns: q.txns, last_queued: last_processed };
    if last_processed == peer_last_zxid {
        // "Sending DIFF": the learner is in sync.
        let op = SyncOp::Diff { zxid: peer_last_zxid };
        return SyncPlan { op, branch: SyncBranch::InSync, txns: Vec::new(), last_queued: peer_last_zxid };
    }
    if peer_last_zxid > max_committed && !is_peer_new_epoch_zxid {
        if variant == Variant::Zk1154 {
            // ZOOKEEPER-1154: the learner keeps what it has past our history.
            let op = SyncOp::Diff { zxid: max_committed };
            return SyncPlan {
                op,
                branch: SyncBranch::TruncPastCommittedLog,
                txns: Vec::new(),
                last_queued: max_committed,
            };
        }
        let op = SyncOp::Trunc { zxid: max_committed };
        return SyncPlan {
            op,
            branch: SyncBranch::TruncPastCommittedLog,
            txns: Vec::new(),
            last_queued: max_committed,
        };
    }
    if max_committed >= peer_last_zxid && min_committed <= peer_last_zxid {
        let last = q.queue_committed_proposals(db.committed_log.iter(), None, max_committed);
        return match q.op {
            // `needOpPacket && !needSnap`: "Unhandled scenario", fall back to a snapshot. It
            // is decided after `startForwarding` ran from `currentZxid`, the peer's zxid.
            None => SyncPlan { op: SyncOp::Snap, branch: SyncBranch::Snap, txns: Vec::new(), last_queued: q.queued },
            Some(op) => SyncPlan { op, branch: SyncBranch::CommittedLog, txns: q.txns, last_queued: last },
        };
    }
    if peer_last_zxid < min_committed && db.snapshot_size_factor_pct >= 0 {
        // `calculateTxnLogSizeLimit`, then `getProposalsFromTxnLog`.
        let size_limit = db.newest_snapshot_bytes * db.snapshot_size_factor_pct.unsigned_abs() / 100;
        let mut from_log = db.log.read_from_file_of(peer_last_zxid).peekable();
        let reaches_back = from_log.peek().is_some_and(|t| t.zxid <= peer_last_zxid);
        let small_enough = size_limit == 0 || db.log.storage_size_after(peer_last_zxid) <= size_limit;
        if reaches_back && small_enough {
            let current = q.queue_committed_proposals(from_log, Some(min_committed), max_committed);
            if current < min_committed {
                // "Detected gap between end of txnlog and start of committedLog".
                return snap(Queue::new(peer_last_zxid));
            }
            let last = q.queue_committed_proposals(db.committed_log.iter(), None, max_committed);
            if let Some(op) = q.op.clone() {
                return SyncPlan { op, branch: SyncBranch::TxnLogThenCommittedLog, txns: q.txns, last_queued: last };
            }
        }
    }
    snap(Queue::new(peer_last_zxid))
}

/// How a DIFF or TRUNC payload differs from the leader's history (the txns applied to its
/// tree, in order) over the range it syncs: the payload's txns the history does not hold,
/// and the history's txns the payload skips. A DIFF covers `(peer_last_zxid,
/// plan.last_queued]`. A TRUNC to `z` leaves the learner its history up to `z`, so it covers
/// `(min(z, peer_last_zxid), plan.last_queued]`, and `z` itself counts as a txn the history
/// does not hold unless it is one of its zxids (or zero): ZOOKEEPER-2846's TRUNC, where the
/// leader's txn log has never-committed entries an earlier SNAP left, and the txns that
/// SNAP brought are in the tree but not in the log (`queueCommittedProposals` truncates to
/// the stale entry before the peer's zxid, and queues only what follows the peer's zxid).
/// ZooKeeper compares nothing of the kind; the checker uses it to name what went wrong.
pub fn compare_with_history(history: &[Txn], plan: &SyncPlan, peer_last_zxid: Zxid) -> (Vec<Zxid>, Vec<Zxid>) {
    let held = |t: &Txn| {
        history.binary_search_by_key(&t.zxid, |h| h.zxid).is_ok_and(|k| history[k] == *t)
            || history.iter().rev().any(|h| h == t)
    };
    let mut foreign: Vec<Zxid> = plan.txns.iter().filter(|t| !held(t)).map(|t| t.zxid).collect();
    let sent: std::collections::BTreeSet<Zxid> = plan.txns.iter().map(|t| t.zxid).collect();
    let (from, upto) = match plan.op {
        SyncOp::Diff { .. } => (peer_last_zxid, plan.last_queued),
        SyncOp::Trunc { zxid } => {
            let known = zxid == Zxid::ZERO
                || history.binary_search_by_key(&zxid, |h| h.zxid).is_ok()
                || history.iter().any(|h| h.zxid == zxid);
            if !known {
                foreign.insert(0, zxid);
            }
            (zxid.min(peer_last_zxid), plan.last_queued)
        }
        SyncOp::Snap => return (foreign, Vec::new()),
    };
    let from = history.partition_point(|h| h.zxid <= from);
    let missing = history[from..]
        .iter()
        .take_while(|h| h.zxid <= upto)
        .filter(|h| !sent.contains(&h.zxid))
        .map(|h| h.zxid)
        .collect();
    (foreign, missing)
}

/// `queueCommittedProposals`'s state across the calls of one sync: the op packet once
/// chosen (`needOpPacket`), the proposals queued and the last zxid queued.
struct Queue {
    peer_last_zxid: Zxid,
    op: Option<SyncOp>,
    txns: Vec<Txn>,
    queued: Zxid,
}

impl Queue {
    fn new(peer_last_zxid: Zxid) -> Queue {
        Queue { peer_last_zxid, op: None, txns: Vec::new(), queued: peer_last_zxid }
    }

    /// Queues the proposals of `itr` in `(queued, max_zxid]`, choosing DIFF or TRUNC from
    /// where the learner's history meets them. Returns the last zxid queued; stops early
    /// (leaving the op unchosen) on a TRUNC that would cross an epoch boundary.
    fn queue_committed_proposals<'a>(
        &mut self,
        itr: impl Iterator<Item = &'a Txn>,
        max_zxid: Option<Zxid>,
        last_committed: Zxid,
    ) -> Zxid {
        let peer = self.peer_last_zxid;
        let is_peer_new_epoch_zxid = peer.counter() == 0;
        // `queueCommittedProposals` starts each call from the zxid it was given: the peer's
        // on the first call, the txn log's last on the second.
        let mut queued = self.queued;
        let mut prev: Option<Zxid> = None;
        for t in itr {
            if max_zxid.is_some_and(|m| t.zxid > m) {
                break;
            }
            if t.zxid < peer {
                prev = Some(t.zxid);
                continue;
            }
            if self.op.is_none() {
                if t.zxid == peer {
                    self.op = Some(SyncOp::Diff { zxid: last_committed });
                    continue;
                }
                if is_peer_new_epoch_zxid {
                    self.op = Some(SyncOp::Diff { zxid: last_committed });
                } else if t.zxid > peer {
                    // The learner has txns we never saw. A TRUNC may not cross an epoch
                    // boundary (the learner would crash): SNAP instead.
                    if t.zxid.epoch() != peer.epoch() {
                        self.queued = queued;
                        return queued;
                    }
                    // `prevProposalZxid` starts at -1: with nothing before, the learner
                    // is truncated to before any txn.
                    self.op = Some(SyncOp::Trunc { zxid: prev.unwrap_or(Zxid::ZERO) });
                }
            }
            if t.zxid <= queued {
                continue;
            }
            self.txns.push(t.clone());
            queued = t.zxid;
        }
        if self.op.is_none() && is_peer_new_epoch_zxid {
            self.op = Some(SyncOp::Diff { zxid: last_committed });
        }
        self.queued = queued;
        queued
    }
}

#[cfg(test)]
mod tests {
    //! One test per branch of `LearnerHandler.syncFollower` (release-3.9.3).
    use super::*;
    use crate::durable::Op;
    use crate::txnlog::PREALLOC_BYTES_DEFAULT;

    fn txn(e: u64, c: u64) -> Txn {
        Txn { zxid: Zxid::new(e, c), op: Op::Initial }
    }

    fn z(e: u64, c: u64) -> Zxid {
        Zxid::new(e, c)
    }

    /// A leader whose log files hold `files` (each a run of counters in epoch 1) and whose
    /// committed log holds the last `window` txns.
    struct Leader {
        committed: VecDeque<Txn>,
        log: TxnLog,
        last_processed: Zxid,
        snapshot_bytes: u64,
    }

    impl Leader {
        fn new(files: &[std::ops::RangeInclusive<u64>], window: usize) -> Leader {
            let mut log = TxnLog::default();
            for f in files {
                log.roll();
                for c in f.clone() {
                    let target = log.append_target(z(1, c));
                    log.append(target, txn(1, c));
                }
            }
            let all: Vec<Txn> = log.txns().cloned().collect();
            let committed: VecDeque<Txn> = all[all.len().saturating_sub(window)..].iter().cloned().collect();
            let last_processed = all.last().map_or(Zxid::ZERO, |t| t.zxid);
            Leader { committed, log, last_processed, snapshot_bytes: 1_000 }
        }

        fn source(&self) -> SyncSource<'_> {
            SyncSource {
                committed_log: &self.committed,
                min_committed: self.committed.front().map_or(Zxid::ZERO, |t| t.zxid),
                max_committed: self.committed.back().map_or(Zxid::ZERO, |t| t.zxid),
                last_processed: self.last_processed,
                log: &self.log,
                newest_snapshot_bytes: self.snapshot_bytes,
                snapshot_size_factor_pct: 33,
            }
        }

        fn sync(&self, peer: Zxid) -> SyncPlan {
            sync_follower(Variant::None, self.source(), peer)
        }
    }

    fn counters(p: &SyncPlan) -> Vec<u64> {
        p.txns.iter().map(|t| t.zxid.counter()).collect()
    }

    #[test]
    fn a_learner_in_sync_gets_an_empty_diff() {
        let l = Leader::new(&[1..=2], 500);
        let p = l.sync(z(1, 2));
        assert_eq!((p.op, p.branch), (SyncOp::Diff { zxid: z(1, 2) }, SyncBranch::InSync));
        assert!(p.txns.is_empty());
    }

    #[test]
    fn a_learner_behind_inside_the_committed_log_gets_a_diff_of_the_rest() {
        let l = Leader::new(&[1..=3], 500);
        let p = l.sync(z(1, 1));
        assert_eq!((p.op.clone(), p.branch), (SyncOp::Diff { zxid: z(1, 3) }, SyncBranch::CommittedLog));
        assert_eq!(counters(&p), vec![2, 3]);
        assert_eq!(p.last_queued, z(1, 3));
    }

    #[test]
    fn a_learner_past_the_committed_log_is_truncated() {
        let l = Leader::new(&[1..=2], 500);
        let p = l.sync(z(1, 5));
        assert_eq!((p.op, p.branch), (SyncOp::Trunc { zxid: z(1, 2) }, SyncBranch::TruncPastCommittedLog));
        let buggy = sync_follower(Variant::Zk1154, l.source(), z(1, 5));
        assert_eq!(buggy.op, SyncOp::Diff { zxid: z(1, 2) }, "ZOOKEEPER-1154");
    }

    #[test]
    fn a_learner_with_a_txn_we_lack_is_truncated_to_the_common_point_then_diffed() {
        // We have 1:1 1:2 1:4; the learner logged 1:3, which we never saw.
        let mut l = Leader::new(&[], 500);
        l.committed = [txn(1, 1), txn(1, 2), txn(1, 4)].into_iter().collect();
        l.last_processed = z(1, 4);
        let p = l.sync(z(1, 3));
        assert_eq!(p.op, SyncOp::Trunc { zxid: z(1, 2) });
        assert_eq!(counters(&p), vec![4]);
    }

    #[test]
    fn a_trunc_across_an_epoch_boundary_becomes_a_snap() {
        // We have 1:1 1:2 2:1; the learner logged 1:3: the unhandled case falls back to SNAP.
        let mut l = Leader::new(&[], 500);
        l.committed = [txn(1, 1), txn(1, 2), txn(2, 1)].into_iter().collect();
        l.last_processed = z(2, 1);
        let p = l.sync(z(1, 3));
        assert_eq!((p.op, p.branch), (SyncOp::Snap, SyncBranch::Snap));
        // The fallback comes after `startForwarding` ran from `currentZxid`, the peer's.
        assert_eq!(p.last_queued, z(1, 3));
    }

    #[test]
    fn a_new_epoch_zxid_is_diffed_never_truncated() {
        // `isPeerNewEpochZxid`: a learner at 2:0 (it synced with a leader of epoch 2 that
        // committed nothing) is past our committed log but gets a DIFF of what we have.
        let mut l = Leader::new(&[], 500);
        l.committed = [txn(1, 1), txn(3, 1)].into_iter().collect();
        l.last_processed = z(3, 1);
        let p = l.sync(z(2, 0));
        assert_eq!(p.op, SyncOp::Diff { zxid: z(3, 1) });
        assert_eq!(counters(&p), vec![1], "3:1");
        // Past everything we hold: the catch-all empty DIFF at the end of queueCommittedProposals.
        l.last_processed = z(3, 0);
        l.committed = [txn(1, 1)].into_iter().collect();
        let p = l.sync(z(2, 0));
        assert_eq!(p.op, SyncOp::Snap, "2:0 > maxCommittedLog 1:1 with no txn at or after it: no op, SNAP");
    }

    #[test]
    fn an_empty_committed_log_uses_last_processed_as_its_bounds() {
        // A new leader that replayed nothing (a snapshot at its last zxid): a learner
        // behind it gets a SNAP unless the txn log serves it.
        let mut l = Leader::new(&[1..=5], 0);
        l.committed.clear();
        let p = l.sync(z(1, 3));
        assert_eq!(p.branch, SyncBranch::TxnLogThenCommittedLog, "one log file: its size counts 0");
        assert_eq!(counters(&p), vec![4, 5]);
        // A fresh learner at 0 when our last processed is 2:0 (an established leader).
        let mut l = Leader::new(&[], 0);
        l.last_processed = z(2, 0);
        assert_eq!(l.sync(Zxid::ZERO).op, SyncOp::Snap, "a fresh learner after establishment");
        // ... while before establishment an empty leader is in sync with it.
        l.last_processed = Zxid::ZERO;
        assert_eq!(l.sync(Zxid::ZERO).branch, SyncBranch::InSync);
    }

    #[test]
    fn below_the_committed_log_one_log_file_serves_a_diff() {
        // 700 behind with a 500-txn window: the txn log reaches back, and with one file the
        // size counted is 0.
        let l = Leader::new(&[1..=1200], 500);
        let p = l.sync(z(1, 500));
        assert_eq!((p.op.clone(), p.branch), (SyncOp::Diff { zxid: z(1, 1200) }, SyncBranch::TxnLogThenCommittedLog));
        assert_eq!(p.txns.len(), 700);
        assert_eq!(p.last_queued, z(1, 1200));
    }

    #[test]
    fn below_the_committed_log_a_second_log_file_makes_it_a_snap() {
        // The iterator opens the first file; the second's 64 MB is more than 0.33 x the
        // snapshot.
        let l = Leader::new(&[1..=600, 601..=1200], 500);
        assert_eq!(l.sync(z(1, 500)).branch, SyncBranch::Snap);
        // A learner whose zxid is in the newest file reads only that one.
        let mut l = Leader::new(&[1..=600, 601..=1300], 300);
        l.committed = l.committed.split_off(100);
        assert_eq!(l.sync(z(1, 700)).branch, SyncBranch::TxnLogThenCommittedLog);
        // A snapshot large enough lets the older file serve it.
        let mut l = Leader::new(&[1..=600, 601..=1200], 500);
        l.snapshot_bytes = 4 * PREALLOC_BYTES_DEFAULT;
        assert_eq!(l.sync(z(1, 500)).branch, SyncBranch::TxnLogThenCommittedLog);
    }

    #[test]
    fn below_a_log_that_does_not_reach_back_is_a_snap() {
        // The oldest file starts after the learner's zxid: "Unable to find proposals".
        let l = Leader::new(&[100..=1200], 500);
        assert_eq!(l.sync(z(1, 50)).branch, SyncBranch::Snap);
    }

    #[test]
    fn a_gap_between_the_txn_log_and_the_committed_log_is_a_snap() {
        // The log ends at 1:600 but the committed log starts at 1:700.
        let mut l = Leader::new(&[1..=600], 0);
        l.committed = (700..=800).map(|c| txn(1, c)).collect();
        l.last_processed = z(1, 800);
        assert_eq!(l.sync(z(1, 100)).branch, SyncBranch::Snap);
    }

    #[test]
    fn a_negative_size_factor_turns_log_syncs_off() {
        let l = Leader::new(&[1..=1200], 500);
        let mut s = l.source();
        s.snapshot_size_factor_pct = -1;
        assert_eq!(sync_follower(Variant::None, s, z(1, 500)).branch, SyncBranch::Snap);
    }

    /// ZOOKEEPER-2846's TRUNC form (`LearnerHandler.syncFollower` -> `getProposalsFromTxnLog`
    /// -> `queueCommittedProposals`, release-3.9.4): a leader that was synced by SNAP keeps
    /// in its txn log the never-committed 1:6..1:9 it had before, and lacks 2:1, 2:2, which
    /// only the SNAP brought. A learner at 2:2, below `minCommittedLog`, is truncated to the
    /// stale 1:9 (the last log entry before its zxid) and sent only what follows 2:2: it
    /// loses 2:1 and 2:2. The comparison names both.
    #[test]
    fn a_trunc_to_a_stale_log_entry_is_not_the_leaders_history() {
        let mut log = TxnLog::default();
        for t in (1..=9).map(|c| txn(1, c)).chain((3..=6).map(|c| txn(2, c))) {
            let target = log.append_target(t.zxid);
            log.append(target, t);
        }
        let history: Vec<Txn> = (1..=5).map(|c| txn(1, c)).chain((1..=6).map(|c| txn(2, c))).collect();
        let committed: VecDeque<Txn> = (3..=6).map(|c| txn(2, c)).collect();
        let source = SyncSource {
            committed_log: &committed,
            min_committed: z(2, 3),
            max_committed: z(2, 6),
            last_processed: z(2, 6),
            log: &log,
            newest_snapshot_bytes: 1_000,
            snapshot_size_factor_pct: 33,
        };
        let plan = sync_follower(Variant::None, source, z(2, 2));
        assert_eq!(plan.op, SyncOp::Trunc { zxid: z(1, 9) });
        assert_eq!(plan.branch, SyncBranch::TxnLogThenCommittedLog);
        assert_eq!(plan.txns.iter().map(|t| t.zxid).collect::<Vec<_>>(), (3..=6).map(|c| z(2, c)).collect::<Vec<_>>());
        let (foreign, missing) = compare_with_history(&history, &plan, z(2, 2));
        assert_eq!(foreign, vec![z(1, 9)], "the TRUNC point is no txn of the leader's history");
        assert_eq!(missing, vec![z(2, 1), z(2, 2)], "what the SNAP brought is never sent");
        // The ordinary TRUNC: the learner logged 1:8, which we never saw; we hold 1:9.
        let clean: VecDeque<Txn> = (1..=7).chain([9]).map(|c| txn(1, c)).collect();
        let source = SyncSource {
            committed_log: &clean,
            min_committed: z(1, 1),
            max_committed: z(1, 9),
            last_processed: z(1, 9),
            ..source
        };
        let plan = sync_follower(Variant::None, source, z(1, 8));
        assert_eq!(plan.op, SyncOp::Trunc { zxid: z(1, 7) });
        let clean: Vec<Txn> = clean.into_iter().collect();
        assert_eq!(compare_with_history(&clean, &plan, z(1, 8)), (vec![], vec![]));
    }
}
