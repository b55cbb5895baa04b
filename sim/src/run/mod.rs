//! One run: the cluster of servers, the service's clients and the workloads, driven through
//! faults by the scheduler.

pub mod client_id;
pub mod cluster;
pub mod coverage;
pub(crate) mod event;
pub mod faults;
pub(crate) mod fleet;
pub mod monitor;
pub mod options;
pub mod progress;
pub mod recipe;
pub(crate) mod servers;
pub mod stats;
pub mod workload;
pub(crate) mod writes;
