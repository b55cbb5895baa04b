//! What the scheduler holds, nested by the component that owns each kind of event: the
//! cluster's `handle` dispatches on the owner and the owner on the rest.

use crate::scenario::FaultAction;
use zab::client::ClientTimer;
use zab::contract::{ClientReply, ClientRequest, Timer};
use zab::durable::DiskFile;
use zab::message::Message;
use zab::Sid;

pub(crate) use crate::world::transport::NetEvent;

/// One scheduled event.
#[derive(Clone)]
pub(crate) enum Event {
    Server(ServerEvent),
    Net(NetEvent),
    Client(ClientEv),
    Fault(FaultEv),
    Workload(WorkloadEvent),
    /// The liveness bound after faults stopped ran out.
    LivenessDeadline,
}

/// Events of the server processes ([`super::servers`]).
#[derive(Clone)]
pub(crate) enum ServerEvent {
    /// A server timer fires: its one scheduler entry, moved when re-armed and dropped
    /// when cancelled or when the process goes down, so it is always current.
    Timer { node: Sid, timer: Timer },
    FsyncDone {
        node: Sid,
        life: u64,
        id: u64,
        file: DiskFile,
        mark: u64,
        /// Messages that leave once the fsync completes, with the generation of the quorum
        /// connection they were queued on: one closed meanwhile loses them, as a socket
        /// closed under ZooKeeper's sender thread would.
        then_send: Vec<(Sid, u64, Message)>,
    },
    /// The supervisor (systemd, a container runtime) starts a server whose process exited.
    SupervisorRestart { server: Sid },
    /// A migration's joiner is started (`reconfig.join_ms`).
    Join { server: Sid },
}

/// Events of the service's clients and their connections ([`super::fleet`]).
#[derive(Clone)]
pub(crate) enum ClientEv {
    /// A service client's request reaches a server on connection `generation`.
    Send {
        k: usize,
        server: Sid,
        generation: u64,
        sent_us: u64,
        /// Boxed, like the answer below: the scheduler moves every event, most are not these.
        request: Box<ClientRequest>,
    },
    /// A server's answer reaches service client `k`.
    Recv {
        k: usize,
        server: Sid,
        generation: u64,
        sent_us: u64,
        reply: Box<ClientReply>,
    },
    /// Client `k` learns its connection broke.
    Lost {
        k: usize,
        server: Sid,
        generation: u64,
    },
    /// A server learns that connection `cnxn` closed.
    Gone {
        server: Sid,
        cnxn: u64,
    },
    /// A client timer fires (always current, as a server timer).
    Timer {
        k: usize,
        timer: ClientTimer,
    },
    /// The periodic work of client `k` (configuration updates, beats).
    Wake {
        k: usize,
        life: u64,
    },
    Restart {
        k: usize,
    },
    Heal {
        k: usize,
    },
    Resume {
        k: usize,
    },
    SlowEnd {
        k: usize,
    },
}

/// Events of the fault injector ([`super::faults`]).
#[derive(Clone)]
pub(crate) enum FaultEv {
    Scripted(FaultAction),
    /// Time for the next random fault.
    Random,
    /// Time for the next random client fault.
    RandomClient,
    RestartAfterFault {
        server: Sid,
    },
    HealCut {
        cut: u64,
    },
    SlowLinkEnd {
        from: Sid,
        to: Sid,
    },
    /// The fault phase ends.
    Stop,
}

/// Events of the raw-write workload and the progress write ([`super::writes`]).
#[derive(Clone)]
pub(crate) enum WorkloadEvent {
    /// A client write reaches a server.
    Write { server: Sid, client: u64, seq: u64 },
    /// Time for the workload's next write.
    Next,
    /// The progress write's attempt `seq` got no answer in time.
    ProbeTimeout { seq: u64 },
}

impl Event {
    /// The server the event goes to or concerns, if one.
    pub(crate) fn server(&self) -> Option<Sid> {
        match *self {
            Event::Server(
                ServerEvent::Timer { node: s, .. }
                | ServerEvent::FsyncDone { node: s, .. }
                | ServerEvent::SupervisorRestart { server: s }
                | ServerEvent::Join { server: s },
            )
            | Event::Net(NetEvent::Deliver { to: s, .. } | NetEvent::Connection { node: s, .. })
            | Event::Fault(FaultEv::RestartAfterFault { server: s })
            | Event::Workload(WorkloadEvent::Write { server: s, .. })
            | Event::Client(
                ClientEv::Send { server: s, .. }
                | ClientEv::Recv { server: s, .. }
                | ClientEv::Lost { server: s, .. }
                | ClientEv::Gone { server: s, .. },
            ) => Some(s),
            _ => None,
        }
    }

    /// The event's kind, for the diagnosis of a run stuck at one instant.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Event::Server(e) => match e {
                ServerEvent::Timer { .. } => "Timer",
                ServerEvent::FsyncDone { .. } => "FsyncDone",
                ServerEvent::SupervisorRestart { .. } => "SupervisorRestart",
                ServerEvent::Join { .. } => "Join",
            },
            Event::Net(NetEvent::Deliver { .. }) => "Deliver",
            Event::Net(NetEvent::Connection { .. }) => "Connection",
            Event::Client(e) => match e {
                ClientEv::Send { .. } => "ClientSend",
                ClientEv::Recv { .. } => "ClientRecv",
                ClientEv::Lost { .. } => "ClientLost",
                ClientEv::Gone { .. } => "ClientGone",
                ClientEv::Timer { .. } => "ClientTimer",
                ClientEv::Wake { .. } => "ClientWake",
                ClientEv::Restart { .. } => "ClientRestart",
                ClientEv::Heal { .. } => "ClientHeal",
                ClientEv::Resume { .. } => "ClientResume",
                ClientEv::SlowEnd { .. } => "ClientSlowEnd",
            },
            Event::Fault(e) => match e {
                FaultEv::Scripted(_) => "Fault",
                FaultEv::Random => "RandomFault",
                FaultEv::RandomClient => "ClientFault",
                FaultEv::RestartAfterFault { .. } => "RestartAfterFault",
                FaultEv::HealCut { .. } => "HealCut",
                FaultEv::SlowLinkEnd { .. } => "SlowLinkEnd",
                FaultEv::Stop => "FaultsStop",
            },
            Event::Workload(e) => match e {
                WorkloadEvent::Write { .. } => "ClientWrite",
                WorkloadEvent::Next => "NextWrite",
                WorkloadEvent::ProbeTimeout { .. } => "ProbeTimeout",
            },
            Event::LivenessDeadline => "LivenessDeadline",
        }
    }
}

#[cfg(test)]
mod tests {
    /// The scheduler, the logs and every step move these by value: a variant that grows
    /// one of them slows every run (the client protocol's payloads are boxed for this).
    /// FLE notifications carry their sender's configuration (24 bytes, as ZooKeeper's
    /// carry theirs), which grew messages from 40 to 64 bytes with no measurable slowdown
    /// of leader-failover, partition-flapping or service-failover sweeps.
    #[test]
    fn the_values_every_step_moves_stay_small() {
        assert!(std::mem::size_of::<super::Event>() <= 104);
        assert!(std::mem::size_of::<zab::Message>() <= 64);
        assert!(std::mem::size_of::<zab::durable::Txn>() <= 32);
        assert!(std::mem::size_of::<zab::Input>() <= 72);
        assert!(std::mem::size_of::<zab::Effect>() <= 72);
        assert!(std::mem::size_of::<crate::trace::TraceRecord>() <= 128);
    }
}
