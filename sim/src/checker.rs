//! The checker: invariants asserted while a run goes on. A violation stops the run and
//! is reported with what, when, which servers, and the last events before it.
//!
//! This part checks the liveness of election: once faults stop (every partition healed,
//! every server restarted), within the scenario's bound every server must be FOLLOWING
//! or LEADING, all must name the same leader, and that leader must be established with
//! every follower connected to it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use zab::{Node, ServerState, Sid};

/// The invariants, named as in the ZooKeeper specifications where they come from there.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Invariant {
    /// After faults stop, one leader established with every server following it, within
    /// the liveness bound.
    ElectionLiveness,
    /// A server's durable image failed ZooKeeper's startup checks on restart.
    StartupCheck,
}

impl Invariant {
    pub const ALL: [Invariant; 2] = [Invariant::ElectionLiveness, Invariant::StartupCheck];

    pub fn name(self) -> &'static str {
        match self {
            Invariant::ElectionLiveness => "ElectionLiveness",
            Invariant::StartupCheck => "StartupCheck",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Invariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Invariant, String> {
        Invariant::ALL.iter().copied().find(|i| i.name() == s).ok_or_else(|| format!("unknown invariant `{s}`"))
    }
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub invariant: Invariant,
    pub t_us: u64,
    /// The servers involved.
    pub nodes: Vec<Sid>,
    pub detail: String,
}

/// Liveness bookkeeping of one run.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    /// When the fault phase ended, once it has.
    faults_stopped_us: Option<u64>,
    /// When the cluster first converged after that.
    converged_us: Option<u64>,
}

impl Checker {
    pub fn new() -> Checker {
        Checker::default()
    }

    pub fn faults_stopped(&mut self, now_us: u64) {
        self.faults_stopped_us = Some(now_us);
    }

    pub fn converged_us(&self) -> Option<u64> {
        self.converged_us
    }

    /// How long convergence took after faults stopped.
    pub fn recovery_us(&self) -> Option<u64> {
        Some(self.converged_us? - self.faults_stopped_us?)
    }

    /// After a step: has the cluster converged? Only counts once faults stopped.
    pub fn after_step(&mut self, now_us: u64, nodes: &[Option<Node>]) -> bool {
        if self.faults_stopped_us.is_none() || self.converged_us.is_some() {
            return self.converged_us.is_some();
        }
        if converged(nodes).is_ok() {
            self.converged_us = Some(now_us);
            return true;
        }
        false
    }

    /// The liveness bound ran out: a violation unless the cluster converged.
    pub fn on_deadline(&self, now_us: u64, nodes: &[Option<Node>]) -> Option<Violation> {
        if self.converged_us.is_some() {
            return None;
        }
        let (culprits, why) = converged(nodes).err()?;
        Some(Violation {
            invariant: Invariant::ElectionLiveness,
            t_us: now_us,
            nodes: culprits,
            detail: format!("no single established leader after faults stopped: {why}; servers: {}", describe(nodes)),
        })
    }
}

/// Is there one established leader that every server follows? If not, which servers
/// stand in the way and why.
pub fn converged(nodes: &[Option<Node>]) -> Result<Sid, (Vec<Sid>, String)> {
    let mut down = Vec::new();
    let mut leaders = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match n {
            None => down.push(i as Sid + 1),
            Some(n) if n.state() == ServerState::Leading => leaders.push(n.id()),
            Some(_) => {}
        }
    }
    if !down.is_empty() {
        return Err((down, "servers are down".into()));
    }
    let leader = match leaders.as_slice() {
        [l] => *l,
        [] => return Err((nodes.iter().flatten().map(|n| n.id()).collect(), "no server is LEADING".into())),
        many => return Err((many.to_vec(), "more than one server is LEADING".into())),
    };
    let mut astray = Vec::new();
    for n in nodes.iter().flatten() {
        if n.leader() != Some(leader) || !n.is_established() {
            astray.push(n.id());
        }
    }
    if astray.is_empty() {
        Ok(leader)
    } else {
        Err((astray, format!("not all servers follow an established leader {leader}")))
    }
}

/// One word per server: `1:FOLLOWING(5)`, `2:LOOKING(r7)`, `3:down`.
pub fn describe(nodes: &[Option<Node>]) -> String {
    let parts: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| match n {
            None => format!("{}:down", i + 1),
            Some(n) => match n.state() {
                ServerState::Looking => format!("{}:LOOKING(r{})", n.id(), n.round()),
                s => format!(
                    "{}:{}({}{})",
                    n.id(),
                    s,
                    n.leader().unwrap_or(0),
                    if n.is_established() { "" } else { ", not established" }
                ),
            },
        })
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab::durable::DurableState;
    use zab::node::{Input, NodeConfig, Outbox};
    use zab::quorum::QuorumVerifier;
    use zab::timing::Timing;
    use zab::Variant;

    fn looking(id: Sid) -> Node {
        let cfg = NodeConfig {
            id,
            quorum: QuorumVerifier::majority_of(3),
            timing: Timing::default(),
            variant: Variant::None,
        };
        let mut n = Node::recover(cfg, DurableState::default()).unwrap();
        n.step(Input::Start, &mut Outbox::default());
        n
    }

    #[test]
    fn servers_still_looking_at_the_deadline_break_election_liveness() {
        let nodes = vec![Some(looking(1)), Some(looking(2)), Some(looking(3))];
        let mut c = Checker::new();
        c.faults_stopped(1_000);
        assert!(!c.after_step(2_000, &nodes));
        let v = c.on_deadline(31_000, &nodes).expect("a violation");
        assert_eq!(v.invariant, Invariant::ElectionLiveness);
        assert_eq!(v.nodes, vec![1, 2, 3]);
        assert!(v.detail.contains("no server is LEADING"), "{}", v.detail);
        assert!(v.detail.contains("1:LOOKING(r1)"), "{}", v.detail);
    }

    #[test]
    fn a_server_down_at_the_deadline_is_named() {
        let nodes = vec![Some(looking(1)), None, Some(looking(3))];
        let mut c = Checker::new();
        c.faults_stopped(0);
        let v = c.on_deadline(10, &nodes).expect("a violation");
        assert_eq!(v.nodes, vec![2]);
        assert!(v.detail.contains("2:down"));
    }

    #[test]
    fn nothing_is_checked_before_faults_stop() {
        let nodes = vec![Some(looking(1))];
        let mut c = Checker::new();
        assert!(!c.after_step(5, &nodes));
        assert_eq!(c.recovery_us(), None);
    }
}
