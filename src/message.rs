//! Messages between servers: FLE notifications and the quorum (learner) protocol.

use crate::types::{Epoch, Round, ServerState, Sid, Zxid};
use serde::{Deserialize, Serialize};

/// An FLE notification (`FastLeaderElection.Notification` / `ToSend`): the sender's
/// state and the vote it currently stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    /// The sender's state when it sent this.
    pub state: ServerState,
    /// The proposed leader.
    pub leader: Sid,
    /// The proposed leader's last logged zxid.
    pub zxid: Zxid,
    /// The sender's round (`logicalclock`), or, when not LOOKING, the round its vote won.
    pub election_epoch: Round,
    /// The proposed leader's currentEpoch.
    pub peer_epoch: Epoch,
}

/// Everything one server sends another.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Message {
    /// FLE, on the election connections (`QuorumCnxManager`).
    Notification(Notification),
    /// Learner -> leader on connect (`Leader.FOLLOWERINFO`): the follower's acceptedEpoch
    /// and last logged zxid.
    FollowerInfo { accepted_epoch: Epoch, last_zxid: Zxid },
    /// Leader -> learner: the leader accepted the connection (`Leader.LEADERINFO`), naming
    /// the epoch the leader runs in.
    LeaderInfo { epoch: Epoch },
    /// `Leader.PING`, both ways: the leader pings each learner every tick and the learner
    /// answers, which is what keeps both sides' timeouts from firing.
    Ping,
}

impl Message {
    /// A short name for summaries and filters (`NOTIFICATION`, `PING`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Notification(_) => "NOTIFICATION",
            Message::FollowerInfo { .. } => "FOLLOWERINFO",
            Message::LeaderInfo { .. } => "LEADERINFO",
            Message::Ping => "PING",
        }
    }
}
