//! `finding-trunc-absent-zxid`: what `FileTxnLog.truncate(zxid)` keeps when the learner's
//! log does not hold `zxid` (3 servers; 3.8.0's code for each link is named in the README).
//!
//! 1. Leader 3 of epoch 1 logs two createSessions (0x100000001, 0x100000002) while its
//!    followers are frozen: nobody else has them, they never commit.
//! 2. 1 and 2 (killed: their socket buffers may hold 3's proposals) elect 2 for epoch 2
//!    with empty histories; both are killed once 2 is established (currentEpoch 2).
//! 3. 2 and 3 start (1 stays down): 2 wins (currentEpoch 2 > 3's 1) and leads epoch 3.
//!    Its committedLog is empty, so `LearnerHandler.syncFollower` takes min = max =
//!    lastProcessedZxid (0, or 0x100000000 when 2 was synced by SNAP in epoch 1), and 3's
//!    peerLastZxid 0x100000002 is past it: TRUNC to a zxid 3's log lacks, before 2 is
//!    established (3 is the quorum's other half).
//! 4. `FileTxnLog.truncate`'s iterator reads the first entry (0x100000001) and cuts the
//!    file after it: the never-committed createSession stays in 3's log, `loadDataBase`
//!    replays it, 3's follower session tracker holds the session, and the snapshot 3
//!    takes at NEWLEADER (named after the TRUNC's zxid, the lastProcessedZxid TRUNC sets)
//!    holds it.
//! 5. 2 is killed and 1 restarts (currentEpoch 2, zxid at most 0x100000000). 3's vote
//!    carries epoch 3 and 0x100000001 (`fastForwardDataBase` on stepping down re-applies its log from 0):
//!    3 leads epoch 4, sends 1 a snapshot holding the session, and expires it: a
//!    closeSession of a session nobody committed is committed on 1 and 3.
//!
//! The case records the syncs and, as steps, the log lines, the txns (zxid, type,
//! session) of each txn log, the sessions of each snapshot, and `dump`.

use super::client::{four_letter, Client};
use super::ensemble::Settings;
use super::finding::wait_zxid;
use super::logwatch::{mark, record_lines, wait_line};
use super::run::Run;
use crate::txnlog::{log_entries, read_data_dir, read_epoch, snapshot_sessions, LogEntry};
use std::time::{Duration, Instant};

/// The defaults: tickTime 200 ms, initLimit 10, syncLimit 5; session timeouts 0.4..4 s.
pub fn settings() -> Settings {
    Settings::default()
}

/// The session timeout the uncommitted sessions ask for (the server's maximum).
const SESSION_MS: u32 = 4000;

/// Every txn of server `sid`'s log files, in file order.
fn entries(r: &Run, sid: u64) -> Result<Vec<LogEntry>, String> {
    let v2 = r.ens.servers[&sid].version2();
    let (logs, _) = read_data_dir(&v2)?;
    let mut out = Vec::new();
    for l in logs {
        let path = v2.join(&l.name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.extend(log_entries(&bytes).map_err(|e| format!("{}: {e}", path.display()))?);
    }
    Ok(out)
}

/// Records server `sid`'s data dir: each log file with its txns, each snapshot with its
/// sessions, the epoch files.
fn record_disk(r: &mut Run, sid: u64, when: &str) -> Result<(), String> {
    let v2 = r.ens.servers[&sid].version2();
    let (logs, snaps) = read_data_dir(&v2)?;
    let mut parts = Vec::new();
    for l in &logs {
        let bytes = std::fs::read(v2.join(&l.name)).map_err(|e| e.to_string())?;
        let e: Vec<String> = log_entries(&bytes)?.iter().map(LogEntry::describe).collect();
        parts.push(format!("{} ({} bytes) [{}]", l.name, l.size, e.join(", ")));
    }
    for s in &snaps {
        let bytes = std::fs::read(v2.join(&s.name)).map_err(|e| e.to_string())?;
        let sessions: Vec<String> =
            snapshot_sessions(&bytes)?.iter().map(|(id, t)| format!("0x{id:x} ({t} ms)")).collect();
        parts.push(format!("{} sessions [{}]", s.name, sessions.join(", ")));
    }
    let epoch = |f: &str| read_epoch(&v2.join(f)).map(|e| e.to_string()).unwrap_or_else(|| "-".into());
    parts.push(format!("acceptedEpoch {} currentEpoch {}", epoch("acceptedEpoch"), epoch("currentEpoch")));
    r.ens.step(format!("server {sid}'s data dir {when}: {}", parts.join("; ")));
    Ok(())
}

/// `dump` (sessions with ephemerals; on the leader, the session tracker's expiry queue).
fn record_dump(r: &mut Run, sid: u64) -> Result<(), String> {
    let d = four_letter(r.ens.port(sid)?, "dump")?;
    let d: Vec<&str> = d.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    r.ens.step(format!("dump on server {sid}: {}", d.join(" | ")));
    Ok(())
}

pub fn script(r: &mut Run) -> Result<(), String> {
    r.ens.deadline = Instant::now() + Duration::from_secs(180);
    let l = r.start(&[1, 2, 3], &[1, 2, 3])?;
    if l != 3 {
        return Err(format!("leader of epoch 1 is {l}, the script wants 3"));
    }

    // 1. Two createSessions logged by 3 alone.
    r.ens.freeze(1)?;
    r.ens.freeze(2)?;
    r.ens.step("open two sessions on leader 3 without waiting (followers frozen: their createSessions are logged by 3, not committed)");
    let a = Client::connect_no_wait(r.ens.port(3)?, SESSION_MS)?;
    let b = Client::connect_no_wait(r.ens.port(3)?, SESSION_MS)?;
    r.ens.step("wait until server 3's txn log holds two txns");
    let logged = loop {
        let e = entries(r, 3)?;
        if e.len() >= 2 {
            break e;
        }
        r.ens.tick("server 3 to log two createSessions")?;
    };
    let uncommitted: Vec<String> = logged.iter().map(LogEntry::describe).collect();
    r.ens.step(format!("server 3 logged {uncommitted:?}"));
    let first = logged[0];
    r.ens.kill(3)?;
    a.abandon();
    b.abandon();
    record_disk(r, 3, "after kill -9")?;

    // 2. 1 and 2 elect 2 for epoch 2, without 3's txns.
    r.ens.step("kill -9 the frozen 1 and 2 (their socket buffers may hold 3's proposals) and restart them");
    r.ens.kill(1)?;
    r.ens.kill(2)?;
    let l2 = r.start(&[1, 2], &[1, 2])?;
    if l2 != 2 {
        return Err(format!("leader of epoch 2 is {l2}, the script wants 2"));
    }
    for s in [1, 2] {
        let e = entries(r, s)?;
        if e.iter().any(|x| logged.iter().any(|y| y.zxid == x.zxid)) {
            return Err(format!("void run: server {s} logged one of 3's txns: {e:?}"));
        }
    }
    r.ens.kill(2)?;
    r.ens.kill(1)?;
    for s in [1, 2] {
        record_disk(r, s, "once 2 established epoch 2")?;
    }

    // 3, 4. 2 and 3 start; 2 syncs 3 with a TRUNC before it is established.
    let (m2, m3) = (mark(r, 2), mark(r, 3));
    let l3 = r.start(&[2, 3], &[2, 3])?;
    if l3 != 2 {
        return Err(format!("leader of epoch 3 is {l3}, the script wants 2"));
    }
    record_lines(
        r,
        2,
        m2,
        &[
            "Synchronizing with Learner sid",
            "Sending TRUNC",
            "Sending DIFF",
            "Sending snapshot",
            "Have quorum of supporters",
        ],
    );
    record_lines(
        r,
        3,
        m3,
        &[
            "Reading snapshot",
            "Snapshot loaded",
            "Truncating log",
            "Getting a diff",
            "Getting a snapshot",
            "Snapshotting",
        ],
    );
    record_disk(r, 3, "after the TRUNC")?;
    let kept = entries(r, 3)?.contains(&first);
    r.ens.step(format!(
        "server 3's txn log after the TRUNC still holds the never-committed {}: {kept}",
        first.describe()
    ));
    for s in [2, 3] {
        record_dump(r, s)?;
    }

    // 5. 2 is killed, 1 restarts: 3 leads epoch 4 with the session.
    let (m1, m3) = (mark(r, 1), mark(r, 3));
    r.mark_epochs();
    r.ens.kill(2)?;
    r.ens.start(&[1])?;
    let l4 = r.ens.wait_serving(&[1, 3])?;
    r.collect()?;
    if l4 != 3 {
        return Err(format!("leader of epoch 4 is {l4}, the script wants 3"));
    }
    record_lines(r, 3, m3, &["Synchronizing with Learner sid", "Sending TRUNC", "Sending snapshot", "Sending DIFF"]);
    record_lines(r, 1, m1, &["Truncating log", "Getting a diff", "Getting a snapshot", "Snapshotting"]);
    record_disk(r, 1, "after its sync")?;
    for s in [3, 1] {
        record_dump(r, s)?;
    }
    let exp = format!("Expiring session 0x{:x}", first.session);
    wait_line(r, 3, m3, &exp, Duration::from_secs(3 * SESSION_MS as u64 / 1000))?;
    let (_, z) = r.ens.mode(3).ok_or("leader 3 not serving")?;
    wait_zxid(r, &[1, 3], z)?;
    record_disk(r, 1, "at the end")?;
    record_disk(r, 3, "at the end")?;
    let closed = entries(r, 1)?.into_iter().filter(|e| e.op == -11 && e.session == first.session).collect::<Vec<_>>();
    let closed: Vec<String> = closed.iter().map(LogEntry::describe).collect();
    r.ens.step(format!("server 1's txn log holds a closeSession of the never-committed session: {closed:?}"));
    Ok(())
}
