//! The scheduler: virtual time in microseconds and a priority queue of events ordered by
//! (time, sequence). The sequence number breaks ties in the order events were scheduled,
//! so equal-time events never depend on heap internals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Scheduled<E> {
    at_us: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at_us == other.at_us && self.seq == other.seq
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    /// Reversed, so the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_us, other.seq).cmp(&(self.at_us, self.seq))
    }
}

pub struct Scheduler<E> {
    now_us: u64,
    seq: u64,
    queue: BinaryHeap<Scheduled<E>>,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler::new()
    }
}

impl<E> Scheduler<E> {
    pub fn new() -> Scheduler<E> {
        Scheduler { now_us: 0, seq: 0, queue: BinaryHeap::with_capacity(1024) }
    }

    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Schedules `event` at `at_us` (never in the past).
    pub fn at(&mut self, at_us: u64, event: E) {
        assert!(at_us >= self.now_us, "event scheduled in the past: {at_us} < {}", self.now_us);
        self.seq += 1;
        self.queue.push(Scheduled { at_us, seq: self.seq, event });
    }

    pub fn after(&mut self, delay_us: u64, event: E) {
        self.at(self.now_us + delay_us, event);
    }

    /// Takes the next event and advances the clock to it.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let s = self.queue.pop()?;
        debug_assert!(s.at_us >= self.now_us);
        self.now_us = s.at_us;
        Some((s.at_us, s.event))
    }

    /// When the next event is due, without taking it.
    pub fn peek_time(&self) -> Option<u64> {
        self.queue.peek().map(|s| s.at_us)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_schedule_order() {
        let mut s = Scheduler::new();
        s.at(10, "b");
        s.at(5, "a");
        s.at(10, "c");
        assert_eq!(s.pop(), Some((5, "a")));
        assert_eq!(s.pop(), Some((10, "b")));
        assert_eq!(s.pop(), Some((10, "c")));
        assert_eq!(s.now_us(), 10);
        assert_eq!(s.pop(), None);
    }
}
