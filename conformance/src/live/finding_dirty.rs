//! `finding-dirty-snapshot-trunc`: a second chain the simulator found, tried on the real
//! server (3 servers; 3.8.0's code for each link is named in the README).
//!
//! 1. Leader 3 logs the proposal P (create /dirty) while its followers are frozen; they
//!    are killed (their socket buffers hold P) and 3 steps down after syncLimit.
//! 2. On stepping down `ZooKeeperServer.shutdown` fast-forwards 3's database over its txn
//!    log: P is applied in memory, and 3's vote carries P's zxid.
//! 3. Server 2 restarts; it votes for 3 and is frozen between sending that vote and its
//!    own decision (FLE's 200 ms finalizeWait), so 3 leads with no learner: `Leader.lead`
//!    writes `snapshot.<P>` (`loadData`) and gives up after initLimit.
//! 4. 3 is killed; 1 and 2 elect 2 (epoch 2), which commits nothing of its own.
//! 5. 3 restarts and follows 2: its last zxid P is past 2's maxCommittedLog, so TRUNC;
//!    `ZKDatabase.truncateLog` reloads the newest snapshot, `snapshot.<P>`.
//!
//! The case records the syncs and, as steps, the log lines, data dirs and which znodes
//! each server serves, after the sync, after a further write and after a restart of 3.

use super::client::Client;
use super::ensemble::Settings;
use super::finding::{describe_logs, logged_zxids, present, wait_zxid};
use super::logwatch::{lines_since, mark, record_lines, wait_line};
use super::run::Run;
use crate::txnlog::read_data_dir;
use std::time::{Duration, Instant};

/// tickTime 200 ms, initLimit 10, syncLimit 5 (the defaults); maxSessionTimeout 120 s so
/// the session that sent /dirty does not expire on leader 2 (its closeSession would be a
/// txn of epoch 2, and 3 would get SNAP rather than TRUNC).
pub fn settings() -> Settings {
    Settings { max_session_timeout_ms: Some(120_000), ..Settings::default() }
}

/// Server `sid`'s snapshot files whose bytes hold `needle` (3.8.0 writes them
/// uncompressed: paths are plain strings).
fn snapshots_holding(r: &Run, sid: u64, needle: &str) -> Result<Vec<String>, String> {
    let (_, snaps) = read_data_dir(&r.ens.servers[&sid].version2())?;
    let mut out = Vec::new();
    for s in snaps {
        let path = r.ens.servers[&sid].version2().join(&s.name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            out.push(s.name);
        }
    }
    Ok(out)
}

fn record_snapshots(r: &mut Run, sid: u64) -> Result<(), String> {
    let d = describe_logs(r, sid)?;
    let dirty = snapshots_holding(r, sid, "/dirty")?;
    r.ens.step(format!("server {sid}: {d}; snapshots holding /dirty: {dirty:?}"));
    Ok(())
}

fn znodes(r: &mut Run, sids: &[u64], paths: &[String]) -> Result<(), String> {
    for &s in sids {
        let (have, zxid) = present(r, s, paths)?;
        let missing: Vec<&String> = paths.iter().filter(|p| !have.contains(p)).collect();
        r.ens.step(format!("znodes on server {s} (zxid 0x{zxid:x}): present {have:?}; absent {missing:?}"));
    }
    Ok(())
}

/// Starts 2 (3 is LOOKING with the highest zxid), freezes it the moment its vote for 3
/// is on its way to 3, and waits for 3 to lead and give up. Ok(false): 3 did not lead
/// (2 was frozen too early); the caller kills 2 and tries again.
fn lone_leader_attempt(r: &mut Run, p: u64) -> Result<bool, String> {
    let (m2, m3) = (mark(r, 2), mark(r, 3));
    r.mark_epochs();
    r.ens.start(&[2])?;
    // FLE logs each notification it sends at DEBUG; 2 decides 200 ms (finalizeWait) after
    // the last notification it receives, 3 the same after 2's vote reaches it.
    let vote = "Sending Notification: 3 (n.leader)";
    let end = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        if let Some(l) = lines_since(r, 2, m2, vote).into_iter().find(|l| l.contains("3 (recipient)")) {
            break l;
        }
        if Instant::now() > end {
            return Err("server 2 did not vote for 3 within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    std::thread::sleep(Duration::from_millis(30));
    r.ens.freeze(2)?;
    r.ens.step(format!("server 2 had logged: {seen}"));
    record_lines(r, 2, m2, &["Updating proposal: 3 (newleader)"]);
    let decided = lines_since(r, 2, m2, "=FOLLOWING");
    r.ens.step(format!("server 2's decisions before the freeze: {decided:?}"));
    if wait_line(r, 3, m3, "=LEADING", Duration::from_secs(3)).is_err() {
        r.ens.step("server 3 did not lead: 2's vote did not reach it; kill -9 2 and try again");
        r.ens.kill(2)?;
        return Ok(false);
    }
    wait_line(r, 3, m3, &format!("Snapshotting: 0x{p:x}"), Duration::from_secs(5))?;
    record_snapshots(r, 3)?;
    // Leader.getEpochToPropose waits initLimit ticks for a quorum of FOLLOWERINFOs.
    let gave_up = wait_line(r, 3, m3, "Forcing shutdown", Duration::from_secs(10))?;
    record_lines(r, 3, m3, &["Timeout while waiting for epoch"]);
    let established = lines_since(r, 3, m3, "Have quorum of supporters");
    if !established.is_empty() {
        return Err(format!("void run: leader 3 established ({established:?}), /dirty is committed"));
    }
    r.ens.step(format!("server 3 did not establish; it gave up at: {gave_up}"));
    wait_line(r, 3, m3, "=LOOKING", Duration::from_secs(5))?;
    Ok(true)
}

pub fn script(r: &mut Run) -> Result<(), String> {
    r.ens.deadline = Instant::now() + Duration::from_secs(180);
    let l = r.start(&[1, 2, 3], &[1, 2, 3])?;
    if l != 3 {
        return Err(format!("leader of epoch 1 is {l}, the script wants 3"));
    }
    r.ens.step("create /a through server 3 (session timeout 60 s)");
    let mut c = Client::connect(r.ens.port(3)?, 60_000)?;
    let za = c.create("/a", b"a", 0)?.zxid;
    wait_zxid(r, &[1, 2], za)?;

    // 1. P is logged by 3 alone.
    r.ens.freeze(1)?;
    r.ens.freeze(2)?;
    r.ens.step("send create /dirty to leader 3 without waiting (followers frozen: logged by 3, not committed)");
    c.create_no_wait("/dirty", b"d")?;
    r.ens.step(format!("wait until server 3's txn log holds a zxid after 0x{za:x}"));
    let p = loop {
        if let Some(z) = logged_zxids(r, 3)?.into_iter().find(|z| z.0 > za) {
            break z.0;
        }
        r.ens.tick("server 3 to log /dirty")?;
    };
    r.ens.step(format!("server 3 logged P = 0x{p:x}"));
    let m3 = mark(r, 3);

    // 2. 3 steps down after syncLimit ticks without acks; its vote carries P.
    wait_line(r, 3, m3, "Not sufficient followers synced", Duration::from_secs(10))?;
    // Their socket buffers hold P: killed, not thawed.
    r.ens.kill(1)?;
    r.ens.kill(2)?;
    c.abandon();
    wait_line(r, 3, m3, "=LOOKING", Duration::from_secs(5))?;
    wait_line(r, 3, m3, &format!("Sending Notification: 3 (n.leader), 0x{p:x} (n.zxid)"), Duration::from_secs(5))?;

    // 3, 4. 3 leads with 2's vote and no learner.
    let mut led = false;
    for attempt in 1..=3 {
        r.ens.step(format!("attempt {attempt}: server 3 to win an election with 2's vote and no learner"));
        if lone_leader_attempt(r, p)? {
            led = true;
            break;
        }
    }
    if !led {
        return Err("server 3 never led in 3 attempts".into());
    }
    r.ens.kill(3)?;
    r.ens.kill(2)?;
    let has_p = logged_zxids(r, 2)?.contains(&crate::corpus::Hex(p));
    r.ens.step(format!("server 2's txn log holds P: {has_p}"));
    if has_p {
        return Err("void run: server 2 logged P".into());
    }

    // 5. 1 and 2 elect 2 without 3 and without P.
    let l2 = r.start(&[1, 2], &[1, 2])?;
    if l2 != 2 {
        return Err(format!("leader of epoch 2 is {l2}, the script wants 2"));
    }
    let z2 = r.ens.mode(2).map(|(_, z)| z).unwrap_or(0);
    r.ens.step(format!("leader 2 serves at zxid 0x{z2:x} (nothing of epoch 2 committed: {})", z2 & 0xffff_ffff == 0));
    record_snapshots(r, 2)?;

    // 6, 7. 3 restarts and follows 2.
    let (m2, m3) = (mark(r, 2), mark(r, 3));
    let m_trunc = m3;
    let l3 = r.start(&[3], &[1, 2, 3])?;
    if l3 != 2 {
        return Err(format!("3 joined leader {l3}, the script wants 2"));
    }
    record_lines(r, 2, m2, &["Synchronizing with Learner sid: 3", "Sending TRUNC", "Sending DIFF", "Sending snapshot"]);
    record_lines(r, 3, m3, &["Reading snapshot", "Snapshot loaded", "Truncating log", "Snapshotting"]);
    record_snapshots(r, 3)?;

    // 8. Which znodes each server serves.
    let mut paths = vec!["/a".to_string(), "/dirty".to_string()];
    znodes(r, &[2, 3, 1], &paths)?;
    r.ens.step("create /after through server 2");
    let mut c2 = Client::connect(r.ens.port(2)?, 4000)?;
    let zafter = c2.create("/after", b"x", 0)?.zxid;
    c2.close()?;
    wait_zxid(r, &[1, 3], zafter)?;
    paths.push("/after".into());
    znodes(r, &[2, 3, 1], &paths)?;

    let (m2, m3) = (mark(r, 2), mark(r, 3));
    r.mark_epochs();
    r.ens.kill(3)?;
    r.ens.start(&[3])?;
    r.ens.wait_serving(&[1, 2, 3])?;
    r.collect()?;
    record_lines(r, 2, m2, &["Synchronizing with Learner sid: 3"]);
    record_lines(
        r,
        3,
        m3,
        &["Reading snapshot", "Snapshot loaded", "Getting a diff", "Truncating log", "Getting a snapshot"],
    );
    znodes(r, &[2, 3], &paths)?;
    record_snapshots(r, 3)?;
    // 3.8.0's digests (zookeeper.digest.enabled) see the difference, and only log it.
    record_lines(r, 3, m_trunc, &["Digests are not matching", "digest mismatch"]);
    Ok(())
}
