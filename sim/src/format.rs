//! How the simulator writes durations, percentiles, hashes and quoted input: one place,
//! so that every command prints them alike. A leaf module.

/// `1.234 s` or `56 ms` or `789 us`.
pub fn fmt_us(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.3} s", us as f64 / 1e6)
    } else if us >= 1000 {
        format!("{} ms", us / 1000)
    } else {
        format!("{us} us")
    }
}

/// The p-th percentile (0..=100) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1);
    sorted[(rank - 1) as usize]
}

/// A duration for an axis tick or a table: `0`, `750 us`, `12 ms`, `1.5 s`.
pub fn fmt_duration(us: u64) -> String {
    if us == 0 {
        "0".to_string()
    } else if us < 1000 {
        format!("{us} us")
    } else if us < 1_000_000 {
        trim_decimals(us as f64 / 1e3, "ms")
    } else {
        trim_decimals(us as f64 / 1e6, "s")
    }
}

fn trim_decimals(v: f64, unit: &str) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {unit}")
}

/// Formats a trace hash the way every command prints it.
pub fn hash_hex(h: u64) -> String {
    format!("{h:016x}")
}

/// `text` cut to `max` characters for an error message, saying it was cut: an error quotes
/// what it read, and what it read may be a crafted megabyte.
pub fn brief(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((i, _)) => format!("{}... ({} bytes)", &text[..i], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 99), 10);
        assert_eq!(percentile(&v, 0), 1);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn long_text_is_quoted_briefly() {
        assert_eq!(brief("short", 64), "short");
        assert_eq!(brief("ééé", 2), "éé... (6 bytes)");
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(fmt_us(1_234_000), "1.234 s");
        assert_eq!(fmt_us(56_789), "56 ms");
        assert_eq!(fmt_us(789), "789 us");
        assert_eq!(fmt_duration(0), "0");
        assert_eq!(fmt_duration(750), "750 us");
        assert_eq!(fmt_duration(12_000), "12 ms");
        assert_eq!(fmt_duration(1_500_000), "1.5 s");
        assert_eq!(fmt_duration(2_345_000), "2.35 s");
        assert_eq!(hash_hex(255), "00000000000000ff");
    }
}
