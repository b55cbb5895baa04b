//! Configurations and quorums: ZooKeeper's `QuorumMaj` verifier, versioned, with observers,
//! and the pair of them a server counts in while a reconfiguration is pending
//! (`SyncedLearnerTracker` with two verifiers).
//!
//! Membership is a bit set over server ids 1..=64: a configuration is a small `Copy` value
//! that rides in every FLE notification, as ZooKeeper's do, without allocating.

use crate::types::{Sid, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest server id the model supports (a bit of [`SidSet`]).
pub const MAX_SID: Sid = 64;

// One bit of a `SidSet` per possible server id.
const _: () = assert!(MAX_SID == u64::BITS as Sid);

/// A set of server ids (1..=64) as a bit set.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SidSet(u64);

impl SidSet {
    pub const EMPTY: SidSet = SidSet(0);

    fn bit(sid: Sid) -> u64 {
        assert!((1..=MAX_SID).contains(&sid), "server id {sid} is outside 1..={MAX_SID}");
        1 << (sid - 1)
    }

    pub fn insert(&mut self, sid: Sid) {
        self.0 |= Self::bit(sid);
    }

    pub fn remove(&mut self, sid: Sid) {
        self.0 &= !Self::bit(sid);
    }

    pub fn contains(self, sid: Sid) -> bool {
        (1..=MAX_SID).contains(&sid) && self.0 & (1 << (sid - 1)) != 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: SidSet) -> SidSet {
        SidSet(self.0 | other.0)
    }

    pub fn intersection(self, other: SidSet) -> SidSet {
        SidSet(self.0 & other.0)
    }

    pub fn difference(self, other: SidSet) -> SidSet {
        SidSet(self.0 & !other.0)
    }

    /// The ids in increasing order.
    pub fn iter(self) -> impl Iterator<Item = Sid> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            Some(Sid::from(i) + 1)
        })
    }

    pub fn first(self) -> Option<Sid> {
        self.iter().next()
    }
}

impl FromIterator<Sid> for SidSet {
    fn from_iter<I: IntoIterator<Item = Sid>>(iter: I) -> SidSet {
        let mut s = SidSet::EMPTY;
        for sid in iter {
            s.insert(sid);
        }
        s
    }
}

impl fmt::Debug for SidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for SidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.iter().map(|s| s.to_string()).collect();
        f.write_str(&ids.join(","))
    }
}

impl Serialize for SidSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for SidSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SidSet, D::Error> {
        let ids = Vec::<Sid>::deserialize(d)?;
        if let Some(bad) = ids.iter().find(|s| !(1..=MAX_SID).contains(*s)) {
            return Err(serde::de::Error::custom(format!("server id {bad} is outside 1..={MAX_SID}")));
        }
        Ok(ids.into_iter().collect())
    }
}

/// A configuration: its voting members (participants), its observers, and its version
/// (`QuorumMaj`). The version is the zxid of the reconfig txn that created it; a static
/// config file has version 0 until the first leader is established, which gives it the
/// NEWLEADER zxid (ZOOKEEPER-1783), so an established config beats any joiner's partial one.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuorumVerifier {
    version: Zxid,
    voters: SidSet,
    observers: SidSet,
}

impl QuorumVerifier {
    /// A version-0 configuration of these voters and no observers.
    pub fn new(voters: impl IntoIterator<Item = Sid>) -> QuorumVerifier {
        QuorumVerifier::with_observers(voters, [])
    }

    pub fn with_observers(
        voters: impl IntoIterator<Item = Sid>,
        observers: impl IntoIterator<Item = Sid>,
    ) -> QuorumVerifier {
        let voters: SidSet = voters.into_iter().collect();
        let observers: SidSet = observers.into_iter().collect();
        assert!(!voters.is_empty(), "a quorum verifier needs at least one voter");
        assert!(voters.intersection(observers).is_empty(), "a server is a voter or an observer, not both");
        QuorumVerifier { version: Zxid::ZERO, voters, observers }
    }

    /// Servers 1..=n, all voting.
    pub fn majority_of(n: u64) -> QuorumVerifier {
        QuorumVerifier::new(1..=n)
    }

    /// The same membership under another version.
    pub fn with_version(mut self, version: Zxid) -> QuorumVerifier {
        self.version = version;
        self
    }

    pub fn version(&self) -> Zxid {
        self.version
    }

    pub fn voters(&self) -> impl Iterator<Item = Sid> {
        self.voters.iter()
    }

    pub fn voter_set(&self) -> SidSet {
        self.voters
    }

    pub fn observer_set(&self) -> SidSet {
        self.observers
    }

    /// Voters and observers.
    pub fn members(&self) -> SidSet {
        self.voters.union(self.observers)
    }

    pub fn is_voter(&self, sid: Sid) -> bool {
        self.voters.contains(sid)
    }

    pub fn is_observer(&self, sid: Sid) -> bool {
        self.observers.contains(sid)
    }

    /// Same voters and observers, whatever the versions.
    pub fn same_members(&self, other: &QuorumVerifier) -> bool {
        self.voters == other.voters && self.observers == other.observers
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

    /// `QuorumMaj.containsQuorum`: strictly more than half of the voters are in the set.
    /// Non-voters in it do not count.
    pub fn contains_quorum(&self, ack_set: impl IntoIterator<Item = Sid>) -> bool {
        self.has_quorum(ack_set.into_iter().collect())
    }

    /// [`QuorumVerifier::contains_quorum`] on a set.
    pub fn has_quorum(&self, acks: SidSet) -> bool {
        acks.intersection(self.voters).len() >= self.quorum_size()
    }
}

impl fmt::Debug for QuorumVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for QuorumVerifier {
    /// `v0x100000003 voters 1,2,3 observers 4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{} voters {}", self.version, self.voters)?;
        if !self.observers.is_empty() {
            write!(f, " observers {}", self.observers)?;
        }
        Ok(())
    }
}

/// The configurations a server counts in: the one in force (`quorumVerifier`, the last
/// activated) and, while a reconfiguration is proposed but not activated, the newer one
/// it has seen (`lastSeenQuorumVerifier`). Quorums then need a majority of both.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quorums {
    pub current: QuorumVerifier,
    /// The newer configuration seen, if it is newer than `current`.
    pub next: Option<QuorumVerifier>,
}

impl Quorums {
    pub fn new(current: QuorumVerifier, last_seen: QuorumVerifier) -> Quorums {
        let next = (last_seen.version() > current.version()).then_some(last_seen);
        Quorums { current, next }
    }

    /// `lastSeenQuorumVerifier`: the newest configuration known.
    pub fn last_seen(&self) -> QuorumVerifier {
        self.next.unwrap_or(self.current)
    }

    /// `hasAllQuorums`: a majority of every configuration counted.
    pub fn has_all_quorums(&self, acks: SidSet) -> bool {
        self.current.has_quorum(acks) && self.next.is_none_or(|n| n.has_quorum(acks))
    }

    /// `getCurrentAndNextConfigVoters`: who gets FLE notifications and whose votes count
    /// (`validVoter`).
    pub fn voters(&self) -> SidSet {
        let v = self.current.voter_set();
        self.next.map_or(v, |n| v.union(n.voter_set()))
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
        let qv = QuorumVerifier::with_observers([1, 2, 3], [4]);
        assert!(!qv.contains_quorum([1, 4, 7, 8]));
        assert_eq!(qv.weight(7), 0);
        assert_eq!(qv.weight(4), 0);
        assert!(qv.members().contains(4));
    }

    #[test]
    fn a_pending_configuration_needs_its_own_majority_too() {
        let old = QuorumVerifier::new([1, 2, 3]).with_version(Zxid::new(1, 0));
        let new = QuorumVerifier::new([4, 5, 6]).with_version(Zxid::new(1, 5));
        let q = Quorums::new(old, new);
        assert!(!q.has_all_quorums([1, 2, 4].into_iter().collect()));
        assert!(q.has_all_quorums([1, 2, 4, 5].into_iter().collect()));
        assert_eq!(q.voters().len(), 6);
        // A last-seen configuration that is not newer is not pending.
        assert_eq!(Quorums::new(new, old).next, None);
    }

    #[test]
    fn sid_sets_iterate_in_order_and_round_trip() {
        let s: SidSet = [5, 1, 64, 3].into_iter().collect();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 3, 5, 64]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "[1,3,5,64]");
        assert_eq!(serde_json::from_str::<SidSet>(&json).unwrap(), s);
        assert!(serde_json::from_str::<SidSet>("[0]").is_err());
        assert!(!s.contains(65));
    }
}
