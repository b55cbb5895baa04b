//! How a leader synchronizes a learner (`LearnerHandler.syncFollower`): DIFF, TRUNC (then
//! DIFF) or SNAP, chosen from the learner's last zxid and the leader's committed log.

use crate::durable::Txn;
use crate::types::Zxid;
use crate::variant::Variant;

/// `commitLogCount`: how many recent committed proposals the leader keeps in memory.
pub const COMMIT_LOG_COUNT: usize = 500;

/// The first packet of a sync, and what follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncOp {
    /// DIFF: the learner's log matches up to its last zxid; `zxid` is the leader's last
    /// committed.
    Diff { zxid: Zxid },
    /// TRUNC: drop everything after `zxid`, then the txns.
    Trunc { zxid: Zxid },
    /// SNAP: the committed history replaces the learner's.
    Snap,
}

/// What to send a learner: the op packet, then each txn as PROPOSAL + COMMIT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPlan {
    pub op: SyncOp,
    pub txns: Vec<Txn>,
    /// The last zxid this sync brings the learner to (`currentZxid` for `startForwarding`).
    pub last_queued: Zxid,
}

/// `syncFollower`. `committed` is the leader's committed history in zxid order;
/// `last_processed` its last applied zxid.
pub fn plan(variant: Variant, committed: &[Txn], last_processed: Zxid, peer_last_zxid: Zxid) -> SyncPlan {
    let window = &committed[committed.len().saturating_sub(COMMIT_LOG_COUNT)..];
    let (min_committed, max_committed) = match (window.first(), window.last()) {
        (Some(a), Some(b)) => (a.zxid, b.zxid),
        _ => (last_processed, last_processed),
    };
    let peer_new_epoch = peer_last_zxid.counter() == 0;
    let snap = SyncPlan { op: SyncOp::Snap, txns: committed.to_vec(), last_queued: last_processed };
    if peer_last_zxid == last_processed {
        // Already in sync: an empty DIFF.
        return SyncPlan { op: SyncOp::Diff { zxid: peer_last_zxid }, txns: Vec::new(), last_queued: peer_last_zxid };
    }
    if peer_last_zxid > max_committed && !peer_new_epoch {
        if variant == Variant::Zk1154 {
            // ZOOKEEPER-1154: the learner keeps what it has past our history.
            return SyncPlan { op: SyncOp::Diff { zxid: max_committed }, txns: Vec::new(), last_queued: max_committed };
        }
        return SyncPlan { op: SyncOp::Trunc { zxid: max_committed }, txns: Vec::new(), last_queued: max_committed };
    }
    if min_committed <= peer_last_zxid && peer_last_zxid <= max_committed {
        return queue_committed(window, peer_last_zxid, max_committed).unwrap_or(snap);
    }
    if peer_last_zxid < min_committed {
        // From the on-disk txn log when it is small next to the snapshot
        // (`snapshotSizeFactor` 0.33), else SNAP.
        let to_send = committed.iter().filter(|t| t.zxid > peer_last_zxid).count();
        if to_send * 100 <= committed.len() * 33 {
            return queue_committed(committed, peer_last_zxid, max_committed).unwrap_or(snap);
        }
    }
    snap
}

/// `queueCommittedProposals`: DIFF or TRUNC from where the learner's history meets ours,
/// then every later committed txn. `None` when only a SNAP can do it (a TRUNC across an
/// epoch boundary, or no meeting point).
fn queue_committed(txns: &[Txn], peer_last_zxid: Zxid, last_committed: Zxid) -> Option<SyncPlan> {
    let peer_new_epoch = peer_last_zxid.counter() == 0;
    let mut op = None;
    let mut queued = peer_last_zxid;
    let mut prev = Zxid::ZERO;
    let mut out = Vec::new();
    for t in txns {
        if t.zxid < peer_last_zxid {
            prev = t.zxid;
            continue;
        }
        if op.is_none() {
            if t.zxid == peer_last_zxid {
                op = Some(SyncOp::Diff { zxid: last_committed });
                continue;
            }
            if peer_new_epoch {
                op = Some(SyncOp::Diff { zxid: last_committed });
            } else {
                // The learner has txns we never saw: truncate to where we agree. A TRUNC
                // may not cross an epoch boundary (the learner would crash): SNAP instead.
                if t.zxid.epoch() != peer_last_zxid.epoch() {
                    return None;
                }
                op = Some(SyncOp::Trunc { zxid: prev });
            }
        }
        if t.zxid <= queued {
            continue;
        }
        out.push(t.clone());
        queued = t.zxid;
    }
    if op.is_none() && peer_new_epoch {
        op = Some(SyncOp::Diff { zxid: last_committed });
    }
    Some(SyncPlan { op: op?, txns: out, last_queued: queued })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::Op;

    fn log(zxids: &[(u64, u64)]) -> Vec<Txn> {
        zxids.iter().map(|&(e, c)| Txn { zxid: Zxid::new(e, c), op: Op::Initial }).collect()
    }

    #[test]
    fn a_learner_in_sync_gets_an_empty_diff() {
        let l = log(&[(1, 1), (1, 2)]);
        let p = plan(Variant::None, &l, Zxid::new(1, 2), Zxid::new(1, 2));
        assert_eq!(p.op, SyncOp::Diff { zxid: Zxid::new(1, 2) });
        assert!(p.txns.is_empty());
    }

    #[test]
    fn a_learner_behind_inside_the_window_gets_a_diff_of_the_rest() {
        let l = log(&[(1, 1), (1, 2), (1, 3)]);
        let p = plan(Variant::None, &l, Zxid::new(1, 3), Zxid::new(1, 1));
        assert_eq!(p.op, SyncOp::Diff { zxid: Zxid::new(1, 3) });
        assert_eq!(p.txns, log(&[(1, 2), (1, 3)]));
        assert_eq!(p.last_queued, Zxid::new(1, 3));
    }

    #[test]
    fn a_learner_past_the_committed_log_is_truncated() {
        let l = log(&[(1, 1), (1, 2)]);
        let p = plan(Variant::None, &l, Zxid::new(1, 2), Zxid::new(1, 5));
        assert_eq!(p.op, SyncOp::Trunc { zxid: Zxid::new(1, 2) });
        let buggy = plan(Variant::Zk1154, &l, Zxid::new(1, 2), Zxid::new(1, 5));
        assert_eq!(buggy.op, SyncOp::Diff { zxid: Zxid::new(1, 2) }, "ZOOKEEPER-1154");
    }

    #[test]
    fn a_learner_with_a_txn_we_lack_inside_the_window_is_truncated_to_the_common_point() {
        // We have 1:1 1:2 2:1; the learner logged 1:3, which we never saw... across an
        // epoch boundary: SNAP. Within one epoch (1:1 1:2 1:4 vs learner 1:3): TRUNC to 1:2.
        let l = log(&[(1, 1), (1, 2), (2, 1)]);
        let p = plan(Variant::None, &l, Zxid::new(2, 1), Zxid::new(1, 3));
        assert_eq!(p.op, SyncOp::Snap);
        let l = log(&[(1, 1), (1, 2), (1, 4)]);
        let p = plan(Variant::None, &l, Zxid::new(1, 4), Zxid::new(1, 3));
        assert_eq!(p.op, SyncOp::Trunc { zxid: Zxid::new(1, 2) });
        assert_eq!(p.txns, log(&[(1, 4)]));
    }

    #[test]
    fn a_learner_far_behind_gets_a_snapshot_unless_the_log_is_small() {
        let many: Vec<(u64, u64)> = (1..=600).map(|c| (1, c)).collect();
        let l = log(&many);
        let far = plan(Variant::None, &l, Zxid::new(1, 600), Zxid::new(1, 10));
        assert_eq!(far.op, SyncOp::Snap, "below the window and most of the log to send");
        assert_eq!(far.txns.len(), 600);
        let near = plan(Variant::None, &l, Zxid::new(1, 600), Zxid::new(1, 150));
        assert_eq!(near.op, SyncOp::Diff { zxid: Zxid::new(1, 600) }, "inside the 500-txn window");
        assert_eq!(near.txns.len(), 450);
        let many: Vec<(u64, u64)> = (1..=2000).map(|c| (1, c)).collect();
        let l = log(&many);
        let from_log = plan(Variant::None, &l, Zxid::new(1, 2000), Zxid::new(1, 1400));
        assert_eq!(from_log.op, SyncOp::Diff { zxid: Zxid::new(1, 2000) }, "below the window, small next to the log");
        assert_eq!(from_log.txns.len(), 600);
    }

    #[test]
    fn an_empty_learner_with_an_empty_leader_is_in_sync() {
        let p = plan(Variant::None, &[], Zxid::ZERO, Zxid::ZERO);
        assert_eq!(p.op, SyncOp::Diff { zxid: Zxid::ZERO });
    }
}
