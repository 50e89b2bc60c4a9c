//! ETags of editable items: the stored version, quoted (`"7"`), and the `If-Match` rules.
use crate::error::ApiError;
use axum::http::HeaderMap;

/// The strong ETag of a stored version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// What an `If-Match` header asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// One of these versions (a list of ETags is allowed by RFC 9110).
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Reads `If-Match`; `Ok(None)` when absent. ETags that are not ours can never match.
    pub fn from_headers(h: &HeaderMap) -> Result<Option<Self>, ApiError> {
        let Some(v) = h.get(axum::http::header::IF_MATCH) else {
            return Ok(None);
        };
        let s = v
            .to_str()
            .map_err(|_| ApiError::InvalidBody("If-Match is not ASCII".into()))?;
        if s.trim() == "*" {
            return Ok(Some(Self::Any));
        }
        // RFC 9110 list of entity-tags: [W/]"chars", separated by commas and whitespace; the
        // quoted part may itself hold commas.
        let bad = || ApiError::InvalidParameter {
            name: "If-Match".into(),
            reason: format!("'{s}' is not `*` or a list of quoted ETags such as \"3\""),
        };
        let mut versions = Vec::new();
        let mut rest = s;
        loop {
            rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            if rest.is_empty() {
                break;
            }
            let (weak, tag) = match rest.strip_prefix("W/") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let body = tag.strip_prefix('"').ok_or_else(bad)?;
            let end = body.find('"').ok_or_else(bad)?;
            // Weak ETags never match under If-Match (strong comparison); foreign tags match nothing.
            if let (false, Ok(v)) = (weak, body[..end].parse::<i64>()) {
                versions.push(v);
            }
            rest = &body[end + 1..];
            if !(rest.is_empty() || rest.starts_with(|c: char| c == ',' || c.is_whitespace())) {
                return Err(bad());
            }
        }
        Ok(Some(Self::Versions(versions)))
    }

    /// The version to hand the store as `expected`, given the current one: the current version
    /// when it matches, else an error naming it (nothing is changed).
    pub fn check(&self, what: &str, id: &str, current: i64) -> Result<i64, ApiError> {
        match self {
            Self::Any => Ok(current),
            Self::Versions(v) if v.contains(&current) => Ok(current),
            Self::Versions(_) => Err(ApiError::PreconditionFailed {
                what: what.into(),
                id: id.into(),
                current,
            }),
        }
    }
}

/// True when `If-None-Match` lists `tag` (or `*`): the client's copy is current.
pub fn none_match(h: &HeaderMap, tag: &str) -> bool {
    h.get_all(axum::http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t == tag || t.strip_prefix("W/") == Some(tag))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn if_match_accepts_lists_and_rejects_weak_tags() {
        let mut h = HeaderMap::new();
        h.insert("if-match", HeaderValue::from_static("W/\"3\", \"5\""));
        let m = IfMatch::from_headers(&h).unwrap().unwrap();
        assert_eq!(m, IfMatch::Versions(vec![5]));
        assert_eq!(m.check("grid", "g1", 5).unwrap(), 5);
        assert!(matches!(
            m.check("grid", "g1", 3),
            Err(ApiError::PreconditionFailed { current: 3, .. })
        ));
    }

    #[test]
    fn quoted_etags_may_hold_commas() {
        let mut h = HeaderMap::new();
        h.insert(
            "if-match",
            HeaderValue::from_static("\"a,b\"\t, W/\"\" ,\"4\""),
        );
        assert_eq!(
            IfMatch::from_headers(&h).unwrap(),
            Some(IfMatch::Versions(vec![4]))
        );
    }

    #[test]
    fn a_malformed_if_match_is_a_bad_request() {
        let mut h = HeaderMap::new();
        h.insert("if-match", HeaderValue::from_static("0"));
        assert!(matches!(
            IfMatch::from_headers(&h),
            Err(ApiError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn if_none_match_sees_weak_and_strong_forms() {
        let mut h = HeaderMap::new();
        h.insert("if-none-match", HeaderValue::from_static("W/\"abc\""));
        assert!(none_match(&h, "\"abc\""));
        assert!(!none_match(&h, "\"abd\""));
    }
}
