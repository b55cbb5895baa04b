//! Timing parameters, in microseconds of virtual time, with ZooKeeper's defaults.

use serde::{Deserialize, Serialize};

/// The knobs of `zoo.cfg` and `FastLeaderElection` that shape the protocols' timing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timing {
    /// `tickTime`: the basic time unit (ZooKeeper's sample config: 2000 ms).
    pub tick_us: u64,
    /// `initLimit`: ticks a follower may take to connect and sync with its leader.
    pub init_limit: u64,
    /// `syncLimit`: ticks a follower may be silent before it is considered out of sync.
    pub sync_limit: u64,
    /// `FastLeaderElection.finalizeWait`: silence needed before deciding (200 ms).
    pub finalize_wait_us: u64,
    /// `minNotificationInterval`: first poll timeout of an election (200 ms).
    pub min_notification_interval_us: u64,
    /// `maxNotificationInterval`: cap of the doubling poll timeout (60 s).
    pub max_notification_interval_us: u64,
    /// How long the leader's `CommitProcessor` takes to apply a txn it committed (the
    /// `toBeApplied` window of `Leader.tryToCommit`); 0 applies it in the step that commits
    /// it. Not a `zoo.cfg` setting: a processing latency.
    pub commit_processor_us: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            tick_us: 2_000_000,
            init_limit: 10,
            sync_limit: 5,
            finalize_wait_us: 200_000,
            min_notification_interval_us: 200_000,
            max_notification_interval_us: 60_000_000,
            commit_processor_us: 0,
        }
    }
}

impl Timing {
    /// How long a learner waits for its leader while connecting (`tickTime * initLimit`).
    pub fn init_timeout_us(&self) -> u64 {
        self.tick_us * self.init_limit
    }

    /// The learner's socket timeout once synced (`tickTime * syncLimit`).
    pub fn sync_timeout_us(&self) -> u64 {
        self.tick_us * self.sync_limit
    }

    /// The leader's main loop period: it wakes every half tick (`Leader.lead`).
    /// tickTime in milliseconds, the unit session timeouts are negotiated in.
    pub fn tick_ms(&self) -> u64 {
        self.tick_us / 1000
    }

    pub fn half_tick_us(&self) -> u64 {
        self.tick_us / 2
    }
}
