//! The world as an exhaustive explorer steps it: every next step named as a [`Move`]
//! that does not depend on time (the head of a channel, a timer, an fsync, a fault, a
//! client write), and taking one. A move names what happens, not when, so the same list
//! of moves replays the same run: `replay` re-takes an explorer's counterexample from it.

use super::Cluster;
use crate::run::client_id::ClientId;
use crate::run::event::{Event, NetEvent, ServerEvent};
use crate::scenario::FaultAction;
use crate::trace::FaultEvent;
use std::fmt;
use std::str::FromStr;
use zab::contract::{ClientRequest, Input, Timer};
use zab::durable::DiskFile;
use zab::{ServerState, Sid};

/// One step an explorer may take.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Move {
    /// The message at the head of the channel `from` -> `to` arrives.
    Deliver { from: Sid, to: Sid },
    /// `node` learns that its connection to `peer` came up or went down.
    Connection { node: Sid, peer: Sid },
    /// `node`'s oldest fsync of `file` completes.
    Fsync { node: Sid, file: DiskFile },
    /// One of `node`'s timers fires.
    Timer { node: Sid, timer: Timer },
    /// The supervisor starts a server whose process exited (or a joiner starts).
    Supervisor { server: Sid },
    /// The machine crashes: its unsynced writes are lost, or (`keep`) the operating
    /// system had written them all back.
    Crash { server: Sid, keep: bool },
    /// A crashed server is started again.
    Restart { server: Sid },
    /// A client write reaches `server`.
    Write { server: Sid },
    /// `server` is cut off from every other server, both ways.
    Isolate { server: Sid },
    /// Every cut heals.
    Heal,
}

impl Move {
    /// A step of the world's own (a pending event), not a fault or a write.
    pub fn is_event(self) -> bool {
        matches!(
            self,
            Move::Deliver { .. }
                | Move::Connection { .. }
                | Move::Fsync { .. }
                | Move::Timer { .. }
                | Move::Supervisor { .. }
        )
    }

    /// The pending event this move takes, if it is one.
    fn of_event(ev: &Event) -> Option<Move> {
        Some(match *ev {
            Event::Net(NetEvent::Deliver { from, to, .. }) => Move::Deliver { from, to },
            Event::Net(NetEvent::Connection { node, peer, .. }) => Move::Connection { node, peer },
            Event::Server(ServerEvent::FsyncDone { node, file, .. }) => Move::Fsync { node, file },
            Event::Server(ServerEvent::Timer { node, timer }) => Move::Timer { node, timer },
            Event::Server(ServerEvent::SupervisorRestart { server } | ServerEvent::Join { server }) => {
                Move::Supervisor { server }
            }
            _ => return None,
        })
    }
}

const TIMERS: [(Timer, &str); Timer::COUNT] = [
    (Timer::FleNotification, "fle-notification"),
    (Timer::FleFinalize, "fle-finalize"),
    (Timer::LearnerRead, "learner-read"),
    (Timer::LearnerConnectRetry, "learner-connect-retry"),
    (Timer::LeaderTick, "leader-tick"),
    (Timer::LeaderInit, "leader-init"),
    (Timer::CommitProcessor, "commit-processor"),
];

const FILES: [(DiskFile, &str); 4] = [
    (DiskFile::Epochs, "epochs"),
    (DiskFile::Log, "log"),
    (DiskFile::Snapshot, "snapshot"),
    (DiskFile::Config, "config"),
];

fn timer_name(t: Timer) -> &'static str {
    TIMERS.iter().find(|(x, _)| *x == t).map_or("?", |(_, n)| n)
}

fn file_name(f: DiskFile) -> &'static str {
    FILES.iter().find(|(x, _)| *x == f).map_or("?", |(_, n)| n)
}

/// As a trace header and the explorer's output write it: `deliver 1>2`, `fsync 2 log`,
/// `timer 3 fle-finalize`, `crash 1 lose`, `write 1`, `heal`.
impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Move::Deliver { from, to } => write!(f, "deliver {from}>{to}"),
            Move::Connection { node, peer } => write!(f, "connection {node}>{peer}"),
            Move::Fsync { node, file } => write!(f, "fsync {node} {}", file_name(file)),
            Move::Timer { node, timer } => write!(f, "timer {node} {}", timer_name(timer)),
            Move::Supervisor { server } => write!(f, "supervisor {server}"),
            Move::Crash { server, keep } => write!(f, "crash {server} {}", if keep { "keep" } else { "lose" }),
            Move::Restart { server } => write!(f, "restart {server}"),
            Move::Write { server } => write!(f, "write {server}"),
            Move::Isolate { server } => write!(f, "isolate {server}"),
            Move::Heal => write!(f, "heal"),
        }
    }
}

impl FromStr for Move {
    type Err = String;

    fn from_str(s: &str) -> Result<Move, String> {
        let bad = || {
            format!(
                "`{}`: not a move (`deliver 1>2`, `timer 1 leader-tick`, `crash 2 lose`, ...)",
                crate::format::brief(s, 40)
            )
        };
        let words: Vec<&str> = s.split_whitespace().collect();
        let sid =
            |w: &str| w.parse::<Sid>().ok().filter(|s| (1..=crate::bounds::SERVERS_MAX).contains(s)).ok_or_else(bad);
        let pair = |w: &str| -> Result<(Sid, Sid), String> {
            let (a, b) = w.split_once('>').ok_or_else(bad)?;
            Ok((sid(a)?, sid(b)?))
        };
        Ok(match words.as_slice() {
            ["deliver", p] => pair(p).map(|(from, to)| Move::Deliver { from, to })?,
            ["connection", p] => pair(p).map(|(node, peer)| Move::Connection { node, peer })?,
            ["fsync", n, f] => Move::Fsync {
                node: sid(n)?,
                file: FILES.iter().find(|(_, x)| x == f).map(|(d, _)| *d).ok_or_else(bad)?,
            },
            ["timer", n, t] => Move::Timer {
                node: sid(n)?,
                timer: TIMERS.iter().find(|(_, x)| x == t).map(|(d, _)| *d).ok_or_else(bad)?,
            },
            ["supervisor", n] => Move::Supervisor { server: sid(n)? },
            ["crash", n, k @ ("keep" | "lose")] => Move::Crash { server: sid(n)?, keep: *k == "keep" },
            ["restart", n] => Move::Restart { server: sid(n)? },
            ["write", n] => Move::Write { server: sid(n)? },
            ["isolate", n] => Move::Isolate { server: sid(n)? },
            ["heal"] => Move::Heal,
            _ => return Err(bad()),
        })
    }
}

/// What the world looks like to an explorer deciding its next moves.
pub struct Outlook {
    /// The world's own next steps other than timers: deliveries, connection news,
    /// fsyncs, supervisor restarts (each FIFO's head only), in move order.
    pub events: Vec<Move>,
    /// The armed timers, earliest due first.
    pub timers: Vec<Move>,
    /// Servers up, and which of them have writes not yet durable.
    pub up: Vec<Sid>,
    pub unsynced: Vec<Sid>,
    /// Servers down (crashed, or exited and not yet restarted), not retired.
    pub down: Vec<Sid>,
    /// The established leader whose followers are all serving under it, with nothing in
    /// flight: the world rests until a fault or a write.
    pub stable: bool,
    /// The leader that serves writes now (LEADING, established).
    pub leader: Option<Sid>,
    /// Some link is cut.
    pub cut: bool,
}

impl Cluster<'_> {
    /// The moves the world offers now, faults and writes aside.
    pub fn outlook(&self) -> Outlook {
        let mut heads: Vec<(Move, u64, u64)> = Vec::new();
        for (p, ev) in self.sched.pending() {
            let Some(m) = Move::of_event(ev) else { continue };
            match heads.iter_mut().find(|(x, _, _)| *x == m) {
                Some(h) if (p.at_us, p.seq) < (h.1, h.2) => *h = (m, p.at_us, p.seq),
                Some(_) => {}
                None => heads.push((m, p.at_us, p.seq)),
            }
        }
        let (mut timers, mut events): (Vec<_>, Vec<_>) =
            heads.into_iter().partition(|(m, _, _)| matches!(m, Move::Timer { .. }));
        timers.sort_unstable_by_key(|&(m, at, seq)| (at, seq, m));
        events.sort_unstable();
        let up: Vec<Sid> = self.scenario.servers().filter(|s| self.servers.is_up(*s)).collect();
        let down =
            self.scenario.servers().filter(|s| !self.servers.is_up(*s) && !self.servers.retired.contains(*s)).collect();
        let leader = self.servers.leader().filter(|l| self.servers.node(*l).is_some_and(|n| n.is_established()));
        // A leader whose `CommitProcessor` still holds committed txns has work pending: the
        // world does not rest until that timer fired (it drains the queue, so the search
        // stays finite).
        let applying = timers.iter().any(|(m, _, _)| matches!(m, Move::Timer { timer: Timer::CommitProcessor, .. }));
        let stable = events.is_empty()
            && !applying
            && leader.is_some()
            && up.iter().all(|s| {
                self.servers.node(*s).is_some_and(|n| {
                    n.is_established()
                        && n.leader() == leader
                        && matches!(n.state(), ServerState::Leading | ServerState::Following | ServerState::Observing)
                })
            });
        Outlook {
            events: events.into_iter().map(|(m, _, _)| m).collect(),
            timers: timers.into_iter().map(|(m, _, _)| m).collect(),
            unsynced: self.servers.unsynced().into_iter().filter(|s| up.contains(s)).collect(),
            up,
            down,
            stable,
            leader,
            cut: !self.transport.net().cut_off().is_empty(),
        }
    }

    /// Takes `m` with the checks after it, as a run takes its next event. `Err` says why
    /// the move is not possible here (nothing pending on that channel, a server down).
    pub fn play(&mut self, m: Move) -> Result<(), String> {
        let now = self.sched.now_us();
        let not = |why: &str| Err(format!("{m}: {why}"));
        match m {
            _ if m.is_event() => {
                let slot = self
                    .sched
                    .pending()
                    .filter(|(_, ev)| Move::of_event(ev) == Some(m))
                    .min_by_key(|(p, _)| (p.at_us, p.seq))
                    .map(|(p, _)| p.slot);
                let Some(slot) = slot else { return not("nothing of the kind is pending") };
                let (now, ev) = self.sched.take(slot).expect("found pending");
                self.after(now, ev);
                return Ok(());
            }
            Move::Crash { server, keep } => {
                if !self.servers.is_up(server) {
                    return not("the server is down");
                }
                let leader = self.servers.leader();
                self.faults.record(now, &FaultAction::Crash { server, for_ms: None }, leader);
                self.monitor.stats.count_fault("crash");
                self.monitor.on_fault(now, FaultEvent::Crash { server });
                if keep {
                    self.servers.exit_disk(server);
                } else {
                    self.servers.lose_volatile(server);
                }
                self.take_down(now, server);
            }
            Move::Restart { server } => {
                if self.servers.is_up(server) || self.servers.retired.contains(server) {
                    return not("the server is not down");
                }
                self.apply_fault(now, FaultAction::Restart { server });
            }
            Move::Write { server } => {
                if !self.servers.is_up(server) {
                    return not("the server is down");
                }
                let seq = self.monitor.stats.run.writes_submitted;
                self.monitor.stats.run.writes_submitted += 1;
                let client = ClientId::Raw(0).wire();
                self.step(server, Input::Client { client, request: ClientRequest::Write { seq } }, None);
            }
            Move::Isolate { server } => {
                let rest: Vec<Sid> = self.scenario.servers().filter(|s| *s != server).collect();
                self.apply_fault(now, FaultAction::Partition { groups: vec![vec![server], rest], for_ms: None });
            }
            Move::Heal => self.apply_fault(now, FaultAction::Heal),
            _ => unreachable!("events are taken above"),
        }
        if !self.servers.to_retire.is_empty() {
            self.retire_when_ready(now);
        }
        Ok(())
    }

    /// The move a run would take next: the earliest pending event that is one.
    pub fn next_move(&self) -> Option<Move> {
        let next = self.sched.pending().filter_map(|(p, ev)| Some(((p.at_us, p.seq), Move::of_event(ev)?))).min();
        next.map(|(_, m)| m)
    }

    /// Starts the servers (and whatever else the scenario starts) without taking a step:
    /// the initial world of an exploration.
    pub fn start_world(&mut self) {
        self.monitor.stop_covering();
        self.start();
    }

    /// The violation the checker found, if any.
    pub fn violation(&self) -> Option<&crate::check::invariant::Violation> {
        self.monitor.violation()
    }
}

/// Runs a list of moves from the scenario's initial world and finishes the run as `run`
/// does (trace, report): how an explorer's counterexample is written and replayed.
pub fn run_moves(
    scenario: &crate::scenario::Scenario,
    opts: super::RunOptions,
    moves: &[Move],
) -> Result<crate::run::stats::RunReport, String> {
    let mut c = Cluster::new(scenario, opts);
    c.start();
    for (i, m) in moves.iter().enumerate() {
        if c.violation().is_some() {
            return Err(format!("moves[{i}]: `{m}` comes after the run broke an invariant"));
        }
        c.play(*m).map_err(|e| format!("moves[{i}]: {e}"))?;
    }
    Ok(c.finish(None))
}
