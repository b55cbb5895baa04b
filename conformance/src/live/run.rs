//! One case's run: the ensemble, and the decisions collected from it as it goes.

use super::client::Client;
use super::ensemble::{Ensemble, Settings};
use super::extract::{elections, leader_syncs, learner_ops, ms_of_day, pair_op, read_lines, supporters, sync_record};
use crate::corpus::{CaseRecord, Recorded, RecordedEpoch};
use crate::txnlog::{read_data_dir, read_epoch};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct Run {
    pub ens: Ensemble,
    pub decisions: Vec<Recorded>,
    pub voters: Vec<u64>,
    syncs_seen: BTreeMap<u64, usize>,
    ops_taken: BTreeMap<u64, Vec<usize>>,
    elections_seen: BTreeMap<u64, usize>,
    supporters_seen: BTreeMap<u64, usize>,
    accepted_before: BTreeMap<u64, u64>,
    znodes: u64,
    /// Record elections (the FLE cases) or only syncs and epochs.
    pub record_elections: bool,
}

impl Run {
    pub fn new(name: &str, n: u64, settings: Settings) -> Result<Run, String> {
        let ens = Ensemble::new(name, n, settings, Duration::from_secs(60))?;
        Ok(Run {
            voters: ens.servers.keys().copied().collect(),
            ens,
            decisions: Vec::new(),
            syncs_seen: BTreeMap::new(),
            ops_taken: BTreeMap::new(),
            elections_seen: BTreeMap::new(),
            supporters_seen: BTreeMap::new(),
            accepted_before: BTreeMap::new(),
            znodes: 0,
            record_elections: false,
        })
    }

    /// Reads every server's acceptedEpoch now: the inputs of the next discovery.
    pub fn mark_epochs(&mut self) {
        for (&sid, s) in &self.ens.servers {
            let e = read_epoch(&s.version2().join("acceptedEpoch")).unwrap_or(0);
            self.accepted_before.insert(sid, e);
        }
    }

    /// Starts servers (marking the epochs first) and waits until `serving` serve.
    pub fn start(&mut self, sids: &[u64], serving: &[u64]) -> Result<u64, String> {
        self.mark_epochs();
        self.ens.start(sids)?;
        let l = self.ens.wait_serving(serving)?;
        self.collect()?;
        Ok(l)
    }

    /// `n` persistent znodes through server `sid`, one session.
    pub fn write(&mut self, sid: u64, n: u64) -> Result<u64, String> {
        self.ens.step(format!("write {n} znodes through server {sid}"));
        let mut c = Client::connect(self.ens.port(sid)?, 4000)?;
        let mut last = 0;
        for _ in 0..n {
            self.znodes += 1;
            last = c.create(&format!("/k{}", self.znodes), b"0123456789abcdef0123456789abcdef", 0)?.zxid;
        }
        c.close()?;
        Ok(last)
    }

    /// Collects the decisions that appeared in the logs since the last call.
    pub fn collect(&mut self) -> Result<(), String> {
        self.collect_syncs()?;
        if self.record_elections {
            self.collect_elections();
        }
        self.collect_epochs();
        Ok(())
    }

    fn collect_syncs(&mut self) -> Result<(), String> {
        let sids: Vec<u64> = self.ens.servers.keys().copied().collect();
        for &leader in &sids {
            let lines = read_lines(&self.ens.servers[&leader].log_file());
            let syncs = leader_syncs(&lines);
            let seen = self.syncs_seen.get(&leader).copied().unwrap_or(0);
            if syncs.len() <= seen {
                continue;
            }
            // The listing right after the sync lines are seen: the leader is idle then.
            let (logs, snaps) = read_data_dir(&self.ens.servers[&leader].version2())?;
            let now_ms =
                (SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0) % 86_400_000) as u64;
            for s in &syncs[seen..] {
                let Some(learner) = self.ens.servers.get(&s.learner) else { continue };
                let mut real = None;
                for _ in 0..30 {
                    let ops = learner_ops(&read_lines(&learner.log_file()));
                    let taken = self.ops_taken.entry(s.learner).or_default();
                    let mut t = taken.clone();
                    if let Some(d) = pair_op(&s.ts, &ops, &mut t) {
                        *taken = t;
                        real = Some(d);
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let Some(real) = real else {
                    self.ens.step(format!("sync {leader}->{} has no learner op line: not recorded", s.learner));
                    continue;
                };
                let mut r = sync_record(leader, s, real);
                r.snapshot_size_factor = self.ens.settings.snapshot_size_factor();
                r.commit_log_count = self.ens.settings.commit_log_count();
                r.txn_logs = logs.clone();
                r.snapshots = snaps.clone();
                r.listing_delay_ms = ms_of_day(&s.ts).map(|t| now_ms.saturating_sub(t)).unwrap_or(0);
                self.decisions.push(Recorded::Sync(r));
            }
            self.syncs_seen.insert(leader, syncs.len());
        }
        Ok(())
    }

    fn collect_elections(&mut self) {
        for (&sid, s) in &self.ens.servers {
            let es = elections(sid, &self.voters, &read_lines(&s.log_file()));
            let seen = self.elections_seen.get(&sid).copied().unwrap_or(0);
            for e in es.iter().skip(seen) {
                self.decisions.push(Recorded::Election(e.clone()));
            }
            self.elections_seen.insert(sid, es.len().max(seen));
        }
    }

    fn collect_epochs(&mut self) {
        for (&sid, s) in &self.ens.servers {
            let sup = supporters(&read_lines(&s.log_file()));
            let seen = self.supporters_seen.get(&sid).copied().unwrap_or(0);
            for (sids, epoch) in sup.iter().skip(seen) {
                let mut accepted = BTreeMap::new();
                for x in sids.iter().chain(std::iter::once(&sid)) {
                    if let Some(e) = self.accepted_before.get(x) {
                        accepted.insert(x.to_string(), *e);
                    }
                }
                self.decisions.push(Recorded::Epoch(RecordedEpoch {
                    leader: sid,
                    accepted_epochs: accepted,
                    real_epoch: *epoch,
                }));
            }
            self.supporters_seen.insert(sid, sup.len().max(seen));
        }
    }

    pub fn finish(mut self, case: &str, description: &str) -> Result<CaseRecord, String> {
        self.collect()?;
        let version = self.ens.version().unwrap_or_else(|| "unknown".into());
        let rec = CaseRecord {
            case: case.to_string(),
            description: description.to_string(),
            zookeeper_version: version,
            settings: self.ens.settings.describe(),
            steps: std::mem::take(&mut self.ens.steps),
            decisions: std::mem::take(&mut self.decisions),
        };
        self.ens.stop_all();
        Ok(rec)
    }
}
