//! A server: one dispatch on role (`Looking`, `Following`, `Leading`), as in ZooKeeper's
//! `QuorumPeer.run` loop, over the per-role handlers ([`crate::election`], `leader`,
//! `follower`) and the state they share (`server::Core`). What a node takes and
//! gives is the contract in [`crate::contract`].

use crate::api::{Request, SessionId, Xid};
use crate::contract::{
    ClientReply, ClientRequest, Effect, Input, LookingReason, NodeConfig, Observation, Outbox, Timer,
};
use crate::durable::{DurableState, Op, StartupError, Txn};
use crate::election::{Decision, Election, Vote};
use crate::follower::Follower;
use crate::leader::Leader;
use crate::message::{Message, Notification};
use crate::quorum::QuorumVerifier;
use crate::server::Core;
use crate::session;
use crate::tree::DataTree;
use crate::types::{Epoch, Round, ServerState, Sid, Zxid, ROUND_NONE};
use crate::variant::Variant;

/// The role a server plays, as in `QuorumPeer.run`.
#[derive(Clone, Debug, Hash)]
enum Role {
    Looking,
    Following(Follower),
    Leading(Leader),
}

/// One ZooKeeper server.
#[derive(Clone, Debug, Hash)]
pub struct Node {
    core: Core,
    fle: Election,
    role: Role,
    /// The process exited: no further input reaches it.
    exited: bool,
    /// `QuorumPeer.currentVote`: the vote that ended the last election (what a non-LOOKING
    /// server answers LOOKING peers with), and the round it won.
    current_vote: Option<(Vote, Round)>,
}

impl Node {
    /// Builds a server from its durable image, running ZooKeeper's startup checks. The
    /// node does nothing until it receives [`Input::Start`]. Like `loadDataBase`, it
    /// applies its whole log.
    pub fn recover(cfg: NodeConfig, durable: DurableState) -> Result<Node, StartupError> {
        let core = Core::recover(cfg, durable)?;
        Ok(Node { fle: Election::new(core.cfg.id), core, role: Role::Looking, current_vote: None, exited: false })
    }

    pub fn id(&self) -> Sid {
        self.core.cfg.id
    }

    pub fn config(&self) -> &NodeConfig {
        &self.core.cfg
    }

    pub fn state(&self) -> ServerState {
        match &self.role {
            Role::Looking => ServerState::Looking,
            Role::Following(f) if f.is_observer() => ServerState::Observing,
            Role::Following(_) => ServerState::Following,
            Role::Leading(_) => ServerState::Leading,
        }
    }

    /// The leader this server follows or is, when not LOOKING.
    pub fn leader(&self) -> Option<Sid> {
        match &self.role {
            Role::Looking => None,
            Role::Following(f) => Some(f.leader()),
            Role::Leading(_) => Some(self.id()),
        }
    }

    /// Serving: a leader a quorum acknowledged (BROADCAST), or a follower past UPTODATE.
    pub fn is_established(&self) -> bool {
        match &self.role {
            Role::Looking => false,
            Role::Following(f) => f.is_serving(),
            Role::Leading(l) => l.is_established(),
        }
    }

    /// The epoch this server leads or follows in, once known.
    pub fn epoch(&self) -> Option<Epoch> {
        match &self.role {
            Role::Looking => None,
            Role::Following(f) => f.epoch(),
            Role::Leading(l) => l.epoch(),
        }
    }

    /// The configuration in force (`quorumVerifier`).
    pub fn quorum_verifier(&self) -> QuorumVerifier {
        self.core.quorums.current
    }

    /// The newest configuration seen (`lastSeenQuorumVerifier`).
    pub fn last_seen_quorum_verifier(&self) -> QuorumVerifier {
        self.core.quorums.last_seen()
    }

    /// The FLE round (`logicalclock`).
    pub fn round(&self) -> Round {
        self.fle.logical_clock()
    }

    /// The vote this server currently proposes (LOOKING) or stands by (otherwise).
    pub fn vote(&self) -> Vote {
        match (&self.role, &self.current_vote) {
            (Role::Looking, _) | (_, None) => self.fle.proposal(),
            (_, Some((v, _))) => *v,
        }
    }

    /// The server's view of its disk: the durable image plus writes not yet fsynced.
    pub fn disk_view(&self) -> &DurableState {
        self.core.disk()
    }

    /// The server's history as its files hold it (durable and volatile writes): the
    /// newest snapshot's txns, then the log after it.
    pub fn log(&self) -> &[Txn] {
        self.core.disk().history()
    }

    pub fn last_processed(&self) -> Zxid {
        self.core.last_processed()
    }

    /// The data tree at `last_processed`.
    pub fn tree(&self) -> &DataTree {
        self.core.tree()
    }

    /// Switches the release a test server behaves as.
    #[cfg(test)]
    pub(crate) fn set_release(&mut self, release: crate::release::Release) {
        self.core.cfg.release = release;
    }

    /// Gives a test server's `CommitProcessor` a latency (`toBeApplied` then holds what
    /// it committed until [`Timer::CommitProcessor`] fires).
    #[cfg(test)]
    pub(crate) fn set_commit_processor_us(&mut self, us: u64) {
        self.core.cfg.timing.commit_processor_us = us;
    }

    /// The leader role, for tests that need to reach states no short run reaches.
    #[cfg(test)]
    pub(crate) fn leader_mut(&mut self) -> Option<&mut Leader> {
        match &mut self.role {
            Role::Leading(l) => Some(l),
            _ => None,
        }
    }

    /// `startLeaderElection`'s `new Vote(myid, getLastLoggedZxid(), getCurrentEpoch())`.
    fn self_vote(&self) -> Vote {
        Vote { leader: self.id(), zxid: self.core.last_zxid(), peer_epoch: self.core.disk().current_epoch }
    }

    /// `FastLeaderElection.getInitId`, `getInitLastLoggedZxid`, `getPeerEpoch`: the id is
    /// this server's if it votes in the configuration in force, else nobody
    /// (`Long.MIN_VALUE`: id 0 here, which any voter's vote beats); the zxid and epoch are
    /// its real last logged zxid and currentEpoch while its learner type is PARTICIPANT (a
    /// voter, or a joiner outside the configuration: `updateLearnerType` makes a server
    /// not in the view a participant), and `Long.MIN_VALUE` for an OBSERVER (0 here, the
    /// smallest unsigned value; a voter's vote beats it either way). Same in 3.8.0, 3.9.3
    /// and 3.9.4.
    fn init_vote(&self) -> Vote {
        let current = &self.core.quorums.current;
        let leader = if current.is_voter(self.id()) { self.id() } else { 0 };
        if current.is_observer(self.id()) {
            return Vote { leader, zxid: Zxid::ZERO, peer_epoch: 0 };
        }
        Vote { leader, zxid: self.core.last_zxid(), peer_epoch: self.core.disk().current_epoch }
    }

    /// Whether the process exited (`ExitCode`).
    pub fn has_exited(&self) -> bool {
        self.exited
    }

    /// Handles one input. Effects are appended to `out`.
    pub fn step(&mut self, input: Input, out: &mut Outbox) {
        assert!(!self.exited, "server {}: input after its process exited", self.id());
        match input {
            Input::Start => {
                self.core.save_empty_snapshot(out);
                // `QuorumPeer.start` -> `startLeaderElection`: `currentVote` is the server's
                // own vote until an election ends.
                self.current_vote = Some((self.self_vote(), ROUND_NONE));
                self.start_looking(LookingReason::Startup, out)
            }
            Input::Message { from, msg: Message::Notification(n) } => self.on_notification(from, n, out),
            Input::Message { from, msg } => self.on_quorum_message(from, msg, out),
            Input::Timer { timer } => self.on_timer(timer, out),
            Input::ConnectionUp { peer } => {
                // QCM's SendWorker resends the last notification on a new connection, so
                // a peer that was cut off learns our vote without waiting for a timeout.
                if matches!(self.role, Role::Looking) {
                    self.fle.resend_to(&self.core.quorums, peer, out);
                }
            }
            Input::ConnectionDown { peer } => self.on_connection_down(peer, out),
            Input::Durable { fsync } => self.on_durable(fsync, out),
            Input::Client { client, request } => self.on_client(client, request, out),
            Input::ClientGone { client } => self.core.clients.remove(client),
        }
        self.restart_election_if_reconfigured();
        if self.exited {
            return;
        }
        self.update_election_vote();
        self.drain_self_notifications(out);
    }

    /// `QuorumPeer.restartLeaderElection` / `startLeaderElection`: a new
    /// `FastLeaderElection` object, whose `logicalclock` starts at 0 (its first
    /// `lookForLeader` makes it 1). The vote this server answers with
    /// (`currentVote`) is kept: `startLeaderElection` resets it only when LOOKING.
    fn restart_election_if_reconfigured(&mut self) {
        if std::mem::take(&mut self.core.restart_election) {
            self.fle = Election::new(self.id());
        }
    }

    /// `QuorumPeer.updateElectionVote` (ZOOKEEPER-1732): once a leader is established, or a
    /// learner gets UPTODATE, the vote it answers LOOKING servers with carries the epoch it
    /// now serves in, so every member of the ensemble reports the same vote. (A reconfig's
    /// designated leader is taken with the epoch of before; without this its followers and
    /// it would report different epochs and a joining server could never match them.)
    fn update_election_vote(&mut self) {
        let Some((vote, _)) = &mut self.current_vote else { return };
        let serving_in = match &self.role {
            Role::Looking => None,
            Role::Following(f) if f.is_serving() => f.epoch(),
            Role::Leading(l) if l.is_established() => l.epoch(),
            _ => None,
        };
        if let Some(epoch) = serving_in {
            vote.peer_epoch = epoch;
        }
    }

    fn on_client(&mut self, client: u64, request: ClientRequest, out: &mut Outbox) {
        match request {
            ClientRequest::Srvr => {
                let reply = ClientReply::Srvr {
                    state: self.state(),
                    leader: self.leader(),
                    zxid: self.core.last_processed(),
                    current_epoch: self.core.disk().current_epoch,
                };
                out.effects.push(Effect::ClientReply { client, reply });
            }
            ClientRequest::Write { seq } => {
                let back_to_looking = match &mut self.role {
                    Role::Leading(l) if l.is_established() => l.on_client_write(&mut self.core, client, seq, out),
                    Role::Following(f) if f.is_serving() => {
                        f.on_client_write(&mut self.core, client, seq, out);
                        None
                    }
                    _ => {
                        out.effects.push(Effect::ClientReply { client, reply: ClientReply::NotServing { seq } });
                        None
                    }
                };
                if let Some(reason) = back_to_looking {
                    self.start_looking(reason, out);
                }
            }
            ClientRequest::Connect { session, timeout_ms, last_zxid_seen } => {
                self.on_connect(client, session, timeout_ms, last_zxid_seen, out)
            }
            ClientRequest::Op { xid, call } => self.on_client_op(client, xid, *call, out),
            ClientRequest::Ping => match self.core.clients.session_of(client) {
                Some(session) if self.is_established() => {
                    self.touch_session(session);
                    out.effects.push(Effect::ClientReply { client, reply: ClientReply::Pong });
                }
                _ => out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed }),
            },
            ClientRequest::SetWatches(w) => self.core.set_watches(client, *w, out),
        }
    }

    /// `ZooKeeperServer.processConnectRequest`: refuse when not serving or behind the
    /// client; a new session becomes a `createSession` txn, an old one is revalidated by the
    /// leader (which alone knows whether it expired).
    fn on_connect(
        &mut self,
        client: u64,
        session: Option<SessionId>,
        timeout_ms: u32,
        last_zxid_seen: Zxid,
        out: &mut Outbox,
    ) {
        self.core.clients.remove(client); // A connection replaces an earlier one.
        if !self.is_established() || last_zxid_seen > self.core.last_processed() {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
            return;
        }
        let timeout_ms = session::negotiate_timeout(timeout_ms, self.core.cfg.timing.tick_ms());
        let mut back_to_looking = None;
        match (session, &mut self.role) {
            (None, Role::Leading(l)) => {
                self.core.clients.start_create(client, timeout_ms);
                back_to_looking = l.propose(&mut self.core, Op::CreateSession { client, timeout_ms }, out);
            }
            (None, Role::Following(f)) => {
                self.core.clients.start_create(client, timeout_ms);
                f.forward(Message::CreateSession { client, timeout_ms }, out);
            }
            (Some(s), Role::Leading(l)) => {
                self.core.clients.start_revalidate(client, s);
                let valid = l.touch(&self.core, s);
                self.core.finish_revalidate(client, s, valid, out);
            }
            (Some(s), Role::Following(f)) => {
                self.core.clients.start_revalidate(client, s);
                f.forward(Message::Revalidate { client, session: s }, out);
            }
            (_, Role::Looking) => unreachable!("established"),
        }
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    /// A session's API call: writes and syncs go to the leader; reads are answered here,
    /// after the session's earlier writes.
    fn on_client_op(&mut self, client: u64, xid: Xid, request: Request, out: &mut Outbox) {
        let Some(session) = self.core.clients.session_of(client) else {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
            return;
        };
        if !self.is_established() {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
            return;
        }
        self.touch_session(session);
        if request.is_write() || matches!(request, Request::Sync { .. }) {
            self.core.clients.push_in_flight(session, xid);
            let back_to_looking = match &mut self.role {
                Role::Leading(l) => l.on_session_op(&mut self.core, None, session, xid, request, out),
                Role::Following(f) => {
                    f.forward(Message::ClientOp { session, xid, request: Box::new(request) }, out);
                    None
                }
                Role::Looking => unreachable!("established"),
            };
            if let Some(reason) = back_to_looking {
                self.start_looking(reason, out);
            }
        } else if self.core.clients.must_hold(session) {
            self.core.clients.hold_read(session, xid, request);
        } else {
            self.core.serve_read(client, xid, &request, out);
        }
    }

    /// A client's request or ping keeps its session alive: at the leader directly, at a
    /// follower through its next PING answer.
    fn touch_session(&mut self, session: SessionId) {
        match &mut self.role {
            Role::Leading(l) => {
                l.touch(&self.core, session);
            }
            Role::Following(_) => {
                let timeout = self.core.tree().sessions().get(&session).copied().unwrap_or(0);
                self.core.clients.touch(session, timeout);
            }
            Role::Looking => {}
        }
    }

    fn on_durable(&mut self, fsync: u64, out: &mut Outbox) {
        assert!(self.core.fsync_issued(fsync), "fsync {fsync} completed before it was issued");
        let back_to_looking = match &mut self.role {
            Role::Looking => None,
            Role::Following(f) => f.on_durable(&mut self.core, fsync, out),
            Role::Leading(l) => l.on_durable(&mut self.core, fsync, out),
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    /// FLE delivers a server's own notifications to itself through its receive queue,
    /// after whatever it is processing now (`QuorumCnxManager.toSend` to self).
    fn drain_self_notifications(&mut self, out: &mut Outbox) {
        while let Some(n) = self.fle.take_self_notification() {
            if matches!(self.role, Role::Looking) {
                let init = self.init_vote();
                let q = self.core.quorums;
                if let Some(d) = self.fle.on_notification(&self.core.cfg, &q, init, self.id(), n, out) {
                    self.decide(d, out);
                }
            }
        }
    }

    /// `FastLeaderElection.WorkerReceiver`, then `lookForLeader` while LOOKING.
    fn on_notification(&mut self, from: Sid, n: Notification, out: &mut Outbox) {
        let q = self.core.quorums;
        if n.config.version() > q.current.version() && matches!(self.role, Role::Looking) {
            // A newer configuration, from anyone: adopt it; if its members differ, the
            // election starts over in it and this notification is dropped.
            self.core.activate_config(n.config, None, out);
            if !n.config.same_members(&q.current) {
                // `shuttingDownLE`: the election object is shut down and `QuorumPeer.run`
                // builds a new one (`startLeaderElection`: `logicalclock` starts over, and
                // `currentVote` becomes a vote for itself with election epoch -1).
                // The old object's wait ends with it (`lookForLeader` returns).
                out.cancel_timer(Timer::FleNotification);
                out.cancel_timer(Timer::FleFinalize);
                self.fle = Election::new(self.id());
                self.current_vote = Some((self.self_vote(), ROUND_NONE));
                self.start_looking(LookingReason::NewConfig, out);
                return;
            }
        }
        let q = self.core.quorums;
        if !q.voters().contains(from) {
            // `WorkerReceiver`, `!validVoter(response.sid)`: not a voter of our
            // configurations (an observer, a joiner, a removed server). It only learns
            // `getCurrentVote()` (the vote that ended our last election, or our own vote
            // from `startLeaderElection`) with our `logicalclock`, state and configuration,
            // whatever our state: a LOOKING server does not send its current proposal.
            // Same in 3.8.0, 3.9.3 and 3.9.4.
            let (vote, _) = self.current_vote.unwrap_or((self.self_vote(), ROUND_NONE));
            let answer = Notification {
                state: self.state(),
                leader: vote.leader,
                zxid: vote.zxid,
                election_epoch: self.fle.logical_clock(),
                peer_epoch: vote.peer_epoch,
                config: q.current,
            };
            out.send(from, Message::Notification(answer));
            return;
        }
        let q = self.core.quorums;
        match &self.role {
            Role::Looking => {
                // Answer a LOOKING peer from an older round with our vote.
                if n.state == ServerState::Looking && n.election_epoch < self.fle.logical_clock() {
                    out.send(from, Message::Notification(self.fle.notification(&q)));
                }
                if !q.voters().contains(n.leader) {
                    return; // `validVoter(n.leader)`: a vote for a non-voter does not count.
                }
                let init = self.init_vote();
                if let Some(d) = self.fle.on_notification(&self.core.cfg, &q, init, from, n, out) {
                    self.decide(d, out);
                }
            }
            Role::Following(_) | Role::Leading(_) => {
                // A server out of election tells a LOOKING peer who leads.
                if n.state == ServerState::Looking {
                    out.send(from, Message::Notification(self.own_notification()));
                }
            }
        }
    }

    /// What this server tells a peer: its proposal while LOOKING, else the vote that ended
    /// its last election with its state; always its configuration.
    fn own_notification(&self) -> Notification {
        match (&self.role, self.current_vote) {
            (Role::Looking, _) | (_, None) => self.fle.notification(&self.core.quorums),
            (_, Some((vote, round))) => Notification {
                state: self.state(),
                leader: vote.leader,
                zxid: vote.zxid,
                election_epoch: round,
                peer_epoch: vote.peer_epoch,
                config: self.core.quorums.current,
            },
        }
    }

    fn on_quorum_message(&mut self, from: Sid, msg: Message, out: &mut Outbox) {
        let back_to_looking = match &mut self.role {
            Role::Looking => {
                // No learner acceptor is open while LOOKING: a connection attempt is refused,
                // anything else was meant for a role we left.
                if matches!(msg, Message::FollowerInfo { .. }) {
                    out.send(from, Message::Refused);
                }
                None
            }
            Role::Following(f) => f.on_message(&mut self.core, from, msg, out),
            Role::Leading(l) => l.on_message(&mut self.core, from, msg, out),
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    fn on_timer(&mut self, timer: Timer, out: &mut Outbox) {
        let back_to_looking = match (&mut self.role, timer) {
            (Role::Looking, Timer::FleNotification | Timer::FleFinalize) => {
                let q = self.core.quorums;
                if let Some(d) = self.fle.on_timer(&self.core.cfg, &q, timer, out) {
                    self.decide(d, out);
                }
                None
            }
            (Role::Following(f), Timer::LearnerRead | Timer::LearnerConnectRetry) => {
                f.on_timer(&mut self.core, timer, out)
            }
            (Role::Leading(l), Timer::LeaderTick | Timer::LeaderInit | Timer::CommitProcessor) => {
                l.on_timer(&mut self.core, timer, out)
            }
            // A timer of a role this server no longer plays: it was cancelled on the way
            // out, so the simulator should not deliver it.
            (_, t) => panic!("server {}: timer {t:?} fired in state {}", self.id(), self.state()),
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    fn on_connection_down(&mut self, peer: Sid, out: &mut Outbox) {
        let back_to_looking = match &mut self.role {
            Role::Looking => None,
            Role::Following(f) => f.on_connection_down(peer),
            Role::Leading(l) => {
                l.on_connection_down(peer);
                None
            }
        };
        if let Some(reason) = back_to_looking {
            self.start_looking(reason, out);
        }
    }

    /// `QuorumPeer.run` going back to LOOKING: leave the role, start a new election round.
    /// (Or, where ZooKeeper exits the process, exit.)
    fn start_looking(&mut self, reason: LookingReason, out: &mut Outbox) {
        if let LookingReason::Exit(code) = reason {
            self.exited = true;
            out.effects.push(Effect::Exit { code });
            return;
        }
        // Leaving a role closes its quorum connections (`Learner.shutdown`,
        // `LearnerHandler.shutdown`), so the other ends notice at once.
        match &self.role {
            Role::Looking => {}
            Role::Following(f) => {
                out.cancel_timer(Timer::LearnerRead);
                out.cancel_timer(Timer::LearnerConnectRetry);
                out.effects.push(Effect::CloseConnection { peer: f.leader() });
            }
            Role::Leading(l) => {
                out.cancel_timer(Timer::LeaderTick);
                out.cancel_timer(Timer::LeaderInit);
                if l.applying() {
                    // The `CommitProcessor` shuts down with what it had not applied yet:
                    // the fast-forward below replays what the log holds of it.
                    out.cancel_timer(Timer::CommitProcessor);
                }
                for peer in l.learners() {
                    out.effects.push(Effect::CloseConnection { peer });
                }
            }
        }
        if !matches!(self.role, Role::Looking) {
            // `ZooKeeperServer.shutdown`: a running server fast-forwards its database over
            // what it logged (the ZOOKEEPER-2845 fix: a logged but uncommitted txn counts in
            // the next election); it never goes back. `Learner.shutdown` clears it after an
            // interrupted SNAP (`shutdown(syncMode == SNAP)`); an interrupted TRUNC keeps
            // what it applied past its log (ZOOKEEPER-5094), unless `zk-5094-fix` clears
            // the database then too. The bug variants predate the 2845 fix.
            let running = self.is_established();
            let clear_database = matches!(&self.role, Role::Following(f) if f.in_snap_sync()
                || (f.in_trunc_sync() && self.core.cfg.variant == Variant::Zk5094Fix));
            if running && !matches!(self.core.cfg.variant, Variant::Zk2845 | Variant::Zk2355) {
                self.core.fast_forward();
            }
            if clear_database {
                self.core.reload();
            }
            self.core.close_clients(out);
        }
        self.role = Role::Looking;
        self.restart_election_if_reconfigured();
        if let Some((leader, zxid)) = self.core.designated.take() {
            // `updateServerState` with the reconfig flag: straight to the role the new
            // configuration gives, following the designated leader with the vote
            // `updateVote` set, `new Vote(designatedLeader, zxid)`: election epoch and peer
            // epoch -1 (the peer epoch is an unsigned epoch here: 0 stands for -1, below
            // any real one; `updateElectionVote` gives it the epoch served in once synced).
            out.observe(Observation::ElectionStarted { round: self.fle.logical_clock(), reason });
            let vote = Vote { leader, zxid, peer_epoch: 0 };
            return self.decide(Decision { vote, round: ROUND_NONE }, out);
        }
        let init = self.init_vote();
        let q = self.core.quorums;
        self.fle.look_for_leader(&self.core.cfg, &q, init, out);
        out.observe(Observation::ElectionStarted { round: self.fle.logical_clock(), reason });
    }

    fn decide(&mut self, d: Decision, out: &mut Outbox) {
        assert!(matches!(self.role, Role::Looking), "server {} decided while not LOOKING", self.id());
        self.current_vote = Some((d.vote, d.round));
        let state = if d.vote.leader == self.id() {
            ServerState::Leading
        } else if self.core.quorums.current.is_observer(self.id()) {
            ServerState::Observing
        } else {
            ServerState::Following
        };
        out.observe(Observation::Decided {
            state,
            leader: d.vote.leader,
            round: d.round,
            zxid: d.vote.zxid,
            peer_epoch: d.vote.peer_epoch,
        });
        // `learningState`: an observer of the configuration in force observes.
        let observer = self.core.quorums.current.is_observer(self.id());
        self.role = if state == ServerState::Leading {
            Role::Leading(Leader::start(&mut self.core, d.round, out))
        } else {
            Role::Following(Follower::start(&mut self.core, d.vote.leader, observer, out))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timing::Timing;

    fn node(id: Sid) -> Node {
        let cfg = NodeConfig::new(id, QuorumVerifier::majority_of(3), Timing::default(), Variant::None);
        Node::recover(cfg, DurableState::default()).unwrap()
    }

    fn notifications(out: &Outbox) -> Vec<(Sid, Notification)> {
        out.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg: Message::Notification(n) } => Some((*to, *n)),
                _ => None,
            })
            .collect()
    }

    fn looking_from(leader: Sid, round: Round) -> Input {
        let n = Notification {
            state: ServerState::Looking,
            leader,
            zxid: Zxid::ZERO,
            election_epoch: round,
            peer_epoch: 0,
            config: QuorumVerifier::majority_of(3),
        };
        Input::Message { from: leader, msg: Message::Notification(n) }
    }

    /// Server 3 of 3 elected by hearing 1's and 2's votes for it.
    fn leader_3() -> Node {
        let mut n = node(3);
        let mut out = Outbox::default();
        n.step(Input::Start, &mut out);
        for from in [1, 2] {
            let v = Notification {
                state: ServerState::Looking,
                leader: 3,
                zxid: Zxid::ZERO,
                election_epoch: 1,
                peer_epoch: 0,
                config: QuorumVerifier::majority_of(3),
            };
            n.step(Input::Message { from, msg: Message::Notification(v) }, &mut out);
        }
        n.step(Input::Timer { timer: Timer::FleFinalize }, &mut out);
        assert_eq!(n.state(), ServerState::Leading);
        n
    }

    #[test]
    fn a_looking_server_answers_a_looking_peer_from_an_older_round() {
        let mut n = node(1);
        let mut out = Outbox::default();
        n.step(Input::Start, &mut out);
        n.step(Input::Timer { timer: Timer::FleNotification }, &mut out);
        // Jump to round 3 by hearing of it.
        n.step(looking_from(2, 3), &mut out);
        let mut out = Outbox::default();
        n.step(looking_from(3, 1), &mut out);
        let replies = notifications(&out);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].0, 3);
        assert_eq!(replies[0].1.election_epoch, 3);
        assert_eq!(replies[0].1.state, ServerState::Looking);
    }

    #[test]
    fn a_decided_server_answers_looking_peers_with_its_final_vote_and_state() {
        let mut n = leader_3();
        let mut out = Outbox::default();
        n.step(looking_from(1, 9), &mut out);
        let replies = notifications(&out);
        assert_eq!(replies.len(), 1);
        let (to, r) = replies[0];
        assert_eq!(to, 1);
        assert_eq!((r.state, r.leader, r.election_epoch), (ServerState::Leading, 3, 1));
    }

    #[test]
    fn a_decided_server_does_not_answer_servers_out_of_election() {
        let mut n = leader_3();
        let mut out = Outbox::default();
        let v = Notification {
            state: ServerState::Following,
            leader: 3,
            zxid: Zxid::ZERO,
            election_epoch: 1,
            peer_epoch: 0,
            config: QuorumVerifier::majority_of(3),
        };
        n.step(Input::Message { from: 1, msg: Message::Notification(v) }, &mut out);
        assert!(notifications(&out).is_empty());
    }

    #[test]
    fn own_notification_counts_in_the_vote_after_the_current_input() {
        // Server 1 of 3 adopts 3's vote; its own loopback notification then makes 2 of 3.
        let mut n = node(1);
        let mut out = Outbox::default();
        n.step(Input::Start, &mut out);
        let mut out = Outbox::default();
        n.step(looking_from(3, 1), &mut out);
        assert!(out.effects.contains(&Effect::SetTimer { timer: Timer::FleFinalize, after_us: 200_000 }));
    }

    #[test]
    fn a_leader_without_a_quorum_of_learners_gives_up_after_init_limit() {
        let mut n = leader_3();
        assert!(!n.is_established());
        let mut out = Outbox::default();
        n.step(Input::Timer { timer: Timer::LeaderInit }, &mut out);
        assert_eq!(n.state(), ServerState::Looking);
        assert!(out
            .effects
            .contains(&Effect::Observe(Observation::ElectionStarted { round: 2, reason: LookingReason::InitTimeout })));
    }

    #[test]
    fn srvr_reports_mode_and_zxid() {
        let mut n = leader_3();
        let mut out = Outbox::default();
        n.step(Input::Client { client: 7, request: ClientRequest::Srvr }, &mut out);
        assert_eq!(
            out.effects,
            vec![Effect::ClientReply {
                client: 7,
                reply: ClientReply::Srvr {
                    state: ServerState::Leading,
                    leader: Some(3),
                    zxid: Zxid::ZERO,
                    current_epoch: 0
                }
            }]
        );
    }
}
