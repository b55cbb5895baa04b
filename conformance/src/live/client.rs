//! A small blocking ZooKeeper client over the jute wire protocol, and the four-letter words.
//!
//! Why not a crate: the maintained Rust client (`zookeeper-client` 0.11, async) manages
//! sessions for its user, and the cases need exactly what a client library hides: a
//! ConnectRequest with a chosen lastZxidSeen and session, a session abandoned without a
//! closeSession (so the leader expires it), a write sent without waiting for its reply (to
//! a leader whose followers are frozen). A dozen request types over one blocking socket do
//! that in a few hundred lines, with no async runtime. Every connection goes to 127.0.0.1.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

pub const OP_CREATE: i32 = 1;
pub const OP_DELETE: i32 = 2;
pub const OP_EXISTS: i32 = 3;
pub const OP_GET_DATA: i32 = 4;
pub const OP_SET_DATA: i32 = 5;
pub const OP_PING: i32 = 11;
pub const OP_RECONFIG: i32 = 16;
pub const OP_CLOSE: i32 = -11;

/// A watch event (`WatcherEvent`): type 1 created, 2 deleted, 3 data changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: i32,
    pub state: i32,
    pub path: String,
}

/// A reply: its header's zxid and error code, and the body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub zxid: u64,
    pub err: i32,
    pub body: Vec<u8>,
}

/// The `Stat` at the end of most replies: (czxid, mzxid).
pub fn stat_zxids(stat: &[u8]) -> Option<(u64, u64)> {
    let c = u64::from_be_bytes(stat.get(0..8)?.try_into().ok()?);
    let m = u64::from_be_bytes(stat.get(8..16)?.try_into().ok()?);
    Some((c, m))
}

pub struct Client {
    sock: TcpStream,
    pub session_id: u64,
    pub password: Vec<u8>,
    pub timeout_ms: u32,
    pub last_zxid_seen: u64,
    xid: i32,
    pub events: Vec<WatchEvent>,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn put_i32(b: &mut Vec<u8>, v: i32) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put_buf(b: &mut Vec<u8>, v: &[u8]) {
    put_i32(b, v.len() as i32);
    b.extend_from_slice(v);
}
fn put_str(b: &mut Vec<u8>, s: &str) {
    put_buf(b, s.as_bytes());
}

fn get_i32(b: &[u8], at: &mut usize) -> Result<i32, String> {
    let s = b.get(*at..*at + 4).ok_or("short reply")?;
    *at += 4;
    Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
fn get_i64(b: &[u8], at: &mut usize) -> Result<i64, String> {
    let s = b.get(*at..*at + 8).ok_or("short reply")?;
    *at += 8;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(i64::from_be_bytes(a))
}
fn get_buf(b: &[u8], at: &mut usize) -> Result<Vec<u8>, String> {
    let n = get_i32(b, at)?;
    if n < 0 {
        return Ok(Vec::new());
    }
    let s = b.get(*at..*at + n as usize).ok_or("short reply")?;
    *at += n as usize;
    Ok(s.to_vec())
}

fn read_frame(sock: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut len = [0u8; 4];
    sock.read_exact(&mut len).map_err(|e| format!("read: {e}"))?;
    let n = i32::from_be_bytes(len);
    if !(0..=(16 << 20)).contains(&n) {
        return Err(format!("frame length {n}"));
    }
    let mut b = vec![0u8; n as usize];
    sock.read_exact(&mut b).map_err(|e| format!("read: {e}"))?;
    Ok(b)
}

fn write_frame(sock: &mut TcpStream, body: &[u8]) -> Result<(), String> {
    let mut f = Vec::with_capacity(body.len() + 4);
    put_i32(&mut f, body.len() as i32);
    f.extend_from_slice(body);
    sock.write_all(&f).map_err(|e| format!("write: {e}"))
}

impl Client {
    /// A new session on the server at `port`.
    pub fn connect(port: u16, timeout_ms: u32) -> Result<Client, String> {
        Client::resume(port, timeout_ms, 0, &[0u8; 16], 0)
    }

    /// A ConnectRequest for an existing session (or 0 for a new one) carrying
    /// `last_zxid_seen`. A server that is behind the client closes the connection:
    /// that is an `Err` here.
    pub fn resume(
        port: u16,
        timeout_ms: u32,
        session_id: u64,
        password: &[u8],
        last_zxid_seen: u64,
    ) -> Result<Client, String> {
        let mut sock = TcpStream::connect_timeout(&loopback(port), Duration::from_secs(2))
            .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        sock.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut b = Vec::new();
        put_i32(&mut b, 0); // protocolVersion
        put_i64(&mut b, last_zxid_seen as i64);
        put_i32(&mut b, timeout_ms as i32);
        put_i64(&mut b, session_id as i64);
        put_buf(&mut b, password);
        b.push(0); // readOnly = false
        write_frame(&mut sock, &b)?;
        let r = read_frame(&mut sock).map_err(|e| format!("connect refused or closed: {e}"))?;
        let mut at = 0;
        let _proto = get_i32(&r, &mut at)?;
        let negotiated = get_i32(&r, &mut at)?;
        let sid = get_i64(&r, &mut at)? as u64;
        let pw = get_buf(&r, &mut at)?;
        if negotiated <= 0 || sid == 0 {
            return Err("session expired or refused (timeout 0)".into());
        }
        Ok(Client {
            sock,
            session_id: sid,
            password: pw,
            timeout_ms: negotiated as u32,
            last_zxid_seen,
            xid: 1,
            events: Vec::new(),
        })
    }

    /// Sends a ConnectRequest for a new session and does not wait for the answer (a
    /// leader without a quorum logs the createSession and never answers). The socket
    /// stays open until [`Client::abandon`].
    pub fn connect_no_wait(port: u16, timeout_ms: u32) -> Result<Client, String> {
        let mut sock = TcpStream::connect_timeout(&loopback(port), Duration::from_secs(2))
            .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
        let mut b = Vec::new();
        put_i32(&mut b, 0);
        put_i64(&mut b, 0);
        put_i32(&mut b, timeout_ms as i32);
        put_i64(&mut b, 0);
        put_buf(&mut b, &[0u8; 16]);
        b.push(0);
        write_frame(&mut sock, &b)?;
        Ok(Client {
            sock,
            session_id: 0,
            password: Vec::new(),
            timeout_ms,
            last_zxid_seen: 0,
            xid: 1,
            events: Vec::new(),
        })
    }

    fn send(&mut self, op: i32, body: &[u8]) -> Result<i32, String> {
        let xid = self.xid;
        self.xid += 1;
        let mut b = Vec::new();
        put_i32(&mut b, xid);
        put_i32(&mut b, op);
        b.extend_from_slice(body);
        write_frame(&mut self.sock, &b)?;
        Ok(xid)
    }

    /// Sends a request and reads until its reply, keeping watch events that arrive first.
    pub fn call(&mut self, op: i32, body: &[u8]) -> Result<Reply, String> {
        let xid = self.send(op, body)?;
        loop {
            let r = read_frame(&mut self.sock)?;
            let mut at = 0;
            let rxid = get_i32(&r, &mut at)?;
            let zxid = get_i64(&r, &mut at)? as u64;
            let err = get_i32(&r, &mut at)?;
            if rxid == -1 {
                self.events.push(parse_event(&r[at..])?);
                continue;
            }
            if rxid == -2 {
                continue; // a ping's reply
            }
            if zxid > 0 && zxid != u64::MAX {
                self.last_zxid_seen = self.last_zxid_seen.max(zxid);
            }
            if rxid == xid {
                return Ok(Reply { zxid, err, body: r[at..].to_vec() });
            }
        }
    }

    /// Waits up to `wait` for a watch event, pinging meanwhile.
    pub fn next_event(&mut self, wait: Duration) -> Result<Option<WatchEvent>, String> {
        if !self.events.is_empty() {
            return Ok(Some(self.events.remove(0)));
        }
        let deadline = std::time::Instant::now() + wait;
        self.sock.set_read_timeout(Some(Duration::from_millis(200))).map_err(|e| e.to_string())?;
        let out = loop {
            if std::time::Instant::now() > deadline {
                break Ok(None);
            }
            let mut len = [0u8; 4];
            match self.sock.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    let mut b = Vec::new();
                    put_i32(&mut b, -2);
                    put_i32(&mut b, OP_PING);
                    write_frame(&mut self.sock, &b)?;
                    continue;
                }
                Err(e) => break Err(format!("read: {e}")),
            }
            let n = i32::from_be_bytes(len).clamp(0, 1 << 20) as usize;
            let mut r = vec![0u8; n];
            self.sock.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
            self.sock.read_exact(&mut r).map_err(|e| format!("read: {e}"))?;
            self.sock.set_read_timeout(Some(Duration::from_millis(200))).map_err(|e| e.to_string())?;
            let mut at = 0;
            let rxid = get_i32(&r, &mut at)?;
            let _zxid = get_i64(&r, &mut at)?;
            let _err = get_i32(&r, &mut at)?;
            if rxid == -1 {
                break Ok(Some(parse_event(&r[at..])?));
            }
        };
        self.sock.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        out
    }

    /// create with the open ACL; `flags` 0 persistent, 1 ephemeral.
    pub fn create(&mut self, path: &str, data: &[u8], flags: i32) -> Result<Reply, String> {
        let r = self.call(OP_CREATE, &create_body(path, data, flags))?;
        check(path, r)
    }

    /// Sends a create and does not wait for its reply.
    pub fn create_no_wait(&mut self, path: &str, data: &[u8]) -> Result<(), String> {
        self.send(OP_CREATE, &create_body(path, data, 0)).map(|_| ())
    }

    pub fn set_data(&mut self, path: &str, data: &[u8]) -> Result<Reply, String> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        put_buf(&mut b, data);
        put_i32(&mut b, -1);
        let r = self.call(OP_SET_DATA, &b)?;
        check(path, r)
    }

    /// getData; the reply body is (data, Stat). Returns (data, mzxid).
    pub fn get_data(&mut self, path: &str, watch: bool) -> Result<(Vec<u8>, u64), String> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        b.push(u8::from(watch));
        let r = check(path, self.call(OP_GET_DATA, &b)?)?;
        let mut at = 0;
        let data = get_buf(&r.body, &mut at)?;
        let (_, m) = stat_zxids(&r.body[at..]).ok_or("short stat")?;
        Ok((data, m))
    }

    /// exists with a watch: true if the node exists.
    pub fn exists(&mut self, path: &str, watch: bool) -> Result<bool, String> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        b.push(u8::from(watch));
        let r = self.call(OP_EXISTS, &b)?;
        match r.err {
            0 => Ok(true),
            -101 => Ok(false),
            e => Err(format!("exists {path}: error {e}")),
        }
    }

    /// reconfig (incremental): `joining` "server.4=...", `leaving` "3". Returns the txn's
    /// zxid (the reply's mzxid) and the new config text.
    pub fn reconfig(&mut self, joining: &str, leaving: &str) -> Result<(u64, String), String> {
        let mut b = Vec::new();
        let opt = |b: &mut Vec<u8>, s: &str| if s.is_empty() { put_i32(b, -1) } else { put_str(b, s) };
        opt(&mut b, joining);
        opt(&mut b, leaving);
        put_i32(&mut b, -1); // newMembers
        put_i64(&mut b, -1); // curConfigId: any
        let r = self.call(OP_RECONFIG, &b)?;
        if r.err != 0 {
            return Err(format!("reconfig: error {}", r.err));
        }
        let mut at = 0;
        let data = get_buf(&r.body, &mut at)?;
        let (_, m) = stat_zxids(&r.body[at..]).ok_or("short stat")?;
        Ok((m, String::from_utf8_lossy(&data).to_string()))
    }

    /// closeSession, then the socket.
    pub fn close(mut self) -> Result<(), String> {
        self.call(OP_CLOSE, &[]).map(|_| ())
    }

    /// Drops the connection without closing the session: the leader expires it later.
    pub fn abandon(self) {
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}

fn create_body(path: &str, data: &[u8], flags: i32) -> Vec<u8> {
    let mut b = Vec::new();
    put_str(&mut b, path);
    put_buf(&mut b, data);
    put_i32(&mut b, 1); // one ACL
    put_i32(&mut b, 31); // ALL
    put_str(&mut b, "world");
    put_str(&mut b, "anyone");
    put_i32(&mut b, flags);
    b
}

fn check(path: &str, r: Reply) -> Result<Reply, String> {
    if r.err == 0 {
        Ok(r)
    } else {
        Err(format!("{path}: error {}", r.err))
    }
}

fn parse_event(b: &[u8]) -> Result<WatchEvent, String> {
    let mut at = 0;
    let kind = get_i32(b, &mut at)?;
    let state = get_i32(b, &mut at)?;
    let path = String::from_utf8_lossy(&get_buf(b, &mut at)?).to_string();
    Ok(WatchEvent { kind, state, path })
}

/// A four-letter word (`srvr`, `conf`, `stat`) to the server at `port`; its whole answer.
pub fn four_letter(port: u16, word: &str) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&loopback(port), Duration::from_secs(1)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| e.to_string())?;
    s.write_all(word.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// From a `srvr` answer: (mode, zxid).
pub fn srvr_mode_zxid(srvr: &str) -> Option<(String, u64)> {
    let mode = srvr.lines().find_map(|l| l.strip_prefix("Mode: "))?.trim().to_string();
    let zxid = srvr.lines().find_map(|l| l.strip_prefix("Zxid: "))?.trim();
    Some((mode, crate::corpus::parse_hex(zxid)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srvr_answers_give_mode_and_zxid() {
        let a = "Zookeeper version: 3.8.0-debian, built on 2023-01-01\nLatency min/avg/max: 0/0.0/0\nZxid: 0x100000005\nMode: follower\nNode count: 5\n";
        assert_eq!(srvr_mode_zxid(a), Some(("follower".into(), 0x1_0000_0005)));
        assert_eq!(srvr_mode_zxid("This ZooKeeper instance is not currently serving requests\n"), None);
    }

    #[test]
    fn a_create_request_body_is_jute() {
        let b = create_body("/a", b"x", 1);
        assert_eq!(&b[0..4], &2i32.to_be_bytes());
        assert_eq!(&b[4..6], b"/a");
        assert_eq!(*b.last().unwrap(), 1);
    }
}
