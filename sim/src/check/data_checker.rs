//! The checker's data part: the replicated tree and what clients see of it.
//!
//! - TreeConsistency: two servers that applied the same zxid hold the same tree (compared
//!   by the trees' incremental digests, never tree by tree);
//! - EphemeralOwnerAlive: an ephemeral exists only while its owner session is alive: its
//!   session is in the server's own session table, and no server applied a closeSession
//!   of it at or before what this server has applied;
//! - SequentialConsistency: a client never sees older state than it already saw (answers'
//!   zxids and each path's mzxid never go back, across reconnects; its own writes
//!   included);
//! - WatchOrder: a client with a watch armed on a path gets the event before any answer
//!   that shows the change.
//!
//! The acknowledged-write check and the failover liveness check live with the broadcast
//! checker and the workload.

use crate::check::invariant::{Invariant, Violation};
use std::collections::BTreeMap;
use zab::api::{ErrorCode, EventType, Request, Response, SessionId, Stat, WatchedEvent};
use zab::{Node, Sid, Zxid};

/// What one client session has seen.
#[derive(Clone, Debug, Default)]
struct ClientView {
    session: SessionId,
    /// The newest answer's zxid.
    max_zxid: Zxid,
    /// Per path, the newest mzxid seen (or written).
    mzxid: BTreeMap<String, Zxid>,
    /// Armed data watches: the mzxid the node had when it was set (`None`: set by exists
    /// on a missing node).
    data_watch: BTreeMap<String, Option<Zxid>>,
    /// Armed child watches: the parent's pzxid when set.
    child_watch: BTreeMap<String, Zxid>,
}

/// A broken client-side invariant and what broke it.
type Broken = (Invariant, String);

impl ClientView {
    /// Takes in an answer from `server` (`who` names the client in details): it must be no
    /// older than any answer before it, and no older, per path, than what the client saw or
    /// wrote; a read must not show a change whose watch has not fired yet.
    fn answer(&mut self, who: &str, server: Sid, request: &Request, zxid: Zxid, response: &Response) -> Option<Broken> {
        if zxid < self.max_zxid {
            return Some((
                Invariant::SequentialConsistency,
                format!("{who} got an answer from server {server} at {zxid} after one at {}", self.max_zxid),
            ));
        }
        self.max_zxid = zxid;
        let path = request.path().to_string();
        match (request, response) {
            (Request::GetData { watch, .. }, Response::GetData { stat, .. }) => {
                self.get_data(who, server, path, *watch, stat)
            }
            (Request::GetData { .. }, Response::Error { code: ErrorCode::NoNode }) => {
                match self.data_watch.get(&path) {
                    Some(Some(_)) => Some((
                        Invariant::WatchOrder,
                        format!("{who} found {path} gone on server {server} before its watch fired"),
                    )),
                    _ => None,
                }
            }
            (Request::Exists { watch, .. }, Response::Exists { stat }) => self.exists(who, server, path, *watch, *stat),
            (Request::GetChildren { watch, .. }, Response::GetChildren { stat, .. }) => {
                self.get_children(who, server, path, *watch, stat)
            }
            (Request::SetData { .. }, Response::SetData { stat }) => {
                self.mzxid.insert(path, stat.mzxid);
                None
            }
            _ => None,
        }
    }

    /// A read of `path`'s data: not older than the client saw, and not newer than an armed
    /// watch's node without the watch having fired. `watch` arms one at what was read.
    fn get_data(&mut self, who: &str, server: Sid, path: String, watch: bool, stat: &Stat) -> Option<Broken> {
        let seen = self.mzxid.get(&path).copied();
        if seen.is_some_and(|m| stat.mzxid < m) {
            return Some((
                Invariant::SequentialConsistency,
                format!(
                    "{who} read {path} at mzxid {} from server {server} after seeing it at {}",
                    stat.mzxid,
                    seen.unwrap_or_default()
                ),
            ));
        }
        if let Some(armed) = self.data_watch.get(&path) {
            if armed.is_none_or(|m| stat.mzxid > m) {
                return Some((
                    Invariant::WatchOrder,
                    format!(
                        "{who} read a change of {path} ({}) from server {server} before its watch fired",
                        stat.mzxid
                    ),
                ));
            }
        }
        self.mzxid.insert(path.clone(), stat.mzxid.max(seen.unwrap_or_default()));
        if watch {
            self.data_watch.insert(path, Some(stat.mzxid));
        }
        None
    }

    /// An exists of `path`: a node created, changed or deleted since an armed data watch
    /// was set must not show before the watch fired. `watch` arms one at what was seen.
    fn exists(&mut self, who: &str, server: Sid, path: String, watch: bool, stat: Option<Stat>) -> Option<Broken> {
        let changed = match (self.data_watch.get(&path), stat) {
            (Some(Some(m)), Some(st)) => st.mzxid > *m,
            (Some(Some(_)), None) | (Some(None), Some(_)) => true,
            _ => false,
        };
        if changed {
            return Some((
                Invariant::WatchOrder,
                format!("{who} saw {path} change on server {server} before its watch fired"),
            ));
        }
        if watch {
            self.data_watch.insert(path, stat.map(|s| s.mzxid));
        }
        None
    }

    /// A listing of `path`'s children: no newer than an armed child watch without the watch
    /// having fired. `watch` arms one at the listed pzxid.
    fn get_children(&mut self, who: &str, server: Sid, path: String, watch: bool, stat: &Stat) -> Option<Broken> {
        if let Some(p) = self.child_watch.get(&path) {
            if stat.pzxid > *p {
                return Some((
                    Invariant::WatchOrder,
                    format!("{who} listed changed children of {path} on server {server} before its watch fired"),
                ));
            }
        }
        if watch {
            self.child_watch.insert(path, stat.pzxid);
        }
        None
    }
}

#[derive(Clone, Debug, Default)]
pub struct DataChecker {
    /// The digest of each zxid's tree on the first server that applied it.
    digests: BTreeMap<Zxid, (u64, Sid)>,
    /// Closed sessions, with the zxid of their closeSession.
    closed: BTreeMap<SessionId, Zxid>,
    clients: BTreeMap<u64, ClientView>,
}

fn violation(invariant: Invariant, t_us: u64, nodes: Vec<Sid>, detail: String) -> Option<Violation> {
    Some(Violation { invariant, t_us, nodes, detail })
}

impl DataChecker {
    /// Server `sid` applied the tree txn `zxid`.
    pub fn applied(
        &mut self,
        now: u64,
        sid: Sid,
        zxid: Zxid,
        digest: u64,
        closed: Option<SessionId>,
        node: &Node,
    ) -> Option<Violation> {
        if let Some(session) = closed {
            self.closed.entry(session).or_insert(zxid);
        }
        if let Some(v) = self.check_ephemerals(now, sid, node) {
            return Some(v);
        }
        match self.digests.get(&zxid) {
            None => {
                self.digests.insert(zxid, (digest, sid));
                None
            }
            Some((d, first)) if *d != digest => violation(
                Invariant::TreeConsistency,
                now,
                vec![*first, sid],
                format!(
                    "servers {first} and {sid} hold different trees after applying {zxid} (digests {d:016x} and {digest:016x})"
                ),
            ),
            Some(_) => None,
        }
    }

    /// Every ephemeral on `node` has a live owner.
    pub fn check_ephemerals(&self, now: u64, sid: Sid, node: &Node) -> Option<Violation> {
        let tree = node.tree();
        for (owner, paths) in tree.ephemerals() {
            let Some(path) = paths.first() else { continue };
            if !tree.sessions().contains_key(owner) {
                return violation(
                    Invariant::EphemeralOwnerAlive,
                    now,
                    vec![sid],
                    format!(
                        "server {sid} holds ephemeral {path} of session {owner:x}, which its tree has no session for"
                    ),
                );
            }
            if let Some(z) = self.closed.get(owner) {
                if *z <= node.last_processed() {
                    return violation(
                        Invariant::EphemeralOwnerAlive,
                        now,
                        vec![sid],
                        format!(
                            "server {sid} applied up to {} and still holds ephemeral {path} of session {owner:x}, closed at {z}",
                            node.last_processed()
                        ),
                    );
                }
            }
        }
        None
    }

    /// Client `client` (session `session`) got the answer `response` from `server`.
    #[allow(clippy::too_many_arguments)]
    pub fn client_result(
        &mut self,
        now: u64,
        client: u64,
        session: SessionId,
        server: Sid,
        request: &Request,
        zxid: Zxid,
        response: &Response,
    ) -> Option<Violation> {
        if let Response::Error { code: ErrorCode::ConnectionLoss | ErrorCode::SessionExpired } = response {
            if zxid == Zxid::ZERO {
                return None; // Made up by the client library: no server answered.
            }
        }
        let view = self.clients.entry(client).or_default();
        if view.session != session {
            *view = ClientView { session, ..ClientView::default() };
        }
        let who = format!("client {client} (session {session:x})");
        let (invariant, detail) = view.answer(&who, server, request, zxid, response)?;
        violation(invariant, now, vec![server], detail)
    }

    /// A watch fired at `client`: it is disarmed.
    pub fn client_watch(&mut self, client: u64, event: &WatchedEvent) {
        let Some(view) = self.clients.get_mut(&client) else { return };
        match event.kind {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                view.data_watch.remove(&event.path);
            }
            EventType::NodeDeleted => {
                view.data_watch.remove(&event.path);
                view.child_watch.remove(&event.path);
            }
            EventType::NodeChildrenChanged => {
                view.child_watch.remove(&event.path);
            }
        }
    }

    /// The client's session ended (expired, or its process died): its view goes.
    pub fn client_gone(&mut self, client: u64) {
        self.clients.remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab::api::{Stat, TreeTxn};
    use zab::contract::NodeConfig;
    use zab::durable::{DurableState, Op, Txn};
    use zab::quorum::QuorumVerifier;
    use zab::timing::Timing;
    use zab::Variant;

    fn z(c: u64) -> Zxid {
        Zxid::new(1, c)
    }

    /// A server whose log (all applied at start) is `ops`, one zxid each from 1:1.
    fn node_with(ops: Vec<Op>) -> Node {
        let cfg = NodeConfig::new(1, QuorumVerifier::majority_of(3), Timing::default(), Variant::None);
        let log = ops.into_iter().enumerate().map(|(i, op)| Txn { zxid: z(i as u64 + 1), op }).collect();
        Node::recover(cfg, DurableState::new(1, 1, log)).unwrap()
    }

    fn create(session: u64, path: &str, ephemeral: bool) -> Op {
        let txn = TreeTxn::Create {
            path: path.into(),
            data: String::new(),
            ephemeral_owner: if ephemeral { session } else { 0 },
            parent_cversion: 1,
        };
        Op::tree(session, 1, txn)
    }

    fn read(path: &str, watch: bool) -> Request {
        Request::GetData { path: path.into(), watch }
    }

    fn data_at(mzxid: Zxid) -> Response {
        Response::GetData { data: String::new(), stat: Stat { mzxid, ..Stat::default() } }
    }

    #[test]
    fn trees_that_differ_at_the_same_zxid_break_tree_consistency() {
        let mut c = DataChecker::default();
        let n = node_with(vec![]);
        assert_eq!(c.applied(0, 1, z(5), 0xaaaa, None, &n), None);
        assert_eq!(c.applied(0, 2, z(5), 0xaaaa, None, &n), None);
        let v = c.applied(0, 3, z(5), 0xbbbb, None, &n).unwrap();
        assert_eq!(v.invariant, Invariant::TreeConsistency);
        assert_eq!(v.nodes, vec![1, 3]);
    }

    #[test]
    fn an_ephemeral_whose_session_is_not_in_the_table_breaks_ephemeral_owner_alive() {
        // A create of session 1:1's ephemeral applied after the session closed (ZOOKEEPER-1208).
        let n = node_with(vec![
            Op::CreateSession { client: 7, timeout_ms: 4000 },
            Op::close_session(z(1).0, vec![]),
            create(z(1).0, "/e", true),
        ]);
        let v = DataChecker::default().check_ephemerals(0, 1, &n).unwrap();
        assert_eq!(v.invariant, Invariant::EphemeralOwnerAlive);
    }

    #[test]
    fn a_server_past_a_close_that_still_holds_the_ephemeral_breaks_ephemeral_owner_alive() {
        // Server 1 never applied the closeSession another server applied at 1:3 (ZOOKEEPER-2355).
        let session = z(1).0;
        let n = node_with(vec![
            Op::CreateSession { client: 7, timeout_ms: 4000 },
            create(session, "/e", true),
            Op::Write { client: 0, seq: 0 },
            Op::Write { client: 0, seq: 1 },
        ]);
        let mut c = DataChecker::default();
        let other = node_with(vec![]);
        assert_eq!(c.applied(0, 2, z(3), 1, Some(session), &other), None);
        let v = c.check_ephemerals(0, 1, &n).unwrap();
        assert_eq!(v.invariant, Invariant::EphemeralOwnerAlive);
        assert!(v.detail.contains("closed at"), "{}", v.detail);
    }

    #[test]
    fn a_live_session_with_its_ephemeral_passes() {
        let n = node_with(vec![Op::CreateSession { client: 7, timeout_ms: 4000 }, create(z(1).0, "/e", true)]);
        assert_eq!(DataChecker::default().check_ephemerals(0, 1, &n), None);
    }

    #[test]
    fn an_answer_older_than_one_already_seen_breaks_sequential_consistency() {
        let mut c = DataChecker::default();
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", false), z(5), &data_at(z(5))), None);
        let v = c.client_result(0, 9, 1, 2, &read("/b", false), z(4), &data_at(z(1))).unwrap();
        assert_eq!(v.invariant, Invariant::SequentialConsistency);
    }

    #[test]
    fn reading_older_data_than_ones_own_write_breaks_sequential_consistency() {
        let mut c = DataChecker::default();
        let set = Request::SetData { path: "/a".into(), data: "x".into(), version: None };
        let written = Response::SetData { stat: Stat { mzxid: z(6), ..Stat::default() } };
        assert_eq!(c.client_result(0, 9, 1, 1, &set, z(6), &written), None);
        // A server at 1:7 that still shows the value before the write.
        let v = c.client_result(0, 9, 1, 1, &read("/a", false), z(7), &data_at(z(2))).unwrap();
        assert_eq!(v.invariant, Invariant::SequentialConsistency);
    }

    #[test]
    fn a_new_session_starts_a_new_view() {
        let mut c = DataChecker::default();
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", false), z(5), &data_at(z(5))), None);
        assert_eq!(c.client_result(0, 9, 2, 1, &read("/a", false), z(3), &data_at(z(3))), None);
    }

    #[test]
    fn a_change_read_before_its_watch_fired_breaks_watch_order() {
        let mut c = DataChecker::default();
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", true), z(3), &data_at(z(3))), None);
        let v = c.client_result(0, 9, 1, 1, &read("/a", false), z(8), &data_at(z(8))).unwrap();
        assert_eq!(v.invariant, Invariant::WatchOrder);
    }

    #[test]
    fn a_change_read_after_its_watch_fired_passes() {
        let mut c = DataChecker::default();
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", true), z(3), &data_at(z(3))), None);
        let event = WatchedEvent { kind: EventType::NodeDataChanged, path: "/a".into(), zxid: z(8) };
        c.client_watch(9, &event);
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", false), z(8), &data_at(z(8))), None);
    }

    #[test]
    fn a_deletion_seen_before_its_watch_fired_breaks_watch_order() {
        let mut c = DataChecker::default();
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", true), z(3), &data_at(z(3))), None);
        let gone = Response::Error { code: ErrorCode::NoNode };
        let v = c.client_result(0, 9, 1, 1, &read("/a", false), z(9), &gone).unwrap();
        assert_eq!(v.invariant, Invariant::WatchOrder);
    }

    #[test]
    fn answers_made_up_by_the_client_library_are_not_checked() {
        let mut c = DataChecker::default();
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", false), z(5), &data_at(z(5))), None);
        let lost = Response::Error { code: ErrorCode::ConnectionLoss };
        assert_eq!(c.client_result(0, 9, 1, 1, &read("/a", false), Zxid::ZERO, &lost), None);
    }
}
