//! The peer benchmark's driver: runs zabsim's engine and a peer alternately, each run in a
//! fresh process that reports the CPU time it used, and prints messages per CPU-second per
//! engine and the ratio zabsim/peer over the pairs (min, median, max).
//!
//! ```text
//! peers one ENGINE SEED                  one run, one line: engine= seed= messages= virtual_us= cpu_us=
//! peers bench [--pairs N] [--madsim BIN] [--engines a,b,...]
//! ```
//!
//! `bench/peers/run.sh` builds both binaries (madsim's with `--cfg madsim`) and runs the
//! bench.

mod floor;
mod stateright_engine;
mod turmoil_engine;
mod zabsim_engine;

use peers_workload::{Run, PROPOSALS, WINDOW};
use std::process::{exit, Command};

const ENGINES: [&str; 6] = ["zabsim", "floor", "turmoil", "madsim", "stateright-walk", "stateright-bfs"];

fn fail(msg: &str) -> ! {
    eprintln!("peers: {msg}");
    exit(2)
}

fn run_here(engine: &str, seed: u64) -> Run {
    match engine {
        "zabsim" => zabsim_engine::run(seed),
        "floor" => floor::run(seed),
        "turmoil" => turmoil_engine::run(seed),
        "stateright-walk" => stateright_engine::walk(seed),
        "stateright-bfs" => stateright_engine::bfs(seed),
        "madsim" => fail("madsim runs in its own binary (peers-madsim, built with --cfg madsim)"),
        _ => fail(&format!("unknown engine {engine:?}; one of {}", ENGINES.join(", "))),
    }
}

/// One run in a child process, so that every run starts from a fresh heap and allocator.
fn run_child(engine: &str, seed: u64, madsim: Option<&str>) -> Run {
    let mut cmd = match (engine, madsim) {
        ("madsim", Some(bin)) => Command::new(bin),
        ("madsim", None) => fail("--madsim BIN is needed to run madsim"),
        _ => {
            let mut c = Command::new(std::env::current_exe().unwrap_or_else(|e| fail(&format!("own path: {e}"))));
            c.args(["one", engine]);
            c
        }
    };
    let out = cmd.arg(seed.to_string()).output().unwrap_or_else(|e| fail(&format!("{engine}: {e}")));
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        fail(&format!("{engine} seed {seed} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    match stdout.lines().find_map(Run::parse) {
        Some((e, run)) if e == engine => run,
        _ => fail(&format!("{engine} seed {seed}: no result line in {stdout:?}")),
    }
}

fn per_cpu_second(r: &Run) -> f64 {
    r.messages as f64 / (r.cpu_us.max(1) as f64 / 1e6)
}

/// (min, median, max); the median of an even count is the mean of the middle two.
fn spread(mut xs: Vec<f64>) -> (f64, f64, f64) {
    assert!(!xs.is_empty());
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if !n.is_multiple_of(2) { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 };
    (xs[0], median, xs[n - 1])
}

fn rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ratio(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}x")
    } else if x >= 10.0 {
        format!("{x:.1}x")
    } else {
        format!("{x:.2}x")
    }
}

/// 3196017 -> "3,196,017".
fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn triple(t: (f64, f64, f64), f: fn(f64) -> String) -> String {
    format!("{} / {} / {}", f(t.0), f(t.1), f(t.2))
}

fn bench(args: &[String]) {
    let mut pairs = 5u64;
    let mut madsim: Option<String> = None;
    let mut peers: Vec<String> = ENGINES[1..].iter().map(|s| s.to_string()).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| fail(&format!("{a} needs a value")));
        match a.as_str() {
            "--pairs" => {
                pairs = value().parse().unwrap_or_else(|_| fail("--pairs: not a number"));
                if pairs == 0 {
                    fail("--pairs: at least 1");
                }
            }
            "--madsim" => madsim = Some(value().clone()),
            "--engines" => {
                peers = value().split(',').map(str::to_string).collect();
                if let Some(e) = peers.iter().find(|e| !ENGINES[1..].contains(&e.as_str())) {
                    fail(&format!("--engines: unknown engine {e:?}; one of {}", ENGINES[1..].join(", ")));
                }
            }
            _ => fail(&format!("unknown option {a:?}")),
        }
    }
    if peers.iter().any(|p| p == "madsim") && madsim.is_none() {
        fail("--madsim BIN is needed to run madsim (or leave it out with --engines)");
    }
    let mut zabsim_runs = Vec::new();
    // Per peer: its runs and the zabsim run just before each.
    let mut results: Vec<(String, Vec<(Run, Run)>)> = peers.iter().map(|p| (p.clone(), Vec::new())).collect();
    for pair in 0..pairs {
        let seed = pair + 1;
        for (peer, runs) in &mut results {
            let a = run_child("zabsim", seed, None);
            let b = run_child(peer, seed, madsim.as_deref());
            eprintln!(
                "pair {seed}: zabsim {} msgs {} us cpu | {peer} {} msgs {} us cpu",
                a.messages, a.cpu_us, b.messages, b.cpu_us
            );
            zabsim_runs.push(a);
            runs.push((a, b));
        }
    }
    println!(
        "Workload: 1 leader, 4 followers, {PROPOSALS} proposals (window {WINDOW}), delays uniform \
         200-2000 us, FIFO per channel; {pairs} pairs per peer, each run in its own process, CPU \
         time from getrusage."
    );
    println!();
    println!("| engine | messages/run | virtual time/run | messages per CPU-second (min / median / max) | zabsim/engine (min / median / max) |");
    println!("| --- | --- | --- | --- | --- |");
    let z = &zabsim_runs[0];
    println!(
        "| zabsim (engine) | {} | {:.2} s | {} | 1 |",
        count(z.messages),
        z.virtual_us as f64 / 1e6,
        triple(spread(zabsim_runs.iter().map(per_cpu_second).collect()), rate)
    );
    for (peer, runs) in &results {
        let b = &runs[0].1;
        let virt = if b.virtual_us == 0 { "none".to_string() } else { format!("{:.2} s", b.virtual_us as f64 / 1e6) };
        let rates = spread(runs.iter().map(|(_, b)| per_cpu_second(b)).collect());
        let ratios = spread(runs.iter().map(|(a, b)| per_cpu_second(a) / per_cpu_second(b)).collect());
        println!("| {peer} | {} | {virt} | {} | {} |", count(b.messages), triple(rates, rate), triple(ratios, ratio));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("one") => {
            let (Some(engine), Some(seed)) = (args.get(1), args.get(2)) else { fail("usage: peers one ENGINE SEED") };
            let seed: u64 = seed.parse().unwrap_or_else(|_| fail(&format!("seed: not a number: {seed:?}")));
            println!("{}", run_here(engine, seed).line(engine, seed));
        }
        Some("bench") => bench(&args[1..]),
        _ => fail("usage: peers one ENGINE SEED | peers bench [--pairs N] [--madsim BIN] [--engines a,b,...]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peers_workload::messages;

    #[test]
    fn spread_takes_min_median_max() {
        assert_eq!(spread(vec![3.0, 1.0, 2.0]), (1.0, 2.0, 3.0));
        assert_eq!(spread(vec![4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
        assert_eq!(count(3196017), "3,196,017");
        assert_eq!(count(120), "120");
    }

    /// Each in-process engine delivers every message; the seeded ones repeat themselves.
    #[test]
    fn every_engine_delivers_every_message() {
        for engine in ["zabsim", "floor", "turmoil"] {
            let a = run_here(engine, 7);
            assert_eq!(a.messages, messages(PROPOSALS), "{engine}");
            assert!(a.virtual_us > 0, "{engine}");
            assert_eq!(run_here(engine, 7).virtual_us, a.virtual_us, "{engine} repeats a seed");
        }
        assert_eq!(run_here("stateright-walk", 7).messages, messages(PROPOSALS));
    }

    #[test]
    fn stateright_bfs_finishes_its_instance() {
        assert!(run_here("stateright-bfs", 1).messages > messages(stateright_engine::BFS_PROPOSALS));
    }
}
