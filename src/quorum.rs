//! Quorum membership: ZooKeeper's `QuorumMaj` verifier.

use crate::types::Sid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The voting members of an ensemble and the majority rule over them (`QuorumMaj`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuorumVerifier {
    voters: BTreeSet<Sid>,
}

impl QuorumVerifier {
    pub fn new(voters: impl IntoIterator<Item = Sid>) -> QuorumVerifier {
        let voters: BTreeSet<Sid> = voters.into_iter().collect();
        assert!(!voters.is_empty(), "a quorum verifier needs at least one voter");
        QuorumVerifier { voters }
    }

    /// Servers 1..=n, all voting.
    pub fn majority_of(n: u64) -> QuorumVerifier {
        QuorumVerifier::new(1..=n)
    }

    pub fn voters(&self) -> impl Iterator<Item = Sid> + '_ {
        self.voters.iter().copied()
    }

    pub fn is_voter(&self, sid: Sid) -> bool {
        self.voters.contains(&sid)
    }

    /// `QuorumVerifier.getWeight`: 1 for a voter, 0 otherwise (an observer never wins FLE).
    pub fn weight(&self, sid: Sid) -> u64 {
        u64::from(self.is_voter(sid))
    }

    pub fn len(&self) -> usize {
        self.voters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.voters.is_empty()
    }

    /// The smallest number of voters that forms a quorum.
    pub fn quorum_size(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// `QuorumMaj.containsQuorum`: strictly more than half of the voters are in `ack_set`.
    /// Non-voters in the set do not count; duplicates must not be passed.
    pub fn contains_quorum(&self, ack_set: impl IntoIterator<Item = Sid>) -> bool {
        let votes = ack_set.into_iter().filter(|s| self.is_voter(*s)).count();
        votes >= self.quorum_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_needs_strictly_more_than_half() {
        let qv = QuorumVerifier::majority_of(5);
        assert!(!qv.contains_quorum([1, 2]));
        assert!(qv.contains_quorum([1, 2, 3]));
        let qv4 = QuorumVerifier::majority_of(4);
        assert!(!qv4.contains_quorum([1, 2]));
        assert!(qv4.contains_quorum([1, 2, 4]));
    }

    #[test]
    fn non_voters_do_not_count() {
        let qv = QuorumVerifier::new([1, 2, 3]);
        assert!(!qv.contains_quorum([1, 7, 8]));
        assert_eq!(qv.weight(7), 0);
    }
}
