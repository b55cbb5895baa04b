//! Delay distributions, sampled in integer microseconds.

use crate::bounds::{check_range, TIME_US_MAX};
use crate::world::rng::Stream;
use serde::{Deserialize, Serialize};

/// A distribution of delays (network latency, fsync latency), in microseconds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Delay {
    /// Always `us`.
    Constant { us: u64 },
    /// Uniform in `[min_us, max_us]`.
    Uniform { min_us: u64, max_us: u64 },
    /// Heavy-tailed: `min_us` plus a uniform draw in `[0, scale_us * 2^k]` where `k` is
    /// geometric (P(k >= j) = 2^-j), capped at `max_us`. The tail falls off like a Pareto
    /// with index 1: most draws are near `min_us + scale_us / 2`, a few are far out.
    LongTail { min_us: u64, scale_us: u64, max_us: u64 },
}

impl Delay {
    pub fn sample(&self, rng: &mut Stream) -> u64 {
        match *self {
            Delay::Constant { us } => us,
            Delay::Uniform { min_us, max_us } => rng.range(min_us, max_us),
            Delay::LongTail { min_us, scale_us, max_us } => {
                let k = rng.next_u64().trailing_zeros().min(40);
                let spread = scale_us.saturating_mul(1u64 << k);
                min_us.saturating_add(rng.range(0, spread)).min(max_us)
            }
        }
    }

    /// The largest value the distribution can produce.
    pub fn max_us(&self) -> u64 {
        match *self {
            Delay::Constant { us } => us,
            Delay::Uniform { max_us, .. } | Delay::LongTail { max_us, .. } => max_us,
        }
    }

    /// Checks the parameters (each at most [`TIME_US_MAX`], `min_us <= max_us`); the
    /// error names the parameter under `field` (`network.delay.max_us: ...`).
    pub fn validate(&self, field: &str) -> Result<(), String> {
        let params: &[(&str, u64)] = match self {
            Delay::Constant { us } => &[("us", *us)],
            Delay::Uniform { min_us, max_us } => &[("min_us", *min_us), ("max_us", *max_us)],
            Delay::LongTail { min_us, scale_us, max_us } => {
                &[("min_us", *min_us), ("scale_us", *scale_us), ("max_us", *max_us)]
            }
        };
        for (name, v) in params {
            let lo = u64::from(*name == "scale_us");
            check_range(&format!("{field}.{name}"), *v, lo..=TIME_US_MAX)?;
        }
        match *self {
            Delay::Uniform { min_us, max_us } | Delay::LongTail { min_us, max_us, .. } if min_us > max_us => {
                Err(format!("{field}: min_us ({min_us}) is above max_us ({max_us})"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::rng::Purpose;

    #[test]
    fn long_tail_is_bounded_and_mostly_short() {
        let d = Delay::LongTail { min_us: 100, scale_us: 1000, max_us: 1_000_000 };
        let mut rng = Stream::new(3, Purpose::Network);
        let xs: Vec<u64> = (0..10_000).map(|_| d.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| (100..=1_000_000).contains(x)));
        let short = xs.iter().filter(|x| **x <= 2100).count();
        let long = xs.iter().filter(|x| **x > 20_000).count();
        assert!(short > 7000, "most draws are short: {short}");
        assert!(long > 0, "some draws are far out");
    }
}
