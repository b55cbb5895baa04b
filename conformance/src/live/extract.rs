//! Decisions read back from the servers' logs (log4j, with FastLeaderElection and
//! LearnerHandler at DEBUG) and data dirs. Each line's meaning is the 3.8.0 source's:
//! `LearnerHandler.syncFollower` ("Synchronizing with Learner sid: .."), `Learner.syncWithLeader`
//! ("Getting a diff from the leader 0x..", "Getting a snapshot from leader 0x..",
//! "Truncating log to get in sync with the leader 0x.."), `FastLeaderElection`
//! ("New election.", "Notification: my state:..", "About to leave FLE instance: .."),
//! `Leader.lead` ("Have quorum of supporters, sids: [..]; starting up and setting last
//! processed zxid: 0x..").
//!
//! The learner's line is the decision: in 3.8.0 `queueCommittedProposals` logs "Sending
//! TRUNC" on its new-epoch catch-all branch where it queues a DIFF, and the TRUNC for a
//! learner past the committed log is logged at DEBUG only.

use crate::corpus::{
    parse_hex, Hex, RecordedElection, RecordedNotification, RecordedSync, RecordedVote, SyncDecision, SyncOpKind,
};

/// One log line: timestamp (ISO 8601, sortable as text), thread, message.
#[derive(Clone, Debug)]
pub struct Line {
    pub ts: String,
    pub thread: String,
    pub msg: String,
}

/// `2024-05-01 10:00:00,123 - INFO  [thread:Class@12] - message`
pub fn parse_line(l: &str) -> Option<Line> {
    let ts = l.get(0..23)?.to_string();
    let rest = l.get(23..)?;
    let open = rest.find(" [")?;
    let close = rest[open..].find("] - ")? + open;
    let inner = &rest[open + 2..close];
    let thread = inner.rsplit_once(':').map(|(t, _)| t).unwrap_or(inner).to_string();
    Some(Line { ts, thread, msg: rest[close + 4..].to_string() })
}

pub fn read_lines(path: &std::path::Path) -> Vec<Line> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(parse_line).collect()
}

/// `key=0x..` or `key:0x..` in a message.
fn field_hex(msg: &str, key: &str) -> Option<u64> {
    let at = msg.find(key)? + key.len();
    let v: String = msg[at..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    parse_hex(&v)
}

fn field_dec(msg: &str, key: &str) -> Option<u64> {
    let at = msg.find(key)? + key.len();
    let v: String = msg[at..].chars().take_while(|c| c.is_ascii_digit()).collect();
    v.parse().ok()
}

fn field_word(msg: &str, key: &str) -> Option<String> {
    let at = msg.find(key)? + key.len();
    Some(msg[at..].chars().take_while(|c| c.is_ascii_alphabetic()).collect())
}

/// A leader's "Synchronizing with Learner" line, parsed.
#[derive(Clone, Debug)]
pub struct SyncLine {
    pub ts: String,
    pub learner: u64,
    pub max_committed: u64,
    pub min_committed: u64,
    pub last_processed: u64,
    pub peer_last: u64,
    pub leader_lines: Vec<String>,
}

pub fn leader_syncs(lines: &[Line]) -> Vec<SyncLine> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !l.msg.starts_with("Synchronizing with Learner sid: ") {
            continue;
        }
        let (Some(learner), Some(max), Some(min), Some(lp), Some(peer)) = (
            field_dec(&l.msg, "sid: "),
            field_hex(&l.msg, "maxCommittedLog="),
            field_hex(&l.msg, "minCommittedLog="),
            field_hex(&l.msg, "lastProcessedZxid="),
            field_hex(&l.msg, "peerLastZxid="),
        ) else {
            continue;
        };
        let leader_lines = lines[i + 1..]
            .iter()
            .filter(|m| m.thread == l.thread)
            .take_while(|m| !m.msg.starts_with("Synchronizing with Learner"))
            .filter(|m| {
                [
                    "Sending",
                    "Cannot send TRUNC",
                    "Unhandled",
                    "Use txnlog",
                    "Using committedLog",
                    "Detected gap",
                    "Unable to find",
                ]
                .iter()
                .any(|k| m.msg.contains(k))
            })
            .take(6)
            .map(|m| m.msg.clone())
            .collect();
        out.push(SyncLine {
            ts: l.ts.clone(),
            learner,
            max_committed: max,
            min_committed: min,
            last_processed: lp,
            peer_last: peer,
            leader_lines,
        });
    }
    out
}

/// A learner's sync op lines: (timestamp, decision).
pub fn learner_ops(lines: &[Line]) -> Vec<(String, SyncDecision)> {
    let mut out = Vec::new();
    for l in lines {
        let (op, key) = if l.msg.starts_with("Getting a diff from the leader ") {
            (SyncOpKind::Diff, "leader ")
        } else if l.msg.starts_with("Getting a snapshot from leader ") {
            (SyncOpKind::Snap, "leader ")
        } else if l.msg.starts_with("Truncating log to get in sync with the leader ") {
            (SyncOpKind::Trunc, "the leader ")
        } else {
            continue;
        };
        if let Some(z) = field_hex(&l.msg, key) {
            out.push((l.ts.clone(), SyncDecision { op, zxid: Hex(z) }));
        }
    }
    out
}

/// Pairs a leader's sync with the learner's first op line at or after it (minus a
/// little clock slack) that is not yet taken.
pub fn pair_op(sync_ts: &str, ops: &[(String, SyncDecision)], taken: &mut Vec<usize>) -> Option<SyncDecision> {
    let floor = shift_ts(sync_ts, -100);
    let i = ops.iter().enumerate().position(|(i, (ts, _))| !taken.contains(&i) && ts.as_str() >= floor.as_str())?;
    taken.push(i);
    Some(ops[i].1)
}

/// Milliseconds of day of a log timestamp.
pub fn ms_of_day(ts: &str) -> Option<u64> {
    let t = ts.get(11..23)?; // HH:MM:SS,mmm
    let h: u64 = t.get(0..2)?.parse().ok()?;
    let m: u64 = t.get(3..5)?.parse().ok()?;
    let s: u64 = t.get(6..8)?.parse().ok()?;
    let ms: u64 = t.get(9..12)?.parse().ok()?;
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

fn shift_ts(ts: &str, delta_ms: i64) -> String {
    let Some(ms) = ms_of_day(ts) else { return ts.to_string() };
    let ms = (ms as i64 + delta_ms).max(0) as u64;
    format!(
        "{}{:02}:{:02}:{:02},{:03}",
        ts.get(0..11).unwrap_or(""),
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Fills a `RecordedSync` but for the files (the caller lists the leader's data dir).
pub fn sync_record(leader: u64, s: &SyncLine, real: SyncDecision) -> RecordedSync {
    RecordedSync {
        leader,
        learner: s.learner,
        peer_last_zxid: Hex(s.peer_last),
        last_processed_zxid: Hex(s.last_processed),
        min_committed_log: Hex(s.min_committed),
        max_committed_log: Hex(s.max_committed),
        snapshot_size_factor: String::new(),
        commit_log_count: 0,
        txn_logs: Vec::new(),
        snapshots: Vec::new(),
        listing_delay_ms: 0,
        writes_since_sync: false,
        real,
        leader_lines: s.leader_lines.clone(),
    }
}

/// One `lookForLeader` of server `me`, from its log.
///
/// The receiver thread logs a notification when it queues it (`WorkerReceiver`), so one
/// that arrives once the server is LOOKING but before `lookForLeader` logs "New election."
/// is processed by that election although logged before it: notifications logged while
/// LOOKING and no election is open belong to the next one. (`leaveInstance` clears the
/// queue, so nothing logged before the last "About to leave FLE instance" carries over.)
pub fn elections(me: u64, voters: &[u64], lines: &[Line]) -> Vec<RecordedElection> {
    let mut out = Vec::new();
    let mut cur: Option<Vec<RecordedNotification>> = None;
    let mut queued: Vec<RecordedNotification> = Vec::new();
    for l in lines {
        if l.msg.starts_with("New election. My id = ") {
            cur = Some(std::mem::take(&mut queued));
        } else if l.msg.starts_with("Notification: my state:LOOKING;") {
            if let Some(n) = notification(&l.msg) {
                cur.as_mut().unwrap_or(&mut queued).push(n);
            }
        } else if l.msg.starts_with("About to leave FLE instance: ") {
            queued.clear();
            let Some(ns) = cur.take() else { continue };
            let (Some(leader), Some(zxid), Some(state)) =
                (field_dec(&l.msg, "leader="), field_hex(&l.msg, "zxid="), field_word(&l.msg, "my state="))
            else {
                continue;
            };
            let Some(own) = ns.iter().find(|n| n.from == me && n.leader == me) else { continue };
            let peer_epoch =
                ns.iter().rev().find(|n| n.leader == leader && n.zxid == Hex(zxid)).map(|n| n.peer_epoch).unwrap_or(0);
            out.push(RecordedElection {
                server: me,
                voters: voters.to_vec(),
                round: own.round,
                initial_vote: RecordedVote { leader: me, zxid: own.zxid, peer_epoch: own.peer_epoch },
                notifications: ns.clone(),
                real_vote: RecordedVote { leader, zxid: Hex(zxid), peer_epoch },
                real_state: state,
            });
        }
    }
    out
}

/// "Notification: my state:LOOKING; n.sid:2, n.state:LOOKING, n.leader:2, n.round:0x1,
/// n.peerEpoch:0x0, n.zxid:0x0, message format version:0x2, n.config version:0x0"
pub fn notification(msg: &str) -> Option<RecordedNotification> {
    Some(RecordedNotification {
        from: field_dec(msg, "n.sid:")?,
        state: field_word(msg, "n.state:")?,
        leader: field_dec(msg, "n.leader:")?,
        zxid: Hex(field_hex(msg, "n.zxid:")?),
        round: field_hex(msg, "n.round:")?,
        peer_epoch: field_hex(msg, "n.peerEpoch:")?,
    })
}

/// "Have quorum of supporters, sids: [ [1, 3],[1, 3] ]; starting up and setting last
/// processed zxid: 0x200000000" -> (supporters, epoch).
pub fn supporters(lines: &[Line]) -> Vec<(Vec<u64>, u64)> {
    let mut out = Vec::new();
    for l in lines {
        let Some(rest) = l.msg.strip_prefix("Have quorum of supporters, sids: ") else { continue };
        let Some((sids, tail)) = rest.split_once("; starting up") else { continue };
        let mut v: Vec<u64> = sids.split(|c: char| !c.is_ascii_digit()).filter_map(|d| d.parse().ok()).collect();
        v.sort_unstable();
        v.dedup();
        if let Some(z) = field_hex(tail, "zxid: ") {
            out.push((v, z >> 32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_split_into_time_thread_and_message() {
        let l = parse_line("2025-01-02 03:04:05,678 - INFO  [QuorumPeer[myid=1](plain=127.0.0.1:2181)(secure=disabled):Leader@588] - LEADING - LEADER ELECTION TOOK - 12 MS").unwrap();
        assert_eq!(l.ts, "2025-01-02 03:04:05,678");
        assert!(l.thread.starts_with("QuorumPeer[myid=1]"));
        assert_eq!(l.msg, "LEADING - LEADER ELECTION TOOK - 12 MS");
        assert_eq!(ms_of_day(&l.ts), Some(((3 * 60 + 4) * 60 + 5) * 1000 + 678));
    }

    #[test]
    fn a_notification_line_parses() {
        let n = notification("Notification: my state:LOOKING; n.sid:2, n.state:FOLLOWING, n.leader:3, n.round:0x1a, n.peerEpoch:0x2, n.zxid:0x200000004, message format version:0x2, n.config version:0x0").unwrap();
        assert_eq!((n.from, n.leader, n.round, n.peer_epoch), (2, 3, 0x1a, 2));
        assert_eq!(n.state, "FOLLOWING");
        assert_eq!(n.zxid, Hex(0x2_0000_0004));
    }

    /// A notification queued after the server turned LOOKING but logged before its
    /// `lookForLeader` logged "New election." belongs to that election.
    #[test]
    fn a_notification_logged_just_before_the_election_starts_belongs_to_it() {
        let at = |msg: &str| {
            parse_line(&format!("2025-01-02 03:04:05,678 - INFO  [t:FastLeaderElection@1] - {msg}")).unwrap()
        };
        let note = |from: u64, leader: u64| {
            at(&format!("Notification: my state:LOOKING; n.sid:{from}, n.state:LOOKING, n.leader:{leader}, n.round:0x2, n.peerEpoch:0x1, n.zxid:0x0, message format version:0x2, n.config version:0x0"))
        };
        let lines = vec![
            at("About to leave FLE instance: leader=2, zxid=0x0, my id=1, my state=FOLLOWING"),
            note(2, 2),
            at("New election. My id = 1, proposed zxid=0x0"),
            note(1, 1),
            note(1, 2),
            at("About to leave FLE instance: leader=2, zxid=0x0, my id=1, my state=FOLLOWING"),
        ];
        let e = elections(1, &[1, 2, 3], &lines);
        assert_eq!(e.len(), 1);
        let from: Vec<(u64, u64)> = e[0].notifications.iter().map(|n| (n.from, n.leader)).collect();
        assert_eq!(from, vec![(2, 2), (1, 1), (1, 2)]);
    }

    #[test]
    fn supporters_and_learner_ops_parse() {
        let l = vec![
            parse_line("2025-01-02 03:04:05,678 - INFO  [t:Leader@1519] - Have quorum of supporters, sids: [ [1, 3],[1, 3] ]; starting up and setting last processed zxid: 0x200000000").unwrap(),
            parse_line("2025-01-02 03:04:05,679 - WARN  [t:Learner@599] - Truncating log to get in sync with the leader 0x100000005").unwrap(),
        ];
        assert_eq!(supporters(&l), vec![(vec![1, 3], 2)]);
        let ops = learner_ops(&l);
        assert_eq!(ops[0].1, SyncDecision { op: SyncOpKind::Trunc, zxid: Hex(0x1_0000_0005) });
        let mut taken = Vec::new();
        assert!(pair_op("2025-01-02 03:04:05,700", &ops, &mut taken).is_some(), "within the slack");
        assert!(pair_op("2025-01-02 03:04:05,700", &ops, &mut taken).is_none(), "taken once");
    }
}
