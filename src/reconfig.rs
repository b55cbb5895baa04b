//! Dynamic reconfiguration (ZooKeeper 3.5+'s `reconfig`), the parts that are not Zab:
//!
//! - what a server knows of configurations: the one in force and the newer one it has
//!   seen (`setQuorumVerifier`, `setLastSeenQuorumVerifier`, both written to the dynamic
//!   configuration files), and `processReconfig`, which decides whether an activation
//!   sends the server to a new role;
//! - the leader's checks of a reconfig request (`pRequest2TxnReconfig`) and its choice of
//!   the leader of the new configuration (`getDesignatedLeader`).
//!
//! The protocol around them lives with Zab: the leader proposes a reconfig and needs both
//! configurations' quorums until it commits, then sends COMMITANDACTIVATE
//! ([`crate::leader`]); learners remember proposals and activate on COMMITANDACTIVATE or
//! at UPTODATE ([`crate::follower`]); FLE carries configurations ([`crate::node`]).

use crate::api::{ErrorCode, ReconfigRequest};
use crate::contract::{Observation, Outbox};
use crate::durable::DiskWrite;
use crate::quorum::{QuorumVerifier, Quorums, SidSet};
use crate::server::Core;
use crate::types::{Sid, Zxid};

impl Core {
    /// `QuorumPeer.setLastSeenQuorumVerifier(qv, true)`: `qv` becomes the newest configuration
    /// seen and is written to the `.next` file, even when it is older than the one it
    /// replaces (ZooKeeper only logs "setLastSeenQuorumVerifier called with stale config");
    /// only an equal version returns early. So a NEWLEADER (`Learner.syncWithLeader`) whose
    /// configuration is older than a learner's pending one (a reconfig proposal since
    /// truncated or lost) ends that pending one: from then on quorums need only the leader's.
    /// Same in 3.8.0, 3.9.3 and 3.9.4. A `qv` older than the one in force would make
    /// ZooKeeper's `lastSeenQuorumVerifier` older than its `quorumVerifier`; here that counts
    /// as nothing pending (it cannot happen while `LearnerHandler.run` refuses a learner with
    /// a later activated configuration, which keeps NEWLEADER's at least the learner's).
    pub fn see_config(&mut self, qv: QuorumVerifier, out: &mut Outbox) {
        if qv.version() == self.quorums.last_seen().version() {
            return;
        }
        self.write(DiskWrite::NextConfig(qv), out);
        self.quorums = Quorums::new(self.quorums.current, qv);
    }

    /// `QuorumPeer.setQuorumVerifier(qv, true)`: activate `qv` if it is newer than the one in
    /// force (an older or equal one changes nothing, the `.next` file included); it becomes
    /// the newest seen if it is newer than that, and when it is the newest seen the `.next`
    /// file is deleted (`QuorumPeerConfig.deleteFile(getNextDynamicConfigFilename())`). A
    /// pending configuration newer than `qv` stays pending, `.next` with it. Returns whether
    /// `qv` was activated. Same in 3.8.0, 3.9.3 and 3.9.4.
    pub fn activate_config(&mut self, qv: QuorumVerifier, designated: Option<Sid>, out: &mut Outbox) -> bool {
        if qv.version() <= self.quorums.current.version() {
            return false;
        }
        self.write(DiskWrite::Config(qv), out);
        let last_seen = self.quorums.last_seen();
        let last_seen = if qv.version() > last_seen.version() { qv } else { last_seen };
        self.quorums = Quorums::new(qv, last_seen);
        if last_seen.version() == qv.version() && self.disk().next_config.is_some() {
            self.write(DiskWrite::DeleteNextConfig, out);
        }
        out.observe(Observation::ConfigActivated { config: qv, designated });
        true
    }

    /// `QuorumPeer.processReconfig(qv, designated, zxid, true)`: activate `qv`; if it is
    /// newer and has other members, restart leader election (`restartLeaderElection`:
    /// `getElectionAlg().shutdown()`, then `startLeaderElection()` builds a new
    /// `FastLeaderElection`, whose `logicalclock` starts at 0; see
    /// [`crate::node::Node`]) and return true when the server must leave its role: it
    /// became or stopped being an observer (`updateLearnerType`), or its leader changed (to
    /// the `designated` one, which it then takes without an election, `updateVote`; or,
    /// with none designated, out of the voters, which sends it to an election). Same in
    /// 3.8.0, 3.9.3 and 3.9.4.
    pub fn process_reconfig(
        &mut self,
        qv: QuorumVerifier,
        designated: Option<(Sid, Zxid)>,
        leader: Sid,
        was_observer: bool,
        out: &mut Outbox,
    ) -> bool {
        let prev = self.quorums.current;
        if !self.activate_config(qv, designated.map(|d| d.0), out) {
            return false;
        }
        if prev.same_members(&qv) {
            // `prevQV.equals(qv)` (`QuorumMaj.equals`: the same servers): nothing more.
            return false;
        }
        // `restartLeaderElection(prevQV, qv)` (`restartLE` is true on every path that
        // gets here): the election object is replaced, so `logicalclock` starts over.
        self.restart_election = true;
        let role_change = qv.is_observer(self.id()) != was_observer;
        match designated {
            Some((d, zxid)) => {
                let major = role_change || d != leader;
                if major {
                    self.designated = Some((d, zxid));
                }
                major
            }
            None => {
                self.designated = None;
                role_change || !qv.is_voter(leader)
            }
        }
    }
}

/// `PrepRequestProcessor.pRequest2Txn`, its `case OpCode.reconfig` branch (there is no
/// separate `pRequest2TxnReconfig` at 3.8.0, 3.9.3 or 3.9.4; the branch is the same in all
/// three): the configuration a reconfig request asks for, or the error it gets, checked in
/// ZooKeeper's order:
/// 1. the session is alive (`sessionTracker.checkSession`, else `SessionExpired`);
/// 2. no other reconfig is pending (`lastSeenQuorumVerifier`'s version differs from
///    `quorumVerifier`'s: `ReconfigInProgress`);
/// 3. `fromConfig` (`curConfigId`), unless -1, is the newest seen version (`BadVersion`);
/// 4. the change parses and applies (`BadArguments`: here, a server id out of range or no
///    voter left);
/// 5. with `standaloneEnabled` (its default, which the model keeps) the new configuration
///    has at least two voters ("new configuration must include at least 2 followers",
///    `BadArguments`);
/// 6. a quorum of the new configuration is connected and synced (`synced`:
///    `Leader.isQuorumSynced`, else `NewConfigNoQuorum`).
///
/// The version is set when the leader proposes it.
pub fn prep(
    q: &Quorums,
    session_alive: bool,
    synced: SidSet,
    r: &ReconfigRequest,
) -> Result<QuorumVerifier, ErrorCode> {
    if !session_alive {
        return Err(ErrorCode::SessionExpired);
    }
    if q.next.is_some() {
        return Err(ErrorCode::ReconfigInProgress);
    }
    if r.from_config.is_some_and(|v| v != q.last_seen().version()) {
        return Err(ErrorCode::BadVersion);
    }
    let new = r.change.apply(&q.current).ok_or(ErrorCode::BadArguments)?;
    if new.len() < STANDALONE_ENABLED_VOTERS_MIN {
        return Err(ErrorCode::BadArguments);
    }
    if !new.has_quorum(synced) {
        return Err(ErrorCode::NewConfigNoQuorum);
    }
    Ok(new)
}

/// `pRequest2Txn`'s reconfig branch refuses a configuration of fewer voters than this while
/// `QuorumPeerConfig.isStandaloneEnabled()` (true by default; with it false the minimum is
/// one).
pub const STANDALONE_ENABLED_VOTERS_MIN: usize = 2;

/// `getDesignatedLeader`: the leader `me` if it votes in `new`; otherwise, among the voters
/// of `new` that acknowledged the reconfig (`acks`), the one that also acknowledged the
/// most of the proposals after it (`later`: each one's acks and the configurations it
/// needs, in zxid order), narrowing configuration by configuration as ZooKeeper does, each
/// configuration's ack set holding its own voters only. Among equals the lowest id, where
/// ZooKeeper takes a hash set's first.
pub fn designated_leader(
    me: Sid,
    new: QuorumVerifier,
    acks: SidSet,
    later: impl IntoIterator<Item = (SidSet, Quorums)>,
) -> Sid {
    if new.is_voter(me) {
        return me;
    }
    let mut candidates = acks.intersection(new.voter_set());
    candidates.remove(me);
    let mut current = candidates.first().expect("a quorum of the new configuration acknowledged");
    for (acked, quorums) in later {
        for qv in std::iter::once(quorums.current).chain(quorums.next) {
            candidates = candidates.intersection(acked.intersection(qv.voter_set()));
            match candidates.first() {
                None => return current,
                Some(c) => current = c,
            }
            if candidates.len() == 1 {
                return current;
            }
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::MembershipChange;

    fn set(ids: &[Sid]) -> SidSet {
        ids.iter().copied().collect()
    }

    fn add(ids: &[Sid], from_config: Option<Zxid>) -> ReconfigRequest {
        let change =
            MembershipChange::Incremental { add_participants: ids.to_vec(), add_observers: vec![], remove: vec![] };
        ReconfigRequest { change, from_config }
    }

    /// `PrepRequestProcessor.pRequest2Txn` (`case OpCode.reconfig`): BadVersion is checked
    /// before the change is parsed and applied (BadArguments), and with `standaloneEnabled`
    /// a configuration of one voter is refused (BadArguments) before the synced-quorum check.
    #[test]
    fn prep_checks_the_version_before_the_arguments_and_refuses_a_single_voter() {
        let old = QuorumVerifier::new([1, 2, 3]).with_version(Zxid::new(1, 0));
        let q = Quorums::new(old, old);
        let remove = |ids: &[Sid], from_config| ReconfigRequest {
            change: MembershipChange::Incremental {
                add_participants: vec![],
                add_observers: vec![],
                remove: ids.to_vec(),
            },
            from_config,
        };
        let stale = Some(Zxid(7));
        assert_eq!(prep(&q, true, set(&[1, 2, 3]), &remove(&[1, 2, 3], stale)), Err(ErrorCode::BadVersion));
        assert_eq!(prep(&q, true, set(&[1, 2, 3]), &remove(&[1, 2, 3], None)), Err(ErrorCode::BadArguments));
        // One voter left: refused even with no synced quorum of it (BadArguments comes first).
        assert_eq!(prep(&q, true, set(&[2]), &remove(&[1, 2], None)), Err(ErrorCode::BadArguments));
        assert_eq!(prep(&q, true, set(&[2, 3]), &remove(&[1], None)), Ok(QuorumVerifier::new([2, 3])));
    }

    #[test]
    fn prep_checks_in_zookeepers_order() {
        let old = QuorumVerifier::new([1, 2, 3]).with_version(Zxid::new(1, 0));
        let q = Quorums::new(old, old);
        assert_eq!(prep(&q, true, set(&[1, 2, 3]), &add(&[4], None)), Ok(QuorumVerifier::new([1, 2, 3, 4])));
        assert_eq!(prep(&q, false, set(&[1, 2, 3]), &add(&[4], None)), Err(ErrorCode::SessionExpired));
        assert_eq!(prep(&q, true, set(&[1, 2, 3]), &add(&[4], Some(Zxid(7)))), Err(ErrorCode::BadVersion));
        assert_eq!(prep(&q, true, set(&[1]), &add(&[4], None)), Err(ErrorCode::NewConfigNoQuorum));
        let pending = Quorums::new(old, QuorumVerifier::new([1, 2]).with_version(Zxid::new(1, 5)));
        assert_eq!(prep(&pending, true, set(&[1, 2, 3]), &add(&[4], None)), Err(ErrorCode::ReconfigInProgress));
        let remove_all = ReconfigRequest {
            change: MembershipChange::Incremental {
                add_participants: vec![],
                add_observers: vec![],
                remove: vec![1, 2, 3],
            },
            from_config: None,
        };
        assert_eq!(prep(&q, true, set(&[1, 2, 3]), &remove_all), Err(ErrorCode::BadArguments));
    }

    #[test]
    fn the_designated_leader_is_the_leader_itself_when_it_votes_in_the_new_configuration() {
        let new = QuorumVerifier::new([1, 2, 3]);
        assert_eq!(designated_leader(3, new, set(&[1, 3]), []), 3);
    }

    #[test]
    fn otherwise_the_new_voter_that_acknowledged_the_most_later_proposals() {
        let old = QuorumVerifier::new([1, 2, 3]);
        let new = QuorumVerifier::new([1, 2, 4]);
        let after = Quorums::new(new, new);
        // 1, 2 and 4 acked the reconfig; only 2 and 4 the next proposal, only 4 the one after.
        let later = [(set(&[2, 3, 4]), after), (set(&[3, 4]), after)];
        assert_eq!(designated_leader(3, new, set(&[1, 2, 3, 4]), later), 4);
        // Without later proposals: the lowest id of those that acked.
        assert_eq!(designated_leader(3, new, set(&[2, 3, 4]), []), 2);
        // A later proposal still under both configurations: the old one's ack set holds
        // only its voters, so a new-only voter drops out there.
        let both = Quorums::new(old, new);
        assert_eq!(designated_leader(3, new, set(&[2, 3, 4]), [(set(&[2, 3, 4]), both)]), 2);
    }
}
