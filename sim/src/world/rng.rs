//! All randomness of a run: ChaCha streams derived from its one seed, one per purpose, so
//! changing a fault knob does not reshuffle message delays. Sampling is integer-only:
//! floating-point sampling is not guaranteed to be portable.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// What a stream is for; its discriminant is the ChaCha stream number.
#[derive(Copy, Clone, Debug)]
pub enum Purpose {
    Network = 1,
    Faults = 2,
    Workload = 3,
    Disk = 4,
    /// The service workload's clients: their network delays and choices.
    Clients = 5,
    /// The service workload's random client faults, apart from the clients' delays so
    /// that `shrink` can replace them with a script without moving any delay.
    ClientFaults = 6,
    /// A fuzz campaign's own choices (`zabsim fuzz`), from its campaign seed: never a run's.
    Fuzz = 7,
}

/// A deterministic generator for one purpose of one run.
#[derive(Clone, Debug)]
pub struct Stream(ChaCha8Rng);

impl Stream {
    pub fn new(seed: u64, purpose: Purpose) -> Stream {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(purpose as u64);
        Stream(rng)
    }

    /// Stream `index` of a purpose that needs one per link or per server: each is
    /// independent of the others, so that removing a fault (as `shrink` does) changes the
    /// draws only where it changes what happens, not on every link and disk.
    pub fn indexed(seed: u64, purpose: Purpose, index: u64) -> Stream {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(purpose as u64 | (index + 1) << 8);
        Stream(rng)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, n)`, without modulo bias (Lemire's method with rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        if hi - lo == u64::MAX {
            return self.next_u64();
        }
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// An index drawn with the given integer weights (not all zero).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        assert!(total > 0, "all weights are zero");
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        unreachable!("weighted draw past the total")
    }

    /// Picks one element.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Shuffles in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_one_seed_differ_by_purpose() {
        let a = Stream::new(7, Purpose::Network).next_u64();
        let b = Stream::new(7, Purpose::Faults).next_u64();
        assert_ne!(a, b);
        assert_eq!(a, Stream::new(7, Purpose::Network).next_u64());
    }

    #[test]
    fn range_stays_inside() {
        let mut s = Stream::new(1, Purpose::Disk);
        for _ in 0..1000 {
            let x = s.range(5, 9);
            assert!((5..=9).contains(&x));
        }
        assert_eq!(s.range(3, 3), 3);
    }

    #[test]
    fn weighted_never_picks_zero_weight() {
        let mut s = Stream::new(2, Purpose::Workload);
        for _ in 0..1000 {
            assert_ne!(s.weighted(&[1, 0, 3]), 1);
        }
    }
}
