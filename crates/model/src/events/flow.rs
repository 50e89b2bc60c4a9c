//! The event state machine: which status may follow which, and who may move it.
//!
//! ```text
//! reported → accepted → dispatched → in_progress → resolved → verified → closed
//!               ↑  ↖        │  ↘ returned (mis-routed, reason) ↗ back to triage
//!               │   suspended (reason) ← accepted | dispatched | in_progress
//!               └──── reopened (failed revisit, reason) ← closed | verified
//! ```
use crate::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where an event stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// 上报: found and reported, waiting for triage.
    Reported,
    /// 立案: triaged (category, grid and department confirmed).
    Accepted,
    /// 派遣: sent to the department, its clock running.
    Dispatched,
    /// 处置: the department is on it.
    InProgress,
    /// The department says it is settled.
    Resolved,
    /// 核查: the grid lead checked it on the ground.
    Verified,
    /// 结案.
    Closed,
    /// Sent back to triage by the department or grid (mis-routed), with a reason.
    Returned,
    /// 挂账: cannot be settled now (backlog), with a reason.
    Suspended,
    /// The revisit failed: back to triage for another dispatch.
    Reopened,
}

impl EventStatus {
    pub const ALL: [EventStatus; 10] = [
        Self::Reported,
        Self::Accepted,
        Self::Dispatched,
        Self::InProgress,
        Self::Resolved,
        Self::Verified,
        Self::Closed,
        Self::Returned,
        Self::Suspended,
        Self::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Accepted => "accepted",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Verified => "verified",
            Self::Closed => "closed",
            Self::Returned => "returned",
            Self::Suspended => "suspended",
            Self::Reopened => "reopened",
        }
    }

    /// Open311's two states: `closed` once the matter is settled (resolved, verified,
    /// closed), `open` otherwise.
    pub fn open311(self) -> &'static str {
        if self.is_settled() {
            "closed"
        } else {
            "open"
        }
    }

    /// Resolved, verified or closed: the resolution deadline no longer runs.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Resolved | Self::Verified | Self::Closed)
    }

    /// Whether the resolution clock runs (not settled, not suspended).
    pub fn clock_runs(self) -> bool {
        !self.is_settled() && self != Self::Suspended
    }
}

impl fmt::Display for EventStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventStatus {
    type Err = crate::ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| crate::ModelError::UnknownValue {
                what: "event status",
                value: s.to_owned(),
                expected: "reported, accepted, dispatched, in_progress, resolved, verified, closed, returned, suspended, reopened",
            })
    }
}

use EventStatus as S;
use Role::{Admin as A, Department as D, GridLead as G, Planner as P};

/// One allowed move: `from` → `to` by any of `roles`; `reason` says whether a reason is required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub from: EventStatus,
    pub to: EventStatus,
    pub roles: &'static [Role],
    pub reason: bool,
}

const fn r(from: S, to: S, roles: &'static [Role], reason: bool) -> Rule {
    Rule {
        from,
        to,
        roles,
        reason,
    }
}

/// Every allowed transition. Anything not listed is refused (409 naming the allowed ones).
/// Triage and dispatch belong to the platform (planners); the department works and may send a
/// mis-routed case back; the grid lead (属地) settles small matters, checks on the ground and
/// can ask for a revisit; admins may do anything listed.
pub const RULES: &[Rule] = &[
    r(S::Reported, S::Accepted, &[A, P], false),
    r(S::Reported, S::Returned, &[A, P, G], true),
    r(S::Accepted, S::Dispatched, &[A, P], false),
    r(S::Accepted, S::Returned, &[A, G], true),
    r(S::Accepted, S::Suspended, &[A, P], true),
    r(S::Dispatched, S::InProgress, &[A, D], false),
    r(S::Dispatched, S::Returned, &[A, D], true),
    r(S::Dispatched, S::Suspended, &[A, P, D], true),
    r(S::InProgress, S::Resolved, &[A, D, G], false),
    r(S::InProgress, S::Suspended, &[A, P, D], true),
    r(S::Resolved, S::Verified, &[A, G], false),
    r(S::Resolved, S::InProgress, &[A, G], true),
    r(S::Verified, S::Closed, &[A, P], false),
    r(S::Verified, S::Reopened, &[A, P, G], true),
    r(S::Closed, S::Reopened, &[A, P, G], true),
    r(S::Returned, S::Accepted, &[A, P], false),
    r(S::Returned, S::Dispatched, &[A, P], false),
    r(S::Suspended, S::Accepted, &[A, P], false),
    r(S::Suspended, S::InProgress, &[A, P, D], false),
    r(S::Reopened, S::Dispatched, &[A, P], false),
    r(S::Reopened, S::Accepted, &[A, P], false),
];

/// Why a transition is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Not a move `role` may make from `from`; `allowed` lists the ones it may.
    #[error(
        "{role} may not move an event from {from} to {to}; allowed from {from}: {}",
        list(allowed)
    )]
    NotAllowed {
        from: EventStatus,
        to: EventStatus,
        role: Role,
        allowed: Vec<EventStatus>,
    },
    /// The move needs a reason (returned, suspended, reopened, a failed check).
    #[error("moving an event from {from} to {to} needs a reason")]
    ReasonRequired { from: EventStatus, to: EventStatus },
}

fn list(v: &[EventStatus]) -> String {
    if v.is_empty() {
        return "none".into();
    }
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// The statuses `role` may move an event in `from` to.
pub fn allowed(from: EventStatus, role: Role) -> Vec<EventStatus> {
    RULES
        .iter()
        .filter(|r| r.from == from && r.roles.contains(&role))
        .map(|r| r.to)
        .collect()
}

/// Checks one move; `reason` is the caller's reason (blank counts as none).
pub fn check(
    from: EventStatus,
    to: EventStatus,
    role: Role,
    reason: Option<&str>,
) -> Result<&'static Rule, TransitionError> {
    let rule = RULES
        .iter()
        .find(|r| r.from == from && r.to == to && r.roles.contains(&role))
        .ok_or_else(|| TransitionError::NotAllowed {
            from,
            to,
            role,
            allowed: allowed(from, role),
        })?;
    if rule.reason && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(TransitionError::ReasonRequired { from, to });
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table, written out as (from, to, roles): every pair of statuses × every role
    /// is checked against it, so a rule added or lost shows here.
    const EXPECTED: &[(&str, &str, &str)] = &[
        ("reported", "accepted", "AP"),
        ("reported", "returned", "APG"),
        ("accepted", "dispatched", "AP"),
        ("accepted", "returned", "AG"),
        ("accepted", "suspended", "AP"),
        ("dispatched", "in_progress", "AD"),
        ("dispatched", "returned", "AD"),
        ("dispatched", "suspended", "APD"),
        ("in_progress", "resolved", "ADG"),
        ("in_progress", "suspended", "APD"),
        ("resolved", "verified", "AG"),
        ("resolved", "in_progress", "AG"),
        ("verified", "closed", "AP"),
        ("verified", "reopened", "APG"),
        ("closed", "reopened", "APG"),
        ("returned", "accepted", "AP"),
        ("returned", "dispatched", "AP"),
        ("suspended", "accepted", "AP"),
        ("suspended", "in_progress", "APD"),
        ("reopened", "dispatched", "AP"),
        ("reopened", "accepted", "AP"),
    ];

    fn letter(r: Role) -> char {
        match r {
            Role::Admin => 'A',
            Role::Planner => 'P',
            Role::Department => 'D',
            Role::GridLead => 'G',
        }
    }

    #[test]
    fn every_transition_for_every_role() {
        let mut allowed_n = 0;
        let mut forbidden_n = 0;
        for from in EventStatus::ALL {
            for to in EventStatus::ALL {
                for role in Role::ALL {
                    let expect = EXPECTED.iter().any(|(f, t, roles)| {
                        *f == from.as_str() && *t == to.as_str() && roles.contains(letter(role))
                    });
                    let needs_reason =
                        matches!((from, to), (_, S::Returned | S::Suspended | S::Reopened))
                            || (from, to) == (S::Resolved, S::InProgress);
                    let got = check(from, to, role, Some("a reason"));
                    assert_eq!(got.is_ok(), expect, "{role}: {from} -> {to}");
                    if expect {
                        allowed_n += 1;
                        assert!(allowed(from, role).contains(&to));
                        let without = check(from, to, role, None);
                        assert_eq!(
                            without.is_err(),
                            needs_reason,
                            "{role}: {from} -> {to} without a reason"
                        );
                        if needs_reason {
                            assert_eq!(
                                without.unwrap_err(),
                                TransitionError::ReasonRequired { from, to }
                            );
                            assert!(check(from, to, role, Some("  ")).is_err());
                        }
                    } else {
                        forbidden_n += 1;
                        match got.unwrap_err() {
                            TransitionError::NotAllowed { allowed: a, .. } => {
                                assert_eq!(a, allowed(from, role));
                                assert!(!a.contains(&to));
                            }
                            e @ TransitionError::ReasonRequired { .. } => panic!("{e:?}"),
                        }
                    }
                }
            }
        }
        assert_eq!(allowed_n, EXPECTED.iter().map(|e| e.2.len()).sum::<usize>());
        assert_eq!(allowed_n + forbidden_n, 10 * 10 * 4);
    }

    #[test]
    fn refusals_name_the_allowed_moves() {
        let e = check(S::Dispatched, S::Closed, Role::Department, None).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("in_progress") && msg.contains("returned") && msg.contains("suspended"),
            "{msg}"
        );
        let e = check(S::Closed, S::Accepted, Role::Department, None).unwrap_err();
        assert!(e.to_string().ends_with("none"), "{e}");
    }

    #[test]
    fn open311_status_and_clock() {
        assert_eq!(S::Resolved.open311(), "closed");
        assert_eq!(S::Reopened.open311(), "open");
        assert!(!S::Suspended.clock_runs() && S::Dispatched.clock_runs());
        for s in EventStatus::ALL {
            assert_eq!(s.as_str().parse::<EventStatus>().unwrap(), s);
        }
    }
}
