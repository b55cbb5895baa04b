//! The ranges input numbers must lie in, and the check that names a field outside its
//! range. A leaf module: scenario files, delay distributions and command-line flags are
//! all checked against these.

use std::ops::RangeInclusive;

/// The largest ensemble a scenario may ask for.
pub const SERVERS_MAX: u64 = 64;

/// The longest span of simulated time a `_ms` field may give: 2^40 ms, about 34.8 years.
/// In microseconds that is below 2^50, so the clock plus a few such spans, or a span
/// converted to microseconds, never comes near 2^64: no time arithmetic can wrap.
pub const TIME_MS_MAX: u64 = 1 << 40;

/// The same span for `_us` fields (delay distributions, the write workload's pace).
pub const TIME_US_MAX: u64 = TIME_MS_MAX * 1000;

/// The longest `tickTime`: a day. ZooKeeper negotiates session timeouts (up to 20 ticks)
/// in an `int` of milliseconds; 20 days of them still fit.
pub const TICK_MS_MAX: u64 = 86_400_000;

/// The highest epoch a server may start with: 2^31, half of what a zxid's 32 epoch bits
/// hold, so that every election of a run (each takes the next epoch) still fits.
pub const EPOCH_MAX: u64 = 1 << 31;

/// The longest initial log (`last_zxid.counter`). The log is built txn by txn when the
/// file loads and held by each server's disk, process and checker, so a 32-bit counter
/// asked for 137 GB: at this limit, 64 servers take about 130 MB.
pub const INITIAL_LOG_MAX: u64 = 10_000;

/// The largest weight of a fault kind: a dozen of them sum far below 2^64.
pub const WEIGHT_MAX: u64 = 1 << 32;

/// The service workload's instances and clients, in all: each is a ZooKeeper client with
/// its own session and state.
pub const SERVICE_CLIENTS_MAX: u64 = 1000;

/// The write workload's clients: only ids, drawn below the service clients' ids.
pub const WORKLOAD_CLIENTS_MAX: u64 = 1 << 20;

/// Checks that `field`'s `value` lies in `range`; the error names the field and the range
/// on one line.
pub fn check_range(field: &str, value: u64, range: RangeInclusive<u64>) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!("{field}: {value} is outside {}..={}", fmt_limit(*range.start()), fmt_limit(*range.end())))
}

/// A limit as the documentation writes it: `2^40`, `2^40 x 1000`, or the number.
fn fmt_limit(v: u64) -> String {
    match v {
        TIME_US_MAX => "2^40 x 1000".into(),
        v if v >= 1 << 16 && v.is_power_of_two() => format!("2^{}", v.trailing_zeros()),
        v if v >= 1 << 16 && v.checked_add(1).is_some_and(u64::is_power_of_two) => {
            format!("2^{}-1", (v + 1).trailing_zeros())
        }
        v => v.to_string(),
    }
}
