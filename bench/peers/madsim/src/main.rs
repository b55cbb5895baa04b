//! (c) madsim: five nodes, TCP from the leader to each follower, madsim's own network model
//! (`send_latency` uniform in 200..2001 µs, drawn from its seeded global RNG; a TCP stream
//! delivers in order). madsim sleeps at least 1 ms (as tokio does), and a stream's receiver
//! sleeps until each chunk's arrival: so a message arrives at least 1 ms after the one
//! before it on the same stream, and at least 1 ms after it is sent.
//!
//! Build with `RUSTFLAGS="--cfg madsim"`; without it madsim is real tokio and this binary
//! refuses to run. Usage: `peers-madsim SEED`.

#[cfg(madsim)]
mod sim {
    use madsim::net::{TcpListener, TcpStream};
    use madsim::runtime::{Handle, Runtime};
    use madsim::time::{sleep, Duration};
    use peers_workload::{
        check, cpu_time_us, Follower, Leader, Msg, Outbox, Run, DELAY_US_MAX, DELAY_US_MIN, FOLLOWERS, FRAME_BYTES,
        PROPOSALS, WINDOW,
    };
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    const PORT: u16 = 2888;

    /// Simulated addresses: madsim never touches the host's network.
    fn addr(node: usize) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, node as u8 + 1)), PORT)
    }

    async fn read(r: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Msg> {
        let mut b = [0; FRAME_BYTES];
        r.read_exact(&mut b).await?;
        Ok(Msg::decode(&b))
    }

    /// One message per flush: each becomes its own chunk with its own delay.
    async fn write(w: &mut (impl AsyncWriteExt + Unpin), msg: Msg) -> std::io::Result<()> {
        w.write_all(&msg.encode()).await?;
        w.flush().await
    }

    async fn follower(id: usize) -> Follower {
        let listener = TcpListener::bind(addr(id)).await.expect("bind");
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut f = Follower::new(id);
        let mut out = Outbox::new();
        while f.committed < PROPOSALS {
            let msg = read(&mut stream).await.expect("read");
            f.on_msg(0, msg, &mut out);
            for (_, m) in out.drain(..) {
                write(&mut stream, m).await.expect("write");
            }
        }
        f
    }

    async fn connect(to: usize) -> TcpStream {
        loop {
            match TcpStream::connect(addr(to)).await {
                Ok(s) => return s,
                // The follower has not bound yet.
                Err(_) => sleep(Duration::from_millis(1)).await,
            }
        }
    }

    async fn leader() -> Leader {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut writers = Vec::new();
        for f in 1..=FOLLOWERS {
            let (mut r, w) = tokio::io::split(connect(f).await);
            writers.push(w);
            let tx = tx.clone();
            madsim::task::spawn(async move {
                while let Ok(msg) = read(&mut r).await {
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
                write(&mut writers[to - 1], m).await.expect("write");
            }
            if l.acks_received == PROPOSALS * FOLLOWERS as u64 {
                break;
            }
            let (from, msg) = rx.recv().await.expect("readers outlive the leader's loop");
            l.on_msg(from, msg, &mut out);
        }
        l
    }

    pub fn run(seed: u64) -> Run {
        let cpu0 = cpu_time_us();
        let mut config = madsim::Config::default();
        config.net.send_latency = Duration::from_micros(DELAY_US_MIN)..Duration::from_micros(DELAY_US_MAX + 1);
        let rt = Runtime::with_seed_and_config(seed, config);
        let (l, fs, virtual_us) = rt.block_on(async {
            let h = Handle::current();
            let followers: Vec<_> = (1..=FOLLOWERS)
                .map(|id| h.create_node().name(format!("follower{id}")).ip(addr(id).ip()).build().spawn(follower(id)))
                .collect();
            let l = h.create_node().name("leader").ip(addr(0).ip()).build().spawn(leader());
            let l = l.await.expect("leader");
            let mut fs = Vec::new();
            for f in followers {
                fs.push(f.await.expect("follower"));
            }
            let virtual_us = madsim::time::TimeHandle::current().elapsed().as_micros() as u64;
            (l, fs, virtual_us)
        });
        let fs: Vec<&Follower> = fs.iter().collect();
        let messages = check(&l, &fs);
        Run { messages, virtual_us, cpu_us: cpu_time_us() - cpu0 }
    }
}

/// The same seed gives the same run (madsim's executor also picks tasks by its seeded RNG).
#[cfg(all(test, madsim))]
#[test]
fn a_seed_repeats_its_run() {
    let a = sim::run(7);
    assert_eq!(a.messages, peers_workload::messages(peers_workload::PROPOSALS));
    assert_eq!(sim::run(7).virtual_us, a.virtual_us);
}

fn main() {
    let seed = std::env::args().nth(1).and_then(|s| s.parse::<u64>().ok());
    let Some(seed) = seed else {
        eprintln!("peers-madsim: usage: peers-madsim SEED");
        std::process::exit(2)
    };
    #[cfg(madsim)]
    println!("{}", sim::run(seed).line("madsim", seed));
    #[cfg(not(madsim))]
    {
        eprintln!("peers-madsim: built without --cfg madsim (seed {seed}): use bench/peers/run.sh");
        std::process::exit(2)
    }
}
