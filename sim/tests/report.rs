//! `zabsim report`: index.md and SVG plots from sweep outcomes, alone or compared; the same
//! inputs give the same bytes; bad inputs name the file and line and exit 2.

mod common;

use common::{s, stderr, tmp, zabsim};
use std::path::Path;

fn sweep(scenario: &str, seeds: &str, variant: &str, out: &Path) {
    let o = zabsim(&[
        "sweep",
        &format!("scenarios/{scenario}.toml"),
        "--seeds",
        seeds,
        "--variant",
        variant,
        "--out",
        s(out),
    ]);
    assert!(o.status.code() == Some(0), "{}", String::from_utf8_lossy(&o.stdout));
}

fn read_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_comparison_report_has_every_figure_linked_and_is_the_same_twice() {
    let dir = tmp("vs");
    let (a, b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
    // A bug variant on its scenario against the correct protocol: violations on one side.
    sweep("zk-2845", "0..6", "zk-2845", &a);
    sweep("zk-2845", "0..6", "none", &b);
    let out = dir.join("r");
    let o = zabsim(&["report", "--sweep", s(&a), "--vs", s(&b), "-o", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = read_dir(&out);
    let o = zabsim(&["report", "--sweep", s(&a), "--vs", s(&b), "-o", s(&out)]);
    assert!(o.status.success());
    assert!(first == read_dir(&out), "the same outcomes give the same report, byte for byte");

    let md = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(md.starts_with("# zabsim report: zk-2845 (zk-2845) vs zk-2845 (none)"), "{md}");
    assert!(md.contains("| seeds | 0..6 (6 seeds) | 0..6 (6 seeds) |"));
    assert!(md.contains(&format!("Written by zabsim {}", env!("CARGO_PKG_VERSION"))));
    // Every embedded plot exists and is an SVG; the ones this workload has are there.
    let mut embedded = 0;
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let file = &line[line.find("](").unwrap() + 2..line.len() - 1];
        let svg = std::fs::read_to_string(out.join(file)).unwrap_or_else(|_| panic!("{file} is missing"));
        assert!(svg.starts_with("<svg xmlns=") && svg.ends_with("</svg>\n"), "{file}");
        embedded += 1;
    }
    for f in ["election-p50.svg", "unavailability-windows.svg", "commit-latency-p99.svg", "violations.svg"] {
        assert!(md.contains(&format!("]({f})")), "{f} not embedded");
    }
    assert_eq!(embedded, first.len() - 1, "every SVG written is embedded");
    assert!(md.contains("Client failover time: each seed's median: no seed measured it"), "absent failover said");
    // The comparison table has both sweeps per figure, and the replay commands are there.
    assert!(md.contains("| Write commit latency: each seed's p99 | zk-2845 (zk-2845) | "));
    assert!(md.contains("| Write commit latency: each seed's p99 | zk-2845 (none) | "));
    assert!(md.contains("| GlobalPrimaryOrder | 5 | 0 |"), "{md}");
    assert!(md.contains("| ProcessConsistency | 1 | 0 |"), "{md}");
    assert!(md.contains("zabsim run scenarios/zk-2845.toml --seed 0 --variant zk-2845   # GlobalPrimaryOrder"));
    assert!(md.contains(&format!("zabsim report --sweep {} --vs {} -o {}", s(&a), s(&b), s(&out))));
    // Two colours in the overlaid CDFs.
    let cdf = std::fs::read_to_string(out.join("commit-latency-p50.svg")).unwrap();
    assert_eq!(cdf.matches("<path d=").count(), 2);
}

#[test]
fn outcomes_written_before_the_new_fields_still_load() {
    let dir = tmp("old");
    let a = dir.join("a.jsonl");
    sweep("leader-crash", "0..3", "none", &a);
    let old: Vec<String> = std::fs::read_to_string(&a)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = v.as_object_mut().unwrap();
            for k in ["election_max_us", "unavailable_windows_us", "failover_p50_us", "failover_p99_us"] {
                assert!(m.remove(k).is_some(), "{k} is written");
            }
            v.to_string()
        })
        .collect();
    std::fs::write(&a, old.join("\n")).unwrap();
    let o = zabsim(&["report", "--sweep", s(&a), "-o", s(&dir.join("r"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(dir.join("r/index.md")).unwrap();
    assert!(md.contains("Unavailability windows (no established leader): no window"), "{md}");
}

#[test]
fn bad_inputs_name_the_file_and_line_and_exit_2() {
    let dir = tmp("bad");
    let good = dir.join("good.jsonl");
    sweep("leader-crash", "0..2", "none", &good);
    let line = std::fs::read_to_string(&good).unwrap().lines().next().unwrap().to_string();
    let out = dir.join("out");
    let bad = |name: &str, text: &str, must: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        for args in [vec!["--sweep", s(&p)], vec!["--sweep", s(&good), "--vs", s(&p)]] {
            let mut all = vec!["report"];
            all.extend(args);
            all.extend(["-o", s(&out)]);
            let o = zabsim(&all);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{name}: {err}");
            assert!(err.contains(name) && err.contains(must), "{name}: expected `{must}` in: {err}");
            assert!(!err.contains("panicked"), "{err}");
            assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        }
    };
    bad("empty.jsonl", "\n", "no outcomes in it");
    bad("garbage.jsonl", &format!("{line}\n{{not json\n"), "line 2: not a sweep outcome");
    bad("trace.jsonl", "{\"kind\":\"header\",\"scenario\":\"x\"}\n", "line 1: not a sweep outcome");
    let other = line.replace("\"scenario\":\"leader-crash\"", "\"scenario\":\"other\"");
    bad("mixed.jsonl", &format!("{line}\n\n{other}\n"), "line 3: scenario other variant none, but line 1");
    bad("twice.jsonl", &format!("{line}\n{line}\n"), "appears twice");
    let o = zabsim(&["report", "--sweep", "no-such.jsonl", "-o", s(&dir.join("out"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such.jsonl: cannot read"));
    // An output directory that cannot be made.
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let o = zabsim(&["report", "--sweep", s(&good), "-o", s(&file.join("sub"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot create"));
}
