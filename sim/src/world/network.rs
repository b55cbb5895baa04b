//! The network: one FIFO channel per ordered pair of servers (TCP semantics), delays
//! from the scenario, and connectivity as a dense matrix of directed links that
//! partitions and cuts remove.
//!
//! A channel a->b carries messages while both servers are up and the directed link a->b
//! is up. Breaking it (a cut, a crash) loses every message in flight on it: each
//! message carries the channel's incarnation, and a delivery whose incarnation is stale is
//! dropped. FIFO holds because a message is never delivered before the one sent before
//! it on the same channel (ties keep send order through the scheduler's sequence).

use crate::world::dist::Delay;
use crate::world::rng::Stream;
use zab::Sid;

/// A set of directed links removed together, healed together.
#[derive(Clone, Debug)]
struct ActiveCut {
    id: u64,
    links: Vec<(Sid, Sid)>,
    /// The servers this cut counts as cut off (the minority side).
    isolated: Vec<Sid>,
}

/// Connectivity, channels and delays for servers 1..=n.
#[derive(Clone, Debug)]
pub struct Network {
    n: usize,
    /// Connectivity: `linked[a->b]` means a's messages reach b; the complete digraph
    /// minus every active cut.
    linked: Vec<bool>,
    /// Bumped whenever channel a->b breaks.
    incarnation: Vec<u64>,
    /// When the last message on a->b is delivered (FIFO).
    last_delivery_us: Vec<u64>,
    /// Extra delay on a->b (slow links).
    extra_us: Vec<u64>,
    cuts: Vec<ActiveCut>,
    delay: Delay,
    /// Each channel's own delay stream.
    rngs: Vec<Stream>,
}

impl Network {
    pub fn new(n: u64, delay: Delay, seed: u64) -> Network {
        let n = n as usize;
        let rngs = (0..n * n).map(|i| Stream::indexed(seed, crate::world::rng::Purpose::Network, i as u64)).collect();
        let mut net = Network {
            n,
            linked: vec![false; n * n],
            incarnation: vec![0; n * n],
            last_delivery_us: vec![0; n * n],
            extra_us: vec![0; n * n],
            cuts: Vec::new(),
            delay,
            rngs,
        };
        net.rebuild();
        net
    }

    fn idx(&self, from: Sid, to: Sid) -> usize {
        debug_assert!(from >= 1 && to >= 1 && from as usize <= self.n && to as usize <= self.n);
        (from as usize - 1) * self.n + (to as usize - 1)
    }

    /// Is the directed link from->to in the graph (regardless of crashes)?
    pub fn is_linked(&self, from: Sid, to: Sid) -> bool {
        self.linked[self.idx(from, to)]
    }

    pub fn incarnation(&self, from: Sid, to: Sid) -> u64 {
        self.incarnation[self.idx(from, to)]
    }

    /// Schedules one message on from->to: its delivery time, FIFO after the previous one,
    /// and the channel incarnation it travels in.
    pub fn transmit(&mut self, from: Sid, to: Sid, now_us: u64) -> (u64, u64) {
        let i = self.idx(from, to);
        let delay_us = self.delay.sample(&mut self.rngs[i]).saturating_add(self.extra_us[i]);
        let at = now_us.saturating_add(delay_us).max(self.last_delivery_us[i]);
        self.last_delivery_us[i] = at;
        (at, self.incarnation[i])
    }

    /// One network delay on from->to, drawn from that channel's stream (how long news of
    /// a connection takes).
    pub fn sample_delay(&mut self, from: Sid, to: Sid) -> u64 {
        let i = self.idx(from, to);
        self.delay.sample(&mut self.rngs[i])
    }

    /// Breaks channel from->to: messages in flight on it are lost.
    pub fn break_channel(&mut self, from: Sid, to: Sid) {
        let i = self.idx(from, to);
        self.incarnation[i] += 1;
    }

    /// Removes `links` under `id`, counting `isolated` as cut off; returns the links that
    /// went from present to absent.
    pub fn cut(&mut self, id: u64, links: Vec<(Sid, Sid)>, isolated: Vec<Sid>) -> Vec<(Sid, Sid)> {
        let before = self.linked.clone();
        self.cuts.push(ActiveCut { id, links, isolated });
        self.rebuild();
        self.changed(&before, false)
    }

    /// Heals one cut; returns the links that came back.
    pub fn heal(&mut self, id: u64) -> Vec<(Sid, Sid)> {
        let before = self.linked.clone();
        self.cuts.retain(|c| c.id != id);
        self.rebuild();
        self.changed(&before, true)
    }

    /// Heals every cut and removes every extra delay; returns the links that came back.
    pub fn heal_all(&mut self) -> Vec<(Sid, Sid)> {
        self.extra_us.iter_mut().for_each(|x| *x = 0);
        if self.cuts.is_empty() {
            return Vec::new(); // Every link is up already: nothing to rebuild.
        }
        let before = self.linked.clone();
        self.cuts.clear();
        self.rebuild();
        self.changed(&before, true)
    }

    pub fn has_cuts(&self) -> bool {
        !self.cuts.is_empty()
    }

    pub fn set_extra_delay(&mut self, from: Sid, to: Sid, extra_us: u64) {
        let i = self.idx(from, to);
        self.extra_us[i] = extra_us;
    }

    /// Servers some active cut isolates from the rest.
    pub fn cut_off(&self) -> Vec<Sid> {
        let mut v: Vec<Sid> = self.cuts.iter().flat_map(|c| c.isolated.iter().copied()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The links: the complete digraph minus every active cut.
    fn rebuild(&mut self) {
        let mut linked = vec![true; self.n * self.n];
        for a in 1..=self.n as Sid {
            let i = self.idx(a, a);
            linked[i] = false;
        }
        for c in &self.cuts {
            for &(a, b) in &c.links {
                let i = self.idx(a, b);
                linked[i] = false;
            }
        }
        self.linked = linked;
    }

    fn changed(&self, before: &[bool], now_linked: bool) -> Vec<(Sid, Sid)> {
        let mut v = Vec::new();
        for a in 1..=self.n as Sid {
            for b in 1..=self.n as Sid {
                let i = self.idx(a, b);
                if before[i] != self.linked[i] && self.linked[i] == now_linked {
                    v.push((a, b));
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_is_kept_under_random_delays() {
        let mut net = Network::new(2, Delay::Uniform { min_us: 1, max_us: 1000 }, 9);
        let mut last = 0;
        for t in 0..1000 {
            let (at, _) = net.transmit(1, 2, t);
            assert!(at >= last, "message sent at {t} overtakes the previous one");
            last = at;
        }
    }

    #[test]
    fn one_way_cut_leaves_the_other_direction() {
        let mut net = Network::new(3, Delay::Constant { us: 1 }, 1);
        let lost = net.cut(1, vec![(1, 2)], vec![1]);
        assert_eq!(lost, vec![(1, 2)]);
        assert!(!net.is_linked(1, 2));
        assert!(net.is_linked(2, 1));
        assert_eq!(net.heal(1), vec![(1, 2)]);
        assert!(net.is_linked(1, 2));
    }

    #[test]
    fn overlapping_cuts_heal_independently() {
        let mut net = Network::new(3, Delay::Constant { us: 1 }, 1);
        net.cut(1, vec![(1, 2), (2, 1)], vec![1]);
        net.cut(2, vec![(1, 2)], vec![1]);
        assert_eq!(net.heal(1), vec![(2, 1)]);
        assert!(!net.is_linked(1, 2));
        assert_eq!(net.heal_all(), vec![(1, 2)]);
    }
}
