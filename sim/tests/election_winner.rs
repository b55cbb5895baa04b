//! With no faults and every message delay below finalizeWait, FLE elects the server with
//! the highest (peerEpoch, zxid, sid). Which leader wins is not an invariant under
//! longer delays; under these conditions it is, for any initial durable state.

use proptest::prelude::*;
use zabsim::run::cluster::{run, RunOptions};
use zabsim::scenario::{Cluster, Expect, FaultSpec, InitialState, NetworkSpec, Scenario, ZxidSpec};
use zabsim::world::dist::Delay;

fn calm(servers: u64, initial: Vec<InitialState>, max_delay_us: u64) -> Scenario {
    Scenario {
        name: "calm".into(),
        description: String::new(),
        variant: zab::Variant::None,
        zookeeper: Default::default(),
        duration_ms: 0,
        liveness_bound_ms: 10_000,
        expect: Expect::default(),
        cluster: Cluster { servers, initial },
        timing: Default::default(),
        network: NetworkSpec { delay: Delay::Uniform { min_us: 100, max_us: max_delay_us }, ..Default::default() },
        disk: Default::default(),
        storage: Default::default(),
        supervisor: Default::default(),
        faults: FaultSpec::default(),
        workload: None,
        service_failover: None,
        reconfig: None,
    }
}

/// (currentEpoch, last zxid epoch, counter) per server; acceptedEpoch = currentEpoch.
fn states(n: u64) -> impl Strategy<Value = Vec<(u64, u64, u64)>> {
    prop::collection::vec((0u64..3, 0u64..3, 0u64..4), n as usize)
        .prop_map(|v| v.into_iter().map(|(cur, ze, c)| (cur, if c == 0 { 0 } else { ze.min(cur) }, c)).collect())
}

proptest! {
    #![proptest_config(zabsim::tools::strategies::suite_config(200))]

    #[test]
    fn the_highest_vote_wins_a_calm_election(
        n in prop::sample::select(vec![3u64, 4, 5, 7]),
        seed in any::<u64>(),
        max_delay_us in 100u64..150_000,
        raw in states(7),
    ) {
        let initial: Vec<InitialState> = (1..=n)
            .map(|sid| {
                let (cur, ze, c) = raw[sid as usize - 1];
                InitialState { server: sid, accepted_epoch: cur, current_epoch: cur, last_zxid: ZxidSpec { epoch: ze, counter: c } }
            })
            .collect();
        let s = calm(n, initial, max_delay_us);
        let expected = (1..=n)
            .max_by_key(|sid| {
                let d = s.initial_state(*sid);
                (d.current_epoch, d.last_logged_zxid(), *sid)
            })
            .unwrap();
        s.validate().unwrap();
        let r = run(&s, RunOptions::new(seed));
        // README, "Findings": a TRUNC to a zxid a learner's log does not hold keeps the
        // learner's first entry past it (`FileTxnLog.truncate`). A winner whose log is empty,
        // or of an older epoch than a learner's longer log, truncates that learner to a zxid
        // it lacks; those states break TruncateCompleteness, as ZooKeeper does.
        let winner = s.initial_state(expected).last_logged_zxid();
        let trunc_to_absent = (1..=n).any(|sid| {
            let z = s.initial_state(sid).last_logged_zxid();
            z > winner && (winner == zab::Zxid::ZERO || z.epoch() != winner.epoch())
        });
        if trunc_to_absent {
            if let Some(v) = &r.violation {
                prop_assert_eq!(v.invariant, zabsim::Invariant::TruncateCompleteness, "{}", r);
                return Ok(());
            }
        }
        prop_assert!(r.violation.is_none(), "{r}");
        prop_assert_eq!(r.stats.leaders.len(), 1, "one election, one leader: {}", r);
        prop_assert_eq!(r.stats.leaders[0].leader, expected);
    }
}
