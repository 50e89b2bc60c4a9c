//! Accounts, tokens and the audit log: the parts of the [`crate::Store`] that are not the dataset.
//!
//! Tokens (login sessions and API tokens) are random strings the caller generates; the store only
//! ever sees and keeps their SHA-256 ([`hash_token`]), so a copy of the database holds no usable
//! token. Passwords arrive already hashed (argon2 PHC strings, computed by the caller).
use crate::error::StoreError;
use gridmap_model::{AuditEntry, CommunityId, GridId, Role, User, UserId};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// Filters of [`crate::Store::audit`]. Entries come newest first (descending id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries by this user.
    pub user: Option<UserId>,
    /// Only entries whose target starts with this (e.g. `user:` or `grid:g-1`).
    pub target_prefix: Option<String>,
    /// Only entries whose target is exactly this (`grid:g1` without `grid:g10`).
    pub target_exact: Option<String>,
    /// Only entries at or after this RFC 3339 UTC time (`2026-11-25T00:00:00Z`).
    pub since: Option<String>,
    /// At most this many entries (`None`: all).
    pub limit: Option<usize>,
    /// Skip this many matching entries (newest first).
    pub offset: usize,
}

/// What a stored token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A login session (cookie), usually short-lived.
    Session,
    /// A long-lived API token (`Authorization: Bearer …`).
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}

/// The SHA-256 of `token` as 64 lowercase hex digits: the form every token is stored and looked
/// up in. Tokens must be long random strings (≥ 128 bits), so an unsalted fast hash suffices.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Argon2id (the crate's default parameters) of `password` as a PHC string; empty passwords are
/// refused.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    use argon2::password_hash::PasswordHasher;
    if password.is_empty() {
        return Err(StoreError::Invalid {
            what: "user",
            id: String::new(),
            reason: "the password must not be empty".into(),
        });
    }
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid {
            what: "user",
            id: String::new(),
            reason: format!("hashing the password failed: {e}"),
        })
}

/// Whether `password` matches a PHC hash from [`hash_password`] (constant-time compare; a
/// malformed hash never matches).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{phc::PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| StoreError::Invalid {
        what: "token",
        id: String::new(),
        reason: format!("no OS randomness: {e}"),
    })?;
    Ok(b)
}

/// A new secret token: `prefix` + 64 hex digits (256 random bits). API tokens use `gm_`,
/// login sessions `gs_`.
pub fn new_token(prefix: &str) -> Result<String, StoreError> {
    Ok(format!(
        "{prefix}{}",
        random_bytes::<32>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `unix` seconds as RFC 3339 UTC (`2026-11-25T18:20:00Z`), the form of [`AuditEntry::at`].
pub fn rfc3339(unix: i64) -> String {
    gridmap_model::events::rfc3339_utc(unix)
}

/// The `at` to store for `e`: its own when given, else now.
pub(crate) fn audit_time(e: &AuditEntry) -> String {
    if e.at.is_empty() {
        rfc3339(now_unix())
    } else {
        e.at.clone()
    }
}

pub(crate) fn ids_json<T: AsRef<str>>(ids: &[T]) -> String {
    serde_json::Value::Array(
        ids.iter()
            .map(|i| serde_json::Value::String(i.as_ref().to_owned()))
            .collect(),
    )
    .to_string()
}

fn corrupt(id: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: "user",
        id: id.to_owned(),
        reason: reason.to_string(),
    }
}

/// A user from its stored columns.
pub(crate) fn decode_user(
    id: String,
    display_name: Option<String>,
    role: &str,
    grids: &str,
    communities: &str,
    disabled: bool,
) -> Result<User, StoreError> {
    let role: Role = role.parse().map_err(|e| corrupt(&id, e))?;
    let grids: Vec<GridId> =
        serde_json::from_str(grids).map_err(|e| corrupt(&id, format!("grids: {e}")))?;
    let communities: Vec<CommunityId> =
        serde_json::from_str(communities).map_err(|e| corrupt(&id, format!("communities: {e}")))?;
    Ok(User {
        id: UserId(id),
        display_name,
        role,
        grids,
        communities,
        disabled,
    })
}

pub(crate) fn decode_json(
    id: i64,
    text: Option<String>,
) -> Result<Option<serde_json::Value>, StoreError> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
            what: "audit entry",
            id: id.to_string(),
            reason: e.to_string(),
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_630_800), "2026-11-25T18:20:00Z");
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(
            verify_password("s3cret", &h)
                && !verify_password("s3cret ", &h)
                && !verify_password("s3cret", "not-a-hash")
        );
        assert!(hash_password("").is_err());
        let (a, b) = (new_token("gm_").unwrap(), new_token("gm_").unwrap());
        assert!(a.starts_with("gm_") && a.len() == 67 && a != b);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
