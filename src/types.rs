//! Identifiers and small value types named as in ZooKeeper (`myid`, zxid, epochs).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A server id (`myid` in ZooKeeper). Ids start at 1.
pub type Sid = u64;

/// An epoch (`acceptedEpoch`, `currentEpoch`, `peerEpoch`). ZooKeeper keeps these as
/// `long`, but only the low 32 bits can appear in a zxid.
pub type Epoch = u64;

/// The FLE round (`logicalclock`, a notification's `electionEpoch`). Signed as in ZooKeeper:
/// a vote made outside an election (`new Vote(id, zxid)`, `new Vote(id, zxid, peerEpoch)`)
/// has election epoch -1, and a server that joins an ensemble through such votes takes
/// that round (`logicalclock.set(n.electionEpoch)`).
pub type Round = i64;

/// The election epoch of a vote made outside an election (`Vote`'s two- and
/// three-argument constructors).
pub const ROUND_NONE: Round = -1;

/// A ZooKeeper transaction id: `epoch << 32 | counter` (`ZxidUtils`).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Zxid(pub u64);

impl Zxid {
    pub const ZERO: Zxid = Zxid(0);

    pub fn new(epoch: Epoch, counter: u64) -> Zxid {
        assert!(epoch <= u64::from(u32::MAX), "zxid epoch {epoch} does not fit 32 bits");
        assert!(counter <= u64::from(u32::MAX), "zxid counter {counter} does not fit 32 bits");
        Zxid(epoch << 32 | counter)
    }

    /// The epoch in the high 32 bits (`ZxidUtils.getEpochFromZxid`).
    pub fn epoch(self) -> Epoch {
        self.0 >> 32
    }

    /// The counter in the low 32 bits (`ZxidUtils.getCounterFromZxid`).
    pub fn counter(self) -> u64 {
        self.0 & 0xffff_ffff
    }
}

impl fmt::Debug for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// `QuorumPeer.ServerState`.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    Observing,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Looking => "LOOKING",
            ServerState::Following => "FOLLOWING",
            ServerState::Leading => "LEADING",
            ServerState::Observing => "OBSERVING",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_packs_epoch_high_and_counter_low() {
        let z = Zxid::new(3, 7);
        assert_eq!(z.0, 0x3_0000_0007);
        assert_eq!(z.epoch(), 3);
        assert_eq!(z.counter(), 7);
        assert_eq!(format!("{z}"), "0x300000007");
    }

    #[test]
    fn zxid_orders_by_epoch_then_counter() {
        assert!(Zxid::new(2, 0) > Zxid::new(1, 0xffff_ffff));
    }
}
