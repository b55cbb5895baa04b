//! After faults stop: when the cluster counts as converged, the progress write it then
//! owes, and the liveness deadline.

use super::Cluster;
use crate::check::checker::Expected;
use crate::check::invariant::{Invariant, Violation};
use crate::format::fmt_us;
use crate::scenario::Retire;

impl Cluster<'_> {
    /// What convergence means now: the servers stopped for good, and with a migration the
    /// configuration it made, once made.
    pub(super) fn expected(&self) -> Expected {
        let migration =
            self.scenario.reconfig.as_ref().map(|_| self.fleet.as_ref().and_then(|f| f.recipes.final_config()));
        let outsiders_stay = self.scenario.reconfig.as_ref().is_some_and(|r| r.retire == Retire::Never);
        Expected { retired: self.servers.retired, migration, outsiders_stay }
    }

    /// After faults stopped: once the servers converged, the progress write goes; once
    /// they did, the service's clients must converge too.
    pub(super) fn check_convergence(&mut self, now: u64) {
        if !self.faults.stopped || self.monitor.violation().is_some() {
            return;
        }
        let expected = self.expected();
        if self.monitor.checker.check_converged(now, self.servers.all(), &expected) {
            self.submit_probe();
        }
        if self.monitor.checker.converged_us().is_some() {
            if let Some(f) = &mut self.fleet {
                f.check_converged(now, &self.servers);
            }
        }
    }

    /// The run's work is done: a write committed after convergence, and the service's
    /// clients all point at live instances.
    pub(super) fn is_done(&self) -> bool {
        self.monitor.checker.is_done() && self.fleet.as_ref().is_none_or(|f| f.converged_us.is_some())
    }

    /// The liveness bound ran out after faults stopped: the servers must have converged,
    /// and the service's clients too.
    pub(super) fn liveness_deadline(&mut self, now: u64) {
        if !self.faults.stopped {
            return;
        }
        if let Some(v) = self.monitor.checker.on_deadline(now, self.servers.all(), &self.expected()) {
            self.monitor.violate(v);
        } else if let Some(v) = self.monitor.recipe.as_ref().and_then(|r| r.check_notice(now)) {
            self.monitor.violate(v);
        } else if let Some((leader, why)) = self.fleet.as_ref().and_then(|f| f.not_converged(&self.servers)) {
            let recipe = self.fleet.as_ref().and_then(|f| f.recipes.recipe()).is_some();
            self.monitor.violate(Violation {
                invariant: if recipe { Invariant::RecipeLiveness } else { Invariant::FailoverLiveness },
                t_us: now,
                nodes: vec![leader],
                detail: format!("{why}, {} after faults stopped", fmt_us(self.scenario.liveness_bound_us())),
            });
        }
    }
}
