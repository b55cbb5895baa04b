//! # zabsim: a deterministic simulation testbed for ZooKeeper's protocols
//!
//! The simulator owns everything outside the servers: virtual time ([`scheduler`]), the
//! [`network`], the [`disk`]s, [`faults`], and the [`checker`]. One seed drives a run
//! ([`cluster::run`]); the same seed gives the same trace hash on any machine.

pub mod checker;
pub mod cli;
pub mod cluster;
pub mod data_checker;
pub mod diagram;
pub mod disk;
pub mod dist;
pub mod faults;
pub mod network;
pub mod replay;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod scheduler;
pub mod shrink;
pub mod strategies;
pub mod summary;
pub mod svg;
pub mod sweep;
pub mod trace;
pub mod workload;

pub use checker::{Invariant, Violation};
pub use cluster::{run, RunOptions};
pub use scenario::Scenario;
pub use summary::RunReport;

#[cfg(test)]
mod checker_tests;
