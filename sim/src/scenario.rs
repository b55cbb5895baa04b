//! Scenario files (TOML): cluster, timing, network, disk, faults, duration, expectation.
//!
//! Every field is checked when the file loads; an error names the field
//! (`timing.tick_ms: ...`) and never panics.

use crate::checker::Invariant;
use crate::dist::Delay;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use zab::api::MembershipChange;
use zab::durable::DurableState;
use zab::quorum::QuorumVerifier;
use zab::timing::Timing;
use zab::{Sid, Variant, Zxid};

/// The largest ensemble a scenario may ask for.
pub const SERVERS_MAX: u64 = 64;

/// A scenario as written in its file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Defaults to the file's stem.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The protocol variant the scenario is built for; `--variant` overrides it.
    #[serde(default)]
    pub variant: Variant,
    /// The ZooKeeper release the servers behave as (`3.8.0`, `3.9.3`, `3.9.4`);
    /// `--zookeeper` overrides it.
    #[serde(default)]
    pub zookeeper: zab::release::Release,
    /// Length of the fault phase. Then every partition heals, every crashed server
    /// restarts, and the liveness bound starts counting.
    pub duration_ms: u64,
    /// Once faults stop, the cluster must converge within this long.
    pub liveness_bound_ms: u64,
    #[serde(default)]
    pub expect: Expect,
    pub cluster: Cluster,
    #[serde(default)]
    pub timing: TimingSpec,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default)]
    pub disk: DiskSpec,
    /// Snapshot and txn-log settings (`zoo.cfg` and system properties).
    #[serde(default)]
    pub storage: StorageSpec,
    /// What restarts a server whose process exited.
    #[serde(default)]
    pub supervisor: SupervisorSpec,
    #[serde(default)]
    pub faults: FaultSpec,
    /// Client writes during the fault phase.
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
    /// The service-failover workload: ZooKeeper clients with sessions, ephemerals and
    /// watches ([`crate::workload`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_failover: Option<ServiceSpec>,
    /// Dynamic reconfiguration: the ensemble's initial membership and the operator's
    /// reconfig steps ([`crate::workload`]'s operator runs them while the service works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconfig: Option<ReconfigSpec>,
}

/// A migration: the static configuration of the initial ensemble, and the reconfig steps
/// an operator (a ZooKeeper client of the service workload) runs one after the other.
/// Servers of the run outside `initial` start as joiners: their static configuration lists
/// the initial ensemble and themselves (as ZooKeeper's reconfig guide says to start one),
/// so they learn the established configuration from FLE and sync as non-voting learners.
/// Once a step commits, the servers it removed are stopped and never restarted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconfigSpec {
    /// The participants of the initial ensemble.
    pub initial: Vec<Sid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_observers: Vec<Sid>,
    /// When the joiners (servers outside `initial`) start; absent: with everyone, at 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_ms: Option<u64>,
    /// When the operator starts its first step.
    pub start_ms: u64,
    /// From one step's success to the next step.
    #[serde(default = "default_step_interval_ms")]
    pub interval_ms: u64,
    /// After a failed attempt (ReconfigInProgress, NewConfigNoQuorum, a lost answer), the
    /// operator checks the configuration and tries again this much later.
    #[serde(default = "default_retry_ms")]
    pub retry_ms: u64,
    /// When the operator stops the servers a step removed.
    #[serde(default)]
    pub retire: Retire,
    pub steps: Vec<ReconfigStep>,
}

/// When removed servers are stopped.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Retire {
    /// Once every server of the new configuration has activated it (the operator checks
    /// each one's configuration, as `conf` on each server would show).
    #[default]
    AfterActivation,
    /// As soon as the reconfig returns. If the leader fails before a quorum of the new
    /// configuration has activated it, the new servers still need a quorum of the old one,
    /// which is gone: the ensemble stays down.
    AtOnce,
    /// Never: removed servers keep running as non-voting followers, as ZooKeeper leaves
    /// them until someone stops them (and a later step may add them back).
    Never,
}

/// One reconfig: incremental (`add`, `add_observers`, `remove`) or a whole new membership
/// (`members`, `observers`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconfigStep {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<Sid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_observers: Vec<Sid>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<Sid>,
    /// Remove whichever server leads when the step starts (the operator asks each server
    /// `srvr` to find it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub remove_leader: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Sid>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observers: Vec<Sid>,
}

impl ReconfigStep {
    /// The change to ask for; `leader` is the server leading when the step starts.
    pub fn change(&self, leader: Option<Sid>) -> MembershipChange {
        match &self.members {
            Some(members) => {
                MembershipChange::NonIncremental { participants: members.clone(), observers: self.observers.clone() }
            }
            None => {
                let mut remove = self.remove.clone();
                remove.extend(leader.filter(|l| self.remove_leader && !remove.contains(l)));
                MembershipChange::Incremental {
                    add_participants: self.add.clone(),
                    add_observers: self.add_observers.clone(),
                    remove,
                }
            }
        }
    }
}

fn default_step_interval_ms() -> u64 {
    1000
}

fn default_retry_ms() -> u64 {
    500
}

impl ReconfigSpec {
    /// The initial ensemble's configuration (version 0).
    pub fn initial_config(&self) -> QuorumVerifier {
        QuorumVerifier::with_observers(self.initial.iter().copied(), self.initial_observers.iter().copied())
    }

    fn validate(&self, scenario: &Scenario) -> Result<(), String> {
        let f = "reconfig";
        if self.initial.is_empty() {
            return Err(format!("{f}.initial: the ensemble needs at least one participant"));
        }
        for (name, list) in [("initial", &self.initial), ("initial_observers", &self.initial_observers)] {
            for s in list {
                scenario.check_server(&format!("{f}.{name}"), *s)?;
            }
        }
        if let Some(s) = self.initial_observers.iter().find(|s| self.initial.contains(s)) {
            return Err(format!("{f}.initial_observers: server {s} is also a participant"));
        }
        if self.steps.is_empty() {
            return Err(format!("{f}.steps: a migration needs at least one step"));
        }
        if self.retry_ms == 0 {
            return Err(format!("{f}.retry_ms: must be above 0"));
        }
        if self.join_ms.is_some_and(|ms| ms >= scenario.duration_ms) {
            return Err(format!("{f}.join_ms: joiners must start before the fault phase ends (duration_ms)"));
        }
        if scenario.service_failover.is_none() {
            return Err(format!(
                "{f}: needs a [service_failover] workload (the operator is one of its clients, and the service keeps running during the migration)"
            ));
        }
        let mut config = self.initial_config();
        for (i, step) in self.steps.iter().enumerate() {
            let field = format!("{f}.steps[{i}]");
            let incremental =
                !step.add.is_empty() || !step.add_observers.is_empty() || !step.remove.is_empty() || step.remove_leader;
            if step.members.is_some() == incremental {
                return Err(format!(
                    "{field}: give either add/add_observers/remove/remove_leader or members/observers (a whole new membership)"
                ));
            }
            if step.remove_leader && (!step.add_observers.is_empty() || !step.observers.is_empty()) {
                return Err(format!("{field}.remove_leader: not with observers added in the same step"));
            }
            let named = step.add.iter().chain(&step.add_observers).chain(&step.remove).chain(&step.observers);
            for s in named.chain(step.members.iter().flatten()) {
                scenario.check_server(&field, *s)?;
            }
            // The leader is known only when the step runs: take the voter the step keeps
            // longest as the one removed, which leaves the fewest voters possible.
            let leader =
                if step.remove_leader { config.voters().filter(|v| !step.remove.contains(v)).max() } else { None };
            config = step.change(leader).apply(&config).ok_or_else(|| format!("{field}: leaves no participant"))?;
        }
        Ok(())
    }
}
/// The failover recipe: `instances` service instances each hold an ephemeral znode
/// `/services/web/instance-<i>` with their address; `clients` clients each pick one from
/// the children of `/services/web` with a watch and pick again when it fires; a
/// configuration manager updates `/config` with versioned setData every
/// `[config_min_interval_ms, config_max_interval_ms]`, and the clients read it with a watch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub instances: u64,
    pub clients: u64,
    /// The session timeout every client asks for (the servers clamp it to 2..20 ticks).
    pub session_timeout_ms: u32,
    #[serde(default = "default_config_min_interval_ms")]
    pub config_min_interval_ms: u64,
    #[serde(default = "default_config_max_interval_ms")]
    pub config_max_interval_ms: u64,
    /// Instances also create an ephemeral-sequential "beat" znode this often (and delete
    /// the previous one), as a lock or heartbeat recipe would: creates racing their own
    /// session's expiry. 0: never.
    #[serde(default)]
    pub beat_interval_ms: u64,
    /// Random client faults, drawn from the clients' own stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<ClientFaults>,
}

/// Random faults of the service's processes: one every `[min_interval_ms,
/// max_interval_ms]`, each lasting `[down_min_ms, down_max_ms]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFaults {
    pub min_interval_ms: u64,
    pub max_interval_ms: u64,
    pub down_min_ms: u64,
    pub down_max_ms: u64,
    /// Weight: crash a service instance (its session expires; it restarts with a new one).
    #[serde(default)]
    pub crash_instance: u64,
    /// Weight: cut a client (any role) off from every server.
    #[serde(default)]
    pub isolate_client: u64,
    /// Weight: freeze a client process (a long GC pause): it neither sends nor reads.
    #[serde(default)]
    pub pause_client: u64,
    /// Weight: delay everything a client sends by `slow_extra_ms` (TCP retransmissions on
    /// a bad link: the connection survives, its packets arrive late and in a burst).
    #[serde(default)]
    pub slow_client: u64,
    #[serde(default = "default_slow_client_extra_ms")]
    pub slow_extra_ms: u64,
}

fn default_slow_client_extra_ms() -> u64 {
    2000
}

fn default_config_min_interval_ms() -> u64 {
    500
}

fn default_config_max_interval_ms() -> u64 {
    1500
}

/// Clients writing to random servers, one write every `[min_interval_us, max_interval_us]`
/// across all clients. Followers forward writes to the leader; a write is acknowledged to
/// its client once the server it wrote to has applied it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub clients: u64,
    pub min_interval_us: u64,
    pub max_interval_us: u64,
}

impl ServiceSpec {
    fn validate(&self) -> Result<(), String> {
        let f = "service_failover";
        if self.instances == 0 {
            return Err(format!("{f}.instances: must be at least 1"));
        }
        if self.clients == 0 {
            return Err(format!("{f}.clients: must be at least 1"));
        }
        if self.instances + self.clients > 1000 {
            return Err(format!("{f}: at most 1000 instances and clients in all"));
        }
        if self.session_timeout_ms == 0 {
            return Err(format!("{f}.session_timeout_ms: must be above 0"));
        }
        if self.config_min_interval_ms == 0 || self.config_min_interval_ms > self.config_max_interval_ms {
            return Err(format!("{f}.config_min_interval_ms: must be above 0 and at most config_max_interval_ms"));
        }
        if let Some(r) = &self.faults {
            if r.min_interval_ms == 0 || r.min_interval_ms > r.max_interval_ms {
                return Err(format!("{f}.faults.min_interval_ms: must be above 0 and at most max_interval_ms"));
            }
            if r.down_min_ms == 0 || r.down_min_ms > r.down_max_ms {
                return Err(format!("{f}.faults.down_min_ms: must be above 0 and at most down_max_ms"));
            }
            if r.crash_instance + r.isolate_client + r.pause_client + r.slow_client == 0 {
                return Err(format!(
                    "{f}.faults: every fault weight is 0 (crash_instance, isolate_client, pause_client, slow_client)"
                ));
            }
        }
        Ok(())
    }
}

/// What a sweep of the scenario should find with its own variant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The invariant (or invariants: a bug may show first as any of them) this scenario's
    /// variant is expected to break; absent: every seed must pass.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub violation: Vec<Invariant>,
    /// Invariants ZooKeeper 3.9 itself is known to break in this scenario (findings, not
    /// regressions): seeds that break only these are counted apart and do not fail a
    /// sweep of the correct protocol. Each must be explained in the description.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<Invariant>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Servers 1..=servers, all voting.
    pub servers: u64,
    /// Durable state of individual servers at start; others start empty.
    #[serde(default)]
    pub initial: Vec<InitialState>,
}

/// A server's durable image at start, to set up election cases directly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialState {
    pub server: Sid,
    #[serde(default)]
    pub accepted_epoch: u64,
    #[serde(default)]
    pub current_epoch: u64,
    /// The last logged zxid; the log holds txns 1..=counter of that epoch.
    #[serde(default)]
    pub last_zxid: ZxidSpec,
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZxidSpec {
    pub epoch: u64,
    pub counter: u64,
}

/// `zoo.cfg` timing, in milliseconds; ZooKeeper's defaults where absent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingSpec {
    pub tick_ms: u64,
    pub init_limit: u64,
    pub sync_limit: u64,
    pub finalize_wait_ms: u64,
    pub min_notification_interval_ms: u64,
    pub max_notification_interval_ms: u64,
}

impl Default for TimingSpec {
    fn default() -> Self {
        let t = Timing::default();
        TimingSpec {
            tick_ms: t.tick_us / 1000,
            init_limit: t.init_limit,
            sync_limit: t.sync_limit,
            finalize_wait_ms: t.finalize_wait_us / 1000,
            min_notification_interval_ms: t.min_notification_interval_us / 1000,
            max_notification_interval_ms: t.max_notification_interval_us / 1000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    /// One-way delay of each message.
    pub delay: Delay,
    /// How long after a connection breaks both ends learn of it.
    pub detect_ms: u64,
    /// Notifications that may be in flight on one election connection (the socket's
    /// buffers). Past it, `QuorumCnxManager`'s one-message queue keeps only the newest.
    pub election_window: u32,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec { delay: Delay::Uniform { min_us: 200, max_us: 2_000 }, detect_ms: 200, election_window: 64 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskSpec {
    /// How long an fsync takes.
    pub fsync: Delay,
    /// A crash may leave some unsynced writes on disk (a prefix of each file's, the next
    /// one torn) instead of losing them all.
    pub torn_writes: bool,
    /// The operating system writes back a page nobody syncs this long after it was
    /// written (Linux's `vm.dirty_expire_centisecs`, 30 s): ZooKeeper's unsynced
    /// snapshots and TRUNC's cut survive a crash only once written back.
    pub writeback_ms: u64,
    /// The file system orders metadata (ext4, XFS, the default): any fsync commits its
    /// journal, and with it a truncation of the log issued before (`FileTxnLog.truncate`
    /// only calls `setLength`). `false` is POSIX's minimum: the cut is durable only with
    /// the next fsync of the log itself, or once written back.
    pub ordered_metadata: bool,
}

impl Default for DiskSpec {
    fn default() -> Self {
        DiskSpec {
            fsync: Delay::Uniform { min_us: 500, max_us: 5_000 },
            torn_writes: false,
            writeback_ms: 30_000,
            ordered_metadata: true,
        }
    }
}

/// The process supervisor: where ZooKeeper exits the JVM (`ServiceUtils.requestSystemExit`),
/// something like systemd's `Restart=on-failure` or a container runtime starts it again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorSpec {
    /// Restart an exited server (without it, it stays down until the fault phase ends).
    pub restart: bool,
    pub restart_after_ms: u64,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec { restart: true, restart_after_ms: 1_000 }
    }
}

/// ZooKeeper's storage settings, with its defaults.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSpec {
    /// `snapCount`: a snapshot and a new log file after `snap_count / 2` plus a random
    /// part of `snap_count / 2` txns.
    pub snap_count: u64,
    /// `zookeeper.preAllocSize`, in KB: log files grow in blocks of this size.
    pub prealloc_kb: u64,
    /// `zookeeper.commitLogCount`: committed proposals a leader keeps for DIFFs.
    pub commit_log_count: u64,
    /// `zookeeper.snapshotSizeFactor`, in percent; negative turns DIFFs from the log off.
    pub snapshot_size_factor_pct: i64,
}

impl Default for StorageSpec {
    fn default() -> Self {
        let d = zab::durable::StorageConfig::default();
        StorageSpec {
            snap_count: d.snap_count,
            prealloc_kb: d.prealloc_bytes / 1024,
            commit_log_count: d.commit_log_count as u64,
            snapshot_size_factor_pct: d.snapshot_size_factor_pct,
        }
    }
}

impl StorageSpec {
    pub fn config(&self) -> zab::durable::StorageConfig {
        zab::durable::StorageConfig {
            snap_count: self.snap_count,
            prealloc_bytes: self.prealloc_kb * 1024,
            commit_log_count: self.commit_log_count as usize,
            snapshot_size_factor_pct: self.snapshot_size_factor_pct,
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.snap_count < 2 || self.snap_count > 1 << 40 {
            return Err(format!("storage.snap_count: {} is outside 2..=2^40", self.snap_count));
        }
        if self.prealloc_kb > 1 << 30 {
            return Err(format!("storage.prealloc_kb: {} is more than 2^30 KB", self.prealloc_kb));
        }
        // `ZKDatabase` raises a smaller commitLogCount to the default.
        if self.commit_log_count < 500 || self.commit_log_count > 1 << 20 {
            return Err(format!("storage.commit_log_count: {} is outside 500..=2^20", self.commit_log_count));
        }
        if self.snapshot_size_factor_pct > 100 {
            return Err(format!(
                "storage.snapshot_size_factor_pct: {} is more than 100",
                self.snapshot_size_factor_pct
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSpec {
    /// Random faults never leave more than `max_faulty` servers crashed or cut off, so a
    /// quorum stays up and connected.
    pub keep_quorum: bool,
    /// Defaults to the most a quorum survives (`servers - quorum`).
    pub max_faulty: Option<u64>,
    /// Faults at given times.
    pub script: Vec<ScriptedFault>,
    /// Faults drawn from the seed during the fault phase.
    pub random: Option<RandomFaults>,
    /// Swarm testing: every seed draws its own random fault mix (weights, pace, length).
    pub swarm: bool,
}

/// One scripted fault. (Unknown fields are refused by [`FaultAction`], which sees every
/// field but `at_ms`.)
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScriptedFault {
    pub at_ms: u64,
    #[serde(flatten)]
    pub action: FaultAction,
}

/// What a fault does. Faults with `for_ms` undo themselves after that long (restart,
/// heal); without it they last until a later fault or the end of the fault phase.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultAction {
    /// The process dies: its value and its volatile writes are gone.
    Crash {
        server: Sid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Crash whichever server is LEADING then (nothing happens if none is).
    CrashLeader {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Rebuild the server from what its disk holds durably.
    Restart { server: Sid },
    /// Split the servers into groups that cannot talk across, both ways. Servers in no
    /// group keep every link.
    Partition {
        groups: Vec<Vec<Sid>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Messages from any of `from` to any of `to` are lost; the other direction works.
    Cut {
        from: Vec<Sid>,
        to: Vec<Sid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Restore every link and remove every extra delay.
    Heal,
    /// Add `extra_ms` to every message from `from` to `to` for `for_ms`.
    SlowLink { from: Sid, to: Sid, extra_ms: u64, for_ms: u64 },
    /// The process of service instance `instance` (0-based) dies; its session expires
    /// unless it comes back within the timeout (it comes back with a new session).
    CrashInstance {
        instance: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Client `client` (0-based over instances, then clients, then the configuration
    /// manager) cannot reach any server.
    IsolateClient {
        client: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Client `client`'s process freezes for `for_ms` (a GC pause): no pings, no sends,
    /// nothing read; then it goes on where it stopped.
    PauseClient { client: u64, for_ms: u64 },
    /// Everything client `client` sends takes `extra_ms` longer, for `for_ms`.
    SlowClient { client: u64, extra_ms: u64, for_ms: u64 },
}

impl FaultAction {
    /// The fault's kind, for counts in summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::Crash { .. } => "crash",
            FaultAction::CrashLeader { .. } => "crash-leader",
            FaultAction::Restart { .. } => "restart",
            FaultAction::Partition { .. } => "partition",
            FaultAction::Cut { .. } => "cut",
            FaultAction::Heal => "heal",
            FaultAction::SlowLink { .. } => "slow-link",
            FaultAction::CrashInstance { .. } => "crash-instance",
            FaultAction::IsolateClient { .. } => "isolate-client",
            FaultAction::PauseClient { .. } => "pause-client",
            FaultAction::SlowClient { .. } => "slow-client",
        }
    }
}

/// Random faults: one every `[min_interval_ms, max_interval_ms]`, of a kind drawn with the
/// given weights, each lasting `[down_min_ms, down_max_ms]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    pub min_interval_ms: u64,
    pub max_interval_ms: u64,
    pub down_min_ms: u64,
    pub down_max_ms: u64,
    #[serde(default)]
    pub crash: u64,
    #[serde(default)]
    pub crash_leader: u64,
    #[serde(default)]
    pub partition: u64,
    #[serde(default)]
    pub one_way: u64,
    #[serde(default)]
    pub slow_link: u64,
    /// Extra delay of a slow link.
    #[serde(default = "default_slow_extra_ms")]
    pub slow_extra_ms: u64,
    /// Cut the leader off from every other server.
    #[serde(default)]
    pub isolate_leader: u64,
    /// Crash a server with an fsync in flight (any server when none has).
    #[serde(default)]
    pub crash_unsynced: u64,
    /// Crash a joiner of a migration (a server outside the initial configuration).
    #[serde(default)]
    pub crash_joiner: u64,
    /// Partition a migration's initial ensemble from its joiners.
    #[serde(default)]
    pub partition_old_new: u64,
}

fn default_slow_extra_ms() -> u64 {
    500
}

/// `violation = "X"` or `violation = ["X", "Y"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Invariant>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Invariant),
        Many(Vec<Invariant>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(i) => vec![i],
        OneOrMany::Many(v) => v,
    })
}

/// A scenario file that could not be used. `Display` is one line naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError { file: file.clone(), message: format!("cannot read: {e}") })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        Scenario::parse(&text, &stem).map_err(|message| ScenarioError { file, message })
    }

    /// Parses and checks scenario text; `default_name` is used when it has no `name`.
    pub fn parse(text: &str, default_name: &str) -> Result<Scenario, String> {
        let de = toml::Deserializer::parse(text).map_err(|e| one_line_toml_error(text, &e))?;
        let mut scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = one_line_toml_error(text, &inner);
            if path.is_empty() || path == "." {
                msg
            } else {
                format!("{path}: {msg}")
            }
        })?;
        if scenario.name.is_empty() {
            scenario.name = default_name.to_string();
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// Semantic checks: values that parse but cannot work.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.cluster.servers;
        if n == 0 {
            return Err("cluster.servers: 0 servers can never form a quorum".into());
        }
        if n > SERVERS_MAX {
            return Err(format!("cluster.servers: {n} is above the limit of {SERVERS_MAX}"));
        }
        let quorum = n / 2 + 1;
        let mut seen = BTreeSet::new();
        for (i, init) in self.cluster.initial.iter().enumerate() {
            let field = format!("cluster.initial[{i}]");
            self.check_server(&format!("{field}.server"), init.server)?;
            if !seen.insert(init.server) {
                return Err(format!("{field}.server: server {} is listed twice", init.server));
            }
            if init.last_zxid.epoch > u64::from(u32::MAX) || init.last_zxid.counter > u64::from(u32::MAX) {
                return Err(format!("{field}.last_zxid: epoch and counter must fit in 32 bits"));
            }
            if init.last_zxid.counter == 0 && init.last_zxid.epoch != 0 {
                return Err(format!(
                    "{field}.last_zxid: counter 0 names no txn; an empty log is epoch = 0, counter = 0"
                ));
            }
            let state = self.initial_state(init.server);
            if let Err(e) = state.startup_check(state.last_logged_zxid()) {
                return Err(format!("{field}: server {} could not start: {e}", init.server));
            }
        }
        let t = &self.timing;
        for (name, v) in [
            ("timing.tick_ms", t.tick_ms),
            ("timing.init_limit", t.init_limit),
            ("timing.sync_limit", t.sync_limit),
            ("timing.finalize_wait_ms", t.finalize_wait_ms),
            ("timing.min_notification_interval_ms", t.min_notification_interval_ms),
        ] {
            if v == 0 {
                return Err(format!("{name}: must be above 0"));
            }
        }
        if t.tick_ms < 2 {
            return Err("timing.tick_ms: must be at least 2 (the leader wakes every half tick)".into());
        }
        if t.max_notification_interval_ms < t.min_notification_interval_ms {
            return Err(format!(
                "timing.max_notification_interval_ms: {} is below min_notification_interval_ms ({})",
                t.max_notification_interval_ms, t.min_notification_interval_ms
            ));
        }
        self.network.delay.validate().map_err(|e| format!("network.delay: {e}"))?;
        if self.network.election_window == 0 {
            return Err("network.election_window: must be above 0".into());
        }
        self.disk.fsync.validate().map_err(|e| format!("disk.fsync: {e}"))?;
        if self.disk.writeback_ms > 1 << 40 {
            return Err(format!("disk.writeback_ms: {} is more than 2^40", self.disk.writeback_ms));
        }
        self.storage.validate()?;
        if self.supervisor.restart_after_ms > 1 << 40 {
            return Err(format!("supervisor.restart_after_ms: {} is more than 2^40", self.supervisor.restart_after_ms));
        }
        if self.liveness_bound_ms == 0 {
            return Err("liveness_bound_ms: must be above 0".into());
        }
        let max_faulty = self.max_faulty();
        if self.faults.keep_quorum && max_faulty > n - quorum {
            return Err(format!(
                "faults.max_faulty: {max_faulty} faulty servers of {n} leave no quorum of {quorum} (at most {})",
                n - quorum
            ));
        }
        for (i, f) in self.faults.script.iter().enumerate() {
            let field = format!("faults.script[{i}]");
            if f.at_ms > self.duration_ms {
                return Err(format!(
                    "{field}.at_ms: {} is after the fault phase ends (duration_ms = {})",
                    f.at_ms, self.duration_ms
                ));
            }
            self.check_action(&field, &f.action)?;
        }
        if let Some(w) = &self.workload {
            if w.clients == 0 {
                return Err("workload.clients: must be at least 1".into());
            }
            if w.min_interval_us == 0 || w.min_interval_us > w.max_interval_us {
                return Err("workload.min_interval_us: must be above 0 and at most max_interval_us".into());
            }
        }
        if let Some(sv) = &self.service_failover {
            sv.validate()?;
        }
        if let Some(r) = &self.reconfig {
            r.validate(self)?;
        }
        if self.faults.swarm && self.faults.random.is_some() {
            return Err("faults.swarm: a swarm draws its own random faults; remove [faults.random]".into());
        }
        if let Some(r) = &self.faults.random {
            let field = "faults.random";
            if r.min_interval_ms == 0 || r.min_interval_ms > r.max_interval_ms {
                return Err(format!("{field}.min_interval_ms: must be above 0 and at most max_interval_ms"));
            }
            if r.down_min_ms == 0 || r.down_min_ms > r.down_max_ms {
                return Err(format!("{field}.down_min_ms: must be above 0 and at most down_max_ms"));
            }
            let disruptive = r.crash
                + r.crash_leader
                + r.partition
                + r.one_way
                + r.isolate_leader
                + r.crash_unsynced
                + r.crash_joiner
                + r.partition_old_new;
            if disruptive + r.slow_link == 0 {
                return Err(format!(
                    "{field}: every fault weight is 0 (crash, crash_leader, partition, one_way, slow_link, isolate_leader, crash_unsynced)"
                ));
            }
            if self.faults.keep_quorum && max_faulty == 0 && disruptive > 0 {
                return Err(format!(
                    "{field}: crashes and partitions need faults.max_faulty above 0 ({n} servers keep no spare)"
                ));
            }
        }
        Ok(())
    }

    /// The service workload's client count (instances, clients, the configuration manager,
    /// and the reconfig operator when there is one).
    pub fn service_clients(&self) -> u64 {
        self.service_failover.as_ref().map_or(0, |s| s.instances + s.clients + 1 + u64::from(self.reconfig.is_some()))
    }

    fn check_server(&self, field: &str, sid: Sid) -> Result<(), String> {
        if sid == 0 || sid > self.cluster.servers {
            return Err(format!("{field}: server {sid} is not in 1..={}", self.cluster.servers));
        }
        Ok(())
    }

    fn check_action(&self, field: &str, action: &FaultAction) -> Result<(), String> {
        match action {
            FaultAction::Crash { server, .. } | FaultAction::Restart { server } => {
                self.check_server(&format!("{field}.server"), *server)
            }
            FaultAction::CrashLeader { .. } | FaultAction::Heal => Ok(()),
            FaultAction::CrashInstance { instance, .. } => {
                let n = self.service_failover.as_ref().map_or(0, |s| s.instances);
                if *instance >= n {
                    return Err(format!(
                        "{field}.instance: instance {instance} is not in 0..{n} (service_failover.instances)"
                    ));
                }
                Ok(())
            }
            FaultAction::IsolateClient { client, .. }
            | FaultAction::PauseClient { client, .. }
            | FaultAction::SlowClient { client, .. } => {
                let n = self.service_clients();
                if *client >= n {
                    return Err(format!(
                        "{field}.client: client {client} is not in 0..{n} (instances, then clients, then the configuration manager)"
                    ));
                }
                Ok(())
            }
            FaultAction::Partition { groups, .. } => {
                let mut seen = BTreeSet::new();
                for g in groups {
                    for s in g {
                        self.check_server(&format!("{field}.groups"), *s)?;
                        if !seen.insert(*s) {
                            return Err(format!("{field}.groups: server {s} is in two groups"));
                        }
                    }
                }
                if groups.len() < 2 {
                    return Err(format!("{field}.groups: a partition needs at least two groups"));
                }
                Ok(())
            }
            FaultAction::Cut { from, to, .. } => {
                for s in from.iter().chain(to) {
                    self.check_server(&format!("{field}.from/to"), *s)?;
                }
                if from.iter().any(|s| to.contains(s)) {
                    return Err(format!("{field}: a server cannot be cut from itself"));
                }
                Ok(())
            }
            FaultAction::SlowLink { from, to, .. } => {
                self.check_server(&format!("{field}.from"), *from)?;
                self.check_server(&format!("{field}.to"), *to)?;
                if from == to {
                    return Err(format!("{field}: from and to are the same server"));
                }
                Ok(())
            }
        }
    }

    /// What a run of `variant` is expected to break: the scenario's expectation applies to
    /// its own variant only.
    pub fn expected_of(&self, variant: Variant) -> Vec<Invariant> {
        if variant == self.variant {
            self.expect.violation.clone()
        } else {
            Vec::new()
        }
    }

    pub fn max_faulty(&self) -> u64 {
        let n = self.cluster.servers;
        self.faults.max_faulty.unwrap_or(n - (n / 2 + 1))
    }

    pub fn servers(&self) -> impl Iterator<Item = Sid> {
        1..=self.cluster.servers
    }

    /// The ensemble's initial configuration: every server, or the migration's initial one.
    pub fn quorum(&self) -> QuorumVerifier {
        match &self.reconfig {
            Some(r) => r.initial_config(),
            None => QuorumVerifier::majority_of(self.cluster.servers),
        }
    }

    /// The static configuration file server `sid` starts with. A joiner's lists the initial
    /// ensemble and itself (as an observer if the step that adds it adds it as one). Under
    /// the `split-joiners` operator error, the first two joiners list only each other.
    pub fn static_config(&self, sid: Sid, variant: Variant) -> QuorumVerifier {
        let Some(r) = &self.reconfig else { return self.quorum() };
        let initial = r.initial_config();
        if initial.members().contains(sid) {
            return initial;
        }
        let joiners: Vec<Sid> = self.servers().filter(|s| !initial.members().contains(*s)).collect();
        if variant == Variant::SplitJoiners && joiners.len() >= 2 && joiners[..2].contains(&sid) {
            return QuorumVerifier::new(joiners[..2].iter().copied());
        }
        let as_observer = r
            .steps
            .iter()
            .find(|st| {
                st.add.contains(&sid)
                    || st.add_observers.contains(&sid)
                    || st.members.iter().flatten().any(|m| *m == sid)
                    || st.observers.contains(&sid)
            })
            .is_some_and(|st| st.add_observers.contains(&sid) || st.observers.contains(&sid));
        if as_observer {
            QuorumVerifier::with_observers(initial.voters(), initial.observer_set().iter().chain([sid]))
        } else {
            QuorumVerifier::with_observers(initial.voters().chain([sid]), initial.observer_set().iter())
        }
    }

    pub fn timing(&self) -> Timing {
        let t = &self.timing;
        Timing {
            tick_us: t.tick_ms * 1000,
            init_limit: t.init_limit,
            sync_limit: t.sync_limit,
            finalize_wait_us: t.finalize_wait_ms * 1000,
            min_notification_interval_us: t.min_notification_interval_ms * 1000,
            max_notification_interval_us: t.max_notification_interval_ms * 1000,
        }
    }

    /// The durable image server `sid` starts from: its epoch files and a log of its initial
    /// history, beside the empty snapshot every server writes when it first starts.
    pub fn initial_state(&self, sid: Sid) -> DurableState {
        let state = match self.cluster.initial.iter().find(|i| i.server == sid) {
            Some(i) => DurableState::with_history(
                i.accepted_epoch,
                i.current_epoch,
                Zxid(i.last_zxid.epoch << 32 | i.last_zxid.counter),
            ),
            // A server that has started once before the run: its empty `snapshot.0` is on disk
            // (a truly empty data dir would lose that unsynced snapshot in any power loss
            // of its first 30 s, and then refuse to start: `FileTxnSnapLog.restore`).
            None => DurableState::new(0, 0, Vec::new()),
        };
        state.with_prealloc(self.storage.prealloc_kb * 1024)
    }

    pub fn duration_us(&self) -> u64 {
        self.duration_ms * 1000
    }

    pub fn liveness_bound_us(&self) -> u64 {
        self.liveness_bound_ms * 1000
    }

    /// A stable 64-bit hash of the scenario's content, for trace headers.
    pub fn content_hash(&self) -> u64 {
        let mut h = crate::trace::StableHasher::new();
        std::hash::Hash::hash(self, &mut h);
        std::hash::Hasher::finish(&h)
    }

    /// The scenario as TOML text (what `shrink` writes).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serializes")
    }
}

/// toml's errors span several lines with a source excerpt; we want one.
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("{msg} (line {line})")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "duration_ms = 1000\nliveness_bound_ms = 5000\n[cluster]\nservers = 3\n";

    #[test]
    fn minimal_scenario_gets_zookeeper_defaults() {
        let s = Scenario::parse(MINIMAL, "min").unwrap();
        assert_eq!(s.name, "min");
        assert_eq!(s.timing(), Timing::default());
        assert_eq!(s.max_faulty(), 1);
    }

    fn err(text: &str) -> String {
        Scenario::parse(text, "x").unwrap_err()
    }

    #[test]
    fn unknown_field_is_named() {
        let e = err(&format!("{MINIMAL}[timing]\ntick_size = 3\n"));
        assert!(e.starts_with("timing.tick_size: unknown field `tick_size`"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn wrong_type_is_named() {
        let e = err("duration_ms = 1000\nliveness_bound_ms = 5000\n[cluster]\nservers = \"five\"\n");
        assert!(e.starts_with("cluster.servers: invalid type"), "{e}");
    }

    #[test]
    fn quorum_that_cannot_form_is_refused() {
        let e = err("duration_ms = 1000\nliveness_bound_ms = 5000\n[cluster]\nservers = 0\n");
        assert!(e.starts_with("cluster.servers:"), "{e}");
        let e = err(&format!("{MINIMAL}[faults]\nkeep_quorum = true\nmax_faulty = 2\n"));
        assert!(e.starts_with("faults.max_faulty:"), "{e}");
    }

    #[test]
    fn impossible_initial_state_is_refused() {
        let e = err(&format!("{MINIMAL}[[cluster.initial]]\nserver = 2\naccepted_epoch = 1\ncurrent_epoch = 3\n"));
        assert!(e.starts_with("cluster.initial[0]: server 2 could not start"), "{e}");
        let e = err(&format!("{MINIMAL}[[cluster.initial]]\nserver = 9\n"));
        assert!(e.starts_with("cluster.initial[0].server:"), "{e}");
    }

    #[test]
    fn scripted_fault_is_checked() {
        let e = err(&format!("{MINIMAL}[[faults.script]]\nat_ms = 10\naction = \"crash\"\nserver = 4\n"));
        assert!(e.starts_with("faults.script[0].server:"), "{e}");
        let e = err(&format!("{MINIMAL}[[faults.script]]\nat_ms = 10\naction = \"explode\"\n"));
        assert!(e.contains("explode"), "{e}");
        let e = err(&format!("{MINIMAL}[[faults.script]]\nat_ms = 10\naction = \"crash\"\nserver = 1\nbogus = 2\n"));
        assert!(e.contains("bogus"), "{e}");
        let e = err(&format!("{MINIMAL}[[faults.script]]\nat_ms = 9999\naction = \"heal\"\n"));
        assert!(e.starts_with("faults.script[0].at_ms:"), "{e}");
    }

    #[test]
    fn syntax_error_gives_the_line() {
        let e = err("duration_ms = \n");
        assert!(e.contains("(line 1)"), "{e}");
    }

    const SERVICE: &str = "[service_failover]\ninstances = 2\nclients = 3\nsession_timeout_ms = 4000\n";

    #[test]
    fn a_service_workload_without_instances_is_refused_by_field() {
        let e = err(&format!("{MINIMAL}{}", SERVICE.replace("instances = 2", "instances = 0")));
        assert!(e.contains("service_failover.instances: must be at least 1"), "{e}");
    }

    #[test]
    fn client_faults_with_no_weight_are_refused_by_field() {
        let faults =
            "[service_failover.faults]\nmin_interval_ms = 1\nmax_interval_ms = 2\ndown_min_ms = 1\ndown_max_ms = 2\n";
        let e = err(&format!("{MINIMAL}{SERVICE}{faults}"));
        assert!(e.contains("service_failover.faults: every fault weight is 0"), "{e}");
    }

    #[test]
    fn a_scripted_client_fault_must_name_a_client_of_the_workload() {
        let script = "[[faults.script]]\nat_ms = 10\naction = \"crash-instance\"\ninstance = 2\n";
        let e = err(&format!("{MINIMAL}{SERVICE}{script}"));
        assert!(e.contains("faults.script[0].instance: instance 2 is not in 0..2"), "{e}");
        let script = "[[faults.script]]\nat_ms = 10\naction = \"isolate-client\"\nclient = 6\n";
        let e = err(&format!("{MINIMAL}{SERVICE}{script}"));
        assert!(e.contains("faults.script[0].client: client 6 is not in 0..6"), "{e}");
    }

    const MIGRATION: &str = "[reconfig]\ninitial = [1, 2]\nstart_ms = 10\nsteps = [{ add = [3] }]\n";

    #[test]
    fn a_migration_is_checked_by_field() {
        let ok = Scenario::parse(&format!("{MINIMAL}{SERVICE}{MIGRATION}"), "m").unwrap();
        assert_eq!(ok.static_config(3, Variant::None), QuorumVerifier::new([1, 2, 3]), "a joiner lists itself");
        assert_eq!(ok.static_config(1, Variant::None), QuorumVerifier::new([1, 2]));
        assert_eq!(ok.quorum(), QuorumVerifier::new([1, 2]));
        let e = err(&format!("{MINIMAL}{MIGRATION}"));
        assert!(e.starts_with("reconfig: needs a [service_failover] workload"), "{e}");
        let e = err(&format!("{MINIMAL}{SERVICE}{}", MIGRATION.replace("add = [3]", "add = [3], members = [1]")));
        assert!(e.starts_with("reconfig.steps[0]: give either add"), "{e}");
        let e = err(&format!("{MINIMAL}{SERVICE}{}", MIGRATION.replace("add = [3]", "add = [9]")));
        assert!(e.starts_with("reconfig.steps[0]: server 9 is not in 1..=3"), "{e}");
        let e = err(&format!("{MINIMAL}{SERVICE}{}", MIGRATION.replace("add = [3]", "remove = [1, 2]")));
        assert!(e.starts_with("reconfig.steps[0]: leaves no participant"), "{e}");
        let e = err(&format!("{MINIMAL}{SERVICE}{}", MIGRATION.replace("initial = [1, 2]", "initial = []")));
        assert!(e.starts_with("reconfig.initial:"), "{e}");
        let e =
            err(&format!("{MINIMAL}{SERVICE}{}", MIGRATION.replace("start_ms = 10", "start_ms = 10\njoin_ms = 5000")));
        assert!(e.starts_with("reconfig.join_ms:"), "{e}");
        let e = err(&format!(
            "{MINIMAL}{SERVICE}{}",
            MIGRATION.replace("retry_ms", "x").replace("start_ms = 10", "start_ms = 10\nretire = \"later\"")
        ));
        assert!(e.starts_with("reconfig.retire:"), "{e}");
    }

    #[test]
    fn split_joiners_list_only_each_other() {
        let s = Scenario::parse(&format!("{}{SERVICE}{MIGRATION}", MINIMAL.replace("servers = 3", "servers = 4")), "m")
            .unwrap();
        assert_eq!(s.static_config(3, Variant::SplitJoiners), QuorumVerifier::new([3, 4]));
        assert_eq!(s.static_config(3, Variant::None), QuorumVerifier::new([1, 2, 3]));
    }

    #[test]
    fn round_trips_through_toml() {
        let s = Scenario::parse(MINIMAL, "min").unwrap();
        assert_eq!(Scenario::parse(&s.to_toml(), "other").unwrap(), s);
    }
}
