//! What a run reports: counts, elections, leaders, unavailability, the outcome, and the
//! human summary `zabsim run` prints.

use crate::checker::{Invariant, Violation};
use crate::trace::{hash_hex, TraceRecord};
use crate::workload::ServiceStats;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use zab::node::Observation;
use zab::{Epoch, Round, ServerState, Sid, Variant};

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
}

/// Collects [`RunStats`] while a run goes on.
pub struct Stats {
    pub run: RunStats,
    looking_since: Vec<Option<u64>>,
    decided_at: Vec<u64>,
    /// Servers that are established leaders now.
    established: Vec<Sid>,
    leaderless_since: Option<u64>,
}

impl Stats {
    pub fn new(n: usize) -> Stats {
        Stats {
            run: RunStats::default(),
            looking_since: vec![None; n],
            decided_at: vec![0; n],
            established: Vec::new(),
            leaderless_since: Some(0),
        }
    }

    pub fn count_fault(&mut self, kind: &str) {
        *self.run.faults.entry(kind.to_string()).or_default() += 1;
    }

    pub fn observe(&mut self, now: u64, node: Sid, obs: &Observation) {
        let i = node as usize - 1;
        match obs {
            Observation::ElectionStarted { .. } => {
                self.server_left(now, node);
                self.looking_since[i] = Some(now);
            }
            Observation::Decided { .. } => {
                if let Some(since) = self.looking_since[i].take() {
                    self.run.election_us.push(now - since);
                }
                self.decided_at[i] = now;
            }
            Observation::LeaderEstablished { epoch, round, quorum } => {
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
            Observation::Committed { zxid } => *self.run.commits_by_epoch.entry(zxid.epoch()).or_default() += 1,
            _ => {}
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

/// `1.234 s` or `56 ms` or `789 us`.
pub fn fmt_us(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.3} s", us as f64 / 1e6)
    } else if us >= 1000 {
        format!("{} ms", us / 1000)
    } else {
        format!("{us} us")
    }
}

/// The p-th percentile (0..=100) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

fn join(sids: &[Sid]) -> String {
    sids.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(f, "scenario {}  seed {}  variant {}", self.scenario, self.seed, self.variant)?;
        write!(
            f,
            "simulated {} in {} events; {} messages sent, {} lost",
            fmt_us(self.sim_us),
            self.events,
            s.messages_sent,
            s.messages_lost
        )?;
        if s.notifications_coalesced > 0 {
            write!(f, ", {} notifications replaced in full election queues", s.notifications_coalesced)?;
        }
        writeln!(f)?;
        let faults: Vec<String> = s.faults.iter().map(|(k, v)| format!("{v} {k}")).collect();
        writeln!(f, "faults: {}", if faults.is_empty() { "none".to_string() } else { faults.join(", ") })?;
        let mut el = s.election_us.clone();
        el.sort_unstable();
        if el.is_empty() {
            writeln!(f, "elections: none decided")?;
        } else {
            writeln!(
                f,
                "elections: {} decided by servers; LOOKING to decided p50 {}, p99 {}, max {}",
                el.len(),
                fmt_us(percentile(&el, 50)),
                fmt_us(percentile(&el, 99)),
                fmt_us(*el.last().expect("non-empty"))
            )?;
        }
        writeln!(f, "leaders, one per established epoch ({}):", s.leaders.len())?;
        writeln!(
            f,
            "  {:>6} {:>6} {:>6} {:>12} {:>12} {:>8}  quorum",
            "epoch", "round", "leader", "decided", "established", "commits"
        )?;
        for l in &s.leaders {
            writeln!(
                f,
                "  {:>6} {:>6} {:>6} {:>12} {:>12} {:>8}  {}",
                l.epoch,
                l.round,
                l.leader,
                fmt_us(l.decided_us),
                fmt_us(l.established_us),
                s.commits_by_epoch.get(&l.epoch).copied().unwrap_or(0),
                join(&l.quorum)
            )?;
        }
        if s.writes_submitted > 0 {
            let mut lat = s.write_latency_us.clone();
            lat.sort_unstable();
            writeln!(
                f,
                "client writes: {} submitted, {} acknowledged (latency p50 {}, p99 {}), {} refused by servers not serving",
                s.writes_submitted,
                s.writes_acked,
                fmt_us(percentile(&lat, 50)),
                fmt_us(percentile(&lat, 99)),
                s.writes_refused
            )?;
        }
        let total: u64 = s.unavailable_us.iter().map(|w| w.1).sum();
        let longest = s.unavailable_us.iter().map(|w| w.1).max().unwrap_or(0);
        writeln!(
            f,
            "unavailable (no established leader): {} windows, {} in all, longest {}",
            s.unavailable_us.len(),
            fmt_us(total),
            fmt_us(longest)
        )?;
        match (self.stopped_at_us, self.recovery_us) {
            (Some(t), _) => writeln!(f, "stopped at {} (--until)", fmt_us(t))?,
            (None, Some(r)) => writeln!(
                f,
                "liveness: all servers serving {} after faults stopped, a new write committed {} after (bound {})",
                fmt_us(r),
                fmt_us(self.progress_us.unwrap_or(0)),
                fmt_us(self.liveness_bound_us)
            )?,
            (None, None) => {}
        }
        if let Some(sv) = &s.service {
            write_service(f, sv)?;
        }
        match &self.violation {
            None => writeln!(f, "result: ok")?,
            Some(v) => {
                let note = if self.known.contains(&v.invariant) {
                    " (ZooKeeper itself is known to break this here: see the scenario)"
                } else if self.as_expected() {
                    " (expected of this variant)"
                } else {
                    ""
                };
                writeln!(f, "result: VIOLATION {} at {}{note}", v.invariant, fmt_us(v.t_us))?;
                writeln!(f, "  servers: {}", join(&v.nodes))?;
                writeln!(f, "  {}", v.detail)?;
                writeln!(f, "  last events before it:")?;
                for r in &self.recent {
                    writeln!(f, "    {}", describe_record(r))?;
                }
            }
        }
        write!(f, "trace-hash: {}", hash_hex(self.trace_hash))
    }
}

/// The service workload's sessions, watches and failovers.
fn write_service(f: &mut fmt::Formatter<'_>, sv: &ServiceStats) -> fmt::Result {
    writeln!(
        f,
        "service: {} sessions opened, {} told they expired, {} reconnects, {} syncs, {} watch events, {} /config updates",
        sv.sessions_opened, sv.sessions_expired, sv.reconnects, sv.syncs, sv.watch_events, sv.config_updates
    )?;
    let mut times: Vec<u64> = sv.failovers.iter().map(|x| x.failover_us()).collect();
    times.sort_unstable();
    if times.is_empty() {
        return writeln!(f, "failovers: none");
    }
    writeln!(
        f,
        "failovers: {}, instance down to client moved p50 {}, p99 {}, max {}",
        times.len(),
        fmt_us(percentile(&times, 50)),
        fmt_us(percentile(&times, 99)),
        fmt_us(*times.last().expect("not empty"))
    )?;
    writeln!(f, "  client  from         down         noticed      moved        to")?;
    for x in &sv.failovers {
        let down = x.down_us.map_or("-".to_string(), fmt_us);
        writeln!(
            f,
            "  {:>6}  {:<11}  {:>11}  {:>11}  {:>11}  {}",
            x.client,
            x.from,
            down,
            fmt_us(x.noticed_us),
            fmt_us(x.moved_us),
            x.to
        )?;
    }
    Ok(())
}

/// One trace record as a short line for people.
pub fn describe_record(r: &TraceRecord) -> String {
    use zab::node::Input;
    match r {
        TraceRecord::Input { t_us, node, input, .. } => {
            let what = match input {
                Input::Message { from, msg } => match msg {
                    zab::Message::Notification(n) => format!(
                        "NOTIFICATION from {from}: {} votes {} (zxid {}, epoch {}, round {})",
                        n.state, n.leader, n.zxid, n.peer_epoch, n.election_epoch
                    ),
                    m => format!("{} from {from}", m.kind()),
                },
                Input::Timer { timer } => format!("timer {timer:?}"),
                Input::ConnectionUp { peer } => format!("connection to {peer} up"),
                Input::ConnectionDown { peer } => format!("connection to {peer} down"),
                Input::Start => "start".to_string(),
                Input::Durable { fsync } => format!("fsync {fsync} durable"),
                Input::Client { client, request } => match request {
                    zab::node::ClientRequest::Op { xid, call } => format!("client {client} xid {xid}: {call:?}"),
                    r => format!("client {client}: {r:?}"),
                },
                Input::ClientGone { client } => format!("client {client}'s connection closed"),
            };
            format!("{:>12}  server {node}: {what}", fmt_us(*t_us))
        }
        TraceRecord::Fault { t_us, fault, .. } => format!("{:>12}  fault: {fault:?}", fmt_us(*t_us)),
        TraceRecord::Observe { t_us, node, obs } => {
            let what = match obs {
                Observation::ElectionStarted { round, reason } => format!("LOOKING, round {round} ({reason:?})"),
                Observation::Decided { state, leader, round, .. } => match state {
                    ServerState::Leading => format!("decided LEADING in round {round}"),
                    _ => format!("decided {state} {leader} in round {round}"),
                },
                Observation::LeaderEstablished { epoch, quorum, .. } => {
                    format!("established as leader of epoch {epoch} with {}", join(quorum))
                }
                Observation::FollowerConnected { leader, epoch } => {
                    format!("accepted leader {leader}'s epoch {epoch}")
                }
                Observation::LeaderEpoch { epoch } => format!("a quorum acked epoch {epoch}: synchronizing"),
                Observation::NewLeaderAcked { leader, epoch } => format!("acked NEWLEADER of {leader}, epoch {epoch}"),
                Observation::Synced { leader, committed_upto, .. } => {
                    format!("UPTODATE from {leader}: serving, applied up to {committed_upto}")
                }
                Observation::Proposed { zxid } => format!("proposed {zxid}"),
                Observation::Committed { zxid } => format!("committed {zxid}"),
                Observation::Delivered { zxid } => format!("applied {zxid}"),
                Observation::Applied { zxid, digest, closed } => match closed {
                    Some(s) => format!("tree at {zxid}: digest {digest:016x}, session {s:x} closed"),
                    None => format!("tree at {zxid}: digest {digest:016x}"),
                },
                Observation::ReconfigProposed { config } => format!("proposed reconfig to {config}"),
                Observation::ConfigActivated { config, designated } => match designated {
                    Some(d) => format!("activated config {config}, leader {d}"),
                    None => format!("activated config {config}"),
                },
            };
            format!("{:>12}  server {node}: {what}", fmt_us(*t_us))
        }
        TraceRecord::Violation { t_us, violation } => {
            format!("{:>12}  VIOLATION {}", fmt_us(*t_us), violation.invariant)
        }
        TraceRecord::Client { t_us, client, input, .. } => {
            let what = match &**input {
                zab::client::ClientInput::Reply { from, reply } => format!("from server {from}: {reply:?}"),
                zab::client::ClientInput::ConnectionLost { server } => format!("connection to server {server} lost"),
                zab::client::ClientInput::Timer { timer } => format!("timer {timer:?}"),
            };
            format!("{:>12}  client {client}: {what}", fmt_us(*t_us))
        }
        TraceRecord::ClientEvent { t_us, client, event } => {
            format!("{:>12}  client {client}: {event:?}", fmt_us(*t_us))
        }
        TraceRecord::Header(_) | TraceRecord::End { .. } => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 99), 10);
        assert_eq!(percentile(&v, 0), 1);
        assert_eq!(percentile(&[], 50), 0);
    }
}
