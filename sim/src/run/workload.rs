//! The service-failover workload: ZooKeeper's service-discovery recipe, written as client
//! behaviours on top of [`zab::client::Client`].
//!
//! - Instance `i` holds the ephemeral `/services/web/instance-<i>` with its address while
//!   its session lives; after an expiry it registers again with a new session.
//! - Each client lists `/services/web` with a watch, picks one child at random, reads it
//!   with a watch, and picks again when its pick disappears. It also reads `/config` with
//!   a watch.
//! - The configuration manager creates `/config` and updates it with versioned setData.
//! - With a migration ([`crate::scenario::ReconfigSpec`]), an operator runs its reconfig
//!   steps one after the other: it syncs and reads the configuration (`getConfig`), asks for
//!   the step with that version as `fromConfig` (compare-and-swap, so a retry after a lost
//!   answer cannot apply a step twice), and retries after a refusal. Once a step commits,
//!   the servers it removed are stopped (the cluster does that on [`Recipes::take_retired`]).
//!
//! Each client's failover is recorded: when its instance went down, when the client
//! noticed, when it had moved to another.

use crate::check::recipe_checker::{RecipeNote, TermRecord};
use crate::run::recipe::{self, RecipeInstance};
use crate::scenario::{ms_to_us, RecipeKind, ReconfigSpec, ServiceSpec};
use crate::world::rng::Stream;
use serde::{Deserialize, Serialize};
use zab::api::{CreateMode, ErrorCode, EventType, Request, Response};
use zab::api::{MembershipChange, ReconfigRequest};
use zab::client::{Client, ClientEffect, ClientEvent};
use zab::quorum::QuorumVerifier;
use zab::tree::DataTree;
use zab::Sid;

pub const SERVICES: &str = "/services";
pub const SERVICE_PATH: &str = "/services/web";
pub const BEATS_PATH: &str = "/services/beats";
pub const CONFIG_PATH: &str = "/config";

/// What a service client does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Instance(u64),
    Client(u64),
    ConfigManager,
    /// Runs the migration's reconfig steps.
    Operator,
}

/// How often (at most) the operator looks at whether its next step is due; more often
/// when its retry or step interval is shorter.
const OPERATOR_POLL_US: u64 = 100_000;

/// One reconfig step as the operator saw it (simulated times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconfigRecord {
    pub step: usize,
    /// The configuration the step started from and the one it made.
    pub from: QuorumVerifier,
    pub to: QuorumVerifier,
    /// First attempt to success.
    pub started_us: u64,
    pub done_us: u64,
    /// reconfig requests sent for the step.
    pub attempts: u32,
    /// Servers stopped because the step removed them.
    pub removed: Vec<Sid>,
}

/// The operator's progress through the steps.
#[derive(Clone, Debug, Default)]
struct Operator {
    spec: Option<ReconfigSpec>,
    step: usize,
    next_at_us: u64,
    /// A getConfig or reconfig is outstanding.
    busy: bool,
    /// The configuration the step started from, and the membership it aims at.
    from: Option<QuorumVerifier>,
    target: Option<QuorumVerifier>,
    started_us: Option<u64>,
    attempts: u32,
    /// The configuration the last step made, as its answer said: the next step asks with
    /// its version straight away. `None` after a failure: read the configuration first.
    known: Option<QuorumVerifier>,
    /// Removed servers the cluster has yet to stop.
    retired: Vec<Sid>,
    /// The server leading when the operator last looked (`srvr` on each server).
    leader: Option<Sid>,
    /// The change the current step asks for, fixed when it starts (with the leader then,
    /// for a step that removes the leader).
    change: Option<MembershipChange>,
}

/// One client's move from a dead instance to a live one (simulated times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failover {
    pub client: u64,
    /// The instance it pointed at.
    pub from: String,
    /// When that instance's process died or was cut off (if it did; its session may also
    /// have ended some other way).
    pub down_us: Option<u64>,
    /// When the client learned it was gone (a watch, or a listing without it).
    pub noticed_us: u64,
    /// When it had read its new pick.
    pub moved_us: u64,
    pub to: String,
}

impl Failover {
    /// Instance down (or noticed, when unknown) to moved.
    pub fn failover_us(&self) -> u64 {
        self.moved_us - self.down_us.unwrap_or(self.noticed_us).min(self.noticed_us)
    }
}

/// Counts for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStats {
    pub sessions_opened: u64,
    pub sessions_expired: u64,
    pub watch_events: u64,
    pub reconnects: u64,
    pub config_updates: u64,
    /// `sync` calls answered.
    pub syncs: u64,
    pub failovers: Vec<Failover>,
    /// The migration's steps, as they completed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reconfigs: Vec<ReconfigRecord>,
    /// Refused or lost reconfig attempts, by error.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub reconfig_errors: std::collections::BTreeMap<String, u64>,
    /// With a recipe: its leadership (or lock) terms, from the recipe checker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<TermRecord>,
}

#[derive(Clone, Debug, Default)]
struct State {
    /// Instance: its ephemeral is in place for the current session.
    registered: bool,
    /// Instance: its last beat znode.
    last_beat: Option<String>,
    /// Client: the child it points at, and the one it is reading to move to.
    pick: Option<String>,
    moving_to: Option<String>,
    /// Client: its pick disappeared at this time (and which it was), not yet replaced.
    lost: Option<(String, u64)>,
    /// Client: the `/config` value it last read.
    config_seen: Option<String>,
    /// Configuration manager: the version of `/config` it last knew.
    config_version: Option<i32>,
}

/// The recipes of every service client.
#[derive(Clone)]
pub struct Recipes {
    spec: ServiceSpec,
    roles: Vec<Role>,
    state: Vec<State>,
    /// Per instance: when its process went down or was cut off, until it registers again.
    instance_down_us: Vec<Option<u64>>,
    next_config: u64,
    /// Faults stopped: no more configuration updates or beats, so that the clients can
    /// agree on one `/config`.
    quiet: bool,
    operator: Operator,
    pub stats: ServiceStats,
    /// The recipe the instances run instead of registering, if any, and each instance's
    /// state in it.
    recipe: Option<RecipeKind>,
    contenders: Vec<RecipeInstance>,
    /// What the recipe's holders reported about their belief, for the checker.
    pub notes: Vec<RecipeNote>,
}

impl Recipes {
    pub fn new(spec: &ServiceSpec, reconfig: Option<&ReconfigSpec>) -> Recipes {
        let mut roles: Vec<Role> = (0..spec.instances).map(Role::Instance).collect();
        roles.extend((0..spec.clients).map(Role::Client));
        roles.push(Role::ConfigManager);
        if reconfig.is_some() {
            roles.push(Role::Operator);
        }
        let operator = Operator {
            spec: reconfig.cloned(),
            next_at_us: reconfig.map_or(0, |r| ms_to_us(r.start_ms)),
            ..Operator::default()
        };
        let work_us = ms_to_us(spec.work_interval_ms());
        let contenders = match spec.recipe {
            Some(kind) => (0..spec.instances).map(|i| RecipeInstance::new(kind, i, work_us)).collect(),
            None => Vec::new(),
        };
        Recipes {
            recipe: spec.recipe,
            contenders,
            notes: Vec::new(),
            operator,
            spec: spec.clone(),
            state: vec![State::default(); roles.len()],
            roles,
            instance_down_us: vec![None; spec.instances as usize],
            next_config: 1,
            quiet: false,
            stats: ServiceStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.roles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }

    pub fn role(&self, k: usize) -> Role {
        self.roles[k]
    }

    pub fn instance_path(i: u64) -> String {
        format!("{SERVICE_PATH}/instance-{i}")
    }

    /// How often the configuration manager or an instance's beat wakes, if at all.
    pub fn wake_interval_us(&self, k: usize, rng: &mut Stream) -> Option<u64> {
        match self.roles[k] {
            Role::ConfigManager if self.recipe.is_some() => None,
            Role::Instance(_) if self.recipe.is_some() => Some(ms_to_us(self.spec.work_interval_ms())),
            Role::ConfigManager => {
                Some(ms_to_us(rng.range(self.spec.config_min_interval_ms, self.spec.config_max_interval_ms)))
            }
            Role::Instance(_) if self.spec.beat_interval_ms > 0 => Some(ms_to_us(self.spec.beat_interval_ms)),
            Role::Operator => {
                let r = self.operator.spec.as_ref().expect("an operator has a migration");
                Some(OPERATOR_POLL_US.min(ms_to_us(r.retry_ms)).min(ms_to_us(r.interval_ms.max(1))))
            }
            _ => None,
        }
    }

    /// The operator's view of who leads (what `srvr` on each server would tell it).
    pub fn set_leader(&mut self, leader: Option<Sid>) {
        self.operator.leader = leader;
    }

    /// Servers removed by a committed step, to stop, with the configuration that removed
    /// them.
    pub fn take_retired(&mut self) -> (Vec<Sid>, QuorumVerifier) {
        let config = self.stats.reconfigs.last().map_or(QuorumVerifier::majority_of(1), |r| r.to);
        (std::mem::take(&mut self.operator.retired), config)
    }

    /// The configuration the migration ends with, once its last step committed.
    pub fn final_config(&self) -> Option<QuorumVerifier> {
        let op = &self.operator;
        let spec = op.spec.as_ref()?;
        (op.step == spec.steps.len()).then(|| self.stats.reconfigs.last().map(|r| r.to)).flatten()
    }

    /// Whether the scenario has a migration and it has not finished.
    pub fn migrating(&self) -> bool {
        self.operator.spec.as_ref().is_some_and(|s| self.operator.step < s.steps.len())
    }

    /// The process of client `k` went down, was cut off or froze at `now`: if its session
    /// ends before it is back, that is when its instance was lost.
    pub fn went_down(&mut self, k: usize, now: u64) {
        if let Role::Instance(i) = self.roles[k] {
            self.instance_down_us[i as usize].get_or_insert(now);
        }
    }

    /// The process of client `k` died: a recipe's holder stops believing with it.
    pub fn died(&mut self, k: usize) {
        if let (Role::Instance(i), Some(_)) = (self.roles[k], self.recipe) {
            self.contenders[i as usize].went_down(&mut self.notes);
        }
    }

    /// A crashed client process starts again (its library starts a new session).
    pub fn restarted(&mut self, k: usize) {
        let keep_config = self.state[k].config_seen.take();
        self.state[k] = State { config_seen: keep_config, ..State::default() };
        if let (Role::Instance(i), Some(kind)) = (self.roles[k], self.recipe) {
            let work_us = ms_to_us(self.spec.work_interval_ms());
            self.contenders[i as usize] = RecipeInstance::new(kind, i, work_us);
        }
    }

    /// Faults stopped: the periodic work stops.
    pub fn quiesce(&mut self) {
        self.quiet = true;
    }

    /// The periodic work of client `k`.
    pub fn wake(&mut self, now: u64, k: usize, client: &mut Client, out: &mut Vec<ClientEffect>) {
        if client.server().is_none() {
            return;
        }
        if self.roles[k] == Role::Operator {
            // The migration goes on after faults stop: it must finish within the bound.
            return self.operator_wake(now, client, out);
        }
        if let (Role::Instance(i), Some(_)) = (self.roles[k], self.recipe) {
            // A decided action still goes out, and a lock holder finishes, once faults stop.
            return self.contenders[i as usize].wake(now, self.quiet, client, out, &mut self.notes);
        }
        if self.quiet {
            return;
        }
        match self.roles[k] {
            Role::ConfigManager => {
                if let Some(v) = self.state[k].config_version {
                    let data = format!("v{}", self.next_config);
                    self.next_config += 1;
                    client.call(Request::SetData { path: CONFIG_PATH.into(), data, version: Some(v) }, out);
                }
            }
            Role::Instance(i) => {
                if let Some(old) = self.state[k].last_beat.take() {
                    client.call(Request::Delete { path: old, version: None }, out);
                }
                let path = format!("{BEATS_PATH}/instance-{i}-");
                client.call(Request::Create { path, data: String::new(), mode: CreateMode::EphemeralSequential }, out);
            }
            Role::Client(_) | Role::Operator => {}
        }
    }

    /// The operator's next step is due: read the configuration, after a sync so the server
    /// is as recent as the leader (the answer decides what to ask for).
    fn operator_wake(&mut self, now: u64, client: &mut Client, out: &mut Vec<ClientEffect>) {
        let op = &mut self.operator;
        let Some(spec) = &op.spec else { return };
        if op.busy || op.step >= spec.steps.len() || now < op.next_at_us {
            return;
        }
        op.busy = true;
        op.started_us.get_or_insert(now);
        match op.known.take() {
            // Right after a step: the next one names the version its answer gave.
            Some(config) => {
                // `config` is the previous step's result, never the current one's target.
                self.operator_ask(config, client, out);
            }
            None => {
                client.call(Request::Sync { path: "/".into() }, out);
                client.call(Request::GetConfig, out);
            }
        }
    }

    /// Asks for the current step against `config` (compare-and-swap on its version), unless
    /// `config` shows an earlier attempt already went through.
    fn operator_ask(&mut self, config: QuorumVerifier, client: &mut Client, out: &mut Vec<ClientEffect>) -> bool {
        let op = &mut self.operator;
        let spec = op.spec.as_ref().expect("an operator has a migration");
        let from = *op.from.get_or_insert(config);
        let leader = op.leader;
        let change = op.change.get_or_insert_with(|| spec.steps[op.step].change(leader)).clone();
        let target = *op.target.get_or_insert_with(|| change.apply(&from).expect("validated by the scenario"));
        if config.same_members(&target) && config.version() > from.version() {
            return true;
        }
        op.attempts += 1;
        let request = ReconfigRequest { change, from_config: Some(config.version()) };
        client.call(Request::Reconfig(Box::new(request)), out);
        false
    }

    fn operator_result(
        &mut self,
        now: u64,
        request: &Request,
        response: &Response,
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
    ) {
        let op = &mut self.operator;
        let Some(spec) = op.spec.clone() else { return };
        if op.step >= spec.steps.len() {
            return;
        }
        let retry_us = ms_to_us(spec.retry_ms);
        match (request, response) {
            (Request::Sync { .. }, Response::Sync) => {}
            (Request::GetConfig, Response::Config { config }) => {
                let went_through = self.operator_ask(*config, client, out);
                if went_through {
                    // An attempt whose answer was lost went through.
                    self.step_done(now, *config);
                }
            }
            (Request::Reconfig(_), Response::Config { config }) => self.step_done(now, *config),
            (_, Response::Error { code }) => {
                if matches!(request, Request::Reconfig(_)) {
                    *self.stats.reconfig_errors.entry(code.to_string()).or_default() += 1;
                }
                let op = &mut self.operator;
                if matches!(request, Request::Sync { .. }) && *code != ErrorCode::ConnectionLoss {
                    return; // The getConfig behind it decides.
                }
                op.busy = false;
                // A stale version: read again at once; anything else: back off.
                op.next_at_us = if *code == ErrorCode::BadVersion { now } else { now.saturating_add(retry_us) };
            }
            _ => {}
        }
    }

    /// A step committed as `config`: note it, stop the servers it removed, plan the next.
    fn step_done(&mut self, now: u64, config: QuorumVerifier) {
        let op = &mut self.operator;
        let spec = op.spec.as_ref().expect("an operator has a migration");
        let from = op.from.take().expect("a step starts from a configuration");
        let removed: Vec<Sid> = from.members().difference(config.members()).iter().collect();
        op.retired.extend(&removed);
        self.stats.reconfigs.push(ReconfigRecord {
            step: op.step,
            from,
            to: config,
            started_us: op.started_us.take().unwrap_or(now),
            done_us: now,
            attempts: op.attempts,
            removed,
        });
        op.step += 1;
        op.target = None;
        op.change = None;
        op.attempts = 0;
        op.busy = false;
        op.known = Some(config);
        op.next_at_us = now.saturating_add(ms_to_us(spec.interval_ms));
    }

    /// Client `k`'s library reported `ev` at `now`.
    pub fn on_event(
        &mut self,
        now: u64,
        k: usize,
        ev: &ClientEvent,
        client: &mut Client,
        rng: &mut Stream,
        out: &mut Vec<ClientEffect>,
    ) {
        match ev {
            ClientEvent::Connected { new_session: true, .. } => {
                self.stats.sessions_opened += 1;
                if self.recipe.is_some() {
                    return self.recipe_new_session(now, k, client, out);
                }
                self.on_new_session(k, client, out);
            }
            ClientEvent::Connected { new_session: false, .. } => {
                self.stats.reconnects += 1;
                if let (Role::Instance(i), Some(_)) = (self.roles[k], self.recipe) {
                    return self.contenders[i as usize].on_reconnected(client, out);
                }
                if self.recipe.is_some() {
                    return; // Its `/config` watch is set again by the library.
                }
                // A client that moved servers catches its new server up with the leader
                // before it lists the instances again (`sync`, then `getChildren`).
                if let Role::Client(_) = self.roles[k] {
                    client.call(Request::Sync { path: SERVICE_PATH.into() }, out);
                    client.call(Request::GetChildren { path: SERVICE_PATH.into(), watch: true }, out);
                }
                // Back in time: its session, and its znode, lived on.
                if let Role::Instance(i) = self.roles[k] {
                    if self.state[k].registered {
                        self.instance_down_us[i as usize] = None;
                    }
                }
            }
            ClientEvent::Disconnected { .. } => {
                if let (Role::Instance(i), Some(_)) = (self.roles[k], self.recipe) {
                    self.contenders[i as usize].on_disconnected(&mut self.notes);
                }
            }
            ClientEvent::Expired { .. } => {
                self.stats.sessions_expired += 1;
                if let (Role::Instance(i), Some(_)) = (self.roles[k], self.recipe) {
                    self.contenders[i as usize].on_expired(&mut self.notes);
                }
                if let Role::Instance(_) = self.roles[k] {
                    self.state[k].registered = false;
                    self.state[k].last_beat = None;
                }
                client.start(out);
            }
            ClientEvent::Watch { watched, .. } => {
                self.stats.watch_events += 1;
                if let (Role::Instance(i), Some(_)) = (self.roles[k], self.recipe) {
                    return self.contenders[i as usize].on_watch(watched.kind, &watched.path, client, out);
                }
                self.on_watch(now, k, watched.kind, &watched.path, client, out);
            }
            ClientEvent::Result { request, response, .. } => {
                if let (Role::Instance(i), Some(_)) = (self.roles[k], self.recipe) {
                    let r = &mut self.contenders[i as usize];
                    return r.on_result(now, request, response, client, out, &mut self.notes);
                }
                self.on_result(now, k, request, response, client, rng, out)
            }
        }
    }

    /// A new session with a recipe: instances run it, clients read `/config` with a watch,
    /// the configuration manager has nothing to do (the leader updates `/config`).
    fn recipe_new_session(&mut self, now: u64, k: usize, client: &mut Client, out: &mut Vec<ClientEffect>) {
        match self.roles[k] {
            Role::Instance(i) => self.contenders[i as usize].on_new_session(now, self.quiet, client, out),
            Role::Client(_) => {
                client.call(Request::GetData { path: CONFIG_PATH.into(), watch: true }, out);
            }
            Role::ConfigManager | Role::Operator => {}
        }
    }

    fn on_new_session(&mut self, k: usize, client: &mut Client, out: &mut Vec<ClientEffect>) {
        match self.roles[k] {
            Role::Instance(i) => {
                self.create_parents(client, out);
                self.register(i, client, out);
            }
            Role::Client(_) => {
                client.call(Request::GetChildren { path: SERVICE_PATH.into(), watch: true }, out);
                client.call(Request::GetData { path: CONFIG_PATH.into(), watch: true }, out);
            }
            Role::ConfigManager => {
                client.call(Request::GetData { path: CONFIG_PATH.into(), watch: false }, out);
            }
            Role::Operator => {}
        }
    }

    /// The persistent parents of the instances' znodes (NodeExists when they are there).
    fn create_parents(&mut self, client: &mut Client, out: &mut Vec<ClientEffect>) {
        for path in [SERVICES, SERVICE_PATH, BEATS_PATH] {
            let create = Request::Create { path: path.into(), data: String::new(), mode: CreateMode::Persistent };
            client.call(create, out);
        }
    }

    fn register(&mut self, i: u64, client: &mut Client, out: &mut Vec<ClientEffect>) {
        let data = format!("10.0.0.{}:8080", i + 1);
        let create = Request::Create { path: Self::instance_path(i), data, mode: CreateMode::Ephemeral };
        client.call(create, out);
    }

    fn on_watch(
        &mut self,
        now: u64,
        k: usize,
        kind: EventType,
        path: &str,
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
    ) {
        match self.roles[k] {
            Role::Instance(i) => {
                // Our old session's ephemeral went away: register again.
                if kind == EventType::NodeDeleted && path == Self::instance_path(i) && !self.state[k].registered {
                    self.register(i, client, out);
                }
            }
            Role::Client(_) => match (kind, path) {
                (EventType::NodeChildrenChanged | EventType::NodeCreated, SERVICE_PATH) => {
                    client.call(Request::GetChildren { path: SERVICE_PATH.into(), watch: true }, out);
                }
                // Only the naive recipe's ephemeral `/config` goes away.
                (EventType::NodeDeleted, CONFIG_PATH) => {
                    self.state[k].config_seen = None;
                    client.call(Request::Exists { path: CONFIG_PATH.into(), watch: true }, out);
                }
                (EventType::NodeDeleted, p) if p.strip_prefix("/services/web/") == self.state[k].pick.as_deref() => {
                    self.lose_pick(now, k);
                    client.call(Request::GetChildren { path: SERVICE_PATH.into(), watch: true }, out);
                }
                (EventType::NodeDataChanged | EventType::NodeCreated, CONFIG_PATH) => {
                    client.call(Request::GetData { path: CONFIG_PATH.into(), watch: true }, out);
                }
                _ => {}
            },
            Role::ConfigManager | Role::Operator => {}
        }
    }

    /// Client `k` learned its pick is gone.
    fn lose_pick(&mut self, now: u64, k: usize) {
        let s = &mut self.state[k];
        if let Some(p) = s.pick.take() {
            s.lost.get_or_insert((p, now));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_result(
        &mut self,
        now: u64,
        k: usize,
        request: &Request,
        response: &Response,
        client: &mut Client,
        rng: &mut Stream,
        out: &mut Vec<ClientEffect>,
    ) {
        let retry = matches!(response, Response::Error { code: ErrorCode::ConnectionLoss });
        match self.roles[k] {
            Role::Instance(i) => self.instance_result(k, i, request, response, retry, client, out),
            Role::Client(_) => self.client_result(now, k, request, response, retry, client, rng, out),
            Role::Operator => self.operator_result(now, request, response, client, out),
            Role::ConfigManager => self.config_manager_result(k, request, response, client, out),
        }
    }

    /// A service instance's answers: its registration (an ephemeral znode) and beats.
    #[allow(clippy::too_many_arguments)]
    fn instance_result(
        &mut self,
        k: usize,
        i: u64,
        request: &Request,
        response: &Response,
        retry: bool,
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
    ) {
        match (request, response) {
            (Request::Create { path, .. }, Response::Create { .. }) if *path == Self::instance_path(i) => {
                self.state[k].registered = true;
                self.instance_down_us[i as usize] = None;
            }
            (Request::Create { path, .. }, Response::Create { path: created }) if path.starts_with(BEATS_PATH) => {
                self.state[k].last_beat = Some(created.clone());
            }
            (Request::Create { path, .. }, Response::Error { code: ErrorCode::NodeExists })
                if *path == Self::instance_path(i) =>
            {
                // Ours from before a lost answer, or an old session's still alive.
                client.call(Request::Exists { path: path.clone(), watch: true }, out);
            }
            (Request::Create { path, .. }, _) if retry && *path == Self::instance_path(i) => {
                self.register(i, client, out);
            }
            (Request::Create { path, .. }, Response::Error { code: ErrorCode::NoNode })
                if *path == Self::instance_path(i) =>
            {
                // The parents' creates were lost with a connection: create them again.
                self.create_parents(client, out);
                self.register(i, client, out);
            }
            (Request::Exists { path, .. }, Response::Exists { stat }) if *path == Self::instance_path(i) => {
                match stat {
                    Some(st) if Some(st.ephemeral_owner) == client.session() => {
                        self.state[k].registered = true;
                        self.instance_down_us[i as usize] = None;
                    }
                    Some(_) => {} // Wait for the watch.
                    None => self.register(i, client, out),
                }
            }
            (Request::Exists { path, watch }, _) if retry => {
                client.call(Request::Exists { path: path.clone(), watch: *watch }, out);
            }
            _ => {}
        }
    }

    /// The configuration manager's answers: it keeps `/config`'s version to update it
    /// conditionally.
    fn config_manager_result(
        &mut self,
        k: usize,
        request: &Request,
        response: &Response,
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
    ) {
        match (request, response) {
            (Request::GetData { .. }, Response::GetData { stat, .. }) => {
                self.state[k].config_version = Some(stat.version);
            }
            (Request::GetData { .. }, Response::Error { code: ErrorCode::NoNode }) => {
                let create =
                    Request::Create { path: CONFIG_PATH.into(), data: "v0".into(), mode: CreateMode::Persistent };
                client.call(create, out);
            }
            (Request::Create { .. }, Response::Create { .. }) => self.state[k].config_version = Some(0),
            (Request::SetData { .. }, Response::SetData { stat }) => {
                self.state[k].config_version = Some(stat.version);
                self.stats.config_updates += 1;
            }
            // Someone else's version, a lost answer, or a create that lost a race:
            // read again.
            _ => {
                self.state[k].config_version = None;
                client.call(Request::GetData { path: CONFIG_PATH.into(), watch: false }, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn client_result(
        &mut self,
        now: u64,
        k: usize,
        request: &Request,
        response: &Response,
        retry: bool,
        client: &mut Client,
        rng: &mut Stream,
        out: &mut Vec<ClientEffect>,
    ) {
        match (request, response) {
            (Request::GetChildren { .. }, Response::GetChildren { children, .. }) => {
                let s = &self.state[k];
                let pick_alive = s.pick.as_ref().is_some_and(|p| children.contains(p));
                if !pick_alive {
                    self.lose_pick(now, k);
                    if !children.is_empty() && self.state[k].moving_to.is_none() {
                        let child = children[rng.below(children.len() as u64) as usize].clone();
                        let path = format!("{SERVICE_PATH}/{child}");
                        self.state[k].moving_to = Some(child);
                        client.call(Request::GetData { path, watch: true }, out);
                    }
                }
            }
            (Request::Sync { .. }, Response::Sync) => self.stats.syncs += 1,
            (Request::GetChildren { .. }, Response::Error { code: ErrorCode::NoNode }) => {
                client.call(Request::Exists { path: SERVICE_PATH.into(), watch: true }, out);
            }
            (Request::Exists { path, .. }, Response::Exists { stat: Some(_) }) if path == SERVICE_PATH => {
                client.call(Request::GetChildren { path: SERVICE_PATH.into(), watch: true }, out);
            }
            (Request::GetData { path, .. }, Response::GetData { data, .. }) if path == CONFIG_PATH => {
                self.state[k].config_seen = Some(data.clone());
            }
            (Request::GetData { path, .. }, Response::Error { code: ErrorCode::NoNode }) if path == CONFIG_PATH => {
                self.state[k].config_seen = None;
                client.call(Request::Exists { path: CONFIG_PATH.into(), watch: true }, out);
            }
            (Request::Exists { path, .. }, Response::Exists { stat: Some(_) }) if path == CONFIG_PATH => {
                client.call(Request::GetData { path: CONFIG_PATH.into(), watch: true }, out);
            }
            (Request::Exists { path, .. }, Response::Exists { stat: None }) if path == CONFIG_PATH => {
                self.state[k].config_seen = None;
            }
            (Request::GetData { path, .. }, response) if path.starts_with("/services/web/") => {
                self.picked(now, k, &path["/services/web/".len()..], response, client, out);
            }
            (r, _) if retry => {
                // A lost answer: ask again (it goes out once the client reconnects).
                let again = match r {
                    Request::GetChildren { path, .. } => Request::GetChildren { path: path.clone(), watch: true },
                    Request::GetData { path, .. } => Request::GetData { path: path.clone(), watch: true },
                    Request::Exists { path, .. } => Request::Exists { path: path.clone(), watch: true },
                    _ => return,
                };
                client.call(again, out);
            }
            _ => {}
        }
    }

    /// Client `k` read the instance it is moving to: it picks it (a failover, if it had
    /// lost its pick), or lists the instances again when that one is gone.
    fn picked(
        &mut self,
        now: u64,
        k: usize,
        child: &str,
        response: &Response,
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
    ) {
        let child = child.to_string();
        self.state[k].moving_to = None;
        match response {
            Response::GetData { .. } => {
                let s = &mut self.state[k];
                s.pick = Some(child.clone());
                if let Some((from, noticed_us)) = s.lost.take() {
                    let i: Option<usize> = from.strip_prefix("instance-").and_then(|n| n.parse().ok());
                    let down_us = i.and_then(|i| self.instance_down_us.get(i).copied().flatten());
                    let failover = Failover { client: k as u64, from, down_us, noticed_us, moved_us: now, to: child };
                    self.stats.failovers.push(failover);
                }
            }
            // Gone meanwhile, or the answer was lost: list again.
            _ => {
                client.call(Request::GetChildren { path: SERVICE_PATH.into(), watch: true }, out);
            }
        }
    }

    /// After faults stop, with a recipe: the recipe's own convergence
    /// ([`recipe::converged`]), every client connected and seeing the `/config` the tree
    /// holds, and the migration done.
    fn recipe_converged(&self, kind: RecipeKind, tree: &DataTree, clients: &[Option<Client>]) -> Result<(), String> {
        let mut instances = Vec::new();
        let mut readers = Vec::new();
        for (k, role) in self.roles.iter().enumerate() {
            match role {
                Role::Instance(i) => instances.push((&self.contenders[*i as usize], clients[k].as_ref())),
                Role::Client(j) => {
                    let Some(c) = &clients[k] else { return Err(format!("client {j} is down")) };
                    if c.server().is_none() {
                        return Err(format!("client {j} is not connected"));
                    }
                    readers.push(self.state[k].config_seen.clone());
                }
                Role::Operator => self.operator_done()?,
                Role::ConfigManager => {}
            }
        }
        recipe::converged(kind, tree, &instances, &readers)
    }

    fn operator_done(&self) -> Result<(), String> {
        if let Some(spec) = &self.operator.spec {
            if self.operator.step < spec.steps.len() {
                return Err(format!(
                    "the operator has done {} of {} reconfig steps",
                    self.operator.step,
                    spec.steps.len()
                ));
            }
        }
        Ok(())
    }

    /// The recipe the instances run, if any.
    pub fn recipe(&self) -> Option<RecipeKind> {
        self.recipe
    }

    /// After faults stop: does every client point at a live, registered instance, and see
    /// the `/config` the tree holds? `alive[k]`: client `k`'s process is up.
    pub fn converged(&self, tree: &DataTree, clients: &[Option<Client>]) -> Result<(), String> {
        if let Some(kind) = self.recipe {
            return self.recipe_converged(kind, tree, clients);
        }
        let config = tree.get_data(CONFIG_PATH).ok().map(|(d, _)| d);
        for (k, role) in self.roles.iter().enumerate() {
            let Some(c) = &clients[k] else { return Err(format!("client {k} is down")) };
            if c.server().is_none() {
                return Err(format!("client {k} ({role:?}) is not connected"));
            }
            let s = &self.state[k];
            match role {
                Role::Instance(i) => {
                    let owner = tree.stat(&Self::instance_path(*i)).map(|st| st.ephemeral_owner);
                    if !s.registered {
                        return Err(format!("instance {i} has not registered"));
                    }
                    if owner != c.session() {
                        return Err(format!(
                            "instance {i}'s znode is owned by session {:x}, not its own ({:x})",
                            owner.unwrap_or(0),
                            c.session().unwrap_or(0)
                        ));
                    }
                }
                Role::Client(j) => {
                    let Some(p) = &s.pick else { return Err(format!("client {j} points at no instance")) };
                    let owner = tree.stat(&format!("{SERVICE_PATH}/{p}")).map(|st| st.ephemeral_owner);
                    let live = self.roles.iter().zip(clients).any(|(r, c)| {
                        matches!(r, Role::Instance(_))
                            && c.as_ref().and_then(|c| c.session()).is_some_and(|s| Some(s) == owner)
                    });
                    if !live {
                        return Err(format!("client {j} points at {p}, which no live instance holds"));
                    }
                    if s.config_seen != config {
                        return Err(format!(
                            "client {j} sees /config = {:?}, the tree holds {config:?}",
                            s.config_seen
                        ));
                    }
                }
                Role::ConfigManager => {}
                Role::Operator => self.operator_done()?,
            }
        }
        Ok(())
    }
}
