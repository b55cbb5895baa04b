//! What a run reports: counts, elections, leaders, unavailability, the configuration
//! timeline with each reconfig's unavailability, and the outcome; collected as the run
//! goes ([`Stats`]) and returned by it ([`RunReport`]). `present::summary` prints them.

use crate::check::invariant::{Invariant, Violation};
use crate::run::workload::ServiceStats;
use crate::trace::TraceRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zab::contract::{LookingReason, Observation};
use zab::quorum::QuorumVerifier;
use zab::{Epoch, Round, Sid, Variant, Zxid};

/// A leader that gathered a quorum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderRecord {
    pub leader: Sid,
    pub epoch: Epoch,
    pub round: Round,
    /// When FLE decided for it (its own decision).
    pub decided_us: u64,
    pub established_us: u64,
    pub quorum: Vec<Sid>,
}

/// One configuration version of a run: when it was proposed, committed and activated where.
/// Reconfigs are what make a dynamic ensemble unavailable, so each committed one also gets
/// its unavailability window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecord {
    pub config: QuorumVerifier,
    /// When the leader proposed it (a reconfig; an epoch-versioned one is never proposed).
    pub proposed_us: Option<u64>,
    /// When a leader committed it: its COMMIT, or its establishment when the reconfig was
    /// pending in its log and NEWLEADER committed it.
    pub committed_us: Option<u64>,
    /// The leader that committed it.
    pub committed_by: Option<Sid>,
    /// The leader it designated (`getDesignatedLeader`).
    pub designated: Option<Sid>,
    /// Each server's first activation of it, in time order.
    pub activated: Vec<(Sid, u64)>,
    /// A committed reconfig's unavailability: from its commit until a leader that votes in
    /// it can commit (0 when the committing leader was designated; else until the next
    /// leader is established). `None` while that has not happened yet.
    pub unavailable_us: Option<u64>,
    /// No leader was established after the commit before the run ended: the window counts
    /// up to the end of the run.
    #[serde(default)]
    pub unavailable_open: bool,
}

impl ConfigRecord {
    fn new(config: QuorumVerifier) -> ConfigRecord {
        ConfigRecord {
            config,
            proposed_us: None,
            committed_us: None,
            committed_by: None,
            designated: None,
            activated: Vec::new(),
            unavailable_us: None,
            unavailable_open: false,
        }
    }

    /// A reconfig's, not the ZOOKEEPER-1783 version (counter 0) a first leader gives the
    /// static configuration.
    pub fn is_reconfig(&self) -> bool {
        self.config.version().counter() != 0
    }

    /// A reconfig window opened by its commit that no establishment has closed yet.
    fn is_open(&self) -> bool {
        self.is_reconfig() && self.committed_us.is_some() && self.unavailable_us.is_none()
    }

    /// Committed by `leader` at `now`. A reconfig's window is 0 when the committing leader
    /// is the designated one, a voter of the new configuration that goes on committing;
    /// otherwise it stays open until the next leader is established. The ZOOKEEPER-1783
    /// version is no reconfig and has no window.
    fn commit(&mut self, now: u64, leader: Sid) {
        self.committed_us = Some(now);
        self.committed_by = Some(leader);
        if self.is_reconfig() && self.designated == Some(leader) {
            self.unavailable_us = Some(0);
        }
    }
}

/// Figures gathered during a run, from the nodes' observations and the simulator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// The service-failover workload's figures, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceStats>,
    pub messages_sent: u64,
    /// Sent with no connection, or lost in flight to a break or a crash.
    pub messages_lost: u64,
    pub client_replies: u64,
    /// Notifications that replaced an undelivered one to the same peer.
    pub notifications_coalesced: u64,
    /// Faults by kind (`crash`, `partition`, ...), scripted and random.
    pub faults: BTreeMap<String, u64>,
    /// How long each server's election took, LOOKING to decided.
    pub election_us: Vec<u64>,
    /// Roles a committed reconfig gave servers without an election (a designated leader).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handoffs: u64,
    /// Process exits by exit code (`System.exit` in ZooKeeper).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exits: BTreeMap<String, u64>,
    /// Syncs by mode and the `syncFollower` branch that chose it ("DIFF committed_log", ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub syncs: BTreeMap<String, u64>,
    pub leaders: Vec<LeaderRecord>,
    /// Stretches with no established leader: (start, length).
    pub unavailable_us: Vec<(u64, u64)>,
    pub writes_submitted: u64,
    /// Writes acknowledged to their clients (committed and applied where they were sent).
    pub writes_acked: u64,
    /// Writes refused by a server that was not serving.
    pub writes_refused: u64,
    /// Submission to acknowledgement, per acknowledged write.
    pub write_latency_us: Vec<u64>,
    /// Txns committed by each epoch's leader.
    pub commits_by_epoch: BTreeMap<Epoch, u64>,
    /// Every configuration version proposed or activated, in version order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<ConfigRecord>,
}

impl RunStats {
    /// Did the run reconfigure (propose or activate a reconfig's configuration)?
    pub fn has_reconfig(&self) -> bool {
        self.configs.iter().any(ConfigRecord::is_reconfig)
    }

    /// The unavailability window of each committed reconfig, in commit (zxid) order; an
    /// open one counts up to the end of the run.
    pub fn reconfig_unavailable_us(&self) -> Vec<u64> {
        self.configs.iter().filter(|c| c.is_reconfig()).filter_map(|c| c.unavailable_us).collect()
    }
}

/// Collects [`RunStats`] while a run goes on.
#[derive(Clone)]
pub struct Stats {
    pub run: RunStats,
    looking_since: Vec<Option<u64>>,
    /// The server left its role for a reconfig (it may take the new one at once).
    reconfig_left: Vec<bool>,
    decided_at: Vec<u64>,
    /// Servers that are established leaders now.
    established: Vec<Sid>,
    leaderless_since: Option<u64>,
    /// The last activation, when it may be committing a reconfig through NEWLEADER: a
    /// leader reports it just before `LeaderEstablished`, in the same step.
    last_activation: Option<(Sid, u64, Zxid)>,
}

impl Stats {
    pub fn new(n: usize) -> Stats {
        Stats {
            run: RunStats::default(),
            looking_since: vec![None; n],
            reconfig_left: vec![false; n],
            decided_at: vec![0; n],
            established: Vec::new(),
            leaderless_since: Some(0),
            last_activation: None,
        }
    }

    pub fn count_fault(&mut self, kind: &str) {
        *self.run.faults.entry(kind.to_string()).or_default() += 1;
    }

    pub fn observe(&mut self, now: u64, node: Sid, obs: &Observation) {
        let i = node as usize - 1;
        match obs {
            Observation::ElectionStarted { reason, .. } => {
                self.server_left(now, node);
                self.looking_since[i] = Some(now);
                self.reconfig_left[i] = *reason == LookingReason::Reconfig;
            }
            Observation::Decided { .. } => {
                if let Some(since) = self.looking_since[i].take() {
                    // Left for a reconfig and decided at once: the designated leader's role,
                    // taken without an election.
                    if self.reconfig_left[i] && since == now {
                        self.run.handoffs += 1;
                    } else {
                        self.run.election_us.push(now - since);
                    }
                }
                self.decided_at[i] = now;
            }
            Observation::LeaderEstablished { epoch, round, quorum } => {
                self.config_leader_established(now, node);
                self.run.leaders.push(LeaderRecord {
                    leader: node,
                    epoch: *epoch,
                    round: *round,
                    decided_us: self.decided_at[i],
                    established_us: now,
                    quorum: quorum.clone(),
                });
                self.established.push(node);
                if let Some(since) = self.leaderless_since.take() {
                    self.run.unavailable_us.push((since, now - since));
                }
            }
            Observation::Sync { mode, branch, .. } => {
                *self.run.syncs.entry(format!("{mode:?} {branch:?}")).or_default() += 1;
            }
            Observation::Committed { zxid } => {
                *self.run.commits_by_epoch.entry(zxid.epoch()).or_default() += 1;
                if !self.run.configs.is_empty() {
                    self.config_committed(now, node, *zxid);
                }
            }
            Observation::ReconfigProposed { config } => {
                self.config_record(*config).proposed_us.get_or_insert(now);
            }
            Observation::ConfigActivated { config, designated } => {
                let r = self.config_record(*config);
                if !r.activated.iter().any(|a| a.0 == node) {
                    r.activated.push((node, now));
                }
                if r.designated.is_none() {
                    r.designated = *designated;
                }
                self.last_activation = Some((node, now, config.version()));
            }
            _ => {}
        }
    }

    /// The record of `config`'s version, made on first sight.
    fn config_record(&mut self, config: QuorumVerifier) -> &mut ConfigRecord {
        let configs = &mut self.run.configs;
        let k = match configs.binary_search_by_key(&config.version(), |c| c.config.version()) {
            Ok(k) => k,
            Err(k) => {
                configs.insert(k, ConfigRecord::new(config));
                k
            }
        };
        &mut configs[k]
    }

    /// A leader committed `zxid`; if it is a reconfig's, its window opens, unless the
    /// leader is the one it designated (then a voter of it can commit at once).
    fn config_committed(&mut self, now: u64, leader: Sid, zxid: Zxid) {
        let configs = &mut self.run.configs;
        let Ok(k) = configs.binary_search_by_key(&zxid, |c| c.config.version()) else { return };
        let r = &mut configs[k];
        if r.committed_us.is_none() {
            r.commit(now, leader);
        }
    }

    /// A leader was established: it closes every reconfig window still open, then may
    /// itself commit, through NEWLEADER, a reconfig pending in its log, which it activated
    /// just before.
    fn config_leader_established(&mut self, now: u64, leader: Sid) {
        for r in self.run.configs.iter_mut().filter(|r| r.is_open()) {
            r.unavailable_us = Some(now - r.committed_us.expect("open windows are committed"));
        }
        if let Some((sid, t, version)) = self.last_activation.take() {
            if (sid, t) == (leader, now) {
                let configs = &mut self.run.configs;
                if let Ok(k) = configs.binary_search_by_key(&version, |c| c.config.version()) {
                    let r = &mut configs[k];
                    if r.committed_us.is_none() {
                        r.commit(now, leader);
                    }
                }
            }
        }
        // A reconfig the new leader activated earlier, before it committed (at UPTODATE from
        // NEWLEADER, or from FLE), is committed with the leader's whole log now; a leader
        // voting in it can commit from this moment.
        for r in self.run.configs.iter_mut().filter(|r| r.committed_us.is_none() && r.is_reconfig()) {
            if r.activated.iter().any(|(s, _)| *s == leader) {
                r.commit(now, leader);
                if r.config.is_voter(leader) {
                    r.unavailable_us = Some(0);
                }
            }
        }
    }

    /// A server stopped leading (crash, or back to LOOKING).
    pub fn server_left(&mut self, now: u64, node: Sid) {
        let i = node as usize - 1;
        self.looking_since[i] = None;
        let before = self.established.len();
        self.established.retain(|s| *s != node);
        if before > 0 && self.established.is_empty() {
            self.leaderless_since = Some(now);
        }
    }

    pub fn finish(mut self, now: u64) -> RunStats {
        if let Some(since) = self.leaderless_since.take() {
            self.run.unavailable_us.push((since, now - since));
        }
        for r in self.run.configs.iter_mut().filter(|r| r.is_open()) {
            r.unavailable_us = Some(now - r.committed_us.expect("open windows are committed"));
            r.unavailable_open = true;
        }
        self.run
    }
}

/// Everything one run produced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    pub variant: Variant,
    /// The violations the scenario expects of this variant, if any.
    pub expected: Vec<Invariant>,
    /// Invariants the scenario declares ZooKeeper itself breaks.
    #[serde(default)]
    pub known: Vec<Invariant>,
    /// Every fault the run applied (scripted and random), as a timed script.
    #[serde(skip)]
    pub applied_faults: Vec<crate::scenario::ScriptedFault>,
    pub violation: Option<Violation>,
    /// Simulated time at the end of the run.
    pub sim_us: u64,
    pub events: u64,
    /// Set when `--until` stopped the run early.
    pub stopped_at_us: Option<u64>,
    /// How long after faults stopped the cluster converged (every server serving).
    pub recovery_us: Option<u64>,
    /// How long after faults stopped a write submitted then committed.
    pub progress_us: Option<u64>,
    pub liveness_bound_us: u64,
    #[serde(with = "hex_u64")]
    pub trace_hash: u64,
    /// The last trace records before a violation.
    #[serde(skip)]
    pub recent: Vec<TraceRecord>,
    /// Writing the trace file failed.
    #[serde(skip)]
    pub trace_error: Option<String>,
    pub stats: RunStats,
    /// The abstract states, transitions and fault states the run reached.
    #[serde(skip)]
    pub coverage: crate::run::coverage::Coverage,
}

impl RunReport {
    /// Did the run do what the scenario expects of its variant?
    pub fn as_expected(&self) -> bool {
        match &self.violation {
            None => true,
            Some(v) => self.known.contains(&v.invariant) || self.expected.contains(&v.invariant),
        }
    }
}

mod hex_u64 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:016x}"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
