//! Protocol variants: historical ZooKeeper bugs reintroduced on purpose, one small and
//! documented deviation each, so the checker can be shown to catch them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which protocol the nodes run. `None` is ZooKeeper 3.9.4's behaviour.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Variant {
    /// The correct protocol: ZooKeeper 3.9.4's.
    #[default]
    #[serde(rename = "none")]
    None,
    /// ZOOKEEPER-1419 (fixed in 3.4.4): the third clause of FLE's vote order compares
    /// (zxid, sid) without requiring equal peerEpochs, so the order is not antisymmetric
    /// and a 5-node election with equal zxids and different epochs can flip forever.
    #[serde(rename = "zk-1419")]
    Zk1419,
    /// ZOOKEEPER-1154 (fixed in 3.3.4): a learner whose last zxid is past the leader's
    /// committed log is synced by DIFF instead of TRUNC, so it keeps txns nobody else has.
    #[serde(rename = "zk-1154")]
    Zk1154,
    /// ZOOKEEPER-2845 (fixed in 3.4.12): a server that leaves a role keeps its in-memory
    /// database instead of reloading it from its log, so it reports its last *applied*
    /// zxid; a logged but uncommitted txn is not counted and it is synced by DIFF, not TRUNC.
    #[serde(rename = "zk-2845")]
    Zk2845,
    /// ZOOKEEPER-3911 (fixed in 3.6.3): a follower acknowledges NEWLEADER before the txns
    /// it got by DIFF are in its log (they are logged only after UPTODATE).
    #[serde(rename = "zk-3911")]
    Zk3911,
    /// ZOOKEEPER-4643 (fixed in 3.9.3): a follower persists its new currentEpoch before
    /// the txns it got in sync are durable.
    #[serde(rename = "zk-4643")]
    Zk4643,
    /// ZOOKEEPER-4646 (fixed in 3.9.3): a follower acknowledges NEWLEADER before the
    /// asynchronous flush of the synced txns completes.
    #[serde(rename = "zk-4646")]
    Zk4646,
    /// ZOOKEEPER-4685 (fixed in 3.9.2): a follower acknowledges the txns it got in sync
    /// before acknowledging NEWLEADER; the leader takes the first such ACK for the NEWLEADER
    /// ACK and never counts the real one.
    #[serde(rename = "zk-4685")]
    Zk4685,
    /// ZOOKEEPER-2355 (fixed in 3.4.11): DIFF sets the follower's lastProcessedZxid to the
    /// leader's before the txns that follow are applied; a follower that fails mid-DIFF
    /// keeps its in-memory tree (3.4 did not reload it, see ZOOKEEPER-2845), reports the
    /// claimed zxid, and is synced by an empty DIFF: it never applies the txns it missed,
    /// a closeSession among them, so the session's ephemerals never go away there.
    #[serde(rename = "zk-2355")]
    Zk2355,
    /// ZOOKEEPER-1208 (fixed in 3.4.0): expiring a session does not mark it closing when
    /// the closeSession is prepared, so a create from that session prepared after it still
    /// passes the session check and its ephemeral outlives the session on every server.
    #[serde(rename = "zk-1208")]
    Zk1208,
    /// ZOOKEEPER-2172 (fixed in 3.5.3): a learner that gets COMMITANDACTIVATE while it is
    /// still syncing takes it for a plain COMMIT and never activates the new configuration.
    #[serde(rename = "zk-2172")]
    Zk2172,
    /// An operator error, not a code bug: two joining servers are started each listing the
    /// other, and only the other, as a participant, so they can elect each other before
    /// they hear of the established ensemble (ZooKeeper's reconfig guide warns against it).
    /// The code is the correct protocol's (only the scenario's static configuration reads
    /// it); it is a variant so that `--variant` selects it and sweeps, reports and `shrink`
    /// name it like the bugs it is compared with.
    #[serde(rename = "split-joiners")]
    SplitJoiners,
    /// Not ZooKeeper, a candidate fix: an established leader's NEWLEADER carries the
    /// configuration in force, not a proposed one, so a learner never activates a
    /// reconfig before it commits (README, "A reconfig storm breaks safety").
    #[serde(rename = "newleader-committed-config")]
    NewLeaderCommittedConfig,
    /// ZOOKEEPER-4925 (in 3.9.3, fixed in 3.9.4): a syncing learner applies the txns it
    /// gets with `processTxn(hdr, txn)`, which skips `committedLog`; as a later leader it
    /// then has holes there, and a DIFF from it skips txns a learner never gets.
    #[serde(rename = "zk-4925")]
    Zk4925,
    /// Not ZooKeeper yet, the fix proposed for ZOOKEEPER-5094 (pull request 2459):
    /// `Learner.shutdown` clears the database after an interrupted TRUNC sync too, not only
    /// after a SNAP, so a learner never votes with txns it applied in memory only.
    #[serde(rename = "zk-5094-fix")]
    Zk5094Fix,
}

impl Variant {
    pub const ALL: [Variant; 15] = [
        Variant::None,
        Variant::Zk1419,
        Variant::Zk1154,
        Variant::Zk2845,
        Variant::Zk3911,
        Variant::Zk4643,
        Variant::Zk4646,
        Variant::Zk4685,
        Variant::Zk2355,
        Variant::Zk1208,
        Variant::Zk2172,
        Variant::SplitJoiners,
        Variant::NewLeaderCommittedConfig,
        Variant::Zk4925,
        Variant::Zk5094Fix,
    ];

    /// Whether the nodes run ZooKeeper's code with no bug reintroduced: `none`, the operator
    /// error `split-joiners` (the code is right, its configuration is not) and the candidate
    /// fixes. The state machines assert their preconditions only then: a bug variant is free
    /// to break them, and the checker, not a panic, is what reports it.
    pub fn is_correct(self) -> bool {
        matches!(self, Variant::None | Variant::SplitJoiners | Variant::NewLeaderCommittedConfig | Variant::Zk5094Fix)
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::None => "none",
            Variant::Zk1419 => "zk-1419",
            Variant::Zk1154 => "zk-1154",
            Variant::Zk2845 => "zk-2845",
            Variant::Zk3911 => "zk-3911",
            Variant::Zk4643 => "zk-4643",
            Variant::Zk4646 => "zk-4646",
            Variant::Zk4685 => "zk-4685",
            Variant::Zk2355 => "zk-2355",
            Variant::Zk1208 => "zk-1208",
            Variant::Zk2172 => "zk-2172",
            Variant::SplitJoiners => "split-joiners",
            Variant::NewLeaderCommittedConfig => "newleader-committed-config",
            Variant::Zk4925 => "zk-4925",
            Variant::Zk5094Fix => "zk-5094-fix",
        }
    }

    /// One line on what the variant changes, for `--help`-style listings and reports.
    pub fn description(self) -> &'static str {
        match self {
            Variant::None => "ZooKeeper 3.9's protocol, no deviation",
            Variant::Zk1419 => "FLE vote order without the equal-epoch condition in its third clause (ZOOKEEPER-1419)",
            Variant::Zk1154 => "a learner ahead of the leader's committed log gets DIFF, not TRUNC (ZOOKEEPER-1154)",
            Variant::Zk2845 => "a server keeps its applied state across elections and reports it (ZOOKEEPER-2845)",
            Variant::Zk3911 => "NEWLEADER is acked before the DIFF txns are logged (ZOOKEEPER-3911)",
            Variant::Zk4643 => "currentEpoch is persisted before the synced txns are durable (ZOOKEEPER-4643)",
            Variant::Zk4646 => "NEWLEADER is acked before the synced txns are flushed (ZOOKEEPER-4646)",
            Variant::Zk4685 => "synced txns are acked before NEWLEADER, which the leader miscounts (ZOOKEEPER-4685)",
            Variant::Zk2355 => {
                "DIFF claims its txns applied before they are; a follower failing mid-DIFF misses them (ZOOKEEPER-2355)"
            }
            Variant::Zk1208 => {
                "an expiring session is not marked closing, so a late create outlives it (ZOOKEEPER-1208)"
            }
            Variant::Zk2172 => "COMMITANDACTIVATE received while syncing is taken for a COMMIT (ZOOKEEPER-2172)",
            Variant::SplitJoiners => "operator error: two joiners start listing only each other as participants",
            Variant::NewLeaderCommittedConfig => {
                "not ZooKeeper, a candidate fix: an established leader's NEWLEADER carries its configuration in force"
            }
            Variant::Zk4925 => {
                "a syncing learner's txns skip committedLog, which has holes when it leads (ZOOKEEPER-4925)"
            }
            Variant::Zk5094Fix => {
                "not ZooKeeper yet, the proposed fix of ZOOKEEPER-5094: an interrupted TRUNC sync clears the database too"
            }
        }
    }
}

// `ALL` lists every variant once, in declaration order (a variant added after `Zk5094Fix`
// takes its place here), so listings and `FromStr` know them all.
const _: () = {
    assert!(Variant::Zk5094Fix as usize + 1 == Variant::ALL.len());
    let mut i = 0;
    while i < Variant::ALL.len() {
        assert!(Variant::ALL[i] as usize == i);
        i += 1;
    }
};

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Variant, String> {
        Variant::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
            format!("unknown variant `{s}`, expected one of: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reintroduced_bugs_are_exempt_from_the_protocol_assertions() {
        let correct: Vec<Variant> = Variant::ALL.into_iter().filter(|v| v.is_correct()).collect();
        assert_eq!(
            correct,
            vec![Variant::None, Variant::SplitJoiners, Variant::NewLeaderCommittedConfig, Variant::Zk5094Fix]
        );
    }

    #[test]
    fn names_round_trip() {
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>().unwrap(), v);
        }
        assert!("zk-9999".parse::<Variant>().unwrap_err().contains("zk-1419"));
    }
}
