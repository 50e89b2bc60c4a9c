//! Accounts and the audit log: who may do what, and what was done.
//!
//! A [`User`] has one [`Role`]; `grids` and `communities` narrow the scope of grid leads and
//! community planners. Passwords and tokens are not part of the model: the store keeps only
//! their hashes beside the user.
use crate::{CommunityId, GridId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user may do. Strings: `admin`, `planner`, `department`, `grid_lead`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including managing users.
    Admin,
    /// Edits grids and facilities (all communities, or those in `User::communities`).
    Planner,
    /// A city department: reads everything, edits its own facilities.
    Department,
    /// Edits the households of the grids in `User::grids`.
    GridLead,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Planner, Role::Department, Role::GridLead];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Planner => "planner",
            Role::Department => "department",
            Role::GridLead => "grid_lead",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of `admin`, `planner`, `department`, `grid_lead`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}' (expected admin, planner, department or grid_lead)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// An account. `id` is the login name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub role: Role,
    /// Scope of a grid lead: the grids they may edit.
    #[serde(default)]
    pub grids: Vec<GridId>,
    /// Scope of a community planner; empty = all communities.
    #[serde(default)]
    pub communities: Vec<CommunityId>,
    #[serde(default)]
    pub disabled: bool,
}

impl User {
    /// An enabled user with `role` and no scope.
    pub fn new(id: impl Into<UserId>, role: Role) -> Self {
        User {
            id: id.into(),
            display_name: None,
            role,
            grids: vec![],
            communities: vec![],
            disabled: false,
        }
    }
}

/// One line of the audit log: `user` did `action` to `target` at `at`, with the record before
/// and after (JSON; `None` for a create / a delete). `id` is assigned by the store (increasing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339 UTC, e.g. `2026-11-25T18:20:00Z`.
    pub at: String,
    pub user: Option<UserId>,
    /// e.g. `user.add`, `grid.update`.
    pub action: String,
    /// e.g. `user:alice`, `grid:g-12`.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_as_snake_case() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::Value::String(r.as_str().into())
            );
        }
        assert_eq!("grid_lead".parse::<Role>().unwrap(), Role::GridLead);
        let e = "boss".parse::<Role>().unwrap_err();
        assert!(
            e.to_string().contains("boss") && e.to_string().contains("grid_lead"),
            "{e}"
        );
    }
}
