//! The leader's side of the quorum protocol (`Leader`, `LearnerHandler`).
//!
//! This is the minimal layer that runs after FLE until Zab's discovery, synchronization
//! and broadcast phases replace it: learners register with FOLLOWERINFO, the leader is
//! established once a quorum (itself included) has, it pings every half tick, and it steps
//! down when its synced learners fall below a quorum.

use crate::durable::DurableState;
use crate::message::Message;
use crate::node::{LookingReason, NodeConfig, Observation, Outbox, Timer};
use crate::types::{Epoch, Round, Sid};
use std::collections::BTreeMap;

/// `LearnerHandler`: what the leader knows of one connected learner.
#[derive(Clone, Debug)]
struct LearnerHandler {
    /// `tickOfNextAckDeadline`: the learner is synced while `tick <= deadline`.
    tick_of_next_ack_deadline: u64,
}

#[derive(Clone, Debug)]
pub struct Leader {
    epoch: Epoch,
    round: Round,
    learners: BTreeMap<Sid, LearnerHandler>,
    /// `self.tick`: advanced every other half tick.
    tick: u64,
    /// `Leader.lead`'s `tickSkip`: the quorum check runs on whole ticks only.
    tick_skip: bool,
    established: bool,
}

impl Leader {
    pub fn start(cfg: &NodeConfig, disk: &DurableState, round: Round, out: &mut Outbox) -> Leader {
        let mut leader = Leader {
            epoch: disk.current_epoch,
            round,
            learners: BTreeMap::new(),
            tick: 0,
            tick_skip: true,
            established: false,
        };
        out.set_timer(Timer::LeaderInit, cfg.timing.init_timeout_us());
        // A single-server ensemble is its own quorum.
        leader.try_establish(cfg, out);
        leader
    }

    pub fn is_established(&self) -> bool {
        self.established
    }

    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Learners currently synced, and self: `syncedAckSet`.
    fn synced(&self, cfg: &NodeConfig) -> impl Iterator<Item = Sid> + '_ {
        let me = cfg.id;
        let tick = self.tick;
        std::iter::once(me)
            .chain(self.learners.iter().filter(move |(_, h)| tick <= h.tick_of_next_ack_deadline).map(|(sid, _)| *sid))
    }

    fn try_establish(&mut self, cfg: &NodeConfig, out: &mut Outbox) {
        if self.established || !cfg.quorum.contains_quorum(self.synced(cfg)) {
            return;
        }
        self.established = true;
        let mut quorum: Vec<Sid> = self.synced(cfg).collect();
        quorum.sort_unstable();
        out.cancel_timer(Timer::LeaderInit);
        out.set_timer(Timer::LeaderTick, cfg.timing.half_tick_us());
        out.observe(Observation::LeaderEstablished { epoch: self.epoch, round: self.round, quorum });
    }

    /// Returns a reason when the leader must go back to LOOKING.
    pub fn on_message(&mut self, cfg: &NodeConfig, from: Sid, msg: Message, out: &mut Outbox) -> Option<LookingReason> {
        match msg {
            Message::FollowerInfo { .. } => {
                // A new connection from this learner replaces any earlier one.
                let deadline = self.tick + cfg.timing.sync_limit;
                self.learners.insert(from, LearnerHandler { tick_of_next_ack_deadline: deadline });
                out.send(from, Message::LeaderInfo { epoch: self.epoch });
                self.try_establish(cfg, out);
            }
            Message::Ping => {
                if let Some(h) = self.learners.get_mut(&from) {
                    h.tick_of_next_ack_deadline = self.tick + cfg.timing.sync_limit;
                }
            }
            // Another leader's messages, or a stale connection's: ignored.
            Message::LeaderInfo { .. } | Message::Notification(_) => {}
        }
        None
    }

    pub fn on_timer(&mut self, cfg: &NodeConfig, timer: Timer, out: &mut Outbox) -> Option<LookingReason> {
        match timer {
            Timer::LeaderInit => {
                assert!(!self.established, "init timer outlived establishment");
                Some(LookingReason::InitTimeout)
            }
            Timer::LeaderTick => self.on_half_tick(cfg, out),
            other => panic!("leader got a timer it does not own: {other:?}"),
        }
    }

    /// One turn of `Leader.lead`'s loop: count ticks, check the synced quorum on whole
    /// ticks, ping every learner.
    fn on_half_tick(&mut self, cfg: &NodeConfig, out: &mut Outbox) -> Option<LookingReason> {
        if !self.tick_skip {
            self.tick += 1;
        }
        if !self.tick_skip && !cfg.quorum.contains_quorum(self.synced(cfg)) {
            return Some(LookingReason::QuorumLost);
        }
        self.tick_skip = !self.tick_skip;
        for &sid in self.learners.keys() {
            out.send(sid, Message::Ping);
        }
        out.set_timer(Timer::LeaderTick, cfg.timing.half_tick_us());
        None
    }

    /// The learner's socket broke: its `LearnerHandler` dies.
    pub fn on_connection_down(&mut self, peer: Sid) {
        self.learners.remove(&peer);
    }
}
