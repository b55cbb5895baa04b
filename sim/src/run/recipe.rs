//! ZooKeeper's coordination recipes as client behaviours: what a service instance does with
//! its [`Client`] when the scenario names a recipe (`[service_failover] recipe`).
//!
//! - Leader election (ZooKeeper's "Recipes and Solutions" page, Curator's `LeaderLatch`):
//!   each instance creates an ephemeral-sequential `/election/i<k>-s<session>-n_` (the
//!   server appends the parent's cversion as `%010d`, `PrepRequestProcessor.pRequest2TxnCreate`);
//!   it lists `/election`, and leads when its znode has the lowest sequence number, else
//!   it watches only the znode just before its own (`exists` with a watch: no herd effect)
//!   and lists again when that one goes. The name carries the session, as Curator's
//!   protected mode carries a GUID, so that after a lost answer the instance finds its own
//!   znode in the listing instead of creating a second one.
//! - The leader's work: on taking over it reads `/config` (its version is the fencing
//!   token), announces itself with a first setData, and then, every `work_interval_ms`,
//!   decides an action and sends it at the next interval (check, then act: the window a
//!   GC pause or a cut falls into). `leader-unfenced` writes with version -1;
//!   `leader-fenced` with the version it last wrote or read, so a deposed leader's write is
//!   refused with BadVersion once its successor wrote (then it lists again, and reads the
//!   version anew only if it still leads). The model has no `multi`, so the token is the
//!   version: it orders the holders' writes at `/config` (RecipeFencing), though a deposed
//!   leader's last write may still land before its successor's first.
//! - Belief follows Curator: a disconnect (SUSPENDED) or an expiry (LOST) ends it
//!   (`LeaderLatch.handleStateChange`), a reconnect lists again; but an action already
//!   decided is still sent, and a write that failed with ConnectionLoss or SessionExpired
//!   is retried, in the new session if need be (`RetryLoop.shouldRetry` retries both):
//!   that is how an unfenced leader's write lands after its successor's.
//! - The lock (`InterProcessMutex`, the lock recipe): the same queue under `/lock`; the
//!   holder reads `/work`, makes one fenced setData of it at its next interval, then
//!   deletes its znode (release) and asks again one interval later.
//! - The naive leader: every instance creates the same ephemeral `/config`; the winner
//!   believes it leads until its session expires; the losers ignore NodeExists, and so
//!   does an instance whose own create's answer was lost (it retries and is told
//!   NodeExists by its own znode).
//!
//! Every instance also reads `/config` with a watch, as the service's configuration.

use crate::check::recipe_checker::RecipeNote;
use crate::scenario::RecipeKind;
use zab::api::{CreateMode, ErrorCode, EventType, Request, Response};
use zab::client::{Client, ClientEffect};
use zab::tree::DataTree;

pub const ELECTION_PATH: &str = "/election";
pub const LOCK_PATH: &str = "/lock";
pub const WORK_PATH: &str = "/work";
pub const CONFIG_PATH: &str = "/config";

/// Where the recipe's claims live, whether the naive claim is that path itself, and the
/// path its actions write ([`RecipeKind::paths`]).
pub fn paths(kind: RecipeKind) -> (&'static str, bool, &'static str) {
    kind.paths()
}

/// The sequence number ZooKeeper appended to a sequential znode's name.
fn seq_of(name: &str) -> u64 {
    name.rsplit("-n_").next().and_then(|n| n.parse().ok()).unwrap_or(u64::MAX)
}

/// One instance running a recipe.
#[derive(Clone, Debug)]
pub struct RecipeInstance {
    kind: RecipeKind,
    i: u64,
    work_interval_us: u64,
    /// This session's claim name prefix (`i<k>-s<session>-n_`).
    prefix: Option<String>,
    /// The claim znode, once known.
    claim: Option<String>,
    /// In the queue (a leader always is while it has a session; a lock contender until it
    /// releases).
    contending: bool,
    /// The predecessor whose deletion it waits for.
    watching: Option<String>,
    /// The term it believes it leads (holds the lock) in.
    pub leading: Option<String>,
    /// The action path's version it last wrote or read, with the term it did so in: the
    /// fencing token, which only that term's actions carry (an action decided in an older
    /// term and sent late must not pick up the newer term's token).
    token: Option<(String, i32)>,
    /// An action decided while leading, sent at the next interval.
    decided: Option<String>,
    /// An action is outstanding (or waits for the next session to be retried).
    pub acting: bool,
    /// Numbers this instance's actions.
    seq: u64,
    /// Requests that failed because the session expired, re-issued in the next one.
    retry: Vec<Request>,
    /// Lock: when to ask again.
    next_try_us: u64,
    /// The `/config` it last read.
    pub config_seen: Option<String>,
}

impl RecipeInstance {
    pub fn new(kind: RecipeKind, i: u64, work_interval_us: u64) -> RecipeInstance {
        RecipeInstance {
            kind,
            i,
            work_interval_us,
            prefix: None,
            claim: None,
            contending: false,
            watching: None,
            leading: None,
            token: None,
            decided: None,
            acting: false,
            seq: 0,
            retry: Vec::new(),
            next_try_us: 0,
            config_seen: None,
        }
    }

    fn base(&self) -> &'static str {
        paths(self.kind).0
    }

    fn action_path(&self) -> &'static str {
        paths(self.kind).2
    }

    /// The claim this instance holds for its session, as the tree names it.
    pub fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }

    fn read_config(client: &mut Client, out: &mut Vec<ClientEffect>) {
        client.call(Request::GetData { path: CONFIG_PATH.into(), watch: true }, out);
    }

    fn list(&self, client: &mut Client, out: &mut Vec<ClientEffect>) {
        client.call(Request::GetChildren { path: self.base().into(), watch: false }, out);
    }

    fn create_claim(&mut self, client: &mut Client, out: &mut Vec<ClientEffect>) {
        let Some(prefix) = &self.prefix else { return };
        let parent = Request::Create { path: self.base().into(), data: String::new(), mode: CreateMode::Persistent };
        client.call(parent, out);
        let path = format!("{}/{prefix}", self.base());
        let data = format!("instance-{}", self.i);
        client.call(Request::Create { path, data, mode: CreateMode::EphemeralSequential }, out);
    }

    fn create_naive(&self, client: &mut Client, out: &mut Vec<ClientEffect>) {
        let data = format!("instance-{}", self.i);
        client.call(Request::Create { path: CONFIG_PATH.into(), data, mode: CreateMode::Ephemeral }, out);
    }

    /// A new session (the first, or one after an expiry or a restart).
    pub fn on_new_session(&mut self, now: u64, quiet: bool, client: &mut Client, out: &mut Vec<ClientEffect>) {
        let session = client.session().unwrap_or(0);
        self.prefix = Some(format!("i{}-s{session:x}-n_", self.i));
        self.claim = None;
        self.watching = None;
        Self::read_config(client, out);
        match self.kind {
            RecipeKind::LeaderNaive => self.create_naive(client, out),
            RecipeKind::LeaderUnfenced | RecipeKind::LeaderFenced => {
                self.contending = true;
                self.create_claim(client, out);
            }
            RecipeKind::LockFenced => {
                self.contending = false;
                self.contend(now, quiet, client, out);
            }
        }
        for r in std::mem::take(&mut self.retry) {
            client.call(r, out);
        }
    }

    /// The lock: joins the queue when it is time.
    fn contend(&mut self, now: u64, quiet: bool, client: &mut Client, out: &mut Vec<ClientEffect>) {
        if self.contending || quiet || now < self.next_try_us || client.session().is_none() || self.acting {
            return;
        }
        self.contending = true;
        self.create_claim(client, out);
    }

    /// The same session, on another connection: the queue may have moved meanwhile.
    pub fn on_reconnected(&mut self, client: &mut Client, out: &mut Vec<ClientEffect>) {
        if self.kind != RecipeKind::LeaderNaive && self.contending {
            self.list(client, out);
        }
    }

    /// Curator's SUSPENDED: the holder no longer knows it leads (the naive one ignores it).
    pub fn on_disconnected(&mut self, notes: &mut Vec<RecipeNote>) {
        if self.kind != RecipeKind::LeaderNaive {
            self.stop(notes);
        }
    }

    /// LOST: the session and its claim are gone. The library starts a new session.
    pub fn on_expired(&mut self, notes: &mut Vec<RecipeNote>) {
        self.stop(notes);
        self.claim = None;
        self.watching = None;
        self.token = None;
        self.contending = false;
    }

    /// The process died.
    pub fn went_down(&mut self, notes: &mut Vec<RecipeNote>) {
        self.stop(notes);
    }

    fn stop(&mut self, notes: &mut Vec<RecipeNote>) {
        if let Some(claim) = self.leading.take() {
            notes.push(RecipeNote::Stopped { instance: self.i, claim });
        }
    }

    /// The claim is the lowest: it leads (holds the lock) in that term, and reads the
    /// fencing token.
    fn lead(&mut self, term: String, client: &mut Client, out: &mut Vec<ClientEffect>, notes: &mut Vec<RecipeNote>) {
        if self.leading.as_ref() != Some(&term) {
            self.stop(notes);
            notes.push(RecipeNote::Believes { instance: self.i, claim: term.clone() });
            self.leading = Some(term.clone());
        }
        if self.kind == RecipeKind::LeaderNaive {
            // Its own ephemeral `/config`: no token to read; it announces itself at once.
            if !self.acting {
                self.act(term, client, out);
            }
            return;
        }
        self.token = None;
        client.call(Request::GetData { path: self.action_path().into(), watch: false }, out);
    }

    fn act(&mut self, term: String, client: &mut Client, out: &mut Vec<ClientEffect>) {
        let version = if self.kind.is_fenced() {
            // No token of this term: no fenced write.
            let Some((_, v)) = self.token.as_ref().filter(|(t, _)| *t == term) else { return };
            Some(*v)
        } else {
            None
        };
        self.seq += 1;
        let data = format!("{term} #{}", self.seq);
        self.acting = true;
        client.call(Request::SetData { path: self.action_path().into(), data, version }, out);
    }

    /// The periodic work: the action decided last time goes out, the next is decided; a
    /// lock contender asks for the lock again.
    pub fn wake(
        &mut self,
        now: u64,
        quiet: bool,
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
        notes: &mut Vec<RecipeNote>,
    ) {
        let _ = notes;
        if let Some(term) = self.decided.take() {
            if !self.acting {
                self.act(term, client, out);
            }
        }
        match self.kind {
            RecipeKind::LockFenced => self.contend(now, quiet, client, out),
            _ => {
                if self.leading.is_some() && !quiet && !self.acting {
                    self.decided = self.leading.clone();
                }
            }
        }
    }

    fn release(&mut self, now: u64, client: &mut Client, out: &mut Vec<ClientEffect>, notes: &mut Vec<RecipeNote>) {
        self.stop(notes);
        self.contending = false;
        self.watching = None;
        self.decided = None;
        if let Some(claim) = self.claim.take() {
            client.call(Request::Delete { path: claim, version: None }, out);
        }
        self.next_try_us = now.saturating_add(self.work_interval_us);
    }

    /// A listing of the claims: find its own, lead if it is the lowest, else watch the one
    /// just before it (`LockInternals.internalLockLoop`).
    fn children(
        &mut self,
        children: &[String],
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
        notes: &mut Vec<RecipeNote>,
    ) {
        if !self.contending {
            return;
        }
        let base = self.base();
        let prefix = self.prefix.clone().unwrap_or_default();
        let mut sorted: Vec<&String> = children.iter().collect();
        sorted.sort_by_key(|c| seq_of(c));
        // Its own znodes: a create whose answer was lost, retried after a listing from a
        // server that had not applied it yet, leaves two. It keeps the lowest and deletes
        // the others, which would otherwise stand before it, or behind it, for good.
        let (own, others): (Vec<&String>, Vec<&String>) = sorted.iter().partition(|c| c.starts_with(&prefix));
        if self.claim.is_none() {
            match own.first() {
                Some(c) => self.claim = Some(format!("{base}/{c}")),
                None => return self.create_claim(client, out),
            }
        }
        let claim = self.claim.clone().expect("just set");
        for extra in own.iter().filter(|c| !claim.ends_with(c.as_str())) {
            client.call(Request::Delete { path: format!("{base}/{extra}"), version: None }, out);
        }
        let mut sorted = others;
        if let Some(mine) = own.iter().find(|c| claim.ends_with(c.as_str())) {
            sorted.push(mine);
            sorted.sort_by_key(|c| seq_of(c));
        }
        let Some(at) =
            sorted.iter().position(|c| claim.ends_with(c.as_str()) && claim.len() == base.len() + 1 + c.len())
        else {
            // Its claim is gone with its session: the expiry is on its way.
            return self.stop(notes);
        };
        if at == 0 {
            self.watching = None;
            return self.lead(claim, client, out, notes);
        }
        self.stop(notes);
        let pred = format!("{base}/{}", sorted[at - 1]);
        self.watching = Some(pred.clone());
        client.call(Request::Exists { path: pred, watch: true }, out);
    }

    pub fn on_watch(&mut self, kind: EventType, path: &str, client: &mut Client, out: &mut Vec<ClientEffect>) {
        if path == CONFIG_PATH {
            match kind {
                EventType::NodeCreated | EventType::NodeDataChanged => Self::read_config(client, out),
                EventType::NodeDeleted => {
                    self.config_seen = None;
                    client.call(Request::Exists { path: CONFIG_PATH.into(), watch: true }, out);
                }
                EventType::NodeChildrenChanged => {}
            }
        }
        if kind == EventType::NodeDeleted && self.watching.as_deref() == Some(path) {
            self.watching = None;
            self.list(client, out);
        }
    }

    /// An answer.
    #[allow(clippy::too_many_arguments)]
    pub fn on_result(
        &mut self,
        now: u64,
        request: &Request,
        response: &Response,
        client: &mut Client,
        out: &mut Vec<ClientEffect>,
        notes: &mut Vec<RecipeNote>,
    ) {
        let lost = matches!(response, Response::Error { code: ErrorCode::ConnectionLoss });
        let expired = matches!(response, Response::Error { code: ErrorCode::SessionExpired });
        let base = self.base();
        let action = self.action_path();
        match (request, response) {
            // The service's configuration, as a reader.
            (Request::GetData { path, watch: true }, Response::GetData { data, .. }) if path == CONFIG_PATH => {
                self.config_seen = Some(data.clone());
            }
            (Request::GetData { path, watch: true }, Response::Error { code: ErrorCode::NoNode })
                if path == CONFIG_PATH =>
            {
                self.config_seen = None;
                client.call(Request::Exists { path: CONFIG_PATH.into(), watch: true }, out);
            }
            (Request::Exists { path, .. }, Response::Exists { stat: Some(_) }) if path == CONFIG_PATH => {
                Self::read_config(client, out);
            }
            (Request::Exists { path, .. }, Response::Exists { stat: None }) if path == CONFIG_PATH => {
                self.config_seen = None;
            }
            (Request::GetData { path, watch: true } | Request::Exists { path, watch: true }, _)
                if path == CONFIG_PATH && lost =>
            {
                client.call(request.clone(), out);
            }
            // The naive claim.
            (Request::Create { path, mode: CreateMode::Ephemeral, .. }, r) if path == CONFIG_PATH => match r {
                Response::Create { .. } => {
                    let session = client.session().unwrap_or(0);
                    self.lead(format!("{CONFIG_PATH}@{session:x}"), client, out, notes);
                }
                _ if lost => self.create_naive(client, out),
                _ => {} // NodeExists: someone leads (perhaps itself); ignored.
            },
            // The claims.
            (Request::Create { path, mode: CreateMode::EphemeralSequential, .. }, r) => match r {
                Response::Create { path: created } => {
                    let mine = self.prefix.as_ref().is_some_and(|p| created.starts_with(&format!("{base}/{p}")));
                    if mine && self.contending {
                        self.claim = Some(created.clone());
                        self.list(client, out);
                    } else if mine {
                        // Released meanwhile: not wanted any more.
                        client.call(Request::Delete { path: created.clone(), version: None }, out);
                    }
                }
                _ if lost => self.list(client, out), // Find out whether it was created.
                Response::Error { code: ErrorCode::NoNode } => self.create_claim(client, out),
                _ => {
                    let _ = path;
                }
            },
            (Request::GetChildren { path, .. }, r) if path == base => match r {
                Response::GetChildren { children, .. } => self.children(children, client, out, notes),
                Response::Error { code: ErrorCode::NoNode } if self.contending => self.create_claim(client, out),
                _ if lost => self.list(client, out),
                _ => {}
            },
            (Request::Exists { path, watch: true }, r) if self.watching.as_ref() == Some(path) => match r {
                Response::Exists { stat: None } => {
                    self.watching = None;
                    self.list(client, out);
                }
                _ if lost => {
                    client.call(request.clone(), out);
                }
                _ => {}
            },
            // The fencing token.
            (Request::GetData { path, watch: false }, r) if path == action => match r {
                Response::GetData { stat, .. } => {
                    if let Some(term) = self.leading.clone() {
                        self.token = Some((term.clone(), stat.version));
                        // An action outstanding keeps its own token: nothing more now.
                        if self.acting {
                            return;
                        }
                        if self.kind == RecipeKind::LockFenced {
                            self.decided = Some(term);
                        } else {
                            self.act(term, client, out);
                        }
                    }
                }
                Response::Error { code: ErrorCode::NoNode } => {
                    let create =
                        Request::Create { path: action.into(), data: String::new(), mode: CreateMode::Persistent };
                    client.call(create, out);
                }
                _ if lost && self.leading.is_some() => {
                    client.call(request.clone(), out);
                }
                _ => {}
            },
            // Created, or created meanwhile by another: read the token.
            (Request::Create { path, mode: CreateMode::Persistent, .. }, _)
                if path == action && self.leading.is_some() =>
            {
                client.call(Request::GetData { path: action.into(), watch: false }, out);
            }
            // The actions.
            (Request::SetData { path, data, .. }, r) if path == action => {
                let term = data.split(" #").next().unwrap_or_default().to_string();
                match r {
                    Response::SetData { stat } => {
                        self.acting = false;
                        // A late success of an older term's write says nothing about the
                        // current term's token.
                        if self.claim.as_ref() == Some(&term) {
                            self.token = Some((term.clone(), stat.version));
                        }
                        if self.kind == RecipeKind::LockFenced {
                            self.release(now, client, out, notes);
                        }
                    }
                    // Curator's RetryLoop.
                    _ if lost => {
                        client.call(request.clone(), out);
                    }
                    _ if expired => self.retry.push(request.clone()),
                    Response::Error { code: ErrorCode::BadVersion } => {
                        // Fenced off: someone else wrote. Lead on only if the listing says so.
                        self.acting = false;
                        self.token = None;
                        if self.kind == RecipeKind::LockFenced {
                            self.release(now, client, out, notes);
                        } else if self.leading.as_ref() == Some(&term) {
                            self.stop(notes);
                            self.list(client, out);
                        }
                    }
                    _ => self.acting = false,
                }
            }
            (Request::Delete { .. }, _) if lost => {
                client.call(request.clone(), out);
            }
            _ => {}
        }
    }
}

/// Convergence after faults stop: `instances[k]` is instance k's recipe and its client
/// (`None`: down); `readers` is what every other client last read of `/config`.
pub fn converged(
    kind: RecipeKind,
    tree: &DataTree,
    instances: &[(&RecipeInstance, Option<&Client>)],
    readers: &[Option<String>],
) -> Result<(), String> {
    let config = tree.get_data(CONFIG_PATH).ok().map(|(d, _)| d);
    for (k, (r, c)) in instances.iter().enumerate() {
        let Some(c) = c else { return Err(format!("instance {k} is down")) };
        if c.server().is_none() {
            return Err(format!("instance {k} is not connected"));
        }
        if r.config_seen != config {
            return Err(format!("instance {k} sees /config = {:?}, the tree holds {config:?}", r.config_seen));
        }
    }
    if let Some(seen) = readers.iter().find(|s| **s != config) {
        return Err(format!("a client sees /config = {seen:?}, the tree holds {config:?}"));
    }
    let owner_instance = |owner: u64| instances.iter().position(|(_, c)| c.and_then(|c| c.session()) == Some(owner));
    match kind {
        RecipeKind::LockFenced => {
            let (children, _) = tree.get_children(LOCK_PATH).unwrap_or_default();
            if let Some(c) = children.first() {
                return Err(format!("{LOCK_PATH}/{c} is still held or waiting"));
            }
            if let Some(k) = instances.iter().position(|(r, _)| r.leading.is_some() || r.acting) {
                return Err(format!("instance {k} still holds the lock"));
            }
        }
        RecipeKind::LeaderNaive => {
            let Some(st) = tree.stat(CONFIG_PATH) else { return Err("no /config: nobody leads".into()) };
            let Some(k) = owner_instance(st.ephemeral_owner) else {
                return Err(format!("/config is owned by session {:x}, no live instance's", st.ephemeral_owner));
            };
            let term = format!("{CONFIG_PATH}@{:x}", st.ephemeral_owner);
            if instances[k].0.leading.as_ref() != Some(&term) {
                return Err(format!("instance {k} holds /config but does not believe it leads"));
            }
        }
        RecipeKind::LeaderUnfenced | RecipeKind::LeaderFenced => {
            let (mut children, _) = tree.get_children(ELECTION_PATH).unwrap_or_default();
            children.sort_by_key(|c| seq_of(c));
            let Some(first) = children.first() else { return Err("no instance is in the election".into()) };
            let lowest = format!("{ELECTION_PATH}/{first}");
            let owner = tree.stat(&lowest).map_or(0, |s| s.ephemeral_owner);
            let Some(k) = owner_instance(owner) else {
                return Err(format!("{lowest} is owned by session {owner:x}, no live instance's"));
            };
            if instances[k].0.leading.as_ref() != Some(&lowest) {
                return Err(format!("instance {k} holds the lowest znode {lowest} but does not believe it leads"));
            }
            if !config.as_ref().is_some_and(|d| d.starts_with(&format!("{lowest} #"))) {
                return Err(format!("the leader {lowest} has not announced itself: /config is {config:?}"));
            }
            for (j, (r, _)) in instances.iter().enumerate() {
                if r.claim().is_none_or(|cl| tree.stat(cl).is_none()) {
                    return Err(format!("instance {j} has no znode in the election"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab::client::{ClientConfig, ClientEvent};

    /// A client with no session: every call comes straight back as a result, which shows
    /// the request the recipe made.
    fn idle_client() -> Client {
        Client::new(ClientConfig { id: 1, servers: vec![1], session_timeout_ms: 4000 })
    }

    fn requests(out: &[ClientEffect]) -> Vec<Request> {
        out.iter()
            .filter_map(|e| match e {
                ClientEffect::Event(ClientEvent::Result { request, .. }) => Some(request.clone()),
                _ => None,
            })
            .collect()
    }

    fn contender(kind: RecipeKind) -> RecipeInstance {
        let mut r = RecipeInstance::new(kind, 0, 200_000);
        r.prefix = Some("i0-s0-n_".into());
        r.contending = true;
        r
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Not the lowest: it watches only the znode just before its own (no herd effect).
    #[test]
    fn a_contender_watches_only_its_predecessor() {
        let (mut r, mut c, mut out, mut notes) = (contender(RecipeKind::LeaderFenced), idle_client(), vec![], vec![]);
        let children = names(&["i1-s7-n_0000000001", "i0-s0-n_0000000002", "i2-s5-n_0000000000"]);
        r.children(&children, &mut c, &mut out, &mut notes);
        let pred = "/election/i1-s7-n_0000000001".to_string();
        assert_eq!(requests(&out), vec![Request::Exists { path: pred, watch: true }]);
        assert_eq!(r.claim(), Some("/election/i0-s0-n_0000000002"), "found by its session's prefix");
        assert!(notes.is_empty() && r.leading.is_none());
    }

    /// The lowest leads, says so, and reads the fencing token.
    #[test]
    fn the_lowest_contender_leads_and_reads_the_token() {
        let (mut r, mut c, mut out, mut notes) = (contender(RecipeKind::LeaderFenced), idle_client(), vec![], vec![]);
        r.children(&names(&["i1-s7-n_0000000003", "i0-s0-n_0000000002"]), &mut c, &mut out, &mut notes);
        let term = "/election/i0-s0-n_0000000002".to_string();
        assert_eq!(notes, vec![RecipeNote::Believes { instance: 0, claim: term.clone() }]);
        assert_eq!(requests(&out), vec![Request::GetData { path: CONFIG_PATH.into(), watch: false }]);
        assert_eq!(r.leading, Some(term));
    }

    /// Two znodes of its own session (a create retried after a lost answer): it keeps the
    /// lowest and deletes the other, which would otherwise stand in its queue for good.
    #[test]
    fn a_duplicate_claim_of_its_own_is_deleted() {
        let (mut r, mut c, mut out, mut notes) = (contender(RecipeKind::LockFenced), idle_client(), vec![], vec![]);
        r.children(&names(&["i0-s0-n_0000000004", "i0-s0-n_0000000001"]), &mut c, &mut out, &mut notes);
        let reqs = requests(&out);
        assert_eq!(reqs[0], Request::Delete { path: "/lock/i0-s0-n_0000000004".into(), version: None });
        assert_eq!(r.claim(), Some("/lock/i0-s0-n_0000000001"));
        assert_eq!(r.leading.as_deref(), Some("/lock/i0-s0-n_0000000001"));
    }

    /// A fenced action carries its own term's token; an action decided in an older term
    /// and sent late does not take the newer term's, and goes unsent. Unfenced, it goes
    /// with version -1.
    #[test]
    fn a_fenced_action_carries_only_its_own_terms_token() {
        let (mut r, mut c, mut out) = (contender(RecipeKind::LeaderFenced), idle_client(), vec![]);
        r.token = Some(("/election/new".into(), 15));
        r.act("/election/old".into(), &mut c, &mut out);
        assert!(requests(&out).is_empty());
        r.act("/election/new".into(), &mut c, &mut out);
        let data = "/election/new #1".to_string();
        assert_eq!(requests(&out), vec![Request::SetData { path: CONFIG_PATH.into(), data, version: Some(15) }]);
        let (mut r, mut out) = (contender(RecipeKind::LeaderUnfenced), vec![]);
        r.act("/election/old".into(), &mut c, &mut out);
        let data = "/election/old #1".to_string();
        assert_eq!(requests(&out), vec![Request::SetData { path: CONFIG_PATH.into(), data, version: None }]);
    }

    /// Check, then act: an action decided while leading is sent at the next interval even
    /// if the leader stopped believing meanwhile (a disconnect); none is decided after.
    #[test]
    fn a_decided_action_outlives_a_disconnect() {
        let (mut r, mut c, mut out, mut notes) = (contender(RecipeKind::LeaderUnfenced), idle_client(), vec![], vec![]);
        r.leading = Some("/election/t".into());
        r.wake(0, false, &mut c, &mut out, &mut notes);
        assert!(requests(&out).is_empty(), "decided, not sent");
        r.on_disconnected(&mut notes);
        assert_eq!(notes, vec![RecipeNote::Stopped { instance: 0, claim: "/election/t".into() }]);
        r.wake(200_000, false, &mut c, &mut out, &mut notes);
        assert!(matches!(&requests(&out)[..], [Request::SetData { .. }]), "{out:?}");
        r.acting = false;
        r.wake(400_000, false, &mut c, &mut out, &mut notes);
        assert_eq!(requests(&out).len(), 1, "nothing decided once it stopped believing");
    }

    #[test]
    fn sequence_numbers_sort_claims_whatever_their_prefix() {
        let mut v = ["i2-s9-n_0000000010", "i0-s1-n_0000000002", "i1-s5-n_0000000003"];
        v.sort_by_key(|c| seq_of(c));
        assert_eq!(v, ["i0-s1-n_0000000002", "i1-s5-n_0000000003", "i2-s9-n_0000000010"]);
    }

    #[test]
    fn each_recipe_names_its_claims_and_action_paths() {
        assert_eq!(paths(RecipeKind::LeaderFenced), (ELECTION_PATH, false, CONFIG_PATH));
        assert_eq!(paths(RecipeKind::LockFenced), (LOCK_PATH, false, WORK_PATH));
        assert_eq!(paths(RecipeKind::LeaderNaive), (CONFIG_PATH, true, CONFIG_PATH));
    }
}
