//! Messages between servers: FLE notifications and the quorum protocol (Zab), named as in
//! ZooKeeper's `Leader` packet types.

use crate::api::{Request, SessionId, Xid};
use crate::durable::Txn;
use crate::quorum::QuorumVerifier;
use crate::types::{Epoch, Round, ServerState, Sid, Zxid};
use serde::{Deserialize, Serialize};

/// An FLE notification (`FastLeaderElection.Notification` / `ToSend`): the sender's
/// state, the vote it currently stands for, and its configuration.
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
    /// The sender's activated configuration: a LOOKING receiver with an older one adopts
    /// it and restarts its election.
    pub config: QuorumVerifier,
}

/// Everything one server sends another.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Message {
    /// FLE, on the election connections (`QuorumCnxManager`).
    Notification(Notification),
    /// Learner -> leader on connect: its acceptedEpoch (`Leader.FOLLOWERINFO`, or
    /// `Leader.OBSERVERINFO` from an observer) and the version of its activated
    /// configuration (`Learner.registerWithLeader`'s `LearnerInfo`:
    /// `getQuorumVerifier().getVersion()`).
    FollowerInfo { accepted_epoch: Epoch, observer: bool, config_version: Zxid },
    /// Leader -> learner: the epoch it proposes (`Leader.LEADERINFO`).
    LeaderInfo { epoch: Epoch },
    /// Learner -> leader (`Leader.ACKEPOCH`): its currentEpoch (`None` stands for the -1
    /// a learner sends when it had already accepted this epoch: not counted) and its
    /// last zxid.
    AckEpoch { current_epoch: Option<Epoch>, last_zxid: Zxid },
    /// Sync by the txns that follow (`Leader.DIFF`); `zxid` is the leader's last committed.
    Diff { zxid: Zxid },
    /// Drop every txn after `zxid`, then the txns that follow (`Leader.TRUNC`).
    Trunc { zxid: Zxid },
    /// The leader's whole committed history up to `zxid` (`Leader.SNAP`).
    Snap { zxid: Zxid, txns: Vec<Txn> },
    /// `Leader.PROPOSAL`.
    Proposal { txn: Txn },
    /// `Leader.COMMIT`.
    Commit { zxid: Zxid },
    /// The COMMIT of a reconfig (`Leader.COMMITANDACTIVATE`): activate its configuration;
    /// `designated` is who leads in it.
    CommitAndActivate { zxid: Zxid, designated: Sid },
    /// Leader -> observer: a committed txn (`Leader.INFORM`).
    Inform { txn: Txn },
    /// Leader -> observer: a committed reconfig (`Leader.INFORMANDACTIVATE`).
    InformAndActivate { txn: Txn, designated: Sid },
    /// End of the sync payload (`Leader.NEWLEADER`); `zxid` is `epoch << 32`. It carries
    /// the leader's newest configuration, which the learner activates at UPTODATE.
    NewLeader { zxid: Zxid, config: QuorumVerifier },
    /// `Leader.ACK`: of a proposal, or of NEWLEADER (`zxid` = `epoch << 32`).
    Ack { zxid: Zxid },
    /// The leader is serving; so may the learner (`Leader.UPTODATE`).
    UpToDate,
    /// `Leader.PING`, both ways: the leader pings each learner every half tick and the
    /// learner answers, which keeps both sides' timeouts from firing.
    Ping,
    /// Learner -> leader: a client's write to propose (`Leader.REQUEST`).
    Request { client: u64, seq: u64 },
    /// The quorum port refused the connection: nobody is LEADING there (a TCP RST).
    Refused,
    /// Learner -> leader: a client of the learner asks for a new session (a forwarded
    /// `createSession` request); the learner answers `client` once it applies the txn.
    CreateSession { client: u64, timeout_ms: u32 },
    /// Learner -> leader: a session's write or sync, to prepare and propose (`Leader.REQUEST`).
    ClientOp { session: SessionId, xid: Xid, request: Box<Request> },
    /// Learner -> leader: a client reconnected with this session; is it still alive?
    /// (`Leader.REVALIDATE`).
    Revalidate { client: u64, session: SessionId },
    /// Leader -> learner: the answer to REVALIDATE.
    Revalidated { client: u64, session: SessionId, valid: bool },
    /// Learner -> leader, with its PING answer: the sessions its clients kept alive since
    /// the last one, with their timeouts (the body of a learner's `PING`).
    SessionPing { touched: Vec<(SessionId, u32)> },
    /// Leader -> learner: every txn proposed before the sync reached the leader is
    /// committed, and its COMMIT was sent before this (`Leader.SYNC`).
    SyncDone { session: SessionId, xid: Xid },
}

/// The connection a message travels on. ZooKeeper keeps two per pair of servers: the
/// election connection of `QuorumCnxManager` (FLE's notifications), and the quorum
/// connection a learner opens to its leader (`Learner.connectToLeader`), which carries
/// everything else and lives only as long as that learner follows that leader.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Election,
    Quorum,
}

impl Message {
    /// The connection this message travels on.
    pub fn channel(&self) -> Channel {
        match self {
            Message::Notification(_) => Channel::Election,
            _ => Channel::Quorum,
        }
    }

    /// A short name for summaries and filters (`NOTIFICATION`, `PROPOSAL`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Notification(_) => "NOTIFICATION",
            Message::FollowerInfo { observer: false, .. } => "FOLLOWERINFO",
            Message::FollowerInfo { observer: true, .. } => "OBSERVERINFO",
            Message::LeaderInfo { .. } => "LEADERINFO",
            Message::AckEpoch { .. } => "ACKEPOCH",
            Message::Diff { .. } => "DIFF",
            Message::Trunc { .. } => "TRUNC",
            Message::Snap { .. } => "SNAP",
            Message::Proposal { .. } => "PROPOSAL",
            Message::Commit { .. } => "COMMIT",
            Message::CommitAndActivate { .. } => "COMMITANDACTIVATE",
            Message::Inform { .. } => "INFORM",
            Message::InformAndActivate { .. } => "INFORMANDACTIVATE",
            Message::NewLeader { .. } => "NEWLEADER",
            Message::Ack { .. } => "ACK",
            Message::UpToDate => "UPTODATE",
            Message::Ping => "PING",
            Message::Request { .. } => "REQUEST",
            Message::Refused => "REFUSED",
            Message::CreateSession { .. } => "CREATESESSION",
            Message::ClientOp { request, .. } => match **request {
                Request::Sync { .. } => "SYNC",
                _ => "REQUEST",
            },
            Message::Revalidate { .. } => "REVALIDATE",
            Message::Revalidated { .. } => "REVALIDATE",
            Message::SessionPing { .. } => "PING",
            Message::SyncDone { .. } => "SYNC",
        }
    }
}
