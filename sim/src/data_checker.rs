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

use crate::checker::{Invariant, Violation};
use std::collections::BTreeMap;
use zab::api::{ErrorCode, EventType, Request, Response, SessionId, WatchedEvent};
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
        if zxid < view.max_zxid {
            return violation(
                Invariant::SequentialConsistency,
                now,
                vec![server],
                format!("{who} got an answer from server {server} at {zxid} after one at {}", view.max_zxid),
            );
        }
        view.max_zxid = zxid;
        let path = request.path().to_string();
        let seen = view.mzxid.get(&path).copied();
        match (request, response) {
            (Request::GetData { watch, .. }, Response::GetData { stat, .. }) => {
                if seen.is_some_and(|m| stat.mzxid < m) {
                    return violation(
                        Invariant::SequentialConsistency,
                        now,
                        vec![server],
                        format!(
                            "{who} read {path} at mzxid {} from server {server} after seeing it at {}",
                            stat.mzxid,
                            seen.unwrap_or_default()
                        ),
                    );
                }
                if let Some(armed) = view.data_watch.get(&path) {
                    if armed.is_none_or(|m| stat.mzxid > m) {
                        return violation(
                            Invariant::WatchOrder,
                            now,
                            vec![server],
                            format!(
                                "{who} read a change of {path} ({}) from server {server} before its watch fired",
                                stat.mzxid
                            ),
                        );
                    }
                }
                view.mzxid.insert(path.clone(), stat.mzxid.max(seen.unwrap_or_default()));
                if *watch {
                    view.data_watch.insert(path, Some(stat.mzxid));
                }
            }
            (Request::GetData { .. }, Response::Error { code: ErrorCode::NoNode }) => {
                if let Some(Some(_)) = view.data_watch.get(&path) {
                    return violation(
                        Invariant::WatchOrder,
                        now,
                        vec![server],
                        format!("{who} found {path} gone on server {server} before its watch fired"),
                    );
                }
            }
            (Request::Exists { watch, .. }, Response::Exists { stat }) => {
                let changed = match (view.data_watch.get(&path), stat) {
                    (Some(Some(m)), Some(st)) => st.mzxid > *m,
                    (Some(Some(_)), None) | (Some(None), Some(_)) => true,
                    _ => false,
                };
                if changed {
                    return violation(
                        Invariant::WatchOrder,
                        now,
                        vec![server],
                        format!("{who} saw {path} change on server {server} before its watch fired"),
                    );
                }
                if *watch {
                    view.data_watch.insert(path, stat.map(|s| s.mzxid));
                }
            }
            (Request::GetChildren { watch, .. }, Response::GetChildren { stat, .. }) => {
                if let Some(p) = view.child_watch.get(&path) {
                    if stat.pzxid > *p {
                        return violation(
                            Invariant::WatchOrder,
                            now,
                            vec![server],
                            format!(
                                "{who} listed changed children of {path} on server {server} before its watch fired"
                            ),
                        );
                    }
                }
                if *watch {
                    view.child_watch.insert(path, stat.pzxid);
                }
            }
            (Request::SetData { .. }, Response::SetData { stat }) => {
                view.mzxid.insert(path, stat.mzxid);
            }
            _ => {}
        }
        None
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
