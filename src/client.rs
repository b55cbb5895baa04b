//! The ZooKeeper client (`ZooKeeper` + `ClientCnxn`) as a state machine, so that scenario
//! workloads are written as client behaviours: connect with a session, call the API,
//! get answers and watch events in order, ping while idle, move to another server when
//! the connection breaks, keep the session across the move (within its timeout), set the
//! watches again there, and learn of its expiry from the first server that knows.
//!
//! Like a server, it never reads a clock or draws a random number: it reacts to one
//! [`ClientInput`] at a time and writes [`ClientEffect`]s. The simulator owns the network
//! and the timers, and chooses the order of the server list.

use crate::api::{ErrorCode, EventType, Request, Response, SessionId, WatchedEvent, Xid};
use crate::contract::{ClientReply, ClientRequest, WatchSet};
use crate::types::{Sid, Zxid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What does not change while a client runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    /// The client's connection id: unique in the run, stable across its reconnects.
    pub id: u64,
    /// The connect string, in the order the client tries it (ZooKeeper shuffles it).
    pub servers: Vec<Sid>,
    /// The session timeout it asks for; the server may clamp it.
    pub session_timeout_ms: u32,
}

/// The client's timers; setting one again replaces the pending one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientTimer {
    /// No answer to the connect request in `session_timeout / servers` (`connectTimeout`):
    /// try the next server.
    Connect,
    /// Send a ping (every third of the session timeout while connected).
    Ping,
    /// Nothing heard from the server in two thirds of the session timeout
    /// (`readTimeout`): the connection is taken for lost.
    Read,
}

impl ClientTimer {
    pub const COUNT: usize = 3;

    pub fn index(self) -> usize {
        self as usize
    }
}

// The simulator sizes its per-timer tables with `COUNT`: every index must fit, the last
// timer's included (a timer added after `Read` takes its place here).
const _: () = assert!(ClientTimer::Read as usize + 1 == ClientTimer::COUNT);

/// One input to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "input", rename_all = "snake_case")]
pub enum ClientInput {
    Reply {
        from: Sid,
        reply: ClientReply,
    },
    /// The TCP connection to `server` broke.
    ConnectionLost {
        server: Sid,
    },
    Timer {
        timer: ClientTimer,
    },
}

/// What the client tells its application.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ClientEvent {
    /// `SyncConnected`: the session is (again) usable, on `server`.
    Connected { session: SessionId, server: Sid, new_session: bool },
    /// `Disconnected`: requests in flight failed with ConnectionLoss; the client is
    /// looking for another server.
    Disconnected { server: Sid },
    /// `Expired`: the session is gone, with its ephemerals and watches. The application
    /// must start a new one.
    Expired { session: SessionId },
    /// The answer to request `xid`; `zxid` is the answering server's last applied txn.
    Result { xid: Xid, request: Request, zxid: Zxid, server: Sid, response: Response },
    /// A watch fired.
    Watch { watched: WatchedEvent, server: Sid },
}

/// An effect a client asks the world to carry out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum ClientEffect {
    Send {
        to: Sid,
        request: ClientRequest,
    },
    /// Close the connection to `server` (the client moves on).
    Close {
        server: Sid,
    },
    SetTimer {
        timer: ClientTimer,
        after_us: u64,
    },
    CancelTimer {
        timer: ClientTimer,
    },
    Event(ClientEvent),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum State {
    /// Not started, or the session expired and no new one was asked for.
    Idle,
    Connecting {
        server: Sid,
    },
    Connected {
        server: Sid,
    },
}

/// A ZooKeeper client.
#[derive(Clone, Debug, Hash)]
pub struct Client {
    cfg: ClientConfig,
    state: State,
    /// The session and its negotiated timeout, once a server granted one.
    session: Option<(SessionId, u32)>,
    /// Index in `servers` of the next server to try.
    next_server: usize,
    next_xid: Xid,
    /// `lastZxid`: the newest zxid in an answer; a server behind it refuses the client.
    last_zxid_seen: Zxid,
    /// Sent and not answered yet.
    pending: BTreeMap<Xid, Request>,
    /// Called while not connected; sent once connected (`outgoingQueue`).
    queued: VecDeque<(Xid, Request)>,
    /// Watches the servers hold for us (`ZKWatchManager`): data, exist, child.
    data_watches: BTreeSet<String>,
    exist_watches: BTreeSet<String>,
    child_watches: BTreeSet<String>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Client {
        assert!(!cfg.servers.is_empty(), "client {} has no server to connect to", cfg.id);
        assert!(cfg.session_timeout_ms > 0, "client {} asks for a zero session timeout", cfg.id);
        Client {
            cfg,
            state: State::Idle,
            session: None,
            next_server: 0,
            next_xid: 1,
            last_zxid_seen: Zxid::ZERO,
            pending: BTreeMap::new(),
            queued: VecDeque::new(),
            data_watches: BTreeSet::new(),
            exist_watches: BTreeSet::new(),
            child_watches: BTreeSet::new(),
        }
    }

    pub fn id(&self) -> u64 {
        self.cfg.id
    }

    pub fn session(&self) -> Option<SessionId> {
        self.session.map(|(s, _)| s)
    }

    /// The server the client is connected to, once its session is usable there.
    pub fn server(&self) -> Option<Sid> {
        match self.state {
            State::Connected { server } => Some(server),
            _ => None,
        }
    }

    pub fn last_zxid_seen(&self) -> Zxid {
        self.last_zxid_seen
    }

    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    fn timeout_ms(&self) -> u64 {
        u64::from(self.session.map_or(self.cfg.session_timeout_ms, |(_, t)| t))
    }

    fn connect_timeout_us(&self) -> u64 {
        self.timeout_ms() * 1000 / self.cfg.servers.len() as u64
    }

    fn read_timeout_us(&self) -> u64 {
        self.timeout_ms() * 1000 * 2 / 3
    }

    /// Starts a session (the first, or a new one after expiry).
    pub fn start(&mut self, out: &mut Vec<ClientEffect>) {
        assert_eq!(self.state, State::Idle, "client {} started twice", self.cfg.id);
        self.session = None;
        self.connect_next(out);
    }

    /// Calls the API; the answer comes as [`ClientEvent::Result`] with the returned xid.
    pub fn call(&mut self, request: Request, out: &mut Vec<ClientEffect>) -> Xid {
        let xid = self.next_xid;
        self.next_xid += 1;
        match self.state {
            State::Connected { server } => {
                self.pending.insert(xid, request.clone());
                out.push(ClientEffect::Send {
                    to: server,
                    request: ClientRequest::Op { xid, call: Box::new(request) },
                });
            }
            State::Connecting { .. } => self.queued.push_back((xid, request)),
            State::Idle => {
                let response = Response::Error { code: ErrorCode::SessionExpired };
                let server = 0;
                out.push(ClientEffect::Event(ClientEvent::Result { xid, request, zxid: Zxid::ZERO, server, response }));
            }
        }
        xid
    }

    pub fn step(&mut self, input: ClientInput, out: &mut Vec<ClientEffect>) {
        match input {
            ClientInput::Reply { from, reply } => self.on_reply(from, reply, out),
            ClientInput::ConnectionLost { server } => {
                if self.current_server() == Some(server) {
                    self.connection_lost(server, false, out);
                }
            }
            ClientInput::Timer { timer } => self.on_timer(timer, out),
        }
    }

    fn current_server(&self) -> Option<Sid> {
        match self.state {
            State::Connecting { server } | State::Connected { server } => Some(server),
            State::Idle => None,
        }
    }

    fn connect_next(&mut self, out: &mut Vec<ClientEffect>) {
        let server = self.cfg.servers[self.next_server % self.cfg.servers.len()];
        self.next_server += 1;
        self.state = State::Connecting { server };
        let request = ClientRequest::Connect {
            session: self.session(),
            timeout_ms: self.cfg.session_timeout_ms,
            last_zxid_seen: self.last_zxid_seen,
        };
        out.push(ClientEffect::Send { to: server, request });
        out.push(ClientEffect::SetTimer { timer: ClientTimer::Connect, after_us: self.connect_timeout_us() });
    }

    fn on_reply(&mut self, from: Sid, reply: ClientReply, out: &mut Vec<ClientEffect>) {
        if self.current_server() != Some(from) {
            return; // From a connection we already left.
        }
        if matches!(self.state, State::Connected { .. }) {
            out.push(ClientEffect::SetTimer { timer: ClientTimer::Read, after_us: self.read_timeout_us() });
        }
        match reply {
            ClientReply::Connected { session, timeout_ms } => self.on_connected(from, session, timeout_ms, out),
            ClientReply::SessionExpired => self.on_expired(from, out),
            ClientReply::ConnectionClosed => self.connection_lost(from, true, out),
            ClientReply::Reply { xid, zxid, response } => self.on_result(from, xid, zxid, *response, out),
            ClientReply::Watch { event } => {
                match event.kind {
                    EventType::NodeCreated | EventType::NodeDataChanged => {
                        self.data_watches.remove(&event.path);
                        self.exist_watches.remove(&event.path);
                    }
                    EventType::NodeDeleted => {
                        self.data_watches.remove(&event.path);
                        self.exist_watches.remove(&event.path);
                        self.child_watches.remove(&event.path);
                    }
                    EventType::NodeChildrenChanged => {
                        self.child_watches.remove(&event.path);
                    }
                }
                out.push(ClientEffect::Event(ClientEvent::Watch { watched: event, server: from }));
            }
            ClientReply::Pong => {}
            // Answers of the raw-write protocol never reach a session client.
            ClientReply::Srvr { .. } | ClientReply::WriteOk { .. } | ClientReply::NotServing { .. } => {}
        }
    }

    fn on_connected(&mut self, server: Sid, session: SessionId, timeout_ms: u32, out: &mut Vec<ClientEffect>) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        let new_session = self.session.is_none();
        assert!(
            new_session || self.session() == Some(session),
            "client {} reconnected with session {session:x}, not its own",
            self.cfg.id
        );
        self.session = Some((session, timeout_ms));
        self.state = State::Connected { server };
        out.push(ClientEffect::CancelTimer { timer: ClientTimer::Connect });
        out.push(ClientEffect::SetTimer { timer: ClientTimer::Read, after_us: self.read_timeout_us() });
        out.push(ClientEffect::SetTimer { timer: ClientTimer::Ping, after_us: self.timeout_ms() * 1000 / 3 });
        out.push(ClientEffect::Event(ClientEvent::Connected { session, server, new_session }));
        if !(self.data_watches.is_empty() && self.exist_watches.is_empty() && self.child_watches.is_empty()) {
            let request = ClientRequest::SetWatches(Box::new(WatchSet {
                relative_zxid: self.last_zxid_seen,
                data: self.data_watches.iter().cloned().collect(),
                exist: self.exist_watches.iter().cloned().collect(),
                child: self.child_watches.iter().cloned().collect(),
            }));
            out.push(ClientEffect::Send { to: server, request });
        }
        while let Some((xid, request)) = self.queued.pop_front() {
            self.pending.insert(xid, request.clone());
            out.push(ClientEffect::Send { to: server, request: ClientRequest::Op { xid, call: Box::new(request) } });
        }
    }

    fn on_expired(&mut self, server: Sid, out: &mut Vec<ClientEffect>) {
        let Some((session, _)) = self.session else {
            return; // A refused new session: ask the next server.
        };
        out.push(ClientEffect::Close { server });
        self.fail_all(server, ErrorCode::SessionExpired, out);
        self.data_watches.clear();
        self.exist_watches.clear();
        self.child_watches.clear();
        self.session = None;
        self.state = State::Idle;
        for t in [ClientTimer::Connect, ClientTimer::Ping, ClientTimer::Read] {
            out.push(ClientEffect::CancelTimer { timer: t });
        }
        out.push(ClientEffect::Event(ClientEvent::Expired { session }));
    }

    fn on_result(&mut self, server: Sid, xid: Xid, zxid: Zxid, response: Response, out: &mut Vec<ClientEffect>) {
        let Some(request) = self.pending.remove(&xid) else { return };
        self.last_zxid_seen = self.last_zxid_seen.max(zxid);
        // `WatchRegistration`: a watch counts once its read succeeded.
        match (&request, &response) {
            (Request::GetData { path, watch: true }, Response::GetData { .. }) => {
                self.data_watches.insert(path.clone());
            }
            (Request::Exists { path, watch: true }, Response::Exists { stat }) => {
                if stat.is_some() {
                    self.data_watches.insert(path.clone());
                } else {
                    self.exist_watches.insert(path.clone());
                }
            }
            (Request::GetChildren { path, watch: true }, Response::GetChildren { .. }) => {
                self.child_watches.insert(path.clone());
            }
            _ => {}
        }
        out.push(ClientEffect::Event(ClientEvent::Result { xid, request, zxid, server, response }));
    }

    /// The connection broke or was refused: what was in flight failed with ConnectionLoss
    /// (it may still be applied); try the next server with the same session.
    fn connection_lost(&mut self, server: Sid, closed_by_server: bool, out: &mut Vec<ClientEffect>) {
        if !closed_by_server {
            out.push(ClientEffect::Close { server });
        }
        let was_connected = matches!(self.state, State::Connected { .. });
        self.fail_all(server, ErrorCode::ConnectionLoss, out);
        out.push(ClientEffect::CancelTimer { timer: ClientTimer::Ping });
        out.push(ClientEffect::CancelTimer { timer: ClientTimer::Read });
        if was_connected {
            out.push(ClientEffect::Event(ClientEvent::Disconnected { server }));
        }
        self.connect_next(out);
    }

    fn fail_all(&mut self, server: Sid, code: ErrorCode, out: &mut Vec<ClientEffect>) {
        let pending = std::mem::take(&mut self.pending);
        let queued = std::mem::take(&mut self.queued);
        for (xid, request) in pending.into_iter().chain(queued) {
            let response = Response::Error { code };
            out.push(ClientEffect::Event(ClientEvent::Result { xid, request, zxid: Zxid::ZERO, server, response }));
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, out: &mut Vec<ClientEffect>) {
        match (timer, &self.state) {
            (ClientTimer::Connect, State::Connecting { server }) => {
                let server = *server;
                self.connection_lost(server, false, out);
            }
            (ClientTimer::Ping, State::Connected { server }) => {
                out.push(ClientEffect::Send { to: *server, request: ClientRequest::Ping });
                out.push(ClientEffect::SetTimer { timer: ClientTimer::Ping, after_us: self.timeout_ms() * 1000 / 3 });
            }
            (ClientTimer::Read, State::Connected { server }) => {
                let server = *server;
                self.connection_lost(server, false, out);
            }
            _ => {} // A timer of a state the client left.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new(ClientConfig { id: 9, servers: vec![1, 2, 3], session_timeout_ms: 6000 })
    }

    fn sends(out: &[ClientEffect]) -> Vec<(Sid, ClientRequest)> {
        out.iter()
            .filter_map(|e| match e {
                ClientEffect::Send { to, request } => Some((*to, request.clone())),
                _ => None,
            })
            .collect()
    }

    fn connected(c: &mut Client, server: Sid, session: SessionId) -> Vec<ClientEffect> {
        let mut out = Vec::new();
        c.step(
            ClientInput::Reply { from: server, reply: ClientReply::Connected { session, timeout_ms: 6000 } },
            &mut out,
        );
        out
    }

    #[test]
    fn requests_made_while_connecting_go_out_once_connected() {
        let mut c = client();
        let mut out = Vec::new();
        c.start(&mut out);
        assert!(matches!(sends(&out)[0], (1, ClientRequest::Connect { session: None, .. })));
        let mut out = Vec::new();
        let xid = c.call(Request::Exists { path: "/a".into(), watch: true }, &mut out);
        assert!(sends(&out).is_empty());
        let out = connected(&mut c, 1, 77);
        assert!(sends(&out).contains(&(
            1,
            ClientRequest::Op { xid, call: Box::new(Request::Exists { path: "/a".into(), watch: true }) }
        )));
    }

    #[test]
    fn a_lost_connection_fails_what_was_in_flight_and_reconnects_with_the_session_and_watches() {
        let mut c = client();
        let mut out = Vec::new();
        c.start(&mut out);
        connected(&mut c, 1, 77);
        c.call(Request::GetData { path: "/a".into(), watch: true }, &mut out);
        let stat = crate::api::Stat::default();
        let reply = ClientReply::Reply {
            xid: 1,
            zxid: Zxid(5),
            response: Box::new(Response::GetData { data: "x".into(), stat }),
        };
        c.step(ClientInput::Reply { from: 1, reply }, &mut out);
        let xid = c.call(Request::SetData { path: "/a".into(), data: "y".into(), version: None }, &mut out);
        let mut out = Vec::new();
        c.step(ClientInput::ConnectionLost { server: 1 }, &mut out);
        let lost = ClientEvent::Result {
            xid,
            request: Request::SetData { path: "/a".into(), data: "y".into(), version: None },
            zxid: Zxid::ZERO,
            server: 1,
            response: Response::Error { code: ErrorCode::ConnectionLoss },
        };
        assert!(out.contains(&ClientEffect::Event(lost)));
        assert!(sends(&out)
            .contains(&(2, ClientRequest::Connect { session: Some(77), timeout_ms: 6000, last_zxid_seen: Zxid(5) })));
        let out = connected(&mut c, 2, 77);
        let set = ClientRequest::SetWatches(Box::new(WatchSet {
            relative_zxid: Zxid(5),
            data: vec!["/a".into()],
            exist: vec![],
            child: vec![],
        }));
        assert!(sends(&out).contains(&(2, set)));
    }

    #[test]
    fn an_expired_session_drops_its_watches_and_goes_idle() {
        let mut c = client();
        let mut out = Vec::new();
        c.start(&mut out);
        connected(&mut c, 1, 77);
        let mut out = Vec::new();
        c.step(ClientInput::Reply { from: 1, reply: ClientReply::SessionExpired }, &mut out);
        assert!(out.contains(&ClientEffect::Event(ClientEvent::Expired { session: 77 })));
        assert!(c.is_idle());
        assert_eq!(c.session(), None);
    }

    #[test]
    fn silence_for_the_read_timeout_moves_the_client_on() {
        let mut c = client();
        let mut out = Vec::new();
        c.start(&mut out);
        connected(&mut c, 1, 77);
        let mut out = Vec::new();
        c.step(ClientInput::Timer { timer: ClientTimer::Read }, &mut out);
        assert!(out.contains(&ClientEffect::Event(ClientEvent::Disconnected { server: 1 })));
        assert!(matches!(sends(&out)[0], (2, ClientRequest::Connect { session: Some(77), .. })));
    }
}
