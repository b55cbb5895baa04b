//! Unit tests of Zab's leader and follower state machines, driven through [`Node::step`].
//!
//! Each test pins one behaviour of ZooKeeper 3.9 and names the class and method it comes
//! from. Servers 1, 2 and 3 form a majority ensemble; server 3 leads whenever one leads.

use crate::api::{CreateMode, ErrorCode, MembershipChange, ReconfigRequest, Request, Response};
use crate::contract::{
    ClientReply, ClientRequest, Effect, ExitCode, Input, LookingReason, NodeConfig, Observation, Outbox, Timer,
};
use crate::durable::{DiskFile, DiskWrite, DurableState, Op, ReconfigTxn, Txn};
use crate::message::{Message, Notification};
use crate::node::Node;
use crate::quorum::QuorumVerifier;
use crate::timing::Timing;
use crate::types::{Epoch, ServerState, Sid, Zxid};
use crate::variant::Variant;

const LEADER: Sid = 3;

/// NEWLEADER as a leader of servers 1-3 sends it: its static configuration, versioned with
/// the NEWLEADER zxid (ZOOKEEPER-1783).
fn newleader_msg(zxid: Zxid) -> Message {
    Message::NewLeader { zxid, config: QuorumVerifier::majority_of(3).with_version(zxid) }
}

fn z(epoch: Epoch, counter: u64) -> Zxid {
    Zxid::new(epoch, counter)
}

fn txn(epoch: Epoch, counter: u64) -> Txn {
    Txn { zxid: z(epoch, counter), op: Op::Initial }
}

fn node(id: Sid, variant: Variant, durable: DurableState) -> Node {
    let cfg = NodeConfig::new(id, QuorumVerifier::majority_of(3), Timing::default(), variant);
    Node::recover(cfg, durable).expect("a consistent durable image")
}

/// One input; returns the effects it produced.
fn step(n: &mut Node, input: Input) -> Vec<Effect> {
    let mut out = Outbox::default();
    n.step(input, &mut out);
    out.effects
}

fn recv(n: &mut Node, from: Sid, msg: Message) -> Vec<Effect> {
    step(n, Input::Message { from, msg })
}

/// Messages sent at once (not riding on an fsync), in order.
fn sent(effects: &[Effect]) -> Vec<(Sid, Message)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

fn sent_to(effects: &[Effect], peer: Sid) -> Vec<Message> {
    sent(effects).into_iter().filter(|(to, _)| *to == peer).map(|(_, m)| m).collect()
}

/// Disk writes, fsyncs and sends, in order: what reaches disk and network.
fn io(effects: &[Effect]) -> Vec<Effect> {
    effects
        .iter()
        .filter(|e| {
            matches!(e, Effect::Write(w) if w.file() != DiskFile::Config)
                || matches!(e, Effect::Fsync { .. } | Effect::Send { .. })
        })
        .map(normalized)
        .collect()
}

/// An append with its file and preallocation left out (the txn log's own tests pin
/// which file an append goes to).
fn normalized(e: &Effect) -> Effect {
    match e {
        Effect::Write(DiskWrite::Append { txn, .. }) => appended(txn.clone()),
        other => other.clone(),
    }
}

fn appended(txn: Txn) -> Effect {
    Effect::Write(DiskWrite::Append { file: Zxid::ZERO, txn })
}

/// Everything but timers.
fn without_timers(effects: &[Effect]) -> Vec<Effect> {
    effects
        .iter()
        .filter(|e| !matches!(e, Effect::SetTimer { .. } | Effect::CancelTimer { .. }))
        .map(normalized)
        .collect()
}

fn fsync_ids(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Fsync { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

fn observed(effects: &[Effect]) -> Vec<Observation> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Observe(o) => Some(o.clone()),
            _ => None,
        })
        .collect()
}

/// Why the server went back to LOOKING in this step, if it did.
fn looking_reason(effects: &[Effect]) -> Option<LookingReason> {
    observed(effects).into_iter().find_map(|o| match o {
        Observation::ElectionStarted { reason, .. } => Some(reason),
        _ => None,
    })
}

fn write_request(client: u64, seq: u64) -> Input {
    Input::Client { client, request: ClientRequest::Write { seq } }
}

/// Server 3 elected in round 1: 1 and 2 vote for its own vote, then finalizeWait passes
/// (`FastLeaderElection.lookForLeader`). Returns the deciding step's effects.
fn elected_leader(variant: Variant, durable: DurableState) -> (Node, Vec<Effect>) {
    let mut n = node(LEADER, variant, durable);
    step(&mut n, Input::Start);
    let v = n.vote();
    for from in [1, 2] {
        let vote = Notification {
            state: ServerState::Looking,
            leader: LEADER,
            zxid: v.zxid,
            election_epoch: 1,
            peer_epoch: v.peer_epoch,
            config: QuorumVerifier::majority_of(3),
        };
        recv(&mut n, from, Message::Notification(vote));
    }
    let effects = step(&mut n, Input::Timer { timer: Timer::FleFinalize });
    assert_eq!(n.state(), ServerState::Leading);
    (n, effects)
}

/// Server `id` (1 or 2) following 3: 3 says LEADING and the other server FOLLOWING 3
/// (`FastLeaderElection.receivedFollowingNotification`, `checkLeader`).
fn elected_follower(id: Sid, variant: Variant, durable: DurableState) -> (Node, Vec<Effect>) {
    let mut n = node(id, variant, durable);
    step(&mut n, Input::Start);
    let leading = Notification {
        state: ServerState::Leading,
        leader: LEADER,
        zxid: Zxid::ZERO,
        election_epoch: 1,
        peer_epoch: 0,
        config: QuorumVerifier::majority_of(3),
    };
    recv(&mut n, LEADER, Message::Notification(leading));
    let following = Notification { state: ServerState::Following, ..leading };
    let effects = recv(&mut n, 3 - id, Message::Notification(following));
    assert_eq!((n.state(), n.leader()), (ServerState::Following, Some(LEADER)));
    (n, effects)
}

/// Leader 3, elected, with FOLLOWERINFO from 1 and 2 (these acceptedEpochs) and its own
/// acceptedEpoch durable: LEADERINFO went to both.
fn leader_past_leaderinfo(durable: DurableState, accepted: [Epoch; 2]) -> Node {
    leader_past_leaderinfo_of(Variant::None, durable, accepted)
}

fn leader_past_leaderinfo_of(variant: Variant, durable: DurableState, accepted: [Epoch; 2]) -> Node {
    let (mut n, _) = elected_leader(variant, durable);
    let mut ids = fsync_ids(&recv(
        &mut n,
        1,
        Message::FollowerInfo { accepted_epoch: accepted[0], observer: false, config_version: Zxid::ZERO },
    ));
    ids.extend(fsync_ids(&recv(
        &mut n,
        2,
        Message::FollowerInfo { accepted_epoch: accepted[1], observer: false, config_version: Zxid::ZERO },
    )));
    assert_eq!(ids.len(), 1, "one acceptedEpoch fsync");
    let e = step(&mut n, Input::Durable { fsync: ids[0] });
    assert_eq!(sent(&e).len(), 2, "LEADERINFO to both learners");
    n
}

/// ... then ACKEPOCH (currentEpoch, last zxid) from 1 and from 2, and the currentEpoch
/// fsync completed. Returns the leader and the effects of that completion: the syncs.
fn leader_synchronizing(
    durable: DurableState,
    accepted: [Epoch; 2],
    acks: [(Option<Epoch>, Zxid); 2],
) -> (Node, Vec<Effect>) {
    leader_synchronizing_of(Variant::None, durable, accepted, acks)
}

fn leader_synchronizing_of(
    variant: Variant,
    durable: DurableState,
    accepted: [Epoch; 2],
    acks: [(Option<Epoch>, Zxid); 2],
) -> (Node, Vec<Effect>) {
    let mut n = leader_past_leaderinfo_of(variant, durable, accepted);
    let mut ids = Vec::new();
    for (sid, (current_epoch, last_zxid)) in [1, 2].into_iter().zip(acks) {
        ids.extend(fsync_ids(&recv(&mut n, sid, Message::AckEpoch { current_epoch, last_zxid })));
    }
    assert_eq!(ids.len(), 1, "one currentEpoch fsync");
    let syncs = step(&mut n, Input::Durable { fsync: ids[0] });
    (n, syncs)
}

/// Leader 3 serving in epoch 2 over history 1:1..1:2, learners 1 and 2 up to date.
fn established_leader() -> Node {
    established_leader_of(Variant::None)
}

fn established_leader_of(variant: Variant) -> Node {
    let last = z(1, 2);
    let durable = DurableState::with_history(1, 1, last);
    let (mut n, _) = leader_synchronizing_of(variant, durable, [1, 1], [(Some(1), last); 2]);
    for sid in [1, 2] {
        recv(&mut n, sid, Message::Ack { zxid: z(2, 0) });
    }
    assert!(n.is_established());
    n
}

/// Follower 1 of leader 3 (history 1:1..1:2, epochs 1), past LEADERINFO(2) with its
/// acceptedEpoch fsync completed.
fn follower_past_leaderinfo(variant: Variant) -> Node {
    let (mut f, _) = elected_follower(1, variant, DurableState::with_history(1, 1, z(1, 2)));
    let ids = fsync_ids(&recv(&mut f, LEADER, Message::LeaderInfo { epoch: 2 }));
    assert_eq!(ids, vec![0]);
    step(&mut f, Input::Durable { fsync: 0 });
    f
}

/// ... then a DIFF to 1:4 (PROPOSAL and COMMIT of 1:3 and 1:4) and NEWLEADER(2:0).
/// Returns NEWLEADER's effects.
fn follower_diffed_to_1_4(variant: Variant) -> (Node, Vec<Effect>) {
    let mut f = follower_past_leaderinfo(variant);
    assert!(io(&recv(&mut f, LEADER, Message::Diff { zxid: z(1, 4) })).is_empty());
    for c in [3, 4] {
        assert!(io(&recv(&mut f, LEADER, Message::Proposal { txn: txn(1, c) })).is_empty(), "held until NEWLEADER");
        assert!(io(&recv(&mut f, LEADER, Message::Commit { zxid: z(1, c) })).is_empty());
    }
    let effects = recv(&mut f, LEADER, newleader_msg(z(2, 0)));
    (f, effects)
}

/// Follower 1 serving in epoch 2 after an empty DIFF at 1:2.
fn serving_follower() -> Node {
    let mut f = follower_past_leaderinfo(Variant::None);
    recv(&mut f, LEADER, Message::Diff { zxid: z(1, 2) });
    let e = recv(&mut f, LEADER, newleader_msg(z(2, 0)));
    for fsync in fsync_ids(&e) {
        step(&mut f, Input::Durable { fsync });
    }
    recv(&mut f, LEADER, Message::UpToDate);
    assert!(f.is_established());
    f
}

fn newleader_ack() -> (Sid, Message) {
    (LEADER, Message::Ack { zxid: z(2, 0) })
}

/// The follower's ACK of a synced txn, to the leader.
fn txn_ack(epoch: Epoch, counter: u64) -> (Sid, Message) {
    (LEADER, Message::Ack { zxid: z(epoch, counter) })
}

fn append(epoch: Epoch, counter: u64) -> Effect {
    appended(txn(epoch, counter))
}

fn fsync(id: u64, file: DiskFile, then_send: Vec<(Sid, Message)>) -> Effect {
    Effect::Fsync { id, file, then_send }
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

/// `Leader.getEpochToPropose`: the epoch is max(acceptedEpoch) + 1 over the connecting
/// servers, decided once a quorum including the leader connected, and persisted with
/// `QuorumPeer.setAcceptedEpoch` before any `LearnerHandler` sends LEADERINFO.
#[test]
fn leader_proposes_max_accepted_epoch_plus_one_once_a_quorum_including_itself_connected() {
    let (mut n, decided) = elected_leader(Variant::None, DurableState::with_history(2, 2, z(2, 3)));
    assert_eq!(n.epoch(), None, "the leader alone is no quorum");
    // `Leader.lead` -> `loadData` takes a snapshot (not synced), nothing else.
    assert!(matches!(io(&decided).as_slice(), [Effect::Write(DiskWrite::Snapshot(s))] if s.zxid == z(2, 3)));

    let e1 = recv(&mut n, 1, Message::FollowerInfo { accepted_epoch: 4, observer: false, config_version: Zxid::ZERO });
    assert_eq!(n.epoch(), Some(5), "max(2, 4) + 1");
    assert_eq!(io(&e1), vec![Effect::Write(DiskWrite::AcceptedEpoch(5)), fsync(0, DiskFile::Epochs, vec![])]);
    assert_eq!(n.disk_view().accepted_epoch, 5);

    let e2 = recv(&mut n, 2, Message::FollowerInfo { accepted_epoch: 9, observer: false, config_version: Zxid::ZERO });
    assert_eq!(n.epoch(), Some(5), "a learner connecting after the decision does not change it");
    assert!(io(&e2).is_empty(), "no LEADERINFO before acceptedEpoch is durable");

    let durable = step(&mut n, Input::Durable { fsync: 0 });
    assert_eq!(sent(&durable), vec![(1, Message::LeaderInfo { epoch: 5 }), (2, Message::LeaderInfo { epoch: 5 })]);

    // The leader's own acceptedEpoch counts in the maximum too.
    let (mut n, _) = elected_leader(Variant::None, DurableState::with_history(6, 2, z(2, 3)));
    recv(&mut n, 1, Message::FollowerInfo { accepted_epoch: 3, observer: false, config_version: Zxid::ZERO });
    assert_eq!(n.epoch(), Some(7));
}

/// `Learner.registerWithLeader`: a newer epoch is persisted (`setAcceptedEpoch`) before
/// ACKEPOCH(currentEpoch, lastLoggedZxid) is written; here ACKEPOCH rides on the fsync.
#[test]
fn follower_persists_a_newer_epoch_before_ackepoch_which_rides_on_the_fsync() {
    let (mut f, decided) = elected_follower(1, Variant::None, DurableState::with_history(1, 1, z(1, 2)));
    assert_eq!(
        sent(&decided),
        vec![(LEADER, Message::FollowerInfo { accepted_epoch: 1, observer: false, config_version: Zxid::ZERO })]
    );

    let e = recv(&mut f, LEADER, Message::LeaderInfo { epoch: 2 });
    let ack = Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 2) };
    assert_eq!(
        io(&e),
        vec![Effect::Write(DiskWrite::AcceptedEpoch(2)), fsync(0, DiskFile::Epochs, vec![(LEADER, ack)])]
    );
    assert!(observed(&e).contains(&Observation::FollowerConnected { leader: LEADER, epoch: 2 }));
    assert_eq!(f.epoch(), Some(2));
    assert_eq!((f.disk_view().accepted_epoch, f.disk_view().current_epoch), (2, 1));
}

/// `Learner.registerWithLeader`: LEADERINFO of the epoch already accepted is answered at
/// once with currentEpoch -1, which the leader does not count.
#[test]
fn follower_answers_leaderinfo_of_its_accepted_epoch_with_current_epoch_minus_one() {
    let (mut f, _) = elected_follower(1, Variant::None, DurableState::with_history(2, 1, z(1, 2)));
    let e = recv(&mut f, LEADER, Message::LeaderInfo { epoch: 2 });
    assert_eq!(
        io(&e),
        vec![Effect::Send { to: LEADER, msg: Message::AckEpoch { current_epoch: None, last_zxid: z(1, 2) } }]
    );
    assert_eq!(f.state(), ServerState::Following);
}

/// `Learner.registerWithLeader`: "Leaders epoch, E is less than accepted epoch, A" is an
/// IOException: the follower leaves and goes back to election.
#[test]
fn follower_goes_back_to_looking_on_leaderinfo_older_than_its_accepted_epoch() {
    let (mut f, _) = elected_follower(1, Variant::None, DurableState::with_history(3, 1, z(1, 2)));
    let e = recv(&mut f, LEADER, Message::LeaderInfo { epoch: 2 });
    assert_eq!(f.state(), ServerState::Looking);
    assert_eq!(looking_reason(&e), Some(LookingReason::EpochBehind));
    assert!(e.contains(&Effect::CloseConnection { peer: LEADER }));
    assert!(!sent(&e).iter().any(|(_, m)| matches!(m, Message::AckEpoch { .. })));
    assert_eq!(f.disk_view().accepted_epoch, 3);
}

/// `Leader.waitForEpochAck` with `StateSummary.isMoreRecentThan`: a learner whose
/// (currentEpoch, lastZxid) is ahead of the leader's makes its `LearnerHandler` give up;
/// an equal one counts.
#[test]
fn leader_closes_a_learner_whose_ackepoch_shows_it_is_ahead() {
    let mut n = leader_past_leaderinfo(DurableState::with_history(1, 1, z(1, 2)), [1, 1]);

    let e = recv(&mut n, 1, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 5) });
    assert_eq!(without_timers(&e), vec![Effect::CloseConnection { peer: 1 }], "same epoch, longer log");
    let e = recv(&mut n, 2, Message::AckEpoch { current_epoch: Some(2), last_zxid: z(1, 1) });
    assert_eq!(without_timers(&e), vec![Effect::CloseConnection { peer: 2 }], "newer currentEpoch");
    assert_eq!((n.state(), n.disk_view().current_epoch), (ServerState::Leading, 1), "no quorum yet");

    // Learner 1 reconnects; the epoch is durable, so LEADERINFO goes out at once.
    let e = recv(&mut n, 1, Message::FollowerInfo { accepted_epoch: 2, observer: false, config_version: Zxid::ZERO });
    assert_eq!(sent(&e), vec![(1, Message::LeaderInfo { epoch: 2 })]);
    let e = recv(&mut n, 1, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 2) });
    assert!(observed(&e).contains(&Observation::LeaderEpoch { epoch: 2 }), "an equal summary is not ahead");
}

/// `LearnerHandler.run`: a FOLLOWERINFO whose `LearnerInfo` carries a later activated
/// configuration than the leader's (`getQuorumVerifierVersion`) makes the handler throw
/// "Follower is ahead of the leader (has a later activated configuration)": the learner
/// is not counted for the epoch and its connection closes; an equal or older one is
/// served. The learner sends `getQuorumVerifier().getVersion()` (`registerWithLeader`).
#[test]
fn leader_closes_a_learner_whose_followerinfo_carries_a_later_activated_configuration() {
    let (mut n, _) = elected_leader(Variant::None, DurableState::with_history(1, 1, z(1, 2)));
    assert_eq!(n.quorum_verifier().version(), Zxid::ZERO);
    let ahead = Message::FollowerInfo { accepted_epoch: 1, observer: false, config_version: z(1, 1) };
    let e = recv(&mut n, 1, ahead);
    assert_eq!(without_timers(&e), vec![Effect::CloseConnection { peer: 1 }]);
    assert_eq!(n.epoch(), None, "not counted in getEpochToPropose");
    let e = recv(&mut n, 2, Message::FollowerInfo { accepted_epoch: 1, observer: false, config_version: Zxid::ZERO });
    assert_eq!(n.epoch(), Some(2));
    assert!(!e.iter().any(|x| matches!(x, Effect::CloseConnection { .. })));

    // The follower's side: its FOLLOWERINFO carries the configuration in force.
    let mut durable = DurableState::with_history(1, 1, z(1, 2));
    let config = QuorumVerifier::majority_of(3).with_version(z(1, 0));
    durable.config = Some(config);
    let (_, e) = elected_follower(1, Variant::None, durable);
    let info = Message::FollowerInfo { accepted_epoch: 1, observer: false, config_version: config.version() };
    assert_eq!(sent_to(&e, LEADER), vec![info]);
}

/// `Leader.lead`: after `waitForEpochAck` sees a quorum (itself included) of ACKEPOCH with
/// a real currentEpoch, `setCurrentEpoch`; an ACKEPOCH of -1 is not counted.
#[test]
fn leader_persists_current_epoch_on_a_quorum_of_ackepoch_and_reports_leader_epoch() {
    let mut n = leader_past_leaderinfo(DurableState::with_history(1, 1, z(1, 2)), [1, 1]);

    let e = recv(&mut n, 1, Message::AckEpoch { current_epoch: None, last_zxid: z(1, 2) });
    assert!(without_timers(&e).is_empty(), "-1 does not count");
    assert_eq!(n.disk_view().current_epoch, 1);

    let e = recv(&mut n, 2, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 2) });
    assert_eq!(
        without_timers(&e),
        vec![
            Effect::Observe(Observation::LeaderEpoch { epoch: 2 }),
            Effect::Write(DiskWrite::CurrentEpoch(2)),
            fsync(1, DiskFile::Epochs, vec![]),
        ]
    );
    assert_eq!(n.disk_view().current_epoch, 2);

    // Once currentEpoch is durable both learners are synchronized, the -1 one included.
    let e = step(&mut n, Input::Durable { fsync: 1 });
    for sid in [1, 2] {
        assert_eq!(sent_to(&e, sid), vec![Message::Diff { zxid: z(1, 2) }, newleader_msg(z(2, 0))]);
    }
}

// ---------------------------------------------------------------------------------------
// Synchronization
// ---------------------------------------------------------------------------------------

/// `LearnerHandler.syncFollower` / `queueCommittedProposals`: DIFF with PROPOSAL+COMMIT
/// pairs for a learner behind inside the committed window, TRUNC to maxCommittedLog for
/// one past it, SNAP for one far behind; NEWLEADER is queued after the payload
/// (`LearnerHandler.run`).
#[test]
fn leader_syncs_by_diff_trunc_or_snap_and_queues_newleader_after_the_payload() {
    // The leader's history: 1:1..1:600; its currentEpoch 2 (epoch 2 logged nothing).
    let (mut n, syncs) = leader_synchronizing(
        DurableState::with_history(2, 2, z(1, 600)),
        [2, 1],
        // 1 is behind; 2, the old leader of epoch 1, logged 1:601..1:605 nobody else has.
        [(Some(2), z(1, 598)), (Some(1), z(1, 605))],
    );
    let newleader = newleader_msg(z(3, 0));
    assert_eq!(
        sent_to(&syncs, 1),
        vec![
            Message::Diff { zxid: z(1, 600) },
            Message::Proposal { txn: txn(1, 599) },
            Message::Commit { zxid: z(1, 599) },
            Message::Proposal { txn: txn(1, 600) },
            Message::Commit { zxid: z(1, 600) },
            newleader.clone(),
        ]
    );
    assert_eq!(sent_to(&syncs, 2), vec![Message::Trunc { zxid: z(1, 600) }, newleader.clone()]);

    // Learner 1 comes back far below the 500-txn window, with most of the log to catch up.
    assert_eq!(
        sent(&recv(
            &mut n,
            1,
            Message::FollowerInfo { accepted_epoch: 3, observer: false, config_version: Zxid::ZERO }
        )),
        vec![(1, Message::LeaderInfo { epoch: 3 })]
    );
    // One log file: its size counts 0 against the snapshot's (`getProposalsFromTxnLog`), so
    // the txn log serves a DIFF of the 590 txns, then the committed log adds nothing new.
    let e = recv(&mut n, 1, Message::AckEpoch { current_epoch: None, last_zxid: z(1, 10) });
    let to_1 = sent_to(&e, 1);
    assert_eq!(to_1.first(), Some(&Message::Diff { zxid: z(1, 600) }));
    assert_eq!(to_1.len(), 1 + 2 * 590 + 1);
    assert_eq!(to_1.last(), Some(&newleader));
}

/// `Learner.syncWithLeader` on NEWLEADER (3.9.3, the fixes of ZOOKEEPER-3911, -4643 and
/// -4646): log the synced txns and flush the log, then `setCurrentEpoch`, and only then
/// write the NEWLEADER ACK; the synced txns' own ACKs follow it (the sync processor's
/// forwarding is held back until then, ZOOKEEPER-4685). Serve after UPTODATE, applied up
/// to the last COMMIT.
#[test]
fn follower_on_newleader_logs_and_fsyncs_synced_txns_then_persists_current_epoch_and_acks_with_it() {
    let (mut f, e) = follower_diffed_to_1_4(Variant::None);
    // currentEpoch is written only once the log fsync has returned.
    assert_eq!(io(&e), vec![append(1, 3), append(1, 4), fsync(1, DiskFile::Log, vec![])]);
    assert!(observed(&e).contains(&Observation::NewLeaderAcked { leader: LEADER, epoch: 2 }));
    assert_eq!(f.disk_view().current_epoch, 1);
    // The committed synced txns are never acknowledged (`packetsCommitted`).
    let e = step(&mut f, Input::Durable { fsync: 1 });
    assert_eq!(
        io(&e),
        vec![Effect::Write(DiskWrite::CurrentEpoch(2)), fsync(2, DiskFile::Epochs, vec![newleader_ack()])]
    );
    assert_eq!(f.log().last().map(|t| t.zxid), Some(z(1, 4)));
    assert_eq!(f.disk_view().current_epoch, 2);
    assert!(!f.is_established());

    let e = recv(&mut f, LEADER, Message::UpToDate);
    assert_eq!(io(&e), vec![Effect::Send { to: LEADER, msg: Message::Ack { zxid: z(2, 0) } }], "the UPTODATE ACK");
    assert!(f.is_established());
    assert_eq!(f.last_processed(), z(1, 4));
    assert!(observed(&e).contains(&Observation::Synced { leader: LEADER, epoch: 2, committed_upto: z(1, 4) }));
}

/// `Learner.syncWithLeader` (3.9.3): after NEWLEADER, proposals wait in
/// `packetsNotLogged` and are logged (and acknowledged once flushed) only after UPTODATE,
/// so no proposal ACK can overtake the NEWLEADER ACK (ZOOKEEPER-4685).
#[test]
fn a_proposal_after_newleader_is_logged_and_acked_only_after_uptodate() {
    let (mut f, _) = follower_diffed_to_1_4(Variant::None);
    assert!(io(&recv(&mut f, LEADER, Message::Proposal { txn: txn(2, 1) })).is_empty());
    let e = step(&mut f, Input::Durable { fsync: 1 });
    assert_eq!(
        io(&e),
        vec![Effect::Write(DiskWrite::CurrentEpoch(2)), fsync(2, DiskFile::Epochs, vec![newleader_ack()])]
    );
    assert!(io(&recv(&mut f, LEADER, Message::Proposal { txn: txn(2, 2) })).is_empty());
    assert!(io(&step(&mut f, Input::Durable { fsync: 2 })).is_empty(), "still held after the NEWLEADER ACK");
    let e = recv(&mut f, LEADER, Message::UpToDate);
    assert_eq!(
        io(&e),
        vec![
            Effect::Send { to: LEADER, msg: Message::Ack { zxid: z(2, 0) } },
            append(2, 1),
            append(2, 2),
            fsync(3, DiskFile::Log, vec![txn_ack(2, 1), txn_ack(2, 2)]),
        ]
    );
    // And from then on, as usual.
    let e = recv(&mut f, LEADER, Message::Proposal { txn: txn(2, 3) });
    assert_eq!(io(&e), vec![append(2, 3), fsync(4, DiskFile::Log, vec![txn_ack(2, 3)])]);
}

#[test]
fn zk_3911_acks_newleader_before_the_diff_txns_are_logged() {
    let (mut f, e) = follower_diffed_to_1_4(Variant::Zk3911);
    assert_eq!(
        io(&e),
        vec![Effect::Write(DiskWrite::CurrentEpoch(2)), fsync(1, DiskFile::Epochs, vec![newleader_ack()])]
    );
    assert_eq!(f.log().last().map(|t| t.zxid), Some(z(1, 2)));
    let e = recv(&mut f, LEADER, Message::UpToDate);
    assert_eq!(io(&e), vec![append(1, 3), append(1, 4), fsync(2, DiskFile::Log, vec![txn_ack(1, 3), txn_ack(1, 4)])]);
    assert_eq!(f.last_processed(), z(1, 4));
}

/// ZOOKEEPER-4643 (variant.rs): currentEpoch is written and fsynced before the synced
/// txns are logged; the ACK waits for the log flush.
#[test]
fn zk_4643_persists_current_epoch_before_the_synced_txns() {
    let (_, e) = follower_diffed_to_1_4(Variant::Zk4643);
    assert_eq!(
        io(&e),
        vec![
            Effect::Write(DiskWrite::CurrentEpoch(2)),
            fsync(1, DiskFile::Epochs, vec![]),
            append(1, 3),
            append(1, 4),
            fsync(2, DiskFile::Log, vec![newleader_ack(), txn_ack(1, 3), txn_ack(1, 4)]),
        ]
    );
}

/// ZOOKEEPER-4646 (variant.rs): the synced txns are logged, but the ACK rides on the
/// currentEpoch fsync, issued before the log's flush.
#[test]
fn zk_4646_acks_newleader_before_the_log_flush() {
    let (_, e) = follower_diffed_to_1_4(Variant::Zk4646);
    assert_eq!(
        io(&e),
        vec![
            append(1, 3),
            append(1, 4),
            Effect::Write(DiskWrite::CurrentEpoch(2)),
            fsync(1, DiskFile::Epochs, vec![newleader_ack()]),
            fsync(2, DiskFile::Log, vec![txn_ack(1, 3), txn_ack(1, 4)]),
        ]
    );
}

/// ZOOKEEPER-4685 (variant.rs): each synced txn is ACKed with the log flush, before the
/// NEWLEADER ACK, which still follows currentEpoch.
#[test]
fn zk_4685_acks_the_synced_txns_before_newleader() {
    let (mut f, e) = follower_diffed_to_1_4(Variant::Zk4685);
    assert_eq!(io(&e), vec![append(1, 3), append(1, 4), fsync(1, DiskFile::Log, vec![txn_ack(1, 3), txn_ack(1, 4)])]);
    let e = step(&mut f, Input::Durable { fsync: 1 });
    assert_eq!(
        io(&e),
        vec![Effect::Write(DiskWrite::CurrentEpoch(2)), fsync(2, DiskFile::Epochs, vec![newleader_ack()])]
    );
}

/// The correct follower asserts that UPTODATE comes after NEWLEADER's sequence, which ends
/// with the ACK that UPTODATE answers: here UPTODATE arrives while currentEpoch still waits
/// for the log's fsync, which no correct leader can make happen.
#[test]
#[should_panic(expected = "UPTODATE before NEWLEADER's sequence ended")]
fn the_correct_follower_asserts_uptodate_comes_after_its_newleader_ack() {
    let (mut f, _) = follower_diffed_to_1_4(Variant::None);
    recv(&mut f, LEADER, Message::UpToDate);
}

/// ZOOKEEPER-4685's leader takes a synced txn's ACK for the NEWLEADER ACK and sends
/// UPTODATE early; the bug variant's follower takes it and serves with currentEpoch not yet
/// written (the preconditions are asserted for the correct protocol only).
#[test]
fn a_zk_4685_follower_serves_on_an_uptodate_before_its_current_epoch() {
    let (mut f, _) = follower_diffed_to_1_4(Variant::Zk4685);
    recv(&mut f, LEADER, Message::UpToDate);
    assert!(f.is_established());
    assert_eq!(f.disk_view().current_epoch, 1);
}

/// `Leader.waitForNewLeaderAck` returns on a quorum (the leader included), `Leader.lead`
/// starts serving and each `LearnerHandler` past `waitForStartup` queues UPTODATE; a
/// learner that ACKs later gets UPTODATE at once.
#[test]
fn leader_is_established_on_a_quorum_of_newleader_acks_and_sends_uptodate() {
    let last = z(1, 2);
    let (mut n, _) = leader_synchronizing(DurableState::with_history(1, 1, last), [1, 1], [(Some(1), last); 2]);
    assert!(!n.is_established());

    let e = recv(&mut n, 1, Message::Ack { zxid: z(2, 0) });
    assert!(n.is_established());
    assert_eq!(
        without_timers(&e),
        vec![
            // ZOOKEEPER-1783: the static configuration, versioned with the NEWLEADER zxid,
            // is activated once agreed, and `.next` deleted (`setQuorumVerifier`).
            Effect::Write(DiskWrite::Config(QuorumVerifier::majority_of(3).with_version(z(2, 0)))),
            Effect::Write(DiskWrite::DeleteNextConfig),
            Effect::Observe(Observation::ConfigActivated {
                config: QuorumVerifier::majority_of(3).with_version(z(2, 0)),
                designated: Some(3)
            }),
            Effect::Observe(Observation::LeaderEstablished { epoch: 2, round: 1, quorum: vec![1, 3] }),
            Effect::Send { to: 1, msg: Message::UpToDate },
        ]
    );
    assert!(e.contains(&Effect::CancelTimer { timer: Timer::LeaderInit }));
    assert!(e.contains(&Effect::SetTimer { timer: Timer::LeaderTick, after_us: Timing::default().half_tick_us() }));

    let e = recv(&mut n, 2, Message::Ack { zxid: z(2, 0) });
    assert_eq!(without_timers(&e), vec![Effect::Send { to: 2, msg: Message::UpToDate }]);
}

/// The mechanism of ZOOKEEPER-4685 (`LearnerHandler.run` reads one packet after NEWLEADER
/// and hands it to `Leader.waitForNewLeaderAck`, which logs "NEWLEADER ACK from sid ... is
/// from a different epoch" and returns): an ACK of another zxid first is not counted, and
/// the real NEWLEADER ACK after it is not counted either.
#[test]
fn an_ack_of_another_zxid_right_after_newleader_is_not_counted() {
    let (mut n, syncs) = leader_synchronizing(
        DurableState::with_history(1, 1, z(1, 4)),
        [1, 1],
        [(Some(1), z(1, 2)), (Some(1), z(1, 2))],
    );
    assert_eq!(sent_to(&syncs, 1).first(), Some(&Message::Diff { zxid: z(1, 4) }));

    let e = recv(&mut n, 1, Message::Ack { zxid: z(1, 3) });
    assert!(without_timers(&e).is_empty());
    let e = recv(&mut n, 1, Message::Ack { zxid: z(2, 0) });
    assert!(without_timers(&e).is_empty(), "learner 1 had its one chance");
    assert!(!n.is_established());

    let e = recv(&mut n, 2, Message::Ack { zxid: z(2, 0) });
    assert!(n.is_established());
    assert!(observed(&e).contains(&Observation::LeaderEstablished { epoch: 2, round: 1, quorum: vec![2, 3] }));
    assert_eq!(sent(&e), vec![(1, Message::UpToDate), (2, Message::UpToDate)], "1's handler moved on all the same");
}

// ---------------------------------------------------------------------------------------
// Broadcast
// ---------------------------------------------------------------------------------------

/// `Leader.startForwarding`: a learner synchronized while the leader serves gets the
/// outstanding proposals after its sync payload and before NEWLEADER; its ACK of one,
/// sent after its NEWLEADER ACK, counts in `Leader.processAck`.
#[test]
fn a_learner_synced_during_broadcast_gets_outstanding_proposals_and_its_ack_commits_them() {
    let mut n = leader_past_leaderinfo(DurableState::with_history(1, 1, z(1, 2)), [1, 1]);
    let ids = fsync_ids(&recv(&mut n, 1, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 2) }));
    step(&mut n, Input::Durable { fsync: ids[0] });
    recv(&mut n, 1, Message::Ack { zxid: z(2, 0) });
    assert!(n.is_established(), "with learner 1 alone");

    let t = Txn { zxid: z(2, 1), op: Op::Write { client: 7, seq: 1 } };
    let e = step(&mut n, write_request(7, 1));
    assert_eq!(sent(&e), vec![(1, Message::Proposal { txn: t.clone() })], "2 is not forwarding yet");
    assert!(without_timers(&step(&mut n, Input::Durable { fsync: fsync_ids(&e)[0] })).is_empty(), "1 never ACKs");

    let e = recv(&mut n, 2, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 2) });
    assert_eq!(
        sent(&e),
        vec![(2, Message::Diff { zxid: z(1, 2) }), (2, Message::Proposal { txn: t }), (2, newleader_msg(z(2, 0))),]
    );
    assert_eq!(sent(&recv(&mut n, 2, Message::Ack { zxid: z(2, 0) })), vec![(2, Message::UpToDate)]);
    let e = recv(&mut n, 2, Message::Ack { zxid: z(2, 1) });
    assert_eq!(sent(&e), vec![(1, Message::Commit { zxid: z(2, 1) }), (2, Message::Commit { zxid: z(2, 1) })]);
    assert!(e.contains(&Effect::ClientReply { client: 7, reply: ClientReply::WriteOk { seq: 1, zxid: z(2, 1) } }));
}

/// `Leader.tryToCommit` hands a committed txn to the `CommitProcessor` through
/// `toBeApplied`; `startForwarding` queues each txn still there past the learner's sync
/// point as PROPOSAL and COMMIT, before NEWLEADER. A learner ahead of the leader's applied
/// history (`maxCommittedLog`) is sent TRUNC, so it gets a committed txn before NEWLEADER:
/// the state ZOOKEEPER-5094 starts from.
#[test]
fn to_be_applied_txns_reach_a_learner_synced_meanwhile_before_newleader() {
    let mut n = leader_past_leaderinfo(DurableState::with_history(1, 1, z(1, 2)), [1, 1]);
    n.set_commit_processor_us(5_000);
    let ids = fsync_ids(&recv(&mut n, 1, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 2) }));
    step(&mut n, Input::Durable { fsync: ids[0] });
    recv(&mut n, 1, Message::Ack { zxid: z(2, 0) });
    assert!(n.is_established());

    let t = Txn { zxid: z(2, 1), op: Op::Write { client: 7, seq: 1 } };
    let e = step(&mut n, write_request(7, 1));
    step(&mut n, Input::Durable { fsync: fsync_ids(&e)[0] });
    let e = recv(&mut n, 1, Message::Ack { zxid: z(2, 1) });
    assert_eq!(sent(&e), vec![(1, Message::Commit { zxid: z(2, 1) })]);
    assert!(e.contains(&Effect::SetTimer { timer: Timer::CommitProcessor, after_us: 5_000 }), "{e:?}");
    assert!(!e.iter().any(|x| matches!(x, Effect::ClientReply { .. })), "not applied yet");
    assert_eq!(n.last_processed(), z(2, 0));

    // Learner 2 logged 1:3, which never committed: ahead of maxCommittedLog (1:2).
    let e = recv(&mut n, 2, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 3) });
    assert_eq!(
        sent(&e),
        vec![
            (2, Message::Trunc { zxid: z(1, 2) }),
            (2, Message::Proposal { txn: t.clone() }),
            (2, Message::Commit { zxid: z(2, 1) }),
            (2, newleader_msg(z(2, 0))),
        ]
    );

    let e = step(&mut n, Input::Timer { timer: Timer::CommitProcessor });
    assert!(e.contains(&Effect::ClientReply { client: 7, reply: ClientReply::WriteOk { seq: 1, zxid: z(2, 1) } }));
    assert_eq!(n.last_processed(), z(2, 1));
    // Applied: a learner at 1:3 that connects again falls in the committed log, across an
    // epoch: SNAP.
    step(&mut n, Input::ConnectionDown { peer: 2 });
    recv(&mut n, 2, Message::FollowerInfo { accepted_epoch: 2, observer: false, config_version: Zxid::ZERO });
    let e = recv(&mut n, 2, Message::AckEpoch { current_epoch: Some(1), last_zxid: z(1, 3) });
    assert!(matches!(sent(&e).first(), Some((2, Message::Snap { .. }))), "{:?}", sent(&e));
}

/// A leader that steps down with txns in `toBeApplied` drops them with its
/// `CommitProcessor`; `ZooKeeperServer.shutdown` fast-forwards over what its log holds.
#[test]
fn a_leader_stepping_down_cancels_its_commit_processor_and_fast_forwards() {
    let mut n = established_leader();
    n.set_commit_processor_us(5_000);
    let e = step(&mut n, write_request(7, 1));
    step(&mut n, Input::Durable { fsync: fsync_ids(&e)[0] });
    recv(&mut n, 1, Message::Ack { zxid: z(2, 1) });
    assert_eq!(n.last_processed(), z(2, 0));
    let e = step(&mut n, Input::ConnectionDown { peer: 1 });
    let e2 = step(&mut n, Input::ConnectionDown { peer: 2 });
    let mut all = e;
    all.extend(e2);
    for _ in 0..4 {
        if n.state() == ServerState::Looking {
            break;
        }
        all.extend(step(&mut n, Input::Timer { timer: Timer::LeaderTick }));
    }
    assert_eq!(n.state(), ServerState::Looking);
    assert!(all.contains(&Effect::CancelTimer { timer: Timer::CommitProcessor }), "{all:?}");
    assert_eq!(n.last_processed(), z(2, 1), "fast-forwarded over its log");
}

/// `Leader.propose` (zxid = epoch << 32 | counter, logged by the leader's own
/// `SyncRequestProcessor`, self-ACKed by `AckRequestProcessor` after the flush) and
/// `Leader.processAck` / `tryToCommit` (a quorum, strictly in zxid order), COMMIT sent to
/// forwarding followers, the client answered once the txn is applied.
#[test]
fn leader_proposes_acks_itself_after_its_fsync_and_commits_on_a_quorum_in_zxid_order() {
    let mut n = established_leader();
    let (z1, z2) = (z(2, 1), z(2, 2));
    let t1 = Txn { zxid: z1, op: Op::Write { client: 7, seq: 1 } };
    let t2 = Txn { zxid: z2, op: Op::Write { client: 7, seq: 2 } };

    let e = step(&mut n, write_request(7, 1));
    let f1 = fsync_ids(&e)[0];
    assert_eq!(
        without_timers(&e),
        vec![
            appended(t1.clone()),
            fsync(f1, DiskFile::Log, vec![]),
            Effect::Observe(Observation::Proposed { zxid: z1 }),
            Effect::Send { to: 1, msg: Message::Proposal { txn: t1.clone() } },
            Effect::Send { to: 2, msg: Message::Proposal { txn: t1 } },
        ]
    );
    let e = step(&mut n, write_request(7, 2));
    let f2 = fsync_ids(&e)[0];
    assert_eq!(sent(&e), vec![(1, Message::Proposal { txn: t2.clone() }), (2, Message::Proposal { txn: t2 })]);

    // 1's ACK alone is no quorum: the leader's own ACK waits for its fsync.
    assert!(without_timers(&recv(&mut n, 1, Message::Ack { zxid: z1 })).is_empty());
    // A quorum for 2:2 commits nothing while 2:1 is outstanding.
    assert!(without_timers(&recv(&mut n, 1, Message::Ack { zxid: z2 })).is_empty());
    assert!(without_timers(&recv(&mut n, 2, Message::Ack { zxid: z2 })).is_empty());
    // `startZkServer` labelled the tree `newEpoch << 32`.
    assert_eq!(n.last_processed(), z(2, 0));

    let e = step(&mut n, Input::Durable { fsync: f1 });
    let mut expected = Vec::new();
    for (zxid, seq) in [(z1, 1), (z2, 2)] {
        expected.push(Effect::Send { to: 1, msg: Message::Commit { zxid } });
        expected.push(Effect::Send { to: 2, msg: Message::Commit { zxid } });
        expected.push(Effect::Observe(Observation::Committed { zxid }));
        expected.push(Effect::ClientReply { client: 7, reply: ClientReply::WriteOk { seq, zxid } });
    }
    assert_eq!(without_timers(&e), expected);
    assert_eq!(n.last_processed(), z2);
    assert!(without_timers(&step(&mut n, Input::Durable { fsync: f2 })).is_empty(), "already committed");
}

/// `Learner.request` forwards a client's write; `Follower.processPacket`: PROPOSAL is
/// logged and ACKed once flushed (`SyncRequestProcessor`, `SendAckRequestProcessor`);
/// COMMIT applies it (`FollowerZooKeeperServer.commit`) and the client is answered.
#[test]
fn follower_logs_a_proposal_acks_it_after_fsync_and_applies_it_on_commit() {
    let mut f = serving_follower();
    let e = step(&mut f, write_request(9, 4));
    assert_eq!(io(&e), vec![Effect::Send { to: LEADER, msg: Message::Request { client: 9, seq: 4 } }]);

    let t = Txn { zxid: z(2, 1), op: Op::Write { client: 9, seq: 4 } };
    let e = recv(&mut f, LEADER, Message::Proposal { txn: t.clone() });
    let id = fsync_ids(&e)[0];
    assert_eq!(io(&e), vec![appended(t), fsync(id, DiskFile::Log, vec![(LEADER, Message::Ack { zxid: z(2, 1) })]),]);
    assert_eq!(f.last_processed(), z(1, 2), "logged, not applied");
    assert!(io(&step(&mut f, Input::Durable { fsync: id })).is_empty(), "the ACK rode on the fsync");

    let e = recv(&mut f, LEADER, Message::Commit { zxid: z(2, 1) });
    assert_eq!(
        without_timers(&e),
        vec![
            Effect::Observe(Observation::Delivered { zxid: z(2, 1) }),
            Effect::ClientReply { client: 9, reply: ClientReply::WriteOk { seq: 4, zxid: z(2, 1) } },
        ]
    );
    assert_eq!(f.last_processed(), z(2, 1));
}

/// `FollowerZooKeeperServer.commit`: "Committing zxid ... but next pending txn ..." exits
/// the process (the simulator's supervisor may start it again).
#[test]
fn a_commit_that_does_not_match_the_oldest_pending_txn_exits_the_process() {
    let mut f = serving_follower();
    recv(&mut f, LEADER, Message::Proposal { txn: txn(2, 1) });
    let e = recv(&mut f, LEADER, Message::Commit { zxid: z(2, 2) });
    // `FollowerZooKeeperServer.commit`: "Committing zxid 0x.. but next pending txn 0x..",
    // then `ServiceUtils.requestSystemExit(UNMATCHED_TXN_COMMIT)`.
    assert_eq!(e.last(), Some(&Effect::Exit { code: ExitCode::UnmatchedTxnCommit }));
    assert!(f.has_exited());
}

/// `Leader.lead`: every half tick (the tick counted every other turn) the leader checks
/// that `LearnerHandler.synced` (tick <= tickOfNextAckDeadline, moved by each packet to
/// tick + syncLimit) holds for a quorum; otherwise "Not sufficient followers synced".
#[test]
fn leader_whose_learners_stop_answering_steps_down_on_the_half_tick_check() {
    let mut n = established_leader();
    let tick = Input::Timer { timer: Timer::LeaderTick };
    let half_tick_us = Timing::default().half_tick_us();
    // The last packets arrived at tick 0: synced up to tick syncLimit (5), i.e. 11 turns.
    for turn in 1..=11 {
        let e = step(&mut n, tick.clone());
        assert_eq!(n.state(), ServerState::Leading, "turn {turn}");
        assert_eq!(sent(&e), vec![(1, Message::Ping), (2, Message::Ping)]);
        assert!(e.contains(&Effect::SetTimer { timer: Timer::LeaderTick, after_us: half_tick_us }));
    }
    let e = step(&mut n, tick);
    assert_eq!(n.state(), ServerState::Looking);
    assert_eq!(looking_reason(&e), Some(LookingReason::QuorumLost));
    assert!(e.contains(&Effect::CloseConnection { peer: 1 }) && e.contains(&Effect::CloseConnection { peer: 2 }));
}

/// `LearnerHandler.run`: any packet, a PING reply included, moves the learner's deadline,
/// so one learner answering keeps the leader's quorum (`Leader.lead`).
#[test]
fn leader_keeps_leading_while_a_quorum_of_learners_answers_pings() {
    let mut n = established_leader();
    for _ in 0..40 {
        step(&mut n, Input::Timer { timer: Timer::LeaderTick });
        recv(&mut n, 1, Message::Ping);
    }
    assert_eq!(n.state(), ServerState::Leading);
}

/// `Learner.connectToLeader` (`LeaderConnector`): 5 tries, `leaderConnectDelayDuringRetryMs`
/// (100 ms) apart; after the last the follower gives up and goes back to election.
#[test]
fn follower_whose_leader_refuses_five_connection_attempts_goes_back_to_looking() {
    let (mut f, decided) = elected_follower(1, Variant::None, DurableState::default());
    let mut attempts = sent(&decided).len();
    for _ in 1..=4 {
        let e = recv(&mut f, LEADER, Message::Refused);
        assert!(without_timers(&e).is_empty());
        assert!(e.contains(&Effect::SetTimer { timer: Timer::LearnerConnectRetry, after_us: 100_000 }));
        let e = step(&mut f, Input::Timer { timer: Timer::LearnerConnectRetry });
        assert_eq!(
            sent(&e),
            vec![(LEADER, Message::FollowerInfo { accepted_epoch: 0, observer: false, config_version: Zxid::ZERO })]
        );
        attempts += 1;
    }
    assert_eq!((attempts, f.state()), (5, ServerState::Following));
    let e = recv(&mut f, LEADER, Message::Refused);
    assert_eq!(f.state(), ServerState::Looking);
    assert_eq!(looking_reason(&e), Some(LookingReason::LeaderUnreachable));
}

/// `Leader.lead` starts each epoch at `ZxidUtils.makeZxid(epoch, 0)`, which is how the
/// re-election forced by a counter rollover (`Leader.propose`, XidRolloverException)
/// recovers: a history ending at counter 0xfffffffe does not carry into the new epoch.
#[test]
fn a_new_epoch_restarts_the_zxid_counter_after_a_history_near_rollover() {
    let near = z(1, 0xffff_fffe);
    let durable = DurableState::new(1, 1, vec![txn(1, 0xffff_fffe)]);
    let (mut n, _) = leader_synchronizing(durable, [1, 1], [(Some(1), near); 2]);
    for sid in [1, 2] {
        recv(&mut n, sid, Message::Ack { zxid: z(2, 0) });
    }
    let e = step(&mut n, write_request(7, 1));
    assert!(observed(&e).contains(&Observation::Proposed { zxid: z(2, 1) }));
    assert_eq!(n.state(), ServerState::Leading);
}

/// A server that is not serving (LOOKING, a leader before a quorum ACKed NEWLEADER, a
/// follower before UPTODATE) has no running `ZooKeeperServer`: the client is turned away.
#[test]
fn a_write_at_a_server_that_is_not_serving_gets_not_serving() {
    let not_serving = |n: &mut Node, seq: u64| {
        let e = step(n, write_request(5, seq));
        assert_eq!(e, vec![Effect::ClientReply { client: 5, reply: ClientReply::NotServing { seq } }]);
    };
    let mut looking = node(1, Variant::None, DurableState::default());
    step(&mut looking, Input::Start);
    not_serving(&mut looking, 1);

    let (mut leader, _) = leader_synchronizing(
        DurableState::with_history(1, 1, z(1, 2)),
        [1, 1],
        [(Some(1), z(1, 2)), (Some(1), z(1, 2))],
    );
    not_serving(&mut leader, 2);

    let (mut follower, _) = follower_diffed_to_1_4(Variant::None);
    not_serving(&mut follower, 3);
}

/// `ProposalRequestProcessor` / `Leader.propose`: "zxid lower 32 bits have rolled over,
/// forcing re-election, and therefore new epoch start". The counter 0xffffffff is never
/// used: the leader steps down instead of proposing it.
#[test]
fn zxid_counter_rollover_makes_the_leader_step_down() {
    let mut n = established_leader();
    n.leader_mut().expect("leading").set_last_proposed(z(2, 0xffff_fffd));
    let e = step(&mut n, write_request(7, 1));
    assert!(sent(&e).iter().any(|(_, m)| matches!(m, Message::Proposal { txn } if txn.zxid == z(2, 0xffff_fffe))));
    assert_eq!(n.state(), ServerState::Leading);
    let e = step(&mut n, write_request(7, 2));
    assert_eq!(n.state(), ServerState::Looking);
    assert_eq!(looking_reason(&e), Some(LookingReason::ZxidRollover));
    assert!(!sent(&e).iter().any(|(_, m)| matches!(m, Message::Proposal { .. })), "0xffffffff is never proposed");
}

/// Client 50 connected to leader 3 with a new session: its createSession is 2:1, and the
/// session id is that zxid (`SessionTrackerImpl`, `FinalRequestProcessor`).
fn leader_with_session() -> (Node, u64) {
    leader_with_session_of(Variant::None)
}

fn leader_with_session_of(variant: Variant) -> (Node, u64) {
    let mut n = established_leader_of(variant);
    let connect = ClientRequest::Connect { session: None, timeout_ms: 4000, last_zxid_seen: Zxid::ZERO };
    let e = step(&mut n, Input::Client { client: 50, request: connect });
    let t = Txn { zxid: z(2, 1), op: Op::CreateSession { client: 50, timeout_ms: 4000 } };
    assert_eq!(sent(&e), vec![(1, Message::Proposal { txn: t.clone() }), (2, Message::Proposal { txn: t })]);
    step(&mut n, Input::Durable { fsync: fsync_ids(&e)[0] });
    let e = recv(&mut n, 1, Message::Ack { zxid: z(2, 1) });
    let session = z(2, 1).0;
    assert!(
        e.contains(&Effect::ClientReply { client: 50, reply: ClientReply::Connected { session, timeout_ms: 4000 } })
    );
    (n, session)
}

fn call(n: &mut Node, client: u64, xid: u64, request: Request) -> Vec<Effect> {
    step(n, Input::Client { client, request: ClientRequest::Op { xid, call: Box::new(request) } })
}

/// `Leader.processSync`: a sync forwarded by a learner while a proposal is outstanding
/// is answered once that proposal commits, after its COMMIT on the same connection, so
/// the learner has applied it when it answers its client.
#[test]
fn a_sync_is_answered_after_the_commit_of_the_last_proposal() {
    let (mut n, session) = leader_with_session();
    let create = Request::Create { path: "/e".into(), data: "x".into(), mode: CreateMode::Ephemeral };
    let e = call(&mut n, 50, 1, create);
    let own_fsync = fsync_ids(&e)[0];
    let sync = Message::ClientOp { session, xid: 7, request: Box::new(Request::Sync { path: "/".into() }) };
    assert!(sent(&recv(&mut n, 1, sync)).is_empty(), "parked behind 2:2");
    step(&mut n, Input::Durable { fsync: own_fsync });
    let e = recv(&mut n, 2, Message::Ack { zxid: z(2, 2) });
    let to_1 = sent_to(&e, 1);
    assert_eq!(to_1, vec![Message::Commit { zxid: z(2, 2) }, Message::SyncDone { session, xid: 7 }]);
    // With nothing outstanding, a sync is answered at once.
    let sync = Message::ClientOp { session, xid: 8, request: Box::new(Request::Sync { path: "/".into() }) };
    assert_eq!(sent(&recv(&mut n, 1, sync)), vec![(1, Message::SyncDone { session, xid: 8 })]);
}

/// `SessionTrackerImpl`: a session nobody touches expires at the tick boundary after its
/// timeout, and the leader proposes a closeSession that deletes its ephemerals.
#[test]
fn an_untouched_session_expires_with_a_close_session_listing_its_ephemerals() {
    let (mut n, session) = leader_with_session();
    let create = Request::Create { path: "/e".into(), data: "x".into(), mode: CreateMode::Ephemeral };
    let e = call(&mut n, 50, 1, create);
    step(&mut n, Input::Durable { fsync: fsync_ids(&e)[0] });
    recv(&mut n, 1, Message::Ack { zxid: z(2, 2) });
    assert!(n.tree().exists("/e").is_some());
    let close = Txn { zxid: z(2, 3), op: Op::close_session(session, vec!["/e".into()]) };
    let mut proposed = false;
    // 4 s at a 2 s tick: due by the third tick; every half tick the learners answer the PING.
    for _ in 0..8 {
        let e = step(&mut n, Input::Timer { timer: Timer::LeaderTick });
        for sid in [1, 2] {
            recv(&mut n, sid, Message::Ping);
        }
        proposed |= sent(&e).contains(&(1, Message::Proposal { txn: close.clone() }));
    }
    assert!(proposed, "the session expired");
}

/// A touch from a follower's PING answer keeps the session alive at the leader.
#[test]
fn a_session_touched_through_a_followers_ping_does_not_expire() {
    let (mut n, session) = leader_with_session();
    for _ in 0..12 {
        let e = step(&mut n, Input::Timer { timer: Timer::LeaderTick });
        assert!(observed(&e).iter().all(|o| !matches!(o, Observation::Proposed { .. })), "no closeSession");
        recv(&mut n, 1, Message::SessionPing { touched: vec![(session, 4000)] });
        for sid in [1, 2] {
            recv(&mut n, sid, Message::Ping);
        }
    }
}

/// `Learner.validateSession`: a client that reconnects to a follower is answered once the
/// leader has revalidated its session; an expired one is told so.
#[test]
fn a_follower_revalidates_a_reconnecting_session_with_the_leader() {
    let mut f = serving_follower();
    let connect = |s| ClientRequest::Connect { session: Some(s), timeout_ms: 4000, last_zxid_seen: Zxid::ZERO };
    let e = step(&mut f, Input::Client { client: 60, request: connect(77) });
    assert_eq!(sent(&e), vec![(LEADER, Message::Revalidate { client: 60, session: 77 })]);
    let e = recv(&mut f, LEADER, Message::Revalidated { client: 60, session: 77, valid: false });
    assert!(e.contains(&Effect::ClientReply { client: 60, reply: ClientReply::SessionExpired }));
}

/// A sync that reaches a newly established leader with nothing outstanding is answered at
/// once, not parked behind `epoch << 32`, which is never committed.
#[test]
fn a_sync_at_a_new_leader_with_nothing_outstanding_is_answered_at_once() {
    let mut n = established_leader();
    let sync = Message::ClientOp { session: 9, xid: 1, request: Box::new(Request::Sync { path: "/".into() }) };
    assert_eq!(sent(&recv(&mut n, 1, sync)), vec![(1, Message::SyncDone { session: 9, xid: 1 })]);
}

// ---------------------------------------------------------------------------------------
// Dynamic reconfiguration
// ---------------------------------------------------------------------------------------

fn reconfig(change: MembershipChange, from_config: Option<Zxid>) -> Request {
    Request::Reconfig(Box::new(ReconfigRequest { change, from_config }))
}

fn add(participants: &[Sid]) -> MembershipChange {
    MembershipChange::Incremental { add_participants: participants.to_vec(), add_observers: vec![], remove: vec![] }
}

fn members(participants: &[Sid]) -> MembershipChange {
    MembershipChange::NonIncremental { participants: participants.to_vec(), observers: vec![] }
}

/// Commits the leader's newest proposal with ACKs from `from` (and its own fsync);
/// returns the commit's effects.
fn commit_with(n: &mut Node, propose: &[Effect], zxid: Zxid, from: &[Sid]) -> Vec<Effect> {
    let mut e = step(n, Input::Durable { fsync: fsync_ids(propose)[0] });
    for sid in from {
        e.extend(recv(n, *sid, Message::Ack { zxid }));
    }
    e
}

fn proposal_of(effects: &[Effect]) -> Txn {
    sent(effects)
        .into_iter()
        .find_map(|(_, m)| match m {
            Message::Proposal { txn } => Some(txn),
            _ => None,
        })
        .expect("a proposal went out")
}

/// `pRequest2TxnReconfig`: refused while another reconfig is pending, on a stale
/// `fromConfig`, and when the new configuration has no synced quorum; each refusal is an
/// error txn, answered in order with the session's other requests.
#[test]
fn a_reconfig_is_refused_in_progress_on_a_stale_version_and_without_a_synced_quorum_of_the_new_config() {
    let (mut n, _) = leader_with_session();
    let answer = |e: &[Effect]| {
        e.iter().find_map(|e| match e {
            Effect::ClientReply { reply: ClientReply::Reply { response, .. }, .. } => Some((**response).clone()),
            _ => None,
        })
    };
    // {3, 4, 5} needs two of them synced: only the leader is.
    let e = call(&mut n, 50, 1, reconfig(members(&[3, 4, 5]), None));
    let e = commit_with(&mut n, &e, z(2, 2), &[1]);
    assert_eq!(answer(&e), Some(Response::Error { code: ErrorCode::NewConfigNoQuorum }));

    let e = call(&mut n, 50, 2, reconfig(add(&[4]), Some(Zxid(12345))));
    let e = commit_with(&mut n, &e, z(2, 3), &[1]);
    assert_eq!(answer(&e), Some(Response::Error { code: ErrorCode::BadVersion }));

    // Adding 4 needs three of {1, 2, 3, 4}: the leader, 1 and 2 are synced.
    let version = n.last_seen_quorum_verifier().version();
    let first = call(&mut n, 50, 3, reconfig(add(&[4]), Some(version)));
    let t = proposal_of(&first);
    assert_eq!(t.op.reconfig(), Some(QuorumVerifier::new([1, 2, 3, 4]).with_version(z(2, 4))));
    assert_eq!(n.last_seen_quorum_verifier().version(), z(2, 4), "pending from its proposal");
    let e = call(&mut n, 50, 4, reconfig(add(&[5]), None));
    let e = commit_with(&mut n, &e, z(2, 5), &[]);
    assert!(answer(&e).is_none(), "waits behind the pending reconfig");
    let e = commit_with(&mut n, &first, z(2, 4), &[1, 2]);
    assert!(sent(&e).contains(&(1, Message::CommitAndActivate { zxid: z(2, 4), designated: 3 })));
    assert_eq!(n.quorum_verifier().version(), z(2, 4));
    let mut e = recv(&mut n, 1, Message::Ack { zxid: z(2, 5) });
    e.extend(recv(&mut n, 2, Message::Ack { zxid: z(2, 5) }));
    let refused = e.iter().filter_map(|e| match e {
        Effect::ClientReply { reply: ClientReply::Reply { xid: 4, response, .. }, .. } => Some((**response).clone()),
        _ => None,
    });
    assert_eq!(refused.collect::<Vec<_>>(), vec![Response::Error { code: ErrorCode::ReconfigInProgress }]);
}

/// From a reconfig's proposal until its commit, every proposal needs a quorum of the old
/// configuration and of the new one.
#[test]
fn while_a_reconfig_is_pending_a_proposal_needs_both_quorums() {
    let (mut n, _) = leader_with_session();
    let e = call(&mut n, 50, 1, reconfig(members(&[1, 2, 3, 4, 5]), None));
    // 4 and 5 are not synced: {1, 2, 3, 4, 5} has three synced voters, a quorum.
    let reconfig_fsync = fsync_ids(&e)[0];
    let write =
        call(&mut n, 50, 2, Request::Create { path: "/a".into(), data: String::new(), mode: CreateMode::Persistent });
    step(&mut n, Input::Durable { fsync: reconfig_fsync });
    step(&mut n, Input::Durable { fsync: fsync_ids(&write)[0] });
    // 1's ACKs make a quorum of {1, 2, 3} but not of {1, 2, 3, 4, 5}.
    for zxid in [z(2, 2), z(2, 3)] {
        assert!(sent(&recv(&mut n, 1, Message::Ack { zxid })).is_empty());
    }
    let e = recv(&mut n, 2, Message::Ack { zxid: z(2, 2) });
    assert!(sent(&e).contains(&(1, Message::CommitAndActivate { zxid: z(2, 2), designated: 3 })));
    let e = recv(&mut n, 2, Message::Ack { zxid: z(2, 3) });
    assert!(sent(&e).contains(&(1, Message::Commit { zxid: z(2, 3) })));
}

/// `getDesignatedLeader` and `allowedToCommit`: a reconfig that removes the leader names
/// the new voter that acknowledged it (and the most proposals after it), and the old
/// leader commits nothing more.
#[test]
fn a_reconfig_that_removes_the_leader_designates_a_new_voter_and_stops_its_commits() {
    let (mut n, _) = leader_with_session();
    let e = call(&mut n, 50, 1, reconfig(members(&[1, 2]), None));
    let write =
        call(&mut n, 50, 2, Request::Create { path: "/a".into(), data: String::new(), mode: CreateMode::Persistent });
    step(&mut n, Input::Durable { fsync: fsync_ids(&write)[0] });
    recv(&mut n, 2, Message::Ack { zxid: z(2, 3) });
    let e = commit_with(&mut n, &e, z(2, 2), &[1, 2]);
    // 2 also acknowledged the proposal after the reconfig: it is designated.
    assert!(sent(&e).contains(&(1, Message::CommitAndActivate { zxid: z(2, 2), designated: 2 })));
    assert!(observed(&e).contains(&Observation::ConfigActivated {
        config: QuorumVerifier::new([1, 2]).with_version(z(2, 2)),
        designated: Some(2)
    }));
    assert!(!sent(&recv(&mut n, 1, Message::Ack { zxid: z(2, 3) }))
        .iter()
        .any(|(_, m)| matches!(m, Message::Commit { .. })));
    assert_eq!(n.last_processed(), z(2, 2), "allowedToCommit is false");
}

/// A follower activates on COMMITANDACTIVATE; a new designated leader makes it leave and
/// follow that one straight away (`updateServerState` with the reconfig flag).
#[test]
fn commit_and_activate_naming_another_leader_sends_the_follower_to_it_without_an_election() {
    let mut f = serving_follower();
    let config = QuorumVerifier::new([1, 2]).with_version(z(2, 1));
    let t = Txn { zxid: z(2, 1), op: Op::Reconfig(std::sync::Arc::new(ReconfigTxn { session: 0, xid: 0, config })) };
    let e = recv(&mut f, LEADER, Message::Proposal { txn: t });
    step(&mut f, Input::Durable { fsync: fsync_ids(&e)[0] });
    assert_eq!(f.last_seen_quorum_verifier(), config);
    let e = recv(&mut f, LEADER, Message::CommitAndActivate { zxid: z(2, 1), designated: 2 });
    assert_eq!(f.quorum_verifier(), config);
    assert_eq!(looking_reason(&e), Some(LookingReason::Reconfig));
    assert_eq!((f.state(), f.leader()), (ServerState::Following, Some(2)));
    assert!(sent(&e).iter().any(|(to, m)| *to == 2 && matches!(m, Message::FollowerInfo { .. })));
    assert!(!sent(&e).iter().any(|(_, m)| matches!(m, Message::Notification(_))), "no election");
}

/// ZOOKEEPER-2172: COMMITANDACTIVATE between NEWLEADER and UPTODATE activates the new
/// configuration; the variant takes it for a COMMIT and keeps the old one in force.
#[test]
fn commit_and_activate_during_sync_activates_except_under_zk_2172() {
    for (variant, activates) in [(Variant::None, true), (Variant::Zk2172, false)] {
        let mut f = follower_past_leaderinfo(variant);
        recv(&mut f, LEADER, Message::Diff { zxid: z(1, 2) });
        let e = recv(&mut f, LEADER, newleader_msg(z(2, 0)));
        for fsync in fsync_ids(&e) {
            for fs in fsync_ids(&step(&mut f, Input::Durable { fsync })) {
                step(&mut f, Input::Durable { fsync: fs });
            }
        }
        let config = QuorumVerifier::new([1, 2, 3, 4]).with_version(z(2, 1));
        let t =
            Txn { zxid: z(2, 1), op: Op::Reconfig(std::sync::Arc::new(ReconfigTxn { session: 0, xid: 0, config })) };
        recv(&mut f, LEADER, Message::Proposal { txn: t });
        recv(&mut f, LEADER, Message::CommitAndActivate { zxid: z(2, 1), designated: LEADER });
        recv(&mut f, LEADER, Message::UpToDate);
        assert!(f.is_established());
        assert_eq!(f.quorum_verifier() == config, activates, "{variant}");
        assert_eq!(f.last_seen_quorum_verifier(), config);
    }
}

/// `WorkerReceiver`: a LOOKING server that hears of a newer configuration with other
/// members adopts it and starts its election over in it.
#[test]
fn a_looking_server_adopts_a_newer_configuration_from_a_notification() {
    let mut n = node(1, Variant::None, DurableState::default());
    step(&mut n, Input::Start);
    let newer = QuorumVerifier::new([1, 2, 4]).with_version(z(1, 7));
    let v = Notification {
        state: ServerState::Following,
        leader: 4,
        zxid: z(1, 7),
        election_epoch: 3,
        peer_epoch: 1,
        config: newer,
    };
    let e = recv(&mut n, 2, Message::Notification(v));
    assert_eq!(n.quorum_verifier(), newer);
    assert_eq!(looking_reason(&e), Some(LookingReason::NewConfig));
    // `shuttingDownLE`: a new election object, whose first round is 1 again.
    assert_eq!(n.round(), 1);
    let to: Vec<Sid> = sent(&e).iter().map(|(to, _)| *to).collect();
    assert_eq!(to, vec![2, 4], "the new round goes to the new voters");
}

/// An observer votes for nobody, answers voters, is answered by them, and observes the
/// leader a quorum of voters follows.
#[test]
fn an_observer_never_wins_and_observes_the_leader_a_quorum_follows() {
    let cfg = NodeConfig::new(4, QuorumVerifier::with_observers([1, 2, 3], [4]), Timing::default(), Variant::None);
    let mut o = Node::recover(cfg, DurableState::default()).unwrap();
    let e = step(&mut o, Input::Start);
    assert!(sent(&e).iter().all(|(_, m)| matches!(m, Message::Notification(n) if n.leader == 0)));
    let leading = Notification {
        state: ServerState::Leading,
        leader: 3,
        zxid: Zxid::ZERO,
        election_epoch: 1,
        peer_epoch: 0,
        config: QuorumVerifier::with_observers([1, 2, 3], [4]),
    };
    recv(&mut o, 3, Message::Notification(leading));
    let e = recv(&mut o, 1, Message::Notification(Notification { state: ServerState::Following, ..leading }));
    assert_eq!((o.state(), o.leader()), (ServerState::Observing, Some(3)));
    assert!(sent(&e)
        .contains(&(3, Message::FollowerInfo { accepted_epoch: 0, observer: true, config_version: Zxid::ZERO })));

    // A voter answers the observer's notification and does not count it.
    let mut v = node(1, Variant::None, DurableState::default());
    let cfg_o = QuorumVerifier::with_observers([1, 2, 3], [4]);
    v = Node::recover(NodeConfig { quorum: cfg_o, ..v.config().clone() }, DurableState::default()).unwrap();
    step(&mut v, Input::Start);
    let from_observer = Notification { state: ServerState::Looking, leader: 0, config: cfg_o, ..leading };
    let e = recv(&mut v, 4, Message::Notification(from_observer));
    assert_eq!(sent(&e).len(), 1);
    assert_eq!(sent(&e)[0].0, 4);
}

/// `LearnerHandler`'s NEWLEADER carries the leader's newest configuration, even one only
/// proposed, which the learner activates at UPTODATE; the candidate fix
/// `newleader-committed-config` sends an established leader's configuration in force.
#[test]
fn an_established_leader_syncing_a_learner_sends_its_newest_configuration_unless_the_candidate_fix() {
    for (variant, pending) in [(Variant::None, true), (Variant::NewLeaderCommittedConfig, false)] {
        let (mut n, _) = leader_with_session_of(variant);
        call(&mut n, 50, 1, reconfig(add(&[4]), None));
        let proposed = n.last_seen_quorum_verifier();
        assert!(proposed.version() > n.quorum_verifier().version(), "{variant}: pending");
        // Learner 2 reconnects and is synced.
        let epoch = n.epoch().unwrap();
        let e = recv(
            &mut n,
            2,
            Message::FollowerInfo { accepted_epoch: epoch, observer: false, config_version: Zxid::ZERO },
        );
        assert!(sent_to(&e, 2).iter().any(|m| matches!(m, Message::LeaderInfo { .. })));
        let last = n.log().last().unwrap().zxid;
        let e = recv(&mut n, 2, Message::AckEpoch { current_epoch: None, last_zxid: last });
        let config = sent_to(&e, 2).into_iter().find_map(|m| match m {
            Message::NewLeader { config, .. } => Some(config),
            _ => None,
        });
        let expected = if pending { proposed } else { n.quorum_verifier() };
        assert_eq!(config, Some(expected), "{variant}");
    }
}

/// `QuorumPeer.setLastSeenQuorumVerifier`, called for NEWLEADER's configuration by
/// `Learner.syncWithLeader`, overwrites a newer configuration seen ("called with stale
/// config" is only logged): a learner whose reconfig proposal the new leader never had (lost
/// or truncated away) stops counting it, and its `.next` file says so across a restart
/// (`QuorumPeerConfig.parse`, `createFromConfig`). `setQuorumVerifier` at UPTODATE is then
/// a no-op: the configuration is already in force.
#[test]
fn a_newleader_with_an_older_configuration_replaces_the_pending_one_as_set_last_seen_quorum_verifier_does() {
    let current = QuorumVerifier::majority_of(3).with_version(z(1, 0));
    let lost = QuorumVerifier::new([2, 3]).with_version(z(1, 5));
    let mut durable = DurableState::with_history(1, 1, z(1, 2));
    durable.config = Some(current);
    durable.next_config = Some(lost);
    let (mut f, _) = elected_follower(1, Variant::None, durable);
    assert_eq!(f.last_seen_quorum_verifier(), lost, "read from `.next` at startup");
    let ids = fsync_ids(&recv(&mut f, LEADER, Message::LeaderInfo { epoch: 2 }));
    step(&mut f, Input::Durable { fsync: ids[0] });
    recv(&mut f, LEADER, Message::Diff { zxid: z(1, 2) });
    let e = recv(&mut f, LEADER, Message::NewLeader { zxid: z(2, 0), config: current });
    assert!(e.contains(&Effect::Write(DiskWrite::NextConfig(current))));
    assert_eq!(f.last_seen_quorum_verifier(), current, "nothing pending any more");
    for fsync in fsync_ids(&e) {
        for fs in fsync_ids(&step(&mut f, Input::Durable { fsync })) {
            step(&mut f, Input::Durable { fsync: fs });
        }
    }
    let e = recv(&mut f, LEADER, Message::UpToDate);
    assert!(f.is_established());
    assert!(!e.iter().any(|x| matches!(x, Effect::Write(_))), "setQuorumVerifier of a known version: no-op");
    assert_eq!(f.disk_view().next_config, Some(current));
    let restarted = Node::recover(f.config().clone(), f.disk_view().clone()).unwrap();
    assert_eq!(restarted.last_seen_quorum_verifier(), current);
    // Without a dynamic file (only the static configuration), `.next` is not read at all.
    let mut static_only = DurableState::with_history(1, 1, z(1, 2));
    static_only.next_config = Some(lost);
    assert_eq!(node(1, Variant::None, static_only).last_seen_quorum_verifier(), QuorumVerifier::majority_of(3));
}

/// `QuorumPeer.setQuorumVerifier`: activating the newest configuration seen deletes the
/// `.next` file; activating an older one while a newer one is pending keeps both.
#[test]
fn activating_the_newest_seen_configuration_deletes_the_next_file_as_set_quorum_verifier_does() {
    let mut f = serving_follower();
    let config = QuorumVerifier::new([1, 2, 3, 4]).with_version(z(2, 1));
    let t = Txn { zxid: z(2, 1), op: Op::Reconfig(std::sync::Arc::new(ReconfigTxn { session: 0, xid: 0, config })) };
    let e = recv(&mut f, LEADER, Message::Proposal { txn: t });
    assert_eq!(f.disk_view().next_config, Some(config));
    step(&mut f, Input::Durable { fsync: fsync_ids(&e)[0] });
    let e = recv(&mut f, LEADER, Message::CommitAndActivate { zxid: z(2, 1), designated: LEADER });
    assert!(e.contains(&Effect::Write(DiskWrite::DeleteNextConfig)));
    assert_eq!((f.quorum_verifier(), f.disk_view().next_config), (config, None));
}

/// `QuorumPeer.processReconfig(qv, designated, zxid, true)` -> `restartLeaderElection`: a
/// configuration with other members replaces the `FastLeaderElection` object, so the next
/// election starts again at `logicalclock` 1; one with the same members (here the
/// ZOOKEEPER-1783 version bump at UPTODATE) does not (`QuorumMaj.equals`).
#[test]
fn activating_other_members_restarts_the_election_object_and_its_logicalclock() {
    let mut f = serving_follower();
    assert_eq!(f.round(), 1, "the 1783 bump at UPTODATE kept the election object");
    let config = QuorumVerifier::new([1, 2, 3, 4]).with_version(z(2, 1));
    let t = Txn { zxid: z(2, 1), op: Op::Reconfig(std::sync::Arc::new(ReconfigTxn { session: 0, xid: 0, config })) };
    let e = recv(&mut f, LEADER, Message::Proposal { txn: t });
    step(&mut f, Input::Durable { fsync: fsync_ids(&e)[0] });
    recv(&mut f, LEADER, Message::CommitAndActivate { zxid: z(2, 1), designated: LEADER });
    assert_eq!((f.state(), f.round()), (ServerState::Following, 0), "a new election object, same role");
    let e = step(&mut f, Input::ConnectionDown { peer: LEADER });
    assert!(
        observed(&e).contains(&Observation::ElectionStarted { round: 1, reason: LookingReason::LeaderConnectionLost })
    );
}

/// `QuorumPeer.updateVote`: a reconfig handoff sets `new Vote(designatedLeader, zxid)`,
/// whose election epoch and peer epoch are -1 (`Vote(long id, long zxid)`); the server
/// takes its new role with it (`updateServerState`), and answers LOOKING servers with it.
#[test]
fn a_reconfig_handoff_votes_for_the_designated_leader_with_election_epoch_minus_one() {
    let mut f = serving_follower();
    let config = QuorumVerifier::new([1, 2]).with_version(z(2, 1));
    let t = Txn { zxid: z(2, 1), op: Op::Reconfig(std::sync::Arc::new(ReconfigTxn { session: 0, xid: 0, config })) };
    let e = recv(&mut f, LEADER, Message::Proposal { txn: t });
    step(&mut f, Input::Durable { fsync: fsync_ids(&e)[0] });
    let e = recv(&mut f, LEADER, Message::CommitAndActivate { zxid: z(2, 1), designated: 2 });
    let decided =
        Observation::Decided { state: ServerState::Following, leader: 2, round: -1, zxid: z(2, 1), peer_epoch: 0 };
    assert!(observed(&e).contains(&decided), "{:?}", observed(&e));
    let looking = Notification {
        state: ServerState::Looking,
        leader: 1,
        zxid: Zxid::ZERO,
        election_epoch: 5,
        peer_epoch: 0,
        config,
    };
    let e = recv(&mut f, 2, Message::Notification(looking));
    let answer = sent_to(&e, 2).into_iter().find_map(|m| match m {
        Message::Notification(n) => Some(n),
        _ => None,
    });
    assert_eq!(answer.map(|n| (n.state, n.leader, n.election_epoch)), Some((ServerState::Following, 2, -1)));
}

/// `WorkerReceiver`, `if (!validVoter(response.sid))`: a non-voter's notification is
/// answered with `self.getCurrentVote()` (here the server's own vote from
/// `startLeaderElection`, not the proposal it adopted since), `logicalclock` and its state.
#[test]
fn a_looking_server_answers_a_non_voter_with_its_current_vote_not_its_proposal() {
    let mut n = node(1, Variant::None, DurableState::with_history(1, 1, z(1, 2)));
    step(&mut n, Input::Start);
    let better = Notification {
        state: ServerState::Looking,
        leader: 3,
        zxid: z(1, 9),
        election_epoch: 1,
        peer_epoch: 1,
        config: QuorumVerifier::majority_of(3),
    };
    recv(&mut n, 3, Message::Notification(better));
    assert_eq!(n.vote().leader, 3, "proposes 3 now");
    let from_joiner = Notification { leader: 0, zxid: Zxid::ZERO, peer_epoch: 0, ..better };
    let e = recv(&mut n, 5, Message::Notification(from_joiner));
    let answer = Notification {
        state: ServerState::Looking,
        leader: 1,
        zxid: z(1, 2),
        election_epoch: 1,
        peer_epoch: 1,
        config: QuorumVerifier::majority_of(3),
    };
    assert_eq!(sent(&e), vec![(5, Message::Notification(answer))]);
}

/// `getInitId`, `getInitLastLoggedZxid`, `getPeerEpoch`: a joiner (not in the configuration
/// in force, so a non-voting PARTICIPANT) votes for nobody with its real last zxid and
/// currentEpoch; an observer's zxid and epoch are `Long.MIN_VALUE` (0 here).
#[test]
fn a_joiner_votes_for_nobody_with_its_real_zxid_and_epoch() {
    let cfg = NodeConfig::new(4, QuorumVerifier::majority_of(3), Timing::default(), Variant::None);
    let mut j = Node::recover(cfg, DurableState::with_history(2, 2, z(2, 5))).unwrap();
    let e = step(&mut j, Input::Start);
    let votes: Vec<(Sid, Zxid, Epoch)> = sent(&e)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Message::Notification(n) => Some((n.leader, n.zxid, n.peer_epoch)),
            _ => None,
        })
        .collect();
    assert_eq!(votes, vec![(0, z(2, 5), 2); 3]);
    let observer = QuorumVerifier::with_observers([1, 2, 3], [4]);
    let cfg = NodeConfig::new(4, observer, Timing::default(), Variant::None);
    let mut o = Node::recover(cfg, DurableState::with_history(2, 2, z(2, 5))).unwrap();
    step(&mut o, Input::Start);
    assert_eq!((o.vote().leader, o.vote().zxid, o.vote().peer_epoch), (0, Zxid::ZERO, 0));
}

// ---------------------------------------------------------------------------------------
// Persistence per sync mode, the in-memory database across roles, release 3.8.0's order
// ---------------------------------------------------------------------------------------

fn snapshot_writes(effects: &[Effect]) -> Vec<Zxid> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write(DiskWrite::Snapshot(s)) => Some(s.zxid),
            _ => None,
        })
        .collect()
}

/// `Learner.syncWithLeader` on SNAP (3.9.4): the tree is replaced in memory
/// (`deserializeSnapshot`, `setlastProcessedZxid`), COMMITs before NEWLEADER apply to it
/// unlogged, and NEWLEADER saves a synced snapshot (`takeSnapshot(true)`) before
/// currentEpoch and the ACK.
#[test]
fn snap_installs_the_tree_in_memory_and_newleader_saves_a_synced_snapshot_before_the_epoch() {
    let mut f = follower_past_leaderinfo(Variant::None);
    let history: Vec<Txn> = (1..=5).map(|c| txn(1, c)).collect();
    let e = recv(&mut f, LEADER, Message::Snap { zxid: z(1, 5), txns: history });
    assert!(io(&e).is_empty(), "nothing is written before NEWLEADER");
    assert_eq!(f.last_processed(), z(1, 5));
    recv(&mut f, LEADER, Message::Proposal { txn: txn(1, 6) });
    let e = recv(&mut f, LEADER, Message::Commit { zxid: z(1, 6) });
    assert!(io(&e).is_empty(), "applied, not logged");
    assert_eq!(f.last_processed(), z(1, 6));
    let e = recv(&mut f, LEADER, newleader_msg(z(2, 0)));
    assert_eq!(snapshot_writes(&e), vec![z(1, 6)]);
    let snap_fsync = fsync_ids(&e);
    assert_eq!(snap_fsync.len(), 1, "the snapshot is synced");
    assert!(io(&e).iter().all(|w| !matches!(w, Effect::Write(DiskWrite::CurrentEpoch(_)))), "the epoch waits for it");
    let e = step(&mut f, Input::Durable { fsync: snap_fsync[0] });
    assert_eq!(
        io(&e),
        vec![
            Effect::Write(DiskWrite::CurrentEpoch(2)),
            fsync(snap_fsync[0] + 1, DiskFile::Epochs, vec![newleader_ack()])
        ]
    );
}

/// `Learner.syncWithLeader` on TRUNC: `ZKDatabase.truncateLog` cuts the log (no fsync:
/// `FileTxnLog.truncate` sets the length) and reloads; NEWLEADER saves an unsynced snapshot
/// and persists currentEpoch at once.
#[test]
fn trunc_cuts_the_log_unsynced_and_newleader_saves_an_unsynced_snapshot() {
    let (mut f, _) = elected_follower(1, Variant::None, DurableState::with_history(1, 1, z(1, 4)));
    let e = recv(&mut f, LEADER, Message::LeaderInfo { epoch: 2 });
    for id in fsync_ids(&e) {
        step(&mut f, Input::Durable { fsync: id });
    }
    let e = recv(&mut f, LEADER, Message::Trunc { zxid: z(1, 2) });
    assert!(matches!(io(&e).as_slice(), [Effect::Write(DiskWrite::Truncate(_))]), "no fsync: {:?}", io(&e));
    assert_eq!(f.log().last().map(|t| t.zxid), Some(z(1, 2)));
    assert_eq!(f.last_processed(), z(1, 2));
    assert!(observed(&e).contains(&Observation::Truncated { leader: LEADER, to: z(1, 2), loaded: z(1, 2) }));
    let e = recv(&mut f, LEADER, newleader_msg(z(2, 0)));
    assert_eq!(snapshot_writes(&e), vec![z(1, 2)]);
    let ids = fsync_ids(&e);
    assert_eq!(ids.len(), 1, "only the epoch file is synced");
    assert!(io(&e).contains(&Effect::Write(DiskWrite::CurrentEpoch(2))));
}

/// `ZooKeeperServer.shutdown` fast-forwards a running server's database over its logged
/// txns when it leaves its role (the ZOOKEEPER-2845 fix), so the next vote counts a
/// proposal it logged but never saw committed; it never goes back.
#[test]
fn leaving_a_role_fast_forwards_over_logged_proposals() {
    let mut f = serving_follower();
    let e = recv(&mut f, LEADER, Message::Proposal { txn: txn(2, 1) });
    for id in fsync_ids(&e) {
        step(&mut f, Input::Durable { fsync: id });
    }
    assert_eq!(f.last_processed(), z(1, 2), "logged, not committed");
    step(&mut f, Input::ConnectionDown { peer: LEADER });
    assert_eq!(f.state(), ServerState::Looking);
    assert_eq!(f.last_processed(), z(2, 1), "fast-forwarded");
    assert_eq!(f.vote().zxid, z(2, 1));
}

/// `Learner.shutdown` with `syncMode == SNAP`: an interrupted SNAP clears the database,
/// which is then loaded again from disk; an interrupted TRUNC keeps what it applied past
/// its log (ZOOKEEPER-5094).
#[test]
fn an_interrupted_snap_reloads_from_disk_and_an_interrupted_trunc_does_not() {
    let mut f = follower_past_leaderinfo(Variant::None);
    let before = f.last_processed();
    recv(&mut f, LEADER, Message::Snap { zxid: z(1, 9), txns: (1..=9).map(|c| txn(1, c)).collect() });
    assert_eq!(f.last_processed(), z(1, 9));
    step(&mut f, Input::ConnectionDown { peer: LEADER });
    assert_eq!(f.last_processed(), before, "cleared and reloaded");

    let mut f = follower_past_leaderinfo(Variant::None);
    recv(&mut f, LEADER, Message::Trunc { zxid: z(1, 2) });
    recv(&mut f, LEADER, Message::Proposal { txn: txn(2, 1) });
    recv(&mut f, LEADER, Message::Commit { zxid: z(2, 1) });
    assert_eq!(f.last_processed(), z(2, 1), "applied in memory, not logged");
    step(&mut f, Input::ConnectionDown { peer: LEADER });
    assert_eq!(f.last_processed(), z(2, 1), "kept: ahead of the log");
    assert_eq!(f.log().last().map(|t| t.zxid), Some(z(1, 2)));
    assert_eq!(f.vote().zxid, z(2, 1), "it votes with a zxid its log does not hold");
}

/// The fix proposed for ZOOKEEPER-5094 (`zk-5094-fix`): `Learner.shutdown` clears the
/// database after an interrupted TRUNC too, so the learner reloads what its files hold.
#[test]
fn the_proposed_zk_5094_fix_reloads_after_an_interrupted_trunc() {
    let mut f = follower_past_leaderinfo(Variant::Zk5094Fix);
    recv(&mut f, LEADER, Message::Trunc { zxid: z(1, 2) });
    recv(&mut f, LEADER, Message::Proposal { txn: txn(2, 1) });
    recv(&mut f, LEADER, Message::Commit { zxid: z(2, 1) });
    assert_eq!(f.last_processed(), z(2, 1));
    step(&mut f, Input::ConnectionDown { peer: LEADER });
    assert_eq!(f.last_processed(), z(1, 2), "cleared and reloaded");
    assert_eq!(f.vote().zxid, z(1, 2));
}

/// `Leader.lead` -> `loadData` takes a snapshot of the database as it is (with what the
/// last role fast-forwarded); `startZkServer` relabels the tree `newEpoch << 32` once
/// established.
#[test]
fn a_leader_snapshots_at_lead_and_relabels_its_tree_when_established() {
    let (_, decided) = elected_leader(Variant::None, DurableState::with_history(1, 1, z(1, 2)));
    assert_eq!(snapshot_writes(&decided), vec![z(1, 2)]);
    assert!(fsync_ids(&decided).is_empty(), "not synced");
    let n = established_leader();
    assert_eq!(n.last_processed(), z(2, 0));
}

/// Release 3.8.0's NEWLEADER (`Learner.syncWithLeader` at release-3.8.0-1): currentEpoch
/// first, the ACK once it is written, then every synced txn to the sync processor, acked
/// after the flush: ZOOKEEPER-4643's and -4646's orders.
#[test]
fn release_3_8_0_persists_the_epoch_first_and_acks_before_the_log_flush() {
    let mut f = follower_past_leaderinfo(Variant::None);
    f.set_release(crate::release::Release::V3_8_0);
    recv(&mut f, LEADER, Message::Diff { zxid: z(1, 4) });
    for c in [3, 4] {
        recv(&mut f, LEADER, Message::Proposal { txn: txn(1, c) });
        recv(&mut f, LEADER, Message::Commit { zxid: z(1, c) });
    }
    let e = recv(&mut f, LEADER, newleader_msg(z(2, 0)));
    let ids = fsync_ids(&e);
    assert_eq!(
        io(&e),
        vec![
            Effect::Write(DiskWrite::CurrentEpoch(2)),
            fsync(ids[0], DiskFile::Epochs, vec![newleader_ack()]),
            append(1, 3),
            append(1, 4),
            fsync(ids[1], DiskFile::Log, vec![txn_ack(1, 3), txn_ack(1, 4)]),
        ]
    );
}

/// A learner opens its quorum connection explicitly (`Learner.connectToLeader`) and sends
/// FOLLOWERINFO first on it (`registerWithLeader`): the simulator's transport opens the
/// connection on the effect, never by reading the message.
#[test]
fn a_follower_connects_to_its_leader_then_sends_followerinfo_first() {
    let (_, effects) = elected_follower(1, Variant::None, DurableState::default());
    let io: Vec<&Effect> =
        effects.iter().filter(|e| matches!(e, Effect::Connect { .. } | Effect::Send { .. })).collect();
    let connect = io.iter().position(|e| matches!(e, Effect::Connect { peer: LEADER })).expect("a Connect");
    assert!(
        matches!(io.get(connect + 1), Some(Effect::Send { to: LEADER, msg: Message::FollowerInfo { .. } })),
        "{io:?}"
    );
    let info = Message::FollowerInfo { accepted_epoch: 0, observer: false, config_version: Zxid::ZERO };
    assert_eq!(info.channel(), crate::message::Channel::Quorum);
}
