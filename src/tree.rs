//! The replicated data tree: ZooKeeper's `DataTree` (apply committed txns in zxid order,
//! serve reads) and the validation half of `PrepRequestProcessor` (turn a client's write
//! into the txn the leader proposes).
//!
//! The split matters for replication: every decision (does the node exist, does the
//! version match, is the session alive, what is the sequential name) is taken once, by the
//! leader in [`DataTree::prep`], and written into the txn. [`DataTree::apply`] then takes
//! no decision at all, so every server that applies the same txns in the same order ends
//! with the same tree, and the [`DataTree::digest`] lets the checker compare trees cheaply.

use crate::api::{
    CreateMode, ErrorCode, EventType, Request, Response, SessionId, Stat, TreeTxn, WatchedEvent, CONFIG_NODE,
};
use crate::quorum::QuorumVerifier;
use crate::txn::{Op, Txn};
use crate::types::Zxid;
use std::collections::{BTreeMap, BTreeSet};

/// The root node.
pub const ROOT: &str = "/";

/// ZooKeeper's own subtree (`ZooDefs.ZOOKEEPER_NODE_SUBTREE`): present in every tree, and
/// never deletable by a client (`ZKDatabase.isSpecialPath`).
pub const ZOOKEEPER: &str = "/zookeeper";

/// One znode (`DataNode`): its data, its metadata, and its children's names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Znode {
    data: String,
    stat: Stat,
    /// Child names (the last path segment), not full paths, like `DataNode.children`.
    children: BTreeSet<String>,
}

/// A server's data tree (`DataTree`), with the session table it is replicated with
/// (`sessionsWithTimeouts`) and the ephemeral index (`ephemerals`).
///
/// Invariants kept by every change (see [`DataTree::check_consistency`]): every node but
/// the root has its parent, which lists it; `stat.num_children` is the number of children;
/// `ephemerals` lists exactly the nodes whose `ephemeral_owner` is not 0, and holds no
/// empty set; `digest` equals [`DataTree::recompute_digest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DataTree {
    /// Keyed by full path.
    nodes: BTreeMap<String, Znode>,
    /// Live sessions and their timeouts.
    sessions: BTreeMap<SessionId, u32>,
    /// The ephemeral nodes of each session, by full path.
    ephemerals: BTreeMap<SessionId, BTreeSet<String>>,
    /// Wrapping sum of [`node_hash`] over the nodes and [`session_hash`] over the sessions.
    digest: u64,
}

/// What applying one txn did: the answer owed to the client that sent it (if any), and
/// the watch events it fired, in the order ZooKeeper fires them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Applied {
    pub response: Option<Response>,
    pub events: Vec<WatchedEvent>,
}

impl Default for DataTree {
    fn default() -> DataTree {
        DataTree::new()
    }
}

impl DataTree {
    /// The tree every server starts from: "/" and "/zookeeper", both persistent with
    /// all-zero stats, as `DataTree`'s constructor builds them.
    pub fn new() -> DataTree {
        // Built once: servers build empty trees at every load, clear and SNAP.
        static EMPTY: std::sync::OnceLock<DataTree> = std::sync::OnceLock::new();
        EMPTY.get_or_init(DataTree::build_empty).clone()
    }

    fn build_empty() -> DataTree {
        let mut tree =
            DataTree { nodes: BTreeMap::new(), sessions: BTreeMap::new(), ephemerals: BTreeMap::new(), digest: 0 };
        tree.insert_node(ROOT, Znode::default());
        tree.insert_node(ZOOKEEPER, Znode::default());
        // Like `DataTree`'s constructor (`root.addChild("zookeeper")`): linking the
        // system node does not count as a child change, so cversion and pzxid stay 0.
        tree.update_node(ROOT, |root| {
            root.children.insert(child_name(ZOOKEEPER).to_string());
            root.stat.num_children = 1;
        });
        tree
    }

    /// The length of a snapshot file of this tree (`FileSnap.serialize`): file header (16),
    /// the session table (4 + 12 a session), the ACL cache (one ACL, 43), each node as
    /// path, data, ACL reference (8) and `StatPersisted` (60), the end marker (5), the
    /// digest (20), `lastProcessedZxid` (8) and the checksum (8). A deterministic model of
    /// the jute encoding: the leader compares log sizes against it.
    pub fn snapshot_size_bytes(&self) -> u64 {
        let nodes: u64 =
            self.nodes.iter().map(|(path, n)| 4 + path.len() as u64 + 4 + n.data.len() as u64 + 8 + 60).sum();
        16 + 4 + 12 * self.sessions.len() as u64 + 43 + nodes + 5 + 20 + 8 + 8
    }

    /// `DataTree.processTxn`: applies one committed txn, in zxid order.
    ///
    /// Idempotent, like ZooKeeper's replay over a fuzzy snapshot: a create of an existing
    /// path, a delete or setData of a missing path change nothing and fire nothing; they
    /// answer with the error `processTxn` would record (`NodeExists`, `NoNode`).
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let zxid = txn.zxid;
        match &txn.op {
            Op::Initial | Op::Write { .. } => Applied::default(),
            Op::CreateSession { timeout_ms, .. } => {
                self.insert_session(zxid.0, *timeout_ms);
                Applied::default()
            }
            Op::CloseSession(c) => self.close_session(c.session, &c.paths, zxid),
            Op::Tree(w) => self.apply_tree_txn(&w.txn, zxid),
            Op::Reconfig(r) => self.apply_reconfig(&r.config.with_version(zxid), zxid),
        }
    }

    /// A reconfig txn: a setData of `/zookeeper/config` with the new configuration. The
    /// model creates the node with the first reconfig (ZooKeeper writes it from each
    /// server's own config at startup, which would give joiners with partial configs
    /// different trees before they sync).
    fn apply_reconfig(&mut self, config: &QuorumVerifier, zxid: Zxid) -> Applied {
        let mut events = Vec::new();
        let data = config.to_string();
        let result = match self.nodes.get(CONFIG_NODE).map(|n| n.stat.version) {
            Some(version) => self.set_data(CONFIG_NODE, &data, version + 1, zxid, &mut events).map(|_| ()),
            None => {
                let cversion = self.nodes[ZOOKEEPER].stat.cversion + 1;
                self.create_node(CONFIG_NODE, &data, 0, cversion, zxid, &mut events)
            }
        };
        // Re-applying changes nothing (a replay); the answer is the same.
        let _ = result;
        Applied { response: Some(Response::Config { config: *config }), events }
    }

    fn apply_tree_txn(&mut self, txn: &TreeTxn, zxid: Zxid) -> Applied {
        let mut events = Vec::new();
        let response = match txn {
            TreeTxn::Create { path, data, ephemeral_owner, parent_cversion } => {
                match self.create_node(path, data, *ephemeral_owner, *parent_cversion, zxid, &mut events) {
                    Ok(()) => Response::Create { path: path.clone() },
                    Err(code) => Response::Error { code },
                }
            }
            TreeTxn::Delete { path } => match self.delete_node(path, zxid, &mut events) {
                Ok(()) => Response::Delete,
                Err(code) => Response::Error { code },
            },
            TreeTxn::SetData { path, data, version } => match self.set_data(path, data, *version, zxid, &mut events) {
                Ok(stat) => Response::SetData { stat },
                Err(code) => Response::Error { code },
            },
            TreeTxn::Error { code } => Response::Error { code: *code },
        };
        Applied { response: Some(response), events }
    }

    /// `DataTree.createNode`.
    fn create_node(
        &mut self,
        path: &str,
        data: &str,
        ephemeral_owner: SessionId,
        parent_cversion: i32,
        zxid: Zxid,
        events: &mut Vec<WatchedEvent>,
    ) -> Result<(), ErrorCode> {
        validate_path(path)?;
        let Some(parent_path) = parent(path) else {
            return Err(ErrorCode::NodeExists); // the root
        };
        if self.nodes.contains_key(path) {
            return Err(ErrorCode::NodeExists);
        }
        if !self.nodes.contains_key(parent_path) {
            return Err(ErrorCode::NoNode);
        }
        let name = child_name(path).to_string();
        self.update_node(parent_path, |p| {
            p.children.insert(name);
            p.stat.num_children = child_count(&p.children);
            // `createNode` only moves the parent's cversion forward (ZOOKEEPER-1046): a
            // prepped create always carries cversion + 1, so this is the normal case.
            if parent_cversion > p.stat.cversion {
                p.stat.cversion = parent_cversion;
                p.stat.pzxid = zxid;
            }
        });
        let stat =
            Stat { czxid: zxid, mzxid: zxid, pzxid: zxid, version: 0, cversion: 0, ephemeral_owner, num_children: 0 };
        self.insert_node(path, Znode { data: data.to_string(), stat, children: BTreeSet::new() });
        if ephemeral_owner != 0 {
            self.ephemerals.entry(ephemeral_owner).or_default().insert(path.to_string());
        }
        events.push(WatchedEvent { kind: EventType::NodeCreated, path: path.to_string(), zxid });
        events.push(WatchedEvent { kind: EventType::NodeChildrenChanged, path: parent_path.to_string(), zxid });
        Ok(())
    }

    /// `DataTree.deleteNode`. As in ZooKeeper 3.6+, the parent's pzxid moves forward but
    /// its cversion does not change: cversion counts creates only, which is what keeps
    /// sequential names unique (`PrepRequestProcessor` names them after it).
    fn delete_node(&mut self, path: &str, zxid: Zxid, events: &mut Vec<WatchedEvent>) -> Result<(), ErrorCode> {
        let Some(parent_path) = parent(path) else {
            return Err(ErrorCode::BadArguments); // the root, or not a path
        };
        let Some(node) = self.nodes.get(path) else {
            return Err(ErrorCode::NoNode);
        };
        // Prep refused a delete of a node with children; one can only get here through a
        // history no correct leader produced. Refusing keeps the tree free of orphans,
        // and the checker then sees the trees differ.
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        let owner = node.stat.ephemeral_owner;
        self.remove_node(path);
        let name = child_name(path);
        self.update_node(parent_path, |p| {
            p.children.remove(name);
            p.stat.num_children = child_count(&p.children);
            if zxid > p.stat.pzxid {
                p.stat.pzxid = zxid;
            }
        });
        if owner != 0 {
            if let Some(paths) = self.ephemerals.get_mut(&owner) {
                paths.remove(path);
                if paths.is_empty() {
                    self.ephemerals.remove(&owner);
                }
            }
        }
        events.push(WatchedEvent { kind: EventType::NodeDeleted, path: path.to_string(), zxid });
        events.push(WatchedEvent { kind: EventType::NodeChildrenChanged, path: parent_path.to_string(), zxid });
        Ok(())
    }

    /// `DataTree.setData`. The txn carries the new version (prep computed it), and a node
    /// whose mzxid is already this txn's zxid has it: re-applying changes and fires
    /// nothing.
    fn set_data(
        &mut self,
        path: &str,
        data: &str,
        version: i32,
        zxid: Zxid,
        events: &mut Vec<WatchedEvent>,
    ) -> Result<Stat, ErrorCode> {
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        // Already applied (a replay): a zxid changes a node's data at most once.
        if node.stat.mzxid == zxid {
            return Ok(node.stat);
        }
        self.update_node(path, |n| {
            n.data = data.to_string();
            n.stat.version = version;
            n.stat.mzxid = zxid;
        });
        events.push(WatchedEvent { kind: EventType::NodeDataChanged, path: path.to_string(), zxid });
        Ok(self.nodes[path].stat)
    }

    /// `DataTree.killSession`: deletes the paths the txn lists, then, like ZooKeeper, any
    /// ephemeral of the session this server knows and the txn did not list (ZooKeeper
    /// warns about those), so no ephemeral outlives its session.
    fn close_session(&mut self, session: SessionId, paths: &[String], zxid: Zxid) -> Applied {
        let mut events = Vec::new();
        self.remove_session(session);
        for path in paths {
            // A missing path was deleted already (a replay); ZooKeeper ignores it too.
            let _ = self.delete_node(path, zxid, &mut events);
        }
        // Only an ephemeral with children survives this (`delete_node` refuses it), and
        // only a history no correct leader produced makes one; the checker sees it as an
        // ephemeral whose session is gone.
        for path in self.session_ephemerals(session) {
            let _ = self.delete_node(&path, zxid, &mut events);
        }
        Applied { response: None, events }
    }

    /// `PrepRequestProcessor.pRequest2Txn` for one write of `session`, against this tree.
    /// The caller keeps a tree with every proposed-but-uncommitted txn applied (it stands
    /// for ZooKeeper's `outstandingChanges`), so a write is checked against every write
    /// ordered before it. A refused write becomes `TreeTxn::Error`, which still goes
    /// through Zab so that its answer is ordered with the session's other answers.
    ///
    /// Checks, in ZooKeeper's order: the session is alive (`SessionTracker.checkSession`,
    /// the first thing `pRequest2Txn` does for every write), then per operation as
    /// `pRequest2TxnCreate` and the delete and setData cases do.
    ///
    /// # Panics
    /// On a read or a sync: only writes are prepped.
    pub fn prep(&self, session: SessionId, request: &Request) -> TreeTxn {
        assert!(request.is_write(), "only writes are prepped, got {request:?}");
        let result = if !self.sessions.contains_key(&session) {
            Err(ErrorCode::SessionExpired)
        } else {
            match request {
                Request::Create { path, data, mode } => self.prep_create(session, path, data, *mode),
                Request::Delete { path, version } => self.prep_delete(path, *version),
                Request::SetData { path, data, version } => self.prep_set_data(path, data, *version),
                Request::GetData { .. }
                | Request::GetChildren { .. }
                | Request::Exists { .. }
                | Request::Sync { .. }
                | Request::GetConfig => {
                    unreachable!("is_write said no")
                }
                Request::Reconfig(_) => {
                    unreachable!("a reconfig is prepped by the leader, which knows who is synced")
                }
            }
        };
        result.unwrap_or_else(|code| TreeTxn::Error { code })
    }

    /// `pRequest2TxnCreate`: path, parent, sequential name, existence, ephemeral parent.
    fn prep_create(&self, session: SessionId, path: &str, data: &str, mode: CreateMode) -> Result<TreeTxn, ErrorCode> {
        // A sequential path is checked with its suffix to come (`PathUtils.validatePath(path,
        // isSequential)` checks path + "1"), so "/queue/" is a valid prefix: it names
        // children of "/queue" by number alone.
        if mode.is_sequential() {
            validate_path(&format!("{path}0"))?;
        } else {
            validate_path(path)?;
            if path == ROOT {
                return Err(ErrorCode::NodeExists);
            }
        }
        // Everything up to the last '/': a sequential "/" names children of the root.
        let parent_path = parent(path).unwrap_or(ROOT);
        let parent_node = self.nodes.get(parent_path).ok_or(ErrorCode::NoNode)?;
        let parent_cversion = parent_node.stat.cversion;
        let path = if mode.is_sequential() { format!("{path}{parent_cversion:010}") } else { path.to_string() };
        if self.nodes.contains_key(&path) {
            return Err(ErrorCode::NodeExists);
        }
        if parent_node.stat.ephemeral_owner != 0 {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let ephemeral_owner = if mode.is_ephemeral() { session } else { 0 };
        Ok(TreeTxn::Create { path, data: data.to_string(), ephemeral_owner, parent_cversion: parent_cversion + 1 })
    }

    /// The delete case of `pRequest2Txn` (`getParentPathAndValidate`, then the records).
    fn prep_delete(&self, path: &str, version: Option<i32>) -> Result<TreeTxn, ErrorCode> {
        validate_path(path)?;
        if is_special_path(path) {
            return Err(ErrorCode::BadArguments);
        }
        let parent_path = parent(path).expect("a valid path other than the root has a parent");
        if !self.nodes.contains_key(parent_path) {
            return Err(ErrorCode::NoNode);
        }
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        check_and_inc_version(node.stat.version, version)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        Ok(TreeTxn::Delete { path: path.to_string() })
    }

    /// The setData case of `pRequest2Txn`.
    fn prep_set_data(&self, path: &str, data: &str, version: Option<i32>) -> Result<TreeTxn, ErrorCode> {
        validate_path(path)?;
        let node = self.nodes.get(path).ok_or(ErrorCode::NoNode)?;
        let version = check_and_inc_version(node.stat.version, version)?;
        Ok(TreeTxn::SetData { path: path.to_string(), data: data.to_string(), version })
    }

    /// The ephemerals a closeSession of `session` deletes, sorted: what the leader lists
    /// in `Op::CloseSession` (`CloseSessionTxn.paths2Delete`).
    pub fn session_ephemerals(&self, session: SessionId) -> Vec<String> {
        self.ephemerals.get(&session).map(|paths| paths.iter().cloned().collect()).unwrap_or_default()
    }

    /// `getData`, served locally.
    pub fn get_data(&self, path: &str) -> Result<(String, Stat), ErrorCode> {
        self.nodes.get(path).map(|n| (n.data.clone(), n.stat)).ok_or(ErrorCode::NoNode)
    }

    /// `getChildren`, served locally: child names (not full paths), sorted.
    pub fn get_children(&self, path: &str) -> Result<(Vec<String>, Stat), ErrorCode> {
        self.nodes.get(path).map(|n| (n.children.iter().cloned().collect(), n.stat)).ok_or(ErrorCode::NoNode)
    }

    /// `exists`, served locally.
    pub fn exists(&self, path: &str) -> Option<Stat> {
        self.stat(path).copied()
    }

    pub fn stat(&self, path: &str) -> Option<&Stat> {
        self.nodes.get(path).map(|n| &n.stat)
    }

    /// Live sessions and their timeouts (`DataTree.getSessionWithTimeOuts`).
    pub fn sessions(&self) -> &BTreeMap<SessionId, u32> {
        &self.sessions
    }

    /// The ephemeral nodes of each session that has any.
    pub fn ephemerals(&self) -> &BTreeMap<SessionId, BTreeSet<String>> {
        &self.ephemerals
    }

    /// Nodes in the tree, "/" and "/zookeeper" included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The tree's digest, kept up to date on every change the way ZooKeeper 3.6+'s
    /// `DigestCalculator` keeps `DataTree.nodes`' digest (a sum of per-node hashes, so one
    /// change costs two hashes, not a walk of the tree). Covers the session table too, so
    /// two servers agree on the digest only if they agree on nodes and sessions.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest computed from scratch: equal to [`DataTree::digest`] unless an update
    /// was missed.
    pub fn recompute_digest(&self) -> u64 {
        let nodes = self.nodes.iter().fold(0u64, |acc, (path, node)| acc.wrapping_add(node_hash(path, node)));
        self.sessions.iter().fold(nodes, |acc, (id, timeout_ms)| acc.wrapping_add(session_hash(*id, *timeout_ms)))
    }

    /// Checks the tree's structural invariants (see [`DataTree`]); the first broken one
    /// is described in the error. For tests and for a checker's debug pass.
    pub fn check_consistency(&self) -> Result<(), String> {
        for (path, node) in &self.nodes {
            if node.stat.num_children != child_count(&node.children) {
                return Err(format!(
                    "{path}: num_children {} with {} children",
                    node.stat.num_children,
                    node.children.len()
                ));
            }
            for name in &node.children {
                let child = join(path, name);
                if !self.nodes.contains_key(&child) {
                    return Err(format!("{path} lists child {name}, which does not exist"));
                }
            }
            if let Some(parent_path) = parent(path) {
                let listed = self.nodes.get(parent_path).is_some_and(|p| p.children.contains(child_name(path)));
                if !listed {
                    return Err(format!("{path} is not listed by its parent {parent_path}"));
                }
            }
            let owner = node.stat.ephemeral_owner;
            if owner != 0 && !self.ephemerals.get(&owner).is_some_and(|paths| paths.contains(path)) {
                return Err(format!("ephemeral {path} of session {owner:#x} is not in the ephemeral index"));
            }
            if owner != 0 && !node.children.is_empty() {
                return Err(format!("ephemeral {path} has children"));
            }
        }
        for (owner, paths) in &self.ephemerals {
            if paths.is_empty() {
                return Err(format!("session {owner:#x} has an empty ephemeral set"));
            }
            for path in paths {
                if self.nodes.get(path).map(|n| n.stat.ephemeral_owner) != Some(*owner) {
                    return Err(format!("ephemeral index lists {path} for session {owner:#x}, the tree does not"));
                }
            }
        }
        let recomputed = self.recompute_digest();
        if self.digest != recomputed {
            return Err(format!("digest {:#x}, recomputed {recomputed:#x}", self.digest));
        }
        Ok(())
    }

    // The only four places `nodes` and `sessions` change: each keeps `digest` in step.

    fn insert_node(&mut self, path: &str, node: Znode) {
        self.digest = self.digest.wrapping_add(node_hash(path, &node));
        let previous = self.nodes.insert(path.to_string(), node);
        assert!(previous.is_none(), "node {path} inserted twice");
    }

    fn remove_node(&mut self, path: &str) -> Znode {
        let node = self.nodes.remove(path).unwrap_or_else(|| panic!("removing missing node {path}"));
        self.digest = self.digest.wrapping_sub(node_hash(path, &node));
        node
    }

    fn update_node(&mut self, path: &str, change: impl FnOnce(&mut Znode)) {
        let node = self.nodes.get_mut(path).unwrap_or_else(|| panic!("updating missing node {path}"));
        let before = node_hash(path, node);
        change(node);
        let after = node_hash(path, node);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
    }

    fn insert_session(&mut self, session: SessionId, timeout_ms: u32) {
        if let Some(previous) = self.sessions.insert(session, timeout_ms) {
            self.digest = self.digest.wrapping_sub(session_hash(session, previous));
        }
        self.digest = self.digest.wrapping_add(session_hash(session, timeout_ms));
    }

    fn remove_session(&mut self, session: SessionId) {
        if let Some(timeout_ms) = self.sessions.remove(&session) {
            self.digest = self.digest.wrapping_sub(session_hash(session, timeout_ms));
        }
    }
}

/// `PathUtils.validatePath`, simplified: an absolute path, no trailing '/' (except the
/// root), no empty, "." or ".." segment, no NUL character. ZooKeeper also refuses some
/// Unicode ranges; the model's paths never contain them.
pub fn validate_path(path: &str) -> Result<(), ErrorCode> {
    if path == ROOT {
        return Ok(());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(ErrorCode::BadArguments);
    };
    if path.contains('\0') || rest.split('/').any(|segment| matches!(segment, "" | "." | "..")) {
        return Err(ErrorCode::BadArguments);
    }
    Ok(())
}

/// The parent path: of "/a/b" is "/a", of "/a" is "/"; None for "/" (and for a string
/// with no '/', which is not a path).
pub fn parent(path: &str) -> Option<&str> {
    if path == ROOT {
        return None;
    }
    match path.rfind('/')? {
        0 => Some(ROOT),
        i => Some(&path[..i]),
    }
}

/// The last segment of a path: the name its parent lists it under.
fn child_name(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

fn join(parent_path: &str, name: &str) -> String {
    if parent_path == ROOT {
        format!("/{name}")
    } else {
        format!("{parent_path}/{name}")
    }
}

fn child_count(children: &BTreeSet<String>) -> u32 {
    u32::try_from(children.len()).expect("fewer than 2^32 children")
}

/// `ZKDatabase.isSpecialPath`: nodes the server owns, which no client may delete.
fn is_special_path(path: &str) -> bool {
    path == ROOT || path == ZOOKEEPER
}

/// `PrepRequestProcessor.checkAndIncVersion`: `expected` None is ZooKeeper's -1 (any
/// version). The next version skips -1 after wrapping (ZOOKEEPER-4743), since a client
/// could not ask for -1 specifically.
fn check_and_inc_version(current: i32, expected: Option<i32>) -> Result<i32, ErrorCode> {
    if expected.is_some_and(|v| v != current) {
        return Err(ErrorCode::BadVersion);
    }
    let next = current.wrapping_add(1);
    Ok(if next == -1 { 0 } else { next })
}

/// The hash of one node over its path, data and every stat field. Written out (FNV-1a 64
/// with a splitmix64 finalizer) rather than taken from std's `DefaultHasher`, whose
/// output may change between Rust releases: a digest is compared across runs and
/// machines.
fn node_hash(path: &str, node: &Znode) -> u64 {
    let s = &node.stat;
    let mut h = Fnv::new(b'n');
    h.field(path.as_bytes());
    h.field(node.data.as_bytes());
    h.u64(s.czxid.0);
    h.u64(s.mzxid.0);
    h.u64(s.pzxid.0);
    h.bytes(&s.version.to_le_bytes());
    h.bytes(&s.cversion.to_le_bytes());
    h.u64(s.ephemeral_owner);
    h.bytes(&s.num_children.to_le_bytes());
    h.finish()
}

/// The hash of one session-table entry; a different tag from nodes' keeps the two apart.
fn session_hash(session: SessionId, timeout_ms: u32) -> u64 {
    let mut h = Fnv::new(b's');
    h.u64(session);
    h.bytes(&timeout_ms.to_le_bytes());
    h.finish()
}

/// FNV-1a 64 over a byte stream.
struct Fnv(u64);

impl Fnv {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new(tag: u8) -> Fnv {
        let mut h = Fnv(Fnv::OFFSET_BASIS);
        h.bytes(&[tag]);
        h
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Fnv::PRIME);
        }
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// A variable-length field, length first, so ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, bytes: &[u8]) {
        self.u64(bytes.len() as u64);
        self.bytes(bytes);
    }

    /// splitmix64's finalizer: FNV's low bits mix poorly, and the digest is a sum.
    fn finish(self) -> u64 {
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn create(path: &str, mode: CreateMode) -> Request {
        Request::Create { path: path.to_string(), data: String::new(), mode }
    }

    fn delete(path: &str, version: Option<i32>) -> Request {
        Request::Delete { path: path.to_string(), version }
    }

    fn set_data(path: &str, data: &str, version: Option<i32>) -> Request {
        Request::SetData { path: path.to_string(), data: data.to_string(), version }
    }

    fn error(code: ErrorCode) -> TreeTxn {
        TreeTxn::Error { code }
    }

    fn event(kind: EventType, path: &str, zxid: Zxid) -> WatchedEvent {
        WatchedEvent { kind, path: path.to_string(), zxid }
    }

    /// A leader and its committed tree in one: preps each write against the tree, then
    /// applies the txn with the next zxid, checking the invariants after every step.
    struct Driver {
        tree: DataTree,
        counter: u64,
        /// Every txn committed, in order.
        log: Vec<Txn>,
    }

    impl Driver {
        fn new() -> Driver {
            Driver { tree: DataTree::new(), counter: 0, log: Vec::new() }
        }

        fn next_zxid(&self) -> Zxid {
            Zxid::new(1, self.counter + 1)
        }

        fn commit(&mut self, op: Op) -> Applied {
            self.counter += 1;
            let txn = Txn { zxid: Zxid::new(1, self.counter), op };
            let applied = self.tree.apply(&txn);
            self.log.push(txn);
            self.tree.check_consistency().unwrap();
            assert_eq!(self.tree.digest(), self.tree.recompute_digest());
            applied
        }

        fn open_session(&mut self) -> SessionId {
            let session = self.next_zxid().0;
            self.commit(Op::CreateSession { client: 7, timeout_ms: 4000 });
            session
        }

        fn close_session(&mut self, session: SessionId) -> Applied {
            let paths = self.tree.session_ephemerals(session);
            self.commit(Op::close_session(session, paths))
        }

        fn write(&mut self, session: SessionId, request: Request) -> (TreeTxn, Applied) {
            let txn = self.tree.prep(session, &request);
            let applied = self.commit(Op::tree(session, 1, txn.clone()));
            (txn, applied)
        }

        /// A create that must succeed; returns the path created.
        fn create(&mut self, session: SessionId, path: &str, mode: CreateMode) -> String {
            match self.write(session, create(path, mode)).1.response {
                Some(Response::Create { path }) => path,
                other => panic!("create {path} answered {other:?}"),
            }
        }
    }

    #[test]
    fn a_new_tree_holds_the_root_and_the_zookeeper_node() {
        let tree = DataTree::new();
        assert_eq!(tree.node_count(), 2);
        assert_eq!(tree.get_children(ROOT).unwrap().0, vec!["zookeeper".to_string()]);
        assert_eq!(tree.exists(ROOT).unwrap().num_children, 1);
        assert_eq!(tree.exists(ZOOKEEPER), Some(Stat::default()));
        assert!(tree.sessions().is_empty() && tree.ephemerals().is_empty());
        tree.check_consistency().unwrap();
        assert_eq!(DataTree::default(), tree);
    }

    #[test]
    fn validate_path_accepts_absolute_paths_and_the_root() {
        for path in ["/", "/a", "/a/b", "/zookeeper", "/a.b/..c/c..", "/a b"] {
            assert_eq!(validate_path(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn validate_path_refuses_relative_trailing_empty_dot_and_nul() {
        for path in ["", "a", "a/b", "/a/", "//", "/a//b", "/.", "/a/./b", "/..", "/a/..", "/a\0b"] {
            assert_eq!(validate_path(path), Err(ErrorCode::BadArguments), "{path:?}");
        }
    }

    #[test]
    fn parent_strips_the_last_segment() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(child_name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn prep_refuses_an_unknown_session_before_anything_else() {
        let tree = DataTree::new();
        // ZooKeeper checks the session first (`checkSession` opens every write case), so
        // even a malformed path from a dead session is SessionExpired.
        for request in [create("/a", CreateMode::Persistent), create("bad", CreateMode::Persistent), delete("/", None)]
        {
            assert_eq!(tree.prep(42, &request), error(ErrorCode::SessionExpired), "{request:?}");
        }
    }

    #[test]
    fn prep_refuses_malformed_paths_with_bad_arguments() {
        let mut d = Driver::new();
        let s = d.open_session();
        for request in [
            create("a", CreateMode::Persistent),
            create("/a/", CreateMode::Persistent),
            create("/a//", CreateMode::PersistentSequential),
            delete("/a/../b", None),
            set_data("", "x", None),
        ] {
            assert_eq!(d.tree.prep(s, &request), error(ErrorCode::BadArguments), "{request:?}");
        }
    }

    #[test]
    fn prep_refuses_deleting_the_root_or_the_zookeeper_node() {
        let mut d = Driver::new();
        let s = d.open_session();
        assert_eq!(d.tree.prep(s, &delete("/", None)), error(ErrorCode::BadArguments));
        assert_eq!(d.tree.prep(s, &delete("/zookeeper", None)), error(ErrorCode::BadArguments));
    }

    #[test]
    fn prep_create_refuses_a_missing_parent_with_no_node() {
        let mut d = Driver::new();
        let s = d.open_session();
        assert_eq!(d.tree.prep(s, &create("/a/b", CreateMode::Persistent)), error(ErrorCode::NoNode));
        assert_eq!(d.tree.prep(s, &create("/a/b", CreateMode::EphemeralSequential)), error(ErrorCode::NoNode));
    }

    #[test]
    fn prep_create_refuses_an_existing_node_with_node_exists() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/a", CreateMode::Persistent);
        assert_eq!(d.tree.prep(s, &create("/a", CreateMode::Ephemeral)), error(ErrorCode::NodeExists));
        assert_eq!(d.tree.prep(s, &create("/", CreateMode::Persistent)), error(ErrorCode::NodeExists));
        assert_eq!(d.tree.prep(s, &create("/zookeeper", CreateMode::Persistent)), error(ErrorCode::NodeExists));
    }

    #[test]
    fn prep_create_refuses_children_of_an_ephemeral() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/e", CreateMode::Ephemeral);
        for mode in [CreateMode::Persistent, CreateMode::Ephemeral, CreateMode::PersistentSequential] {
            assert_eq!(d.tree.prep(s, &create("/e/c", mode)), error(ErrorCode::NoChildrenForEphemerals));
        }
    }

    #[test]
    fn prep_create_carries_the_owner_and_the_next_parent_cversion() {
        let mut d = Driver::new();
        let s = d.open_session();
        let expected =
            TreeTxn::Create { path: "/e".to_string(), data: "d".to_string(), ephemeral_owner: s, parent_cversion: 1 };
        let request = Request::Create { path: "/e".to_string(), data: "d".to_string(), mode: CreateMode::Ephemeral };
        assert_eq!(d.tree.prep(s, &request), expected);
        match d.tree.prep(s, &create("/p", CreateMode::Persistent)) {
            TreeTxn::Create { ephemeral_owner: 0, .. } => {}
            other => panic!("persistent create prepped as {other:?}"),
        }
    }

    #[test]
    fn prep_delete_refuses_missing_node_bad_version_and_children() {
        let mut d = Driver::new();
        let s = d.open_session();
        assert_eq!(d.tree.prep(s, &delete("/a", None)), error(ErrorCode::NoNode));
        assert_eq!(d.tree.prep(s, &delete("/a/b", None)), error(ErrorCode::NoNode));
        d.create(s, "/a", CreateMode::Persistent);
        d.create(s, "/a/b", CreateMode::Persistent);
        assert_eq!(d.tree.prep(s, &delete("/a", None)), error(ErrorCode::NotEmpty));
        assert_eq!(d.tree.prep(s, &delete("/a/b", Some(1))), error(ErrorCode::BadVersion));
        // The version is checked before the children, as in ZooKeeper.
        assert_eq!(d.tree.prep(s, &delete("/a", Some(3))), error(ErrorCode::BadVersion));
        assert_eq!(d.tree.prep(s, &delete("/a/b", Some(0))), TreeTxn::Delete { path: "/a/b".to_string() });
        assert_eq!(d.tree.prep(s, &delete("/a/b", None)), TreeTxn::Delete { path: "/a/b".to_string() });
    }

    #[test]
    fn prep_set_data_refuses_missing_node_and_bad_version_and_increments_the_version() {
        let mut d = Driver::new();
        let s = d.open_session();
        assert_eq!(d.tree.prep(s, &set_data("/a", "x", None)), error(ErrorCode::NoNode));
        d.create(s, "/a", CreateMode::Persistent);
        assert_eq!(d.tree.prep(s, &set_data("/a", "x", Some(1))), error(ErrorCode::BadVersion));
        let expected = TreeTxn::SetData { path: "/a".to_string(), data: "x".to_string(), version: 1 };
        assert_eq!(d.tree.prep(s, &set_data("/a", "x", Some(0))), expected);
        d.write(s, set_data("/a", "x", None));
        let expected = TreeTxn::SetData { path: "/a".to_string(), data: "y".to_string(), version: 2 };
        assert_eq!(d.tree.prep(s, &set_data("/a", "y", Some(1))), expected);
        // The root's data may be set; only its deletion is refused.
        assert!(matches!(d.tree.prep(s, &set_data("/", "r", None)), TreeTxn::SetData { version: 1, .. }));
    }

    #[test]
    fn version_after_wrapping_skips_minus_one() {
        assert_eq!(check_and_inc_version(i32::MAX, None), Ok(i32::MIN));
        assert_eq!(check_and_inc_version(-2, Some(-2)), Ok(0));
        assert_eq!(check_and_inc_version(5, Some(4)), Err(ErrorCode::BadVersion));
    }

    #[test]
    #[should_panic(expected = "only writes are prepped")]
    fn prep_panics_on_a_read() {
        DataTree::new().prep(1, &Request::GetData { path: "/".to_string(), watch: false });
    }

    #[test]
    #[should_panic(expected = "only writes are prepped")]
    fn prep_panics_on_a_sync() {
        DataTree::new().prep(1, &Request::Sync { path: "/".to_string() });
    }

    #[test]
    fn sequential_creates_are_named_after_the_parent_cversion() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/q", CreateMode::Persistent);
        assert_eq!(d.create(s, "/q/n-", CreateMode::PersistentSequential), "/q/n-0000000000");
        assert_eq!(d.create(s, "/q/n-", CreateMode::EphemeralSequential), "/q/n-0000000001");
        d.create(s, "/q/plain", CreateMode::Persistent);
        assert_eq!(d.create(s, "/q/m-", CreateMode::PersistentSequential), "/q/m-0000000003");
        assert_eq!(d.tree.stat("/q").unwrap().cversion, 4);
    }

    #[test]
    fn sequential_names_are_never_reused_after_deletes() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/q", CreateMode::Persistent);
        let first = d.create(s, "/q/n-", CreateMode::PersistentSequential);
        d.write(s, delete(&first, None));
        // ZooKeeper 3.6+ `deleteNode` moves pzxid but not cversion: cversion counts the
        // creates, which alone make sequence numbers unique.
        assert_eq!(d.tree.stat("/q").unwrap().cversion, 1);
        assert_eq!(d.create(s, "/q/n-", CreateMode::PersistentSequential), "/q/n-0000000001");
    }

    #[test]
    fn a_sequential_prefix_may_end_in_a_slash() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/q", CreateMode::Persistent);
        assert_eq!(d.create(s, "/q/", CreateMode::PersistentSequential), "/q/0000000000");
        // The root's cversion is still 0: linking "/zookeeper" was not a create.
        assert_eq!(d.create(s, "/", CreateMode::PersistentSequential), "/0000000001");
    }

    #[test]
    fn apply_create_sets_the_stats_and_fires_created_then_children_changed() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/a", CreateMode::Persistent);
        let zxid = d.next_zxid();
        let (_, applied) = d.write(
            s,
            Request::Create { path: "/a/e".to_string(), data: "hi".to_string(), mode: CreateMode::Ephemeral },
        );
        assert_eq!(applied.response, Some(Response::Create { path: "/a/e".to_string() }));
        assert_eq!(
            applied.events,
            vec![event(EventType::NodeCreated, "/a/e", zxid), event(EventType::NodeChildrenChanged, "/a", zxid)]
        );
        let (data, stat) = d.tree.get_data("/a/e").unwrap();
        assert_eq!(data, "hi");
        let expected = Stat {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            version: 0,
            cversion: 0,
            ephemeral_owner: s,
            num_children: 0,
        };
        assert_eq!(stat, expected);
        let parent = d.tree.exists("/a").unwrap();
        assert_eq!((parent.cversion, parent.pzxid, parent.num_children), (1, zxid, 1));
        assert_eq!(d.tree.ephemerals()[&s], BTreeSet::from(["/a/e".to_string()]));
    }

    #[test]
    fn apply_delete_moves_the_parent_pzxid_and_fires_deleted_then_children_changed() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/a", CreateMode::Persistent);
        d.create(s, "/a/e", CreateMode::Ephemeral);
        let zxid = d.next_zxid();
        let (_, applied) = d.write(s, delete("/a/e", Some(0)));
        assert_eq!(applied.response, Some(Response::Delete));
        assert_eq!(
            applied.events,
            vec![event(EventType::NodeDeleted, "/a/e", zxid), event(EventType::NodeChildrenChanged, "/a", zxid)]
        );
        let parent = d.tree.exists("/a").unwrap();
        assert_eq!((parent.cversion, parent.pzxid, parent.num_children), (1, zxid, 0));
        assert_eq!(d.tree.exists("/a/e"), None);
        assert!(d.tree.ephemerals().is_empty(), "an emptied ephemeral set is dropped");
    }

    #[test]
    fn apply_set_data_sets_data_version_and_mzxid_and_fires_data_changed() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/a", CreateMode::Persistent);
        let czxid = d.tree.stat("/a").unwrap().czxid;
        let zxid = d.next_zxid();
        let (_, applied) = d.write(s, set_data("/a", "new", Some(0)));
        let stat = d.tree.exists("/a").unwrap();
        assert_eq!(applied.response, Some(Response::SetData { stat }));
        assert_eq!(applied.events, vec![event(EventType::NodeDataChanged, "/a", zxid)]);
        assert_eq!((stat.version, stat.mzxid, stat.czxid, stat.pzxid), (1, zxid, czxid, czxid));
        assert_eq!(d.tree.get_data("/a").unwrap().0, "new");
    }

    #[test]
    fn apply_of_an_error_txn_answers_the_error_and_changes_nothing() {
        let mut d = Driver::new();
        let s = d.open_session();
        let before = d.tree.clone();
        let (txn, applied) = d.write(s, delete("/missing", None));
        assert_eq!(txn, error(ErrorCode::NoNode));
        assert_eq!(applied, Applied { response: Some(Response::Error { code: ErrorCode::NoNode }), events: vec![] });
        assert_eq!(d.tree, before);
    }

    #[test]
    fn apply_of_initial_and_write_ops_changes_nothing() {
        let mut d = Driver::new();
        let before = d.tree.clone();
        assert_eq!(d.commit(Op::Initial), Applied::default());
        assert_eq!(d.commit(Op::Write { client: 1, seq: 2 }), Applied::default());
        assert_eq!(d.tree, before);
    }

    #[test]
    fn create_session_records_the_timeout_under_the_txn_zxid() {
        let mut d = Driver::new();
        let zxid = d.next_zxid();
        let applied = d.commit(Op::CreateSession { client: 3, timeout_ms: 6000 });
        assert_eq!(applied, Applied::default());
        assert_eq!(d.tree.sessions(), &BTreeMap::from([(zxid.0, 6000)]));
    }

    #[test]
    fn reapplying_any_txn_changes_nothing() {
        let mut d = Driver::new();
        let s = d.open_session();
        let other = d.open_session();
        d.create(s, "/a", CreateMode::Persistent);
        d.create(other, "/a/e", CreateMode::Ephemeral);
        d.create(s, "/a/b", CreateMode::Persistent);
        d.create(s, "/a/q-", CreateMode::EphemeralSequential);
        d.write(s, set_data("/a/b", "x", None));
        d.write(s, delete("/a/b", None));
        d.write(s, delete("/a/b", None)); // refused: an error txn
        d.close_session(other);
        d.close_session(s);

        let mut tree = DataTree::new();
        for txn in &d.log {
            tree.apply(txn);
            let once = tree.clone();
            let again = tree.apply(txn);
            assert_eq!(tree, once, "re-applying {txn:?} changed the tree");
            assert_eq!(tree.digest(), once.digest());
            assert_eq!(again.events, vec![], "re-applying {txn:?} fired events");
        }
        assert_eq!(tree, d.tree);
    }

    #[test]
    fn close_session_deletes_exactly_its_ephemerals_and_the_session() {
        let mut d = Driver::new();
        let s = d.open_session();
        let other = d.open_session();
        d.create(s, "/a", CreateMode::Persistent);
        d.create(s, "/a/mine", CreateMode::Ephemeral);
        let seq = d.create(s, "/mine-", CreateMode::EphemeralSequential);
        d.create(other, "/a/theirs", CreateMode::Ephemeral);
        d.create(s, "/a/persistent", CreateMode::Persistent);
        assert_eq!(d.tree.session_ephemerals(s), vec!["/a/mine".to_string(), seq.clone()]);

        let zxid = d.next_zxid();
        let applied = d.close_session(s);
        assert_eq!(applied.response, None);
        assert_eq!(
            applied.events,
            vec![
                event(EventType::NodeDeleted, "/a/mine", zxid),
                event(EventType::NodeChildrenChanged, "/a", zxid),
                event(EventType::NodeDeleted, &seq, zxid),
                event(EventType::NodeChildrenChanged, "/", zxid),
            ]
        );
        assert_eq!(d.tree.get_children("/a").unwrap().0, vec!["persistent".to_string(), "theirs".to_string()]);
        assert!(!d.tree.sessions().contains_key(&s));
        assert!(d.tree.sessions().contains_key(&other));
        assert_eq!(d.tree.ephemerals().keys().copied().collect::<Vec<_>>(), vec![other]);
        // The closed session can no longer write.
        assert_eq!(d.tree.prep(s, &create("/b", CreateMode::Persistent)), error(ErrorCode::SessionExpired));
    }

    #[test]
    fn close_session_also_deletes_ephemerals_the_txn_did_not_list() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/e1", CreateMode::Ephemeral);
        d.create(s, "/e2", CreateMode::Ephemeral);
        let applied = d.commit(Op::close_session(s, vec!["/e2".to_string(), "/gone".to_string()]));
        let deleted: Vec<&str> =
            applied.events.iter().filter(|e| e.kind == EventType::NodeDeleted).map(|e| e.path.as_str()).collect();
        assert_eq!(deleted, vec!["/e2", "/e1"]);
        assert!(d.tree.ephemerals().is_empty());
        assert_eq!(d.tree.node_count(), 2);
    }

    #[test]
    fn closing_an_unknown_session_changes_nothing() {
        let mut d = Driver::new();
        let before = d.tree.clone();
        assert_eq!(d.close_session(99), Applied::default());
        assert_eq!(d.tree, before);
    }

    #[test]
    fn reads_return_data_sorted_child_names_and_no_node() {
        let mut d = Driver::new();
        let s = d.open_session();
        d.create(s, "/p", CreateMode::Persistent);
        for name in ["c", "a", "b"] {
            d.create(s, &format!("/p/{name}"), CreateMode::Persistent);
        }
        let (children, stat) = d.tree.get_children("/p").unwrap();
        assert_eq!(children, vec!["a", "b", "c"]);
        assert_eq!(stat.num_children, 3);
        assert_eq!(d.tree.get_data("/p/a").unwrap().0, "");
        assert_eq!(d.tree.get_data("/nope"), Err(ErrorCode::NoNode));
        assert_eq!(d.tree.get_children("/nope"), Err(ErrorCode::NoNode));
        assert_eq!(d.tree.exists("/nope"), None);
        assert_eq!(d.tree.stat("/p").map(|s| s.cversion), Some(3));
        assert_eq!(d.tree.node_count(), 6);
    }

    #[test]
    fn digest_of_a_new_tree_is_pinned() {
        // A change here changes every recorded digest: the hash must not depend on the
        // platform, the build profile or the Rust release.
        assert_eq!(DataTree::new().digest(), 0x9b40_2ec0_6bfe_a220, "{:#x}", DataTree::new().digest());
    }

    #[test]
    fn hash_primitives_match_their_published_test_vectors() {
        // FNV-1a 64 of "a" (the FNV reference test suite).
        let mut fnv = Fnv(Fnv::OFFSET_BASIS);
        fnv.bytes(b"a");
        assert_eq!(fnv.0, 0xaf63_dc4c_8601_ec8c);
        // splitmix64's first output from seed 0 (Vigna's reference implementation).
        assert_eq!(Fnv(0).finish(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn digest_differs_for_one_data_byte() {
        let mut a = Driver::new();
        let s = a.open_session();
        a.create(s, "/n", CreateMode::Persistent);
        let mut b = a.tree.clone();
        let zxid = a.next_zxid();
        a.commit(Op::tree(s, 0, TreeTxn::SetData { path: "/n".into(), data: "ab".into(), version: 1 }));
        let txn = TreeTxn::SetData { path: "/n".into(), data: "ac".into(), version: 1 };
        b.apply(&Txn { zxid, op: Op::tree(s, 0, txn) });
        assert_ne!(a.tree.digest(), b.digest());
        assert_eq!(b.digest(), b.recompute_digest());
    }

    #[test]
    fn digest_differs_for_one_version() {
        let mut a = Driver::new();
        let s = a.open_session();
        a.create(s, "/n", CreateMode::Persistent);
        let mut b = a.tree.clone();
        let zxid = a.next_zxid();
        a.commit(Op::tree(s, 0, TreeTxn::SetData { path: "/n".into(), data: "x".into(), version: 1 }));
        let txn = TreeTxn::SetData { path: "/n".into(), data: "x".into(), version: 2 };
        b.apply(&Txn { zxid, op: Op::tree(s, 0, txn) });
        assert_ne!(a.tree.digest(), b.digest());
    }

    #[test]
    fn digest_covers_the_session_table() {
        let mut a = DataTree::new();
        let mut b = DataTree::new();
        a.apply(&Txn { zxid: Zxid::new(1, 1), op: Op::CreateSession { client: 0, timeout_ms: 4000 } });
        b.apply(&Txn { zxid: Zxid::new(1, 1), op: Op::CreateSession { client: 0, timeout_ms: 4001 } });
        assert_ne!(a.digest(), b.digest());
        assert_ne!(a.digest(), DataTree::new().digest());
        a.apply(&Txn { zxid: Zxid::new(1, 2), op: Op::close_session(Zxid::new(1, 1).0, vec![]) });
        assert_eq!(a.digest(), DataTree::new().digest());
    }

    #[test]
    fn digest_separates_path_from_data() {
        let node = Znode::default();
        let moved = Znode { data: "b".to_string(), ..Znode::default() };
        assert_ne!(node_hash("/ab", &node), node_hash("/a", &moved));
    }

    /// One generated step of the property test: a client request or a session change.
    #[derive(Clone, Debug, Hash)]
    enum Step {
        OpenSession(u32),
        /// Closes the k-th session ever opened (closed ones and the never-opened one too).
        CloseSession(usize),
        /// A live session (k < 7, when there is one) or the k-th session ever opened sends
        /// the request; with `Some(i)`, on the i-th node the tree
        /// holds instead of the generated path, so deletes and setData find sequential
        /// and deep nodes too.
        Write(usize, Request, Option<usize>),
    }

    fn path_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..=3)
                .prop_map(|segments| format!("/{}", segments.join("/"))),
            1 => Just("/".to_string()),
            1 => Just("/zookeeper".to_string()),
            1 => Just("/a/".to_string()),
        ]
    }

    fn request_strategy() -> impl Strategy<Value = Request> {
        let mode = prop_oneof![
            Just(CreateMode::Persistent),
            Just(CreateMode::Ephemeral),
            Just(CreateMode::PersistentSequential),
            Just(CreateMode::EphemeralSequential),
        ];
        let version = proptest::option::of(0..3i32);
        prop_oneof![
            4 => (path_strategy(), mode, "[xy]{0,2}").prop_map(|(path, mode, data)| Request::Create { path, data, mode }),
            2 => (path_strategy(), version.clone()).prop_map(|(path, version)| Request::Delete { path, version }),
            2 => (path_strategy(), "[xy]{0,2}", version)
                .prop_map(|(path, data, version)| Request::SetData { path, data, version }),
        ]
    }

    fn step_strategy() -> impl Strategy<Value = Step> {
        prop_oneof![
            2 => (1000..5000u32).prop_map(Step::OpenSession),
            1 => (0..8usize).prop_map(Step::CloseSession),
            16 => (0..8usize, request_strategy(), proptest::option::weighted(0.4, 0..64usize))
                .prop_map(|(k, r, existing)| Step::Write(k, r, existing)),
        ]
    }

    fn on_path(request: Request, path: String) -> Request {
        match request {
            Request::Create { data, mode, .. } => Request::Create { path, data, mode },
            Request::Delete { version, .. } => Request::Delete { path, version },
            Request::SetData { data, version, .. } => Request::SetData { path, data, version },
            read => read,
        }
    }

    /// The invariants the property test checks after every txn.
    fn assert_invariants(tree: &DataTree) {
        tree.check_consistency().unwrap();
        assert_eq!(tree.digest(), tree.recompute_digest());
        for (path, node) in &tree.nodes {
            assert_eq!(node.stat.num_children as usize, node.children.len(), "{path}");
            let owner = node.stat.ephemeral_owner;
            assert!(owner == 0 || tree.sessions.contains_key(&owner), "{path} outlives its session {owner:#x}");
        }
    }

    /// Fixed cases, as in the rest of the suite, unless `PROPTEST_RNG_SEED` names a seed.
    fn suite_config(cases: u32) -> ProptestConfig {
        let mut config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
        if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
            config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x7a61_6273_696d);
        }
        config
    }

    proptest! {
        #![proptest_config(suite_config(256))]

        /// Prepped writes from a few sessions, applied in order to one tree and applied
        /// twice each to another: both keep their invariants and end equal.
        #[test]
        fn prepped_txns_keep_the_tree_consistent_and_replay_idempotently(
            steps in proptest::collection::vec(step_strategy(), 1..80)
        ) {
            let mut tree = DataTree::new();
            let mut twice = DataTree::new();
            // Two sessions open from the start; ids of every session opened (closed ones
            // stay, to try them) and, last, one that never existed.
            let mut session_ids: Vec<SessionId> = Vec::new();
            for counter in 1..=2 {
                let txn = Txn { zxid: Zxid::new(1, counter), op: Op::CreateSession { client: 0, timeout_ms: 4000 } };
                tree.apply(&txn);
                twice.apply(&txn);
                session_ids.push(txn.zxid.0);
            }
            session_ids.push(0xdead);
            for (i, step) in steps.into_iter().enumerate() {
                let zxid = Zxid::new(1, i as u64 + 3);
                let pick = |k: usize| session_ids[k % session_ids.len()];
                let op = match step {
                    Step::OpenSession(timeout_ms) => {
                        session_ids.push(zxid.0);
                        Op::CreateSession { client: 0, timeout_ms }
                    }
                    Step::CloseSession(k) => {
                        let session = pick(k);
                        Op::close_session(session, tree.session_ephemerals(session))
                    }
                    Step::Write(k, request, existing) => {
                        let live: Vec<SessionId> = tree.sessions().keys().copied().collect();
                        let session = if k < 7 && !live.is_empty() { live[k % live.len()] } else { pick(k) };
                        let request = match existing {
                            Some(n) => on_path(request, tree.nodes.keys().nth(n % tree.node_count()).unwrap().clone()),
                            None => request,
                        };
                        Op::tree(session, i as u64, tree.prep(session, &request))
                    }
                };
                let txn = Txn { zxid, op };
                let applied = tree.apply(&txn);
                // A txn prep accepted applies cleanly on every server.
                if let Op::Tree(w) = &txn.op {
                    let tree_txn = &w.txn;
                    let refused = matches!(tree_txn, TreeTxn::Error { .. });
                    let failed = matches!(applied.response, Some(Response::Error { .. }));
                    prop_assert_eq!(refused, failed, "{:?} answered {:?}", txn, applied.response);
                }
                twice.apply(&txn);
                twice.apply(&txn);
                assert_invariants(&tree);
                assert_invariants(&twice);
                prop_assert_eq!(tree.digest(), twice.digest());
                prop_assert_eq!(&tree, &twice);
            }
        }
    }
}
