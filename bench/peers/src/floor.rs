//! (e) The floor: a bare binary-heap event loop. `std`'s `BinaryHeap` ordered by (time,
//! sequence), a ChaCha8 stream per channel (the generator zabsim uses) for the delays, and
//! FIFO kept by never delivering before the channel's previous message. Nothing else: no
//! slab, no incarnations, no timers.

use peers_workload::{
    check, cpu_time_us, Follower, Leader, Msg, Outbox, Run, DELAY_US_MAX, DELAY_US_MIN, FOLLOWERS, PROPOSALS, WINDOW,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const NODES: usize = FOLLOWERS + 1;

struct Channels {
    rngs: Vec<ChaCha8Rng>,
    last_us: Vec<u64>,
}

impl Channels {
    fn new(seed: u64) -> Channels {
        let rngs = (0..NODES * NODES)
            .map(|i| {
                let mut r = ChaCha8Rng::seed_from_u64(seed);
                r.set_stream(i as u64 + 1);
                r
            })
            .collect();
        Channels { rngs, last_us: vec![0; NODES * NODES] }
    }

    /// When a message sent now on from->to arrives: a uniform delay (modulo bias below
    /// 1e-15), never before the channel's previous message.
    fn arrival(&mut self, from: usize, to: usize, now: u64) -> u64 {
        let i = from * NODES + to;
        let d = DELAY_US_MIN + self.rngs[i].next_u64() % (DELAY_US_MAX - DELAY_US_MIN + 1);
        let at = (now + d).max(self.last_us[i]);
        self.last_us[i] = at;
        at
    }
}

type Queue = BinaryHeap<Reverse<(u64, u64, u8, u8, Msg)>>;

fn send(q: &mut Queue, ch: &mut Channels, seq: &mut u64, now: u64, from: usize, out: &mut Outbox) {
    for (to, msg) in out.drain(..) {
        *seq += 1;
        q.push(Reverse((ch.arrival(from, to, now), *seq, from as u8, to as u8, msg)));
    }
}

pub fn run(seed: u64) -> Run {
    let cpu0 = cpu_time_us();
    let mut q = Queue::new();
    let mut ch = Channels::new(seed);
    let mut seq = 0;
    let mut leader = Leader::new(PROPOSALS, WINDOW);
    let mut followers: Vec<Follower> = (1..=FOLLOWERS).map(Follower::new).collect();
    let mut out = Outbox::new();
    leader.start(&mut out);
    send(&mut q, &mut ch, &mut seq, 0, 0, &mut out);
    let (mut delivered, mut now) = (0u64, 0u64);
    while let Some(Reverse((at, _, from, to, msg))) = q.pop() {
        now = at;
        delivered += 1;
        let (from, to) = (from as usize, to as usize);
        if to == 0 {
            leader.on_msg(from, msg, &mut out);
        } else {
            followers[to - 1].on_msg(from, msg, &mut out);
        }
        send(&mut q, &mut ch, &mut seq, now, to, &mut out);
    }
    let fs: Vec<&Follower> = followers.iter().collect();
    assert_eq!(check(&leader, &fs), delivered);
    Run { messages: delivered, virtual_us: now, cpu_us: cpu_time_us() - cpu0 }
}
