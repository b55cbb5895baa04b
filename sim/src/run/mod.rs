//! One run: the cluster of servers, the service's clients and the workloads, driven through
//! faults by the scheduler.

pub mod cluster;
pub mod faults;
pub mod workload;
