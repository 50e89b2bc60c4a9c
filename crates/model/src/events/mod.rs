//! Events (issue 15): a problem found in a grid, triaged, dispatched to a department with a
//! deadline, supervised, closed and revisited.
//!
//! * [`Event`] — the record, with its [`Due`] times and its [`HistoryEntry`] trail;
//! * [`flow`] — the state machine and the roles allowed each move;
//! * [`categories`] — `data/event_categories.toml`: code → department, deadline class, calendar;
//! * [`calendar`] — due times counted on the wall clock or on working hours, and the [`Clock`].
pub mod calendar;
pub mod categories;
pub mod flow;

pub use calendar::*;
pub use categories::*;
pub use flow::{EventStatus, TransitionError};

use crate::{BuildingId, CommunityId, GridId, Role, UserId};
use geo_types::Point;
use serde::{Deserialize, Serialize};

/// Id of an event (`ev-…`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub String);

impl EventId {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the grid of an event was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutedBy {
    /// The event's building is a member of the grid.
    Building,
    /// The point lies inside the grid's outline.
    Outline,
    /// The point is in no grid: the nearest grid of its community (reported as such).
    Nearest,
    /// Set by hand (triage).
    Manual,
}

impl RoutedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Building => "building",
            Self::Outline => "outline",
            Self::Nearest => "nearest",
            Self::Manual => "manual",
        }
    }
}

/// Urgency set at triage (`normal` by default).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

impl std::str::FromStr for Priority {
    type Err = crate::ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Low, Self::Normal, Self::High, Self::Urgent]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| crate::ModelError::UnknownValue {
                what: "priority",
                value: s.to_owned(),
                expected: "low, normal, high, urgent",
            })
    }
}

/// Due times per stage (unix seconds): arrival on site (1341: 10 minutes) and resolution (by
/// the category's class).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrive: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve: Option<i64>,
}

/// One line of an event's trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unix seconds.
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// `None` for the report itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<EventStatus>,
    pub to: EventStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What else changed with the move (e.g. `department: a -> b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A reported problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    /// A code of [`EventCategories`].
    pub category: String,
    pub description: String,
    /// Where it is (WGS84), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Point<f64>>,
    /// The building it concerns, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<BuildingId>,
    /// Who reported it (a user id, or a free-form name/contact from Open311).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<String>,
    /// Photo references (URLs or media ids), never the bytes.
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<GridId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community: Option<CommunityId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_by: Option<RoutedBy>,
    /// The responsible department (from the category unless triage changed it).
    pub department: String,
    #[serde(default)]
    pub priority: Priority,
    pub status: EventStatus,
    /// Unix seconds.
    pub reported_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub due: Due,
    /// Oldest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Optimistic-concurrency version (ETag), 1 at creation, +1 per transition.
    #[serde(default)]
    pub version: i64,
}

/// What a caller asks of a transition besides the target status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransitionInput {
    pub reason: Option<String>,
    /// A new responsible department (on dispatch).
    pub department: Option<String>,
}

impl Event {
    /// The deadline that matters now: the resolution due time.
    pub fn due_at(&self) -> Option<i64> {
        self.due.resolve
    }

    /// Whether a running deadline has passed at `now`.
    pub fn overdue(&self, now: i64) -> bool {
        self.status.clock_runs() && self.due.resolve.is_some_and(|d| now > d)
    }

    /// Moves the event to `to` as `user` with `role` at `at`, if the state machine allows it;
    /// appends the history entry and bumps the version. The event is unchanged on error.
    #[allow(
        clippy::expect_used,
        reason = "the history entry is pushed just before it is returned"
    )]
    pub fn transition(
        &mut self,
        to: EventStatus,
        user: Option<&UserId>,
        role: Role,
        input: &TransitionInput,
        at: i64,
    ) -> Result<&HistoryEntry, TransitionError> {
        let from = self.status;
        flow::check(from, to, role, input.reason.as_deref())?;
        let mut note = None;
        if let Some(d) = input.department.as_ref().filter(|d| **d != self.department) {
            note = Some(format!("department: {} -> {d}", self.department));
            self.department = d.clone();
        }
        self.status = to;
        self.updated_at = at;
        self.version += 1;
        self.history.push(HistoryEntry {
            at,
            user: user.cloned(),
            role: Some(role),
            from: Some(from),
            to,
            reason: input
                .reason
                .as_ref()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty()),
            note,
        });
        Ok(self.history.last().expect("just pushed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> Event {
        Event {
            id: EventId::new("ev-1"),
            category: "sanitation".into(),
            description: "litter".into(),
            location: Some(Point::new(7.42, 43.73)),
            building: None,
            reporter: None,
            photos: vec![],
            grid: None,
            community: None,
            routed_by: None,
            department: "urban_management".into(),
            priority: Priority::Normal,
            status: EventStatus::Reported,
            reported_at: 100,
            updated_at: 100,
            due: Due {
                arrive: Some(700),
                resolve: Some(1900),
            },
            history: vec![],
            version: 1,
        }
    }

    #[test]
    fn a_transition_appends_history_and_bumps_the_version() {
        let mut e = ev();
        let u = UserId::new("p");
        e.transition(
            EventStatus::Accepted,
            Some(&u),
            Role::Planner,
            &TransitionInput::default(),
            200,
        )
        .unwrap();
        let input = TransitionInput {
            reason: None,
            department: Some("civil_affairs".into()),
        };
        e.transition(
            EventStatus::Dispatched,
            Some(&u),
            Role::Planner,
            &input,
            300,
        )
        .unwrap();
        assert_eq!(
            (e.status, e.version, e.history.len()),
            (EventStatus::Dispatched, 3, 2)
        );
        assert_eq!(e.department, "civil_affairs");
        assert!(e.history[1]
            .note
            .as_deref()
            .unwrap()
            .contains("urban_management -> civil_affairs"));
        let before = e.clone();
        assert!(e
            .transition(
                EventStatus::Closed,
                Some(&u),
                Role::Department,
                &TransitionInput::default(),
                400
            )
            .is_err());
        assert_eq!(e, before, "a refused move changes nothing");
        assert!(!e.overdue(1900) && e.overdue(1901));
        e.transition(
            EventStatus::Suspended,
            Some(&u),
            Role::Department,
            &TransitionInput {
                reason: Some("waiting for parts".into()),
                department: None,
            },
            500,
        )
        .unwrap();
        assert!(!e.overdue(99_999), "a suspended event's clock stops");
        let json = serde_json::to_value(&e).unwrap();
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
