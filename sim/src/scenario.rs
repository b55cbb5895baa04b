//! Scenario files (TOML): cluster, timing, network, disk, faults, duration, expectation.
//!
//! Every field is checked when the file loads, every number against its range (so that
//! no arithmetic on it can wrap); an error names the field (`timing.tick_ms: ...`) on one
//! line and never panics.

use crate::check::invariant::Invariant;
use crate::world::dist::Delay;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;
use zab::api::MembershipChange;
use zab::durable::DurableState;
use zab::quorum::QuorumVerifier;
use zab::timing::Timing;
use zab::{Sid, Variant, Zxid};

pub use crate::bounds::{
    check_range, EPOCH_MAX, INITIAL_LOG_MAX, SERVERS_MAX, SERVICE_CLIENTS_MAX, TICK_MS_MAX, TIME_MS_MAX, TIME_US_MAX,
    WEIGHT_MAX, WORKLOAD_CLIENTS_MAX,
};

/// A span in milliseconds as microseconds; the bounds above keep it exact.
pub fn ms_to_us(ms: u64) -> u64 {
    ms.saturating_mul(1000)
}

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
    /// watches (the run's `workload` module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_failover: Option<ServiceSpec>,
    /// Dynamic reconfiguration: the ensemble's initial membership and the operator's
    /// reconfig steps (the workload's operator runs them while the service works).
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
            let members = step.members.as_deref().unwrap_or_default();
            for (name, list) in [
                ("add", &step.add[..]),
                ("add_observers", &step.add_observers),
                ("remove", &step.remove),
                ("members", members),
                ("observers", &step.observers),
            ] {
                for s in list {
                    scenario.check_server(&format!("{field}.{name}"), *s)?;
                }
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The instances run a coordination recipe instead of registering themselves
    /// (`crate::run::recipe`); absent: the failover recipe above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<RecipeKind>,
    /// With a recipe: how often a leader decides its next action (sent one interval
    /// later), and how long a lock holder waits before it asks for the lock again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_interval_ms: Option<u64>,
    /// With a recipe: a holder must notice that its leadership ended within the session
    /// timeout plus this (RecipeNotice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_bound_ms: Option<u64>,
}

/// Hashed field by field, the recipe's fields only when given, so that a scenario without
/// a recipe keeps the content hash it had before recipes existed.
impl std::hash::Hash for ServiceSpec {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.instances.hash(h);
        self.clients.hash(h);
        self.session_timeout_ms.hash(h);
        self.config_min_interval_ms.hash(h);
        self.config_max_interval_ms.hash(h);
        self.beat_interval_ms.hash(h);
        self.faults.hash(h);
        if self.recipe.is_some() || self.work_interval_ms.is_some() || self.notice_bound_ms.is_some() {
            (self.recipe, self.work_interval_ms, self.notice_bound_ms).hash(h);
        }
    }
}

/// A ZooKeeper recipe the service's instances run (ZooKeeper's "Recipes and Solutions"
/// page; Curator's LeaderLatch and InterProcessMutex).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecipeKind {
    /// Leader election on ephemeral-sequential znodes; the leader updates `/config` with a
    /// plain setData (version -1).
    LeaderUnfenced,
    /// The same election; the leader's setData carries the version of `/config` it last
    /// wrote or read as a fencing token.
    LeaderFenced,
    /// A lock on ephemeral-sequential znodes; the holder's critical action is a setData
    /// of `/work` fenced by its version, then it releases the lock.
    LockFenced,
    /// What people write first: every instance creates the same ephemeral `/config`, the
    /// losers ignore NodeExists.
    LeaderNaive,
}

impl RecipeKind {
    pub fn name(self) -> &'static str {
        match self {
            RecipeKind::LeaderUnfenced => "leader-unfenced",
            RecipeKind::LeaderFenced => "leader-fenced",
            RecipeKind::LockFenced => "lock-fenced",
            RecipeKind::LeaderNaive => "leader-naive",
        }
    }

    /// Where the recipe's claims live (children of the path, or for the naive recipe the
    /// path itself), whether the claim is that path itself, and the path its actions write.
    pub fn paths(self) -> (&'static str, bool, &'static str) {
        match self {
            RecipeKind::LeaderUnfenced | RecipeKind::LeaderFenced => ("/election", false, "/config"),
            RecipeKind::LockFenced => ("/lock", false, "/work"),
            RecipeKind::LeaderNaive => ("/config", true, "/config"),
        }
    }

    /// The action carries a fencing token (RecipeFencing is checked).
    pub fn is_fenced(self) -> bool {
        matches!(self, RecipeKind::LeaderFenced | RecipeKind::LockFenced)
    }
}

/// Default work interval of a recipe.
pub const RECIPE_WORK_INTERVAL_MS: u64 = 200;
/// Default notice bound of a recipe.
pub const RECIPE_NOTICE_BOUND_MS: u64 = 10_000;

impl ServiceSpec {
    pub fn work_interval_ms(&self) -> u64 {
        self.work_interval_ms.unwrap_or(RECIPE_WORK_INTERVAL_MS)
    }

    pub fn notice_bound_ms(&self) -> u64 {
        self.notice_bound_ms.unwrap_or(RECIPE_NOTICE_BOUND_MS)
    }
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
    /// What [`Scenario::bounds`] cannot say field by field.
    fn validate(&self) -> Result<(), String> {
        let f = "service_failover";
        if self.instances + self.clients > SERVICE_CLIENTS_MAX {
            return Err(format!("{f}: at most {SERVICE_CLIENTS_MAX} instances and clients in all"));
        }
        if self.config_min_interval_ms > self.config_max_interval_ms {
            return Err(format!("{f}.config_min_interval_ms: must be at most config_max_interval_ms"));
        }
        if self.recipe.is_none() {
            for (name, v) in [("work_interval_ms", self.work_interval_ms), ("notice_bound_ms", self.notice_bound_ms)] {
                if v.is_some() {
                    return Err(format!("{f}.{name}: only with a recipe (service_failover.recipe)"));
                }
            }
        } else if self.beat_interval_ms > 0 {
            return Err(format!("{f}.beat_interval_ms: not with a recipe (the instances run the recipe)"));
        }
        if let Some(r) = &self.faults {
            if r.min_interval_ms > r.max_interval_ms {
                return Err(format!("{f}.faults.min_interval_ms: must be at most max_interval_ms"));
            }
            if r.down_min_ms > r.down_max_ms {
                return Err(format!("{f}.faults.down_min_ms: must be at most down_max_ms"));
            }
            if r.weights().iter().all(|(_, w)| *w == 0) {
                return Err(format!(
                    "{f}.faults: every fault weight is 0 ({})",
                    r.weights().map(|(name, _)| name).join(", ")
                ));
            }
        }
        Ok(())
    }
}

impl ClientFaults {
    /// The weights of the fault kinds, by field name, in the order the draw uses.
    pub fn weights(&self) -> [(&'static str, u64); 4] {
        [
            ("crash_instance", self.crash_instance),
            ("isolate_client", self.isolate_client),
            ("pause_client", self.pause_client),
            ("slow_client", self.slow_client),
        ]
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
    /// The leader's `CommitProcessor` latency: how long a txn it committed waits in
    /// `toBeApplied` before it is applied; 0 (the default) applies it as it commits.
    pub commit_processor_us: u64,
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
            commit_processor_us: t.commit_processor_us,
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

/// One scripted fault. It is read through `ScriptedFaultKeys`, so that an error names
/// the key (serde reports any error inside a flattened, tagged enum at the table).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ScriptedFaultKeys")]
pub struct ScriptedFault {
    pub at_ms: u64,
    #[serde(flatten)]
    pub action: FaultAction,
}

/// A scripted fault as written: every key some action takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptedFaultKeys {
    at_ms: u64,
    action: ActionName,
    server: Option<Sid>,
    for_ms: Option<u64>,
    groups: Option<Vec<Vec<Sid>>>,
    from: Option<OneOrList>,
    to: Option<OneOrList>,
    extra_ms: Option<u64>,
    instance: Option<u64>,
    client: Option<u64>,
}

/// `action = "..."`: the names of [`FaultAction`]'s variants.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ActionName {
    Crash,
    CrashLeader,
    Restart,
    Partition,
    Cut,
    Heal,
    SlowLink,
    CrashInstance,
    IsolateClient,
    PauseClient,
    SlowClient,
}

/// A server (`slow-link`'s `from`, `to`) or a list of them (`cut`'s).
#[derive(Deserialize)]
#[serde(untagged, expecting = "expected a server (slow-link) or a list of servers (cut)")]
enum OneOrList {
    One(Sid),
    List(Vec<Sid>),
}

impl TryFrom<ScriptedFaultKeys> for ScriptedFault {
    /// `.key: problem`: [`Scenario::parse`] puts the key after the table's path.
    type Error = String;

    fn try_from(k: ScriptedFaultKeys) -> Result<ScriptedFault, String> {
        k.refuse_keys_not_taken()?;
        let at_ms = k.at_ms;
        Ok(ScriptedFault { at_ms, action: k.into_action()? })
    }
}

impl ActionName {
    /// The keys besides `at_ms` and `action` that the action takes.
    fn keys(self) -> &'static [&'static str] {
        match self {
            ActionName::Crash => &["server", "for_ms"],
            ActionName::CrashLeader => &["for_ms"],
            ActionName::Restart => &["server"],
            ActionName::Partition => &["groups", "for_ms"],
            ActionName::Cut => &["from", "to", "for_ms"],
            ActionName::Heal => &[],
            ActionName::SlowLink => &["from", "to", "extra_ms", "for_ms"],
            ActionName::CrashInstance => &["instance", "for_ms"],
            ActionName::IsolateClient => &["client", "for_ms"],
            ActionName::PauseClient => &["client", "for_ms"],
            ActionName::SlowClient => &["client", "extra_ms", "for_ms"],
        }
    }

    /// `slow-link`: the name as written in a scenario.
    fn kebab(self) -> String {
        kebab(&format!("{self:?}"))
    }
}

impl ScriptedFaultKeys {
    /// A key given that the action does not take is an error naming the keys it takes
    /// (serde alone would accept it and silently ignore it).
    fn refuse_keys_not_taken(&self) -> Result<(), String> {
        let given = [
            ("server", self.server.is_some()),
            ("for_ms", self.for_ms.is_some()),
            ("groups", self.groups.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("extra_ms", self.extra_ms.is_some()),
            ("instance", self.instance.is_some()),
            ("client", self.client.is_some()),
        ];
        let takes = self.action.keys();
        if let Some((key, _)) = given.iter().find(|(key, set)| *set && !takes.contains(key)) {
            let keys = if takes.is_empty() { "no other key".to_string() } else { takes.join(", ") };
            return Err(format!(".{key}: action `{}` takes no {key} (it takes {keys})", self.action.kebab()));
        }
        Ok(())
    }

    /// The action from its keys: a key it needs that is missing, or a server where a list
    /// belongs (or the reverse), is an error naming the key.
    fn into_action(self) -> Result<FaultAction, String> {
        let ScriptedFaultKeys { action, server, for_ms, groups, from, to, extra_ms, instance, client, .. } = self;
        let missing = |key: &str| format!(".{key}: missing (action `{}` needs it)", action.kebab());
        let list = |key: &str, v: Option<OneOrList>| match v {
            Some(OneOrList::List(l)) => Ok(l),
            Some(OneOrList::One(_)) => Err(format!(".{key}: a list of servers for action `cut`")),
            None => Err(missing(key)),
        };
        let one = |key: &str, v: Option<OneOrList>| match v {
            Some(OneOrList::One(s)) => Ok(s),
            Some(OneOrList::List(_)) => Err(format!(".{key}: one server for action `slow-link`")),
            None => Err(missing(key)),
        };
        Ok(match action {
            ActionName::Crash => FaultAction::Crash { server: server.ok_or_else(|| missing("server"))?, for_ms },
            ActionName::CrashLeader => FaultAction::CrashLeader { for_ms },
            ActionName::Restart => FaultAction::Restart { server: server.ok_or_else(|| missing("server"))? },
            ActionName::Partition => {
                FaultAction::Partition { groups: groups.ok_or_else(|| missing("groups"))?, for_ms }
            }
            ActionName::Cut => FaultAction::Cut { from: list("from", from)?, to: list("to", to)?, for_ms },
            ActionName::Heal => FaultAction::Heal,
            ActionName::SlowLink => FaultAction::SlowLink {
                from: one("from", from)?,
                to: one("to", to)?,
                extra_ms: extra_ms.ok_or_else(|| missing("extra_ms"))?,
                for_ms: for_ms.ok_or_else(|| missing("for_ms"))?,
            },
            ActionName::CrashInstance => {
                FaultAction::CrashInstance { instance: instance.ok_or_else(|| missing("instance"))?, for_ms }
            }
            ActionName::IsolateClient => {
                FaultAction::IsolateClient { client: client.ok_or_else(|| missing("client"))?, for_ms }
            }
            ActionName::PauseClient => FaultAction::PauseClient {
                client: client.ok_or_else(|| missing("client"))?,
                for_ms: for_ms.ok_or_else(|| missing("for_ms"))?,
            },
            ActionName::SlowClient => FaultAction::SlowClient {
                client: client.ok_or_else(|| missing("client"))?,
                extra_ms: extra_ms.ok_or_else(|| missing("extra_ms"))?,
                for_ms: for_ms.ok_or_else(|| missing("for_ms"))?,
            },
        })
    }
}

/// `SlowLink` -> `slow-link`.
fn kebab(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
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

impl RandomFaults {
    /// The weights of the fault kinds, by field name, in the order `run::faults::draw`
    /// uses.
    pub fn weights(&self) -> [(&'static str, u64); 9] {
        [
            ("crash", self.crash),
            ("crash_leader", self.crash_leader),
            ("partition", self.partition),
            ("one_way", self.one_way),
            ("slow_link", self.slow_link),
            ("isolate_leader", self.isolate_leader),
            ("crash_unsynced", self.crash_unsynced),
            ("crash_joiner", self.crash_joiner),
            ("partition_old_new", self.partition_old_new),
        ]
    }
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

/// A numeric field's path in the file, its value, and the range it must lie in.
type Bound = (String, u64, RangeInclusive<u64>);

/// The bounds of one scenario, collected section by section in file order.
#[derive(Default)]
struct Bounds(Vec<Bound>);

impl Bounds {
    fn add(&mut self, field: impl Into<String>, value: u64, range: RangeInclusive<u64>) {
        self.0.push((field.into(), value, range));
    }
}

/// A span of simulated time in ms, 0 allowed.
const SPAN_MS: RangeInclusive<u64> = 0..=TIME_MS_MAX;
/// A span of simulated time in ms that must not be 0 (an interval, a timeout).
const POSITIVE_MS: RangeInclusive<u64> = 1..=TIME_MS_MAX;

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
        let de = toml::Deserializer::parse(text).map_err(|e| elide_long_words(&one_line_toml_error(text, &e)))?;
        let mut scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = one_line_toml_error(text, &inner);
            // A message `.key: ...` names a key below the path (a scripted fault's).
            let sep = if msg.starts_with('.') { "" } else { ": " };
            elide_long_words(&if path.is_empty() || path == "." { msg } else { format!("{path}{sep}{msg}") })
        })?;
        if scenario.name.is_empty() {
            scenario.name = default_name.to_string();
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// Every unsigned numeric field with the range it must lie in, in file order (the
    /// sid lists and fault targets are checked against the ensemble by [`Self::validate`]).
    /// Checked first, so that nothing later (ms to us, sums of weights, `now + span`) can
    /// wrap. A new field belongs here, in its section's helper: the test
    /// `every_numeric_field_is_bounded` sets each field of a full scenario out of range and
    /// fails for one that loads.
    fn bounds(&self) -> Vec<Bound> {
        let mut b = Bounds::default();
        b.add("duration_ms", self.duration_ms, SPAN_MS);
        b.add("liveness_bound_ms", self.liveness_bound_ms, POSITIVE_MS);
        self.cluster_bounds(&mut b);
        self.timing_bounds(&mut b);
        b.add("network.detect_ms", self.network.detect_ms, SPAN_MS);
        b.add("network.election_window", u64::from(self.network.election_window), 1..=u64::from(u32::MAX));
        b.add("disk.writeback_ms", self.disk.writeback_ms, SPAN_MS);
        self.storage_bounds(&mut b);
        b.add("supervisor.restart_after_ms", self.supervisor.restart_after_ms, SPAN_MS);
        self.fault_bounds(&mut b);
        if let Some(w) = &self.workload {
            b.add("workload.clients", w.clients, 1..=WORKLOAD_CLIENTS_MAX);
            b.add("workload.min_interval_us", w.min_interval_us, 1..=TIME_US_MAX);
            b.add("workload.max_interval_us", w.max_interval_us, 1..=TIME_US_MAX);
        }
        self.service_failover_bounds(&mut b);
        self.reconfig_bounds(&mut b);
        b.0
    }

    /// `[cluster]`: the server count, and each initial server's epochs and last zxid.
    fn cluster_bounds(&self, b: &mut Bounds) {
        b.add("cluster.servers", self.cluster.servers, 1..=SERVERS_MAX);
        for (i, init) in self.cluster.initial.iter().enumerate() {
            let f = format!("cluster.initial[{i}]");
            b.add(format!("{f}.accepted_epoch"), init.accepted_epoch, 0..=EPOCH_MAX);
            b.add(format!("{f}.current_epoch"), init.current_epoch, 0..=EPOCH_MAX);
            b.add(format!("{f}.last_zxid.epoch"), init.last_zxid.epoch, 0..=EPOCH_MAX);
            b.add(format!("{f}.last_zxid.counter"), init.last_zxid.counter, 0..=INITIAL_LOG_MAX);
        }
    }

    /// `[timing]`: the tick, the limits counted in ticks, and election waits.
    fn timing_bounds(&self, b: &mut Bounds) {
        let t = &self.timing;
        b.add("timing.tick_ms", t.tick_ms, 2..=TICK_MS_MAX);
        // initLimit and syncLimit count ticks: the timeouts they make stay spans too.
        let ticks_max = TIME_MS_MAX / t.tick_ms.clamp(2, TICK_MS_MAX);
        b.add("timing.init_limit", t.init_limit, 1..=ticks_max);
        b.add("timing.sync_limit", t.sync_limit, 1..=ticks_max);
        b.add("timing.finalize_wait_ms", t.finalize_wait_ms, POSITIVE_MS);
        b.add("timing.min_notification_interval_ms", t.min_notification_interval_ms, POSITIVE_MS);
        b.add("timing.max_notification_interval_ms", t.max_notification_interval_ms, POSITIVE_MS);
        b.add("timing.commit_processor_us", t.commit_processor_us, 0..=TIME_US_MAX);
    }

    /// `[storage]`: snapshot and preallocation sizes, and the committed log kept in memory.
    fn storage_bounds(&self, b: &mut Bounds) {
        let st = &self.storage;
        b.add("storage.snap_count", st.snap_count, 2..=1 << 40);
        b.add("storage.prealloc_kb", st.prealloc_kb, 0..=1 << 30);
        // `ZKDatabase` raises a smaller commitLogCount to the default.
        b.add("storage.commit_log_count", st.commit_log_count, 500..=1 << 20);
    }

    /// `[faults]`: the faulty-server budget, each scripted fault's times, and the random
    /// faults' pace, lengths and weights.
    fn fault_bounds(&self, b: &mut Bounds) {
        b.add("faults.max_faulty", self.faults.max_faulty.unwrap_or(0), 0..=self.cluster.servers);
        for (i, f) in self.faults.script.iter().enumerate() {
            let field = format!("faults.script[{i}]");
            b.add(format!("{field}.at_ms"), f.at_ms, SPAN_MS);
            let (extra_ms, for_ms) = match &f.action {
                FaultAction::Crash { for_ms, .. }
                | FaultAction::CrashLeader { for_ms }
                | FaultAction::Partition { for_ms, .. }
                | FaultAction::Cut { for_ms, .. }
                | FaultAction::CrashInstance { for_ms, .. }
                | FaultAction::IsolateClient { for_ms, .. } => (None, *for_ms),
                FaultAction::Restart { .. } | FaultAction::Heal => (None, None),
                FaultAction::PauseClient { for_ms, .. } => (None, Some(*for_ms)),
                FaultAction::SlowLink { extra_ms, for_ms, .. } | FaultAction::SlowClient { extra_ms, for_ms, .. } => {
                    (Some(*extra_ms), Some(*for_ms))
                }
            };
            if let Some(v) = extra_ms {
                b.add(format!("{field}.extra_ms"), v, SPAN_MS);
            }
            if let Some(v) = for_ms {
                b.add(format!("{field}.for_ms"), v, SPAN_MS);
            }
        }
        if let Some(r) = &self.faults.random {
            let spans = [r.min_interval_ms, r.max_interval_ms, r.down_min_ms, r.down_max_ms, r.slow_extra_ms];
            fault_mix_bounds(b, "faults.random", spans, r.weights());
        }
    }

    /// `[service_failover]` and its `[service_failover.faults]`.
    fn service_failover_bounds(&self, b: &mut Bounds) {
        let Some(sv) = &self.service_failover else { return };
        let f = "service_failover";
        b.add(format!("{f}.instances"), sv.instances, 1..=SERVICE_CLIENTS_MAX);
        b.add(format!("{f}.clients"), sv.clients, 1..=SERVICE_CLIENTS_MAX);
        b.add(format!("{f}.session_timeout_ms"), u64::from(sv.session_timeout_ms), 1..=u64::from(u32::MAX));
        b.add(format!("{f}.config_min_interval_ms"), sv.config_min_interval_ms, POSITIVE_MS);
        b.add(format!("{f}.config_max_interval_ms"), sv.config_max_interval_ms, POSITIVE_MS);
        b.add(format!("{f}.beat_interval_ms"), sv.beat_interval_ms, SPAN_MS);
        if let Some(v) = sv.work_interval_ms {
            b.add(format!("{f}.work_interval_ms"), v, POSITIVE_MS);
        }
        if let Some(v) = sv.notice_bound_ms {
            b.add(format!("{f}.notice_bound_ms"), v, SPAN_MS);
        }
        if let Some(r) = &sv.faults {
            let spans = [r.min_interval_ms, r.max_interval_ms, r.down_min_ms, r.down_max_ms, r.slow_extra_ms];
            fault_mix_bounds(b, "service_failover.faults", spans, r.weights());
        }
    }

    /// `[reconfig]`: when the migration starts, its steps' spacing and its retries.
    fn reconfig_bounds(&self, b: &mut Bounds) {
        let Some(r) = &self.reconfig else { return };
        if let Some(v) = r.join_ms {
            b.add("reconfig.join_ms", v, SPAN_MS);
        }
        b.add("reconfig.start_ms", r.start_ms, SPAN_MS);
        b.add("reconfig.interval_ms", r.interval_ms, SPAN_MS);
        b.add("reconfig.retry_ms", r.retry_ms, POSITIVE_MS);
    }

    /// Semantic checks: values that parse but cannot work. The first problem is reported,
    /// in file order after the numeric bounds.
    pub fn validate(&self) -> Result<(), String> {
        if self.cluster.servers == 0 {
            return Err("cluster.servers: 0 servers can never form a quorum".into());
        }
        for (field, value, range) in self.bounds() {
            check_range(&field, value, range)?;
        }
        self.network.delay.validate("network.delay")?;
        self.disk.fsync.validate("disk.fsync")?;
        self.validate_initial()?;
        let t = &self.timing;
        if t.max_notification_interval_ms < t.min_notification_interval_ms {
            return Err(format!(
                "timing.max_notification_interval_ms: {} is below min_notification_interval_ms ({})",
                t.max_notification_interval_ms, t.min_notification_interval_ms
            ));
        }
        if self.storage.snapshot_size_factor_pct > 100 {
            return Err(format!(
                "storage.snapshot_size_factor_pct: {} is more than 100",
                self.storage.snapshot_size_factor_pct
            ));
        }
        self.validate_fault_script()?;
        if let Some(w) = &self.workload {
            if w.min_interval_us > w.max_interval_us {
                return Err("workload.min_interval_us: must be at most max_interval_us".into());
            }
        }
        if let Some(sv) = &self.service_failover {
            sv.validate()?;
        }
        if let Some(r) = &self.reconfig {
            r.validate(self)?;
        }
        self.validate_random_faults()
    }

    /// `cluster.initial`: each server of the ensemble at most once, with a log that names
    /// a txn and a durable state ZooKeeper would start from.
    fn validate_initial(&self) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for (i, init) in self.cluster.initial.iter().enumerate() {
            let field = format!("cluster.initial[{i}]");
            self.check_server(&format!("{field}.server"), init.server)?;
            if !seen.insert(init.server) {
                return Err(format!("{field}.server: server {} is listed twice", init.server));
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
        Ok(())
    }

    /// The faulty-server budget leaves a quorum (with `keep_quorum`), and each scripted
    /// fault falls in the fault phase and names what exists.
    fn validate_fault_script(&self) -> Result<(), String> {
        let n = self.cluster.servers;
        let quorum = n / 2 + 1;
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
        Ok(())
    }

    /// `[faults.random]`: not with a swarm (which draws its own), ordered ranges, some
    /// weight, and room for a crash or partition when any is weighted.
    fn validate_random_faults(&self) -> Result<(), String> {
        if self.faults.swarm && self.faults.random.is_some() {
            return Err("faults.swarm: a swarm draws its own random faults; remove [faults.random]".into());
        }
        let Some(r) = &self.faults.random else { return Ok(()) };
        let field = "faults.random";
        if r.min_interval_ms > r.max_interval_ms {
            return Err(format!("{field}.min_interval_ms: must be at most max_interval_ms"));
        }
        if r.down_min_ms > r.down_max_ms {
            return Err(format!("{field}.down_min_ms: must be at most down_max_ms"));
        }
        let disruptive: u64 = r.weights().iter().filter(|(name, _)| *name != "slow_link").map(|(_, w)| w).sum();
        if disruptive + r.slow_link == 0 {
            return Err(format!("{field}: every fault weight is 0 ({})", r.weights().map(|(name, _)| name).join(", ")));
        }
        if self.faults.keep_quorum && self.max_faulty() == 0 && disruptive > 0 {
            let n = self.cluster.servers;
            return Err(format!(
                "{field}: crashes and partitions need faults.max_faulty above 0 ({n} servers keep no spare)"
            ));
        }
        Ok(())
    }

    /// The recipe checker, when the service runs a recipe.
    pub fn recipe_checker(&self) -> Option<crate::check::recipe_checker::RecipeChecker> {
        let sv = self.service_failover.as_ref()?;
        let kind = sv.recipe?;
        let (claims, naive, action) = kind.paths();
        let limit_us = ms_to_us(u64::from(sv.session_timeout_ms)).saturating_add(ms_to_us(sv.notice_bound_ms()));
        Some(crate::check::recipe_checker::RecipeChecker::new(claims, naive, action, kind.is_fenced(), limit_us))
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
                for (name, list) in [("from", from), ("to", to)] {
                    for s in list {
                        self.check_server(&format!("{field}.{name}"), *s)?;
                    }
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
            tick_us: ms_to_us(t.tick_ms),
            init_limit: t.init_limit,
            sync_limit: t.sync_limit,
            finalize_wait_us: ms_to_us(t.finalize_wait_ms),
            min_notification_interval_us: ms_to_us(t.min_notification_interval_ms),
            max_notification_interval_us: ms_to_us(t.max_notification_interval_ms),
            commit_processor_us: t.commit_processor_us,
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
        ms_to_us(self.duration_ms)
    }

    pub fn liveness_bound_us(&self) -> u64 {
        ms_to_us(self.liveness_bound_ms)
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

/// The longest word an error message quotes whole.
const WORD_MAX: usize = 80;

/// The longest line an error message keeps whole.
const LINE_MAX: usize = 300;

/// An error message with a long quoted value (a 100 KB string, key or number) cut to its
/// start and length, line by line, so that the error stays one readable line.
pub fn elide_long_words(msg: &str) -> String {
    let line = |l: &str| {
        let words: Vec<String> = l
            .split(' ')
            .map(|w| {
                if w.chars().count() <= WORD_MAX {
                    w.to_string()
                } else {
                    let n = w.chars().count();
                    let head: String = w.chars().take(WORD_MAX / 2).collect();
                    // The last two characters keep a closing quote and comma.
                    let tail: String = w.chars().skip(n - 2).collect();
                    format!("{head}[... {} bytes]{tail}", w.len())
                }
            })
            .collect();
        let l = words.join(" ");
        let n = l.chars().count();
        if n <= LINE_MAX {
            return l;
        }
        let head: String = l.chars().take(LINE_MAX * 2 / 3).collect();
        let tail: String = l.chars().skip(n - LINE_MAX / 4).collect();
        format!("{head} ... ({} bytes) ... {tail}", l.len())
    };
    msg.split('\n').map(line).collect::<Vec<_>>().join("\n")
}

/// A random fault mix's ranges, the servers' (`faults.random`) or the clients'
/// (`service_failover.faults`): the same fields, checked in the same order.
/// `spans`: min and max interval, min and max down time, then the slow link's extra delay.
fn fault_mix_bounds<const N: usize>(b: &mut Bounds, f: &str, spans: [u64; 5], weights: [(&str, u64); N]) {
    let [min_interval, max_interval, down_min, down_max, slow_extra] = spans;
    b.add(format!("{f}.min_interval_ms"), min_interval, POSITIVE_MS);
    b.add(format!("{f}.max_interval_ms"), max_interval, POSITIVE_MS);
    b.add(format!("{f}.down_min_ms"), down_min, POSITIVE_MS);
    b.add(format!("{f}.down_max_ms"), down_max, POSITIVE_MS);
    for (name, w) in weights {
        b.add(format!("{f}.{name}"), w, 0..=WEIGHT_MAX);
    }
    b.add(format!("{f}.slow_extra_ms"), slow_extra, SPAN_MS);
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
        assert!(e.contains("service_failover.instances: 0 is outside 1..=1000"), "{e}");
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

    #[test]
    fn a_recipe_and_its_fields_are_checked_by_field() {
        let recipe = "recipe = \"lock-fenced\"\nwork_interval_ms = 50\n";
        let ok = Scenario::parse(&format!("{MINIMAL}{SERVICE}{recipe}"), "r").unwrap();
        let sv = ok.service_failover.as_ref().unwrap();
        assert_eq!(
            (sv.recipe, sv.work_interval_ms(), sv.notice_bound_ms()),
            (Some(RecipeKind::LockFenced), 50, 10_000)
        );
        assert!(ok.recipe_checker().is_some());
        let e = err(&format!("{MINIMAL}{SERVICE}recipe = \"mutex\"\n"));
        assert!(e.contains("service_failover.recipe: unknown variant `mutex`"), "{e}");
        let e = err(&format!("{MINIMAL}{SERVICE}work_interval_ms = 50\n"));
        assert!(e.contains("service_failover.work_interval_ms: only with a recipe"), "{e}");
        let e = err(&format!("{MINIMAL}{SERVICE}{}", recipe.replace("50", "0")));
        assert!(e.contains("service_failover.work_interval_ms: 0 is outside 1..="), "{e}");
        let e = err(&format!("{MINIMAL}{SERVICE}{recipe}beat_interval_ms = 100\n"));
        assert!(e.contains("service_failover.beat_interval_ms: not with a recipe"), "{e}");
    }

    /// A scenario without a recipe hashes as it did before recipes existed: the recipe's
    /// fields count only when given.
    #[test]
    fn a_recipe_moves_the_content_hash_only_when_given() {
        let plain = Scenario::parse(&format!("{MINIMAL}{SERVICE}"), "r").unwrap();
        let with = Scenario::parse(&format!("{MINIMAL}{SERVICE}recipe = \"leader-fenced\"\n"), "r").unwrap();
        assert_ne!(plain.content_hash(), with.content_hash());
        assert!(plain.recipe_checker().is_none());
        assert!(!plain.to_toml().contains("recipe"), "absent fields are not written");
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
        assert!(e.starts_with("reconfig.steps[0].add: server 9 is not in 1..=3"), "{e}");
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

    /// A scenario that sets every field, every fault action included.
    const FULL: &str = r#"
duration_ms = 10000
liveness_bound_ms = 60000
[cluster]
servers = 6
[[cluster.initial]]
server = 1
accepted_epoch = 2
current_epoch = 2
last_zxid = { epoch = 1, counter = 10 }
[timing]
tick_ms = 2000
init_limit = 10
sync_limit = 5
finalize_wait_ms = 200
min_notification_interval_ms = 200
max_notification_interval_ms = 60000
[network]
delay = { dist = "long-tail", min_us = 200, scale_us = 1000, max_us = 20000 }
detect_ms = 200
election_window = 64
[disk]
fsync = { dist = "uniform", min_us = 500, max_us = 5000 }
writeback_ms = 30000
[storage]
snap_count = 100000
prealloc_kb = 65536
commit_log_count = 500
snapshot_size_factor_pct = 33
[supervisor]
restart_after_ms = 1000
[faults]
max_faulty = 2
[[faults.script]]
at_ms = 100
action = "crash"
server = 2
for_ms = 1000
[[faults.script]]
at_ms = 200
action = "crash-leader"
for_ms = 1000
[[faults.script]]
at_ms = 300
action = "restart"
server = 2
[[faults.script]]
at_ms = 400
action = "partition"
groups = [[1, 2], [3]]
for_ms = 1000
[[faults.script]]
at_ms = 500
action = "cut"
from = [1]
to = [2, 3]
for_ms = 1000
[[faults.script]]
at_ms = 600
action = "slow-link"
from = 1
to = 2
extra_ms = 50
for_ms = 1000
[[faults.script]]
at_ms = 700
action = "crash-instance"
instance = 1
for_ms = 1000
[[faults.script]]
at_ms = 800
action = "isolate-client"
client = 2
for_ms = 1000
[[faults.script]]
at_ms = 900
action = "pause-client"
client = 2
for_ms = 1000
[[faults.script]]
at_ms = 1000
action = "slow-client"
client = 3
extra_ms = 50
for_ms = 1000
[faults.random]
min_interval_ms = 1000
max_interval_ms = 2000
down_min_ms = 100
down_max_ms = 1000
crash = 1
crash_leader = 1
partition = 1
one_way = 1
slow_link = 1
slow_extra_ms = 300
isolate_leader = 1
crash_unsynced = 1
crash_joiner = 1
partition_old_new = 1
[workload]
clients = 3
min_interval_us = 1000
max_interval_us = 2000
[service_failover]
instances = 2
clients = 3
session_timeout_ms = 4000
config_min_interval_ms = 500
config_max_interval_ms = 1500
beat_interval_ms = 100
[service_failover.faults]
min_interval_ms = 500
max_interval_ms = 1500
down_min_ms = 100
down_max_ms = 1000
crash_instance = 1
isolate_client = 1
pause_client = 1
slow_client = 1
slow_extra_ms = 200
[reconfig]
initial = [1, 2, 3]
initial_observers = [4]
join_ms = 1000
start_ms = 2000
interval_ms = 1000
retry_ms = 500
steps = [
    { add = [5], add_observers = [6], remove = [1] },
    { remove_leader = true },
    { members = [2, 3, 5], observers = [4] },
]
"#;

    /// Every integer of `v` with its path as errors name it (`faults.script[0].for_ms`).
    fn integer_leaves(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    integer_leaves(x, &p, out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    integer_leaves(x, &format!("{path}[{i}]"), out);
                }
            }
            serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => out.push(path.to_string()),
            _ => {}
        }
    }

    /// `FULL` with the integer at `path` replaced by `value` (any u64, beyond what TOML's
    /// own integers or the field's type hold).
    fn full_with(path: &str, value: u64) -> String {
        const MARK: u64 = 3_141_592_653;
        let mut v = serde_json::to_value(Scenario::parse(FULL, "full").unwrap()).unwrap();
        let mut at = &mut v;
        for part in path.split('.') {
            let (key, indices) = part.split_once('[').map_or((part, ""), |(k, i)| (k, i));
            at = &mut at[key];
            for i in indices.split('[').filter(|i| !i.is_empty()) {
                at = &mut at[i.trim_end_matches(']').parse::<usize>().unwrap()];
            }
        }
        *at = serde_json::json!(MARK);
        let marked: Scenario = serde_json::from_value(v).unwrap();
        let text = marked.to_toml();
        assert_eq!(text.matches(&MARK.to_string()).count(), 1, "{path}");
        text.replace(&MARK.to_string(), &value.to_string())
    }

    #[test]
    fn every_numeric_field_is_bounded() {
        let mut leaves = Vec::new();
        integer_leaves(&serde_json::to_value(Scenario::parse(FULL, "full").unwrap()).unwrap(), "", &mut leaves);
        assert!(leaves.len() > 90, "{leaves:?}");
        for path in &leaves {
            // A list of servers is checked as a whole: `reconfig.steps[0].add: server 9 ...`.
            let mut field = path.as_str();
            while field.ends_with(']') {
                field = &field[..field.rfind('[').unwrap()];
            }
            let mut values = vec![1 << 63, u64::MAX];
            if field.ends_with("_ms") {
                values.push(TIME_MS_MAX + 1);
            }
            if field.ends_with("_us") {
                values.push(TIME_US_MAX + 1);
            }
            for value in values {
                let e = Scenario::parse(&full_with(path, value), "x").expect_err(&format!("{path} = {value} loads"));
                assert!(e.starts_with(&format!("{field}: ")), "{path} = {value}: {e}");
                assert!(!e.contains('\n') && e.len() < 300, "{e}");
            }
        }
    }

    /// The examples of the issue on robustness, each once panicking, wrapping or
    /// allocating without bound: refused with the field named.
    #[test]
    fn values_that_once_wrapped_are_refused_by_field() {
        let service = "[service_failover]\ninstances = 1\nclients = 1\nsession_timeout_ms = 4000\n";
        let cases = [
            ("[timing]\ntick_ms = 18446744073709551\n".to_string(), "timing.tick_ms: "),
            ("[timing]\nfinalize_wait_ms = 18446744073709551\n".into(), "timing.finalize_wait_ms: "),
            ("[timing]\ncommit_processor_us = 18446744073709551615\n".into(), "timing.commit_processor_us: "),
            ("[network]\ndetect_ms = 18446744073709551\n".into(), "network.detect_ms: "),
            (
                "[[faults.script]]\nat_ms = 1\naction = \"crash\"\nserver = 1\nfor_ms = 18446744073709551\n".into(),
                "faults.script[0].for_ms: ",
            ),
            (
                "[faults.random]\nmin_interval_ms = 9223372036854775808\nmax_interval_ms = 9223372036854775808\ndown_min_ms = 1\ndown_max_ms = 2\ncrash = 1\n".into(),
                "faults.random.min_interval_ms: ",
            ),
            (
                "[faults.random]\nmin_interval_ms = 1\nmax_interval_ms = 2\ndown_min_ms = 1\ndown_max_ms = 2\ncrash = 9223372036854775808\npartition = 9223372036854775808\n".into(),
                "faults.random.crash: ",
            ),
            (service.replace("instances = 1", "instances = 18446744073709551615"), "service_failover.instances: "),
            (
                "[workload]\nclients = 9223372036854775808\nmin_interval_us = 1\nmax_interval_us = 2\n".into(),
                "workload.clients: ",
            ),
            ("[[cluster.initial]]\nserver = 1\naccepted_epoch = 4294967295\n".into(), "cluster.initial[0].accepted_epoch: "),
            (
                "[[cluster.initial]]\nserver = 1\naccepted_epoch = 1\ncurrent_epoch = 1\nlast_zxid = { epoch = 1, counter = 4294967295 }\n".into(),
                "cluster.initial[0].last_zxid.counter: ",
            ),
            (format!("[timing]\ntick_ms = 4294967295\n{service}"), "timing.tick_ms: "),
        ];
        for (extra, field) in cases {
            let e = err(&format!("{MINIMAL}{extra}"));
            assert!(e.starts_with(field), "{extra}: {e}");
        }
        let e = err(&MINIMAL.replace("duration_ms = 1000", "duration_ms = 18446744073709552"));
        assert!(e.starts_with("duration_ms: 18446744073709552 is outside 0..=2^40"), "{e}");
        let e = err(&MINIMAL.replace("liveness_bound_ms = 5000", "liveness_bound_ms = 18446744073709551"));
        assert!(e.starts_with("liveness_bound_ms: 18446744073709551 is outside 1..=2^40"), "{e}");
    }

    /// Every field at its largest: the file loads, and no arithmetic on it can wrap (the
    /// test runs in debug, where wrapping panics).
    #[test]
    fn every_limit_at_once_loads() {
        let max = FULL
            .replace("duration_ms = 10000", &format!("duration_ms = {TIME_MS_MAX}"))
            .replace("liveness_bound_ms = 60000", &format!("liveness_bound_ms = {TIME_MS_MAX}"))
            .replace(
                "accepted_epoch = 2\ncurrent_epoch = 2",
                &format!("accepted_epoch = {EPOCH_MAX}\ncurrent_epoch = {EPOCH_MAX}"),
            )
            .replace("{ epoch = 1, counter = 10 }", &format!("{{ epoch = {EPOCH_MAX}, counter = {INITIAL_LOG_MAX} }}"))
            .replace("tick_ms = 2000", &format!("tick_ms = {TICK_MS_MAX}"))
            .replace("init_limit = 10", &format!("init_limit = {}", TIME_MS_MAX / TICK_MS_MAX))
            .replace("crash = 1\n", &format!("crash = {WEIGHT_MAX}\n"))
            .replace("slow_client = 1\n", &format!("slow_client = {WEIGHT_MAX}\n"))
            .replace("clients = 3\nmin_interval_us", &format!("clients = {WORKLOAD_CLIENTS_MAX}\nmin_interval_us"))
            .replace("max_interval_us = 2000", &format!("max_interval_us = {TIME_US_MAX}"))
            .replace("for_ms = 1000", &format!("for_ms = {TIME_MS_MAX}"))
            .replace("max_interval_ms = 2000", &format!("max_interval_ms = {TIME_MS_MAX}"));
        let s = Scenario::parse(&max, "max").unwrap();
        assert_eq!(s.timing().init_timeout_us(), TIME_MS_MAX / TICK_MS_MAX * TICK_MS_MAX * 1000);
        assert_eq!(s.initial_state(1).last_logged_zxid(), Zxid::new(EPOCH_MAX, INITIAL_LOG_MAX));
        assert_eq!(s.duration_us() + s.liveness_bound_us(), 2 * TIME_US_MAX);
    }

    #[test]
    fn a_scripted_faults_errors_name_the_key() {
        let script = |keys: &str| format!("{MINIMAL}[[faults.script]]\nat_ms = 1\n{keys}\n");
        for (keys, want) in [
            ("action = \"crash\"\nserver = 1\nfor_ms = \"x\"", "faults.script[0].for_ms: invalid type"),
            ("action = \"crash\"", "faults.script[0].server: missing (action `crash` needs it)"),
            ("action = \"heal\"\nserver = 1", "faults.script[0].server: action `heal` takes no server"),
            ("action = \"explode\"", "faults.script[0].action: unknown variant `explode`"),
            ("action = \"cut\"\nfrom = 1\nto = [2]", "faults.script[0].from: a list of servers"),
            ("action = \"slow-link\"\nfrom = 1\nto = [2]\nextra_ms = 1\nfor_ms = 1", "faults.script[0].to: one server"),
            ("action = \"crash\"\nserver = 1\nbogus = 1", "faults.script[0].bogus: unknown field `bogus`"),
            ("action = \"cut\"\nfrom = [1]\nto = [1, 9]", "faults.script[0].to: server 9 is not in 1..=3"),
        ] {
            let e = err(&script(keys));
            assert!(e.starts_with(want), "{keys}: {e}");
        }
    }

    #[test]
    fn a_huge_value_is_not_echoed() {
        let long = "a".repeat(100_000);
        for text in [
            MINIMAL.replace("servers = 3", &format!("servers = \"{long}\"")),
            format!("variant = \"{long}\"\n{MINIMAL}"),
            format!("{long} = 1\n{MINIMAL}"),
            MINIMAL.replace("servers = 3", &format!("servers = \"{}\"", "a ".repeat(50_000))),
        ] {
            let e = err(&text);
            assert!(e.len() < 500 && !e.contains('\n'), "{} bytes: {}", e.len(), &e[..e.len().min(600)]);
            assert!(e.contains("bytes"), "{e}");
        }
    }

    #[test]
    fn round_trips_through_toml() {
        for text in [MINIMAL, FULL] {
            let s = Scenario::parse(text, "min").unwrap();
            assert_eq!(Scenario::parse(&s.to_toml(), "other").unwrap(), s);
        }
    }
}
