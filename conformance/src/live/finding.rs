//! `finding-stale-txnlog-diff`: a chain the simulator found, tried on the real server.
//!
//! 1. Follower 6 logs proposals of epoch 1 that never commit (/s1../s3: only leader 7
//!    and 6 are running when they are proposed).
//! 2. Leader 5 of epoch 2, which never had them and has committed /n1../n5, syncs 6:
//!    6's peerLastZxid (its last logged /s txn, applied by `fastForwardDataBase` on
//!    shutdown) is inside 5's committedLog and the next proposal is of epoch 2, so
//!    `queueCommittedProposals` refuses a TRUNC across epochs and 6 gets SNAP.
//! 3. SNAP does not truncate 6's txn log: /s1../s3 stay in it.
//! 4. 6 leads epoch 3; server 1, far behind (below 6's minCommittedLog, which the SNAP
//!    cleared), is synced from 6's txn log (one file: no size limit applies).
//! 5. Server 1 would then hold /s1../s3 (never committed) and lack /n1../n5.
//!
//! The case records the syncs as usual and, as steps, which znodes each server has.

use super::client::Client;
use super::ensemble::Settings;
use super::run::Run;
use crate::corpus::Hex;
use crate::txnlog::read_data_dir;
use std::time::{Duration, Instant};

/// 7 servers; syncLimit 10 ticks (2 s) so leader 7 keeps leading a little longer while
/// four followers are frozen.
pub fn settings() -> Settings {
    Settings { sync_limit: 10, ..Settings::default() }
}

/// Creates `prefix{i}` for each `i` through server `sid`, one session.
fn create_named(r: &mut Run, sid: u64, prefix: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    r.ens.step(format!("create {prefix}{}..{prefix}{} through server {sid}", range.start(), range.end()));
    let mut c = Client::connect(r.ens.port(sid)?, 4000)?;
    let mut last = 0;
    for i in range {
        last = c.create(&format!("{prefix}{i}"), b"v", 0)?.zxid;
    }
    c.close()?;
    Ok(last)
}

/// Every zxid in server `sid`'s txn log files, in file order.
pub(super) fn logged_zxids(r: &Run, sid: u64) -> Result<Vec<Hex>, String> {
    let (logs, _) = read_data_dir(&r.ens.servers[&sid].version2())?;
    Ok(logs.iter().flat_map(|l| l.zxids.iter().copied()).collect())
}

/// `name (zxids first..last, n)` for each of server `sid`'s log files.
pub(super) fn describe_logs(r: &Run, sid: u64) -> Result<String, String> {
    let (logs, snaps) = read_data_dir(&r.ens.servers[&sid].version2())?;
    let l: Vec<String> = logs.iter().map(|f| format!("{} {} bytes holding {:?}", f.name, f.size, f.zxids)).collect();
    let s: Vec<&str> = snaps.iter().map(|f| f.name.as_str()).collect();
    Ok(format!("logs [{}]; snapshots {s:?}", l.join("; ")))
}

/// Waits until each of `sids` reports (srvr) a zxid at least `z`.
pub(super) fn wait_zxid(r: &mut Run, sids: &[u64], z: u64) -> Result<(), String> {
    r.ens.step(format!("wait until {sids:?} have processed 0x{z:x}"));
    loop {
        if sids.iter().all(|&s| r.ens.mode(s).is_some_and(|(_, zx)| zx >= z)) {
            return Ok(());
        }
        r.ens.tick("servers to catch up")?;
    }
}

/// Which of `paths` exist on server `sid` (a read served by that server).
pub(super) fn present(r: &mut Run, sid: u64, paths: &[String]) -> Result<(Vec<String>, u64), String> {
    let mut c = Client::connect(r.ens.port(sid)?, 4000)?;
    let mut out = Vec::new();
    for p in paths {
        if c.exists(p, false)? {
            out.push(p.clone());
        }
    }
    c.close()?;
    let zxid = r.ens.mode(sid).map(|(_, z)| z).unwrap_or(0);
    Ok((out, zxid))
}

pub fn script(r: &mut Run) -> Result<(), String> {
    // Seven JVMs on a small machine: more than the usual 60 s.
    r.ens.deadline = Instant::now() + Duration::from_secs(240);
    let all: Vec<u64> = (1..=7).collect();
    let l = r.start(&all, &all)?;
    if l != 7 {
        return Err(format!("leader of epoch 1 is {l}, the script wants 7"));
    }
    create_named(r, 7, "/w", 1..=10)?;
    r.ens.kill(1)?;
    create_named(r, 7, "/w", 11..=20)?;

    // The session for /s1../s3 is opened (its createSession committed everywhere) before
    // the followers freeze.
    let mut c = Client::connect(r.ens.port(7)?, 4000)?;
    let (_, z7) = r.ens.mode(7).ok_or("leader 7 not serving")?;
    wait_zxid(r, &[2, 3, 4, 5, 6], z7)?;
    let before = logged_zxids(r, 6)?.last().copied().unwrap_or_default();
    for s in [2, 3, 4, 5] {
        r.ens.freeze(s)?;
    }
    r.ens.step(
        "send creates /s1, /s2, /s3 to leader 7 without waiting (only 7 and 6 run: 2 of 7 acks, nothing commits)",
    );
    for i in 1..=3 {
        c.create_no_wait(&format!("/s{i}"), b"s")?;
    }
    r.ens.step(format!("wait until server 6's txn log holds three zxids after {before}"));
    let s_zxids = loop {
        let z: Vec<Hex> = logged_zxids(r, 6)?.into_iter().filter(|z| *z > before).collect();
        if z.len() >= 3 {
            break z;
        }
        r.ens.tick("server 6 to log /s1../s3")?;
    };
    r.ens.step(format!("server 6 logged {s_zxids:?}"));
    r.ens.freeze(6)?;
    r.ens.kill(7)?;
    c.abandon();
    r.mark_epochs();
    // A frozen follower has 7's PROPOSALs in its socket buffer and would log them on
    // SIGCONT (then epoch 2 would commit /s1../s3); kill -9 drops the buffer.
    r.ens.step("kill -9 the frozen 2, 3, 4, 5 (their socket buffers hold 7's proposals) and restart them");
    for s in [2, 3, 4, 5] {
        r.ens.kill(s)?;
    }
    r.ens.start(&[2, 3, 4, 5])?;
    let l2 = r.ens.wait_serving(&[2, 3, 4, 5])?;
    r.collect()?;
    if l2 != 5 {
        return Err(format!("leader of epoch 2 is {l2}, the script wants 5"));
    }
    for s in [2, 5] {
        let z = logged_zxids(r, s)?;
        let has: Vec<Hex> = s_zxids.iter().copied().filter(|x| z.contains(x)).collect();
        r.ens.step(format!("server {s}'s txn log holds of /s1../s3's zxids: {has:?}"));
    }
    create_named(r, 5, "/n", 1..=5)?;

    r.ens.thaw(6)?;
    r.ens.wait_serving(&[2, 3, 4, 5, 6])?;
    r.collect()?;
    let z6 = logged_zxids(r, 6)?;
    let kept: Vec<Hex> = s_zxids.iter().copied().filter(|x| z6.contains(x)).collect();
    r.ens.step(format!("after its sync, server 6's txn log still holds of /s1../s3's zxids: {kept:?}"));
    r.ens.step(format!("server 6: {}", describe_logs(r, 6)?));

    create_named(r, 5, "/n", 6..=8)?;
    let (_, z5) = r.ens.mode(5).ok_or("leader 5 not serving")?;
    wait_zxid(r, &[2, 3, 4, 6], z5)?;
    r.kill_and_wait(5, &[2, 3, 4, 6])?;
    let l3 = r.ens.leader().ok_or("no leader of epoch 3")?;
    r.ens.step(format!("leader of epoch 3 is {l3}"));
    r.ens.step(format!("server {l3}: {}", describe_logs(r, l3)?));
    r.start(&[1], &[1, 2, 3, 4, 6])?;

    let mut paths: Vec<String> = (1..=3).map(|i| format!("/s{i}")).collect();
    paths.extend((1..=8).map(|i| format!("/n{i}")));
    paths.extend((1..=20).map(|i| format!("/w{i}")));
    let mut readers = vec![1, l3];
    readers.extend([2, 3, 4, 6].into_iter().filter(|s| *s != l3));
    for s in readers {
        let (have, zxid) = present(r, s, &paths)?;
        let missing: Vec<&String> = paths.iter().filter(|p| !have.contains(p)).collect();
        r.ens.step(format!("znodes on server {s} (zxid 0x{zxid:x}): present {have:?}; absent {missing:?}"));
    }
    Ok(())
}
