//! ZooKeeper releases whose behaviour differs where the model can tell: each a named set
//! of behaviours, read at that release's tag (`git show release-X:...`), not in release
//! notes. The single-bug variants ([`crate::variant`]) stay apart: a release is what a
//! deployment runs, a variant is one deviation reintroduced on purpose.
//!
//! What differs, by method:
//! - `Learner.syncWithLeader` at NEWLEADER: 3.8.0 persists currentEpoch first, then hands
//!   every synced txn to the sync processor (logged and acknowledged once flushed) and
//!   writes the NEWLEADER ACK without waiting for that flush (the ZOOKEEPER-4643 and -4646
//!   orders); 3.9.3 and 3.9.4 log and flush the committed synced txns, then persist
//!   currentEpoch, then ACK, and log the rest after UPTODATE.
//! - Whether txns applied during a sync reach `committedLog`: 3.8.0 applies a DIFF's
//!   committed txns after UPTODATE through `FollowerZooKeeperServer.commit` (they do) and a
//!   SNAP's or TRUNC's with `processTxn(hdr, txn)` (they do not); 3.9.3 applies both with
//!   `processTxn(hdr, txn)` (neither does: ZOOKEEPER-4925); 3.9.4 with
//!   `processTxn(pif.toRequest())` (both do).
//! - `Learner.enforceContinuousProposal` (3.9.4 only): a sync proposal that skips a zxid
//!   within an epoch ends the sync.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Release {
    /// Debian's `zookeeper` package (bookworm).
    #[serde(rename = "3.8.0")]
    V3_8_0,
    #[serde(rename = "3.9.3")]
    V3_9_3,
    /// The newest release the model follows, and its default.
    #[default]
    #[serde(rename = "3.9.4")]
    V3_9_4,
}

/// How a learner orders NEWLEADER's persistence (`Learner.syncWithLeader`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum NewLeaderOrder {
    /// 3.8.0: currentEpoch, the ACK, then every synced txn logged asynchronously.
    EpochFirst,
    /// 3.9.x: the committed synced txns logged and flushed, currentEpoch, then the ACK.
    TxnsFirst,
}

impl Release {
    pub const ALL: [Release; 3] = [Release::V3_8_0, Release::V3_9_3, Release::V3_9_4];

    pub fn name(self) -> &'static str {
        match self {
            Release::V3_8_0 => "3.8.0",
            Release::V3_9_3 => "3.9.3",
            Release::V3_9_4 => "3.9.4",
        }
    }

    /// The tag its behaviours were read at.
    pub fn tag(self) -> &'static str {
        match self {
            Release::V3_8_0 => "release-3.8.0-1",
            Release::V3_9_3 => "release-3.9.3",
            Release::V3_9_4 => "release-3.9.4",
        }
    }

    pub fn newleader_order(self) -> NewLeaderOrder {
        match self {
            Release::V3_8_0 => NewLeaderOrder::EpochFirst,
            Release::V3_9_3 | Release::V3_9_4 => NewLeaderOrder::TxnsFirst,
        }
    }

    /// Whether a SNAP's or TRUNC's COMMITs, applied before NEWLEADER, go into
    /// `committedLog`.
    pub fn presync_commits_in_committed_log(self) -> bool {
        self == Release::V3_9_4
    }

    /// Whether a DIFF's committed txns, applied at NEWLEADER (3.9) or after UPTODATE (3.8),
    /// go into `committedLog`.
    pub fn diff_commits_in_committed_log(self) -> bool {
        self != Release::V3_9_3
    }

    /// `enforceContinuousProposal`.
    pub fn enforces_continuous_proposals(self) -> bool {
        self == Release::V3_9_4
    }

    /// One line per behaviour, for `zabsim variants`.
    pub fn behaviours(self) -> Vec<String> {
        let order = match self.newleader_order() {
            NewLeaderOrder::EpochFirst => {
                "NEWLEADER: currentEpoch, ACK, then every synced txn logged and acked once flushed"
            }
            NewLeaderOrder::TxnsFirst => {
                "NEWLEADER: committed synced txns logged and flushed, currentEpoch, then ACK; the rest after UPTODATE"
            }
        };
        vec![
            order.to_string(),
            format!(
                "txns applied in a sync reach committedLog: DIFF {}, SNAP/TRUNC {}",
                yes(self.diff_commits_in_committed_log()),
                yes(self.presync_commits_in_committed_log())
            ),
            format!("a sync proposal skipping a zxid ends the sync: {}", yes(self.enforces_continuous_proposals())),
        ]
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

// `ALL` lists every release once, in declaration order (a release added after `V3_9_4`
// takes its place here).
const _: () = {
    assert!(Release::V3_9_4 as usize + 1 == Release::ALL.len());
    let mut i = 0;
    while i < Release::ALL.len() {
        assert!(Release::ALL[i] as usize == i);
        i += 1;
    }
};

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Release {
    type Err = String;

    fn from_str(s: &str) -> Result<Release, String> {
        Release::ALL.iter().copied().find(|r| r.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Release::ALL.iter().map(|r| r.name()).collect();
            format!("unknown ZooKeeper release `{s}`, expected one of: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_default_is_the_newest() {
        for r in Release::ALL {
            assert_eq!(r.name().parse::<Release>().unwrap(), r);
        }
        assert_eq!(Release::default(), Release::V3_9_4);
        assert!("3.7.0".parse::<Release>().unwrap_err().contains("3.8.0"));
    }

    #[test]
    fn zookeeper_4925_is_3_9_3_alone() {
        assert!(!Release::V3_9_3.diff_commits_in_committed_log());
        assert!(!Release::V3_9_3.presync_commits_in_committed_log());
        assert!(Release::V3_9_4.diff_commits_in_committed_log());
        assert!(Release::V3_9_4.presync_commits_in_committed_log());
        assert!(Release::V3_8_0.diff_commits_in_committed_log());
        assert!(!Release::V3_8_0.presync_commits_in_committed_log());
    }
}
