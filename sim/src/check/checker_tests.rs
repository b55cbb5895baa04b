//! Unit tests of the checker fed hand-built histories.
//!
//! Each invariant gets a history that breaks it (the violation must name the invariant and
//! the servers involved) and, for the main ones, the matching correct history (no
//! violation). The checker reads the cluster for some checks, so the histories use real
//! [`Node`]s recovered from hand-written logs; a node's `log()` stays its durable log until
//! it acts. Where a check needs a LEADING node or a converged cluster, a tiny local pump
//! drives real nodes through the protocol (election votes injected by hand, every fsync
//! completing at once, every message delivered in one FIFO order, timers never firing).

use crate::check::checker::{converged, describe, Checker, Expected};
use crate::check::invariant::{Invariant, Violation};
use crate::run::monitor::{ClusterView, Monitor};
use crate::run::stats::Stats;
use crate::trace::Tracer;
use std::collections::VecDeque;
use zab::api::{MembershipChange, ReconfigRequest, Request};
use zab::contract::{ClientReply, ClientRequest, Effect, Input, LookingReason, NodeConfig, Observation, Outbox, Timer};
use zab::durable::{DurableState, Op, ReconfigTxn, Txn};
use zab::quorum::QuorumVerifier;
use zab::timing::Timing;
use zab::{Epoch, Message, Node, Notification, ServerState, Sid, Variant, Zxid};

/// Any instant: the checker only stamps it on the violation.
const NOW: u64 = 7_000;

fn z(epoch: Epoch, counter: u64) -> Zxid {
    Zxid::new(epoch, counter)
}

fn txns(zxids: &[Zxid]) -> Vec<Txn> {
    zxids.iter().map(|&zxid| Txn { zxid, op: Op::Initial }).collect()
}

fn checker() -> Checker {
    Checker::new(QuorumVerifier::majority_of(3), 3)
}

fn config(id: Sid) -> NodeConfig {
    NodeConfig::new(id, QuorumVerifier::majority_of(3), Timing::default(), Variant::None)
}

/// The epoch files a log needs to pass the startup checks: the epoch of its last zxid.
fn epoch_of(zxids: &[Zxid]) -> Epoch {
    zxids.last().map_or(0, |z| z.epoch())
}

/// Server `id`, recovered (not started) from a durable log of `zxids`.
fn node(id: Sid, zxids: &[Zxid]) -> Node {
    let e = epoch_of(zxids);
    let durable = DurableState::new(e, e, txns(zxids));
    Node::recover(config(id), durable).expect("a well-formed durable image")
}

/// Servers 1, 2, 3 with these logs, all up.
fn cluster(logs: [&[Zxid]; 3]) -> Vec<Option<Node>> {
    (1..).zip(logs).map(|(id, log)| Some(node(id, log))).collect()
}

/// A LOOKING notification from a peer voting for `leader` in round 1, with the leader's
/// own (last zxid, currentEpoch) so the vote equals the one the leader stands for.
fn vote_for(from: Sid, leader: Sid, zxids: &[Zxid]) -> Input {
    let n = Notification {
        state: ServerState::Looking,
        leader,
        zxid: zxids.last().copied().unwrap_or(Zxid::ZERO),
        election_epoch: 1,
        peer_epoch: epoch_of(zxids),
        config: zab::quorum::QuorumVerifier::majority_of(3),
    };
    Input::Message { from, msg: Message::Notification(n) }
}

/// Server `id` with log `zxids` through round 1 of FLE, where it and one peer vote for
/// `leader` (whose log is the same): it decides when the finalize wait ends.
fn elect(id: Sid, leader: Sid, zxids: &[Zxid], out: &mut Outbox) -> Node {
    let mut n = node(id, zxids);
    n.step(Input::Start, out);
    let peer = if id == leader { (1..=3).find(|p| *p != id).expect("a peer") } else { leader };
    n.step(vote_for(peer, leader, zxids), out);
    n.step(Input::Timer { timer: Timer::FleFinalize }, out);
    n
}

/// Server 3 with log `zxids`, LEADING and past `getEpochToPropose`: server 1's FOLLOWERINFO
/// made a quorum, so it proposed epoch `epoch_of(zxids) + 1` (not yet durable or acked).
fn leading_3(zxids: &[Zxid]) -> Node {
    let mut out = Outbox::default();
    let mut n = elect(3, 3, zxids, &mut out);
    assert_eq!(n.state(), ServerState::Leading);
    n.step(
        Input::Message {
            from: 1,
            msg: Message::FollowerInfo { accepted_epoch: epoch_of(zxids), observer: false, config_version: Zxid::ZERO },
        },
        &mut out,
    );
    assert_eq!(n.epoch(), Some(epoch_of(zxids) + 1));
    assert_eq!(n.log(), txns(zxids).as_slice(), "proposing an epoch does not touch the log");
    n
}

/// Asserts a violation of `invariant` naming exactly `nodes`.
#[track_caller]
fn assert_violation(v: Option<Violation>, invariant: Invariant, nodes: &[Sid]) {
    let v = v.unwrap_or_else(|| panic!("expected a {invariant} violation, got none"));
    assert_eq!(v.invariant, invariant, "{v:?}");
    assert_eq!(v.nodes, nodes, "{v:?}");
    assert_eq!(v.t_us, NOW);
}

/// Every server's log as the simulator passes it to `observe`: a live server's log, and a
/// down server's durable log, taken as empty here (tests that need one pass their own).
fn logs_of(nodes: &[Option<Node>]) -> Vec<&[Txn]> {
    nodes.iter().map(|n| n.as_ref().map_or(&[][..], Node::log)).collect()
}

/// Server `sid` of `nodes` reports `obs` at `NOW`.
fn observe(c: &mut Checker, nodes: &[Option<Node>], sid: Sid, obs: Observation) -> Option<Violation> {
    c.observe(NOW, sid, &obs, nodes, &logs_of(nodes))
}

/// Server `sid` of `nodes` is established as leader of `epoch`: its whole log is committed.
fn establish(c: &mut Checker, nodes: &[Option<Node>], sid: Sid, epoch: Epoch) -> Option<Violation> {
    observe(c, nodes, sid, Observation::LeaderEstablished { epoch, round: 1, quorum: vec![1, 2, 3] })
}

// ---------------------------------------------------------------------------------------
// A pump over real nodes, for histories that need the protocol itself: a converged
// cluster, a committed client write. It feeds the simulator's monitor as the cluster does
// (each effect in order, then the end of the step).

struct Pump {
    nodes: Vec<Option<Node>>,
    /// The simulator's own monitor, fed as the cluster feeds it.
    monitor: Monitor,
    queue: VecDeque<(Sid, Input)>,
    /// Every answer a server gave a client, in order.
    replies: Vec<(Sid, u64, ClientReply)>,
    /// Every configuration a server activated: (server, version, designated leader).
    activated: Vec<(Sid, Zxid, Option<Sid>)>,
}

/// The pump's servers as the monitor reads them: a down server's durable log is taken as
/// empty.
struct Nodes<'a>(&'a [Option<Node>]);

impl ClusterView for Nodes<'_> {
    fn nodes(&self) -> &[Option<Node>] {
        self.0
    }

    fn log(&self, s: Sid) -> &[Txn] {
        self.0[s as usize - 1].as_ref().map_or(&[][..], Node::log)
    }
}

impl Pump {
    /// Servers 1..=3 with the same log, elected with 3 as leader; the followers'
    /// FOLLOWERINFOs wait in the queue.
    fn elected(zxids: &[Zxid]) -> Pump {
        let mut outs: Vec<Outbox> = (0..3).map(|_| Outbox::default()).collect();
        let nodes = (1..=3).zip(outs.iter_mut()).map(|(id, out)| Some(elect(id, 3, zxids, out))).collect();
        let monitor = Monitor::new(true, checker(), Stats::new(3), Tracer::new(None, 0));
        let mut p = Pump { nodes, monitor, queue: VecDeque::new(), replies: Vec::new(), activated: Vec::new() };
        // The leader's effects first, so the followers' FOLLOWERINFOs find it LEADING.
        for id in [3, 1, 2] {
            let out = std::mem::take(&mut outs[id as usize - 1]);
            assert_eq!(p.effects(id, out), None);
        }
        p
    }

    /// Delivers queued inputs until none is left or the checker objects.
    fn run(&mut self) -> Option<Violation> {
        while let Some((sid, input)) = self.queue.pop_front() {
            let mut out = Outbox::default();
            let Some(n) = self.nodes[sid as usize - 1].as_mut() else { continue };
            n.step(input, &mut out);
            if let Some(v) = self.effects(sid, out) {
                return Some(v);
            }
        }
        None
    }

    /// Feeds one step's effects to the monitor, as the cluster does, and queues the
    /// messages and fsync completions; the violation this step brought, if any.
    fn effects(&mut self, sid: Sid, out: Outbox) -> Option<Violation> {
        let before = self.monitor.violation().is_some();
        for e in out.effects {
            self.monitor.on_effect(NOW, sid, &e, &Nodes(&self.nodes));
            match e {
                // The election is decided by hand; FLE traffic is dropped.
                Effect::Send { msg: Message::Notification(_), .. } => {}
                Effect::Send { to, msg } => self.queue.push_back((to, Input::Message { from: sid, msg })),
                Effect::Fsync { id, then_send, .. } => {
                    self.queue.push_back((sid, Input::Durable { fsync: id }));
                    for (to, msg) in then_send {
                        self.queue.push_back((to, Input::Message { from: sid, msg }));
                    }
                }
                Effect::Observe(Observation::ConfigActivated { config, designated }) => {
                    self.activated.push((sid, config.version(), designated));
                }
                Effect::ClientReply { client, reply } => {
                    if let ClientReply::WriteOk { zxid, .. } = reply {
                        self.monitor.on_write_acked(NOW, sid, client, zxid);
                    }
                    self.replies.push((sid, client, reply));
                }
                _ => {}
            }
        }
        self.monitor.on_step_end(NOW, sid, &Nodes(&self.nodes));
        if before {
            return None;
        }
        self.monitor.violation().cloned()
    }

    /// The history of a 3-server cluster that elects 3, synchronizes everyone by DIFF and
    /// converges, with the checker watching.
    fn converged(zxids: &[Zxid]) -> Pump {
        let mut p = Pump::elected(zxids);
        assert_eq!(p.run(), None);
        assert_eq!(converged(&p.nodes, &Expected::default()), Ok(3));
        p
    }

    /// A client write at server 3, run until it commits everywhere.
    fn write(&mut self, client: u64) -> Option<Violation> {
        self.queue.push_back((3, Input::Client { client, request: ClientRequest::Write { seq: 1 } }));
        self.run()
    }

    /// Client `client` opens a session at server 3 and asks it to remove `remove` from the
    /// ensemble; run until every message is delivered.
    fn reconfig_removing(&mut self, client: u64, remove: Vec<Sid>) -> Option<Violation> {
        let connect = ClientRequest::Connect { session: None, timeout_ms: 10_000, last_zxid_seen: Zxid::ZERO };
        self.queue.push_back((3, Input::Client { client, request: connect }));
        if let Some(v) = self.run() {
            return Some(v);
        }
        let connected = self.replies.iter().any(|r| matches!(r, (3, c, ClientReply::Connected { .. }) if *c == client));
        assert!(connected, "the session was created: {:?}", self.replies);
        let change = MembershipChange::Incremental { add_participants: vec![], add_observers: vec![], remove };
        let call = Box::new(Request::Reconfig(Box::new(ReconfigRequest { change, from_config: None })));
        self.queue.push_back((3, Input::Client { client, request: ClientRequest::Op { xid: 1, call } }));
        self.run()
    }
}

// ---------------------------------------------------------------------------------------
// Leadership

#[test]
fn two_leaders_entering_sync_in_one_epoch_break_leadership() {
    let mut c = checker();
    let nodes = cluster([&[], &[], &[]]);
    assert_eq!(observe(&mut c, &nodes, 1, Observation::LeaderEpoch { epoch: 4 }), None);
    let v = observe(&mut c, &nodes, 2, Observation::LeaderEpoch { epoch: 4 });
    // The first leader of the epoch, then the usurper.
    assert_violation(v, Invariant::Leadership, &[1, 2]);
}

#[test]
fn one_leader_per_epoch_keeps_leadership() {
    let mut c = checker();
    let nodes = cluster([&[], &[], &[]]);
    assert_eq!(observe(&mut c, &nodes, 1, Observation::LeaderEpoch { epoch: 1 }), None);
    // Another server may lead another epoch, before or after.
    assert_eq!(observe(&mut c, &nodes, 2, Observation::LeaderEpoch { epoch: 2 }), None);
    assert_eq!(observe(&mut c, &nodes, 3, Observation::LeaderEpoch { epoch: 0 }), None);
    // The same server reporting its own epoch again is not a second leader.
    assert_eq!(observe(&mut c, &nodes, 1, Observation::LeaderEpoch { epoch: 1 }), None);
}

// ---------------------------------------------------------------------------------------
// LeaderLogCompleteness

#[test]
fn a_leader_established_without_a_committed_txn_breaks_leader_log_completeness() {
    let mut c = checker();
    let nodes = cluster([&[z(1, 1), z(1, 2)], &[z(1, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    assert_eq!(c.committed(), [z(1, 1), z(1, 2)]);
    // Server 2 lacks 1:2, committed by server 1's establishment.
    let v = establish(&mut c, &nodes, 2, 2);
    assert_violation(v, Invariant::LeaderLogCompleteness, &[2]);
}

#[test]
fn a_leader_established_with_a_log_forking_from_the_committed_log_breaks_leader_log_completeness() {
    let mut c = checker();
    // Server 3's log is longer than the committed log, but replaced 1:2 with its own epoch.
    let nodes = cluster([&[z(1, 1), z(1, 2)], &[z(1, 1)], &[z(1, 1), z(2, 1), z(2, 2)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    let v = establish(&mut c, &nodes, 3, 3);
    assert_violation(v, Invariant::LeaderLogCompleteness, &[3]);
}

#[test]
fn a_leader_whose_log_extends_the_committed_log_commits_its_whole_history() {
    let mut c = checker();
    let nodes = cluster([&[z(1, 1)], &[z(1, 1), z(1, 2), z(2, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    assert_eq!(c.committed(), [z(1, 1)]);
    assert_eq!(establish(&mut c, &nodes, 2, 3), None);
    assert_eq!(c.committed(), [z(1, 1), z(1, 2), z(2, 1)]);
}

// ---------------------------------------------------------------------------------------
// MonotonicCommittedLog

#[test]
fn committing_past_the_leaders_next_logged_txn_breaks_monotonic_committed_log() {
    let mut c = checker();
    let mut nodes = cluster([&[z(1, 1)], &[z(1, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    // Leader 1 logs two proposals and commits the second first.
    nodes[0] = Some(node(1, &[z(1, 1), z(1, 2), z(1, 3)]));
    let v = observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 3) });
    assert_violation(v, Invariant::MonotonicCommittedLog, &[1]);
}

#[test]
fn committing_another_txn_where_the_committed_log_has_one_breaks_monotonic_committed_log() {
    let mut c = checker();
    let mut nodes = cluster([&[z(1, 1)], &[z(1, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    nodes[0] = Some(node(1, &[z(1, 1), z(1, 2)]));
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 2) }), None);
    // Server 2's log forks at position 1: committing its 1:3 there contradicts the log.
    nodes[1] = Some(node(2, &[z(1, 1), z(1, 3)]));
    let v = observe(&mut c, &nodes, 2, Observation::Committed { zxid: z(1, 3) });
    assert_violation(v, Invariant::MonotonicCommittedLog, &[2]);
}

#[test]
fn an_old_leader_committing_what_the_committed_log_already_holds_is_harmless() {
    // Acks still in flight let the leader of an older epoch commit a txn that a newer
    // leader already established with: the same txn at the same place.
    let mut c = checker();
    let mut nodes = cluster([&[z(1, 1)], &[z(1, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    nodes[0] = Some(node(1, &[z(1, 1), z(1, 2)]));
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 2) }), None);
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 2) }), None);
    assert_eq!(c.committed(), &[z(1, 1), z(1, 2)]);
}

#[test]
fn committing_a_txn_the_leader_has_not_logged_breaks_monotonic_committed_log() {
    let mut c = checker();
    let nodes = cluster([&[z(1, 1)], &[z(1, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    let v = observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 2) });
    assert_violation(v, Invariant::MonotonicCommittedLog, &[1]);
}

#[test]
fn commits_in_log_order_extend_the_committed_log() {
    let mut c = checker();
    let mut nodes = cluster([&[z(1, 1)], &[z(1, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    nodes[0] = Some(node(1, &[z(1, 1), z(1, 2), z(1, 3)]));
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 2) }), None);
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 3) }), None);
    assert_eq!(c.committed(), [z(1, 1), z(1, 2), z(1, 3)]);
}

// ---------------------------------------------------------------------------------------
// ProcessConsistency (server 3 LEADING epoch 2 with log 1:1, 1:2)

fn leader_log() -> [Zxid; 2] {
    [z(1, 1), z(1, 2)]
}

/// Server 1 with `follower_log`, server 2 LOOKING with nothing, server 3 LEADING epoch 2.
fn with_leader_3(follower_log: &[Zxid]) -> Vec<Option<Node>> {
    vec![Some(node(1, follower_log)), Some(node(2, &[])), Some(leading_3(&leader_log()))]
}

#[test]
fn a_follower_acking_newleader_with_a_forked_log_breaks_process_consistency() {
    let mut c = checker();
    let nodes = with_leader_3(&[z(1, 1), z(1, 3)]);
    let v = observe(&mut c, &nodes, 1, Observation::NewLeaderAcked { leader: 3, epoch: 2 });
    // The follower, then its leader.
    assert_violation(v, Invariant::ProcessConsistency, &[1, 3]);
}

#[test]
fn a_follower_acking_newleader_with_more_than_the_leaders_log_breaks_process_consistency() {
    let mut c = checker();
    let nodes = with_leader_3(&[z(1, 1), z(1, 2), z(1, 3)]);
    let v = observe(&mut c, &nodes, 1, Observation::NewLeaderAcked { leader: 3, epoch: 2 });
    assert_violation(v, Invariant::ProcessConsistency, &[1, 3]);
}

#[test]
fn a_follower_acking_newleader_with_a_prefix_of_the_leaders_log_keeps_process_consistency() {
    let log = leader_log();
    let prefixes: [&[Zxid]; 3] = [&log, &log[..1], &[]];
    for follower_log in prefixes {
        let mut c = checker();
        let nodes = with_leader_3(follower_log);
        assert_eq!(observe(&mut c, &nodes, 1, Observation::NewLeaderAcked { leader: 3, epoch: 2 }), None);
    }
}

#[test]
fn newleader_acked_to_a_server_not_leading_that_epoch_is_not_compared() {
    let mut c = checker();
    let nodes = with_leader_3(&[z(1, 1), z(1, 3)]);
    // Server 3 leads epoch 2, not 5: whoever sent NEWLEADER of epoch 5 is gone.
    assert_eq!(observe(&mut c, &nodes, 1, Observation::NewLeaderAcked { leader: 3, epoch: 5 }), None);
    // Server 2 is LOOKING: it leads nothing.
    assert_eq!(observe(&mut c, &nodes, 1, Observation::NewLeaderAcked { leader: 2, epoch: 2 }), None);
    // A leader that crashed cannot be compared with.
    let mut down = with_leader_3(&[z(1, 1), z(1, 3)]);
    down[2] = None;
    assert_eq!(observe(&mut c, &down, 1, Observation::NewLeaderAcked { leader: 3, epoch: 2 }), None);
}

// ---------------------------------------------------------------------------------------
// Agreement and Integrity (what a server applies while serving)

/// A checker whose committed log is 1:1, 1:2, 1:3 (leader 1 established in epoch 1).
fn committed_123() -> (Checker, Vec<Option<Node>>) {
    let mut c = checker();
    let history = [z(1, 1), z(1, 2), z(1, 3)];
    let nodes = cluster([&history, &history[..1], &history[..1]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    (c, nodes)
}

fn synced(c: &mut Checker, nodes: &[Option<Node>], sid: Sid, committed_upto: Zxid) -> Option<Violation> {
    observe(c, nodes, sid, Observation::Synced { leader: 1, epoch: 1, committed_upto })
}

#[test]
fn serving_with_a_history_that_forks_from_the_committed_log_breaks_agreement() {
    let (mut c, mut nodes) = committed_123();
    // Server 2 applies 1:1 then 2:1 where the committed log has 1:2.
    nodes[1] = Some(node(2, &[z(1, 1), z(2, 1)]));
    let v = synced(&mut c, &nodes, 2, z(2, 1));
    assert_violation(v, Invariant::Agreement, &[2]);
}

#[test]
fn applying_a_later_txn_of_the_same_leader_first_breaks_local_primary_order() {
    let (mut c, nodes) = committed_123();
    assert_eq!(synced(&mut c, &nodes, 2, z(1, 1)), None);
    // 1:3 is committed, but 1:2 comes first.
    let v = observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(1, 3) });
    assert_violation(v, Invariant::LocalPrimaryOrder, &[2]);
}

#[test]
fn applying_a_newer_epochs_txn_before_an_older_ones_breaks_global_primary_order() {
    let mut c = checker();
    let history = [z(1, 1), z(1, 2), z(2, 1)];
    let nodes = cluster([&history, &history[..1], &history[..1]]);
    assert_eq!(establish(&mut c, &nodes, 1, 2), None);
    assert_eq!(synced(&mut c, &nodes, 2, z(1, 1)), None);
    let v = observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(2, 1) });
    assert_violation(v, Invariant::GlobalPrimaryOrder, &[2]);
}

#[test]
fn reapplying_an_earlier_committed_txn_breaks_total_order() {
    let (mut c, nodes) = committed_123();
    assert_eq!(synced(&mut c, &nodes, 2, z(1, 1)), None);
    let v = observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(1, 1) });
    assert_violation(v, Invariant::TotalOrder, &[2]);
}

#[test]
fn serving_a_committed_prefix_then_applying_each_next_commit_keeps_agreement() {
    let (mut c, nodes) = committed_123();
    assert_eq!(synced(&mut c, &nodes, 2, z(1, 1)), None);
    assert_eq!(observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(1, 2) }), None);
    assert_eq!(observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(1, 3) }), None);
    // Server 3 syncs with nothing applied yet, then catches up.
    assert_eq!(synced(&mut c, &nodes, 3, Zxid::ZERO), None);
    assert_eq!(observe(&mut c, &nodes, 3, Observation::Delivered { zxid: z(1, 1) }), None);
}

#[test]
fn applying_a_txn_while_not_serving_breaks_integrity() {
    let (mut c, nodes) = committed_123();
    // Server 2 never synced: it is not serving, even a committed txn may not be applied.
    let v = observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(1, 1) });
    assert_violation(v, Invariant::Integrity, &[2]);
}

#[test]
fn a_server_that_goes_back_to_looking_or_crashes_stops_serving() {
    let (mut c, nodes) = committed_123();
    assert_eq!(synced(&mut c, &nodes, 2, z(1, 1)), None);
    assert_eq!(synced(&mut c, &nodes, 3, z(1, 1)), None);
    let looking = Observation::ElectionStarted { round: 2, reason: zab::contract::LookingReason::LeaderTimeout };
    assert_eq!(observe(&mut c, &nodes, 2, looking), None);
    let v = observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(1, 2) });
    assert_violation(v, Invariant::Integrity, &[2]);
    assert_eq!(c.crashed(NOW, 3, &txns(&[z(1, 1)])), None);
    let v = observe(&mut c, &nodes, 3, Observation::Delivered { zxid: z(1, 2) });
    assert_violation(v, Invariant::Integrity, &[3]);
}

#[test]
fn applying_an_uncommitted_txn_breaks_integrity() {
    let (mut c, nodes) = committed_123();
    assert_eq!(synced(&mut c, &nodes, 2, z(1, 1)), None);
    let v = observe(&mut c, &nodes, 2, Observation::Delivered { zxid: z(2, 1) });
    assert_violation(v, Invariant::Integrity, &[2]);
}

#[test]
fn serving_with_more_applied_than_committed_breaks_integrity() {
    let (mut c, mut nodes) = committed_123();
    // Server 2 holds the committed log plus 1:4, and claims all of it applied.
    nodes[1] = Some(node(2, &[z(1, 1), z(1, 2), z(1, 3), z(1, 4)]));
    let v = synced(&mut c, &nodes, 2, z(1, 4));
    assert_violation(v, Invariant::Integrity, &[2]);
}

#[test]
fn serving_with_uncommitted_txns_past_the_applied_point_keeps_integrity() {
    let (mut c, mut nodes) = committed_123();
    // 1:4 is logged but not applied: only what is up to `committed_upto` counts.
    nodes[1] = Some(node(2, &[z(1, 1), z(1, 2), z(1, 3), z(1, 4)]));
    assert_eq!(synced(&mut c, &nodes, 2, z(1, 3)), None);
}

// ---------------------------------------------------------------------------------------
// CommittedLogDurability

/// A checker whose committed log 1:1, 1:2 is on all three servers' logs.
fn committed_everywhere() -> (Checker, Vec<Option<Node>>) {
    let mut c = checker();
    let history = [z(1, 1), z(1, 2)];
    let nodes = cluster([&history, &history, &history]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    (c, nodes)
}

#[test]
fn crashes_that_leave_the_committed_log_on_one_server_break_committed_log_durability() {
    let (mut c, _) = committed_everywhere();
    // Server 2 crashes before its log reached the disk: a quorum {1, 3} still holds it.
    assert_eq!(c.crashed(NOW, 2, &[]), None);
    // Server 3 loses 1:2 the same way: only server 1 holds the committed log.
    let v = c.crashed(NOW, 3, &txns(&[z(1, 1)]));
    assert_violation(v, Invariant::CommittedLogDurability, &[1]);
}

#[test]
fn a_trunc_of_a_committed_txn_off_a_quorum_breaks_committed_log_durability() {
    let (mut c, _) = committed_everywhere();
    assert_eq!(c.log_changed(NOW, 1, &txns(&[z(1, 1)]), true), None);
    let v = c.log_changed(NOW, 2, &txns(&[z(1, 1)]), true);
    assert_violation(v, Invariant::CommittedLogDurability, &[3]);
}

#[test]
fn losing_copies_outside_a_quorum_keeps_the_committed_log_durable() {
    let (mut c, _) = committed_everywhere();
    assert_eq!(c.crashed(NOW, 3, &[]), None);
    // A crash that loses nothing committed, and a restarted server's log growing back.
    assert_eq!(c.crashed(NOW, 1, &txns(&[z(1, 1), z(1, 2)])), None);
    assert_eq!(c.log_changed(NOW, 3, &txns(&[z(1, 1), z(1, 2), z(2, 1)]), false), None);
    // Now 2 may lose it: 1 and 3 hold it.
    assert_eq!(c.log_changed(NOW, 2, &[], true), None);
}

#[test]
fn a_crashed_servers_durable_copy_of_a_later_commit_keeps_the_committed_log_durable() {
    let mut c = checker();
    let nodes = cluster([&[z(1, 1)], &[z(1, 1)], &[z(1, 1)]]);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    // Server 3 logged 1:2 durably, acknowledged it, and crashed before it was committed.
    let durable_3 = txns(&[z(1, 1), z(1, 2)]);
    assert_eq!(c.crashed(NOW, 3, &durable_3), None);
    // Leader 1 commits 1:2 on the acks of 2 and 3, its own copy not yet fsynced.
    let nodes = vec![Some(node(1, &[z(1, 1), z(1, 2)])), Some(node(2, &[z(1, 1), z(1, 2)])), None];
    let logs = [nodes[0].as_ref().unwrap().log(), nodes[1].as_ref().unwrap().log(), &durable_3];
    assert_eq!(c.observe(NOW, 1, &Observation::Committed { zxid: z(1, 2) }, &nodes, &logs), None);
    // Leader 1 crashes and loses 1:2: the durable logs of 2 and 3, a quorum, still hold it.
    assert_eq!(c.crashed(NOW, 1, &txns(&[z(1, 1)])), None);
    // Losing server 2's copy too leaves only server 3's.
    let v = c.crashed(NOW, 2, &txns(&[z(1, 1)]));
    assert_violation(v, Invariant::CommittedLogDurability, &[3]);
}

#[test]
fn a_growing_log_is_no_loss_even_off_a_quorum() {
    let (mut c, _) = committed_everywhere();
    assert_eq!(c.crashed(NOW, 2, &[]), None);
    assert!(c.crashed(NOW, 3, &[]).is_some());
    // The loss was reported once; appends on the last holder are not a loss.
    assert_eq!(c.log_changed(NOW, 1, &txns(&[z(1, 1), z(1, 2), z(1, 3)]), false), None);
}

// ---------------------------------------------------------------------------------------
// AcknowledgedWriteLost

#[test]
fn acknowledging_an_uncommitted_write_breaks_acknowledged_write_lost() {
    let (mut c, _) = committed_123();
    let v = c.client_acked(NOW, 2, 41, z(1, 4));
    assert_violation(v, Invariant::AcknowledgedWriteLost, &[2]);
}

#[test]
fn acknowledging_a_committed_write_is_no_violation() {
    let (mut c, _) = committed_123();
    for zxid in [z(1, 1), z(1, 2), z(1, 3)] {
        assert_eq!(c.client_acked(NOW, 3, 41, zxid), None);
    }
}

// ---------------------------------------------------------------------------------------
// SeenZxidCompleteness

#[test]
fn committing_below_a_zxid_a_client_was_given_breaks_seen_zxid_completeness() {
    let mut c = checker();
    // A client got `2 << 32` from a server of an epoch with no txn; then a leader whose
    // history holds 1:1 to 1:3 establishes and commits them below it.
    c.client_saw(z(2, 0), 41, 2);
    let history = [z(1, 1), z(1, 2), z(1, 3)];
    let nodes = cluster([&history, &history[..1], &history[..1]]);
    let v = establish(&mut c, &nodes, 1, 3);
    assert_violation(v, Invariant::SeenZxidCompleteness, &[1, 2]);
}

#[test]
fn committing_above_every_zxid_clients_saw_is_no_violation() {
    let (mut c, mut nodes) = committed_123();
    c.client_saw(z(1, 3), 41, 2);
    c.client_saw(z(1, 2), 42, 3);
    nodes[0] = Some(node(1, &[z(1, 1), z(1, 2), z(1, 3), z(1, 4)]));
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 4) }), None);
}

// ---------------------------------------------------------------------------------------
// ElectionLiveness

fn started(id: Sid) -> Node {
    let mut n = node(id, &[]);
    n.step(Input::Start, &mut Outbox::default());
    n
}

#[test]
fn no_leader_by_the_deadline_breaks_election_liveness() {
    let mut c = checker();
    c.faults_stopped(1_000);
    let nodes: Vec<Option<Node>> = (1..=3).map(|id| Some(started(id))).collect();
    assert!(!c.check_converged(2_000, &nodes, &Expected::default()));
    let v = c.on_deadline(NOW, &nodes, &Expected::default());
    // Every LOOKING server is named.
    assert_violation(v, Invariant::ElectionLiveness, &[1, 2, 3]);
}

#[test]
fn a_server_down_at_the_deadline_without_a_leader_breaks_election_liveness() {
    let mut c = checker();
    c.faults_stopped(1_000);
    let nodes = vec![None, Some(started(2)), Some(started(3))];
    let v = c.on_deadline(NOW, &nodes, &Expected::default());
    assert_violation(v, Invariant::ElectionLiveness, &[1]);
}

// ---------------------------------------------------------------------------------------
// BroadcastLiveness, and whole correct histories through real nodes

#[test]
fn a_correct_election_sync_and_write_produce_no_violation() {
    let mut p = Pump::converged(&[z(1, 1), z(1, 2)]);
    // Establishing leader 3 in epoch 2 committed its whole log.
    assert_eq!(p.monitor.checker.committed(), [z(1, 1), z(1, 2)]);
    assert_eq!(p.write(9), None);
    assert_eq!(p.monitor.checker.committed(), [z(1, 1), z(1, 2), z(2, 1)]);
    for n in p.nodes.iter().flatten() {
        assert_eq!(n.last_processed(), z(2, 1), "server {} applied the write", n.id());
    }
}

#[test]
fn the_cluster_converges_once_and_only_after_faults_stop() {
    let mut p = Pump::converged(&[z(1, 1)]);
    assert!(!p.monitor.checker.check_converged(1_000, &p.nodes, &Expected::default()), "faults have not stopped");
    p.monitor.checker.faults_stopped(2_000);
    assert!(p.monitor.checker.check_converged(3_000, &p.nodes, &Expected::default()));
    assert!(!p.monitor.checker.check_converged(4_000, &p.nodes, &Expected::default()), "it converged already");
    assert_eq!(p.monitor.checker.converged_us(), Some(3_000));
    assert_eq!(p.monitor.checker.recovery_us(), Some(1_000));
}

#[test]
fn a_write_not_committed_after_convergence_breaks_broadcast_liveness() {
    let mut p = Pump::converged(&[z(1, 1)]);
    p.monitor.checker.faults_stopped(1_000);
    assert!(p.monitor.checker.check_converged(2_000, &p.nodes, &Expected::default()));
    let v = p.monitor.checker.on_deadline(NOW, &p.nodes, &Expected::default());
    // Every server follows and serves: the leader that did not commit it is named.
    let leader: Vec<Sid> =
        p.nodes.iter().flatten().filter(|n| n.state() == ServerState::Leading).map(|n| n.id()).collect();
    assert_violation(v, Invariant::BroadcastLiveness, &leader);
}

#[test]
fn a_write_committed_after_convergence_meets_the_deadline() {
    let mut p = Pump::converged(&[z(1, 1)]);
    p.monitor.checker.faults_stopped(1_000);
    assert!(p.monitor.checker.check_converged(2_000, &p.nodes, &Expected::default()));
    assert_eq!(p.write(9), None);
    p.monitor.checker.probe_committed(3_000);
    assert!(p.monitor.checker.is_done());
    assert_eq!(p.monitor.checker.on_deadline(NOW, &p.nodes, &Expected::default()), None);
}

#[test]
fn a_follower_down_under_an_established_leader_breaks_broadcast_liveness() {
    let mut p = Pump::converged(&[z(1, 1)]);
    p.nodes[0] = None;
    p.monitor.checker.faults_stopped(1_000);
    assert!(!p.monitor.checker.check_converged(2_000, &p.nodes, &Expected::default()));
    // A leader is established, so the election did its part.
    let v = p.monitor.checker.on_deadline(NOW, &p.nodes, &Expected::default());
    assert_violation(v, Invariant::BroadcastLiveness, &[1]);
}

#[test]
fn a_leader_elected_but_never_established_breaks_broadcast_liveness() {
    let mut c = checker();
    c.faults_stopped(1_000);
    // Server 3 won the election (LEADING) but no quorum acknowledged NEWLEADER: the
    // election settled, Zab did not. Server 3 is named too: it does not serve.
    let nodes = vec![Some(started(1)), Some(started(2)), Some(leading_3(&[]))];
    let v = c.on_deadline(NOW, &nodes, &Expected::default());
    assert_violation(v, Invariant::BroadcastLiveness, &[1, 2, 3]);
}

#[test]
fn a_follower_looking_under_an_established_leader_breaks_broadcast_liveness() {
    let mut p = Pump::converged(&[z(1, 1)]);
    // Server 2 lost its leader and is back in an election.
    p.nodes[1] = Some(started(2));
    p.monitor.checker.faults_stopped(1_000);
    let v = p.monitor.checker.on_deadline(NOW, &p.nodes, &Expected::default());
    assert_violation(v, Invariant::BroadcastLiveness, &[2]);
}

// ---------------------------------------------------------------------------------------
// ConfigAgreement and ConfigActivation

/// Configuration `version` with these voters and observers.
fn qv(voters: &[Sid], observers: &[Sid], version: Zxid) -> QuorumVerifier {
    QuorumVerifier::with_observers(voters.iter().copied(), observers.iter().copied()).with_version(version)
}

/// A reconfig txn at `zxid`: its configuration's version is its zxid, as the leader sets it.
fn reconfig_txn(zxid: Zxid, voters: &[Sid], observers: &[Sid]) -> Txn {
    let config = qv(voters, observers, zxid);
    Txn { zxid, op: Op::Reconfig(std::sync::Arc::new(ReconfigTxn { session: 1, xid: 1, config })) }
}

/// Server `id`, recovered from a durable log of `log` (reconfig txns included).
fn node_with(id: Sid, log: Vec<Txn>) -> Node {
    let e = log.last().map_or(0, |t| t.zxid.epoch());
    Node::recover(config(id), DurableState::new(e, e, log)).expect("a well-formed durable image")
}

/// The reconfig of the ConfigAgreement histories: 1:2 removes server 3.
fn v12() -> QuorumVerifier {
    qv(&[1, 2], &[], z(1, 2))
}

fn with_v12() -> Vec<Txn> {
    vec![Txn { zxid: z(1, 1), op: Op::Initial }, reconfig_txn(z(1, 2), &[1, 2], &[])]
}

fn activate(c: &mut Checker, nodes: &[Option<Node>], sid: Sid, config: QuorumVerifier) -> Option<Violation> {
    observe(c, nodes, sid, Observation::ConfigActivated { config, designated: None })
}

/// Servers 1 and 2 logged reconfig 1:2, server 3 did not; server 3 was established in epoch
/// 1 with its log, so only 1:1 is committed.
fn reconfig_pending() -> (Checker, Vec<Option<Node>>) {
    let mut c = checker();
    let nodes = vec![Some(node_with(1, with_v12())), Some(node_with(2, with_v12())), Some(node(3, &[z(1, 1)]))];
    assert_eq!(establish(&mut c, &nodes, 3, 1), None);
    assert_eq!(c.committed(), [z(1, 1)]);
    (c, nodes)
}

/// Reconfig 1:2 committed: server 1 was established in epoch 1 with it in its log.
fn reconfig_committed() -> (Checker, Vec<Option<Node>>) {
    let mut c = checker();
    let nodes = vec![Some(node_with(1, with_v12())), Some(node_with(2, with_v12())), Some(node(3, &[z(1, 1)]))];
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    assert_eq!(c.committed(), [z(1, 1), z(1, 2)]);
    (c, nodes)
}

#[test]
fn two_servers_activating_one_version_with_different_members_break_config_agreement() {
    let (mut c, nodes) = reconfig_committed();
    assert_eq!(activate(&mut c, &nodes, 1, v12()), None);
    let v = activate(&mut c, &nodes, 2, qv(&[1, 3], &[], z(1, 2)));
    // The first server to hold the version, then the one that disagrees.
    assert_violation(v, Invariant::ConfigAgreement, &[1, 2]);
}

#[test]
fn a_proposal_and_an_activation_that_disagree_on_a_version_break_config_agreement() {
    let (mut c, nodes) = reconfig_pending();
    assert_eq!(observe(&mut c, &nodes, 3, Observation::ReconfigProposed { config: v12() }), None);
    // An observer listed where the proposal had none is another membership too.
    let v = activate(&mut c, &nodes, 1, qv(&[1, 2], &[3], z(1, 2)));
    assert_violation(v, Invariant::ConfigAgreement, &[3, 1]);
}

#[test]
fn activating_other_members_than_the_committed_reconfig_breaks_config_agreement() {
    let (mut c, nodes) = reconfig_committed();
    // The first activation of 1:2, so only the committed txn can contradict it.
    let v = activate(&mut c, &nodes, 3, qv(&[1, 3], &[], z(1, 2)));
    assert_violation(v, Invariant::ConfigAgreement, &[3]);
}

#[test]
fn activating_a_reconfig_neither_committed_nor_logged_breaks_config_activation() {
    let (mut c, nodes) = reconfig_pending();
    // No server's log has a reconfig 1:3, and nobody activated it.
    let v = activate(&mut c, &nodes, 3, qv(&[1, 2], &[], z(1, 3)));
    assert_violation(v, Invariant::ConfigActivation, &[3]);
    // 1:2 is in leader 1's log: a learner may activate it (NEWLEADER carries it),
    // provisionally until it commits or can no longer commit.
    assert_eq!(activate(&mut c, &nodes, 3, v12()), None);
}

#[test]
fn activating_a_reconfig_whose_logged_txn_has_other_members_breaks_config_activation() {
    let (mut c, nodes) = reconfig_pending();
    let v = activate(&mut c, &nodes, 1, qv(&[2, 3], &[], z(1, 2)));
    assert_violation(v, Invariant::ConfigActivation, &[1]);
}

#[test]
fn activating_a_logged_reconfig_the_committed_log_went_past_breaks_config_activation() {
    let mut c = checker();
    let nodes = vec![Some(node_with(1, with_v12())), Some(node(2, &[z(1, 1)])), Some(node(3, &[z(1, 1), z(2, 1)]))];
    assert_eq!(establish(&mut c, &nodes, 3, 2), None);
    // 2:1 is committed right after 1:1: 1:2 can never be.
    let v = activate(&mut c, &nodes, 1, v12());
    assert_violation(v, Invariant::ConfigActivation, &[1]);
}

#[test]
fn an_epoch_config_activated_without_an_established_leader_breaks_config_activation() {
    let mut c = checker();
    let nodes = cluster([&[], &[], &[]]);
    // ZOOKEEPER-1783's version of epoch 4, which no leader established.
    let v = activate(&mut c, &nodes, 2, qv(&[1, 2, 3], &[], z(4, 0)));
    assert_violation(v, Invariant::ConfigActivation, &[2]);
}

#[test]
fn a_reconfig_activated_before_its_commit_is_settled_by_the_commit() {
    let (mut c, mut nodes) = reconfig_pending();
    // Leader 1 activates the reconfig, then reports the commit (one step, in that order);
    // server 3, LOOKING, adopted it from a notification before it heard the commit.
    assert_eq!(observe(&mut c, &nodes, 1, Observation::ConfigActivated { config: v12(), designated: Some(1) }), None);
    assert_eq!(activate(&mut c, &nodes, 3, v12()), None);
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 2) }), None);
    assert_eq!(activate(&mut c, &nodes, 2, v12()), None);
    // Later commits find nothing left to settle.
    let mut log = with_v12();
    log.push(Txn { zxid: z(1, 3), op: Op::Initial });
    nodes[0] = Some(node_with(1, log));
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 3) }), None);
    assert_eq!(c.committed(), [z(1, 1), z(1, 2), z(1, 3)]);
}

#[test]
fn a_reconfig_activated_before_its_commit_that_can_no_longer_commit_is_an_uncommitted_config_activated() {
    let (mut c, mut nodes) = reconfig_pending();
    // Server 1 activates NEWLEADER's newest configuration at UPTODATE, as ZooKeeper's
    // learners do; server 2 adopts it from server 1 in FLE.
    assert_eq!(activate(&mut c, &nodes, 1, v12()), None);
    assert_eq!(activate(&mut c, &nodes, 2, v12()), None);
    // Leader 3 commits 2:1 right after 1:1: the reconfig is lost.
    nodes[2] = Some(node(3, &[z(1, 1), z(2, 1)]));
    let v = observe(&mut c, &nodes, 3, Observation::Committed { zxid: z(2, 1) });
    assert_violation(v, Invariant::UncommittedConfigActivated, &[1, 2]);
}

#[test]
fn every_server_activates_the_epoch_config_its_leader_established_with() {
    let p = Pump::converged(&[z(1, 1)]);
    // ZOOKEEPER-1783: the leader of epoch 2 versions the static configuration 2:0, agreed
    // through NEWLEADER; the followers activate it at UPTODATE.
    let mut activated = p.activated.clone();
    activated.sort_unstable();
    assert_eq!(activated, [(1, z(2, 0), None), (2, z(2, 0), None), (3, z(2, 0), Some(3))]);
}

#[test]
fn a_reconfig_through_the_protocol_keeps_config_agreement_and_moves_the_quorum() {
    let mut p = Pump::converged(&[z(1, 1)]);
    assert_eq!(p.reconfig_removing(11, vec![1]), None);
    // The leader stays a voter, so it stays leader; every server activated the new one.
    let in_force = p.monitor.checker.config_in_force();
    assert_eq!(in_force.voter_set(), [2, 3].into_iter().collect());
    let version = in_force.version();
    assert!(p.monitor.checker.committed().contains(&version), "the reconfig {version} committed");
    let mut by: Vec<(Sid, Option<Sid>)> = p.activated.iter().filter(|a| a.1 == version).map(|a| (a.0, a.2)).collect();
    by.sort_unstable();
    assert_eq!(by, [(1, Some(3)), (2, Some(3)), (3, Some(3))]);
}

#[test]
fn a_reconfig_removing_the_leader_hands_off_without_breaking_config_agreement() {
    let mut p = Pump::converged(&[z(1, 1)]);
    assert_eq!(p.reconfig_removing(11, vec![3]), None);
    let in_force = p.monitor.checker.config_in_force();
    assert_eq!(in_force.voter_set(), [1, 2].into_iter().collect());
    // The committing leader named a voter of the new configuration, not itself.
    let (_, _, designated) =
        *p.activated.iter().find(|a| a.0 == 3 && a.1 == in_force.version()).expect("the leader activated it");
    assert!(matches!(designated, Some(1 | 2)), "{designated:?}");
    // It took over without an election and was established with the other voter.
    let d = designated.expect("named");
    let leader = p.nodes[d as usize - 1].as_ref().expect("up");
    assert!(leader.state() == ServerState::Leading && leader.is_established(), "{}", describe(&p.nodes));
}

#[test]
fn config_agreement_parses_by_name() {
    assert_eq!("ConfigAgreement".parse::<Invariant>(), Ok(Invariant::ConfigAgreement));
    assert!(Invariant::ALL.contains(&Invariant::ConfigAgreement));
    assert_eq!("ConfigActivation".parse::<Invariant>(), Ok(Invariant::ConfigActivation));
}

// ---------------------------------------------------------------------------------------
// CommittedLogDurability under the configuration in force (five servers; the initial
// ensemble is 1, 2, 3, and servers 4 and 5 are not members at first)

fn five(log: &[Txn]) -> Vec<Option<Node>> {
    (1..=5).map(|id| Some(node_with(id, log.to_vec()))).collect()
}

#[test]
fn before_a_reconfig_commits_only_the_initial_ensembles_voters_count_for_durability() {
    let mut c = Checker::new(QuorumVerifier::majority_of(3), 5);
    let nodes = five(&txns(&[z(1, 1)]));
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    assert_eq!(c.crashed(NOW, 1, &[]), None);
    // Servers 3, 4 and 5 hold the committed log, but only 3 votes.
    let v = c.crashed(NOW, 2, &[]);
    assert_violation(v, Invariant::CommittedLogDurability, &[3]);
}

#[test]
fn once_a_reconfig_commits_its_voters_count_for_durability() {
    let mut c = Checker::new(QuorumVerifier::majority_of(3), 5);
    let log = vec![Txn { zxid: z(1, 1), op: Op::Initial }, reconfig_txn(z(1, 2), &[3, 4, 5], &[])];
    let nodes = five(&log);
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    assert_eq!(c.config_in_force().voter_set(), [3, 4, 5].into_iter().collect());
    // Servers 1 and 2 left the ensemble: their copies no longer count.
    assert_eq!(c.crashed(NOW, 1, &[]), None);
    assert_eq!(c.crashed(NOW, 2, &[]), None);
    assert_eq!(c.crashed(NOW, 3, &[]), None);
    let v = c.crashed(NOW, 4, &log[..1]);
    assert_violation(v, Invariant::CommittedLogDurability, &[5]);
}

#[test]
fn a_reconfig_committed_by_a_commit_moves_the_quorum_then() {
    let mut c = Checker::new(QuorumVerifier::majority_of(3), 5);
    let mut nodes = five(&txns(&[z(1, 1)]));
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    let log = vec![Txn { zxid: z(1, 1), op: Op::Initial }, reconfig_txn(z(1, 2), &[3, 4, 5], &[])];
    for (i, n) in nodes.iter_mut().enumerate() {
        *n = Some(node_with(i as Sid + 1, log.clone()));
    }
    assert_eq!(c.config_in_force().voter_set(), [1, 2, 3].into_iter().collect());
    assert_eq!(observe(&mut c, &nodes, 1, Observation::Committed { zxid: z(1, 2) }), None);
    assert_eq!(c.config_in_force(), qv(&[3, 4, 5], &[], z(1, 2)));
    // Losing the old voters' copies is no loss now; losing 3 and 4 is.
    assert_eq!(c.crashed(NOW, 1, &[]), None);
    assert_eq!(c.crashed(NOW, 2, &[]), None);
    assert_eq!(c.crashed(NOW, 3, &[]), None);
    let v = c.crashed(NOW, 4, &[]);
    assert_violation(v, Invariant::CommittedLogDurability, &[5]);
}

#[test]
fn an_observer_holding_the_committed_log_does_not_make_it_durable() {
    let mut c = Checker::new(QuorumVerifier::majority_of(3), 4);
    let log = vec![Txn { zxid: z(1, 1), op: Op::Initial }, reconfig_txn(z(1, 2), &[1, 2, 3], &[4])];
    let nodes: Vec<Option<Node>> = (1..=4).map(|id| Some(node_with(id, log.clone()))).collect();
    assert_eq!(establish(&mut c, &nodes, 1, 1), None);
    assert_eq!(c.crashed(NOW, 2, &[]), None);
    // Servers 1 and 4 hold it; observer 4 does not vote.
    let v = c.crashed(NOW, 3, &[]);
    assert_violation(v, Invariant::CommittedLogDurability, &[1]);
}

/// ZOOKEEPER-2172's trace: a learner whose history commits reconfig 1:2 starts serving with
/// the older configuration still in force (it took COMMITANDACTIVATE for a COMMIT).
#[test]
fn serving_with_an_older_configuration_than_the_history_commits_breaks_config_activation() {
    let (mut c, nodes) = reconfig_committed();
    // Server 2 holds 1:2 but never activated it: its static configuration is in force.
    assert_eq!(nodes[1].as_ref().unwrap().quorum_verifier().version(), Zxid::ZERO);
    let synced = Observation::Synced { leader: 1, epoch: 1, committed_upto: z(1, 2) };
    let v = observe(&mut c, &nodes, 2, synced);
    assert_violation(v, Invariant::ConfigActivation, &[2]);
    // Serving up to 1:1 only, the static configuration is the newest its history commits.
    let (mut c, nodes) = reconfig_committed();
    let synced = Observation::Synced { leader: 1, epoch: 1, committed_upto: z(1, 1) };
    assert_eq!(observe(&mut c, &nodes, 2, synced), None);
}

/// Server 1 with log 1:1..1:3, following 3: LEADERINFO(2) accepted, TRUNC to 1:2, then
/// the PROPOSAL and COMMIT of 2:1 before NEWLEADER (a txn the leader had committed and
/// not applied, `startForwarding`), and the connection breaks.
fn follower_after_interrupted_trunc() -> (Node, Vec<Effect>) {
    let mut out = Outbox::default();
    let log = [z(1, 1), z(1, 2), z(1, 3)];
    let mut n = elect(1, 3, &log, &mut out);
    assert_eq!(n.state(), ServerState::Following);
    let mut out = Outbox::default();
    n.step(Input::Message { from: 3, msg: Message::LeaderInfo { epoch: 2 } }, &mut out);
    for e in std::mem::take(&mut out.effects) {
        if let Effect::Fsync { id, .. } = e {
            n.step(Input::Durable { fsync: id }, &mut out);
        }
    }
    let t = Txn { zxid: z(2, 1), op: Op::Initial };
    for msg in [Message::Trunc { zxid: z(1, 2) }, Message::Proposal { txn: t }, Message::Commit { zxid: z(2, 1) }] {
        n.step(Input::Message { from: 3, msg }, &mut out);
    }
    let mut out = Outbox::default();
    n.step(Input::ConnectionDown { peer: 3 }, &mut out);
    (n, out.effects)
}

#[test]
fn a_server_looking_again_with_a_txn_in_memory_its_files_lack_breaks_last_logged_zxid() {
    let (n, effects) = follower_after_interrupted_trunc();
    assert!(effects.iter().any(|e| matches!(e, Effect::Observe(Observation::ElectionStarted { .. }))));
    assert_eq!((n.last_processed(), n.log().last().map(|t| t.zxid)), (z(2, 1), Some(z(1, 2))));
    let nodes = vec![Some(n), None, None];
    let mut c = checker();
    let v = observe(
        &mut c,
        &nodes,
        1,
        Observation::ElectionStarted { round: 2, reason: LookingReason::LeaderConnectionLost },
    );
    assert_violation(v, Invariant::LastLoggedZxid, &[1]);
}

#[test]
fn a_server_looking_with_what_its_files_hold_keeps_last_logged_zxid() {
    let nodes = cluster([&[z(1, 1)], &[], &[]]);
    let mut c = checker();
    let started = Observation::ElectionStarted { round: 1, reason: LookingReason::Startup };
    assert!(observe(&mut c, &nodes, 1, started.clone()).is_none());
    assert!(observe(&mut c, &nodes, 2, started).is_none(), "an empty server");
}
