//! The invariants a run is checked against, and a broken one. A leaf module: the checker,
//! the cluster, the summaries and the tools all speak of invariants, and this speaks of
//! none of them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use zab::Sid;

/// Declares the invariants once: the enum, [`Invariant::ALL`] and the names follow from
/// the one list.
macro_rules! invariants {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// The invariants, named as in the ZooKeeper specifications where they come from there.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Invariant {
            $($(#[$doc])* $name,)*
        }

        impl Invariant {
            /// Every invariant, in declaration order.
            pub const ALL: &'static [Invariant] = &[$(Invariant::$name),*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Invariant::$name => stringify!($name),)*
                }
            }
        }
    };
}

invariants! {
    /// After faults stop, a leader is established within the liveness bound.
    ElectionLiveness,
    /// After faults stop, every server follows the established leader and serves, and a
    /// write submitted then commits, within the liveness bound.
    BroadcastLiveness,
    /// After faults stop, the migration finishes, every server of its final configuration
    /// has activated it and serves under a leader that votes in it, and the removed ones
    /// have left, within the liveness bound.
    ReconfigLiveness,
    /// A server's durable image failed ZooKeeper's startup checks on restart.
    StartupCheck,
    Leadership,
    LeaderLogCompleteness,
    MonotonicCommittedLog,
    ProcessConsistency,
    Agreement,
    TotalOrder,
    LocalPrimaryOrder,
    GlobalPrimaryOrder,
    Integrity,
    CommittedLogDurability,
    AcknowledgedWriteLost,
    /// Servers agree on each configuration version's membership.
    ConfigAgreement,
    /// A server activates only configurations the history commits, and serves with the
    /// newest one its history commits in force.
    ConfigActivation,
    /// Two servers that applied the same zxid hold the same data tree.
    TreeConsistency,
    /// An ephemeral exists only while its owner session is alive.
    EphemeralOwnerAlive,
    /// A client never sees older state than it already saw, its own writes included.
    SequentialConsistency,
    /// A watch event reaches its client before any answer that shows the change.
    WatchOrder,
    /// After faults stop, every client points at a live service instance and all agree
    /// on `/config`, within the liveness bound.
    FailoverLiveness,
    /// A leader syncs a learner only with txns its own history holds. ZooKeeper's DIFF from
    /// the txn log reads whatever the log files hold, never-committed entries a SNAP left
    /// behind included (ZOOKEEPER-2846), and its TRUNC from the txn log may cut the learner
    /// to such a stale entry, dropping what only a SNAP brought: reported here, at the sync,
    /// before the learner's history or tree shows it.
    SyncFromHistory,
    /// After a TRUNC to a zxid, a learner's database holds nothing past it. ZooKeeper's
    /// `truncateLog` reloads from the newest snapshot, which TRUNC never deletes (a leader's
    /// `loadData` snapshot may hold txns that never committed), and `FileTxnLog.truncate`
    /// keeps the first entry at or past the zxid even when the zxid itself is not logged.
    TruncateCompleteness,
    /// After faults stop, no server is kept out by an acceptedEpoch above the established
    /// leader's epoch. ZooKeeper's `Learner.registerWithLeader` refuses a LEADERINFO older
    /// than the epoch it accepted, and FLE sends it back to the same leader, until that
    /// leader steps down. Reported apart from BroadcastLiveness (only when it explains every
    /// server astray), so that scenarios can declare this finding known and still see other
    /// liveness failures.
    AcceptedEpochAhead,
    /// No txn commits below a zxid an answer already carried (a client that saw zxid Z
    /// has been promised every txn up to Z: `DataTree.setWatches` fires a re-armed data
    /// watch only for a newer mzxid). ZooKeeper breaks it when a power loss undoes a
    /// TRUNC (`FileTxnLog.truncate` does not fsync) on a server whose new currentEpoch is
    /// durable: the truncated txn comes back and a later leader commits it below the
    /// `epoch << 32` zxid clients were given.
    SeenZxidCompleteness,
    /// A reconfig that servers activated before it committed (NEWLEADER carries the
    /// leader's newest configuration seen, which UPTODATE activates) can no longer commit.
    /// Reported apart from ConfigActivation so that scenarios can declare this finding known.
    UncommittedConfigActivated,
    /// After faults stop, no server is kept out by a proposed configuration that can no
    /// longer commit: its newest configuration seen (`lastSeenQuorumVerifier`, kept in the
    /// `.next` file) makes every vote and every follow need a quorum of it too
    /// (`FastLeaderElection.getVoteTracker`). Reported apart from ReconfigLiveness only
    /// when it explains every server astray.
    PendingConfigLiveness,
    /// A server that goes back to LOOKING holds on disk (its newest snapshot and its log,
    /// writes issued) the zxid it votes with: FLE's vote, FOLLOWERINFO and ACKEPOCH carry
    /// `getLastLoggedZxid`, which is the in-memory `lastProcessedZxid`, and the next leader
    /// syncs from there as if it were logged. ZooKeeper breaks it when a TRUNC sync is
    /// interrupted after COMMITs that the learner applied in memory only (ZOOKEEPER-5094;
    /// `Learner.shutdown` clears the database only after a SNAP). An `epoch << 32` zxid a
    /// leader labelled its tree with (`startZkServer`) is no txn and is exempt.
    LastLoggedZxid,
    /// Virtual time advances: one instant holds a bounded number of events
    /// (`run::progress::SAME_INSTANT_DEPTH_MAX` events deep). A run stuck at one instant (a zero network
    /// delay lets clients reconnect at once, forever) is stopped with the kinds of events
    /// that repeated. The model's failure, not ZooKeeper's (`run` exits 1, as on any violation).
    TimeProgress,
    /// With a recipe: at most one leadership (or lock) term acts at a time, judged by
    /// where its actions land in the committed history: the actions of one term form one
    /// unbroken run, never resumed after another term's action.
    RecipeExclusivity,
    /// With a fenced recipe: no action of a term lands after the first action of a later
    /// term (one whose znode was created later), as a fencing token guarantees.
    RecipeFencing,
    /// With a recipe: a holder that believes it leads notices that its term ended (its
    /// znode deleted in the committed history) within the session timeout plus the
    /// scenario's `notice_bound_ms`.
    RecipeNotice,
    /// With a recipe, after faults stop, within the liveness bound: the lowest znode's
    /// instance believes it leads and has announced itself in `/config`, and every
    /// instance and client sees that `/config` (a lock: every holder released).
    RecipeLiveness,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Invariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Invariant, String> {
        Invariant::ALL.iter().copied().find(|i| i.name() == s).ok_or_else(|| format!("unknown invariant `{s}`"))
    }
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub invariant: Invariant,
    pub t_us: u64,
    /// The servers involved.
    pub nodes: Vec<Sid>,
    pub detail: String,
}
