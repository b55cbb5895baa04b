//! What every role of a server shares ([`Core`]): the parts of ZooKeeper's `QuorumPeer`
//! and `ZooKeeperServer` that outlive a change of role (config, disk, `ZKDatabase`, client
//! connections, configurations), and the helpers every role writes through. It knows no
//! role: the roles ([`crate::leader`], [`crate::follower`]) and [`crate::node::Node`]'s
//! dispatch build on it.

use crate::api::{Request, Response, SessionId, Xid};
use crate::contract::{ClientReply, Effect, NodeConfig, Observation, Outbox, WatchSet};
use crate::durable::{DiskFile, DiskWrite, DurableState, Op, StartupError, Txn};
use crate::message::Message;
use crate::quorum::Quorums;
use crate::session::ClientConns;
use crate::tree::DataTree;
use crate::types::{Sid, Zxid};
use crate::variant::Variant;
use crate::zkdb::{Loaded, ZkDatabase};
use std::collections::BTreeSet;

/// What every role of a server shares: its config, its view of its disk (durable image
/// plus the writes it issued since), its in-memory database, and the client writes it owes
/// an answer.
#[derive(Clone, Debug, Hash)]
pub struct Core {
    pub cfg: NodeConfig,
    disk: DurableState,
    /// `ZKDatabase`: the tree, `lastProcessedZxid`, `committedLog`.
    db: ZkDatabase,
    next_fsync: u64,
    /// Client writes this server took and will answer when it applies them.
    client_writes: BTreeSet<(u64, u64)>,
    /// Client connections, their sessions, what they are owed and their watches.
    pub clients: ClientConns,
    /// `zk-2355`: the zxid a DIFF claimed as processed before its txns were applied.
    claimed_processed: Option<Zxid>,
    /// The configuration in force (`quorumVerifier`) and the newer one seen, if any
    /// (`lastSeenQuorumVerifier`); changed only by [`crate::reconfig`]'s methods.
    pub(crate) quorums: Quorums,
    /// `reconfigFlag` with the vote `updateVote` set: a reconfig named this leader (and
    /// the zxid it was designated at), so leaving the current role goes straight to the
    /// new one (`updateServerState`) instead of to an election.
    pub(crate) designated: Option<(Sid, Zxid)>,
    /// `restartLeaderElection` ran (`processReconfig` activated other members): the node
    /// replaces its election object before it next looks for a leader.
    pub(crate) restart_election: bool,
    /// `SyncRequestProcessor`: txns logged since the last roll (`ZKDatabase.txnCount`),
    /// and the random part of the next snapshot's threshold (`randRoll`).
    txn_count: u64,
    rand_roll: u64,
    roll_state: u64,
    /// Loading found no files: the empty snapshot is written at start.
    save_empty_snapshot: bool,
}

impl Core {
    /// Builds a server's shared state from its durable image, running ZooKeeper's startup
    /// checks. Like `loadDataBase`, it applies its whole log.
    pub fn recover(cfg: NodeConfig, durable: DurableState) -> Result<Core, StartupError> {
        // `QuorumPeer.loadDataBase`: load, then check the epoch files against what loaded.
        let mut db = ZkDatabase::new(cfg.storage.commit_log_count);
        let loaded = db.load(&durable)?;
        durable.startup_check(db.last_processed())?;
        // The dynamic configuration file, if any, overrides the static one; the `.next` file
        // is read only beside a dynamic file (`QuorumPeerConfig.parse`), and
        // `QuorumPeer.createFromConfig` passes it to `setLastSeenQuorumVerifier(next, false)`,
        // which takes it whatever its version (one not newer than the configuration in force
        // counts as nothing pending, see `Core::see_config`).
        let current = durable.config.unwrap_or(cfg.quorum);
        let last_seen = durable.config.and(durable.next_config).unwrap_or(current);
        let mut durable = durable;
        // A new process holds no log file open: its first append starts a new one.
        durable.log.open = false;
        let mut core = Core {
            db,
            roll_state: cfg.roll_seed,
            cfg,
            disk: durable,
            next_fsync: 0,
            client_writes: BTreeSet::new(),
            clients: ClientConns::default(),
            claimed_processed: None,
            quorums: Quorums::new(current, last_seen),
            designated: None,
            restart_election: false,
            txn_count: 0,
            rand_roll: 0,
            save_empty_snapshot: loaded == Loaded::Empty,
        };
        core.draw_rand_roll();
        Ok(core)
    }

    /// At [`crate::contract::Input::Start`]: `FileTxnSnapLog.restore` with no files writes an
    /// empty snapshot (not synced).
    pub fn save_empty_snapshot(&mut self, out: &mut Outbox) {
        if std::mem::take(&mut self.save_empty_snapshot) {
            self.take_snapshot(false, out);
        }
    }

    /// Whether the fsync with this id was asked for: a completion of any other is a
    /// simulator error.
    pub fn fsync_issued(&self, id: u64) -> bool {
        id < self.next_fsync
    }

    /// The server stops serving: clients get no answer to what they wrote (connection
    /// loss), and its client connections close.
    pub fn close_clients(&mut self, out: &mut Outbox) {
        self.client_writes.clear();
        for client in self.clients.close_all() {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::ConnectionClosed });
        }
    }

    pub fn id(&self) -> Sid {
        self.cfg.id
    }

    pub fn disk(&self) -> &DurableState {
        &self.disk
    }

    pub fn last_processed(&self) -> Zxid {
        self.db.last_processed()
    }

    /// The zxid the server reports for itself in FLE and ACKEPOCH:
    /// `QuorumPeer.getLastLoggedZxid`, which is the in-memory `lastProcessedZxid` (not the
    /// log's last zxid: see [`crate::zkdb`]).
    pub fn last_zxid(&self) -> Zxid {
        let processed = self.db.last_processed();
        match self.cfg.variant {
            Variant::Zk2355 => self.claimed_processed.unwrap_or(processed).max(processed),
            _ => processed,
        }
    }

    pub fn tree(&self) -> &DataTree {
        self.db.tree()
    }

    pub fn db(&self) -> &ZkDatabase {
        &self.db
    }

    pub(crate) fn db_mut(&mut self) -> &mut ZkDatabase {
        &mut self.db
    }

    /// Appends a txn to the open log file (a new one if none is open), as
    /// `FileTxnLog.append` does.
    pub fn append(&mut self, txn: Txn, out: &mut Outbox) {
        let file = self.disk.log.append_target(txn.zxid);
        self.txn_count += 1;
        self.write(DiskWrite::Append { file, txn }, out);
    }

    /// `SyncRequestProcessor.run` after an append: past `snapCount / 2 + randRoll` txns,
    /// roll the log and take a snapshot (ZooKeeper's snapshot thread: not synced).
    pub fn maybe_snapshot(&mut self, out: &mut Outbox) {
        if self.txn_count <= self.cfg.storage.snap_count / 2 + self.rand_roll {
            return;
        }
        self.disk.log.roll();
        self.txn_count = 0;
        self.draw_rand_roll();
        self.take_snapshot(false, out);
    }

    /// `resetSnapshotStats`: `randRoll` uniform in `[0, snapCount / 2)`, drawn from the
    /// process's seed (splitmix64, so the node itself stays a pure function of its inputs).
    fn draw_rand_roll(&mut self) {
        self.roll_state = self.roll_state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.roll_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let half = self.cfg.storage.snap_count / 2;
        self.rand_roll = if half == 0 { 0 } else { z % half };
    }

    /// `ZooKeeperServer.takeSnapshot(syncSnap)`: the tree as it is now, named by its
    /// `lastProcessedZxid`. Returns the fsync that makes a synced one durable.
    pub fn take_snapshot(&mut self, sync: bool, out: &mut Outbox) -> Option<u64> {
        let snap = self.db.snapshot();
        self.write(DiskWrite::Snapshot(snap), out);
        sync.then(|| self.fsync(DiskFile::Snapshot, Vec::new(), out))
    }

    /// `ZKDatabase.truncateLog`: clear the database, truncate the log (not synced), load
    /// again. False when there is no log file to truncate.
    pub fn truncate_log(&mut self, zxid: Zxid, out: &mut Outbox) -> bool {
        self.db.clear();
        let Some(t) = self.disk.log.truncation(zxid) else { return false };
        self.write(DiskWrite::Truncate(t), out);
        self.db.load(&self.disk).is_ok()
    }

    /// `fastForwardDataBase`, when a running server shuts down its role: applies what the
    /// log holds past `lastProcessedZxid`, never going back.
    pub fn fast_forward(&mut self) {
        self.db.fast_forward(&self.disk.log);
    }

    /// `ZKDatabase.clear` and, as `getLastLoggedZxid` does for a database that is not
    /// initialized, load it again from disk.
    pub fn reload(&mut self) {
        // The files loaded when the process started; they cannot have become unloadable.
        self.db.load(&self.disk).expect("files that loaded once load again");
    }

    pub fn quorums(&self) -> &Quorums {
        &self.quorums
    }

    /// A sync completed: nothing is claimed beyond what is applied.
    pub fn clear_claim(&mut self) {
        self.claimed_processed = None;
    }

    /// `zk-2355`: DIFF sets lastProcessedZxid to the leader's before the txns are applied.
    pub fn claim_processed(&mut self, zxid: Zxid) {
        assert_eq!(self.cfg.variant, Variant::Zk2355, "only zk-2355 claims txns it has not applied");
        self.claimed_processed = Some(zxid);
    }

    /// Issues a volatile write, applying it to the server's own view.
    pub fn write(&mut self, w: DiskWrite, out: &mut Outbox) {
        self.disk.apply(&w);
        out.effects.push(Effect::Write(w));
    }

    /// Asks for an fsync of `file`; `then_send` leaves once it completes.
    pub fn fsync(&mut self, file: DiskFile, then_send: Vec<(Sid, Message)>, out: &mut Outbox) -> u64 {
        let id = self.next_fsync;
        self.next_fsync += 1;
        out.effects.push(Effect::Fsync { id, file, then_send });
        id
    }

    /// Applies a committed txn in zxid order, answering the client if it wrote to us
    /// (`FinalRequestProcessor` -> `ZooKeeperServer.processTxn(Request)`, which adds it to
    /// `committedLog`).
    pub fn apply(&mut self, txn: &Txn, out: &mut Outbox) {
        self.apply_as(txn, true, out);
    }

    /// Applies a txn committed during a sync, before NEWLEADER (a SNAP's or TRUNC's
    /// COMMIT) or with the DIFF's committed txns. Whether it reaches `committedLog` depends
    /// on the release ([`crate::release`]); the `zk-4925` variant keeps 3.9.3's "never".
    pub fn apply_synced(&mut self, txn: &Txn, diff: bool, out: &mut Outbox) {
        let release = self.cfg.release;
        let by_release =
            if diff { release.diff_commits_in_committed_log() } else { release.presync_commits_in_committed_log() };
        let committed_log = by_release && self.cfg.variant != Variant::Zk4925;
        self.apply_as(txn, committed_log, out);
    }

    /// Applies a committed txn; `committed_log` says whether it also goes into
    /// `committedLog`.
    pub fn apply_as(&mut self, txn: &Txn, committed_log: bool, out: &mut Outbox) {
        let last = self.db.last_processed();
        assert!(txn.zxid > last, "server {} applies {} after {}", self.cfg.id, txn.zxid, last);
        if committed_log {
            self.db.add_committed(txn.clone());
        }
        match &txn.op {
            Op::Initial | Op::Write { .. } => {
                self.db.process(txn);
            }
            Op::CreateSession { .. } | Op::CloseSession(_) | Op::Tree(_) | Op::Reconfig(_) => {
                self.apply_to_tree(txn, out)
            }
        }
        if let Op::Write { client, seq } = &txn.op {
            if self.client_writes.remove(&(*client, *seq)) {
                let reply = ClientReply::WriteOk { seq: *seq, zxid: txn.zxid };
                out.effects.push(Effect::ClientReply { client: *client, reply });
            }
        }
    }

    /// `FinalRequestProcessor`: apply to the tree, fire the watches, then answer the
    /// request's own client, then the reads that waited for it.
    fn apply_to_tree(&mut self, txn: &Txn, out: &mut Outbox) {
        let applied = self.db.process(txn);
        let closed = match &txn.op {
            Op::CloseSession(c) => Some(c.session),
            _ => None,
        };
        out.observe(Observation::Applied { zxid: txn.zxid, digest: self.db.tree().digest(), closed });
        for (client, event) in self.clients.watches.trigger(&applied.events) {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::Watch { event } });
        }
        match &txn.op {
            Op::CreateSession { client, timeout_ms } => {
                if self.clients.finish_create(*client, txn.zxid.0) {
                    let reply = ClientReply::Connected { session: txn.zxid.0, timeout_ms: *timeout_ms };
                    out.effects.push(Effect::ClientReply { client: *client, reply });
                }
            }
            Op::CloseSession(c) => {
                let session = &c.session;
                // The session's connections here close with it.
                for client in self.clients.clients_of(*session) {
                    out.effects.push(Effect::ClientReply { client, reply: ClientReply::SessionExpired });
                    self.clients.remove(client);
                }
            }
            Op::Tree(w) => {
                let (session, xid) = (&w.session, &w.xid);
                let response = applied.response.expect("a tree txn has an answer");
                self.complete_request(*session, *xid, response, out);
            }
            Op::Reconfig(r) => {
                let response = applied.response.expect("a reconfig has an answer");
                self.complete_request(r.session, r.xid, response, out);
            }
            Op::Initial | Op::Write { .. } => unreachable!("no tree change"),
        }
    }

    /// The leader's answer to a reconnect with `session`.
    pub fn finish_revalidate(&mut self, client: u64, session: SessionId, valid: bool, out: &mut Outbox) {
        if !self.clients.finish_revalidate(client, session, valid) {
            return;
        }
        let reply = match self.db.tree().sessions().get(&session) {
            Some(timeout_ms) if valid => ClientReply::Connected { session, timeout_ms: *timeout_ms },
            _ => {
                self.clients.remove(client);
                ClientReply::SessionExpired
            }
        };
        out.effects.push(Effect::ClientReply { client, reply });
    }

    /// A session's write or sync got its answer here: reply to its connection, then the
    /// reads held behind it.
    pub fn complete_request(&mut self, session: SessionId, xid: Xid, response: Response, out: &mut Outbox) {
        let (owed, reads) = self.clients.complete(session, xid);
        if !owed {
            return;
        }
        let Some(client) = self.clients.clients_of(session).first().copied() else { return };
        let reply = ClientReply::Reply { xid, zxid: self.db.last_processed(), response: Box::new(response) };
        out.effects.push(Effect::ClientReply { client, reply });
        for (xid, request) in reads {
            self.serve_read(client, xid, &request, out);
        }
    }

    /// A read, served from this server's tree (sequentially consistent, not linearizable).
    pub fn serve_read(&mut self, client: u64, xid: Xid, request: &Request, out: &mut Outbox) {
        let response = match request {
            Request::GetData { path, watch } => match self.db.tree().get_data(path) {
                Ok((data, stat)) => {
                    if *watch {
                        self.clients.watches.add_data_watch(path, client);
                    }
                    Response::GetData { data, stat }
                }
                Err(code) => Response::Error { code },
            },
            Request::GetChildren { path, watch } => match self.db.tree().get_children(path) {
                Ok((children, stat)) => {
                    if *watch {
                        self.clients.watches.add_child_watch(path, client);
                    }
                    Response::GetChildren { children, stat }
                }
                Err(code) => Response::Error { code },
            },
            Request::Exists { path, watch } => {
                // An exists watch is set whether or not the node is there.
                if *watch {
                    self.clients.watches.add_data_watch(path, client);
                }
                Response::Exists { stat: self.db.tree().exists(path) }
            }
            Request::GetConfig => Response::Config { config: self.quorums.current },
            other => panic!("{other:?} is not a read"),
        };
        let reply = ClientReply::Reply { xid, zxid: self.db.last_processed(), response: Box::new(response) };
        out.effects.push(Effect::ClientReply { client, reply });
    }

    /// `SetWatches` from a reconnecting client with a session: its watches are set again,
    /// and those that missed a change since `relative_zxid` fire at once.
    pub fn set_watches(&mut self, client: u64, w: WatchSet, out: &mut Outbox) {
        if self.clients.session_of(client).is_none() {
            return;
        }
        let WatchSet { relative_zxid, data, exist, child } = w;
        let events = self.clients.watches.set_watches(self.db.tree(), client, relative_zxid, &data, &exist, &child);
        for event in events {
            out.effects.push(Effect::ClientReply { client, reply: ClientReply::Watch { event } });
        }
    }

    /// Remembers a client write to answer once it is applied here.
    pub fn take_client_write(&mut self, client: u64, seq: u64) {
        self.client_writes.insert((client, seq));
    }
}
