//! Sessions on the server side: the leader's expiry tracker (`SessionTrackerImpl` with its
//! `ExpiryQueue`), and each server's client connections with the per-session ordering of
//! answers (`ServerCnxn`, `CommitProcessor`).

use crate::api::{Request, SessionId, Xid};
use crate::watch::WatchManager;
use std::collections::{BTreeMap, VecDeque};

/// Session timeouts are clamped to `[MIN_TIMEOUT_TICKS, MAX_TIMEOUT_TICKS] x tickTime`
/// (`minSessionTimeout`, `maxSessionTimeout` defaults).
pub const MIN_TIMEOUT_TICKS: u64 = 2;
pub const MAX_TIMEOUT_TICKS: u64 = 20;

/// The timeout a server grants a client that asks for `requested_ms`.
pub fn negotiate_timeout(requested_ms: u32, tick_ms: u64) -> u32 {
    let lo = MIN_TIMEOUT_TICKS * tick_ms;
    let hi = MAX_TIMEOUT_TICKS * tick_ms;
    u32::try_from(u64::from(requested_ms).clamp(lo, hi)).expect("a clamped timeout fits")
}

/// The leader's session expiry, in ticks of its own `Leader.lead` loop. Like ZooKeeper's
/// `ExpiryQueue`, a touch moves a session's deadline to the next tick boundary after
/// `now + timeout`; only the leader expires sessions.
#[derive(Clone, Debug, Default, Hash)]
pub struct SessionTracker {
    /// Session -> (expiry tick, timeout in ms).
    sessions: BTreeMap<SessionId, (u64, u32)>,
}

impl SessionTracker {
    fn expiry_tick(now_tick: u64, timeout_ms: u32, tick_ms: u64) -> u64 {
        now_tick + u64::from(timeout_ms) / tick_ms + 1
    }

    /// Tracks a session from now on (a new session, or every session of the tree when a
    /// leader is established: a new leader restarts every session's timer).
    pub fn add(&mut self, session: SessionId, timeout_ms: u32, now_tick: u64, tick_ms: u64) {
        self.sessions.insert(session, (Self::expiry_tick(now_tick, timeout_ms, tick_ms), timeout_ms));
    }

    /// `touchSession`: false when the session is not (or no longer) alive.
    pub fn touch(&mut self, session: SessionId, now_tick: u64, tick_ms: u64) -> bool {
        match self.sessions.get_mut(&session) {
            Some((deadline, timeout_ms)) => {
                *deadline = (*deadline).max(Self::expiry_tick(now_tick, *timeout_ms, tick_ms));
                true
            }
            None => false,
        }
    }

    pub fn contains(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }

    /// Sessions whose deadline passed, removed from tracking (they are closing: a
    /// `closeSession` txn follows, and `touch` now fails, as `setSessionClosing` makes it).
    pub fn expire(&mut self, now_tick: u64) -> Vec<SessionId> {
        let expired: Vec<SessionId> =
            self.sessions.iter().filter(|(_, (deadline, _))| *deadline <= now_tick).map(|(s, _)| *s).collect();
        for s in &expired {
            self.sessions.remove(s);
        }
        expired
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

/// One entry of a session's queue at the server it is connected to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Queued {
    /// A write or sync on its way through the leader.
    InFlight(Xid),
    /// A read that waits for the session's earlier writes (read-your-writes).
    Read(Xid, Request),
}

/// A server's client connections (`ServerCnxnFactory`): which session each connection
/// carries, what the server owes each, and the watches they set. All volatile: a server
/// that stops serving closes every connection.
#[derive(Clone, Debug, Default, Hash)]
pub struct ClientConns {
    /// Connection -> its session, once established here.
    conns: BTreeMap<u64, SessionId>,
    /// Connections waiting for their `createSession` txn, with the negotiated timeout.
    creating: BTreeMap<u64, u32>,
    /// Connections waiting for the leader to revalidate their session.
    revalidating: BTreeMap<u64, SessionId>,
    /// Per session: its writes in flight and the reads held behind them, in order
    /// (`CommitProcessor` keeps a session's answers in request order).
    queues: BTreeMap<SessionId, VecDeque<Queued>>,
    /// Sessions kept alive by their clients since the last report to the leader.
    touched: BTreeMap<SessionId, u32>,
    pub watches: WatchManager,
}

impl ClientConns {
    pub fn session_of(&self, client: u64) -> Option<SessionId> {
        self.conns.get(&client).copied()
    }

    /// Connections carrying `session` here.
    pub fn clients_of(&self, session: SessionId) -> Vec<u64> {
        self.conns.iter().filter(|(_, s)| **s == session).map(|(c, _)| *c).collect()
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    pub fn start_create(&mut self, client: u64, timeout_ms: u32) {
        self.creating.insert(client, timeout_ms);
    }

    /// The `createSession` txn from `client` was applied here: the connection carries it.
    pub fn finish_create(&mut self, client: u64, session: SessionId) -> bool {
        if self.creating.remove(&client).is_some() {
            self.conns.insert(client, session);
            true
        } else {
            false
        }
    }

    pub fn start_revalidate(&mut self, client: u64, session: SessionId) {
        self.revalidating.insert(client, session);
    }

    /// The leader answered: on `valid`, the connection carries the session.
    pub fn finish_revalidate(&mut self, client: u64, session: SessionId, valid: bool) -> bool {
        if self.revalidating.get(&client) != Some(&session) {
            return false;
        }
        self.revalidating.remove(&client);
        if valid {
            self.conns.insert(client, session);
        }
        true
    }

    /// A client request or ping kept its session alive.
    pub fn touch(&mut self, session: SessionId, timeout_ms: u32) {
        self.touched.insert(session, timeout_ms);
    }

    /// The sessions to report in the next PING answer.
    pub fn take_touched(&mut self) -> Vec<(SessionId, u32)> {
        std::mem::take(&mut self.touched).into_iter().collect()
    }

    /// A write or sync left for the leader.
    pub fn push_in_flight(&mut self, session: SessionId, xid: Xid) {
        self.queues.entry(session).or_default().push_back(Queued::InFlight(xid));
    }

    /// Whether a read must wait behind an earlier write of its session.
    pub fn must_hold(&self, session: SessionId) -> bool {
        self.queues.get(&session).is_some_and(|q| !q.is_empty())
    }

    pub fn hold_read(&mut self, session: SessionId, xid: Xid, request: Request) {
        self.queues.entry(session).or_default().push_back(Queued::Read(xid, request));
    }

    /// The answer to `session`'s write `xid` is here. Returns whether this server owes it
    /// (the session's oldest in-flight request), and the reads now free to be answered.
    pub fn complete(&mut self, session: SessionId, xid: Xid) -> (bool, Vec<(Xid, Request)>) {
        let Some(q) = self.queues.get_mut(&session) else { return (false, Vec::new()) };
        if q.front() != Some(&Queued::InFlight(xid)) {
            return (false, Vec::new());
        }
        q.pop_front();
        let mut reads = Vec::new();
        while let Some(Queued::Read(..)) = q.front() {
            if let Some(Queued::Read(x, r)) = q.pop_front() {
                reads.push((x, r));
            }
        }
        if q.is_empty() {
            self.queues.remove(&session);
        }
        (true, reads)
    }

    /// The connection closed (the client went away, or moved): what it was owed is dropped.
    pub fn remove(&mut self, client: u64) {
        self.creating.remove(&client);
        self.revalidating.remove(&client);
        if let Some(session) = self.conns.remove(&client) {
            if !self.conns.values().any(|s| *s == session) {
                self.queues.remove(&session);
            }
        }
        self.watches.remove_client(client);
    }

    /// Every connection, for closing them all; the tables are emptied.
    pub fn close_all(&mut self) -> Vec<u64> {
        let mut clients: Vec<u64> = self.conns.keys().chain(self.creating.keys()).copied().collect();
        clients.extend(self.revalidating.keys());
        clients.sort_unstable();
        clients.dedup();
        *self = ClientConns::default();
        clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_clamped_to_two_and_twenty_ticks() {
        assert_eq!(negotiate_timeout(100, 2000), 4000);
        assert_eq!(negotiate_timeout(10_000, 2000), 10_000);
        assert_eq!(negotiate_timeout(90_000, 2000), 40_000);
    }

    #[test]
    fn a_session_expires_at_the_tick_boundary_after_its_timeout() {
        let mut t = SessionTracker::default();
        t.add(7, 4000, 10, 2000);
        assert!(t.expire(12).is_empty());
        assert_eq!(t.expire(13), vec![7]);
        assert!(!t.touch(7, 13, 2000), "an expired session cannot be touched back to life");
    }

    #[test]
    fn a_touch_moves_the_deadline() {
        let mut t = SessionTracker::default();
        t.add(7, 4000, 0, 2000);
        assert!(t.touch(7, 2, 2000));
        assert!(t.expire(3).is_empty());
        assert_eq!(t.expire(5), vec![7]);
    }

    #[test]
    fn reads_wait_for_the_sessions_earlier_writes() {
        let mut c = ClientConns::default();
        let read = |p: &str| Request::GetData { path: p.into(), watch: false };
        c.push_in_flight(1, 10);
        assert!(c.must_hold(1));
        c.hold_read(1, 11, read("/a"));
        c.push_in_flight(1, 12);
        c.hold_read(1, 13, read("/b"));
        assert_eq!(c.complete(1, 12), (false, vec![]), "answers come in request order");
        assert_eq!(c.complete(1, 10), (true, vec![(11, read("/a"))]));
        assert_eq!(c.complete(1, 12), (true, vec![(13, read("/b"))]));
        assert!(!c.must_hold(1));
    }
}
