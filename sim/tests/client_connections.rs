//! Each connection attempt of a client is its own connection (ZooKeeper's `ServerCnxn`): an
//! answer a server sends on a connection the client has already left is never read on the
//! client's next connection, even to the same server. Before connection ids, a session
//! created for an attempt that timed out reached the next attempt, and the client library's
//! own precondition ("reconnected with session X, not its own") failed.

use zabsim::Invariant;
use zabsim::{run, RunOptions, Scenario};

/// One server, three instances and a client whose connect timeout (the session timeout over
/// the server count, as `ClientCnxn` computes it before a session is negotiated) is a few
/// milliseconds, cut off from the server every 10-500 ms for up to 3 s.
fn reconnecting(session_timeout_ms: u32) -> Scenario {
    let text = format!(
        r#"
        duration_ms = 20000
        liveness_bound_ms = 5000
        [cluster]
        servers = 1
        [service_failover]
        instances = 3
        clients = 1
        session_timeout_ms = {session_timeout_ms}
        [service_failover.faults]
        min_interval_ms = 10
        max_interval_ms = 500
        down_min_ms = 1
        down_max_ms = 3000
        isolate_client = 1
        "#
    );
    Scenario::parse(&text, "client-reconnect-same-server").unwrap()
}

fn violation(s: &Scenario, seed: u64) -> Option<Invariant> {
    run(s, RunOptions::new(seed)).violation.map(|v| v.invariant)
}

/// The issue's scenario: a 1 ms connect timeout is shorter than a createSession's commit, so
/// no attempt ever connects (as a real client would not). The verdict is the service's
/// liveness, not a failed assertion.
#[test]
fn a_connect_timeout_shorter_than_a_commit_never_connects_and_says_so() {
    let s = reconnecting(1);
    for seed in 0..3 {
        assert_eq!(violation(&s, seed), Some(Invariant::FailoverLiveness), "seed {seed}");
    }
}

/// With 5 ms, attempts time out while their sessions are still being created, and some
/// connect: every seed passes.
#[test]
fn late_answers_to_abandoned_attempts_do_not_reach_the_next_connection() {
    let s = reconnecting(5);
    for seed in 0..20 {
        assert_eq!(violation(&s, seed), None, "seed {seed}");
    }
}
