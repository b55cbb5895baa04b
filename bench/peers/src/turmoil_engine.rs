//! (b) turmoil: five hosts, TCP from the leader to each follower. turmoil's own latency
//! model cannot draw a uniform 200-2000 µs delay (it scales an Exp(5) draw by the
//! min-max range in whole milliseconds, so this range gives 200 µs or 1.2 ms), so links
//! have zero latency and the delay is drawn by the sender, from a ChaCha8 stream per
//! channel, as a delivery instant stamped on the frame (never before the channel's previous
//! one: FIFO); the receiving host sleeps until that instant before handling the message.
//! Every host wakes on turmoil's tick (1 ms, the default), so delivery instants round up
//! to the next whole millisecond.

use peers_workload::{
    check, cpu_time_us, Follower, Leader, Msg, Outbox, Run, DELAY_US_MAX, DELAY_US_MIN, FOLLOWERS, FRAME_BYTES,
    PROPOSALS, WINDOW,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use turmoil::net::{TcpListener, TcpStream};

const PORT: u16 = 2888;
/// A frame: the message and its delivery instant (µs of simulated time).
const WIRE_BYTES: usize = FRAME_BYTES + 8;

fn host(node: usize) -> String {
    if node == 0 {
        "leader".to_string()
    } else {
        format!("follower{node}")
    }
}

fn now_us() -> u64 {
    turmoil::sim_elapsed().expect("inside the simulation").as_micros() as u64
}

/// The sending end of one channel: its delay stream and its last delivery instant.
struct Wire {
    rng: ChaCha8Rng,
    last_us: u64,
}

impl Wire {
    fn new(seed: u64, from: usize, to: usize) -> Wire {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream((from * (FOLLOWERS + 1) + to) as u64 + 1);
        Wire { rng, last_us: 0 }
    }

    fn frame(&mut self, msg: Msg) -> [u8; WIRE_BYTES] {
        let d = DELAY_US_MIN + self.rng.next_u64() % (DELAY_US_MAX - DELAY_US_MIN + 1);
        let at = (now_us() + d).max(self.last_us);
        self.last_us = at;
        let mut b = [0; WIRE_BYTES];
        b[..FRAME_BYTES].copy_from_slice(&msg.encode());
        b[FRAME_BYTES..].copy_from_slice(&at.to_le_bytes());
        b
    }
}

/// Reads one frame and waits for its delivery instant.
async fn receive(r: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Msg> {
    let mut b = [0; WIRE_BYTES];
    r.read_exact(&mut b).await?;
    let at = u64::from_le_bytes(b[FRAME_BYTES..].try_into().expect("8 bytes"));
    let now = now_us();
    if at > now {
        tokio::time::sleep(Duration::from_micros(at - now)).await;
    }
    Ok(Msg::decode(b[..FRAME_BYTES].try_into().expect("frame")))
}

async fn follower(id: usize, seed: u64, done: Rc<RefCell<Vec<Follower>>>) -> turmoil::Result {
    let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
    let (stream, _) = listener.accept().await?;
    let (mut r, mut w) = stream.into_split();
    let mut wire = Wire::new(seed, id, 0);
    let mut f = Follower::new(id);
    let mut out = Outbox::new();
    while f.committed < PROPOSALS {
        let msg = receive(&mut r).await?;
        f.on_msg(0, msg, &mut out);
        for (_, m) in out.drain(..) {
            w.write_all(&wire.frame(m)).await?;
        }
    }
    done.borrow_mut().push(f);
    Ok(())
}

async fn connect(to: usize) -> turmoil::Result<TcpStream> {
    loop {
        match TcpStream::connect((host(to), PORT)).await {
            Ok(s) => return Ok(s),
            // The follower has not bound yet.
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

async fn leader(seed: u64, done: Rc<RefCell<Option<Leader>>>) -> turmoil::Result {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut writers = Vec::new();
    let mut wires = Vec::new();
    for f in 1..=FOLLOWERS {
        let (mut r, w) = connect(f).await?.into_split();
        writers.push(w);
        wires.push(Wire::new(seed, 0, f));
        let tx = tx.clone();
        tokio::task::spawn_local(async move {
            while let Ok(msg) = receive(&mut r).await {
                if tx.send((f, msg)).is_err() {
                    break;
                }
            }
        });
    }
    let mut l = Leader::new(PROPOSALS, WINDOW);
    let mut out = Outbox::new();
    l.start(&mut out);
    loop {
        for (to, m) in out.drain(..) {
            writers[to - 1].write_all(&wires[to - 1].frame(m)).await?;
        }
        if l.acks_received == PROPOSALS * FOLLOWERS as u64 {
            break;
        }
        let (from, msg) = rx.recv().await.expect("readers outlive the leader's loop");
        l.on_msg(from, msg, &mut out);
    }
    *done.borrow_mut() = Some(l);
    Ok(())
}

pub fn run(seed: u64) -> Run {
    let cpu0 = cpu_time_us();
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(24 * 3600))
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::ZERO)
        // Far above what is ever in flight, so that flow control never holds a writer.
        .tcp_capacity(1 << 16)
        .rng_seed(seed)
        .build();
    let followers = Rc::new(RefCell::new(Vec::new()));
    let leader_done = Rc::new(RefCell::new(None));
    for id in 1..=FOLLOWERS {
        sim.client(host(id), follower(id, seed, followers.clone()));
    }
    sim.client(host(0), leader(seed, leader_done.clone()));
    sim.run().expect("the turmoil run");
    let virtual_us = sim.elapsed().as_micros() as u64;
    let l = leader_done.borrow_mut().take().expect("the leader finished");
    let fs = followers.borrow();
    let fs: Vec<&Follower> = fs.iter().collect();
    Run { messages: check(&l, &fs), virtual_us, cpu_us: cpu_time_us() - cpu0 }
}
