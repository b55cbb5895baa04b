//! The recipes under faults: the unfenced leader is caught acting at once with its
//! successor, the fenced leader and lock pass, and a run's summary lists the terms.

mod common;

use common::{scenario, stdout, zabsim};
use zabsim::check::invariant::Invariant;
use zabsim::tools::sweep::{sweep, SweepOptions};

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Seed 21 of `recipe-leader-unfenced`: a deposed leader's decided write lands in its new
/// session after its successor's writes.
#[test]
fn the_unfenced_leader_breaks_exclusivity_and_the_run_shows_the_terms() {
    let o = zabsim(&["run", "scenarios/recipe-leader-unfenced.toml", "--seed", "21"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("VIOLATION RecipeExclusivity"), "{out}");
    assert!(out.contains("  holder  from         to           noticed      actions  znode"), "{out}");
    assert!(out.contains("/election/i"), "{out}");
}

/// The same seeds with the leader's writes fenced by `/config`'s version pass, and so does
/// the fenced lock: no recipe invariant breaks.
#[test]
fn the_fenced_recipes_pass_where_the_unfenced_one_fails() {
    for name in ["recipe-leader-fenced", "recipe-lock-fenced"] {
        let s = scenario(name);
        let (summary, _) = sweep(&s, &SweepOptions::new(15..35, jobs()));
        let recipe = [Invariant::RecipeExclusivity, Invariant::RecipeFencing, Invariant::RecipeNotice];
        assert!(recipe.iter().all(|i| !summary.violations.contains_key(i.name())), "{name}: {summary}");
        assert!(summary.as_expected(), "{name}: {summary}");
    }
}

/// The lock's summary lists one term per acquisition, each with its one action.
#[test]
fn a_lock_run_lists_its_holders() {
    let o = zabsim(&["run", "scenarios/recipe-lock-fenced.toml", "--seed", "3", "--until-ms", "3000"]);
    let out = stdout(&o);
    assert!(out.contains("/lock/i"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("terms: ")), "{out}");
}
