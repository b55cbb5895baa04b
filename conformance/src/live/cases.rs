//! The cases: each a short script on a fresh ensemble, bounded to 60 s.

use super::client::{four_letter, Client};
use super::ensemble::Settings;
use super::run::Run;
use crate::corpus::{ClientQuestion, Hex, Recorded, RecordedClient, RecordedReconfig};
use std::time::Duration;

pub struct Case {
    pub name: &'static str,
    pub description: &'static str,
    pub servers: u64,
    pub settings: fn() -> Settings,
    pub elections: bool,
    pub script: fn(&mut Run) -> Result<(), String>,
}

fn plain() -> Settings {
    Settings::default()
}

fn small_window() -> Settings {
    // 3.8.0 raises commitLogCount below 500 to 500: kept to show it has no effect.
    Settings::default().prop("zookeeper.commitLogCount", "5")
}

fn rolling(factor: &str) -> Settings {
    Settings { snap_count: 150, ..Settings::default() }
        .prop("zookeeper.preAllocSize", "1")
        .prop("zookeeper.snapshotSizeFactor", factor)
}

fn small_window_rolling() -> Settings {
    rolling("0.33")
}

fn small_window_rolling_big_factor() -> Settings {
    rolling("1")
}

fn small_window_no_txnlog_sync() -> Settings {
    Settings::default().prop("zookeeper.snapshotSizeFactor", "-1")
}

fn reconfig() -> Settings {
    Settings { reconfig: true, ..Settings::default() }
}

/// Freezes the followers, sends a write the leader logs but cannot commit, kills the
/// leader and thaws the followers, which elect a new leader. Returns (old, new) leaders.
fn leader_with_an_uncommitted_txn(r: &mut Run) -> Result<(u64, u64), String> {
    let old = r.start(&[1, 2, 3], &[1, 2, 3])?;
    r.write(old, 4)?;
    let followers: Vec<u64> = [1, 2, 3].into_iter().filter(|&s| s != old).collect();
    let mut c = Client::connect(r.ens.port(old)?, 4000)?;
    for &f in &followers {
        r.ens.freeze(f)?;
    }
    r.ens
        .step(format!("send a create to leader {old} without waiting (followers frozen: it is logged, not committed)"));
    c.create_no_wait("/uncommitted", b"x")?;
    std::thread::sleep(Duration::from_millis(600));
    r.ens.kill(old)?;
    c.abandon();
    r.mark_epochs();
    // A frozen process still has the PROPOSAL in its socket buffer and would log it on
    // SIGCONT; killing it drops the buffer, so the txn is the old leader's alone.
    for &f in &followers {
        r.ens.kill(f)?;
    }
    r.ens.start(&followers)?;
    let new = r.ens.wait_serving(&followers)?;
    r.collect()?;
    Ok((old, new))
}

fn connect_question(r: &mut Run, sid: u64, ahead: u64) -> Result<(), String> {
    let (_, zxid) = r.ens.mode(sid).ok_or("server not serving")?;
    let seen = zxid + ahead;
    r.ens.step(format!("connect to server {sid} (at 0x{zxid:x}) with lastZxidSeen 0x{seen:x}"));
    let real = match Client::resume(r.ens.port(sid)?, 4000, 0, &[0u8; 16], seen) {
        Ok(c) => {
            c.close()?;
            "accepted"
        }
        Err(_) => "refused",
    };
    r.decisions.push(Recorded::Client(RecordedClient {
        question: ClientQuestion::Connect {
            server: sid,
            last_zxid_seen: Hex(seen),
            server_zxid: Hex(zxid),
            established: true,
        },
        real: real.into(),
    }));
    Ok(())
}

/// `conf` answer -> (voters, version).
fn conf_voters(port: u16) -> Result<(Vec<u64>, u64), String> {
    let a = four_letter(port, "conf")?;
    let mut voters = Vec::new();
    let mut version = 0;
    for l in a.lines() {
        if let Some(rest) = l.strip_prefix("server.") {
            if rest.contains(":participant") {
                if let Some(n) = rest.split('=').next().and_then(|d| d.parse().ok()) {
                    voters.push(n);
                }
            }
        } else if let Some(v) = l.strip_prefix("version=") {
            version = crate::corpus::parse_hex(v.trim()).unwrap_or(0);
        }
    }
    voters.sort_unstable();
    Ok((voters, version))
}

pub const CASES: &[Case] = &[
    Case {
        name: "fle-fresh-three",
        description: "three empty servers start together: equal epochs and zxids, the highest sid wins",
        servers: 3,
        settings: plain,
        elections: true,
        script: |r| r.start(&[1, 2, 3], &[1, 2, 3]).map(|_| ()),
    },
    Case {
        name: "fle-fresh-five",
        description: "five empty servers start together",
        servers: 5,
        settings: plain,
        elections: true,
        script: |r| r.start(&[1, 2, 3, 4, 5], &[1, 2, 3, 4, 5]).map(|_| ()),
    },
    Case {
        name: "fle-zxid-beats-sid",
        description: "server 2 misses writes; with the leader gone, 1 (higher zxid) beats 2 (higher sid)",
        servers: 3,
        settings: plain,
        elections: true,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.ens.kill(2)?;
            r.write(1, 3)?;
            r.ens.kill(3)?;
            r.start(&[2], &[1, 2])?;
            Ok(())
        },
    },
    Case {
        name: "fle-epoch-beats-zxid",
        description: "an old leader with an uncommitted txn (higher zxid, older epoch) loses to a server of the newer epoch",
        servers: 3,
        settings: plain,
        elections: true,
        script: |r| {
            let (old, new) = leader_with_an_uncommitted_txn(r)?;
            let other = [1, 2, 3].into_iter().find(|&s| s != old && s != new).ok_or("no third server")?;
            r.ens.kill(other)?;
            r.ens.kill(new)?;
            r.start(&[old, new], &[old, new])?;
            Ok(())
        },
    },
    Case {
        name: "fle-join-established",
        description: "a restarted follower hears FOLLOWING/LEADING notifications and joins the established leader",
        servers: 3,
        settings: plain,
        elections: true,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 2)?;
            r.ens.kill(1)?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "fle-higher-and-lower-round",
        description: "a fresh JVM (round 1) meets a server LOOKING in round 3: one adopts the higher round, the other ignores the lower",
        servers: 3,
        settings: plain,
        elections: true,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.kill_and_wait(3, &[1, 2])?;
            r.ens.kill(2)?;
            std::thread::sleep(Duration::from_millis(800));
            r.start(&[3], &[1, 3])?;
            Ok(())
        },
    },
    Case {
        name: "fle-five-two-down",
        description: "five servers; the leader and one more die; the three left elect",
        servers: 5,
        settings: plain,
        elections: true,
        script: |r| {
            let l = r.start(&[1, 2, 3, 4, 5], &[1, 2, 3, 4, 5])?;
            r.write(l, 3)?;
            let other = if l == 4 { 5 } else { 4 };
            r.ens.kill(other)?;
            let rest: Vec<u64> = (1..=5).filter(|&s| s != l && s != other).collect();
            r.kill_and_wait(l, &rest)?;
            Ok(())
        },
    },
    Case {
        name: "sync-fresh-start",
        description: "empty servers: every learner's last zxid equals the leader's: empty DIFF",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| r.start(&[1, 2, 3], &[1, 2, 3]).map(|_| ()),
    },
    Case {
        name: "sync-restart-in-sync",
        description: "a follower restarts with nothing written meanwhile: empty DIFF",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 5)?;
            r.ens.kill(1)?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-diff-in-window",
        description: "a follower misses 5 writes inside the committed log: DIFF",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 3)?;
            r.ens.kill(1)?;
            r.write(3, 5)?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-old-leader-trunc",
        description: "an old leader rejoins with a txn nobody else has, nothing written since: TRUNC to the committed log's end",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            let (old, _) = leader_with_an_uncommitted_txn(r)?;
            r.start(&[old], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-old-leader-cross-epoch-snap",
        description: "an old leader rejoins with a txn nobody else has after writes of the new epoch: no TRUNC across epochs, SNAP",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            let (old, new) = leader_with_an_uncommitted_txn(r)?;
            r.write(new, 3)?;
            r.start(&[old], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-old-leader-without-extra-txns",
        description: "the leader dies with nothing uncommitted, writes follow, it rejoins: DIFF",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            let l = r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(l, 4)?;
            let rest: Vec<u64> = [1, 2, 3].into_iter().filter(|&s| s != l).collect();
            let nl = r.kill_and_wait(l, &rest)?;
            r.write(nl, 3)?;
            r.start(&[l], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-late-fresh-learner",
        description: "an empty server joins after the leader is established, nothing written: SNAP",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start_members_of_all(&[1, 2])?;
            r.start(&[3], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-late-fresh-learner-after-writes",
        description: "an empty server joins an established leader that has written: its zxid 0 is older than the txn log: SNAP",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            let l = r.start_members_of_all(&[1, 2])?;
            r.write(l, 5)?;
            r.start(&[3], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-joiner-before-established",
        description: "all restart together: each learner syncs before the leader serves, at the leader's last zxid: empty DIFF",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 5)?;
            for s in [1, 2, 3] {
                r.ens.kill(s)?;
            }
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-joiner-after-established",
        description: "two restart and establish epoch 2; the third joins later at the old epoch's last zxid (leader at newEpoch<<32): DIFF",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 5)?;
            for s in [1, 2, 3] {
                r.ens.kill(s)?;
            }
            r.start(&[2, 3], &[2, 3])?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-far-behind-one-log",
        description: "a follower misses 600 writes, below the 500-txn window; one (64 MB) log file: nothing after the file it opens, DIFF from the txn log",
        servers: 3,
        settings: small_window,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 2)?;
            r.ens.kill(1)?;
            r.write(3, 600)?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-far-behind-several-logs",
        description: "snapCount=150, 1 KB preallocation; a follower misses 600 writes: several log files after its own, weighed against 0.33 x the newest snapshot",
        servers: 3,
        settings: small_window_rolling,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 2)?;
            r.ens.kill(1)?;
            r.write(3, 600)?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-far-behind-several-logs-big-factor",
        description: "as sync-far-behind-several-logs with snapshotSizeFactor=1 (3.8.0 resets a factor above 1 to 0.33)",
        servers: 3,
        settings: small_window_rolling_big_factor,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 2)?;
            r.ens.kill(1)?;
            r.write(3, 600)?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-far-behind-txnlog-sync-off",
        description: "snapshotSizeFactor=-1 turns txn-log sync off; a follower 600 writes behind, below the window: SNAP",
        servers: 3,
        settings: small_window_no_txnlog_sync,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 2)?;
            r.ens.kill(1)?;
            r.write(3, 600)?;
            r.start(&[1], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "sync-peer-at-new-epoch-zxid",
        description: "a learner that got SNAP at newEpoch<<32 restarts after writes: its zxid has no txn",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            let l = r.start_members_of_all(&[1, 2])?;
            r.start(&[3], &[1, 2, 3])?;
            r.ens.kill(3)?;
            r.write(l, 3)?;
            r.start(&[3], &[1, 2, 3])?;
            Ok(())
        },
    },
    Case {
        name: "client-connect-ahead-refused",
        description: "a client that has seen a zxid newer than the server's is refused",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 3)?;
            connect_question(r, 1, 10)
        },
    },
    Case {
        name: "client-connect-equal-accepted",
        description: "a client whose lastZxidSeen equals the server's zxid is accepted",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.write(3, 3)?;
            std::thread::sleep(Duration::from_millis(300));
            connect_question(r, 1, 0)
        },
    },
    Case {
        name: "client-moves-servers",
        description: "a session writes through one server and moves to another with its lastZxidSeen: accepted, and its read is not older",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.ens.step("session on server 1 creates /moved; the session moves to server 2");
            let mut c = Client::connect(r.ens.port(1)?, 4000)?;
            let z = c.create("/moved", b"v", 0)?.zxid;
            let (sid, pw, seen) = (c.session_id, c.password.clone(), c.last_zxid_seen.max(z));
            c.abandon();
            let (_, server_zxid) = r.ens.mode(2).ok_or("server 2 not serving")?;
            let real = match Client::resume(r.ens.port(2)?, 4000, sid, &pw, seen) {
                Ok(mut c2) => {
                    let (_, m) = c2.get_data("/moved", false)?;
                    c2.close()?;
                    if m >= z {
                        "read not older than seen"
                    } else {
                        "stale read"
                    }
                }
                Err(_) => "refused",
            };
            r.decisions.push(Recorded::Client(RecordedClient {
                question: ClientQuestion::ReadAfterMove { seen_before: Hex(seen), server_zxid: Hex(server_zxid), read_mzxid: Hex(z) },
                real: real.into(),
            }));
            Ok(())
        },
    },
    Case {
        name: "client-session-expiry",
        description: "a session holding an ephemeral stops heartbeating; the leader expires it: the ephemeral goes and a watch on it fires",
        servers: 3,
        settings: plain,
        elections: false,
        script: |r| {
            r.start(&[1, 2, 3], &[1, 2, 3])?;
            r.ens.step("session A on server 1 creates ephemeral /eph (timeout 2000 ms); session B on server 2 watches it");
            let mut a = Client::connect(r.ens.port(1)?, 2000)?;
            a.create("/eph", b"e", 1)?;
            let timeout = u64::from(a.timeout_ms);
            let mut b = Client::connect(r.ens.port(2)?, 4000)?;
            if !b.exists("/eph", true)? {
                return Err("/eph not visible on server 2".into());
            }
            r.ens.step("session A drops its connection without closing");
            a.abandon();
            let ev = b.next_event(Duration::from_secs(15))?;
            let gone = !b.exists("/eph", false)?;
            b.close()?;
            let fired: Vec<String> = ev.iter().filter(|e| e.kind == 2).map(|e| e.path.clone()).collect();
            let real = if gone {
                format!("expired; deleted {:?}; NodeDeleted on {:?}", vec!["/eph".to_string()], fired)
            } else {
                "not expired".into()
            };
            r.decisions.push(Recorded::Client(RecordedClient {
                question: ClientQuestion::Expiry {
                    session_timeout_ms: timeout,
                    ephemerals: vec!["/eph".into()],
                    watched: vec!["/eph".into()],
                },
                real,
            }));
            Ok(())
        },
    },
    Case {
        name: "reconfig-remove",
        description: "reconfigEnabled=true; a follower is removed by reconfig",
        servers: 3,
        settings: reconfig,
        elections: false,
        script: |r| {
            let l = r.start(&[1, 2, 3], &[1, 2, 3])?;
            let gone = if l == 1 { 2 } else { 1 };
            let stays = [1, 2, 3].into_iter().find(|&s| s != l && s != gone).ok_or("no third server")?;
            r.ens.step(format!("reconfig -remove {gone} through leader {l}"));
            let mut c = Client::connect(r.ens.port(l)?, 4000)?;
            let (z, _) = c.reconfig("", &gone.to_string())?;
            c.close()?;
            std::thread::sleep(Duration::from_millis(500));
            let (voters, version) = conf_voters(r.ens.port(stays)?)?;
            r.decisions.push(Recorded::Reconfig(RecordedReconfig {
                request: format!("-remove {gone}"),
                voters_before: vec![1, 2, 3],
                txn_zxid: Hex(z),
                real_voters: voters,
                real_version: Hex(version),
            }));
            Ok(())
        },
    },
    Case {
        name: "reconfig-add",
        description: "reconfigEnabled=true; server 4 starts knowing the ensemble and is added by reconfig",
        servers: 4,
        settings: reconfig,
        elections: false,
        script: |r| {
            r.mark_epochs();
            r.ens.start_members(&[1, 2, 3], &[1, 2, 3])?;
            let l = r.ens.wait_serving(&[1, 2, 3])?;
            r.collect()?;
            r.ens.start_members(&[4], &[1, 2, 3, 4])?;
            std::thread::sleep(Duration::from_millis(1500));
            let line = r.ens.servers[&4].config_line();
            let joining = line.trim_start_matches("server.4=").to_string();
            r.ens.step(format!("reconfig -add server.4={joining} through server {l}"));
            let mut c = Client::connect(r.ens.port(l)?, 4000)?;
            let (z, _) = c.reconfig(&format!("server.4={joining}"), "")?;
            c.close()?;
            r.ens.wait_serving(&[1, 2, 3, 4])?;
            let (voters, version) = conf_voters(r.ens.port(1)?)?;
            r.decisions.push(Recorded::Reconfig(RecordedReconfig {
                request: "-add 4".into(),
                voters_before: vec![1, 2, 3],
                txn_zxid: Hex(z),
                real_voters: voters,
                real_version: Hex(version),
            }));
            Ok(())
        },
    },
    Case {
        name: "finding-stale-txnlog-diff",
        description: "7 servers: a follower's never-committed txns survive its SNAP in its txn log; as leader it syncs a far-behind learner from that log",
        servers: 7,
        settings: super::finding::settings,
        elections: false,
        script: super::finding::script,
    },
    Case {
        name: "finding-dirty-snapshot-trunc",
        description: "3 servers: a leader's never-committed txn, applied on stepping down, is written into the snapshot of a leadership that never establishes; the TRUNC that later cuts it from the txn log reloads that snapshot",
        servers: 3,
        settings: super::finding_dirty::settings,
        elections: false,
        script: super::finding_dirty::script,
    },
    Case {
        name: "finding-trunc-absent-zxid",
        description: "3 servers: a leader with an empty history sends TRUNC (0, or 0x100000000 when it was synced by SNAP in epoch 1) to a learner holding never-committed txns of an older epoch; FileTxnLog.truncate keeps the learner's first txn past that zxid",
        servers: 3,
        settings: super::finding_trunc::settings,
        elections: false,
        script: super::finding_trunc::script,
    },
];

impl Run {
    /// kill -9 `sid` (marking the epochs first: an election follows) and waits until
    /// `serving` serve again; collects what happened.
    pub fn kill_and_wait(&mut self, sid: u64, serving: &[u64]) -> Result<u64, String> {
        self.mark_epochs();
        self.ens.kill(sid)?;
        let l = self.ens.wait_serving(serving)?;
        self.collect()?;
        Ok(l)
    }

    /// Starts `sids` with every server of the ensemble in their configuration, and
    /// waits until they serve.
    pub fn start_members_of_all(&mut self, sids: &[u64]) -> Result<u64, String> {
        self.start(sids, sids)
    }
}
