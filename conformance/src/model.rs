//! The model's side: each recorded decision's inputs given to the `zab` crate, and its
//! answer in the corpus's words. One small adapter, so a change of the model's API is a
//! change here only.
//!
//! Sync: `zab::sync::sync_follower` over what `LearnerHandler.syncFollower` read: the
//! committedLog bounds and lastProcessedZxid from the leader's "Synchronizing with Learner"
//! line, its txn log files (names, lengths and zxids, parsed from the data dir) and the
//! newest snapshot's length; the committedLog is rebuilt from the log's txns between its
//! bounds.

use crate::corpus::{
    ClientQuestion, Hex, RecordedClient, RecordedElection, RecordedEpoch, RecordedReconfig, RecordedSync, RecordedVote,
    SyncDecision, SyncOpKind,
};
use std::collections::VecDeque;
use zab::contract::{NodeConfig, Outbox, Timer};
use zab::durable::{Op, Txn};
use zab::election::{Election, Vote};
use zab::quorum::{QuorumVerifier, Quorums};
use zab::sync::{sync_follower, SyncOp, SyncSource};
use zab::timing::Timing;
use zab::txnlog::{LogFile, TxnLog};
use zab::{Notification, ServerState, Variant, Zxid};

/// The ZooKeeper release the model is compared as. Debian's package is 3.8.0; the model
/// follows 3.9 where the two differ (the NEWLEADER order of ZOOKEEPER-4643/4646/4685, which
/// no decision recorded here depends on). `syncFollower`, `queueCommittedProposals` and FLE's
/// vote order are the same in both.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    Zk380,
}

impl Profile {
    /// The profile for a server's reported version ("3.8.0-..."), if the model has one.
    pub fn for_version(version: &str) -> Option<Profile> {
        version.starts_with("3.8.0").then_some(Profile::Zk380)
    }

    /// The model's variant for this profile: the correct protocol.
    pub fn variant(self) -> Variant {
        match self {
            Profile::Zk380 => Variant::None,
        }
    }
}

/// The alias the brief names: the model's DIFF/TRUNC/SNAP with its zxid.
pub type Decision = SyncDecision;

/// The model's sync decision for the same inputs.
pub fn model_sync_decision(s: &RecordedSync) -> Decision {
    model_sync_decision_in(Profile::Zk380, s)
}

pub fn model_sync_decision_in(profile: Profile, s: &RecordedSync) -> Decision {
    let last_processed = Zxid(s.last_processed_zxid.0);
    let (min, max) = (Zxid(s.min_committed_log.0), Zxid(s.max_committed_log.0));
    // The leader's log files as its data dir listed them.
    let mut files: Vec<&crate::corpus::TxnLogFile> = s.txn_logs.iter().collect();
    files.sort_by_key(|f| f.start_zxid.0);
    let log = TxnLog {
        files: files
            .iter()
            .map(|f| LogFile {
                start: Zxid(f.start_zxid.0),
                txns: f.zxids.iter().map(|z| Txn { zxid: Zxid(z.0), op: Op::Initial }).collect(),
                written_bytes: f.size,
                size_bytes: f.size,
            })
            .collect(),
        open: false,
        prealloc_bytes: zab::txnlog::PREALLOC_BYTES_DEFAULT,
    };
    // `committedLog`: the proposals between its bounds (the leader replayed or committed
    // each, so its log holds them); empty when the bounds are those of an empty log.
    let committed: VecDeque<Txn> = if min == Zxid::ZERO && max == Zxid::ZERO {
        VecDeque::new()
    } else {
        log.txns().filter(|t| min <= t.zxid && t.zxid <= max).cloned().collect()
    };
    let newest_snapshot_bytes = s.snapshots.iter().max_by_key(|f| f.zxid.0).map_or(0, |f| f.size);
    let source = SyncSource {
        committed_log: &committed,
        min_committed: min,
        max_committed: max,
        last_processed,
        log: &log,
        newest_snapshot_bytes,
        snapshot_size_factor_pct: size_factor_pct(&s.snapshot_size_factor),
    };
    let p = sync_follower(profile.variant(), source, Zxid(s.peer_last_zxid.0));
    match p.op {
        SyncOp::Diff { zxid } => SyncDecision { op: SyncOpKind::Diff, zxid: Hex(zxid.0) },
        SyncOp::Trunc { zxid } => SyncDecision { op: SyncOpKind::Trunc, zxid: Hex(zxid.0) },
        SyncOp::Snap => SyncDecision { op: SyncOpKind::Snap, zxid: s.last_processed_zxid },
    }
}

/// `zookeeper.snapshotSizeFactor` in percent, as `ZKDatabase`'s constructor reads it: a
/// factor above 1 falls back to the default 0.33; an unreadable one too.
fn size_factor_pct(text: &str) -> i64 {
    match text.trim().parse::<f64>() {
        Ok(f) if f > 1.0 => 33,
        Ok(f) if f < 0.0 => -1,
        Ok(f) => (f * 100.0).round() as i64,
        Err(_) => 33,
    }
}

fn state_of(s: &str) -> Result<ServerState, String> {
    match s {
        "LOOKING" => Ok(ServerState::Looking),
        "FOLLOWING" => Ok(ServerState::Following),
        "LEADING" => Ok(ServerState::Leading),
        "OBSERVING" => Ok(ServerState::Observing),
        other => Err(format!("unknown server state `{other}`")),
    }
}

fn vote_of(v: &RecordedVote) -> Vote {
    Vote { leader: v.leader, zxid: Zxid(v.zxid.0), peer_epoch: v.peer_epoch }
}

/// Replays one server's election through `zab::election::Election`: the same initial
/// vote and round, the same notifications in the same order; if a quorum agreed and
/// nothing better came, the finalize wait ends it. Returns the vote and the state.
pub fn model_election(e: &RecordedElection) -> Result<(RecordedVote, String), String> {
    if e.voters.is_empty() || e.voters.iter().any(|&s| s == 0 || s > 63) {
        return Err(format!("voters {:?}: need 1..=63 server ids", e.voters));
    }
    if e.round == 0 {
        return Err("round 0: a server's first election is round 1".into());
    }
    let qv = QuorumVerifier::new(e.voters.iter().copied());
    let q = Quorums { current: qv, next: None };
    let cfg = NodeConfig::new(e.server, qv, Timing::default(), Variant::None);
    let init = vote_of(&e.initial_vote);
    let mut el = Election::new(e.server);
    let mut out = Outbox::default();
    // Rounds before this one happened earlier in the same JVM; only the count matters.
    for _ in 0..e.round {
        el.look_for_leader(&cfg, &q, init, &mut out);
    }
    for n in &e.notifications {
        let note = Notification {
            state: state_of(&n.state)?,
            leader: n.leader,
            zxid: Zxid(n.zxid.0),
            election_epoch: i64::try_from(n.round).map_err(|_| format!("round {} is out of range", n.round))?,
            peer_epoch: n.peer_epoch,
            config: qv,
        };
        if !qv.is_voter(n.from) || !qv.is_voter(n.leader) {
            continue; // `validVoter`: FLE ignores them.
        }
        if let Some(d) = el.on_notification(&cfg, &q, init, n.from, note, &mut out) {
            return Ok(decided(e.server, d.vote));
        }
    }
    if el.is_finalizing() {
        if let Some(d) = el.on_timer(&cfg, &q, Timer::FleFinalize, &mut out) {
            return Ok(decided(e.server, d.vote));
        }
    }
    Err(format!("undecided after {} notifications (proposal {:?})", e.notifications.len(), el.proposal()))
}

fn decided(me: u64, v: Vote) -> (RecordedVote, String) {
    let state = if v.leader == me { "LEADING" } else { "FOLLOWING" };
    (RecordedVote { leader: v.leader, zxid: Hex(v.zxid.0), peer_epoch: v.peer_epoch }, state.to_string())
}

/// Discovery (`Leader.getEpochToPropose`): one more than the largest acceptedEpoch.
pub fn model_epoch(e: &RecordedEpoch) -> u64 {
    e.accepted_epochs.values().copied().max().unwrap_or(0) + 1
}

/// What the model's server answers a client. These are the model's rules as
/// `zab::node::Node` applies them (`on_connect`, session expiry in `zab::session`), stated
/// on the recorded values.
pub fn model_client(c: &RecordedClient) -> String {
    match &c.question {
        // `Node::on_connect`: refused when not serving or when the client has seen a
        // newer zxid than this server has processed.
        ClientQuestion::Connect { last_zxid_seen, server_zxid, established, .. } => {
            if !established || last_zxid_seen > server_zxid {
                "refused".into()
            } else {
                "accepted".into()
            }
        }
        // closeSession deletes every ephemeral of the session and fires NodeDeleted on
        // each watched one.
        ClientQuestion::Expiry { ephemerals, watched, .. } => {
            let fired: Vec<&String> = watched.iter().filter(|w| ephemerals.contains(w)).collect();
            format!("expired; deleted {ephemerals:?}; NodeDeleted on {fired:?}")
        }
        // Reads never go back in time across a reconnect.
        ClientQuestion::ReadAfterMove { seen_before, server_zxid, .. } => {
            if server_zxid >= seen_before {
                "read not older than seen".into()
            } else {
                "refused".into()
            }
        }
    }
}

/// A reconfig's outcome: the requested membership, versioned by the reconfig txn's zxid.
pub fn model_reconfig(r: &RecordedReconfig) -> Result<(Vec<u64>, Hex), String> {
    let mut voters = r.voters_before.clone();
    let (verb, sid) = r.request.split_once(' ').ok_or_else(|| format!("request `{}`: want `-add N`", r.request))?;
    let sid: u64 = sid.trim().parse().map_err(|_| format!("request `{}`: bad server id", r.request))?;
    match verb {
        "-add" => voters.push(sid),
        "-remove" => voters.retain(|&v| v != sid),
        other => return Err(format!("request verb `{other}`: want -add or -remove")),
    }
    voters.sort_unstable();
    voters.dedup();
    Ok((voters, r.txn_zxid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{RecordedNotification, TxnLogFile};

    fn sync(peer: u64, last: u64, zxids: &[u64]) -> RecordedSync {
        RecordedSync {
            leader: 3,
            learner: 1,
            peer_last_zxid: Hex(peer),
            last_processed_zxid: Hex(last),
            min_committed_log: Hex(zxids.first().copied().unwrap_or(0)),
            max_committed_log: Hex(zxids.last().copied().unwrap_or(0)),
            snapshot_size_factor: "0.33".into(),
            commit_log_count: 500,
            txn_logs: vec![TxnLogFile {
                name: "log.100000001".into(),
                start_zxid: Hex(0x1_0000_0001),
                size: 65536,
                zxids: zxids.iter().map(|&z| Hex(z)).collect(),
            }],
            snapshots: vec![],
            listing_delay_ms: 0,
            writes_since_sync: false,
            real: SyncDecision { op: SyncOpKind::Diff, zxid: Hex(last) },
            leader_lines: vec![],
        }
    }

    #[test]
    fn a_learner_inside_the_window_gets_a_diff_to_the_last_committed() {
        let z: Vec<u64> = (1..=5).map(|c| 0x1_0000_0000 | c).collect();
        let d = model_sync_decision(&sync(0x1_0000_0002, 0x1_0000_0005, &z));
        assert_eq!(d, SyncDecision { op: SyncOpKind::Diff, zxid: Hex(0x1_0000_0005) });
    }

    #[test]
    fn an_old_leader_past_the_committed_log_is_truncated() {
        let z: Vec<u64> = (1..=5).map(|c| 0x1_0000_0000 | c).collect();
        let d = model_sync_decision(&sync(0x1_0000_0006, 0x1_0000_0005, &z));
        assert_eq!(d, SyncDecision { op: SyncOpKind::Trunc, zxid: Hex(0x1_0000_0005) });
    }

    fn note(from: u64, leader: u64, round: u64) -> RecordedNotification {
        RecordedNotification { from, state: "LOOKING".into(), leader, zxid: Hex(0), round, peer_epoch: 0 }
    }

    #[test]
    fn three_fresh_servers_elect_the_highest_sid() {
        let e = RecordedElection {
            server: 1,
            voters: vec![1, 2, 3],
            round: 1,
            initial_vote: RecordedVote { leader: 1, zxid: Hex(0), peer_epoch: 0 },
            notifications: vec![note(1, 1, 1), note(2, 2, 1), note(3, 3, 1), note(1, 3, 1), note(2, 3, 1)],
            real_vote: RecordedVote { leader: 3, zxid: Hex(0), peer_epoch: 0 },
            real_state: "FOLLOWING".into(),
        };
        let (v, s) = model_election(&e).unwrap();
        assert_eq!(v.leader, 3);
        assert_eq!(s, "FOLLOWING");
    }

    #[test]
    fn bad_election_input_is_an_error_not_a_panic() {
        let mut e = RecordedElection {
            server: 1,
            voters: vec![],
            round: 1,
            initial_vote: RecordedVote { leader: 1, zxid: Hex(0), peer_epoch: 0 },
            notifications: vec![],
            real_vote: RecordedVote { leader: 1, zxid: Hex(0), peer_epoch: 0 },
            real_state: "LEADING".into(),
        };
        assert!(model_election(&e).is_err());
        e.voters = vec![1, 2, 3];
        e.notifications = vec![RecordedNotification { state: "DANCING".into(), ..note(2, 2, 1) }];
        assert!(model_election(&e).unwrap_err().contains("DANCING"));
    }
}
