//! The scheduler: virtual time in microseconds and a priority queue of events ordered by
//! (time, sequence). The sequence number breaks ties in the order events were scheduled,
//! so equal-time events never depend on heap internals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What the heap orders: when, in which order, and where the event waits. The events
/// themselves stay put in a slab, so that sifting the heap moves 24 bytes, not a whole
/// event (which can carry a message or a client request).
#[derive(PartialEq, Eq)]
struct Key {
    at_us: u64,
    seq: u64,
    slot: u32,
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// Reversed, so the max-heap pops the earliest event first. `seq` is unique, so the
    /// slot never decides.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_us, other.seq).cmp(&(self.at_us, self.seq))
    }
}

pub struct Scheduler<E> {
    now_us: u64,
    seq: u64,
    queue: BinaryHeap<Key>,
    /// Events by slot; `None` for a free slot.
    slots: Vec<Option<E>>,
    free: Vec<u32>,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler::new()
    }
}

impl<E> Scheduler<E> {
    pub fn new() -> Scheduler<E> {
        Scheduler {
            now_us: 0,
            seq: 0,
            queue: BinaryHeap::with_capacity(1024),
            slots: Vec::with_capacity(1024),
            free: Vec::new(),
        }
    }

    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Schedules `event` at `at_us` (never in the past).
    pub fn at(&mut self, at_us: u64, event: E) {
        assert!(at_us >= self.now_us, "event scheduled in the past: {at_us} < {}", self.now_us);
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending events")
            }
        };
        self.queue.push(Key { at_us, seq: self.seq, slot });
    }

    pub fn after(&mut self, delay_us: u64, event: E) {
        self.at(self.now_us + delay_us, event);
    }

    /// Takes the next event and advances the clock to it.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let k = self.queue.pop()?;
        debug_assert!(k.at_us >= self.now_us);
        self.now_us = k.at_us;
        let event = self.slots[k.slot as usize].take().expect("a queued key's slot holds its event");
        self.free.push(k.slot);
        Some((k.at_us, event))
    }

    /// When the next event is due, without taking it.
    pub fn peek_time(&self) -> Option<u64> {
        self.queue.peek().map(|k| k.at_us)
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
