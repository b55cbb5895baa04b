//! Real ZooKeeper servers on 127.0.0.1: configs, start, kill, freeze, and the processes
//! this harness started (and only those) stopped by their pid when it is done.

use super::client::{four_letter, srvr_mode_zxid};
use std::collections::BTreeMap;
use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's package puts the jars; `ZK_CLASSPATH` overrides.
const DEBIAN_CLASSPATH: &str =
    "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar";

/// Knobs of one ensemble.
#[derive(Clone, Debug)]
pub struct Settings {
    pub tick_ms: u64,
    pub init_limit: u64,
    pub sync_limit: u64,
    pub snap_count: u64,
    /// Java system properties (`zookeeper.preAllocSize`, `zookeeper.commitLogCount`, ...).
    pub props: BTreeMap<String, String>,
    pub reconfig: bool,
    /// `maxSessionTimeout` (ms); the server's default, 20 ticks, when `None`.
    pub max_session_timeout_ms: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tick_ms: 200,
            init_limit: 10,
            sync_limit: 5,
            snap_count: 100_000,
            props: BTreeMap::new(),
            reconfig: false,
            max_session_timeout_ms: None,
        }
    }
}

impl Settings {
    pub fn prop(mut self, k: &str, v: &str) -> Settings {
        self.props.insert(k.to_string(), v.to_string());
        self
    }

    /// As recorded in a case file.
    pub fn describe(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("tickTime".into(), self.tick_ms.to_string());
        m.insert("initLimit".into(), self.init_limit.to_string());
        m.insert("syncLimit".into(), self.sync_limit.to_string());
        m.insert("snapCount".into(), self.snap_count.to_string());
        m.insert("reconfigEnabled".into(), self.reconfig.to_string());
        if let Some(t) = self.max_session_timeout_ms {
            m.insert("maxSessionTimeout".into(), t.to_string());
        }
        for (k, v) in &self.props {
            m.insert(format!("-D{k}"), v.clone());
        }
        m
    }

    /// The factor in force: 3.8.0 resets one above 1 to 0.33 (`ZKDatabase` constructor).
    pub fn snapshot_size_factor(&self) -> String {
        match self.props.get("zookeeper.snapshotSizeFactor") {
            Some(v) if v.parse::<f64>().is_ok_and(|f| f <= 1.0) => v.clone(),
            _ => "0.33".into(),
        }
    }

    /// The count in force: 3.8.0 raises one below 500 to 500 (`ZKDatabase` constructor).
    pub fn commit_log_count(&self) -> u64 {
        self.props.get("zookeeper.commitLogCount").and_then(|v| v.parse().ok()).unwrap_or(500).max(500)
    }
}

pub struct Server {
    pub sid: u64,
    pub client_port: u16,
    pub quorum_port: u16,
    pub election_port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    pub frozen: bool,
}

impl Server {
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }
    pub fn version2(&self) -> PathBuf {
        self.dir.join("data").join("version-2")
    }
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
    /// `server.N=127.0.0.1:q:e:participant;127.0.0.1:c`
    pub fn config_line(&self) -> String {
        format!(
            "server.{}=127.0.0.1:{}:{}:participant;127.0.0.1:{}",
            self.sid, self.quorum_port, self.election_port, self.client_port
        )
    }
}

pub struct Ensemble {
    pub root: PathBuf,
    pub settings: Settings,
    pub servers: BTreeMap<u64, Server>,
    /// What was done, for the case file.
    pub steps: Vec<String>,
    started: Instant,
    pub deadline: Instant,
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl Ensemble {
    /// Servers `1..=n` (not started), under a fresh temp dir; `members` are in the
    /// initial configuration (the others can join by reconfig).
    pub fn new(name: &str, n: u64, settings: Settings, budget: Duration) -> Result<Ensemble, String> {
        let root = std::env::temp_dir().join(format!("zk-conformance-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        let mut servers = BTreeMap::new();
        let mut used = Vec::new();
        for sid in 1..=n {
            let mut ports = [0u16; 3];
            for p in &mut ports {
                let mut port = free_port()?;
                while used.contains(&port) {
                    port = free_port()?;
                }
                used.push(port);
                *p = port;
            }
            let dir = root.join(format!("s{sid}"));
            fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
            fs::write(dir.join("data").join("myid"), format!("{sid}\n")).map_err(|e| e.to_string())?;
            servers.insert(
                sid,
                Server {
                    sid,
                    client_port: ports[0],
                    quorum_port: ports[1],
                    election_port: ports[2],
                    dir,
                    child: None,
                    frozen: false,
                },
            );
        }
        let now = Instant::now();
        Ok(Ensemble { root, settings, servers, steps: Vec::new(), started: now, deadline: now + budget })
    }

    pub fn step(&mut self, s: impl Into<String>) {
        let s = s.into();
        eprintln!("  [{:>5.1}s] {s}", self.started.elapsed().as_secs_f64());
        self.steps.push(s);
    }

    fn server(&self, sid: u64) -> Result<&Server, String> {
        self.servers.get(&sid).ok_or_else(|| format!("no server {sid}"))
    }

    /// Writes server `sid`'s config with `members` as the ensemble, and starts it.
    pub fn start_with(&mut self, sid: u64, members: &[u64]) -> Result<(), String> {
        let s = self.server(sid)?;
        if s.is_running() {
            return Err(format!("server {sid} is already running"));
        }
        let dir = s.dir.clone();
        let client_port = s.client_port;
        let mut cfg = String::new();
        let st = &self.settings;
        cfg.push_str(&format!(
            "tickTime={}\ninitLimit={}\nsyncLimit={}\nsnapCount={}\n",
            st.tick_ms, st.init_limit, st.sync_limit, st.snap_count
        ));
        if let Some(t) = st.max_session_timeout_ms {
            cfg.push_str(&format!("maxSessionTimeout={t}\n"));
        }
        cfg.push_str(&format!("dataDir={}\n", dir.join("data").display()));
        cfg.push_str(&format!("clientPortAddress=127.0.0.1\nclientPort={client_port}\n"));
        cfg.push_str("4lw.commands.whitelist=*\nadmin.enableServer=false\nautopurge.purgeInterval=0\n");
        cfg.push_str("maxClientCnxns=0\nstandaloneEnabled=false\n");
        cfg.push_str(&format!("reconfigEnabled={}\n", st.reconfig));
        for m in members {
            cfg.push_str(&self.server(*m)?.config_line());
            cfg.push('\n');
        }
        let cfg_file = dir.join("zoo.cfg");
        // A dynamic file written by an earlier run of this server wins over the static
        // lines; the harness starts each server from the config it gives here.
        if let Ok(rd) = fs::read_dir(&dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with("zoo.cfg.dynamic") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        fs::write(&cfg_file, cfg).map_err(|e| e.to_string())?;
        let log4j = format!(
            "log4j.rootLogger=INFO, FILE\n\
             log4j.logger.org.apache.zookeeper.server.quorum.FastLeaderElection=DEBUG\n\
             log4j.logger.org.apache.zookeeper.server.quorum.LearnerHandler=DEBUG\n\
             log4j.appender.FILE=org.apache.log4j.FileAppender\n\
             log4j.appender.FILE.File={}\n\
             log4j.appender.FILE.Append=true\n\
             log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} - %-5p [%t:%C{{1}}@%L] - %m%n\n",
            dir.join("server.log").display()
        );
        fs::write(dir.join("log4j.properties"), log4j).map_err(|e| e.to_string())?;
        let cp = std::env::var("ZK_CLASSPATH").unwrap_or_else(|_| DEBIAN_CLASSPATH.to_string());
        let mut cmd = Command::new(std::env::var("ZK_JAVA").unwrap_or_else(|_| "java".into()));
        cmd.arg("-Xmx192m")
            .arg("-XX:+UseSerialGC")
            .arg("-XX:TieredStopAtLevel=1")
            .arg("-Djava.net.preferIPv4Stack=true")
            .arg(format!("-Dlog4j.configuration=file:{}", dir.join("log4j.properties").display()))
            .arg("-Dzookeeper.skipACL=yes");
        for (k, v) in &st.props {
            cmd.arg(format!("-D{k}={v}"));
        }
        cmd.arg("-cp")
            .arg(cp)
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(&cfg_file)
            .stdin(Stdio::null())
            .stdout(fs::File::create(dir.join("stdout.txt")).map_err(|e| e.to_string())?)
            .stderr(fs::File::create(dir.join("stderr.txt")).map_err(|e| e.to_string())?);
        let child = cmd.spawn().map_err(|e| format!("start java for server {sid}: {e}"))?;
        let s = self.servers.get_mut(&sid).ok_or("server vanished")?;
        s.child = Some(child);
        s.frozen = false;
        Ok(())
    }

    /// Starts servers with the initial membership (every server of the ensemble).
    pub fn start(&mut self, sids: &[u64]) -> Result<(), String> {
        let members: Vec<u64> = self.servers.keys().copied().collect();
        self.start_members(sids, &members)
    }

    pub fn start_members(&mut self, sids: &[u64], members: &[u64]) -> Result<(), String> {
        self.step(format!("start servers {sids:?}"));
        for &sid in sids {
            self.start_with(sid, members)?;
        }
        Ok(())
    }

    /// kill -9, and reap it.
    pub fn kill(&mut self, sid: u64) -> Result<(), String> {
        self.step(format!("kill -9 server {sid}"));
        let s = self.servers.get_mut(&sid).ok_or("no such server")?;
        let mut c = s.child.take().ok_or_else(|| format!("server {sid} is not running"))?;
        c.kill().map_err(|e| e.to_string())?;
        c.wait().map_err(|e| e.to_string())?;
        s.frozen = false;
        Ok(())
    }

    fn signal(&mut self, sid: u64, sig: &str) -> Result<(), String> {
        let pid = self.server(sid)?.pid().ok_or_else(|| format!("server {sid} is not running"))?;
        let ok = Command::new("kill").arg(sig).arg(pid.to_string()).status().map_err(|e| e.to_string())?;
        if !ok.success() {
            return Err(format!("kill {sig} {pid} failed"));
        }
        Ok(())
    }

    /// SIGSTOP: the server freezes with its sockets open.
    pub fn freeze(&mut self, sid: u64) -> Result<(), String> {
        self.step(format!("SIGSTOP server {sid}"));
        self.signal(sid, "-STOP")?;
        self.servers.get_mut(&sid).ok_or("no server")?.frozen = true;
        Ok(())
    }

    pub fn thaw(&mut self, sid: u64) -> Result<(), String> {
        self.step(format!("SIGCONT server {sid}"));
        self.signal(sid, "-CONT")?;
        self.servers.get_mut(&sid).ok_or("no server")?.frozen = false;
        Ok(())
    }

    pub fn port(&self, sid: u64) -> Result<u16, String> {
        Ok(self.server(sid)?.client_port)
    }

    /// `srvr`'s (mode, zxid) of a server, if it is serving.
    pub fn mode(&self, sid: u64) -> Option<(String, u64)> {
        let s = self.servers.get(&sid)?;
        if !s.is_running() || s.frozen {
            return None;
        }
        four_letter(s.client_port, "srvr").ok().as_deref().and_then(srvr_mode_zxid)
    }

    /// Waits (bounded by the case's deadline) until each of `sids` serves as leader or
    /// follower, all with the same leader; returns the leader.
    pub fn wait_serving(&mut self, sids: &[u64]) -> Result<u64, String> {
        self.step(format!("wait until {sids:?} serve"));
        loop {
            let modes: Vec<Option<(String, u64)>> = sids.iter().map(|&s| self.mode(s)).collect();
            if modes.iter().all(|m| m.as_ref().is_some_and(|(m, _)| m == "leader" || m == "follower")) {
                let leaders: Vec<u64> = sids
                    .iter()
                    .zip(&modes)
                    .filter(|(_, m)| m.as_ref().is_some_and(|(m, _)| m == "leader"))
                    .map(|(s, _)| *s)
                    .collect();
                if leaders.len() == 1 {
                    return Ok(leaders[0]);
                }
                // The leader may be outside `sids`.
                if leaders.is_empty() {
                    if let Some(l) = self.leader() {
                        return Ok(l);
                    }
                }
            }
            self.tick("servers to serve")?;
        }
    }

    /// The running server that says it leads.
    pub fn leader(&self) -> Option<u64> {
        self.servers.keys().copied().find(|&s| self.mode(s).is_some_and(|(m, _)| m == "leader"))
    }

    /// One poll interval, or an error past the case's deadline.
    pub fn tick(&self, what: &str) -> Result<(), String> {
        if Instant::now() > self.deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The ZooKeeper version a serving server reports.
    pub fn version(&self) -> Option<String> {
        self.servers.values().filter(|s| s.is_running() && !s.frozen).find_map(|s| {
            let a = four_letter(s.client_port, "srvr").ok()?;
            let v = a.lines().find_map(|l| l.strip_prefix("Zookeeper version: "))?;
            Some(v.split(',').next().unwrap_or(v).trim().to_string())
        })
    }

    /// Stops every process this ensemble started (SIGCONT first for frozen ones), by pid.
    pub fn stop_all(&mut self) {
        for s in self.servers.values_mut() {
            if let Some(mut c) = s.child.take() {
                if s.frozen {
                    let _ = Command::new("kill").arg("-CONT").arg(c.id().to_string()).status();
                }
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    pub fn data_dir(&self, sid: u64) -> Result<&Path, String> {
        Ok(&self.server(sid)?.dir)
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        self.stop_all();
        if std::env::var_os("ZK_KEEP_DIRS").is_none() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}
