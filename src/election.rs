//! Fast Leader Election, as `FastLeaderElection.lookForLeader` in ZooKeeper 3.9.
//!
//! Event-driven: where ZooKeeper blocks on `recvqueue.poll(notTimeout)` or
//! `poll(finalizeWait)`, this sets [`Timer::FleNotification`] or [`Timer::FleFinalize`];
//! every notification processed restarts the poll, exactly as the loop does.

use crate::contract::{NodeConfig, Outbox, Timer};
use crate::message::{Message, Notification};
use crate::quorum::Quorums;
use crate::types::{Epoch, Round, ServerState, Sid, Zxid};
use crate::variant::Variant;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// A vote: (proposed leader, its last logged zxid, its currentEpoch).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    pub leader: Sid,
    pub zxid: Zxid,
    pub peer_epoch: Epoch,
}

impl Vote {
    fn of(n: &Notification) -> Vote {
        Vote { leader: n.leader, zxid: n.zxid, peer_epoch: n.peer_epoch }
    }
}

/// `totalOrderPredicate`: does `new` beat `cur`? Ordered by (peerEpoch, zxid, sid); a
/// server of weight 0 in the configuration in force never wins.
pub fn total_order_predicate(cfg: &NodeConfig, q: &Quorums, new: Vote, cur: Vote) -> bool {
    if q.current.weight(new.leader) == 0 {
        return false;
    }
    match cfg.variant {
        // ZOOKEEPER-1419: the third clause forgot `new.peer_epoch == cur.peer_epoch`, so a
        // vote with a lower epoch but the same zxid and a higher sid also "wins".
        Variant::Zk1419 => {
            new.peer_epoch > cur.peer_epoch
                || (new.peer_epoch == cur.peer_epoch && new.zxid > cur.zxid)
                || (new.zxid == cur.zxid && new.leader > cur.leader)
        }
        _ => (new.peer_epoch, new.zxid, new.leader) > (cur.peer_epoch, cur.zxid, cur.leader),
    }
}

/// A vote as kept in `recvset` / `outofelection`: with the round and sender state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
struct ReceivedVote {
    vote: Vote,
    round: Round,
    state: ServerState,
    /// Built with `Vote`'s constructors that leave `version` 0x0 (every `recvset` entry);
    /// `outofelection` entries and the vote they are compared with carry the
    /// notification's version (> 0x0 from every server modelled).
    version_zero: bool,
}

impl ReceivedVote {
    /// `Vote.equals`: if either side is LOOKING, everything must match; two votes of
    /// servers out of election match on leader and peerEpoch (ZOOKEEPER-1805), or on the
    /// leader alone when exactly one of them has version 0x0 (the ZOOKEEPER-1732 rolling
    /// upgrade clause). `receivedFollowingNotification` stores a same-round FOLLOWING or
    /// LEADING vote in `recvset` with version 0x0 and compares it with one of the
    /// notification's version, so in the round's own tally only the leader id counts.
    /// Same in 3.8.0, 3.9.3 and 3.9.4.
    fn matches(&self, other: &ReceivedVote) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            self.vote == other.vote && self.round == other.round
        } else if self.version_zero != other.version_zero {
            self.vote.leader == other.vote.leader
        } else {
            self.vote.leader == other.vote.leader && self.vote.peer_epoch == other.vote.peer_epoch
        }
    }
}

/// The outcome of an election: the vote that won and the round it won in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    pub vote: Vote,
    pub round: Round,
}

/// One server's FLE state. `logicalclock` and the proposal outlive a round; the vote
/// sets are per call of `lookForLeader`.
#[derive(Clone, Debug, Hash)]
pub struct Election {
    id: Sid,
    logical_clock: Round,
    proposal: Vote,
    /// Votes of this round (`recvset`).
    recv_set: BTreeMap<Sid, ReceivedVote>,
    /// Votes of servers that are FOLLOWING or LEADING, of any round (`outofelection`).
    out_of_election: BTreeMap<Sid, ReceivedVote>,
    /// The poll timeout, doubling from `minNotificationInterval` to the maximum.
    not_timeout_us: u64,
    /// A quorum agrees with the proposal and the finalize wait is running.
    finalizing: bool,
    /// Own notifications, delivered to self after the current input (QCM loopback).
    self_queue: VecDeque<Notification>,
}

impl Election {
    pub fn new(id: Sid) -> Election {
        Election {
            id,
            logical_clock: 0,
            proposal: Vote { leader: id, zxid: Zxid::ZERO, peer_epoch: 0 },
            recv_set: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            not_timeout_us: 0,
            finalizing: false,
            self_queue: VecDeque::new(),
        }
    }

    pub fn logical_clock(&self) -> Round {
        self.logical_clock
    }

    pub fn proposal(&self) -> Vote {
        self.proposal
    }

    pub fn is_finalizing(&self) -> bool {
        self.finalizing
    }

    pub fn notification_timeout_us(&self) -> u64 {
        self.not_timeout_us
    }

    /// The notification this server sends while LOOKING (`sendNotifications`).
    pub fn notification(&self, q: &Quorums) -> Notification {
        Notification {
            state: ServerState::Looking,
            leader: self.proposal.leader,
            zxid: self.proposal.zxid,
            election_epoch: self.logical_clock,
            peer_epoch: self.proposal.peer_epoch,
            config: q.current,
        }
    }

    pub(crate) fn take_self_notification(&mut self) -> Option<Notification> {
        self.self_queue.pop_front()
    }

    /// Start of `lookForLeader`: next round, vote for self, tell every voter.
    pub fn look_for_leader(&mut self, cfg: &NodeConfig, q: &Quorums, init: Vote, out: &mut Outbox) {
        if self.finalizing {
            // A LOOKING server restarting its election (a newer configuration) leaves the
            // finalize wait it was in.
            out.cancel_timer(Timer::FleFinalize);
        }
        self.logical_clock += 1;
        self.recv_set.clear();
        self.out_of_election.clear();
        self.self_queue.clear();
        self.finalizing = false;
        self.proposal = init;
        self.not_timeout_us = cfg.timing.min_notification_interval_us;
        self.send_notifications(q, out);
        out.set_timer(Timer::FleNotification, self.not_timeout_us);
    }

    /// Sends the current proposal to every voter of the current and the next
    /// configuration, self included when a voter (delivered via the loopback queue, as
    /// `QuorumCnxManager` does).
    fn send_notifications(&mut self, q: &Quorums, out: &mut Outbox) {
        let n = self.notification(q);
        for sid in q.voters().iter() {
            if sid == self.id {
                self.self_queue.push_back(n);
            } else {
                out.send(sid, Message::Notification(n));
            }
        }
    }

    fn update_proposal(&mut self, vote: Vote) {
        self.proposal = vote;
    }

    /// Resends the proposal to one peer whose connection just came up: QCM's SendWorker
    /// resends the last message on a new connection.
    pub fn resend_to(&self, q: &Quorums, peer: Sid, out: &mut Outbox) {
        out.send(peer, Message::Notification(self.notification(q)));
    }

    /// One notification taken off the receive queue while LOOKING. `init` is the vote
    /// for self (`getInitId`, `getInitLastLoggedZxid`, `getPeerEpoch`).
    pub fn on_notification(
        &mut self,
        cfg: &NodeConfig,
        q: &Quorums,
        init: Vote,
        from: Sid,
        n: Notification,
        out: &mut Outbox,
    ) -> Option<Decision> {
        if self.finalizing {
            // The finalize loop: only a strictly better vote reopens the election; any
            // other notification is consumed and the wait starts over.
            if !total_order_predicate(cfg, q, Vote::of(&n), self.proposal) {
                out.set_timer(Timer::FleFinalize, cfg.timing.finalize_wait_us);
                return None;
            }
            self.finalizing = false;
            out.cancel_timer(Timer::FleFinalize);
        }
        let decision = match n.state {
            ServerState::Looking => self.on_looking(cfg, q, init, from, n, out),
            ServerState::Observing => None,
            ServerState::Following | ServerState::Leading => self.on_out_of_election(q, from, n),
        };
        if let Some(d) = decision {
            return Some(self.leave_instance(d, out));
        }
        if !self.finalizing {
            out.set_timer(Timer::FleNotification, self.not_timeout_us);
        }
        None
    }

    fn on_looking(
        &mut self,
        cfg: &NodeConfig,
        q: &Quorums,
        init: Vote,
        from: Sid,
        n: Notification,
        out: &mut Outbox,
    ) -> Option<Decision> {
        let theirs = Vote::of(&n);
        if n.election_epoch > self.logical_clock {
            // A later round: join it, forget this round's votes, and stand for the better
            // of their vote and our own initial vote.
            self.logical_clock = n.election_epoch;
            self.recv_set.clear();
            let vote = if total_order_predicate(cfg, q, theirs, init) { theirs } else { init };
            self.update_proposal(vote);
            self.send_notifications(q, out);
        } else if n.election_epoch < self.logical_clock {
            return None; // An older round: ignored (the receiver already answered it).
        } else if total_order_predicate(cfg, q, theirs, self.proposal) {
            self.update_proposal(theirs);
            self.send_notifications(q, out);
        }
        let received = ReceivedVote { vote: theirs, round: n.election_epoch, state: n.state, version_zero: true };
        self.recv_set.insert(from, received);
        let mine = ReceivedVote {
            vote: self.proposal,
            round: self.logical_clock,
            state: ServerState::Looking,
            version_zero: true,
        };
        if self.has_quorum(q, &self.recv_set, &mine) {
            // Keep listening for finalizeWait before deciding.
            self.finalizing = true;
            out.cancel_timer(Timer::FleNotification);
            out.set_timer(Timer::FleFinalize, cfg.timing.finalize_wait_us);
        }
        None
    }

    /// `receivedFollowingNotification` / `receivedLeadingNotification`.
    fn on_out_of_election(&mut self, q: &Quorums, from: Sid, n: Notification) -> Option<Decision> {
        let theirs = ReceivedVote { vote: Vote::of(&n), round: n.election_epoch, state: n.state, version_zero: false };
        let decision = Decision { vote: theirs.vote, round: n.election_epoch };
        if n.election_epoch == self.logical_clock {
            self.recv_set.insert(from, ReceivedVote { version_zero: true, ..theirs });
            if self.has_quorum(q, &self.recv_set, &theirs)
                && self.check_leader(&self.recv_set, n.leader, n.election_epoch)
            {
                return Some(decision);
            }
        }
        // Before joining an established ensemble, a quorum must follow the same leader.
        self.out_of_election.insert(from, theirs);
        if self.has_quorum(q, &self.out_of_election, &theirs)
            && self.check_leader(&self.out_of_election, n.leader, n.election_epoch)
        {
            self.logical_clock = n.election_epoch;
            return Some(decision);
        }
        None
    }

    /// `getVoteTracker(...).hasAllQuorums()`: a majority of the configuration in force,
    /// and of the newer one while it is pending.
    fn has_quorum(&self, q: &Quorums, votes: &BTreeMap<Sid, ReceivedVote>, target: &ReceivedVote) -> bool {
        q.has_all_quorums(votes.iter().filter(|(_, v)| v.matches(target)).map(|(sid, _)| *sid).collect())
    }

    /// `checkLeader`: the leader's own vote must say LEADING, or, if we are the leader,
    /// the round must be ours (so a server that restarted does not follow a dead leader).
    fn check_leader(&self, votes: &BTreeMap<Sid, ReceivedVote>, leader: Sid, round: Round) -> bool {
        if leader != self.id {
            votes.get(&leader).is_some_and(|v| v.state == ServerState::Leading)
        } else {
            self.logical_clock == round
        }
    }

    /// A poll or finalize timeout.
    pub fn on_timer(&mut self, cfg: &NodeConfig, q: &Quorums, timer: Timer, out: &mut Outbox) -> Option<Decision> {
        match timer {
            Timer::FleFinalize => {
                assert!(self.finalizing, "finalize timer fired outside the finalize wait");
                let d = Decision { vote: self.proposal, round: self.logical_clock };
                Some(self.leave_instance(d, out))
            }
            Timer::FleNotification => {
                assert!(!self.finalizing, "poll timer fired during the finalize wait");
                // Nothing heard for notTimeout: resend and back off.
                self.send_notifications(q, out);
                self.not_timeout_us = (self.not_timeout_us * 2).min(cfg.timing.max_notification_interval_us);
                out.set_timer(Timer::FleNotification, self.not_timeout_us);
                None
            }
            other => panic!("FLE got a timer it does not own: {other:?}"),
        }
    }

    /// `leaveInstance`: stop the round's timers and drop whatever is still queued.
    fn leave_instance(&mut self, d: Decision, out: &mut Outbox) -> Decision {
        out.cancel_timer(Timer::FleNotification);
        out.cancel_timer(Timer::FleFinalize);
        self.finalizing = false;
        self.self_queue.clear();
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Effect;
    use crate::quorum::{QuorumVerifier, Quorums};
    use crate::timing::Timing;

    fn cfg(id: Sid, variant: Variant) -> NodeConfig {
        NodeConfig::new(id, QuorumVerifier::majority_of(5), Timing::default(), variant)
    }

    fn q() -> Quorums {
        let qv = QuorumVerifier::majority_of(5);
        Quorums::new(qv, qv)
    }

    fn vote(leader: Sid, epoch: Epoch, counter: u64) -> Vote {
        Vote { leader, zxid: Zxid::new(epoch.min(1), counter), peer_epoch: epoch }
    }

    fn looking(v: Vote, round: Round) -> Notification {
        Notification {
            state: ServerState::Looking,
            leader: v.leader,
            zxid: v.zxid,
            election_epoch: round,
            peer_epoch: v.peer_epoch,
            config: QuorumVerifier::majority_of(5),
        }
    }

    fn with_state(state: ServerState, v: Vote, round: Round) -> Notification {
        Notification { state, ..looking(v, round) }
    }

    /// Server 1 in round 1, voting for itself, its own loopback notification processed.
    fn started(id: Sid, init: Vote) -> (NodeConfig, Election, Outbox) {
        let c = cfg(id, Variant::None);
        let mut e = Election::new(id);
        let mut out = Outbox::default();
        e.look_for_leader(&c, &q(), init, &mut out);
        while let Some(n) = e.take_self_notification() {
            assert!(e.on_notification(&c, &q(), init, id, n, &mut out).is_none());
        }
        (c, e, out)
    }

    fn sent_votes(out: &Outbox) -> Vec<(Sid, Sid, Round)> {
        out.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg: Message::Notification(n) } => Some((*to, n.leader, n.election_epoch)),
                _ => None,
            })
            .collect()
    }

    fn timers(out: &Outbox) -> Vec<Effect> {
        out.effects
            .iter()
            .filter(|e| matches!(e, Effect::SetTimer { .. } | Effect::CancelTimer { .. }))
            .cloned()
            .collect()
    }

    #[test]
    fn vote_order_is_peer_epoch_then_zxid_then_sid() {
        let c = cfg(1, Variant::None);
        assert!(total_order_predicate(&c, &q(), vote(1, 2, 1), vote(5, 1, 9)), "epoch first");
        assert!(total_order_predicate(&c, &q(), vote(1, 1, 9), vote(5, 1, 1)), "then zxid");
        assert!(total_order_predicate(&c, &q(), vote(5, 1, 1), vote(1, 1, 1)), "then sid");
        assert!(!total_order_predicate(&c, &q(), vote(1, 1, 1), vote(1, 1, 1)), "strict");
    }

    #[test]
    fn a_server_of_weight_zero_never_wins() {
        let c = cfg(1, Variant::None);
        assert!(!total_order_predicate(&c, &q(), vote(9, 9, 9), vote(1, 0, 0)));
    }

    #[test]
    fn zk_1419_order_lets_two_votes_beat_each_other() {
        let buggy = cfg(1, Variant::Zk1419);
        let fixed = cfg(1, Variant::None);
        let high_epoch = Vote { leader: 2, zxid: Zxid::new(1, 10), peer_epoch: 2 };
        let high_sid = Vote { leader: 5, zxid: Zxid::new(1, 10), peer_epoch: 1 };
        assert!(total_order_predicate(&buggy, &q(), high_epoch, high_sid));
        assert!(total_order_predicate(&buggy, &q(), high_sid, high_epoch), "the bug: not antisymmetric");
        assert!(total_order_predicate(&fixed, &q(), high_epoch, high_sid));
        assert!(!total_order_predicate(&fixed, &q(), high_sid, high_epoch));
    }

    #[test]
    fn look_for_leader_increments_logicalclock_and_sends_own_vote_to_every_voter() {
        let (_, e, out) = started(1, vote(1, 1, 3));
        assert_eq!(e.logical_clock(), 1);
        assert_eq!(sent_votes(&out), vec![(2, 1, 1), (3, 1, 1), (4, 1, 1), (5, 1, 1)]);
        assert!(out.effects.contains(&Effect::SetTimer { timer: Timer::FleNotification, after_us: 200_000 }));
    }

    #[test]
    fn higher_round_is_joined_forgetting_votes_and_taking_the_better_of_theirs_and_own_initial() {
        let init = vote(1, 1, 5);
        let (c, mut e, _) = started(1, init);
        // Adopt 3's (better) vote in round 1 first.
        let mut out = Outbox::default();
        e.on_notification(&c, &q(), init, 3, looking(vote(3, 1, 9), 1), &mut out);
        assert_eq!(e.proposal().leader, 3);
        // A round-4 notification for a worse vote: join round 4 with our *initial* vote.
        let mut out = Outbox::default();
        e.on_notification(&c, &q(), init, 2, looking(vote(2, 1, 1), 4), &mut out);
        assert_eq!(e.logical_clock(), 4);
        assert_eq!(e.proposal(), init, "compared against the initial vote, not the proposal");
        assert_eq!(sent_votes(&out).len(), 4);
        assert_eq!(e.recv_set.len(), 1, "recvset cleared, then the new vote recorded");
    }

    #[test]
    fn lower_round_looking_notification_is_ignored() {
        let init = vote(1, 1, 5);
        let (c, mut e, _) = started(1, init);
        let mut out = Outbox::default();
        e.on_notification(&c, &q(), init, 2, looking(vote(2, 1, 1), 4), &mut out);
        let mut out = Outbox::default();
        e.on_notification(&c, &q(), init, 5, looking(vote(5, 9, 9), 2), &mut out);
        assert_eq!(e.proposal(), init);
        assert!(sent_votes(&out).is_empty());
        assert!(!e.recv_set.contains_key(&5));
    }

    #[test]
    fn same_round_better_vote_is_adopted_and_rebroadcast() {
        let init = vote(1, 1, 5);
        let (c, mut e, _) = started(1, init);
        let mut out = Outbox::default();
        e.on_notification(&c, &q(), init, 4, looking(vote(4, 1, 5), 1), &mut out);
        assert_eq!(e.proposal().leader, 4);
        assert_eq!(sent_votes(&out), vec![(2, 4, 1), (3, 4, 1), (4, 4, 1), (5, 4, 1)]);
        // A worse one changes nothing and sends nothing.
        let mut out = Outbox::default();
        e.on_notification(&c, &q(), init, 2, looking(vote(2, 1, 5), 1), &mut out);
        assert_eq!(e.proposal().leader, 4);
        assert!(sent_votes(&out).is_empty());
    }

    /// Drives server 1 to a quorum for server 5's vote in round 1.
    fn quorum_for_5() -> (NodeConfig, Election, Vote) {
        let init = vote(1, 1, 5);
        let (c, mut e, _) = started(1, init);
        let v5 = vote(5, 1, 5);
        let mut out = Outbox::default();
        e.on_notification(&c, &q(), init, 5, looking(v5, 1), &mut out);
        while let Some(n) = e.take_self_notification() {
            e.on_notification(&c, &q(), init, 1, n, &mut out);
        }
        assert!(!e.is_finalizing(), "two votes of five are no quorum");
        let mut out = Outbox::default();
        assert!(e.on_notification(&c, &q(), init, 4, looking(v5, 1), &mut out).is_none());
        assert!(e.is_finalizing());
        assert!(timers(&out).contains(&Effect::SetTimer { timer: Timer::FleFinalize, after_us: 200_000 }));
        assert!(timers(&out).contains(&Effect::CancelTimer { timer: Timer::FleNotification }));
        (c, e, init)
    }

    #[test]
    fn a_quorum_starts_the_finalize_wait_and_silence_decides() {
        let (c, mut e, _) = quorum_for_5();
        let mut out = Outbox::default();
        let d = e.on_timer(&c, &q(), Timer::FleFinalize, &mut out).expect("silence decides");
        assert_eq!(d, Decision { vote: vote(5, 1, 5), round: 1 });
        assert!(out.effects.contains(&Effect::CancelTimer { timer: Timer::FleNotification }));
    }

    #[test]
    fn a_better_vote_during_the_finalize_wait_reopens_the_election() {
        let (c, mut e, init) = quorum_for_5();
        let mut out = Outbox::default();
        assert!(e.on_notification(&c, &q(), init, 2, looking(vote(2, 2, 0), 1), &mut out).is_none());
        assert!(!e.is_finalizing());
        assert_eq!(e.proposal().leader, 2);
        assert!(out.effects.contains(&Effect::CancelTimer { timer: Timer::FleFinalize }));
    }

    #[test]
    fn a_vote_no_better_during_the_finalize_wait_is_dropped_and_the_wait_restarts() {
        let (c, mut e, init) = quorum_for_5();
        let before = e.recv_set.clone();
        let mut out = Outbox::default();
        assert!(e.on_notification(&c, &q(), init, 3, looking(vote(3, 1, 1), 1), &mut out).is_none());
        assert!(e.is_finalizing());
        assert_eq!(e.recv_set, before, "consumed by the finalize loop, never recorded");
        assert_eq!(timers(&out), vec![Effect::SetTimer { timer: Timer::FleFinalize, after_us: 200_000 }]);
    }

    #[test]
    fn notification_timeout_resends_and_doubles_up_to_the_maximum() {
        let (c, mut e, _) = started(1, vote(1, 1, 1));
        let mut expected = 200_000;
        for _ in 0..12 {
            let mut out = Outbox::default();
            assert!(e.on_timer(&c, &q(), Timer::FleNotification, &mut out).is_none());
            expected = (expected * 2).min(60_000_000);
            assert_eq!(e.notification_timeout_us(), expected);
            assert_eq!(sent_votes(&out).len(), 4, "resent to every peer");
        }
        assert_eq!(e.notification_timeout_us(), 60_000_000);
    }

    /// Server 1, in round 1, hears servers 2 and 3 FOLLOWING server 4 and 4 LEADING, all
    /// in `round`.
    fn hear_leader_4_in(round: Round) -> (Election, Option<Decision>) {
        let init = vote(1, 0, 0);
        let (c, mut e, _) = started(1, init);
        let v4 = vote(4, 1, 2);
        let mut out = Outbox::default();
        for from in [2, 3] {
            assert!(e
                .on_notification(&c, &q(), init, from, with_state(ServerState::Following, v4, round), &mut out)
                .is_none());
        }
        let d = e.on_notification(&c, &q(), init, 4, with_state(ServerState::Leading, v4, round), &mut out);
        (e, d)
    }

    #[test]
    fn out_of_election_quorum_with_a_leading_leader_is_followed_in_its_round() {
        let (e, d) = hear_leader_4_in(7);
        assert_eq!(d, Some(Decision { vote: vote(4, 1, 2), round: 7 }));
        assert_eq!(e.logical_clock(), 7, "adopts the leader's round");
    }

    #[test]
    fn check_leader_refuses_a_quorum_without_the_leaders_own_leading_vote() {
        let init = vote(1, 0, 0);
        let (c, mut e, _) = started(1, init);
        let v4 = vote(4, 1, 2);
        let mut out = Outbox::default();
        for from in [2, 3, 5] {
            assert!(
                e.on_notification(&c, &q(), init, from, with_state(ServerState::Following, v4, 7), &mut out).is_none(),
                "three followers of 4, but 4 itself never said LEADING"
            );
        }
    }

    #[test]
    fn following_votes_of_the_current_round_count_in_recvset() {
        // Same round as ours (1): recorded in recvset and enough with the leader's vote.
        let (e, d) = hear_leader_4_in(1);
        assert_eq!(d, Some(Decision { vote: vote(4, 1, 2), round: 1 }));
        assert_eq!(e.recv_set.len(), 4);
    }

    #[test]
    fn out_of_election_votes_match_on_leader_and_epoch_only() {
        let a = ReceivedVote { vote: vote(4, 1, 2), round: 3, state: ServerState::Following, version_zero: false };
        let b = ReceivedVote { vote: vote(4, 1, 9), round: 8, state: ServerState::Leading, version_zero: false };
        assert!(a.matches(&b), "ZOOKEEPER-1805: zxid and round may differ out of election");
        let c = ReceivedVote { state: ServerState::Looking, ..b };
        assert!(!a.matches(&c), "a LOOKING side compares everything");
    }

    /// `receivedFollowingNotification`: in the same round, `recvset` keeps FOLLOWING and
    /// LEADING votes with version 0x0 and `Vote.equals` then compares them with the
    /// notification's vote on the leader id only, so followers reporting another peer
    /// epoch than the leader's (one not yet synced) still count; `outofelection` compares
    /// the peer epoch too.
    #[test]
    fn same_round_out_of_election_votes_are_compared_on_the_leader_id_only() {
        let init = vote(1, 0, 0);
        let (c, mut e, _) = started(1, init);
        let mut out = Outbox::default();
        for (from, epoch) in [(2, 1), (3, 2)] {
            let n = with_state(ServerState::Following, vote(4, epoch, 2), 1);
            assert!(e.on_notification(&c, &q(), init, from, n, &mut out).is_none());
        }
        let d = e.on_notification(&c, &q(), init, 4, with_state(ServerState::Leading, vote(4, 3, 2), 1), &mut out);
        assert_eq!(d, Some(Decision { vote: vote(4, 3, 2), round: 1 }), "2, 3 and 4 agree on leader 4");
        // In another round only `outofelection` counts, where the peer epochs differ.
        let (c, mut e, _) = started(1, init);
        for (from, epoch) in [(2, 1), (3, 2)] {
            let n = with_state(ServerState::Following, vote(4, epoch, 2), 7);
            assert!(e.on_notification(&c, &q(), init, from, n, &mut out).is_none());
        }
        let n = with_state(ServerState::Leading, vote(4, 3, 2), 7);
        assert!(e.on_notification(&c, &q(), init, 4, n, &mut out).is_none());
    }

    #[test]
    fn out_of_election_votes_of_different_versions_match_on_the_leader_alone() {
        let a = ReceivedVote { vote: vote(4, 1, 2), round: 3, state: ServerState::Following, version_zero: true };
        let b = ReceivedVote { vote: vote(4, 2, 9), round: 3, state: ServerState::Leading, version_zero: false };
        assert!(a.matches(&b));
        assert!(!ReceivedVote { version_zero: false, ..a }.matches(&b));
    }
}
