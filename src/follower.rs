//! The follower's side of the quorum protocol (`Learner`, `Follower`), minimal until Zab:
//! connect with FOLLOWERINFO, wait for LEADERINFO within `initLimit` ticks, answer pings,
//! and go back to LOOKING after `syncLimit` ticks of silence or a broken connection.

use crate::durable::DurableState;
use crate::message::Message;
use crate::node::{LookingReason, NodeConfig, Observation, Outbox, Timer};
use crate::types::{Epoch, Sid};

/// `Learner.connectToLeader` sleeps this long between attempts
/// (`zookeeper.leaderConnectDelayDuringRetryMs`, 100 ms).
pub const CONNECT_RETRY_US: u64 = 100_000;

/// `Learner.connectToLeader` gives up after this many attempts.
pub const CONNECT_TRIES_MAX: u32 = 5;

#[derive(Clone, Debug)]
pub struct Follower {
    leader: Sid,
    /// Connection attempts so far.
    tries: u32,
    /// The epoch the leader announced in LEADERINFO, once it did.
    epoch: Option<Epoch>,
}

impl Follower {
    pub fn start(cfg: &NodeConfig, disk: &DurableState, leader: Sid, out: &mut Outbox) -> Follower {
        assert_ne!(leader, cfg.id, "a server does not follow itself");
        let mut f = Follower { leader, tries: 0, epoch: None };
        f.connect(disk, out);
        out.set_timer(Timer::LearnerRead, cfg.timing.init_timeout_us());
        f
    }

    /// One connection attempt. The leader answers FOLLOWERINFO only while it is LEADING
    /// (its learner acceptor is open); no answer counts as a failed attempt.
    fn connect(&mut self, disk: &DurableState, out: &mut Outbox) {
        self.tries += 1;
        let info = Message::FollowerInfo { accepted_epoch: disk.accepted_epoch, last_zxid: disk.last_logged_zxid() };
        out.send(self.leader, info);
        out.set_timer(Timer::LearnerConnectRetry, CONNECT_RETRY_US);
    }

    pub fn leader(&self) -> Sid {
        self.leader
    }

    pub fn is_connected(&self) -> bool {
        self.epoch.is_some()
    }

    pub fn on_message(&mut self, cfg: &NodeConfig, from: Sid, msg: Message, out: &mut Outbox) -> Option<LookingReason> {
        if from != self.leader {
            return None; // Not our leader's connection.
        }
        match msg {
            Message::LeaderInfo { epoch } => {
                if self.epoch.is_none() {
                    out.cancel_timer(Timer::LearnerConnectRetry);
                    out.observe(Observation::FollowerConnected { leader: self.leader, epoch });
                }
                self.epoch = Some(epoch);
            }
            Message::Ping => out.send(self.leader, Message::Ping),
            Message::FollowerInfo { .. } | Message::Notification(_) => return None,
        }
        // Every packet from the leader restarts the socket's read timeout.
        let timeout = if self.is_connected() { cfg.timing.sync_timeout_us() } else { cfg.timing.init_timeout_us() };
        out.set_timer(Timer::LearnerRead, timeout);
        None
    }

    pub fn on_timer(
        &mut self,
        _cfg: &NodeConfig,
        disk: &DurableState,
        timer: Timer,
        out: &mut Outbox,
    ) -> Option<LookingReason> {
        match timer {
            Timer::LearnerRead => Some(LookingReason::LeaderTimeout),
            Timer::LearnerConnectRetry => {
                assert!(!self.is_connected(), "connect retry after the leader answered");
                if self.tries >= CONNECT_TRIES_MAX {
                    return Some(LookingReason::LeaderUnreachable);
                }
                self.connect(disk, out);
                None
            }
            other => panic!("follower got a timer it does not own: {other:?}"),
        }
    }

    pub fn on_connection_down(&mut self, peer: Sid) -> Option<LookingReason> {
        (peer == self.leader).then_some(LookingReason::LeaderConnectionLost)
    }
}
