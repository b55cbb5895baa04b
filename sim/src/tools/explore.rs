//! `zabsim explore`: bounded exhaustive search over the moves a run can make, on the
//! same `Node` values and the same checker as `run`. From the scenario's initial world,
//! every pending delivery (the head of each channel), connection news, fsync completion,
//! timer (as the time abstraction allows), crash, restart, client write, isolation and
//! heal is a branch, within the budgets given. Worlds are deduplicated by a 64-bit hash of
//! everything that decides their future (time aside); breadth-first search finds a
//! shortest path to a violation, level by level, the same for any number of threads.

use crate::check::invariant::{Invariant, Violation};
use crate::run::cluster::{Cluster, Move, RunOptions};
use crate::scenario::Scenario;
use crate::tools::keyed::HashedMap;
use crate::trace::{feed, StableHasher};
use std::hash::Hasher;
use zab::release::Release;
use zab::Variant;

/// Called with the running figures.
pub type OnProgress = Box<dyn FnMut(&Figures) + Send>;

/// The worlds seen: each world's hash, and the least depth it was reached at. Only ever
/// looked up, never iterated, so its order cannot reach the search's result.
type Seen = HashedMap<u32>;

/// When timers may fire, time being abstracted away.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timers {
    /// Only when nothing else is pending (no message, connection news or fsync), the
    /// earliest due first, and never while the ensemble rests (an established leader
    /// with every live server serving under it): timeouts are long against network and
    /// disk delays and keep their order. The state space is finite.
    Quiescent,
    /// Any armed timer may fire at any moment: every timing behaviour, but ticks make
    /// the state space infinite, so a depth bound is needed.
    Any,
}

/// Budgets of the moves that are not the world's own, and the search's bounds.
#[derive(Clone, Debug)]
pub struct Bounds {
    pub crashes: u8,
    pub restarts: u8,
    pub writes: u8,
    pub partitions: u8,
    pub max_depth: Option<u32>,
    pub max_states: Option<u64>,
    pub timers: Timers,
    /// When writes, restarts, isolations and heals may happen.
    pub inject: Inject,
}

/// When the moves that are not the world's own may happen, crashes aside.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Inject {
    /// Only while the ensemble rests (an established leader that every live server
    /// follows, nothing in flight): an operator restarting a server, a client writing,
    /// a network cut or healed against a settled ensemble.
    Rest,
    /// Only while nothing is in flight (no message, connection news or fsync pending):
    /// a client's write, an operator's restart and a network's cut or heal against a
    /// world between steps. Crashes may still come at any moment, inside an fsync window
    /// or between a message's send and its arrival.
    Quiescent,
    /// At any moment.
    Any,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Order {
    Bfs,
    Dfs,
}

pub struct ExploreOptions {
    pub order: Order,
    pub bounds: Bounds,
    pub jobs: usize,
    pub variant: Option<Variant>,
    pub release: Option<Release>,
    pub start: Start,
    /// How many frontier worlds to keep whole (each some tens of KB); the rest are made
    /// again from their moves when expanded.
    pub frontier_worlds: usize,
    /// Called after each BFS level (and every few thousand DFS states) with the figures.
    pub on_progress: Option<OnProgress>,
}

/// A model checker's running figures.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Figures {
    /// Worlds produced by taking a move (duplicates included).
    pub generated: u64,
    /// Distinct worlds (by their hash).
    pub distinct: u64,
    /// The deepest level reached (moves from the initial world).
    pub depth: u32,
    /// Worlds waiting to be expanded now, and at most.
    pub queue: u64,
    pub queue_max: u64,
}

/// A violation the search reached, with the moves that lead to it.
#[derive(Clone, Debug)]
pub struct Found {
    pub violation: Violation,
    pub moves: Vec<Move>,
}

/// What a search found within its bounds.
pub struct Outcome {
    pub figures: Figures,
    /// The search met no bound: every world reachable within the budgets was seen.
    pub exhausted: bool,
    /// Which bound cut it short, if one did.
    pub cut_by: Option<&'static str>,
    /// The first violation outside the scenario's known findings (shortest with BFS).
    pub violation: Option<Found>,
    /// The first world reached breaking each of the scenario's known findings: counted,
    /// not expanded further.
    pub known: Vec<Found>,
    /// Moves taken before the search started (`Start::Rest`).
    pub prefix: usize,
}

/// A world and what is left of its budgets.
#[derive(Clone)]
struct World<'a> {
    cluster: Cluster<'a>,
    left: Left,
}

#[derive(Copy, Clone, Hash, PartialEq, Eq, Debug)]
struct Left {
    crashes: u8,
    restarts: u8,
    writes: u8,
    partitions: u8,
}

impl<'a> World<'a> {
    /// The moves from here, in a fixed order (the world's own first).
    fn moves(&self, b: &Bounds) -> Vec<Move> {
        let o = self.cluster.outlook();
        let mut ms = o.events.clone();
        match b.timers {
            Timers::Any => ms.extend(&o.timers),
            Timers::Quiescent if o.events.is_empty() && !o.stable => ms.extend(o.timers.first()),
            Timers::Quiescent => {}
        }
        if self.left.crashes > 0 {
            for &server in &o.up {
                ms.push(Move::Crash { server, keep: false });
                if o.unsynced.contains(&server) {
                    ms.push(Move::Crash { server, keep: true });
                }
            }
        }
        let now = match b.inject {
            Inject::Rest => o.stable,
            Inject::Quiescent => o.events.is_empty(),
            Inject::Any => true,
        };
        if !now {
            return ms;
        }
        if self.left.restarts > 0 {
            ms.extend(o.down.iter().map(|&server| Move::Restart { server }));
        }
        if self.left.writes > 0 {
            ms.extend(o.leader.map(|server| Move::Write { server }));
        }
        if o.cut {
            ms.push(Move::Heal);
        } else if self.left.partitions > 0 {
            ms.extend(o.up.iter().map(|&server| Move::Isolate { server }));
        }
        ms
    }

    /// The world after `m`.
    fn after(&self, m: Move) -> World<'a> {
        self.clone().into_after(m)
    }

    /// This world, changed by `m`.
    fn into_after(self, m: Move) -> World<'a> {
        let mut w = self;
        match m {
            Move::Crash { .. } => w.left.crashes -= 1,
            Move::Restart { .. } => w.left.restarts -= 1,
            Move::Write { .. } => w.left.writes -= 1,
            Move::Isolate { .. } => w.left.partitions -= 1,
            _ => {}
        }
        if let Err(e) = w.cluster.play(m) {
            unreachable!("a move the world offered cannot be taken: {e}");
        }
        w
    }

    /// What decides this world's future: the cluster's fingerprint, the budgets, and
    /// with timers in due order, that order.
    fn key(&self, b: &Bounds) -> u64 {
        let mut h = StableHasher::new();
        feed(&mut h, &(self.cluster.fingerprint(), self.left));
        if b.timers == Timers::Quiescent {
            feed(&mut h, &self.cluster.outlook().timers);
        }
        h.finish()
    }
}

/// Where the search starts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// The scenario's initial world: every server just started.
    Initial,
    /// The first world at rest (an established leader, every server serving under it,
    /// nothing in flight) that the scheduler's own order reaches: the first election's
    /// orders are not explored.
    Rest,
}

/// How many moves `Start::Rest` takes at most before it gives up.
const REST_MOVES_MAX: usize = 100_000;

/// How many frontier worlds a BFS level expands before it merges what they made: what
/// bounds the worlds held besides the frontier's, the same for any number of threads.
const BATCH: usize = 2048;

/// Runs the search. `Err` when `Start::Rest` finds no world at rest.
pub fn explore(scenario: &Scenario, mut opts: ExploreOptions) -> Result<Outcome, String> {
    let mut run = RunOptions::new(0);
    run.variant = opts.variant;
    run.release = opts.release;
    run.recent_events = false;
    let mut cluster = Cluster::new(scenario, run);
    cluster.start_world();
    let mut prefix = Vec::new();
    if opts.start == Start::Rest {
        while !cluster.outlook().stable {
            let next = cluster.next_move().filter(|_| prefix.len() < REST_MOVES_MAX && cluster.violation().is_none());
            let Some(m) = next else {
                return Err(format!(
                    "--from rest: the world took {} moves without coming to rest (an established leader that every server follows, nothing in flight){}",
                    prefix.len(),
                    cluster.violation().map_or(String::new(), |v| format!("; it broke {} first", v.invariant))
                ));
            };
            cluster.play(m).expect("the next pending event can be taken");
            prefix.push(m);
        }
    }
    let b = &opts.bounds;
    let root = World {
        cluster,
        left: Left { crashes: b.crashes, restarts: b.restarts, writes: b.writes, partitions: b.partitions },
    };
    let mut search = Search {
        bounds: opts.bounds.clone(),
        known: scenario.expect.known.clone(),
        prefix,
        tree: Vec::new(),
        seen: Seen::default(),
        root: root.clone(),
        kept_max: opts.frontier_worlds,
        out: empty_outcome(),
    };
    let progress = opts.on_progress.take();
    match opts.order {
        Order::Bfs => search.bfs(root, opts.jobs.max(1), progress),
        Order::Dfs => search.dfs(root, progress),
    }
    let mut out = search.out;
    out.prefix = search.prefix.len();
    out.exhausted = out.cut_by.is_none() && out.violation.is_none();
    Ok(out)
}

struct Search<'a> {
    bounds: Bounds,
    known: Vec<Invariant>,
    /// The moves from the initial world to the search's first.
    prefix: Vec<Move>,
    /// Every world reached: its parent and the move that made it (the root is 0).
    tree: Vec<(u32, Option<Move>)>,
    /// Each distinct world's hash, and the least depth it was reached at.
    seen: Seen,
    /// The first world, from which a world not kept is made again by its moves.
    root: World<'a>,
    /// How many frontier worlds are kept whole; the rest are made again when expanded.
    kept_max: usize,
    out: Outcome,
}

/// A frontier entry: a world's id, and the world itself when kept.
type Entry<'a> = (u32, Option<World<'a>>);

/// One successor as an expanding thread hands it back.
struct Next<'a> {
    parent: u32,
    m: Move,
    key: u64,
    /// `None` when seen at an earlier level.
    world: Option<World<'a>>,
}

impl<'a> Search<'a> {
    /// The moves from the search's first world to world `id`.
    fn path(&self, mut id: u32) -> Vec<Move> {
        let mut moves = Vec::new();
        while let (parent, Some(m)) = self.tree[id as usize] {
            moves.push(m);
            id = parent;
        }
        moves.reverse();
        moves
    }

    /// World `id` made again from the first one.
    fn rebuild(&self, id: u32) -> World<'a> {
        self.path(id).into_iter().fold(self.root.clone(), World::into_after)
    }

    /// A world reached (`new`: for the first time) is recorded with its path; its id when
    /// it is to be expanded (no violation).
    fn admit(&mut self, parent: u32, m: Option<Move>, w: &World, new: bool) -> Option<u32> {
        let id = u32::try_from(self.tree.len()).expect("fewer than 2^32 worlds (bound the search with --max-states)");
        self.tree.push((parent, m));
        self.out.figures.distinct += u64::from(new);
        let Some(v) = w.cluster.violation() else { return Some(id) };
        let mut moves = self.prefix.clone();
        moves.extend(self.path(id));
        let found = Found { violation: v.clone(), moves };
        if self.known.contains(&v.invariant) {
            if !self.out.known.iter().any(|f| f.violation.invariant == v.invariant) {
                self.out.known.push(found);
            }
        } else if self.out.violation.is_none() {
            self.out.violation = Some(found);
        }
        None
    }

    fn over_states(&self) -> bool {
        self.bounds.max_states.is_some_and(|m| self.out.figures.distinct >= m)
    }

    fn bfs(&mut self, root: World<'a>, jobs: usize, mut progress: Option<OnProgress>) {
        self.seen.insert(root.key(&self.bounds), 0);
        let mut frontier: Vec<Entry<'a>> = Vec::new();
        if let Some(id) = self.admit(0, None, &root, true) {
            frontier.push((id, Some(root)));
        }
        let mut depth = 0u32;
        while !frontier.is_empty() && self.out.violation.is_none() {
            if self.bounds.max_depth.is_some_and(|d| depth >= d) {
                self.out.cut_by = Some("max-depth");
                break;
            }
            if self.over_states() {
                self.out.cut_by = Some("max-states");
                break;
            }
            depth += 1;
            let mut next: Vec<Entry<'a>> = Vec::new();
            let mut kept = 0;
            let mut level = std::mem::take(&mut frontier).into_iter();
            loop {
                let batch: Vec<Entry<'a>> = level.by_ref().take(BATCH).collect();
                if batch.is_empty() || self.out.violation.is_some() {
                    break;
                }
                for share in self.expand(batch, jobs) {
                    for n in share {
                        self.out.figures.generated += 1;
                        let Some(world) = n.world else { continue };
                        if self.out.violation.is_some() || self.seen.contains(n.key) {
                            continue;
                        }
                        self.seen.insert(n.key, depth);
                        if let Some(id) = self.admit(n.parent, Some(n.m), &world, true) {
                            let keep = kept < self.kept_max;
                            kept += usize::from(keep);
                            next.push((id, keep.then_some(world)));
                        }
                    }
                }
            }
            frontier = next;
            let f = &mut self.out.figures;
            f.depth = depth;
            f.queue = frontier.len() as u64;
            f.queue_max = f.queue_max.max(f.queue);
            if let Some(p) = progress.as_mut() {
                p(f);
            }
        }
    }

    /// Expands a batch of frontier entries on `jobs` threads, each a contiguous share;
    /// the shares come back in order, so the merge is the same for any `jobs`. Worlds
    /// seen at an earlier level are dropped on the threads.
    fn expand(&self, batch: Vec<Entry<'a>>, jobs: usize) -> Vec<Vec<Next<'a>>> {
        let expand = |share: Vec<Entry<'a>>| -> Vec<Next<'a>> {
            let mut v = Vec::new();
            for (id, w) in share {
                let w = w.unwrap_or_else(|| self.rebuild(id));
                let mut moves = w.moves(&self.bounds);
                // The last move takes the world itself: one clone fewer per world.
                let last = moves.pop();
                let mut succ = |m: Move, world: World<'a>| {
                    let key = world.key(&self.bounds);
                    let world = (!self.seen.contains(key)).then_some(world);
                    v.push(Next { parent: id, m, key, world });
                };
                for m in moves {
                    succ(m, w.after(m));
                }
                if let Some(m) = last {
                    succ(m, w.into_after(m));
                }
            }
            v
        };
        if jobs <= 1 || batch.len() < 2 * jobs {
            return vec![expand(batch)];
        }
        let share = batch.len().div_ceil(jobs);
        let mut shares = Vec::new();
        let mut rest = batch;
        while rest.len() > share {
            let tail = rest.split_off(share);
            shares.push(rest);
            rest = tail;
        }
        shares.push(rest);
        std::thread::scope(|s| {
            let handles: Vec<_> = shares.into_iter().map(|c| s.spawn(move || expand(c))).collect();
            handles.into_iter().map(|h| h.join().expect("an expanding thread panicked")).collect()
        })
    }

    /// Depth-first, one thread; a world reached again at a smaller depth than before is
    /// expanded again, so a depth bound cuts no path that a shorter route could finish.
    fn dfs(&mut self, root: World<'a>, mut progress: Option<OnProgress>) {
        self.seen.insert(root.key(&self.bounds), 0);
        let Some(id) = self.admit(0, None, &root, true) else { return };
        let moves = root.moves(&self.bounds).into_iter();
        let mut stack: Vec<(u32, World<'a>, std::vec::IntoIter<Move>)> = vec![(id, root, moves)];
        while self.out.violation.is_none() {
            let depth = stack.len() as u32;
            let Some((id, w, moves)) = stack.last_mut() else { break };
            let Some(m) = moves.next() else {
                stack.pop();
                continue;
            };
            if self.bounds.max_depth.is_some_and(|d| depth > d) {
                self.out.cut_by = Some("max-depth");
                stack.pop();
                continue;
            }
            if self.over_states() {
                self.out.cut_by = Some("max-states");
                break;
            }
            let (id, next) = (*id, w.after(m));
            self.out.figures.generated += 1;
            let key = next.key(&self.bounds);
            let new = match self.seen.get(key) {
                Some(d) if d <= depth => continue,
                seen => seen.is_none(),
            };
            self.seen.insert(key, depth);
            if let Some(child) = self.admit(id, Some(m), &next, new) {
                let moves = next.moves(&self.bounds).into_iter();
                stack.push((child, next, moves));
            }
            let f = &mut self.out.figures;
            f.depth = f.depth.max(depth);
            f.queue = stack.len() as u64;
            f.queue_max = f.queue_max.max(f.queue);
            if f.generated % 4096 == 0 {
                if let Some(p) = progress.as_mut() {
                    p(f);
                }
            }
        }
    }
}

fn empty_outcome() -> Outcome {
    Outcome {
        figures: Figures::default(),
        exhausted: false,
        cut_by: None,
        violation: None,
        known: Vec::new(),
        prefix: 0,
    }
}
