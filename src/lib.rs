//! # zab: ZooKeeper's coordination protocols as pure state machines
//!
//! Every server is a [`Node`]: it takes one [`Input`] at a time and returns [`Effect`]s as
//! values. Nothing here reads a clock, draws a random number, spawns a
//! thread or does I/O, so a simulator (the `zabsim` crate) can drive a cluster of nodes
//! deterministically from one seed.
//!
//! Modules follow ZooKeeper's own split:
//! - [`contract`]: the node contract's vocabulary (inputs, effects, timers, observations,
//!   what clients and servers say to each other); data only, it knows no role;
//! - [`node`]: a server, one dispatch on role over the role handlers (`QuorumPeer.run`);
//!   `server`: the state the roles share (`Core`);
//! - [`election`]: Fast Leader Election (`FastLeaderElection`);
//! - `leader`, `follower`: the quorum protocol after election (`Leader`, `Learner`), private
//!   to the crate; [`sync`]: how a leader synchronizes a learner (`syncFollower`);
//! - [`api`]: the client API's vocabulary (requests, responses, errors, watch events);
//! - [`client`]: the ZooKeeper client (sessions, reconnects, watches) as a state machine;
//! - [`durable`]: what a server keeps on disk (epoch, configuration, snapshot and log
//!   files) and the startup checks; [`txnlog`]: the transaction log files;
//! - [`zkdb`]: the in-memory database (`ZKDatabase`: tree, `lastProcessedZxid`,
//!   `committedLog`), apart from the disk;
//! - [`session`]: session expiry at the leader, client connections at every server;
//! - [`quorum`]: configurations and majority quorums (`QuorumMaj`), with the pending one;
//! - `reconfig`: dynamic reconfiguration: configurations a server knows, reconfig
//!   requests, the designated leader;
//! - [`release`]: the behaviours that differ between ZooKeeper releases;
//! - [`variant`]: historical bugs, reintroduced on purpose.

pub mod api;
pub mod client;
pub mod contract;
pub mod durable;
pub mod election;
pub(crate) mod follower;
pub(crate) mod leader;
pub mod message;
pub mod node;
pub mod quorum;
pub(crate) mod reconfig;
pub mod release;
pub(crate) mod server;
pub mod session;
pub mod sync;
pub mod timing;
pub mod tree;
pub mod txn;
pub mod txnlog;
pub mod types;
pub mod variant;
pub mod watch;
pub mod zkdb;

pub use contract::{Effect, Input, NodeConfig, Observation, Outbox, Timer};
pub use message::{Message, Notification};
pub use node::Node;
pub use types::{Epoch, Round, ServerState, Sid, Zxid};
pub use variant::Variant;

#[cfg(test)]
mod zab_tests;
