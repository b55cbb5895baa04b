//! `zabsim fuzz`: a campaign is the same whatever `--jobs`, its finding is a scenario file
//! that `zabsim run` replays and `zabsim shrink` shrinks, and bad input exits 2.

mod common;

use common::{s, stderr, stdout, tmp, zabsim};
use serde_json::Value;

/// The seed a finding's file names in its `run it` line.
fn seed_of(out: &str) -> String {
    let line = out.lines().find(|l| l.starts_with("run it: ")).unwrap_or_else(|| panic!("{out}"));
    line.rsplit(' ').next().unwrap().to_string()
}

/// Campaign 3 of zk-4643 finds the bug with a mutated fault script over a remixed random
/// fault mix (run 5): the file it writes carries both, fails `zabsim run` with the same
/// invariant, and shrinks.
#[test]
fn a_mutated_finding_replays_with_run_and_shrinks() {
    let dir = tmp("fuzz-finding");
    let f = dir.join("finding.toml");
    let o = zabsim(&["fuzz", "scenarios/zk-4643.toml", "--campaign", "3", "--jobs", "2", "-o", s(&f)]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains("found GlobalPrimaryOrder at run 5 (")
            && out.contains("a mutated fault script over a remixed fault mix"),
        "{out}"
    );
    let text = std::fs::read_to_string(&f).unwrap();
    // The scenario's faults come every 300-2500 ms; this remix's twice as often.
    assert!(text.contains("[[faults.script]]") && text.contains("[faults.random]"), "{text}");
    assert!(text.contains("min_interval_ms = 150\nmax_interval_ms = 1250\n"), "{text}");
    let seed = seed_of(&out);
    let r = zabsim(&["run", s(&f), "--seed", &seed]);
    assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
    assert!(stdout(&r).contains("VIOLATION GlobalPrimaryOrder"), "{}", stdout(&r));
    let shrunk = dir.join("shrunk.toml");
    let sh = zabsim(&["shrink", s(&f), "--seed", &seed, "-o", s(&shrunk)]);
    assert_eq!(sh.status.code(), Some(0), "{}{}", stdout(&sh), stderr(&sh));
    let r = zabsim(&["run", s(&shrunk), "--seed", &seed]);
    assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
}

/// The same campaign seed gives the same campaign with one job or three; a finding from a
/// fresh seed is the scenario itself, which `run` replays.
#[test]
fn a_campaign_does_not_depend_on_jobs() {
    let dir = tmp("fuzz-jobs");
    let campaign = |jobs: &str| {
        let o =
            zabsim(&["fuzz", "scenarios/leader-crash.toml", "--runs", "20", "--keep-going", "--json", "--jobs", jobs]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let obj = v.as_object_mut().unwrap();
        obj.remove("wall_ms");
        obj.remove("jobs");
        v
    };
    let one = campaign("1");
    assert_eq!(one, campaign("3"));
    assert_eq!(one["runs"], 20);
    assert!(one["states"].as_u64().unwrap() > 0 && one["corpus"].as_u64().unwrap() > 0, "{one}");
    let f = dir.join("f.toml");
    let o = zabsim(&["fuzz", "scenarios/zk-2845.toml", "--jobs", "1", "-o", s(&f)]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("at run 1 ") && stdout(&o).contains("a fresh seed"), "{}", stdout(&o));
    let r = zabsim(&["run", s(&f), "--seed", &seed_of(&stdout(&o))]);
    assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
}

#[test]
fn bad_input_exits_2_on_one_line() {
    let dir = tmp("fuzz-bad");
    for args in [
        vec!["fuzz", "no-such.toml"],
        vec!["fuzz", "scenarios/zk-2845.toml", "--runs", "0"],
        vec!["fuzz", "scenarios/zk-2845.toml", "--jobs", "0"],
        vec!["fuzz", "scenarios/zk-2845.toml", "--variant", "zk-0"],
        vec!["fuzz", "scenarios/zk-2845.toml", "-o", "scenarios/zk-2845.toml"],
    ] {
        let o = zabsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
    let unwritable = dir.join("missing-dir").join("f.toml");
    let o = zabsim(&["fuzz", "scenarios/zk-2845.toml", "--jobs", "1", "-o", s(&unwritable)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

/// A sweep's summary, `--json` and `--out` lines carry coverage; `report` plots it over the
/// seeds; merged shards give the same lines (sketches merge), and a line whose sketch was
/// edited is refused.
#[test]
fn sweeps_and_reports_show_coverage() {
    let dir = tmp("coverage");
    let out = dir.join("o.jsonl");
    let o = zabsim(&["sweep", "scenarios/leader-crash.toml", "--seeds", "0..20", "--jobs", "2", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("abstract states") && stdout(&o).contains("new in the last tenth"), "{}", stdout(&o));
    let o = zabsim(&["sweep", "scenarios/leader-crash.toml", "--seeds", "0..20", "--jobs", "1", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let states = v["coverage"]["states"].as_u64().unwrap();
    assert!(states > 50 && v["coverage"]["transitions"].as_u64().unwrap() > states, "{v}");
    let text = std::fs::read_to_string(&out).unwrap();
    let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(line["coverage"]["states"].as_u64().unwrap() > 0, "{line}");
    assert_eq!(line["coverage"]["states_sketch"].as_str().unwrap().len(), 256);
    let r = dir.join("r");
    let o = zabsim(&["report", "--sweep", s(&out), "-o", s(&r)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = std::fs::read_to_string(r.join("index.md")).unwrap();
    assert!(md.contains("## Coverage") && md.contains("![Distinct abstract states over seeds](coverage-states.svg)"));
    assert!(std::fs::read_to_string(r.join("coverage-states.svg")).unwrap().contains("<path "));
    // Shards merge into the same bytes as one sweep.
    let (a, b, m) = (dir.join("a.jsonl"), dir.join("b.jsonl"), dir.join("m.jsonl"));
    for (k, f) in [("0/2", &a), ("1/2", &b)] {
        let seeds = ["--seeds", "0..20", "--jobs", "1", "--shard", k, "--out", s(f)];
        assert_eq!(
            zabsim(&[&["sweep", "scenarios/leader-crash.toml"][..], &seeds[..]].concat()).status.code(),
            Some(0)
        );
    }
    assert_eq!(zabsim(&["merge", s(&a), s(&b), "-o", s(&m)]).status.code(), Some(0));
    assert_eq!(std::fs::read(&m).unwrap(), text.as_bytes());
    // An edited sketch is refused with the field named.
    let bad = dir.join("bad.jsonl");
    let sketch = line["coverage"]["states_sketch"].as_str().unwrap();
    std::fs::write(&bad, text.replacen(sketch, &"!".repeat(256), 1)).unwrap();
    let o = zabsim(&["report", "--sweep", s(&bad), "-o", s(&dir.join("rb"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("coverage.states_sketch"), "{}", stderr(&o));
}
