//! Who a client id at the servers belongs to. The protocol knows a client by a number, as
//! ZooKeeper knows a session and a `ServerCnxn` by a long; the simulator hands numbers out
//! of disjoint ranges and decodes an answer's number here, in one place, into whom to
//! route it to.

/// Service clients' ids start here, far from the raw-write workload's.
const SERVICE_BASE: u64 = 1 << 40;

/// Bits of a connection id that name its service client.
const CNXN_CLIENT_BITS: u32 = 24;

/// A client, as the simulator routes its answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientId {
    /// A client of the raw-write workload, by its number (below 2^40).
    Raw(u64),
    /// The progress write submitted once the cluster converged.
    Probe,
    /// Service client `k`'s library: the owner of its sessions.
    Service(usize),
    /// Service client `k`'s `opened`-th connection (its `ServerCnxn`, counted from 1):
    /// every attempt gets its own id, and a trace reader can still tell whose it is.
    Cnxn { k: usize, opened: u64 },
}

impl ClientId {
    /// The number the servers know this client by.
    pub fn wire(self) -> u64 {
        match self {
            ClientId::Raw(n) => {
                assert!(n < SERVICE_BASE, "raw client {n} collides with service clients");
                n
            }
            ClientId::Probe => u64::MAX,
            ClientId::Service(k) => SERVICE_BASE + k as u64,
            ClientId::Cnxn { k, opened } => {
                assert!(k < 1 << CNXN_CLIENT_BITS && opened >= 1, "connection {opened} of client {k} has no id");
                SERVICE_BASE + (opened << CNXN_CLIENT_BITS) + k as u64
            }
        }
    }

    /// Whom a number the servers used belongs to.
    pub fn of_wire(id: u64) -> ClientId {
        if id == u64::MAX {
            return ClientId::Probe;
        }
        let Some(rel) = id.checked_sub(SERVICE_BASE) else { return ClientId::Raw(id) };
        let k = (rel & ((1 << CNXN_CLIENT_BITS) - 1)) as usize;
        match rel >> CNXN_CLIENT_BITS {
            0 => ClientId::Service(k),
            opened => ClientId::Cnxn { k, opened },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientId;

    /// Every kind of id survives the trip to the servers and back, and connection ids
    /// are distinct per attempt.
    #[test]
    fn ids_round_trip_and_connections_are_distinct() {
        for id in [
            ClientId::Raw(0),
            ClientId::Raw(7),
            ClientId::Probe,
            ClientId::Service(0),
            ClientId::Service(999),
            ClientId::Cnxn { k: 0, opened: 1 },
            ClientId::Cnxn { k: 5, opened: 1 << 20 },
        ] {
            assert_eq!(ClientId::of_wire(id.wire()), id, "{id:?}");
        }
        assert_ne!(ClientId::Cnxn { k: 1, opened: 1 }.wire(), ClientId::Cnxn { k: 1, opened: 2 }.wire());
        // The numbers the simulator always used: traces and hashes depend on them.
        assert_eq!(ClientId::Service(3).wire(), (1 << 40) + 3);
        assert_eq!(ClientId::Cnxn { k: 3, opened: 2 }.wire(), (1 << 40) + (2 << 24) + 3);
    }
}
