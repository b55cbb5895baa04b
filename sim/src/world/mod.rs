//! The world a run happens in, apart from the servers' own logic: virtual time, the
//! network and its connections, disks, and the seeded random streams.

pub mod disk;
pub mod dist;
pub mod network;
pub mod rng;
pub mod scheduler;
pub mod transport;
