//! The human summary `zabsim run` prints of a [`RunReport`], and one-line descriptions
//! of trace records.

use crate::format::{fmt_us, hash_hex, percentile};
use crate::run::stats::{ConfigRecord, RunReport, RunStats};
use crate::run::workload::ServiceStats;
use crate::trace::TraceRecord;
use std::fmt;
use zab::contract::{Input, Observation};
use zab::{ServerState, Sid};

fn join(sids: &[Sid]) -> String {
    sids.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
}

impl fmt::Display for RunReport {
    /// The summary, top-down: what ran and how much, elections and leaders, the
    /// configurations, the clients and availability, the service, then the result.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        write_totals(f, self)?;
        write_elections(f, s)?;
        write_leaders(f, s)?;
        if s.has_reconfig() {
            write_configs(f, &s.configs)?;
        }
        write_availability(f, self)?;
        if let Some(sv) = &s.service {
            write_service(f, sv)?;
        }
        write_result(f, self)?;
        write!(f, "trace-hash: {}", hash_hex(self.trace_hash))
    }
}

/// What ran (scenario, seed, variant), for how long, the messages and the faults.
fn write_totals(f: &mut fmt::Formatter<'_>, r: &RunReport) -> fmt::Result {
    let s = &r.stats;
    writeln!(f, "scenario {}  seed {}  variant {}", r.scenario, r.seed, r.variant)?;
    write!(
        f,
        "simulated {} in {} events; {} messages sent, {} lost",
        fmt_us(r.sim_us),
        r.events,
        s.messages_sent,
        s.messages_lost
    )?;
    if s.notifications_coalesced > 0 {
        write!(f, ", {} notifications replaced in full election queues", s.notifications_coalesced)?;
    }
    writeln!(f)?;
    let faults: Vec<String> = s.faults.iter().map(|(k, v)| format!("{v} {k}")).collect();
    writeln!(f, "faults: {}", if faults.is_empty() { "none".to_string() } else { faults.join(", ") })
}

/// How long elections took, and the roles, exits and syncs besides them (each line only
/// when there is something to count).
fn write_elections(f: &mut fmt::Formatter<'_>, s: &RunStats) -> fmt::Result {
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
    if s.handoffs > 0 {
        writeln!(f, "handoffs: {} role(s) a committed reconfig gave without an election", s.handoffs)?;
    }
    if !s.exits.is_empty() {
        let ex: Vec<String> = s.exits.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(f, "process exits: {}", ex.join(", "))?;
    }
    if !s.syncs.is_empty() {
        let mix: Vec<String> = s.syncs.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(f, "syncs (mode, syncFollower branch): {}", mix.join(", "))?;
    }
    Ok(())
}

/// The leaders table: one row per established epoch.
fn write_leaders(f: &mut fmt::Formatter<'_>, s: &RunStats) -> fmt::Result {
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
    Ok(())
}

/// The client writes, the windows without an established leader, and how the run ended:
/// stopped early by `--until`, or converged after the faults stopped.
fn write_availability(f: &mut fmt::Formatter<'_>, r: &RunReport) -> fmt::Result {
    let s = &r.stats;
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
    match (r.stopped_at_us, r.recovery_us) {
        (Some(t), _) => writeln!(f, "stopped at {} (--until)", fmt_us(t)),
        (None, Some(rec)) => writeln!(
            f,
            "liveness: all servers serving {} after faults stopped, a new write committed {} after (bound {})",
            fmt_us(rec),
            fmt_us(r.progress_us.unwrap_or(0)),
            fmt_us(r.liveness_bound_us)
        ),
        (None, None) => Ok(()),
    }
}

/// `result: ok`, or the violation with whether it was expected, the servers it involves
/// and the last events before it.
fn write_result(f: &mut fmt::Formatter<'_>, r: &RunReport) -> fmt::Result {
    let Some(v) = &r.violation else {
        return writeln!(f, "result: ok");
    };
    let note = if r.known.contains(&v.invariant) {
        " (ZooKeeper itself is known to break this here: see the scenario)"
    } else if r.as_expected() {
        " (expected of this variant)"
    } else {
        ""
    };
    writeln!(f, "result: VIOLATION {} at {}{note}", v.invariant, fmt_us(v.t_us))?;
    writeln!(f, "  servers: {}", join(&v.nodes))?;
    writeln!(f, "  {}", v.detail)?;
    writeln!(f, "  last events before it:")?;
    for rec in &r.recent {
        writeln!(f, "    {}", describe_record(rec))?;
    }
    Ok(())
}

/// The configuration timeline: one row per version, then where and when it was activated.
fn write_configs(f: &mut fmt::Formatter<'_>, configs: &[ConfigRecord]) -> fmt::Result {
    let committed = configs.iter().filter(|c| c.is_reconfig() && c.committed_us.is_some()).count();
    writeln!(
        f,
        "configurations: {} versions, {committed} reconfig(s) committed (leader: the one it designated; unavailable: from a reconfig's commit until a leader voting in it can commit)",
        configs.len()
    )?;
    writeln!(
        f,
        "  {:>12} {:>12} {:>12} {:>3} {:>6} {:>16}  members",
        "version", "proposed", "committed", "by", "leader", "unavailable"
    )?;
    let opt_us = |t: Option<u64>| t.map_or("-".to_string(), fmt_us);
    let opt_sid = |s: Option<Sid>| s.map_or("-".to_string(), |s| s.to_string());
    for c in configs {
        let unavailable = match (c.unavailable_us, c.unavailable_open) {
            (Some(us), true) => format!("{}, open", fmt_us(us)),
            (Some(us), false) => fmt_us(us),
            (None, _) => "-".to_string(),
        };
        let mut members = format!("voters {}", c.config.voter_set());
        if !c.config.observer_set().is_empty() {
            members.push_str(&format!(" observers {}", c.config.observer_set()));
        }
        writeln!(
            f,
            "  {:>12} {:>12} {:>12} {:>3} {:>6} {:>16}  {members}",
            c.config.version().to_string(),
            opt_us(c.proposed_us),
            opt_us(c.committed_us),
            opt_sid(c.committed_by),
            opt_sid(c.designated),
            unavailable
        )?;
        let activated: Vec<String> = c.activated.iter().map(|(s, t)| format!("{s} at {}", fmt_us(*t))).collect();
        let activated = if activated.is_empty() { "nowhere".to_string() } else { activated.join(", ") };
        writeln!(f, "  {:>12} activated: {activated}", "")?;
    }
    Ok(())
}

/// A recipe's leadership (or lock) terms: the holder, when its znode became the lowest and
/// when it was deleted (committed history), when the holder last stopped believing, and
/// how many of its actions committed.
fn write_terms(f: &mut fmt::Formatter<'_>, terms: &[crate::check::recipe_checker::TermRecord]) -> fmt::Result {
    let actions: u64 = terms.iter().map(|t| t.actions).sum();
    writeln!(f, "terms: {}, {actions} actions committed", terms.len())?;
    writeln!(f, "  holder  from         to           noticed      actions  znode")?;
    for t in terms {
        let to = t.to_us.map_or("-".to_string(), fmt_us);
        let noticed = t.noticed_us.map_or("-".to_string(), fmt_us);
        writeln!(
            f,
            "  {:>6}  {:>11}  {:>11}  {:>11}  {:>7}  {}",
            t.holder,
            fmt_us(t.from_us),
            to,
            noticed,
            t.actions,
            t.claim
        )?;
    }
    Ok(())
}

/// The service workload's sessions, watches and failovers.
fn write_service(f: &mut fmt::Formatter<'_>, sv: &ServiceStats) -> fmt::Result {
    writeln!(
        f,
        "service: {} sessions opened, {} told they expired, {} reconnects, {} syncs, {} watch events, {} /config updates",
        sv.sessions_opened, sv.sessions_expired, sv.reconnects, sv.syncs, sv.watch_events, sv.config_updates
    )?;
    if !sv.reconfigs.is_empty() || !sv.reconfig_errors.is_empty() {
        let errors: Vec<String> = sv.reconfig_errors.iter().map(|(e, n)| format!("{n} {e}")).collect();
        let errors = if errors.is_empty() { "none".to_string() } else { errors.join(", ") };
        writeln!(f, "operator: {} reconfig step(s) done; refused or lost attempts: {errors}", sv.reconfigs.len())?;
        writeln!(f, "  step  asked        done         attempts  to                               removed")?;
        for r in &sv.reconfigs {
            let stopped: Vec<String> = r.removed.iter().map(|s| s.to_string()).collect();
            writeln!(
                f,
                "  {:>4}  {:>11}  {:>11}  {:>8}  {:<31}  {}",
                r.step + 1,
                fmt_us(r.started_us),
                fmt_us(r.done_us),
                r.attempts,
                r.to.to_string(),
                if stopped.is_empty() { "-".to_string() } else { stopped.join(",") }
            )?;
        }
    }
    if !sv.terms.is_empty() {
        write_terms(f, &sv.terms)?;
    }
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
    match r {
        TraceRecord::Input { t_us, node, input, .. } => {
            format!("{:>12}  server {node}: {}", fmt_us(*t_us), describe_input(input))
        }
        TraceRecord::Fault { t_us, fault, .. } => format!("{:>12}  fault: {fault:?}", fmt_us(*t_us)),
        TraceRecord::Observe { t_us, node, obs } => {
            format!("{:>12}  server {node}: {}", fmt_us(*t_us), describe_observation(obs))
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

/// What a server was given: a message (a notification in full, for elections), a timer,
/// a connection change, a durable fsync or a client's request.
fn describe_input(input: &Input) -> String {
    match input {
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
            zab::contract::ClientRequest::Op { xid, call } => format!("{} xid {xid}: {call:?}", who(*client)),
            r => format!("{}: {r:?}", who(*client)),
        },
        Input::ClientGone { client } => format!("{} closed", who(*client)),
    }
}

/// What a server reported doing, in the words of ZooKeeper's states and messages.
fn describe_observation(obs: &Observation) -> String {
    match obs {
        Observation::ElectionStarted { round, reason } => format!("LOOKING, round {round} ({reason:?})"),
        Observation::Decided { state, leader, round, .. } => match state {
            ServerState::Leading => format!("decided LEADING in round {round}"),
            _ => format!("decided {state} {leader} in round {round}"),
        },
        Observation::LeaderEstablished { epoch, quorum, .. } => {
            format!("established as leader of epoch {epoch} with {}", join(quorum))
        }
        Observation::FollowerConnected { leader, epoch } => format!("accepted leader {leader}'s epoch {epoch}"),
        Observation::LeaderEpoch { epoch } => format!("a quorum acked epoch {epoch}: synchronizing"),
        Observation::NewLeaderAcked { leader, epoch } => format!("acked NEWLEADER of {leader}, epoch {epoch}"),
        Observation::Synced { leader, committed_upto, .. } => {
            format!("UPTODATE from {leader}: serving, applied up to {committed_upto}")
        }
        Observation::Sync { learner, mode, branch, txns, .. } => {
            format!("syncing learner {learner} by {mode:?} ({branch:?}), {txns} txns")
        }
        Observation::Truncated { leader, to, loaded } => {
            format!("TRUNC from {leader} to {to}: reloaded up to {loaded}")
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
    }
}

/// How a trace names the sender of a client request: a service client's connection, or a
/// raw-write client.
fn who(client: u64) -> String {
    match crate::run::client_id::ClientId::of_wire(client) {
        crate::run::client_id::ClientId::Cnxn { k, opened } => format!("client {k} (connection {opened})"),
        _ => format!("client {client}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::stats::{RunStats, Stats};
    use zab::quorum::QuorumVerifier;
    use zab::{Epoch, Variant, Zxid};

    fn z(epoch: Epoch, counter: u64) -> Zxid {
        Zxid::new(epoch, counter)
    }

    fn qv(voters: &[Sid], version: Zxid) -> QuorumVerifier {
        QuorumVerifier::new(voters.iter().copied()).with_version(version)
    }

    /// Stats of three servers after leader 3 was established in epoch 2 at 100 us with the
    /// ZOOKEEPER-1783 version of the static configuration, the followers activating it at
    /// UPTODATE.
    fn established_3() -> Stats {
        let mut st = Stats::new(3);
        let c = qv(&[1, 2, 3], z(2, 0));
        st.observe(100, 3, &Observation::ConfigActivated { config: c, designated: Some(3) });
        st.observe(100, 3, &Observation::LeaderEstablished { epoch: 2, round: 1, quorum: vec![1, 3] });
        for f in [1, 2] {
            st.observe(110, f, &Observation::ConfigActivated { config: c, designated: None });
        }
        st
    }

    /// Leader `leader` proposes `config` at `t`, then commits it at `t + 10` having
    /// designated `designated`, and the other servers activate it at `t + 15`.
    fn reconfig(st: &mut Stats, t: u64, leader: Sid, config: QuorumVerifier, designated: Sid) {
        st.observe(t, leader, &Observation::ReconfigProposed { config });
        st.observe(t + 10, leader, &Observation::ConfigActivated { config, designated: Some(designated) });
        st.observe(t + 10, leader, &Observation::Committed { zxid: config.version() });
        for s in (1..=3).filter(|s| *s != leader) {
            st.observe(t + 15, s, &Observation::ConfigActivated { config, designated: Some(designated) });
        }
    }

    #[test]
    fn an_epoch_versioned_configuration_alone_is_no_reconfig() {
        let run = established_3().finish(5_000);
        assert_eq!(run.configs.len(), 1);
        let c = &run.configs[0];
        assert_eq!((c.committed_us, c.committed_by, c.designated), (Some(100), Some(3), Some(3)));
        assert_eq!(c.activated, [(3, 100), (1, 110), (2, 110)]);
        assert!(!run.has_reconfig());
        assert!(run.reconfig_unavailable_us().is_empty());
    }

    #[test]
    fn a_reconfig_committed_by_its_designated_leader_has_no_unavailability() {
        let mut st = established_3();
        reconfig(&mut st, 1_000, 3, qv(&[2, 3], z(2, 2)), 3);
        let run = st.finish(5_000);
        let c = &run.configs[1];
        assert_eq!((c.proposed_us, c.committed_us, c.committed_by), (Some(1_000), Some(1_010), Some(3)));
        assert_eq!((c.unavailable_us, c.unavailable_open), (Some(0), false));
        assert_eq!(run.reconfig_unavailable_us(), [0]);
    }

    #[test]
    fn a_reconfig_handing_off_is_unavailable_until_the_next_leader_is_established() {
        let mut st = established_3();
        // Leader 3 removes itself and designates 1, which takes over in epoch 3.
        reconfig(&mut st, 1_000, 3, qv(&[1, 2], z(2, 2)), 1);
        st.observe(1_400, 1, &Observation::LeaderEstablished { epoch: 3, round: 1, quorum: vec![1, 2] });
        // Leader 1, a voter, adds server 3 back: no window.
        reconfig(&mut st, 2_000, 1, qv(&[1, 2, 3], z(3, 1)), 1);
        let run = st.finish(5_000);
        assert_eq!(run.reconfig_unavailable_us(), [390, 0]);
        assert!(run.configs.iter().all(|c| !c.unavailable_open));
    }

    #[test]
    fn a_reconfig_window_no_leader_closes_is_open_until_the_run_ends() {
        let mut st = established_3();
        reconfig(&mut st, 1_000, 3, qv(&[1, 2], z(2, 2)), 1);
        let run = st.finish(6_010);
        let c = &run.configs[1];
        assert_eq!((c.unavailable_us, c.unavailable_open), (Some(5_000), true));
        assert_eq!(run.reconfig_unavailable_us(), [5_000]);
    }

    #[test]
    fn a_reconfig_committed_through_newleader_opens_its_window_at_establishment() {
        let mut st = established_3();
        // Leader 3 proposes removing itself and crashes before the commit.
        let config = qv(&[1, 2], z(2, 2));
        st.observe(1_000, 3, &Observation::ReconfigProposed { config });
        st.server_left(1_100, 3);
        // Server 2, with the reconfig in its log, is established in epoch 3: NEWLEADER
        // commits it, and it designates server 1, not itself.
        st.observe(3_000, 2, &Observation::ConfigActivated { config, designated: Some(1) });
        st.observe(3_000, 2, &Observation::LeaderEstablished { epoch: 3, round: 2, quorum: vec![1, 2] });
        st.observe(3_500, 1, &Observation::LeaderEstablished { epoch: 4, round: 2, quorum: vec![1, 2] });
        let run = st.finish(5_000);
        let c = &run.configs[1];
        assert_eq!((c.committed_us, c.committed_by, c.designated), (Some(3_000), Some(2), Some(1)));
        assert_eq!(run.reconfig_unavailable_us(), [500]);
    }

    #[test]
    fn a_reconfig_a_new_leader_activated_before_it_committed_commits_at_its_establishment() {
        let mut st = established_3();
        let config = qv(&[1, 2], z(2, 2));
        st.observe(1_000, 3, &Observation::ReconfigProposed { config });
        // Server 1 syncs while it is pending and activates NEWLEADER's configuration at
        // UPTODATE; leader 3 is then lost, and server 1 is elected in the new configuration.
        st.observe(1_050, 1, &Observation::ConfigActivated { config, designated: None });
        st.server_left(1_100, 3);
        st.observe(2_000, 1, &Observation::LeaderEstablished { epoch: 3, round: 2, quorum: vec![1, 2] });
        let run = st.finish(5_000);
        let c = &run.configs[1];
        assert_eq!((c.committed_us, c.committed_by), (Some(2_000), Some(1)));
        assert_eq!(run.reconfig_unavailable_us(), [0]);
    }

    #[test]
    fn a_commit_of_another_txn_or_a_second_commit_changes_no_window() {
        let mut st = established_3();
        reconfig(&mut st, 1_000, 3, qv(&[1, 2], z(2, 2)), 1);
        st.observe(1_200, 3, &Observation::Committed { zxid: z(2, 3) });
        // A stale commit of the reconfig by another leader does not restart its window.
        st.observe(1_300, 2, &Observation::Committed { zxid: z(2, 2) });
        st.observe(1_400, 1, &Observation::LeaderEstablished { epoch: 3, round: 1, quorum: vec![1, 2] });
        let run = st.finish(5_000);
        assert_eq!(run.configs[1].committed_by, Some(3));
        assert_eq!(run.reconfig_unavailable_us(), [390]);
    }

    fn report(stats: RunStats) -> RunReport {
        RunReport {
            scenario: "s".into(),
            seed: 1,
            variant: Variant::None,
            expected: vec![],
            known: vec![],
            applied_faults: vec![],
            violation: None,
            sim_us: 5_000,
            events: 10,
            stopped_at_us: None,
            recovery_us: None,
            progress_us: None,
            liveness_bound_us: 1_000,
            trace_hash: 0,
            recent: vec![],
            trace_error: None,
            stats,
            coverage: Default::default(),
        }
    }

    #[test]
    fn the_summary_shows_the_configuration_timeline_only_when_the_run_reconfigured() {
        let plain = report(established_3().finish(5_000)).to_string();
        assert!(!plain.contains("configurations"), "{plain}");
        let mut st = established_3();
        reconfig(&mut st, 1_000, 3, qv(&[1, 2], z(2, 2)), 1);
        let text = report(st.finish(6_010)).to_string();
        assert!(
            text.contains(
                "configurations: 2 versions, 1 reconfig(s) committed (leader: the one it designated; unavailable:"
            ),
            "{text}"
        );
        let rows = [
            "       version     proposed    committed  by leader      unavailable  members",
            "   0x200000000            -       100 us   3      3                -  voters 1,2,3",
            "               activated: 3 at 100 us, 1 at 110 us, 2 at 110 us",
            "   0x200000002         1 ms         1 ms   3      1       5 ms, open  voters 1,2",
            "               activated: 3 at 1 ms, 1 at 1 ms, 2 at 1 ms",
        ];
        assert!(text.contains(&rows.join("\n")), "{text}");
    }
}
