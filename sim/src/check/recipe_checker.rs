//! The checker's recipe part: what the users of a leader election or a lock assume, judged
//! on the committed history (each txn once, in zxid order, as the first server applies it).
//!
//! A *term* is one claim znode (`/election/...-n_0000000007`, `/lock/...`, or the naive
//! recipe's ephemeral `/config` of one session) from when it is the lowest claim in the
//! committed tree (`LeaderLatch.checkLeadership`: the first of the sorted children leads)
//! to its deletion (an explicit delete, or the owner's `closeSession`). An *action* is a
//! committed setData of the recipe's action path whose data names its term
//! (`"<term> #<n>"`, written by [`crate::run::recipe`]).
//!
//! - RecipeExclusivity: the actions of each term form one unbroken run in the committed
//!   history (two terms never act "at once": no A, B, A);
//! - RecipeFencing (fenced recipes): no action of a term lands after the first action of
//!   a term whose claim was created later;
//! - RecipeNotice: a holder that believes it leads stops believing within the session
//!   timeout plus the scenario's bound after its term ended;
//! - RecipeLiveness is judged by the workload after faults stop
//!   ([`crate::run::workload::Recipes::converged`]).

use crate::check::invariant::{Invariant, Violation};
use crate::format::fmt_us;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use zab::api::TreeTxn;
use zab::durable::Op;
use zab::{Sid, Zxid};

/// One leadership (or lock) term, as the committed history and its holder saw it
/// (simulated times).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermRecord {
    /// The holder's instance number.
    pub holder: u64,
    /// The claim znode (the naive recipe's: `/config@<session>`).
    pub claim: String,
    /// When the claim became the lowest (the term began), and when it was deleted.
    pub from_us: u64,
    pub to_us: Option<u64>,
    /// When the holder last stopped believing it leads (`None`: it never did, or it
    /// never believed).
    pub noticed_us: Option<u64>,
    /// Actions of the term in the committed history.
    pub actions: u64,
    /// The holder believed it leads at some point, and does now.
    #[serde(skip)]
    believed: bool,
    #[serde(skip)]
    believing: bool,
    /// The claim has been the lowest.
    #[serde(skip)]
    led: bool,
}

impl TermRecord {
    /// A term that begins at `now` with `claim` the lowest.
    fn new(holder: u64, claim: String, now: u64) -> TermRecord {
        TermRecord {
            holder,
            claim,
            from_us: now,
            to_us: None,
            noticed_us: None,
            actions: 0,
            believed: false,
            believing: false,
            led: false,
        }
    }
}

/// What the recipe's holder reports about its own belief.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipeNote {
    /// Instance `instance` believes it leads (or holds the lock) in term `claim`.
    Believes { instance: u64, claim: String },
    /// It stopped believing it (a disconnect, an expiry, a release, a refused fenced
    /// write, or its process died).
    Stopped { instance: u64, claim: String },
}

/// A claim in the committed tree.
#[derive(Clone, Debug)]
struct Claim {
    key: String,
    path: String,
}

#[derive(Clone, Debug)]
pub struct RecipeChecker {
    /// Children of this path are claims; the naive recipe's one claim is this path itself.
    claims_path: String,
    naive: bool,
    action_path: String,
    fenced: bool,
    /// Session timeout plus the notice bound.
    notice_limit_us: u64,
    /// The newest zxid taken in.
    last_zxid: Zxid,
    /// Live claims by creation zxid: the first is the term in force.
    live: BTreeMap<Zxid, Claim>,
    /// Creation zxid of every claim seen, by key (terms are ordered by it).
    czxid: BTreeMap<String, Zxid>,
    /// Terms by key, into `terms`.
    index: BTreeMap<String, usize>,
    pub terms: Vec<TermRecord>,
    /// The term of the last action, and the terms whose run of actions is over.
    last_actor: Option<String>,
    closed: BTreeSet<String>,
    /// The creation zxid of the newest term that acted.
    newest_acted: Option<Zxid>,
}

impl RecipeChecker {
    /// A checker for claims under `claims_path` (or the naive one at it) and actions on
    /// `action_path`.
    pub fn new(claims_path: &str, naive: bool, action_path: &str, fenced: bool, notice_limit_us: u64) -> RecipeChecker {
        RecipeChecker {
            claims_path: claims_path.to_string(),
            naive,
            action_path: action_path.to_string(),
            fenced,
            notice_limit_us,
            last_zxid: Zxid::ZERO,
            live: BTreeMap::new(),
            czxid: BTreeMap::new(),
            index: BTreeMap::new(),
            terms: Vec::new(),
            last_actor: None,
            closed: BTreeSet::new(),
            newest_acted: None,
        }
    }

    /// The holder's instance number, from the claim's name (`i<k>-s<session>-n_...`) or,
    /// for the naive claim, its data (`instance-<k>`).
    fn holder_of(name: &str, data: &str) -> u64 {
        let from_name = name.strip_prefix('i').and_then(|r| r.split('-').next()).and_then(|n| n.parse().ok());
        from_name.or_else(|| data.strip_prefix("instance-").and_then(|n| n.parse().ok())).unwrap_or(u64::MAX)
    }

    fn term(&mut self, key: &str, holder: u64, now: u64) -> &mut TermRecord {
        let i = *self.index.entry(key.to_string()).or_insert_with(|| {
            self.terms.push(TermRecord::new(holder, key.to_string(), now));
            self.terms.len() - 1
        });
        &mut self.terms[i]
    }

    /// The newest zxid taken in.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// The committed txn `op` at `zxid` (the first server to apply it applied it at `now`
    /// as `server`); txns already taken in are skipped.
    pub fn committed(&mut self, now: u64, server: Sid, zxid: Zxid, op: &Op) -> Option<Violation> {
        if zxid <= self.last_zxid {
            return None;
        }
        self.last_zxid = zxid;
        let lowest = self.live.keys().next().copied();
        let mut v = None;
        match op {
            Op::Tree(w) => match &w.txn {
                TreeTxn::Create { path, data, ephemeral_owner, .. } if *ephemeral_owner != 0 => {
                    let name = if self.naive {
                        (path == &self.claims_path).then_some("")
                    } else {
                        path.strip_prefix(self.claims_path.as_str()).and_then(|r| r.strip_prefix('/'))
                    };
                    if let Some(name) = name {
                        let key = if self.naive { format!("{path}@{ephemeral_owner:x}") } else { path.clone() };
                        let holder = Self::holder_of(name, data);
                        self.czxid.insert(key.clone(), zxid);
                        self.live.insert(zxid, Claim { key: key.clone(), path: path.clone() });
                        // Remember the holder for when the term begins.
                        self.index.entry(key.clone()).or_insert_with(|| {
                            self.terms.push(TermRecord::new(holder, key, now));
                            self.terms.len() - 1
                        });
                    }
                }
                TreeTxn::Delete { path } => self.deleted(now, path),
                TreeTxn::SetData { path, data, .. } if *path == self.action_path => {
                    v = self.action(now, server, zxid, data);
                }
                _ => {}
            },
            Op::CloseSession(c) => {
                for path in &c.paths {
                    self.deleted(now, path);
                }
            }
            _ => {}
        }
        // A new lowest claim: its term begins now.
        if let Some((z, c)) = self.live.iter().next() {
            if Some(*z) != lowest {
                let key = c.key.clone();
                let t = self.term(&key, u64::MAX, now);
                t.from_us = now;
                t.led = true;
            }
        }
        v.or_else(|| self.check_notice(now))
    }

    fn deleted(&mut self, now: u64, path: &str) {
        let Some(z) = self.live.iter().find(|(_, c)| c.path == path).map(|(z, _)| *z) else { return };
        let claim = self.live.remove(&z).expect("found");
        let t = self.term(&claim.key, u64::MAX, now);
        t.to_us = Some(now);
    }

    /// A committed action: its term must not resume after another term acted
    /// (exclusivity), nor, fenced, act after a later term acted.
    fn action(&mut self, now: u64, server: Sid, zxid: Zxid, data: &str) -> Option<Violation> {
        let key = data.split(" #").next().unwrap_or_default().to_string();
        let czxid = self.czxid.get(&key).copied()?;
        self.term(&key, u64::MAX, now).actions += 1;
        if self.fenced && self.newest_acted.is_some_and(|n| czxid < n) {
            let newest = self.live_key_of(self.newest_acted.expect("checked"));
            return Some(Violation {
                invariant: Invariant::RecipeFencing,
                t_us: now,
                nodes: vec![server],
                detail: format!(
                    "an action of term {key} committed at {zxid}, after the first action of the later term {newest}"
                ),
            });
        }
        self.newest_acted = Some(self.newest_acted.map_or(czxid, |n| n.max(czxid)));
        if self.last_actor.as_deref() != Some(key.as_str()) {
            if self.closed.contains(&key) {
                let other = self.last_actor.clone().unwrap_or_default();
                return Some(Violation {
                    invariant: Invariant::RecipeExclusivity,
                    t_us: now,
                    nodes: vec![server],
                    detail: format!(
                        "term {key} acted again at {zxid} ({data:?}) after term {other} had acted: two holders acted at once"
                    ),
                });
            }
            if let Some(prev) = self.last_actor.replace(key) {
                self.closed.insert(prev);
            }
        }
        None
    }

    fn live_key_of(&self, czxid: Zxid) -> String {
        self.czxid.iter().find(|(_, z)| **z == czxid).map(|(k, _)| k.clone()).unwrap_or_default()
    }

    /// The holder's report about its belief.
    pub fn note(&mut self, now: u64, note: &RecipeNote) -> Option<Violation> {
        let (instance, claim, believes) = match note {
            RecipeNote::Believes { instance, claim } => (*instance, claim, true),
            RecipeNote::Stopped { instance, claim } => (*instance, claim, false),
        };
        let t = self.term(claim, instance, now);
        if believes {
            t.believed = true;
            t.believing = true;
            return None;
        }
        if !t.believing {
            return None;
        }
        t.believing = false;
        t.noticed_us = Some(now);
        let t = t.clone();
        let late = t.to_us.is_some_and(|end| now > end.saturating_add(self.notice_limit_us));
        late.then(|| self.late(t, now))
    }

    /// A term that ended and whose holder still believes it leads past the limit.
    pub fn check_notice(&self, now: u64) -> Option<Violation> {
        let t = self
            .terms
            .iter()
            .find(|t| t.believing && t.to_us.is_some_and(|end| now > end.saturating_add(self.notice_limit_us)))?;
        Some(self.late(t.clone(), now))
    }

    fn late(&self, t: TermRecord, now: u64) -> Violation {
        let end = t.to_us.unwrap_or_default();
        Violation {
            invariant: Invariant::RecipeNotice,
            t_us: now,
            nodes: Vec::new(),
            detail: format!(
                "instance {} still believed it held term {} at {}, {} after the term ended at {} (limit {})",
                t.holder,
                t.claim,
                fmt_us(now),
                fmt_us(now - end),
                fmt_us(end),
                fmt_us(self.notice_limit_us)
            ),
        }
    }

    /// The terms for the summary, the holders' notice times kept.
    pub fn terms(&self) -> Vec<TermRecord> {
        self.terms.iter().filter(|t| t.led || t.believed || t.actions > 0).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zab::durable::Txn;

    fn z(c: u64) -> Zxid {
        Zxid::new(1, c)
    }

    fn create(path: &str, session: u64) -> Op {
        let txn =
            TreeTxn::Create { path: path.into(), data: String::new(), ephemeral_owner: session, parent_cversion: 1 };
        Op::tree(session, 1, txn)
    }

    fn set(path: &str, data: &str) -> Op {
        Op::tree(1, 1, TreeTxn::SetData { path: path.into(), data: data.into(), version: 1 })
    }

    fn delete(path: &str) -> Op {
        Op::tree(1, 1, TreeTxn::Delete { path: path.into() })
    }

    const A: &str = "/election/i0-s1-n_0000000000";
    const B: &str = "/election/i1-s2-n_0000000001";

    /// Feeds `ops` as txns 1:1, 1:2, ...; the first violation.
    fn run(c: &mut RecipeChecker, ops: Vec<Op>) -> Option<Violation> {
        let txns: Vec<Txn> = ops.into_iter().enumerate().map(|(i, op)| Txn { zxid: z(i as u64 + 1), op }).collect();
        txns.iter().enumerate().find_map(|(i, t)| c.committed(i as u64 * 1000, 1, t.zxid, &t.op))
    }

    fn checker(fenced: bool) -> RecipeChecker {
        RecipeChecker::new("/election", false, "/config", fenced, 5_000)
    }

    #[test]
    fn a_deposed_leader_acting_after_its_successor_breaks_exclusivity() {
        let mut c = checker(false);
        let ops = vec![
            create(A, 1),
            create(B, 2),
            set("/config", &format!("{A} #1")),
            delete(A),
            set("/config", &format!("{B} #1")),
            set("/config", &format!("{A} #2")),
        ];
        let v = run(&mut c, ops).expect("A acted again after B");
        assert_eq!(v.invariant, Invariant::RecipeExclusivity);
        assert!(v.detail.contains(A), "{}", v.detail);
    }

    #[test]
    fn a_late_first_action_of_an_older_term_breaks_fencing_only_when_fenced() {
        let ops = || {
            vec![
                create(A, 1),
                create(B, 2),
                delete(A),
                set("/config", &format!("{B} #1")),
                set("/config", &format!("{A} #1")),
            ]
        };
        assert_eq!(run(&mut checker(false), ops()), None, "one run of actions per term: exclusive");
        let v = run(&mut checker(true), ops()).expect("fenced");
        assert_eq!(v.invariant, Invariant::RecipeFencing);
    }

    #[test]
    fn terms_acting_one_after_the_other_pass_and_are_recorded() {
        let mut c = checker(true);
        let ops = vec![
            create(A, 1),
            set("/config", &format!("{A} #1")),
            set("/config", &format!("{A} #2")),
            create(B, 2),
            delete(A),
            set("/config", &format!("{B} #1")),
        ];
        assert_eq!(run(&mut c, ops), None);
        let terms = c.terms();
        assert_eq!(terms.len(), 2);
        assert_eq!((terms[0].holder, terms[0].actions, terms[0].to_us), (0, 2, Some(4_000)));
        assert_eq!((terms[1].holder, terms[1].actions, terms[1].from_us), (1, 1, 4_000));
    }

    #[test]
    fn a_holder_believing_past_the_limit_after_its_term_ended_breaks_notice() {
        let mut c = checker(true);
        assert_eq!(run(&mut c, vec![create(A, 1)]), None);
        assert_eq!(c.note(0, &RecipeNote::Believes { instance: 0, claim: A.into() }), None);
        assert_eq!(c.committed(1_000, 1, z(2), &delete(A)), None);
        assert_eq!(c.check_notice(6_000), None, "within the limit");
        let v = c.check_notice(6_001).expect("past it");
        assert_eq!(v.invariant, Invariant::RecipeNotice);
        // A late notice is reported when it comes, too.
        let mut c = checker(true);
        run(&mut c, vec![create(A, 1)]);
        c.note(0, &RecipeNote::Believes { instance: 0, claim: A.into() });
        c.committed(1_000, 1, z(2), &delete(A));
        let v = c.note(7_000, &RecipeNote::Stopped { instance: 0, claim: A.into() }).expect("late");
        assert_eq!(v.invariant, Invariant::RecipeNotice);
    }

    #[test]
    fn a_holder_that_noticed_in_time_passes() {
        let mut c = checker(true);
        run(&mut c, vec![create(A, 1)]);
        c.note(0, &RecipeNote::Believes { instance: 0, claim: A.into() });
        assert_eq!(c.note(500, &RecipeNote::Stopped { instance: 0, claim: A.into() }), None, "before the end");
        assert_eq!(c.committed(1_000, 1, z(2), &delete(A)), None);
        assert_eq!(c.check_notice(60_000), None);
        assert_eq!(c.terms()[0].noticed_us, Some(500));
    }

    #[test]
    fn a_session_close_ends_the_term_and_the_naive_claim_is_keyed_by_session() {
        let mut c = RecipeChecker::new("/config", true, "/config", false, 5_000);
        let close = Op::close_session(1, vec!["/config".into()]);
        let ops = vec![
            create("/config", 1),
            set("/config", "/config@1 #1"),
            close,
            create("/config", 2),
            set("/config", "/config@2 #1"),
            set("/config", "/config@1 #2"),
        ];
        let v = run(&mut c, ops).expect("session 1's term resumed");
        assert_eq!(v.invariant, Invariant::RecipeExclusivity);
        assert_eq!(c.terms()[0].to_us, Some(2_000));
    }
}
