//! (a) zabsim's engine: its `Scheduler` (virtual time, a slab of events ordered by (time,
//! sequence)), its `Network` (one FIFO channel per ordered pair, a ChaCha stream per channel,
//! `Delay::Uniform`) driven the way `sim/src/cluster.rs` drives them: an event is popped,
//! the node's effects come back as an outbox, each message goes through
//! `Network::transmit` and is scheduled for its delivery time, and a delivery whose channel
//! incarnation is stale is dropped. zab's `Node` state machines are not used: running them
//! means elections, sync and the disk model, not this workload.

use peers_workload::{
    check, cpu_time_us, Follower, Leader, Msg, Outbox, Run, DELAY_US_MAX, DELAY_US_MIN, FOLLOWERS, PROPOSALS, WINDOW,
};
use zabsim::world::dist::Delay;
use zabsim::world::network::Network;
use zabsim::world::scheduler::Scheduler;

struct Deliver {
    from: u64,
    to: u64,
    incarnation: u64,
    msg: Msg,
}

/// Node `i` (0 = leader) is server `i + 1`.
fn sid(node: usize) -> u64 {
    node as u64 + 1
}

fn send(sched: &mut Scheduler<Deliver>, net: &mut Network, now: u64, from: usize, out: &mut Outbox) {
    for (to, msg) in out.drain(..) {
        let (from, to) = (sid(from), sid(to));
        let (at, incarnation) = net.transmit(from, to, now);
        sched.at(at, Deliver { from, to, incarnation, msg });
    }
}

pub fn run(seed: u64) -> Run {
    let cpu0 = cpu_time_us();
    let mut sched: Scheduler<Deliver> = Scheduler::new();
    let delay = Delay::Uniform { min_us: DELAY_US_MIN, max_us: DELAY_US_MAX };
    let mut net = Network::new(FOLLOWERS as u64 + 1, delay, seed);
    let mut leader = Leader::new(PROPOSALS, WINDOW);
    let mut followers: Vec<Follower> = (1..=FOLLOWERS).map(Follower::new).collect();
    let mut out = Outbox::new();
    leader.start(&mut out);
    send(&mut sched, &mut net, 0, 0, &mut out);
    let mut delivered = 0u64;
    while let Some((now, ev)) = sched.pop() {
        assert_eq!(net.incarnation(ev.from, ev.to), ev.incarnation, "no channel breaks in this workload");
        delivered += 1;
        let (from, to) = (ev.from as usize - 1, ev.to as usize - 1);
        if to == 0 {
            leader.on_msg(from, ev.msg, &mut out);
        } else {
            followers[to - 1].on_msg(from, ev.msg, &mut out);
        }
        send(&mut sched, &mut net, now, to, &mut out);
    }
    let fs: Vec<&Follower> = followers.iter().collect();
    assert_eq!(check(&leader, &fs), delivered);
    Run { messages: delivered, virtual_us: sched.now_us(), cpu_us: cpu_time_us() - cpu0 }
}
