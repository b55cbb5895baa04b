//! Simulator speed: events per second on one core for shipped scenarios, seeds per
//! second, the checker's cost (on vs off), and how long shrinking a bug variant takes.
//!
//! `cargo bench --bench sim`; CI runs `cargo bench --no-run` so these keep compiling.

/// The allocator the `zabsim` binary runs with (sim/src/main.rs), so that these figures
/// are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::PathBuf;
use zabsim::{run, RunOptions, Scenario};

fn scenario(name: &str) -> Scenario {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("scenarios").join(format!("{name}.toml"));
    Scenario::load(&p).unwrap_or_else(|e| panic!("{e}"))
}

/// Events one batch of seeds produces (the same every time: runs are deterministic).
fn events_of(s: &Scenario, seeds: std::ops::Range<u64>, check: bool) -> u64 {
    seeds
        .map(|seed| {
            let mut o = RunOptions::new(seed);
            o.check = check;
            run(s, o).events
        })
        .sum()
}

fn events_per_second(c: &mut Criterion) {
    let mut g = c.benchmark_group("events");
    for name in ["election-basic", "leader-crash", "partition-flapping", "steady-writes", "leader-failover", "zk-1419"]
    {
        let s = scenario(name);
        let seeds = match name {
            "zk-1419" | "steady-writes" | "leader-failover" => 0..2,
            _ => 0..20,
        };
        g.throughput(Throughput::Elements(events_of(&s, seeds.clone(), true)));
        g.bench_with_input(BenchmarkId::from_parameter(name), &s, |b, s| b.iter(|| events_of(s, seeds.clone(), true)));
    }
    g.finish();
}

fn seeds_per_second(c: &mut Criterion) {
    let mut g = c.benchmark_group("seeds");
    for (name, n) in [
        ("leader-crash", 20),
        ("steady-writes", 2),
        ("leader-failover", 2),
        ("service-failover", 10),
        ("migrate-3-to-3", 10),
    ] {
        let s = scenario(name);
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| b.iter(|| events_of(&s, 0..n, true)));
    }
    g.finish();
}

fn checker_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("checker");
    for (name, n) in [("partition-flapping", 20), ("leader-failover", 2), ("migrate-3-to-3", 10)] {
        let s = scenario(name);
        for check in [true, false] {
            let label = if check { "on" } else { "off" };
            g.bench_with_input(BenchmarkId::new(name, label), &check, |b, &check| {
                b.iter(|| events_of(&s, 0..n, check))
            });
        }
    }
    g.finish();
}

/// How long `shrink` takes on a bug variant's failing seed.
fn shrink_time(c: &mut Criterion) {
    let mut g = c.benchmark_group("shrink");
    for (name, seed) in [("zk-2845", 0), ("zk-1154", 32)] {
        let s = scenario(name);
        g.bench_function(name, |b| b.iter(|| zabsim::tools::shrink::shrink(&s, seed, None).expect("the seed fails")));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = events_per_second, seeds_per_second, checker_overhead, shrink_time
}
criterion_main!(benches);
