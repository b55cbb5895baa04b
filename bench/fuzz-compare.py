#!/usr/bin/env python3
"""Uniform sweep vs `zabsim fuzz`, side by side (README, "Coverage-guided fault search").

For each bug scenario and campaign seed c: runs and CPU seconds to the first violation the
scenario does not declare known, (a) sweeping seeds c*100000.. with --stop-on-failure,
(b) fuzzing with --campaign c; both --jobs 1. Then, on the correct protocol, distinct
abstract states per CPU-minute of a sweep and of a campaign of the same number of runs, and
the distinct states of each at about the same CPU seconds.
Usage: bench/fuzz-compare.py ZABSIM [CAMPAIGNS] [SCENARIO...]   (from the repository root;
COVERAGE_ONLY=1 skips the bugs; COVERAGE_RUNS, COVERAGE_CAMPAIGNS (9) and COVERAGE_SCENARIOS
set the second table).
bench/fuzz/*-blackbox.toml are zk-4643 and zk-4646 with a fast disk (0.5-5 ms fsyncs) and
plain crashes instead of crashes aimed at fsyncs in flight: the bugs are rare there.
"""
import json, os, resource, statistics, subprocess, sys, tempfile

zabsim = sys.argv[1]
campaigns = int(sys.argv[2]) if len(sys.argv) > 2 else 9
# Every bug variant with a scenario (zk-5094 is the correct protocol's own bug).
bugs = sys.argv[3:] or ["zk-4643", "zk-4646", "bench/fuzz/zk-4643-blackbox.toml",
                       "bench/fuzz/zk-4646-blackbox.toml", "zk-2845", "zk-2355", "zk-1208", "zk-3911",
                       "zk-1154", "zk-4925", "zk-5094", "zk-1419", "zk-2172"]
tmp = tempfile.mkdtemp()


def timed(args):
    """Runs a command; returns its stdout and the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return out, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def known(scen):
    s = open(scen).read()
    line = [l for l in s.splitlines() if l.startswith("known")]
    return set(json.loads(line[0].split("=", 1)[1].strip())) if line else set()


def uniform(scen, c, budget=5000):
    start = c * 100000
    out = os.path.join(tmp, "u.jsonl")
    if os.path.exists(out):
        os.remove(out)
    k = known(scen)
    # --stop-on-failure stops at the first violation not declared known.
    _, cpu = timed([zabsim, "sweep", scen, "--seeds", f"{start}..{start + budget}", "--jobs", "1",
                    "--stop-on-failure", "--out", out])
    for i, line in enumerate(open(out)):
        o = json.loads(line)
        if o["violation"] and o["violation"] not in k:
            return i + 1, cpu
    return None, cpu


def guided(scen, c, budget=5000):
    out, cpu = timed([zabsim, "fuzz", scen, "--campaign", str(c), "--jobs", "1", "--runs", str(budget),
                      "--json", "-o", os.path.join(tmp, "f.toml")])
    s = json.loads(out)
    return (s["findings"][0]["run"] if s["findings"] else None), cpu


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


if os.environ.get("COVERAGE_ONLY"):
    bugs = []
print("| variant | uniform runs | uniform CPU s | guided runs | guided CPU s | runs ratio | CPU ratio |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for bug in bugs:
    scen = bug if bug.endswith(".toml") else f"scenarios/{bug}.toml"
    bug = os.path.basename(bug).removesuffix(".toml")
    u = [uniform(scen, c) for c in range(campaigns)]
    g = [guided(scen, c) for c in range(campaigns)]
    ur, uc = med([r for r, _ in u]), med([c for _, c in u])
    gr, gc = med([r for r, _ in g]), med([c for _, c in g])
    print(f"| {bug} | {ur} | {uc:.2f} | {gr} | {gc:.2f} | {ur / gr:.1f}x | {uc / gc:.1f}x |", flush=True)
    print(f"<!-- {bug} uniform {[r for r, _ in u]} guided {[r for r, _ in g]} -->", flush=True)

runs = int(os.environ.get("COVERAGE_RUNS", "300"))
print()
# Distinct states grow slower than the runs (a sweep saturates), so a campaign whose runs are
# shorter reads better per CPU-minute at the same runs; the last columns compare at the same
# CPU: a sweep of as many seeds as the campaign's CPU seconds buy at the sweep's rate.
print("| scenario (correct protocol) | uniform states/CPU-min | guided states/CPU-min | ratio "
      "| uniform states at the campaign's CPU | guided states | ratio at equal CPU |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for scen in os.environ.get("COVERAGE_SCENARIOS", "zk-4643 leader-crash").split():
    path = f"scenarios/{scen}.toml"
    us, gs, ueq, geq, eq = [], [], [], [], []
    for c in range(int(os.environ.get("COVERAGE_CAMPAIGNS", "9"))):
        start = c * 100000
        out, ucpu = timed([zabsim, "sweep", path, "--seeds", f"{start}..{start + runs}", "--jobs", "1",
                           "--variant", "none", "--json"])
        us.append(json.loads(out)["coverage"]["states"] / ucpu * 60)
        out, gcpu = timed([zabsim, "fuzz", path, "--campaign", str(c), "--jobs", "1", "--runs", str(runs),
                           "--variant", "none", "--keep-going", "--json"])
        g = json.loads(out)["states"]
        gs.append(g / gcpu * 60)
        n = max(1, round(runs * gcpu / ucpu))
        out, _ = timed([zabsim, "sweep", path, "--seeds", f"{start}..{start + n}", "--jobs", "1",
                        "--variant", "none", "--json"])
        u = json.loads(out)["coverage"]["states"]
        ueq.append(u)
        geq.append(g)
        eq.append(g / u)
    print(f"| {scen} | {med(us):.0f} | {med(gs):.0f} | {med(gs) / med(us):.2f}x | {med(ueq):.0f} | {med(geq):.0f} "
          f"| {med(eq):.2f}x ({min(eq):.2f}-{max(eq):.2f}) |", flush=True)
