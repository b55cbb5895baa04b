//! # zabsim: a deterministic simulation testbed for ZooKeeper's protocols
//!
//! The simulator owns everything outside the servers, grouped by what each part is:
//! - [`world`]: virtual time, the network and its connections, disks, random streams;
//! - [`run`](mod@run): one run, its servers, clients, workloads and faults ([`run::cluster::run`]);
//! - [`check`]: the invariants checked after every step;
//! - [`scenario`] files and [`trace`]s;
//! - [`tools`] over many runs or one recorded run: sweep, shrink, replay;
//! - [`present`]: summaries, reports, diagrams.
//!
//! One seed drives a run; the same seed gives the same trace hash on any machine.

pub mod bounds;
pub mod check;
pub mod cli;
pub mod format;
pub mod present;
pub mod run;
pub mod scenario;
pub mod tools;
pub mod trace;
pub mod world;

pub use check::invariant::{Invariant, Violation};
pub use run::cluster::{run, RunOptions};
pub use run::stats::RunReport;
pub use scenario::Scenario;
