//! `zabsim explore`: flags, progress, and the model checker's report.

use super::{bad_input, load, refuse_input, EXIT_FAILED};
use crate::format::brief;
use crate::run::cluster::{run_moves, Move, RunOptions};
use crate::scenario::Scenario;
use crate::tools::explore::{
    explore, Bounds, ExploreOptions, Figures, Found, Inject, OnProgress, Order, Outcome, Start, Timers,
};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use zab::release::Release;
use zab::Variant;

/// The most of each budget: enough for the small worlds an explorer exhausts.
const BUDGET_MAX: i64 = 16;

#[derive(clap::Args, Debug)]
pub struct ExploreArgs {
    /// The scenario file (TOML): its servers, initial state, variant and timing; its
    /// random faults and workloads are left out (the budgets below replace them).
    scenario: PathBuf,
    /// Breadth-first (the default): a violation found is one of the shortest.
    #[arg(long, conflicts_with = "dfs")]
    bfs: bool,
    /// Depth-first, on one thread: less memory, paths not the shortest.
    #[arg(long)]
    dfs: bool,
    /// Moves from the initial world at most.
    #[arg(long, value_name = "N")]
    max_depth: Option<u32>,
    /// Stop after this many distinct worlds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_states: Option<u64>,
    /// Server crashes (each losing its unsynced writes, or with them all written back).
    #[arg(long, value_name = "K", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=BUDGET_MAX))]
    crashes: u8,
    /// Restarts of crashed servers.
    #[arg(long, value_name = "K", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=BUDGET_MAX))]
    restarts: u8,
    /// Client writes, each to the established leader.
    #[arg(long, value_name = "K", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=BUDGET_MAX))]
    writes: u8,
    /// Isolations of one server from the others (each healed by a `heal` move).
    #[arg(long, value_name = "K", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=BUDGET_MAX))]
    partitions: u8,
    /// When timers may fire: `quiescent` (nothing else pending, earliest due first,
    /// never while the ensemble rests) or `any` (whenever armed; needs --max-depth).
    #[arg(long, value_name = "WHEN", default_value = "quiescent", value_parser = parse_timers)]
    timers: Timers,
    /// When writes, restarts, isolations and heals may happen: `rest` (only while the
    /// ensemble rests: an established leader every live server follows, nothing in
    /// flight), `quiescent` (only while no message, connection news or fsync is pending)
    /// or `any`. Crashes may happen at any moment whatever this says.
    #[arg(long, value_name = "WHEN", default_value = "rest", value_parser = parse_inject)]
    inject: Inject,
    /// Where the search starts: `initial` (every server just started) or `rest` (the
    /// first world at rest that the scheduler's own order reaches: an established leader
    /// every server follows, nothing in flight).
    #[arg(long, value_name = "WHERE", default_value = "initial", value_parser = parse_start)]
    from: Start,
    /// Frontier worlds kept whole (each tens of KB); the others are made again from
    /// their moves when their turn comes, which bounds memory.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    frontier_worlds: usize,
    /// Threads for breadth-first search (default: all cores); the result is the same
    /// for any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    #[arg(long, value_name = "NAME")]
    variant: Option<Variant>,
    /// The ZooKeeper release, overriding the scenario's.
    #[arg(long, value_name = "VERSION")]
    zookeeper: Option<Release>,
    /// Write the counterexample as a trace (`zabsim replay` confirms it, `zabsim diagram`
    /// draws it).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

fn parse_inject(s: &str) -> Result<Inject, String> {
    match s {
        "rest" => Ok(Inject::Rest),
        "quiescent" => Ok(Inject::Quiescent),
        "any" => Ok(Inject::Any),
        _ => Err(format!("`{}`: expected `rest`, `quiescent` or `any`", brief(s, 40))),
    }
}

fn inject_name(i: Inject) -> &'static str {
    match i {
        Inject::Rest => "rest",
        Inject::Quiescent => "quiescent",
        Inject::Any => "any",
    }
}

fn parse_start(s: &str) -> Result<Start, String> {
    match s {
        "initial" => Ok(Start::Initial),
        "rest" => Ok(Start::Rest),
        _ => Err(format!("`{}`: expected `initial` or `rest`", brief(s, 40))),
    }
}

fn parse_timers(s: &str) -> Result<Timers, String> {
    match s {
        "quiescent" => Ok(Timers::Quiescent),
        "any" => Ok(Timers::Any),
        _ => Err(format!("`{}`: expected `quiescent` or `any`", brief(s, 40))),
    }
}

pub fn cmd_explore(a: ExploreArgs) -> ExitCode {
    let scenario = match load(&a.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if a.timers == Timers::Any && a.max_depth.is_none() {
        return bad_input("--timers any: needs --max-depth (timers that fire at any moment never run out)");
    }
    if let Some(Err(e)) = a.trace.as_deref().map(|t| refuse_input("--trace", t, &[&a.scenario])) {
        return bad_input(e);
    }
    let bounds = Bounds {
        crashes: a.crashes,
        restarts: a.restarts,
        writes: a.writes,
        partitions: a.partitions,
        max_depth: a.max_depth,
        max_states: a.max_states,
        timers: a.timers,
        inject: a.inject,
    };
    let jobs = a.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |j| j as usize);
    let order = if a.dfs { Order::Dfs } else { Order::Bfs };
    #[allow(clippy::disallowed_methods)] // Wall-clock time of the search itself, never of a run.
    let started = Instant::now();
    let bar = progress_bar(!a.json && std::io::stderr().is_terminal());
    let shown = bar.clone();
    let on_progress: OnProgress = Box::new(move |f: &Figures| {
        let rate = f.generated as f64 / started.elapsed().as_secs_f64().max(1e-9);
        shown.set_message(format!(
            "depth {}  generated {}  distinct {}  queue {}  {:.0} states/s",
            f.depth, f.generated, f.distinct, f.queue, rate
        ));
    });
    let opts = ExploreOptions {
        order,
        bounds: bounds.clone(),
        jobs,
        variant: a.variant,
        release: a.zookeeper,
        start: a.from,
        frontier_worlds: a.frontier_worlds,
        on_progress: Some(on_progress),
    };
    let outcome = match explore(&scenario, opts) {
        Ok(o) => o,
        Err(e) => {
            bar.finish_and_clear();
            return bad_input(e);
        }
    };
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let variant = a.variant.unwrap_or(scenario.variant);
    let release = a.zookeeper.unwrap_or(scenario.zookeeper);
    let written = match (&a.trace, &outcome.violation) {
        (Some(path), Some(found)) => match write_trace(&scenario, &a.scenario, path, (variant, release), found) {
            Ok(()) => Some(path.clone()),
            Err(e) => {
                eprintln!("error: --trace {}: {e}", path.display());
                return ExitCode::from(EXIT_FAILED);
            }
        },
        _ => None,
    };
    let header = Header { scenario: &scenario, variant, release, order, bounds: &bounds, jobs, secs };
    if a.json {
        outln!("{}", json(&header, &outcome));
    } else {
        report(&header, &outcome, written.as_deref());
    }
    if outcome.violation.is_some() {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn progress_bar(shown: bool) -> indicatif::ProgressBar {
    if !shown {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Runs the counterexample's moves again with a trace, and checks it ends as found.
fn write_trace(
    scenario: &Scenario,
    scenario_path: &Path,
    path: &Path,
    (variant, release): (Variant, Release),
    found: &Found,
) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| format!("cannot write: {e}"))?;
    let mut opts = RunOptions::new(0);
    opts.variant = Some(variant);
    opts.release = Some(release);
    opts.scenario_path = scenario_path.display().to_string();
    opts.moves = found.moves.iter().map(Move::to_string).collect();
    opts.trace = Some(Box::new(BufWriter::with_capacity(1 << 16, file)));
    let report = run_moves(scenario, opts, &found.moves)?;
    if let Some(e) = report.trace_error {
        return Err(e);
    }
    match report.violation {
        Some(v) if v.invariant == found.violation.invariant => Ok(()),
        other => Err(format!(
            "the moves, taken again, ended in {} instead of {}",
            other.map_or("no violation".to_string(), |v| v.invariant.to_string()),
            found.violation.invariant
        )),
    }
}

struct Header<'a> {
    scenario: &'a Scenario,
    variant: Variant,
    release: Release,
    order: Order,
    bounds: &'a Bounds,
    jobs: usize,
    secs: f64,
}

impl Header<'_> {
    fn budgets(&self) -> String {
        let b = self.bounds;
        let depth = b.max_depth.map_or("none".to_string(), |d| d.to_string());
        let timers = if b.timers == Timers::Quiescent { "quiescent" } else { "any" };
        let inject = inject_name(b.inject);
        format!(
            "crashes {}, restarts {}, writes {}, partitions {}, max depth {depth}, timers {timers}, inject {inject}",
            b.crashes, b.restarts, b.writes, b.partitions
        )
    }
}

/// The chance that two distinct worlds share a 64-bit hash somewhere in the search, so
/// that one is wrongly taken for seen: at most n(n-1)/2 pairs, each 2^-64.
fn collision_bound(distinct: u64) -> f64 {
    let n = distinct as f64;
    n * (n - 1.0) / 2.0 / 2f64.powi(64)
}

fn report(h: &Header, o: &Outcome, trace: Option<&Path>) {
    let f = &o.figures;
    let order = if h.order == Order::Bfs { format!("BFS on {} threads", h.jobs) } else { "DFS".to_string() };
    outln!("explore {} (variant {}, ZooKeeper {}): {order}", h.scenario.name, h.variant.name(), h.release.name());
    outln!("bounds: {}", h.budgets());
    outln!(
        "{} generated, {} distinct worlds, depth {}, queue at most {}, {:.1} s ({:.0} worlds/s)",
        f.generated,
        f.distinct,
        f.depth,
        f.queue_max,
        h.secs,
        f.generated as f64 / h.secs.max(1e-9)
    );
    for k in &o.known {
        outln!(
            "known finding {} reached at depth {} (not expanded further): {}",
            k.violation.invariant,
            k.moves.len(),
            brief(&k.violation.detail, 200)
        );
    }
    match &o.violation {
        Some(found) => {
            outln!("VIOLATION {} at depth {}: {}", found.violation.invariant, found.moves.len(), found.violation.detail);
            outln!("moves:");
            for (i, m) in found.moves.iter().enumerate() {
                outln!("  {:>3}  {m}", i + 1);
            }
            match trace {
                Some(t) => outln!(
                    "trace written to {0}: `zabsim replay {0}` confirms it, `zabsim diagram {0} -o FILE.html` draws it",
                    t.display()
                ),
                None => outln!("(--trace FILE writes it as a trace that replay confirms and diagram draws)"),
            }
        }
        None if o.exhausted => outln!(
            "no violation in {} distinct worlds: every world within these bounds was seen (hash collision chance below {:.1e})",
            f.distinct,
            collision_bound(f.distinct)
        ),
        None => outln!(
            "no violation in {} distinct worlds, but the search was cut short by {}: not exhaustive",
            f.distinct,
            o.cut_by.unwrap_or("a bound")
        ),
    }
}

fn json(h: &Header, o: &Outcome) -> String {
    let found = |f: &Found| {
        serde_json::json!({
            "invariant": f.violation.invariant.to_string(),
            "detail": f.violation.detail,
            "depth": f.moves.len(),
            "moves": f.moves.iter().map(Move::to_string).collect::<Vec<_>>(),
        })
    };
    let b = h.bounds;
    serde_json::json!({
        "scenario": h.scenario.name,
        "variant": h.variant.name(),
        "zookeeper": h.release.name(),
        "order": if h.order == Order::Bfs { "bfs" } else { "dfs" },
        "jobs": h.jobs,
        "bounds": {
            "crashes": b.crashes, "restarts": b.restarts, "writes": b.writes, "partitions": b.partitions,
            "max_depth": b.max_depth, "max_states": b.max_states,
            "timers": if b.timers == Timers::Quiescent { "quiescent" } else { "any" },
            "inject": inject_name(b.inject),
        },
        "figures": o.figures,
        "seconds": h.secs,
        "exhausted": o.exhausted,
        "cut_by": o.cut_by,
        "collision_bound": collision_bound(o.figures.distinct),
        "violation": o.violation.as_ref().map(found),
        "known": o.known.iter().map(found).collect::<Vec<_>>(),
    })
    .to_string()
}
