//! `zabsim report`: a Markdown report with SVG plots from the per-seed outcomes a sweep
//! writes with `--out` (one [`SeedOutcome`] per line), optionally side by side with a
//! second sweep (`--vs`).
//!
//! The report depends only on its inputs (and the paths they were given as), never on the
//! wall clock or the machine: the same files give byte-identical output.

use crate::format::fmt_duration;
use crate::present::svg::{self, Series};
use crate::tools::sweep::SeedOutcome;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// How many failing seeds get a replay command, per invariant and sweep.
pub const REPLAYS_SHOWN_MAX: usize = 5;

/// One sweep's outcomes, as read from a `--out` file.
pub struct Sweep {
    /// The file, as given on the command line.
    pub path: String,
    pub outcomes: Vec<SeedOutcome>,
}

impl Sweep {
    pub fn scenario(&self) -> &str {
        &self.outcomes[0].scenario
    }

    /// `scenario (variant)`: the name a sweep goes by in plots and tables.
    pub fn label(&self) -> String {
        format!("{} ({})", self.scenario(), self.outcomes[0].variant)
    }

    /// `A..B` when the seeds are contiguous, else how many and their span.
    pub fn seeds(&self) -> String {
        let first = self.outcomes.first().map_or(0, |o| o.seed);
        let last = self.outcomes.last().map_or(0, |o| o.seed);
        if (last - first).checked_add(1) == Some(self.outcomes.len() as u64) && last < u64::MAX {
            format!("{first}..{}", last + 1)
        } else {
            format!("{} seeds between {first} and {last}", self.outcomes.len())
        }
    }
}

/// Reads a sweep's `--out` file. Errors name the file and, for a bad line, the line and
/// field: unknown fields and durations beyond the run are refused (see
/// [`crate::tools::sweep::parse_outcome`]); the lines must be of one scenario and variant (and
/// scenario content, where the lines record it), with no seed twice.
pub fn load(path: &Path) -> Result<Sweep, String> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let mut lines = crate::trace::JsonLines::new(std::io::BufReader::new(file));
    let mut outcomes: Vec<SeedOutcome> = Vec::new();
    let mut first_line = 0;
    while let Some((o, n)) = crate::tools::sweep::read_outcome(&name, &mut lines)? {
        match outcomes.first() {
            None => first_line = n,
            Some(first) if (&first.scenario, first.variant) != (&o.scenario, o.variant) => {
                let brief = |s: &str| crate::format::brief(s, 64);
                return Err(format!(
                    "{name}: line {n}: scenario {} variant {}, but line {first_line} has scenario {} variant {}",
                    brief(&o.scenario),
                    o.variant,
                    brief(&first.scenario),
                    first.variant
                ));
            }
            Some(first) if first.scenario_hash != o.scenario_hash => {
                let hash = |h: &Option<String>| h.as_deref().map_or("none".into(), |h| crate::format::brief(h, 64));
                return Err(format!(
                    "{name}: line {n}: scenario content hash {}, but line {first_line} has {}: sweeps of an edited scenario",
                    hash(&o.scenario_hash),
                    hash(&first.scenario_hash)
                ));
            }
            Some(_) => {}
        }
        outcomes.push(o);
    }
    if outcomes.is_empty() {
        return Err(format!("{name}: no outcomes in it (write one with `zabsim sweep ... --out FILE`)"));
    }
    outcomes.sort_by_key(|o| o.seed);
    if let Some(w) = outcomes.windows(2).find(|w| w[0].seed == w[1].seed) {
        return Err(format!("{name}: seed {} appears twice", w[0].seed));
    }
    Ok(Sweep { path: name, outcomes })
}

/// A per-seed figure the report plots.
struct Metric {
    /// The SVG's file name.
    file: &'static str,
    title: &'static str,
    /// What one value is, for the x axis and the table.
    what: &'static str,
    values: fn(&SeedOutcome) -> Vec<u64>,
    /// Why no seed may have it.
    absent: &'static str,
}

fn one(v: Option<u64>) -> Vec<u64> {
    v.into_iter().collect()
}

const METRICS: [Metric; 9] = [
    Metric {
        file: "election-p50.svg",
        title: "Election time: each seed's median",
        what: "median LOOKING-to-decided time of a seed's server elections",
        values: |o| if o.elections > 0 { vec![o.election_p50_us] } else { vec![] },
        absent: "no seed decided an election",
    },
    Metric {
        file: "election-max.svg",
        title: "Election time: each seed's longest",
        what: "longest LOOKING-to-decided time of any server in a seed",
        values: |o| if o.elections > 0 { vec![o.election_max_us] } else { vec![] },
        absent: "no seed decided an election",
    },
    Metric {
        file: "unavailability-windows.svg",
        title: "Unavailability windows (no established leader)",
        what: "length of each window with no established leader, all seeds pooled",
        values: |o| o.unavailable_windows_us.clone(),
        absent: "no window without an established leader (outcomes from a sweep older than this field?)",
    },
    Metric {
        file: "unavailability-total.svg",
        title: "Unavailability per seed, in all",
        what: "time with no established leader, summed over a seed",
        values: |o| vec![o.unavailable_us],
        absent: "no seed",
    },
    Metric {
        file: "recovery.svg",
        title: "Recovery after faults stop",
        what: "faults stopped to every server serving",
        values: |o| one(o.recovery_us),
        absent: "no seed converged after its faults stopped (or the runs stopped early)",
    },
    Metric {
        file: "failover-p50.svg",
        title: "Client failover time: each seed's median",
        what: "a client's server lost to the client served again (median of a seed)",
        values: |o| one(o.failover_p50_us),
        absent:
            "no seed measured it: only a workload whose clients fail over between servers does (none of these sweeps)",
    },
    Metric {
        file: "failover-p99.svg",
        title: "Client failover time: each seed's p99",
        what: "a client's server lost to the client served again (p99 of a seed)",
        values: |o| one(o.failover_p99_us),
        absent:
            "no seed measured it: only a workload whose clients fail over between servers does (none of these sweeps)",
    },
    Metric {
        file: "commit-latency-p50.svg",
        title: "Write commit latency: each seed's median",
        what: "client write submitted to acknowledged (simulated; median of a seed)",
        values: |o| if o.writes_acked > 0 { vec![o.write_p50_us] } else { vec![] },
        absent: "no seed acknowledged a client write: the scenario has no client load",
    },
    Metric {
        file: "commit-latency-p99.svg",
        title: "Write commit latency: each seed's p99",
        what: "client write submitted to acknowledged (simulated; p99 of a seed)",
        values: |o| if o.writes_acked > 0 { vec![o.write_p99_us] } else { vec![] },
        absent: "no seed acknowledged a client write: the scenario has no client load",
    },
];

/// p50, p99 (nearest rank), mean and max of some values.
struct Stats {
    n: usize,
    p50: u64,
    p99: u64,
    mean: u64,
    max: u64,
}

fn stats(values: &[u64]) -> Stats {
    let mut v = values.to_vec();
    v.sort_unstable();
    let sum: u128 = v.iter().map(|x| u128::from(*x)).sum();
    Stats {
        n: v.len(),
        p50: crate::format::percentile(&v, 50),
        p99: crate::format::percentile(&v, 99),
        mean: if v.is_empty() { 0 } else { (sum / v.len() as u128) as u64 },
        max: v.last().copied().unwrap_or(0),
    }
}

/// The report's files, in the order they are written: `index.md` first, then the plots.
pub struct Report {
    pub files: Vec<(String, String)>,
}

impl Report {
    /// Writes every file into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        for (name, text) in &self.files {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| format!("{}: cannot write: {e}", p.display()))?;
        }
        Ok(())
    }
}

/// Builds the report of `main`, compared with `vs` if given. `out_dir` is only quoted in
/// the regeneration commands.
///
/// `index.md` reads top-down: an overview of the sweeps, the figures (a table of them, the
/// statistics, the plots), reconfig steps if any, violations, and how to regenerate it.
pub fn build(main: &Sweep, vs: Option<&Sweep>, out_dir: &str) -> Report {
    let sweeps: Vec<&Sweep> = std::iter::once(main).chain(vs).collect();
    let labels = distinct_labels(&sweeps);
    let mut md = String::new();
    write_overview(&mut md, &sweeps, &labels);
    let mut plots = plot_metrics(&sweeps, &labels);
    let violations = violation_counts(&sweeps);
    if !violations.is_empty() {
        plots.add_violations(&violations, &labels);
    }
    write_figures(&mut md, &plots, violations.is_empty());
    write_coverage(&mut md, &mut plots, &sweeps, &labels);
    write_reconfig_steps(&mut md, &sweeps, &labels);
    write_violations(&mut md, &sweeps, &labels, &violations);
    write_regeneration(&mut md, &sweeps, out_dir);
    let mut files = plots.files;
    files.insert(0, ("index.md".to_string(), md));
    Report { files }
}

/// The title and a table of what each sweep ran (scenario, variant, seeds, failures,
/// work done), so a reader knows what the figures below are of.
fn write_overview(md: &mut String, sweeps: &[&Sweep], labels: &[String]) {
    let title = match labels {
        [one] => format!("zabsim report: {one}"),
        _ => format!("zabsim report: {} vs {}", labels[0], labels[1]),
    };
    let _ = writeln!(md, "# {title}\n");
    let _ = writeln!(md, "| | {} |", labels.join(" | "));
    let _ = writeln!(md, "| --- |{}", " --- |".repeat(sweeps.len()));
    let row = |md: &mut String, name: &str, f: &dyn Fn(&Sweep) -> String| {
        let cells: Vec<String> = sweeps.iter().map(|s| f(s)).collect();
        let _ = writeln!(md, "| {name} | {} |", cells.join(" | "));
    };
    row(md, "scenario", &|s| format!("`{}`", s.scenario()));
    row(md, "variant", &|s| format!("`{}`", s.outcomes[0].variant));
    row(md, "seeds", &|s| format!("{} ({} seeds)", s.seeds(), s.outcomes.len()));
    row(md, "failing seeds", &|s| s.outcomes.iter().filter(|o| o.violation.is_some()).count().to_string());
    row(md, "events", &|s| s.outcomes.iter().fold(0u64, |a, o| a.saturating_add(o.events)).to_string());
    row(md, "simulated time", &|s| fmt_duration(s.outcomes.iter().fold(0u64, |a, o| a.saturating_add(o.sim_us))));
    row(md, "sweep results", &|s| format!("`{}`", s.path));
    let _ = writeln!(md, "\nWritten by zabsim {}. Every figure is simulated time.", env!("CARGO_PKG_VERSION"));
    if sweeps.iter().any(|s| s.outcomes.iter().any(|o| o.violation.is_some())) {
        let _ = writeln!(
            md,
            "A run stops at its first violation, so a failing seed's figures cover its run up to the violation only."
        );
    }
    let _ = writeln!(md);
}

/// What the plotting produced: the SVG files, the figures that list them, the metrics
/// left out for want of data, and the statistics table of the plotted metrics.
struct Plots {
    /// (file name, SVG), in the order they are written.
    files: Vec<(String, String)>,
    /// (file name, title) of each plot, for the list and the embedded images.
    figures: Vec<(String, String)>,
    /// `title: why` of each metric no seed has.
    absent: Vec<String>,
    /// The Markdown table of n, p50, p99, mean and max per metric and sweep.
    table: String,
}

impl Plots {
    /// Adds the bar chart of failing seeds per invariant (only drawn when some seed failed).
    fn add_violations(&mut self, violations: &BTreeMap<String, Vec<u64>>, labels: &[String]) {
        let cats: Vec<String> = violations.keys().cloned().collect();
        let groups: Vec<Vec<u64>> = violations.values().cloned().collect();
        self.files.push((
            "violations.svg".to_string(),
            svg::bars("Violations by invariant", "failing seeds", &cats, labels, &groups),
        ));
        self.figures.push(("violations.svg".to_string(), "Violations by invariant".to_string()));
    }
}

/// Plots each of [`METRICS`] that some seed has as a CDF of all sweeps, and tabulates its
/// statistics; a metric no seed has is listed as absent with its reason instead.
fn plot_metrics(sweeps: &[&Sweep], labels: &[String]) -> Plots {
    let mut plots = Plots { files: Vec::new(), figures: Vec::new(), absent: Vec::new(), table: String::new() };
    let _ = writeln!(plots.table, "| figure | sweep | n | p50 | p99 | mean | max |");
    let _ = writeln!(plots.table, "| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for m in &METRICS {
        let series: Vec<Series> = sweeps
            .iter()
            .zip(labels)
            .map(|(s, l)| Series { label: l.clone(), values: s.outcomes.iter().flat_map(|o| (m.values)(o)).collect() })
            .collect();
        if series.iter().all(|s| s.values.is_empty()) {
            plots.absent.push(format!("{}: {}.", m.title, m.absent));
            continue;
        }
        plots.files.push((m.file.to_string(), svg::cdf(m.title, m.what, &series)));
        plots.figures.push((m.file.to_string(), m.title.to_string()));
        for s in &series {
            write_stats_row(&mut plots.table, m.title, s);
        }
    }
    plots
}

/// One row of the statistics table: a metric's n, p50, p99, mean and max in one sweep.
fn write_stats_row(table: &mut String, title: &str, s: &Series) {
    let st = stats(&s.values);
    let _ = writeln!(
        table,
        "| {} | {} | {} | {} | {} | {} | {} |",
        title,
        s.label,
        st.n,
        fmt_duration(st.p50),
        fmt_duration(st.p99),
        fmt_duration(st.mean),
        fmt_duration(st.max)
    );
}

/// The Figures section: the list of plots, what was not plotted and why, how to read a
/// CDF, the statistics table, then each plot embedded.
fn write_figures(md: &mut String, plots: &Plots, no_violations: bool) {
    let _ = writeln!(md, "## Figures\n");
    let _ = writeln!(md, "| figure | file |\n| --- | --- |");
    for (file, title) in &plots.figures {
        let _ = writeln!(md, "| {title} | [{file}]({file}) |");
    }
    if !plots.absent.is_empty() {
        let _ = writeln!(md, "\nNot plotted, for want of data:\n");
        for a in &plots.absent {
            let _ = writeln!(md, "- {a}");
        }
    }
    if no_violations {
        let _ = writeln!(md, "- Violations by invariant: no seed broke an invariant.");
    }
    let _ = writeln!(
        md,
        "\nEach plot is an empirical CDF: for a value on the x axis, the fraction of values at or below it."
    );
    let _ =
        writeln!(md, "Percentiles are nearest-rank; *n* counts the values (seeds, or windows for the pooled one).\n");
    let _ = writeln!(md, "{}", plots.table);
    for (file, title) in &plots.figures {
        let _ = writeln!(md, "### {title}\n\n![{title}]({file})\n");
    }
}

/// `(seeds so far, distinct items so far)` after each seed.
pub type Growth = Vec<(u64, u64)>;

/// Distinct abstract states and transitions reached after each seed, in seed order, as
/// the lines' sketches estimate them; `None` when some line has no coverage (older lines).
pub fn coverage_growth(sweep: &Sweep) -> Option<(Growth, Growth)> {
    use crate::run::coverage::Sketch;
    let (mut s, mut t) = (Sketch::default(), Sketch::default());
    let (mut states, mut transitions) = (Vec::new(), Vec::new());
    for (k, o) in sweep.outcomes.iter().enumerate() {
        let (a, b) = o.coverage.as_ref()?.sketches().ok()?;
        s.merge(&a);
        t.merge(&b);
        states.push((k as u64 + 1, s.estimate()));
        transitions.push((k as u64 + 1, t.estimate()));
    }
    Some((states, transitions))
}

/// The Coverage section: distinct abstract states and transitions over the seeds (does the
/// sweep still find new ones at its end?), with a plot of each.
fn write_coverage(md: &mut String, plots: &mut Plots, sweeps: &[&Sweep], labels: &[String]) {
    let growth: Vec<Option<_>> = sweeps.iter().map(|s| coverage_growth(s)).collect();
    let _ = writeln!(
        md,
        "## Coverage
"
    );
    if growth.iter().all(Option::is_none) {
        let _ = writeln!(md, "No line records coverage (written by an older zabsim).\n");
        return;
    }
    let _ = writeln!(
        md,
        "Distinct abstract protocol states and transitions reached by the first *k* seeds (README, \
         *Coverage*), estimated from each line's sketches (within about 6.5%).\n"
    );
    let _ = writeln!(md, "| sweep | seeds | states | transitions | states new in the last tenth of the seeds |");
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: |");
    let mut used_labels = Vec::new();
    let (mut st, mut tr) = (Vec::new(), Vec::new());
    for (g, l) in growth.iter().zip(labels) {
        let Some((s, t)) = g else {
            let _ = writeln!(md, "| {l} | | no coverage in its lines | | |");
            continue;
        };
        let n = s.len();
        let last = s.last().map_or(0, |p| p.1);
        let at_nine_tenths = if n >= 10 { s[n - n / 10 - 1].1 } else { 0 };
        let tlast = t.last().map_or(0, |p| p.1);
        let _ = writeln!(md, "| {l} | {n} | {last} | {tlast} | {} |", last.saturating_sub(at_nine_tenths));
        used_labels.push(l.clone());
        st.push(s.clone());
        tr.push(t.clone());
    }
    let _ = writeln!(md);
    for (file, title, what, series) in [
        ("coverage-states.svg", "Distinct abstract states over seeds", "distinct states", &st),
        ("coverage-transitions.svg", "Distinct transitions over seeds", "distinct transitions", &tr),
    ] {
        plots.files.push((file.to_string(), svg::growth(title, "seeds", what, &used_labels, series)));
        let _ = writeln!(md, "### {title}\n\n![{title}]({file})\n");
    }
}

/// The Violations section: failing seeds per invariant and sweep, and the commands that
/// replay the first [`REPLAYS_SHOWN_MAX`] of them.
fn write_violations(md: &mut String, sweeps: &[&Sweep], labels: &[String], violations: &BTreeMap<String, Vec<u64>>) {
    let _ = writeln!(md, "## Violations by invariant\n");
    if violations.is_empty() {
        let _ = writeln!(md, "None: no seed broke an invariant.\n");
        return;
    }
    let _ = writeln!(md, "| invariant | {} |", labels.join(" | "));
    let _ = writeln!(md, "| --- |{}", " ---: |".repeat(sweeps.len()));
    for (inv, counts) in violations {
        let cells: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(md, "| {inv} | {} |", cells.join(" | "));
    }
    let _ = writeln!(md, "\nReplay a failing seed (the first {REPLAYS_SHOWN_MAX} per invariant and sweep):\n");
    let _ = writeln!(md, "```sh");
    for s in sweeps {
        for inv in violations.keys() {
            let failing = s
                .outcomes
                .iter()
                .filter(|o| o.violation.map(|v| v.name()) == Some(inv.as_str()))
                .take(REPLAYS_SHOWN_MAX);
            for o in failing {
                let _ = writeln!(
                    md,
                    "zabsim run scenarios/{}.toml --seed {} --variant {}   # {inv}",
                    o.scenario, o.seed, o.variant
                );
            }
        }
    }
    let _ = writeln!(md, "```\n");
}

/// The commands that rerun the sweeps and rebuild this report into `out_dir`.
fn write_regeneration(md: &mut String, sweeps: &[&Sweep], out_dir: &str) {
    let _ = writeln!(md, "## Regenerating this report\n");
    let _ = writeln!(md, "```sh");
    for s in sweeps {
        let o = &s.outcomes[0];
        let seeds = if s.seeds().contains("..") { s.seeds() } else { "A..B".to_string() };
        let _ = writeln!(
            md,
            "zabsim sweep scenarios/{}.toml --seeds {seeds} --variant {} --out {}",
            o.scenario, o.variant, s.path
        );
    }
    let vs_arg = sweeps.get(1).map(|v| format!(" --vs {}", v.path)).unwrap_or_default();
    let _ = writeln!(md, "zabsim report --sweep {}{vs_arg} -o {out_dir}", sweeps[0].path);
    let _ = writeln!(md, "```");
}

/// The unavailability of each reconfig step over seeds, when any seed committed a reconfig
/// (a section only those reports get, so the others stay as they were).
fn write_reconfig_steps(md: &mut String, sweeps: &[&Sweep], labels: &[String]) {
    let steps: Vec<Vec<crate::tools::sweep::ReconfigStep>> =
        sweeps.iter().map(|s| crate::tools::sweep::reconfig_steps(&s.outcomes)).collect();
    if steps.iter().all(|s| s.is_empty()) {
        return;
    }
    let _ = writeln!(md, "## Unavailability per reconfig step\n");
    let _ = writeln!(
        md,
        "From the commit of a run's k-th reconfig until a leader voting in the new configuration can commit: \
         0 when the committing leader was the one it designated, else until the next leader was established \
         (or the end of the run). *n* counts the seeds that committed a k-th reconfig.\n"
    );
    let _ = writeln!(md, "| step | sweep | n | p50 | p99 | max |");
    let _ = writeln!(md, "| ---: | --- | ---: | ---: | ---: | ---: |");
    for (steps, label) in steps.iter().zip(labels) {
        for r in steps {
            let _ = writeln!(
                md,
                "| {} | {label} | {} | {} | {} | {} |",
                r.step,
                r.seeds,
                fmt_duration(r.p50_us),
                fmt_duration(r.p99_us),
                fmt_duration(r.max_us)
            );
        }
    }
    let _ = writeln!(md);
}

/// Labels for the legend: `scenario (variant)`, with the file name added when two sweeps
/// would otherwise look the same.
fn distinct_labels(sweeps: &[&Sweep]) -> Vec<String> {
    let labels: Vec<String> = sweeps.iter().map(|s| s.label()).collect();
    if labels.len() == 2 && labels[0] == labels[1] {
        return sweeps.iter().map(|s| format!("{} [{}]", s.label(), s.path)).collect();
    }
    labels
}

/// Invariant name -> failing seeds per sweep.
fn violation_counts(sweeps: &[&Sweep]) -> BTreeMap<String, Vec<u64>> {
    let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (i, s) in sweeps.iter().enumerate() {
        for o in &s.outcomes {
            if let Some(v) = o.violation {
                m.entry(v.name().to_string()).or_insert_with(|| vec![0; sweeps.len()])[i] += 1;
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(seed: u64, violation: Option<crate::Invariant>) -> SeedOutcome {
        SeedOutcome {
            scenario: "s".into(),
            scenario_hash: None,
            variant: zab::Variant::None,
            zookeeper: None,
            seeds: None,
            shard: None,
            no_check: false,
            seed,
            violation,
            events: 10,
            sim_us: 1_000_000,
            trace_hash: "0".into(),
            recovery_us: Some(1000 * seed),
            progress_us: None,
            elections: 3,
            election_p50_us: 200_000 + seed,
            election_max_us: 400_000,
            unavailable_us: 300_000,
            unavailable_windows_us: vec![100_000, 200_000],
            commits: 0,
            writes_acked: 0,
            write_p50_us: 0,
            write_p99_us: 0,
            failover_p50_us: None,
            failover_p99_us: None,
            reconfig_unavailable_us: vec![],
            coverage: None,
            reached: None,
        }
    }

    #[test]
    fn plots_only_what_some_seed_has_and_says_what_is_absent() {
        let s = Sweep { path: "a.jsonl".into(), outcomes: (0..10).map(|i| outcome(i, None)).collect() };
        let r = build(&s, None, "out");
        let names: Vec<&str> = r.files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names[0], "index.md");
        assert!(names.contains(&"election-p50.svg") && names.contains(&"unavailability-windows.svg"));
        assert!(!names.iter().any(|n| n.starts_with("failover") || n.starts_with("commit-latency")));
        let md = &r.files[0].1;
        assert!(md.contains("Client failover time: each seed's median: no seed measured it"), "{md}");
        assert!(md.contains("![Election time: each seed's median](election-p50.svg)"));
        assert!(md.contains("no seed broke an invariant"));
        assert!(md.contains("zabsim sweep scenarios/s.toml --seeds 0..10 --variant none --out a.jsonl"));
        assert!(!md.contains("reconfig"), "no reconfig section without reconfigs: {md}");
    }

    #[test]
    fn reconfig_steps_are_reported_over_the_seeds_that_reached_them() {
        let mut outcomes: Vec<SeedOutcome> = (0..4).map(|i| outcome(i, None)).collect();
        outcomes[0].reconfig_unavailable_us = vec![0, 300_000];
        outcomes[1].reconfig_unavailable_us = vec![100_000];
        outcomes[2].reconfig_unavailable_us = vec![0, 500_000];
        let s = Sweep { path: "a.jsonl".into(), outcomes };
        let md = &build(&s, None, "out").files[0].1;
        assert!(md.contains("## Unavailability per reconfig step"), "{md}");
        assert!(md.contains("| 1 | s (none) | 3 | 0 | 100 ms | 100 ms |"), "{md}");
        assert!(md.contains("| 2 | s (none) | 2 | 300 ms | 500 ms | 500 ms |"), "{md}");
    }

    #[test]
    fn a_comparison_lists_violations_and_replay_commands_per_sweep() {
        let a = Sweep { path: "a.jsonl".into(), outcomes: (0..4).map(|i| outcome(i, None)).collect() };
        let mut bo: Vec<SeedOutcome> = (0..4).map(|i| outcome(i, Some(crate::Invariant::Agreement))).collect();
        for o in &mut bo {
            o.variant = zab::Variant::Zk2845;
        }
        let b = Sweep { path: "b.jsonl".into(), outcomes: bo };
        let r = build(&a, Some(&b), "out");
        let md = &r.files[0].1;
        assert!(md.contains("| Agreement | 0 | 4 |"), "{md}");
        assert!(md.contains("zabsim run scenarios/s.toml --seed 3 --variant zk-2845   # Agreement"));
        assert!(r.files.iter().any(|f| f.0 == "violations.svg"));
        assert!(md.contains("--vs b.jsonl -o out"));
        let again = build(&a, Some(&b), "out");
        assert!(r.files == again.files, "the same inputs give the same report");
    }
}
