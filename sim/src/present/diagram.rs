//! `zabsim diagram`: a space-time diagram of a trace as one self-contained HTML page.
//!
//! One lane per server; each delivered message is an arrow from its sender's lane at the
//! time it was sent to its receiver's lane at the time it was delivered; a band along each
//! lane shows the server's role and epoch over time (from the observations), crashes,
//! restarts and cuts are marked (from the fault records), and the violation, if any, is
//! highlighted. The page zooms (mouse wheel, drag, or a time range) and filters by server
//! and message type; it needs no network: CSS, script and data are inline, and the script
//! draws inline SVG.
//!
//! The page depends only on the trace and the options, so the same trace gives the same
//! bytes. Large traces are thinned: only a time window (`--from-us/--to-us`) and at most
//! `max_messages` messages go into the page, PINGs start hidden, and the script draws at
//! most a few thousand arrows at a time; the page says what was left out.

use crate::check::invariant::Violation;
use crate::present::svg::escape;
use crate::trace::{FaultEvent, TraceHeader, TraceRecord};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use zab::contract::{Input, Observation};
use zab::{Message, ServerState, Sid};

/// What goes into the page.
#[derive(Clone, Debug)]
pub struct DiagramOptions {
    /// Only events from this simulated time on.
    pub from_us: Option<u64>,
    /// Only events up to this simulated time.
    pub to_us: Option<u64>,
    /// At most this many messages (the earliest in the window).
    pub max_messages: usize,
}

impl Default for DiagramOptions {
    fn default() -> Self {
        DiagramOptions { from_us: None, to_us: None, max_messages: Self::MAX_MESSAGES_DEFAULT }
    }
}

impl DiagramOptions {
    /// About 2 MB of page; a browser draws a few thousand of them at a time.
    pub const MAX_MESSAGES_DEFAULT: usize = 20_000;
}

/// Message kinds hidden until their box is ticked: frequent and rarely what one looks for.
const HIDDEN_KINDS: [&str; 1] = ["PING"];

/// Roles drawn on the lanes, with their colours.
const STATES: [(&str, &str, &str); 6] = [
    ("looking", "#f0c419", "LOOKING (electing)"),
    ("leading", "#f39c6b", "LEADING, not yet established (discovery, sync)"),
    ("leader", "#d35400", "established leader"),
    ("following", "#85c1e9", "FOLLOWING, not yet serving (discovery, sync)"),
    ("serving", "#2e86c1", "follower serving (after UPTODATE)"),
    ("down", "#7f8c8d", "crashed"),
];

/// Colours for message kinds, assigned in name order.
const KIND_COLOURS: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939",
];

/// A message arrow: sent, delivered, from, to, kind index, detail.
#[derive(Serialize)]
struct Msg(u64, u64, Sid, Sid, usize, String);

/// A role band: server, start, end, state, label.
#[derive(Serialize)]
struct Seg(Sid, u64, u64, &'static str, String);

/// A fault marker: time, kind, servers, text.
#[derive(Serialize)]
struct Mark(u64, &'static str, Vec<Sid>, String);

/// A server cut off from some peers: server, start, end, text.
#[derive(Serialize)]
struct Cut(Sid, u64, u64, String);

#[derive(Serialize)]
struct Data {
    t0: u64,
    t1: u64,
    nodes: Vec<Sid>,
    kinds: Vec<&'static str>,
    kind_colours: Vec<&'static str>,
    hidden_kinds: Vec<&'static str>,
    states: BTreeMap<&'static str, &'static str>,
    msgs: Vec<Msg>,
    segs: Vec<Seg>,
    marks: Vec<Mark>,
    cuts: Vec<Cut>,
    violation: Option<Violation>,
}

/// A server's current role band while reading the trace.
struct Open {
    since: u64,
    state: &'static str,
    label: String,
}

/// What reading the trace gathers.
struct Gathered {
    header: TraceHeader,
    end_us: u64,
    end_hash: Option<String>,
    events: u64,
    max_sid: Sid,
    msgs: Vec<(u64, u64, Sid, Sid, &'static str, String)>,
    /// Per kind: messages in the window, and how many of them made it into the page.
    kinds: BTreeMap<&'static str, (u64, u64)>,
    segs: Vec<(Sid, u64, u64, &'static str, String)>,
    open: BTreeMap<Sid, Open>,
    marks: Vec<Mark>,
    cuts: Vec<(Sid, u64, u64, String)>,
    /// Cuts in force: id -> (start, links).
    open_cuts: BTreeMap<u64, (u64, Vec<(Sid, Sid)>)>,
    violation: Option<Violation>,
}

impl Gathered {
    fn new(header: TraceHeader) -> Gathered {
        Gathered {
            header,
            end_us: 0,
            end_hash: None,
            events: 0,
            max_sid: 0,
            msgs: Vec::new(),
            kinds: BTreeMap::new(),
            segs: Vec::new(),
            open: BTreeMap::new(),
            marks: Vec::new(),
            cuts: Vec::new(),
            open_cuts: BTreeMap::new(),
            violation: None,
        }
    }

    /// Takes in one record after the header; a second header is an error.
    fn add(&mut self, rec: TraceRecord, opts: &DiagramOptions) -> Result<(), String> {
        match rec {
            TraceRecord::Header(_) => return Err("a second trace header".into()),
            TraceRecord::Input { t_us, node, sent_us, input, .. } => {
                self.end_us = self.end_us.max(t_us);
                self.max_sid = self.max_sid.max(node);
                if let Input::Message { from, msg } = input {
                    self.message(sent_us.unwrap_or(t_us), t_us, from, node, &msg, opts);
                }
            }
            TraceRecord::Fault { t_us, fault, .. } => {
                self.end_us = self.end_us.max(t_us);
                self.fault(t_us, &fault);
            }
            TraceRecord::Observe { t_us, node, obs } => {
                self.end_us = self.end_us.max(t_us);
                self.max_sid = self.max_sid.max(node);
                self.observe(t_us, node, &obs);
            }
            TraceRecord::Violation { violation, .. } => self.violation = Some(violation),
            TraceRecord::Client { t_us, .. } | TraceRecord::ClientEvent { t_us, .. } => {
                self.end_us = self.end_us.max(t_us)
            }
            TraceRecord::End { t_us, events, trace_hash } => {
                self.end_us = self.end_us.max(t_us);
                self.events = events;
                self.end_hash = Some(trace_hash);
            }
        }
        Ok(())
    }

    /// A message sent at `sent` and delivered at `t_us`: counted by kind when it overlaps
    /// the window, and kept as an arrow while the page has room (`--max-messages`).
    fn message(&mut self, sent: u64, t_us: u64, from: Sid, to: Sid, msg: &Message, opts: &DiagramOptions) {
        if t_us < opts.from_us.unwrap_or(0) || sent > opts.to_us.unwrap_or(u64::MAX) {
            return;
        }
        let kind = msg.kind();
        let entry = self.kinds.entry(kind).or_default();
        entry.0 += 1;
        if self.msgs.len() < opts.max_messages {
            entry.1 += 1;
            self.msgs.push((sent, t_us, from, to, kind, detail(msg)));
        }
    }

    /// At the end of the trace: cuts still in force and roles still held end there, and
    /// bands and cuts are sorted by server and start for the page.
    fn finish(mut self) -> Gathered {
        let end = self.end_us;
        for id in self.open_cuts.keys().copied().collect::<Vec<_>>() {
            self.close_cut(end, id);
        }
        for (node, o) in std::mem::take(&mut self.open) {
            if end > o.since {
                self.segs.push((node, o.since, end, o.state, o.label));
            }
        }
        self.segs.sort_by_key(|a| (a.0, a.1));
        self.cuts.sort_by(|a, b| (a.0, a.1, &a.3).cmp(&(b.0, b.1, &b.3)));
        self
    }

    fn set_state(&mut self, t: u64, node: Sid, state: &'static str, label: String) {
        if let Some(o) = self.open.get(&node) {
            if o.state == state && o.label == label {
                return;
            }
        }
        if let Some(o) = self.open.remove(&node) {
            if t > o.since {
                self.segs.push((node, o.since, t, o.state, o.label));
            }
        }
        self.open.insert(node, Open { since: t, state, label });
    }

    fn close_cut(&mut self, t: u64, id: u64) {
        let Some((start, links)) = self.open_cuts.remove(&id) else { return };
        // Per server, the peers it cannot reach or hear from.
        let mut peers: BTreeMap<Sid, Vec<Sid>> = BTreeMap::new();
        for (a, b) in &links {
            peers.entry(*a).or_default().push(*b);
            peers.entry(*b).or_default().push(*a);
        }
        for (node, mut p) in peers {
            p.sort_unstable();
            p.dedup();
            let list: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            self.cuts.push((node, start, t, format!("cut #{id}: links to/from {} broken", list.join(","))));
        }
    }

    fn observe(&mut self, t: u64, node: Sid, obs: &Observation) {
        match obs {
            Observation::ElectionStarted { round, reason } => {
                self.set_state(t, node, "looking", format!("LOOKING, round {round} ({reason:?})"))
            }
            Observation::Decided { state, leader, round, .. } => match state {
                ServerState::Leading => self.set_state(t, node, "leading", format!("LEADING (round {round})")),
                ServerState::Looking => {}
                s => self.set_state(t, node, "following", format!("{s} {leader} (round {round})")),
            },
            Observation::LeaderEpoch { epoch } => {
                self.set_state(t, node, "leading", format!("LEADING epoch {epoch}: a quorum acked it, syncing"))
            }
            Observation::LeaderEstablished { epoch, quorum, .. } => {
                let q: Vec<String> = quorum.iter().map(|s| s.to_string()).collect();
                self.set_state(t, node, "leader", format!("leader of epoch {epoch}"));
                self.marks.push(Mark(
                    t,
                    "established",
                    vec![node],
                    format!("established as leader of epoch {epoch} with quorum {}", q.join(",")),
                ));
            }
            Observation::FollowerConnected { leader, epoch } => {
                self.set_state(t, node, "following", format!("following {leader}, epoch {epoch}: syncing"))
            }
            Observation::NewLeaderAcked { leader, epoch } => {
                self.set_state(t, node, "following", format!("following {leader}, epoch {epoch}: NEWLEADER acked"))
            }
            Observation::Synced { leader, epoch, .. } => {
                self.set_state(t, node, "serving", format!("serving, leader {leader}, epoch {epoch}"))
            }
            Observation::ReconfigProposed { config } => {
                self.marks.push(Mark(t, "established", vec![node], format!("proposed reconfig to {config}")))
            }
            Observation::ConfigActivated { config, designated } => {
                let leader = designated.map(|d| format!(", leader {d}")).unwrap_or_default();
                self.marks.push(Mark(t, "restart", vec![node], format!("activated {config}{leader}")))
            }
            _ => {}
        }
    }

    fn fault(&mut self, t: u64, fault: &FaultEvent) {
        match fault {
            FaultEvent::Crash { server } => {
                self.max_sid = self.max_sid.max(*server);
                self.set_state(t, *server, "down", "crashed".to_string());
                self.marks.push(Mark(t, "crash", vec![*server], format!("server {server} crashed")));
            }
            FaultEvent::Exit { server, code } => {
                self.max_sid = self.max_sid.max(*server);
                self.set_state(t, *server, "down", format!("exited ({code:?})"));
                self.marks.push(Mark(t, "crash", vec![*server], format!("server {server} exited: {code:?}")));
            }
            FaultEvent::Restart { server } => {
                self.max_sid = self.max_sid.max(*server);
                self.marks.push(Mark(t, "restart", vec![*server], format!("server {server} restarted")));
            }
            FaultEvent::Cut { cut, links } => {
                for (a, b) in links {
                    self.max_sid = self.max_sid.max(*a).max(*b);
                }
                let l: Vec<String> = links.iter().map(|(a, b)| format!("{a}->{b}")).collect();
                let nodes = involved(links);
                self.marks.push(Mark(t, "cut", nodes, format!("cut #{cut}: {}", l.join(" "))));
                self.open_cuts.insert(*cut, (t, links.clone()));
            }
            FaultEvent::Heal { cut } => {
                let nodes = self.open_cuts.get(cut).map(|c| involved(&c.1)).unwrap_or_default();
                self.marks.push(Mark(t, "heal", nodes, format!("cut #{cut} healed")));
                self.close_cut(t, *cut);
            }
            FaultEvent::HealAll => {
                self.marks.push(Mark(t, "heal_all", vec![], "every partition healed".to_string()));
                for id in self.open_cuts.keys().copied().collect::<Vec<_>>() {
                    self.close_cut(t, id);
                }
            }
            FaultEvent::SlowLink { from, to, extra_us } => self.marks.push(Mark(
                t,
                "slow",
                vec![*from, *to],
                format!("link {from}->{to} slowed by {}", crate::format::fmt_us(*extra_us)),
            )),
            FaultEvent::SlowLinkEnd { from, to } => {
                self.marks.push(Mark(t, "slow_end", vec![*from, *to], format!("link {from}->{to} back to normal")))
            }
            FaultEvent::FaultsStop => self.marks.push(Mark(
                t,
                "faults_stop",
                vec![],
                "faults stop: everything healed and restarted; liveness counts from here".to_string(),
            )),
            FaultEvent::Retire { server } => {
                // Follows the crash that stopped it: the lane says why it is down.
                self.max_sid = self.max_sid.max(*server);
                self.set_state(t, *server, "down", "removed by a reconfig: stopped".to_string());
            }
            FaultEvent::Join { server } => {
                self.max_sid = self.max_sid.max(*server);
                self.marks.push(Mark(t, "restart", vec![*server], format!("joiner {server} started")));
            }
            FaultEvent::Skipped { reason } => {
                self.marks.push(Mark(t, "skipped", vec![], format!("scripted fault skipped: {reason}")))
            }
            // Service clients have no lane; their faults are marked across the diagram.
            client_fault => self.marks.push(Mark(t, "skipped", vec![], format!("client fault: {client_fault:?}"))),
        }
    }
}

fn involved(links: &[(Sid, Sid)]) -> Vec<Sid> {
    let mut n: Vec<Sid> = links.iter().flat_map(|(a, b)| [*a, *b]).collect();
    n.sort_unstable();
    n.dedup();
    n
}

/// What a message carries, in a few words.
fn detail(msg: &Message) -> String {
    match msg {
        Message::Notification(n) => format!(
            "{} votes {} (zxid {}, peerEpoch {}, round {})",
            n.state, n.leader, n.zxid, n.peer_epoch, n.election_epoch
        ),
        Message::FollowerInfo { accepted_epoch, .. } => format!("acceptedEpoch {accepted_epoch}"),
        Message::LeaderInfo { epoch } => format!("epoch {epoch}"),
        Message::AckEpoch { current_epoch, last_zxid } => match current_epoch {
            Some(e) => format!("currentEpoch {e}, last zxid {last_zxid}"),
            None => format!("-1 (already accepted), last zxid {last_zxid}"),
        },
        Message::Diff { zxid } | Message::Trunc { zxid } | Message::Commit { zxid } | Message::Ack { zxid } => {
            format!("{zxid}")
        }
        Message::NewLeader { zxid, config } => format!("{zxid}, config {config}"),
        Message::CommitAndActivate { zxid, designated } => format!("{zxid}, leader {designated}"),
        Message::Inform { txn } => format!("{}", txn.zxid),
        Message::InformAndActivate { txn, designated } => format!("{}, leader {designated}", txn.zxid),
        Message::Snap { zxid, txns } => format!("{zxid}, {} txns", txns.len()),
        Message::Proposal { txn } => format!("{}", txn.zxid),
        Message::Request { client, seq } => format!("client {client} write {seq}"),
        _ => String::new(),
    }
}

/// Every server id a record names is one a run can have, and a message was sent before it
/// was delivered: lanes are drawn for servers 1 to the largest id, so an id from a crafted
/// line once made the page allocate a lane for each of billions of servers.
fn check_ranges(rec: &TraceRecord) -> Result<(), String> {
    let max = crate::scenario::SERVERS_MAX;
    let sid = |what: &str, s: Sid| {
        if (1..=max).contains(&s) {
            Ok(())
        } else {
            Err(format!("{what}: {s} is not a server id (1 to {max})"))
        }
    };
    match rec {
        TraceRecord::Input { t_us, node, sent_us, input, .. } => {
            sid("node", *node)?;
            if let Input::Message { from, .. } = input {
                sid("input.from", *from)?;
            }
            match sent_us {
                Some(s) if s > t_us => Err(format!("sent_us: {s} is after its delivery at t_us {t_us}")),
                _ => Ok(()),
            }
        }
        TraceRecord::Observe { node, .. } => sid("node", *node),
        TraceRecord::Fault { fault, .. } => match fault {
            FaultEvent::Crash { server }
            | FaultEvent::Restart { server }
            | FaultEvent::Exit { server, .. }
            | FaultEvent::Retire { server }
            | FaultEvent::Join { server } => sid("fault.server", *server),
            FaultEvent::Cut { links, .. } => {
                links.iter().try_for_each(|(a, b)| sid("fault.links", *a).and(sid("fault.links", *b)))
            }
            FaultEvent::SlowLink { from, to, .. } | FaultEvent::SlowLinkEnd { from, to } => {
                sid("fault.from", *from).and(sid("fault.to", *to))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Reads a trace file line by line (a trace can be large) and gathers what the page shows.
fn gather(path: &Path, opts: &DiagramOptions) -> Result<Gathered, String> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let mut g: Option<Gathered> = None;
    let mut lines = crate::trace::JsonLines::new(std::io::BufReader::new(file));
    while let Some(line) = lines.next_line().map_err(|e| format!("{name}: {e}"))? {
        let n = line.number;
        let at = |e: String| format!("{name}: line {n}: {e}");
        let rec: TraceRecord =
            crate::trace::parse_strict(line.text).map_err(|e| at(format!("not a trace record: {e}")))?;
        check_ranges(&rec).map_err(at)?;
        let Some(g) = g.as_mut() else {
            let TraceRecord::Header(header) = rec else {
                return Err(at("the first line is not a trace header".into()));
            };
            g = Some(Gathered::new(*header));
            continue;
        };
        g.add(rec, opts).map_err(at)?;
    }
    let g = g.ok_or_else(|| format!("{name}: empty: not a trace (write one with `zabsim run ... --trace FILE`)"))?;
    Ok(g.finish())
}

/// Renders the diagram of the trace at `path`.
pub fn render(path: &Path, opts: &DiagramOptions) -> Result<String, String> {
    if let (Some(a), Some(b)) = (opts.from_us, opts.to_us) {
        if a >= b {
            return Err(format!("--from-us {a} is not before --to-us {b}"));
        }
    }
    let mut g = gather(path, opts)?;
    let data = page_data(&mut g, opts);
    let json = serde_json::to_string(&data).expect("diagram data serializes").replace('<', "\\u003c");
    let mut page = String::with_capacity(json.len() + 16_000);
    page.push_str(&head_and_title(&g));
    let last_sent_us = g.msgs.iter().map(|m| m.0).max().unwrap_or(0);
    page.push_str(&notes(&g.kinds, data.t0, data.t1, g.end_us, last_sent_us, opts));
    page.push_str(&controls(&data));
    page.push_str("<div id=\"status\"></div>\n<div id=\"chart-box\"><svg id=\"chart\"></svg></div>\n");
    page.push_str("<script type=\"application/json\" id=\"data\">");
    page.push_str(&json);
    page.push_str("</script>\n<script>\n");
    page.push_str(SCRIPT);
    page.push_str("</script>\n</body>\n</html>\n");
    Ok(page)
}

/// What the page's script draws: the window `[t0, t1]` (within the run), the message
/// arrows with their kinds' colours, and the role bands, fault marks and cuts clipped to
/// the window. Takes the marks out of `g`.
fn page_data(g: &mut Gathered, opts: &DiagramOptions) -> Data {
    let t0 = opts.from_us.unwrap_or(0).min(g.end_us);
    let t1 = opts.to_us.unwrap_or(g.end_us).min(g.end_us).max(t0.saturating_add(1));
    let kinds: Vec<&'static str> = g.kinds.keys().copied().collect();
    let kind_index = |k: &str| kinds.iter().position(|x| *x == k).expect("every kind was counted");
    let clip = |a: u64, b: u64| (a < t1 && b > t0).then(|| (a.max(t0), b.min(t1)));
    Data {
        t0,
        t1,
        nodes: (1..=g.max_sid).collect(),
        kinds: kinds.clone(),
        kind_colours: (0..kinds.len()).map(|i| KIND_COLOURS[i % KIND_COLOURS.len()]).collect(),
        hidden_kinds: HIDDEN_KINDS.to_vec(),
        states: STATES.iter().map(|(s, c, _)| (*s, *c)).collect(),
        msgs: g.msgs.iter().map(|m| Msg(m.0, m.1, m.2, m.3, kind_index(m.4), m.5.clone())).collect(),
        segs: g.segs.iter().filter_map(|s| clip(s.1, s.2).map(|(a, b)| Seg(s.0, a, b, s.3, s.4.clone()))).collect(),
        marks: std::mem::take(&mut g.marks).into_iter().filter(|m| m.0 >= t0 && m.0 <= t1).collect(),
        cuts: g.cuts.iter().filter_map(|c| clip(c.1, c.2).map(|(a, b)| Cut(c.0, a, b, c.3.clone()))).collect(),
        violation: g.violation.clone(),
    }
}

/// The page's head (title, style) and its heading: which run, how to replay it, and the
/// violation if there was one.
fn head_and_title(g: &Gathered) -> String {
    let h = &g.header;
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str(&format!(
        "<title>zabsim diagram: {} seed {} ({})</title>\n",
        escape(&h.scenario),
        h.seed,
        escape(&h.variant)
    ));
    page.push_str("<style>\n");
    page.push_str(CSS);
    page.push_str("</style>\n</head>\n<body data-js-errors=\"0\">\n");
    page.push_str(&format!(
        "<h1>{} &middot; seed {} &middot; variant {}</h1>\n",
        escape(&h.scenario),
        h.seed,
        escape(&h.variant)
    ));
    page.push_str(&format!(
        "<p class=\"meta\">scenario file <code>{}</code> (content hash {}), zabsim {}, {} events, {} simulated{}. \
         Replay: <code>zabsim run {} --seed {} --variant {}</code></p>\n",
        escape(&h.scenario_path),
        escape(&h.scenario_hash),
        escape(&h.tool_version),
        g.events,
        crate::format::fmt_us(g.end_us),
        g.end_hash.as_ref().map(|x| format!(", trace hash {}", escape(x))).unwrap_or_default(),
        escape(&h.scenario_path),
        h.seed,
        escape(&h.variant)
    ));
    if let Some(v) = &g.violation {
        let nodes: Vec<String> = v.nodes.iter().map(|s| s.to_string()).collect();
        page.push_str(&format!(
            "<p class=\"violation\" id=\"violation\">VIOLATION {} at {}, servers {}: {}</p>\n",
            escape(v.invariant.name()),
            crate::format::fmt_us(v.t_us),
            nodes.join(","),
            escape(&v.detail)
        ));
    }
    page
}

/// What the page leaves out, said in the page.
fn notes(
    kinds: &BTreeMap<&'static str, (u64, u64)>,
    t0: u64,
    t1: u64,
    end: u64,
    last_sent_us: u64,
    opts: &DiagramOptions,
) -> String {
    let in_window: u64 = kinds.values().map(|k| k.0).sum();
    let shown: u64 = kinds.values().map(|k| k.1).sum();
    let fmt = crate::format::fmt_us;
    let mut n = String::from("<ul class=\"notes\">\n");
    if t0 > 0 || t1 < end {
        n.push_str(&format!(
            "<li>Window: simulated time {} to {} of the run's 0 to {} (<code>--from-us/--to-us</code>).</li>\n",
            fmt(t0),
            fmt(t1),
            fmt(end)
        ));
    }
    if shown < in_window {
        n.push_str(&format!(
            "<li class=\"thinned\">Thinned: {in_window} messages in this window, the first {shown} are in this page \
             (<code>--max-messages {}</code>): no arrows after {}. Look at a later stretch with \
             <code>--from-us/--to-us</code>; roles, faults and the violation cover the whole window.</li>\n",
            opts.max_messages,
            fmt(last_sent_us)
        ));
    } else {
        n.push_str(&format!("<li>All {in_window} messages delivered in this window are in this page.</li>\n"));
    }
    n.push_str(&format!(
        "<li>{} hidden until ticked below. At most <span id=\"draw-max\"></span> arrows are drawn at a time: \
         zoom in for the rest. Messages lost in flight are not in the trace and not drawn.</li>\n",
        HIDDEN_KINDS.join(", ")
    ));
    n.push_str(
        "<li>Zoom with the mouse wheel over the diagram, drag to pan, or type a range; hover over anything for \
         details. A link can open a window with some kinds hidden: <code>page.html#t=FROM_MS,TO_MS&amp;hide=PING,ACK\
         </code>.</li>\n</ul>\n",
    );
    n
}

/// The filter check boxes and zoom fields, with the legend.
fn controls(d: &Data) -> String {
    let mut c = String::from("<div id=\"controls\">\n<fieldset><legend>servers</legend>");
    for n in &d.nodes {
        c.push_str(&format!(
            "<label><input type=\"checkbox\" class=\"node-filter\" value=\"{n}\" checked> {n}</label>"
        ));
    }
    c.push_str("</fieldset>\n<fieldset><legend>messages</legend>");
    let counts: BTreeMap<usize, usize> = d.msgs.iter().fold(BTreeMap::new(), |mut m, x| {
        *m.entry(x.4).or_default() += 1;
        m
    });
    for (i, k) in d.kinds.iter().enumerate() {
        let checked = if HIDDEN_KINDS.contains(k) { "" } else { " checked" };
        c.push_str(&format!(
            "<label><input type=\"checkbox\" class=\"kind-filter\" value=\"{i}\"{checked}> \
             <span class=\"swatch\" style=\"background:{}\"></span>{} ({})</label>",
            d.kind_colours[i],
            escape(k),
            counts.get(&i).copied().unwrap_or(0)
        ));
    }
    c.push_str("</fieldset>\n<fieldset><legend>time (ms)</legend>");
    c.push_str(
        "<input id=\"from-ms\" type=\"number\" step=\"any\"> to <input id=\"to-ms\" type=\"number\" step=\"any\"> \
         <button id=\"apply\">show</button> <button id=\"reset\">whole run</button>",
    );
    if d.violation.is_some() {
        c.push_str(" <button id=\"to-violation\">just before the violation</button>");
    }
    c.push_str("</fieldset>\n<fieldset><legend>roles</legend>");
    for (_, colour, what) in STATES {
        c.push_str(&format!(
            "<span class=\"role\"><span class=\"swatch\" style=\"background:{colour}\"></span>{what}</span>"
        ));
    }
    c.push_str(
        "<span class=\"role\">&#x2716; crash &#x25B2; restart &#x2605; leader established; \
         red dashes under a lane: cut off by a partition</span></fieldset>\n</div>\n",
    );
    c
}

const CSS: &str = r#"body { font-family: sans-serif; margin: 12px; color: #222; }
h1 { font-size: 18px; margin: 4px 0; }
.meta, .notes { font-size: 12px; color: #444; }
.notes { margin: 4px 0; padding-left: 18px; }
.violation { background: #fdecea; border-left: 4px solid #c0392b; padding: 6px; font-size: 13px; }
.thinned { color: #a04000; }
#controls { display: flex; flex-wrap: wrap; gap: 4px; }
#controls fieldset { font-size: 12px; margin: 0; }
#controls label { margin-right: 8px; white-space: nowrap; }
#controls input[type=number] { width: 90px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 3px; vertical-align: middle; }
.role { margin-right: 10px; white-space: nowrap; }
#status { font-size: 12px; margin: 4px 0; color: #333; }
#chart-box { border: 1px solid #ccc; overflow: hidden; }
#chart { display: block; cursor: grab; user-select: none; }
#chart text { font-size: 11px; }
#chart .lane-label { font-size: 12px; font-weight: bold; }
#chart .msg { stroke-width: 1; opacity: 0.75; }
#chart .msg:hover { stroke-width: 3; opacity: 1; }
"#;

const SCRIPT: &str = r##"(function () {
  "use strict";
  var body = document.body;
  window.onerror = function (msg, src, line) {
    body.setAttribute("data-js-errors", String(Number(body.getAttribute("data-js-errors") || 0) + 1));
    body.setAttribute("data-js-error-last", String(msg) + " at line " + line);
    return false;
  };
  var NS = "http://www.w3.org/2000/svg";
  var DRAW_MAX = 4000, LANE_H = 64, TOP = 28, LEFT = 80, RIGHT = 16, BAND_H = 14;
  var D = JSON.parse(document.getElementById("data").textContent);
  var svg = document.getElementById("chart");
  var view = { t0: D.t0, t1: D.t1 };
  document.getElementById("draw-max").textContent = String(DRAW_MAX);

  function el(name, attrs, parent, title) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]); }
    if (title) { var t = document.createElementNS(NS, "title"); t.textContent = title; e.appendChild(t); }
    parent.appendChild(e);
    return e;
  }
  function fmt(us) {
    if (us >= 1e6) return (us / 1e6).toFixed(3) + " s";
    if (us >= 1e3) return (us / 1e3).toFixed(3) + " ms";
    return us + " us";
  }
  function fmtTick(t, step) {
    var unit = step >= 1e5 ? 1e6 : 1e3, name = step >= 1e5 ? " s" : " ms";
    var decimals = Math.max(0, Math.ceil(-Math.log10(step / unit) - 1e-9));
    return t === 0 ? "0" : (t / unit).toFixed(decimals) + name;
  }
  function checked(cls) {
    var out = {};
    var boxes = document.querySelectorAll("input." + cls);
    for (var i = 0; i < boxes.length; i++) out[boxes[i].value] = boxes[i].checked;
    return out;
  }
  function niceStep(span, target) {
    var raw = span / target, mag = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * mag >= raw) return steps[i] * mag;
    return 10 * mag;
  }

  function render() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var nodeOn = checked("node-filter"), kindOn = checked("kind-filter");
    var lanes = D.nodes.filter(function (n) { return nodeOn[n]; });
    var laneOf = {};
    lanes.forEach(function (n, i) { laneOf[n] = i; });
    var width = Math.max(600, document.getElementById("chart-box").clientWidth || 1200);
    var height = TOP + lanes.length * LANE_H + 8;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    var span = Math.max(1, view.t1 - view.t0), plotW = width - LEFT - RIGHT;
    function x(t) { return LEFT + (t - view.t0) / span * plotW; }
    function y(n) { return TOP + laneOf[n] * LANE_H + LANE_H / 2; }
    function visible(a, b) { return b >= view.t0 && a <= view.t1; }

    var defs = el("defs", {}, svg);
    D.kind_colours.forEach(function (c, i) {
      var m = el("marker", { id: "arrow" + i, viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6",
        markerHeight: "6", orient: "auto-start-reverse" }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z", fill: c }, m);
    });
    var clip = el("clipPath", { id: "plot-clip" }, defs);
    el("rect", { x: LEFT, y: 0, width: plotW, height: height }, clip);

    // Time axis.
    var step = niceStep(span, 10), first = Math.ceil(view.t0 / step) * step;
    for (var t = first; t <= view.t1; t += step) {
      el("line", { x1: x(t), x2: x(t), y1: TOP - 4, y2: height, stroke: "#eee" }, svg);
      el("text", { x: x(t), y: TOP - 8, "text-anchor": "middle", "class": "tick" }, svg).textContent = fmtTick(t, step);
    }
    // Lanes.
    lanes.forEach(function (n) {
      el("rect", { "class": "lane", "data-node": n, x: LEFT, y: TOP + laneOf[n] * LANE_H + 1, width: plotW,
        height: LANE_H - 2, fill: laneOf[n] % 2 ? "#fafafa" : "#f3f3f3" }, svg);
      el("text", { "class": "lane-label", x: 8, y: y(n) + 4 }, svg).textContent = "server " + n;
      el("line", { x1: LEFT, x2: LEFT + plotW, y1: y(n), y2: y(n), stroke: "#bbb" }, svg);
    });
    var g = el("g", { "clip-path": "url(#plot-clip)" }, svg);
    // Roles and epochs.
    D.segs.forEach(function (s) {
      if (laneOf[s[0]] === undefined || !visible(s[1], s[2])) return;
      var x0 = Math.max(LEFT, x(s[1])), x1 = Math.min(LEFT + plotW, x(s[2]));
      var top = y(s[0]) - LANE_H / 2 + 3;
      el("rect", { "class": "role-band", x: x0, y: top, width: Math.max(0.5, x1 - x0), height: BAND_H,
        fill: D.states[s[3]] || "#ccc" }, g, s[4] + " (" + fmt(s[1]) + " to " + fmt(s[2]) + ")");
      if (x1 - x0 > 70) {
        el("text", { x: x0 + 3, y: top + 11, fill: "#000" }, g).textContent = s[4];
      }
    });
    // Partitions: a dashed red line under the lanes cut off.
    D.cuts.forEach(function (c) {
      if (laneOf[c[0]] === undefined || !visible(c[1], c[2])) return;
      var yy = y(c[0]) + LANE_H / 2 - 6;
      el("line", { "class": "cut", x1: x(c[1]), x2: x(c[2]), y1: yy, y2: yy, stroke: "#c0392b", "stroke-width": 4,
        "stroke-dasharray": "6 3" }, g, c[3] + " (" + fmt(c[1]) + " to " + fmt(c[2]) + ")");
    });
    // Messages.
    var inView = 0, drawn = 0;
    for (var i = 0; i < D.msgs.length; i++) {
      var m = D.msgs[i];
      if (!kindOn[m[4]] || laneOf[m[2]] === undefined || laneOf[m[3]] === undefined || !visible(m[0], m[1])) continue;
      inView++;
      if (drawn >= DRAW_MAX) continue;
      drawn++;
      var kind = D.kinds[m[4]];
      el("line", { "class": "msg", "data-kind": kind, x1: x(m[0]), y1: y(m[2]), x2: x(m[1]), y2: y(m[3]),
        stroke: D.kind_colours[m[4]], "marker-end": "url(#arrow" + m[4] + ")" }, g,
        kind + " " + m[2] + " -> " + m[3] + (m[5] ? ": " + m[5] : "") + "\nsent " + fmt(m[0]) + ", delivered " + fmt(m[1]));
    }
    // Faults and milestones.
    D.marks.forEach(function (k) {
      var t = k[0], xx = x(t);
      if (t < view.t0 || t > view.t1) return;
      if (k[2].length === 0) {
        el("line", { "class": "mark", x1: xx, x2: xx, y1: TOP, y2: height, stroke: "#555", "stroke-dasharray": "2 4" },
          svg, k[3] + " at " + fmt(t));
        el("text", { x: xx + 3, y: height - 4, fill: "#555" }, svg).textContent = k[1].replace("_", " ");
        return;
      }
      var glyph = { crash: "\u2716", restart: "\u25B2", established: "\u2605", cut: "\u2702", heal: "\u2713",
        slow: "\u231B", slow_end: "\u231B" }[k[1]] || "\u2022";
      var colour = { crash: "#c0392b", restart: "#27ae60", established: "#d35400" }[k[1]] || "#555";
      k[2].forEach(function (n) {
        if (laneOf[n] === undefined) return;
        el("text", { "class": "mark", x: xx, y: y(n) + 18, "text-anchor": "middle", "font-size": 15, fill: colour },
          svg, k[3] + " at " + fmt(t)).textContent = glyph;
      });
    });
    // The violation.
    if (D.violation && D.violation.t_us >= view.t0 && D.violation.t_us <= view.t1) {
      var v = D.violation, vx = x(v.t_us);
      el("line", { id: "violation-line", x1: vx, x2: vx, y1: TOP - 4, y2: height, stroke: "#c0392b", "stroke-width": 3 },
        svg, "VIOLATION " + v.invariant + " at " + fmt(v.t_us) + ": " + v.detail);
      v.nodes.forEach(function (n) {
        if (laneOf[n] === undefined) return;
        el("circle", { "class": "violation-node", cx: vx, cy: y(n), r: 9, fill: "none", stroke: "#c0392b",
          "stroke-width": 3 }, svg, "server " + n + " in the violation");
      });
      el("text", { x: vx - 4, y: height - 4, fill: "#c0392b", "font-weight": "bold", "text-anchor": "end" }, svg)
        .textContent = v.invariant;
    }
    document.getElementById("from-ms").value = (view.t0 / 1000).toFixed(3);
    document.getElementById("to-ms").value = (view.t1 / 1000).toFixed(3);
    document.getElementById("status").textContent = "showing " + fmt(view.t0) + " to " + fmt(view.t1) + "; " +
      inView + " messages in view" + (drawn < inView ? ", the first " + drawn + " drawn: zoom in to see the rest" : "");
    body.setAttribute("data-rendered", String(drawn));
  }

  function setView(t0, t1) {
    t0 = Math.max(D.t0, t0); t1 = Math.min(D.t1, t1);
    if (t1 - t0 < 10) { var c = (t0 + t1) / 2; t0 = c - 5; t1 = c + 5; }
    view.t0 = t0; view.t1 = t1;
    render();
  }
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect(), plotW = r.width - LEFT - RIGHT;
    var at = view.t0 + Math.min(1, Math.max(0, (e.clientX - r.left - LEFT) / plotW)) * (view.t1 - view.t0);
    var f = e.deltaY > 0 ? 1.25 : 0.8;
    setView(at - (at - view.t0) * f, at + (view.t1 - at) * f);
  }, { passive: false });
  var drag = null;
  svg.addEventListener("mousedown", function (e) { drag = { x: e.clientX, t0: view.t0, t1: view.t1 }; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var r = svg.getBoundingClientRect(), plotW = r.width - LEFT - RIGHT;
    var dt = (drag.x - e.clientX) / plotW * (drag.t1 - drag.t0);
    dt = Math.max(D.t0 - drag.t0, Math.min(D.t1 - drag.t1, dt));
    view.t0 = drag.t0 + dt; view.t1 = drag.t1 + dt;
    render();
  });
  document.getElementById("apply").addEventListener("click", function () {
    var a = parseFloat(document.getElementById("from-ms").value) * 1000;
    var b = parseFloat(document.getElementById("to-ms").value) * 1000;
    if (isFinite(a) && isFinite(b) && b > a) setView(a, b);
  });
  document.getElementById("reset").addEventListener("click", function () { setView(D.t0, D.t1); });
  var tv = document.getElementById("to-violation");
  if (tv) tv.addEventListener("click", function () {
    var t = D.violation.t_us, w = Math.max(1000, (D.t1 - D.t0) / 20);
    setView(t - w, t + w / 10);
  });
  // A link may name a window and hidden kinds: page.html#t=FROM_MS,TO_MS&hide=PING,ACK
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {
    var kv = part.split("=");
    if (kv[0] === "t" && kv[1]) {
      var r = kv[1].split(",").map(parseFloat);
      if (r.length === 2 && isFinite(r[0]) && isFinite(r[1]) && r[1] > r[0]) { view.t0 = r[0] * 1000; view.t1 = r[1] * 1000; }
    } else if (kv[0] === "hide" && kv[1]) {
      var hide = kv[1].split(",");
      var kb = document.querySelectorAll("input.kind-filter");
      for (var j = 0; j < kb.length; j++) if (hide.indexOf(D.kinds[kb[j].value]) >= 0) kb[j].checked = false;
    }
  });
  view.t0 = Math.max(D.t0, view.t0); view.t1 = Math.min(D.t1, view.t1);
  var boxes = document.querySelectorAll("input.node-filter, input.kind-filter");
  for (var i = 0; i < boxes.length; i++) boxes[i].addEventListener("change", render);
  window.addEventListener("resize", render);
  render();
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_name_the_zxid_or_vote() {
        let m = Message::Commit { zxid: zab::Zxid::new(1, 2) };
        assert_eq!(detail(&m), "0x100000002");
        assert_eq!(detail(&Message::Ping), "");
    }
}
