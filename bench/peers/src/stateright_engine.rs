//! (d) stateright: the leader and followers as `Actor`s on its ordered network (one FIFO
//! queue per ordered pair). stateright has no time: each step delivers the head of one
//! channel, chosen by the checker, so there are no delays to draw.
//!
//! - `walk`: the simulation checker (a random walk, `UniformChooser`) on the full workload;
//!   one walk, 120,000 steps, each delivering one message.
//! - `bfs`: breadth-first search of every interleaving, on an instance small enough to
//!   finish ([`BFS_PROPOSALS`] proposals, window [`BFS_WINDOW`]); its "messages" are the
//!   transitions it explores (each delivers one message).

use peers_workload::{
    check, cpu_time_us, is_done, messages, Follower, Leader, Msg, Outbox, Run, FOLLOWERS, PROPOSALS, WINDOW,
};
use stateright::actor::{Actor, ActorModel, ActorModelState, Id, Network, Out};
use stateright::{Checker, Expectation, Model, UniformChooser};
use std::borrow::Cow;

/// The BFS instance: 4 proposals, all in flight at once. Each proposal more multiplies the
/// transitions by 6-11 (2: 43 k, 3: 496 k, 4: 3.2 M).
pub const BFS_PROPOSALS: u64 = 4;
pub const BFS_WINDOW: u64 = 4;

#[derive(Clone)]
enum Node {
    Leader { proposals: u64, window: u64 },
    Follower(usize),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum State {
    Leader(Leader),
    Follower(Follower),
}

fn emit(out: &mut Outbox, o: &mut Out<Node>) {
    for (to, msg) in out.drain(..) {
        o.send(Id::from(to), msg);
    }
}

impl Actor for Node {
    type Msg = Msg;
    type State = State;
    type Timer = ();
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> State {
        let mut out = Outbox::new();
        let s = match *self {
            Node::Leader { proposals, window } => {
                let mut l = Leader::new(proposals, window);
                l.start(&mut out);
                State::Leader(l)
            }
            Node::Follower(id) => State::Follower(Follower::new(id)),
        };
        emit(&mut out, o);
        s
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let mut out = Outbox::new();
        match state.to_mut() {
            State::Leader(l) => l.on_msg(usize::from(src), msg, &mut out),
            State::Follower(f) => f.on_msg(usize::from(src), msg, &mut out),
        }
        emit(&mut out, o);
    }
}

type Model_ = ActorModel<Node, (), ()>;

fn nodes(s: &ActorModelState<Node, ()>) -> (&Leader, Vec<&Follower>) {
    let State::Leader(l) = &*s.actor_states[0] else { panic!("node 0 is the leader") };
    let fs = s.actor_states[1..]
        .iter()
        .map(|a| match &**a {
            State::Follower(f) => f,
            State::Leader(_) => panic!("one leader"),
        })
        .collect();
    (l, fs)
}

fn done(_: &Model_, s: &ActorModelState<Node, ()>) -> bool {
    let (l, fs) = nodes(s);
    s.network.len() == 0 && is_done(l, &fs)
}

fn model(proposals: u64, window: u64, expectation: Expectation) -> Model_ {
    ActorModel::new((), ())
        .actor(Node::Leader { proposals, window })
        .actors((1..=FOLLOWERS).map(Node::Follower))
        .init_network(Network::new_ordered([]))
        .property(expectation, "done", done)
}

/// One random walk through the full workload. The CPU time stops when the walk ends: the
/// check after it replays the walk to rebuild its last state.
pub fn walk(seed: u64) -> Run {
    let cpu0 = cpu_time_us();
    let checker = model(PROPOSALS, WINDOW, Expectation::Sometimes)
        .checker()
        .threads(1)
        // Ends the (single) walk's search even if it never reached "done"; then the
        // assertion below fails instead of the checker walking again forever.
        .target_state_count(1)
        .spawn_simulation(seed, UniformChooser)
        .join();
    let cpu_us = cpu_time_us() - cpu0;
    let path = checker.discovery("done").expect("the walk delivered every message");
    let last = path.last_state();
    let (l, fs) = nodes(last);
    let delivered = check(l, &fs);
    // A state per step, plus the initial one: each step delivered one message.
    assert_eq!(checker.state_count() as u64, delivered + 1, "one delivery per step");
    Run { messages: delivered, virtual_us: 0, cpu_us }
}

/// Every interleaving of the small instance; every terminal state must be "done". Its
/// messages are the transitions explored.
pub fn bfs(_seed: u64) -> Run {
    let cpu0 = cpu_time_us();
    let checker = model(BFS_PROPOSALS, BFS_WINDOW, Expectation::Eventually).checker().threads(1).spawn_bfs().join();
    checker.assert_properties();
    assert!(checker.is_done(), "BFS explored the whole space");
    assert!(checker.unique_state_count() as u64 > messages(BFS_PROPOSALS));
    eprintln!("stateright-bfs: {} unique states, max depth {}", checker.unique_state_count(), checker.max_depth());
    Run { messages: checker.state_count() as u64, virtual_us: 0, cpu_us: cpu_time_us() - cpu0 }
}
