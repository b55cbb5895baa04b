//! Watching a live server's log: where it is now, the lines since then that match, waiting
//! for one, and recording them as a case's steps. Shared by the finding cases.

use super::extract::read_lines;
use super::run::Run;
use std::time::{Duration, Instant};

/// How many lines server `sid`'s log has now.
pub fn mark(r: &Run, sid: u64) -> usize {
    read_lines(&r.ens.servers[&sid].log_file()).len()
}

/// Server `sid`'s log lines after `from` whose message contains `pat` (is `pat` when it
/// starts with `=`: QuorumPeer's "LOOKING" is also inside FLE's lines), `time message`.
pub fn lines_since(r: &Run, sid: u64, from: usize, pat: &str) -> Vec<String> {
    lines_matching(r, sid, from, &[pat])
}

/// Lines matching any of `pats`, in log order.
pub fn lines_matching(r: &Run, sid: u64, from: usize, pats: &[&str]) -> Vec<String> {
    let hit = |msg: &str, pat: &str| match pat.strip_prefix('=') {
        Some(exact) => msg.trim_end() == exact,
        None => msg.contains(pat),
    };
    read_lines(&r.ens.servers[&sid].log_file())
        .into_iter()
        .skip(from)
        .filter(|l| pats.iter().any(|p| hit(&l.msg, p)))
        .map(|l| format!("{} {}", l.ts.get(11..).unwrap_or(&l.ts), l.msg.trim_end()))
        .collect()
}

/// Waits (up to `limit`, and the case's deadline) for such a line; records it as a step.
pub fn wait_line(r: &mut Run, sid: u64, from: usize, pat: &str, limit: Duration) -> Result<String, String> {
    let end = Instant::now() + limit;
    loop {
        if let Some(l) = lines_since(r, sid, from, pat).into_iter().next() {
            r.ens.step(format!("server {sid} logs: {l}"));
            return Ok(l);
        }
        if Instant::now() > end {
            return Err(format!("server {sid} did not log {pat:?} within {limit:?}"));
        }
        r.ens.tick(pat)?;
    }
}

/// Records, in log order, each line after `from` that matches one of `pats`.
pub fn record_lines(r: &mut Run, sid: u64, from: usize, pats: &[&str]) {
    for l in lines_matching(r, sid, from, pats) {
        r.ens.step(format!("server {sid} logs: {l}"));
    }
}
