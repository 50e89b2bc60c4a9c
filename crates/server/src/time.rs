//! RFC 3339 timestamps without a date-time dependency.
use std::time::{SystemTime, UNIX_EPOCH};

/// `2026-05-01T12:34:56Z` for a system time (UTC, whole seconds).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    gridmap_model::events::rfc3339_utc(secs)
}

/// Whether `s` is an RFC 3339 UTC date-time (`2026-05-01T12:34:56Z`, optional fraction) or a
/// bare date (`2026-05-01`) — the forms the audit log's string comparison understands.
pub fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.len() == r.len() && d.iter().all(u8::is_ascii_digit))
    };
    let num =
        |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok()).unwrap_or(99);
    let date = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10));
    if !date {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    let time = matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19)
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 61;
    if !time {
        return false;
    }
    let rest = &s[19..];
    let rest = rest
        .strip_prefix('.')
        .map_or(rest, |f| f.trim_start_matches(|c: char| c.is_ascii_digit()));
    matches!(rest, "Z" | "z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_instants_format_as_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_hours(264384)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_767_225_599)),
            "2025-12-31T23:59:59Z"
        );
    }

    #[test]
    fn only_rfc3339_utc_times_are_accepted() {
        for ok in [
            "2026-05-01",
            "2026-05-01T12:34:56Z",
            "2026-05-01T12:34:56.123Z",
        ] {
            assert!(is_rfc3339_utc(ok), "{ok}");
        }
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-05-01T25:00:00Z",
            "2026-05-01T12:34:56",
            "2026-05-01 12:34:56Z",
            "2026-05-01T12:34:56+02:00",
            "0",
        ] {
            assert!(!is_rfc3339_utc(bad), "{bad}");
        }
    }
}
