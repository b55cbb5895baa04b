//! A server's watch tables: ZooKeeper's `WatchManager` (one for data watches, one for
//! child watches, as `DataTree` holds them), keyed by the client connection.
//!
//! Watches are volatile: they live on the server the client is connected to, are not
//! replicated, and vanish with the connection or a crash. A reconnecting client
//! re-registers them with `setWatches`, and [`WatchManager::set_watches`] fires at once
//! what it missed meanwhile, so a client never loses an event by moving servers.

use crate::api::{EventType, WatchedEvent};
use crate::tree::DataTree;
use crate::types::Zxid;
use std::collections::{BTreeMap, BTreeSet};

/// The watches one server holds, by path, as sets of client connection ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WatchManager {
    /// getData and exists watches (`DataTree.dataWatches`).
    data: BTreeMap<String, BTreeSet<u64>>,
    /// getChildren watches (`DataTree.childWatches`).
    child: BTreeMap<String, BTreeSet<u64>>,
}

impl WatchManager {
    /// A getData or exists watch (an exists watch on a missing node waits for its
    /// creation in the same table, as in ZooKeeper).
    pub fn add_data_watch(&mut self, path: &str, client: u64) {
        self.data.entry(path.to_string()).or_default().insert(client);
    }

    /// A getChildren watch.
    pub fn add_child_watch(&mut self, path: &str, client: u64) {
        self.child.entry(path.to_string()).or_default().insert(client);
    }

    /// `WatchManager.triggerWatch` for the events of one applied txn. Watches are
    /// one-shot: a fired watch is removed, and the client must set it again.
    /// NodeCreated and NodeDataChanged fire the path's data watches; NodeDeleted its data
    /// and child watches, once per client (`DataTree.deleteNode` passes the data watchers
    /// it fired as `supress` to the child table); NodeChildrenChanged its child watches.
    ///
    /// Returns (client, event) in event order, then client order.
    pub fn trigger(&mut self, events: &[WatchedEvent]) -> Vec<(u64, WatchedEvent)> {
        let mut fired = Vec::new();
        for event in events {
            let clients = match event.kind {
                EventType::NodeCreated | EventType::NodeDataChanged => take(&mut self.data, &event.path),
                EventType::NodeDeleted => {
                    let mut clients = take(&mut self.data, &event.path);
                    clients.append(&mut take(&mut self.child, &event.path));
                    clients
                }
                EventType::NodeChildrenChanged => take(&mut self.child, &event.path),
            };
            fired.extend(clients.into_iter().map(|client| (client, event.clone())));
        }
        fired
    }

    /// The connection closed (`WatchManager.removeWatcher`): its watches go. A client
    /// that reconnects elsewhere re-registers them with [`WatchManager::set_watches`].
    pub fn remove_client(&mut self, client: u64) {
        for table in [&mut self.data, &mut self.child] {
            table.retain(|_, clients| {
                clients.remove(&client);
                !clients.is_empty()
            });
        }
    }

    /// `DataTree.setWatches`, after a reconnect: for each path the client watched, fire at
    /// once what it missed since `relative_zxid` (the last zxid it saw), else register
    /// the watch again here.
    /// - data paths: node gone -> NodeDeleted; changed after `relative_zxid` ->
    ///   NodeDataChanged; else a data watch;
    /// - exist paths: node there -> NodeCreated; else a data watch;
    /// - child paths: node gone -> NodeDeleted; children changed after `relative_zxid` ->
    ///   NodeChildrenChanged; else a child watch.
    ///
    /// A fired event carries the zxid of the change the tree records (mzxid, czxid,
    /// pzxid), or `relative_zxid` for a deletion, which leaves no record. Events come in
    /// the order of the data, exist and child lists.
    pub fn set_watches(
        &mut self,
        tree: &DataTree,
        client: u64,
        relative_zxid: Zxid,
        data: &[String],
        exist: &[String],
        child: &[String],
    ) -> Vec<WatchedEvent> {
        let mut fired = Vec::new();
        let mut fire = |kind, path: &str, zxid| fired.push(WatchedEvent { kind, path: path.to_string(), zxid });
        for path in data {
            match tree.stat(path) {
                None => fire(EventType::NodeDeleted, path, relative_zxid),
                Some(stat) if stat.mzxid > relative_zxid => fire(EventType::NodeDataChanged, path, stat.mzxid),
                Some(_) => self.add_data_watch(path, client),
            }
        }
        for path in exist {
            match tree.stat(path) {
                Some(stat) => fire(EventType::NodeCreated, path, stat.czxid),
                None => self.add_data_watch(path, client),
            }
        }
        for path in child {
            match tree.stat(path) {
                None => fire(EventType::NodeDeleted, path, relative_zxid),
                Some(stat) if stat.pzxid > relative_zxid => fire(EventType::NodeChildrenChanged, path, stat.pzxid),
                Some(_) => self.add_child_watch(path, client),
            }
        }
        fired
    }

    /// Watches registered, data and child, counting each (path, client) pair once per
    /// table.
    pub fn watch_count(&self) -> usize {
        self.data.values().chain(self.child.values()).map(BTreeSet::len).sum()
    }

    /// Whether `client` holds a data watch on `path`.
    pub fn has_data_watch(&self, path: &str, client: u64) -> bool {
        self.data.get(path).is_some_and(|clients| clients.contains(&client))
    }

    /// Whether `client` holds a child watch on `path`.
    pub fn has_child_watch(&self, path: &str, client: u64) -> bool {
        self.child.get(path).is_some_and(|clients| clients.contains(&client))
    }
}

/// Removes and returns the watchers of `path` in `table`: firing is one-shot.
fn take(table: &mut BTreeMap<String, BTreeSet<u64>>, path: &str) -> BTreeSet<u64> {
    table.remove(path).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CreateMode, Request, SessionId, TreeTxn};
    use crate::durable::{Op, Txn};

    fn event(kind: EventType, path: &str, zxid: Zxid) -> WatchedEvent {
        WatchedEvent { kind, path: path.to_string(), zxid }
    }

    fn z(counter: u64) -> Zxid {
        Zxid::new(1, counter)
    }

    /// A tree with one session and a way to apply writes, returning their events.
    struct Fixture {
        tree: DataTree,
        session: SessionId,
        counter: u64,
    }

    impl Fixture {
        fn new() -> Fixture {
            let mut tree = DataTree::new();
            tree.apply(&Txn { zxid: z(1), op: Op::CreateSession { client: 1, timeout_ms: 4000 } });
            Fixture { tree, session: z(1).0, counter: 1 }
        }

        fn write(&mut self, request: Request) -> Vec<WatchedEvent> {
            self.counter += 1;
            let txn = self.tree.prep(self.session, &request);
            assert!(!matches!(txn, TreeTxn::Error { .. }), "{request:?} refused: {txn:?}");
            let op = Op::tree(self.session, 0, txn);
            self.tree.apply(&Txn { zxid: z(self.counter), op }).events
        }

        fn create(&mut self, path: &str) -> Vec<WatchedEvent> {
            self.write(Request::Create { path: path.to_string(), data: String::new(), mode: CreateMode::Persistent })
        }

        fn set_data(&mut self, path: &str) -> Vec<WatchedEvent> {
            self.write(Request::SetData { path: path.to_string(), data: "x".to_string(), version: None })
        }

        fn delete(&mut self, path: &str) -> Vec<WatchedEvent> {
            self.write(Request::Delete { path: path.to_string(), version: None })
        }
    }

    #[test]
    fn a_data_watch_fires_once_on_a_data_change() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/a");
        w.add_data_watch("/a", 7);
        let events = f.set_data("/a");
        assert_eq!(w.trigger(&events), vec![(7, event(EventType::NodeDataChanged, "/a", z(3)))]);
        assert_eq!(w.watch_count(), 0);
        let events = f.set_data("/a");
        assert_eq!(w.trigger(&events), vec![], "a fired watch is gone");
    }

    #[test]
    fn an_exists_watch_on_a_missing_node_fires_on_creation_not_the_child_watch() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        w.add_data_watch("/a", 1);
        w.add_child_watch("/a", 2);
        w.add_child_watch("/", 3);
        let events = f.create("/a");
        assert_eq!(
            w.trigger(&events),
            vec![(1, event(EventType::NodeCreated, "/a", z(2))), (3, event(EventType::NodeChildrenChanged, "/", z(2)))]
        );
        assert!(w.has_child_watch("/a", 2));
        assert_eq!(w.watch_count(), 1);
    }

    #[test]
    fn a_deletion_fires_data_and_child_watches_once_per_client() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/a");
        w.add_data_watch("/a", 5);
        w.add_child_watch("/a", 5);
        w.add_child_watch("/a", 4);
        w.add_data_watch("/a", 9);
        let events = f.delete("/a");
        let deleted = event(EventType::NodeDeleted, "/a", z(3));
        assert_eq!(w.trigger(&events), vec![(4, deleted.clone()), (5, deleted.clone()), (9, deleted)]);
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn children_changed_fires_child_watches_only() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/p");
        w.add_data_watch("/p", 1);
        w.add_child_watch("/p", 2);
        let events = f.create("/p/c");
        assert_eq!(w.trigger(&events), vec![(2, event(EventType::NodeChildrenChanged, "/p", z(3)))]);
        assert!(w.has_data_watch("/p", 1));
    }

    #[test]
    fn trigger_orders_by_event_then_client() {
        let mut w = WatchManager::default();
        for client in [3, 1, 2] {
            w.add_data_watch("/x", client);
            w.add_child_watch("/", client);
        }
        let events = [event(EventType::NodeCreated, "/x", z(9)), event(EventType::NodeChildrenChanged, "/", z(9))];
        let fired: Vec<(u64, EventType)> = w.trigger(&events).into_iter().map(|(c, e)| (c, e.kind)).collect();
        use EventType::*;
        assert_eq!(
            fired,
            vec![
                (1, NodeCreated),
                (2, NodeCreated),
                (3, NodeCreated),
                (1, NodeChildrenChanged),
                (2, NodeChildrenChanged),
                (3, NodeChildrenChanged),
            ]
        );
    }

    #[test]
    fn a_client_gets_one_event_per_kind_and_path_in_one_call() {
        let mut w = WatchManager::default();
        w.add_data_watch("/x", 1);
        let twice = [event(EventType::NodeDataChanged, "/x", z(4)), event(EventType::NodeDataChanged, "/x", z(4))];
        assert_eq!(w.trigger(&twice).len(), 1);
    }

    #[test]
    fn adding_the_same_watch_twice_keeps_one() {
        let mut w = WatchManager::default();
        w.add_data_watch("/x", 1);
        w.add_data_watch("/x", 1);
        w.add_child_watch("/x", 1);
        assert_eq!(w.watch_count(), 2);
    }

    #[test]
    fn remove_client_drops_all_its_watches_and_only_its() {
        let mut w = WatchManager::default();
        w.add_data_watch("/a", 1);
        w.add_child_watch("/a", 1);
        w.add_child_watch("/b", 1);
        w.add_data_watch("/a", 2);
        w.remove_client(1);
        assert_eq!(w.watch_count(), 1);
        assert!(w.has_data_watch("/a", 2));
        assert_eq!(w.child, BTreeMap::new(), "no empty sets left behind");
    }

    #[test]
    fn set_watches_fires_deleted_for_data_and_child_watches_of_gone_nodes() {
        let f = Fixture::new();
        let mut w = WatchManager::default();
        let fired = w.set_watches(&f.tree, 1, z(5), &["/gone".to_string()], &[], &["/gone2".to_string()]);
        assert_eq!(
            fired,
            vec![event(EventType::NodeDeleted, "/gone", z(5)), event(EventType::NodeDeleted, "/gone2", z(5))]
        );
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn set_watches_fires_data_changed_only_for_data_changed_after_the_client_saw_it() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/old"); // z(2)
        f.create("/new"); // z(3)
        f.set_data("/new"); // z(4)
        let data = ["/old".to_string(), "/new".to_string()];
        let fired = w.set_watches(&f.tree, 1, z(3), &data, &[], &[]);
        assert_eq!(fired, vec![event(EventType::NodeDataChanged, "/new", z(4))]);
        assert!(w.has_data_watch("/old", 1));
        assert!(!w.has_data_watch("/new", 1));
    }

    #[test]
    fn set_watches_fires_created_for_an_exists_watch_on_a_node_now_there() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/there"); // z(2)
        let exist = ["/there".to_string(), "/absent".to_string()];
        // Even a node the client may have seen created fires: ZooKeeper's setWatches does
        // not compare czxid with the client's zxid for exists watches.
        let fired = w.set_watches(&f.tree, 1, z(9), &[], &exist, &[]);
        assert_eq!(fired, vec![event(EventType::NodeCreated, "/there", z(2))]);
        assert!(w.has_data_watch("/absent", 1));
        assert_eq!(w.watch_count(), 1);
    }

    #[test]
    fn set_watches_fires_children_changed_only_for_children_changed_after_the_client_saw_it() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/quiet"); // z(2)
        f.create("/busy"); // z(3)
        f.create("/busy/c"); // z(4)
        let child = ["/quiet".to_string(), "/busy".to_string()];
        let fired = w.set_watches(&f.tree, 1, z(3), &[], &[], &child);
        assert_eq!(fired, vec![event(EventType::NodeChildrenChanged, "/busy", z(4))]);
        assert!(w.has_child_watch("/quiet", 1));
        assert!(!w.has_child_watch("/busy", 1));
    }

    #[test]
    fn set_watches_fires_in_data_exist_child_order() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/n"); // z(2)
        let n = ["/n".to_string()];
        let fired = w.set_watches(&f.tree, 1, Zxid::ZERO, &n, &n, &n);
        let kinds: Vec<EventType> = fired.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventType::NodeDataChanged, EventType::NodeCreated, EventType::NodeChildrenChanged]);
    }

    #[test]
    fn a_watch_registered_by_set_watches_fires_on_the_next_change() {
        let mut f = Fixture::new();
        let mut w = WatchManager::default();
        f.create("/a"); // z(2)
        assert_eq!(w.set_watches(&f.tree, 4, z(2), &["/a".to_string()], &[], &[]), vec![]);
        let events = f.set_data("/a");
        assert_eq!(w.trigger(&events), vec![(4, event(EventType::NodeDataChanged, "/a", z(3)))]);
    }
}
