//! Deadlines: a due time is a start plus a duration counted on a calendar, either every minute
//! (`wall`) or only the working periods of working days (`working`), as the digital urban
//! management standards count deadlines "in working hours or days".
//!
//! Times are unix seconds (UTC). A working calendar's periods are local times at a fixed UTC
//! offset (Asia/Shanghai is +08:00 all year), so no time-zone database is needed.
//!
//! ```
//! use gridmap_model::events::{days_from_civil, Calendar, WorkingCalendar};
//! let cal = Calendar::Working(WorkingCalendar::china_office());
//! let local = |d: i64, h: i64, m: i64| days_from_civil(2026, 12, d) * 86_400 + h * 3600 + m * 60 - 8 * 3600;
//! // Friday 2026-12-04 17:20 (+08:00) plus 30 working minutes: 10 on Friday, 20 on Monday.
//! assert_eq!(cal.add_minutes(local(4, 17, 20), 30), local(7, 8, 50));
//! ```
use serde::{Deserialize, Serialize};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Where the current time comes from. Injected, so tests run on a fake clock.
pub trait Clock: Send + Sync {
    /// Unix seconds, now.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock that says what it is told (tests).
#[derive(Debug, Default)]
pub struct FakeClock(pub std::sync::atomic::AtomicI64);

impl FakeClock {
    pub fn at(t: i64) -> Self {
        FakeClock(std::sync::atomic::AtomicI64::new(t))
    }
    pub fn set(&self, t: i64) {
        self.0.store(t, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Working days and hours at a fixed UTC offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingCalendar {
    /// Local time = UTC + `offset_s`.
    pub offset_s: i64,
    /// ISO weekdays that are working days (1 = Monday … 7 = Sunday).
    pub weekdays: Vec<u8>,
    /// Working periods of a day, seconds since local midnight `[start, end)`, sorted, disjoint.
    pub periods: Vec<(i64, i64)>,
}

impl WorkingCalendar {
    /// Monday–Friday, 08:30–12:00 and 13:30–17:30, at +08:00 (a Chinese government office).
    pub fn china_office() -> Self {
        WorkingCalendar {
            offset_s: 8 * 3600,
            weekdays: vec![1, 2, 3, 4, 5],
            periods: vec![
                (8 * 3600 + 1800, 12 * 3600),
                (13 * 3600 + 1800, 17 * 3600 + 1800),
            ],
        }
    }

    /// Working seconds of one working day.
    pub fn day_seconds(&self) -> i64 {
        self.periods.iter().map(|(a, b)| b - a).sum()
    }

    fn is_working_day(&self, day: i64) -> bool {
        self.weekdays.contains(&iso_weekday(day))
    }

    /// Whether the instant `t` lies in a working period.
    pub fn is_working(&self, t: i64) -> bool {
        let local = t + self.offset_s;
        let (day, s) = (local.div_euclid(DAY), local.rem_euclid(DAY));
        self.is_working_day(day) && self.periods.iter().any(|&(a, b)| a <= s && s < b)
    }

    /// `t` plus `secs` working seconds (`secs` > 0). A deadline that uses up a period exactly
    /// falls on the period's end (12:00, not 13:30).
    pub fn add_seconds(&self, t: i64, secs: i64) -> i64 {
        if secs <= 0 || self.day_seconds() <= 0 || self.weekdays.is_empty() {
            return t;
        }
        let local = t + self.offset_s;
        let (mut day, mut s) = (local.div_euclid(DAY), local.rem_euclid(DAY));
        let mut left = secs;
        // Skip whole weeks first, so a long deadline costs O(days in a week).
        let week = self.day_seconds() * self.weekdays.len() as i64;
        loop {
            if self.is_working_day(day) {
                for &(a, b) in &self.periods {
                    if s >= b {
                        continue;
                    }
                    let begin = s.max(a);
                    let avail = b - begin;
                    if left <= avail {
                        return day * DAY + begin + left - self.offset_s;
                    }
                    left -= avail;
                    s = b;
                }
            }
            day += 1;
            s = 0;
            if left > week {
                // From a midnight, a whole week holds exactly `week` working seconds.
                let weeks = (left - 1) / week;
                day += 7 * weeks;
                left -= week * weeks;
            }
        }
    }
}

/// ISO weekday (1 = Monday) of the day `day` days after 1970-01-01 (a Thursday).
pub fn iso_weekday(day: i64) -> u8 {
    // 1970-01-01 is a Thursday (4).
    ((day + 3).rem_euclid(7) + 1) as u8
}

/// How due times are counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Calendar {
    /// Every minute counts.
    Wall,
    Working(WorkingCalendar),
}

impl Calendar {
    /// `t` plus `minutes` minutes counted on this calendar.
    pub fn add_minutes(&self, t: i64, minutes: i64) -> i64 {
        match self {
            Calendar::Wall => t + minutes * 60,
            Calendar::Working(w) => w.add_seconds(t, minutes * 60),
        }
    }

    /// Minutes of a "day" on this calendar: 1440 on the wall, one working day's minutes else.
    pub fn day_minutes(&self) -> i64 {
        match self {
            Calendar::Wall => 1440,
            Calendar::Working(w) => w.day_seconds() / 60,
        }
    }
}

/// Parses `+08:00`, `-05:30`, `Z`/`UTC`, or `Asia/Shanghai` (= +08:00) into seconds.
pub fn parse_offset(s: &str) -> Result<i64, String> {
    let s = s.trim();
    match s {
        "Z" | "UTC" | "utc" => return Ok(0),
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "PRC" => return Ok(8 * 3600),
        _ => {}
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => {
            return Err(format!(
                "'{s}' is not a UTC offset (expected +HH:MM, Z or Asia/Shanghai)"
            ))
        }
    };
    let secs = parse_hhmm(rest).map_err(|e| format!("'{s}': {e}"))?;
    if secs > 14 * 3600 {
        return Err(format!("'{s}': an offset is at most 14:00"));
    }
    Ok(sign * secs)
}

/// `HH:MM` into seconds since midnight (`24:00` allowed as the end of a day).
pub fn parse_hhmm(s: &str) -> Result<i64, String> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| format!("'{s}' is not HH:MM"))?;
    let h: i64 = h.parse().map_err(|_| format!("'{s}': bad hour"))?;
    let m: i64 = m.parse().map_err(|_| format!("'{s}': bad minute"))?;
    if !(0..60).contains(&m) || !(0..=24).contains(&h) || (h == 24 && m != 0) {
        return Err(format!("'{s}' is not a time of day"));
    }
    Ok(h * 3600 + m * 60)
}

/// RFC 3339 UTC (`2026-12-04T09:20:00Z`) of unix seconds.
pub fn rfc3339_utc(t: i64) -> String {
    let (day, s) = (t.div_euclid(DAY), t.rem_euclid(DAY));
    let (y, mo, d) = civil_from_days(day);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// RFC 3339 at a fixed offset (Open311 wants local times with their offset).
pub fn rfc3339_at(t: i64, offset_s: i64) -> String {
    let local = t + offset_s;
    let (day, s) = (local.div_euclid(DAY), local.rem_euclid(DAY));
    let (y, mo, d) = civil_from_days(day);
    let sign = if offset_s < 0 { '-' } else { '+' };
    let o = offset_s.abs();
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        o / 3600,
        o / 60 % 60
    )
}

/// Parses RFC 3339 (`2026-12-04T09:20:00Z`, `…+08:00`, fractional seconds ignored) into unix seconds.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let bad = || format!("'{s}' is not an RFC 3339 time (e.g. 2026-12-04T09:20:00Z)");
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        s.get(r).and_then(|x| x.parse().ok()).ok_or_else(bad)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let off = parse_offset(rest).map_err(|_| bad())?;
    Ok(days_from_civil(y, mo, d) * DAY + h * 3600 + mi * 60 + se - off)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-12-04 (a Friday) 00:00 UTC.
    const FRI: i64 = 1_796_342_400;

    fn at(day: i64, h: i64, m: i64) -> i64 {
        // local +08:00 wall time on FRI + day
        FRI + day * DAY + h * 3600 + m * 60 - 8 * 3600
    }

    #[test]
    fn dates_and_weekdays() {
        assert_eq!(days_from_civil(2026, 12, 4) * DAY, FRI);
        assert_eq!(iso_weekday(FRI / DAY), 5);
        assert_eq!(civil_from_days(FRI / DAY), (2026, 12, 4));
        assert_eq!(
            rfc3339_utc(FRI + 9 * 3600 + 20 * 60),
            "2026-12-04T09:20:00Z"
        );
        assert_eq!(rfc3339_at(FRI, 8 * 3600), "2026-12-04T08:00:00+08:00");
        assert_eq!(parse_rfc3339("2026-12-04T08:00:00+08:00"), Ok(FRI));
        assert_eq!(parse_rfc3339("2026-12-04T00:00:00.123Z"), Ok(FRI));
        assert!(parse_rfc3339("yesterday").is_err());
        assert_eq!(parse_offset("Asia/Shanghai"), Ok(28_800));
        assert_eq!(parse_offset("-05:30"), Ok(-19_800));
        assert!(parse_offset("Europe/Paris").is_err());
    }

    #[test]
    fn working_minutes_skip_lunch_nights_and_weekends() {
        let cal = Calendar::Working(WorkingCalendar::china_office());
        // 11:50 + 30 min: 10 before lunch, 20 after 13:30.
        assert_eq!(cal.add_minutes(at(0, 11, 50), 30), at(0, 13, 50));
        // exactly using up the morning lands on 12:00
        assert_eq!(cal.add_minutes(at(0, 11, 30), 30), at(0, 12, 0));
        // Friday 17:20 + 30 min -> Monday 08:50
        assert_eq!(cal.add_minutes(at(0, 17, 20), 30), at(3, 8, 50));
        // reported on Saturday: counting starts Monday 08:30
        assert_eq!(cal.add_minutes(at(1, 10, 0), 10), at(3, 8, 40));
        // 4 h from Friday 15:00: 2.5 h Friday, 1.5 h Monday morning -> 10:00
        assert_eq!(cal.add_minutes(at(0, 15, 0), 240), at(3, 10, 0));
        // one working day (7.5 h) from Friday 09:00 -> Monday 09:00
        assert_eq!(cal.day_minutes(), 450);
        assert_eq!(cal.add_minutes(at(0, 9, 0), 450), at(3, 9, 0));
        assert_eq!(Calendar::Wall.add_minutes(at(0, 17, 20), 30), at(0, 17, 50));
    }

    /// The oracle: walk minute by minute, counting working minutes.
    fn brute(w: &WorkingCalendar, start: i64, minutes: i64) -> i64 {
        let (mut t, mut n) = (start, 0);
        while n < minutes {
            if w.is_working(t) {
                n += 1;
            }
            t += 60;
        }
        t
    }

    proptest! {
        #[test]
        fn working_time_agrees_with_minute_stepping(
            start_min in 0i64..(30 * 1440),
            minutes in 1i64..4000,
            offset_q in -4i64..=12,
            sat in any::<bool>(),
        ) {
            let mut w = WorkingCalendar::china_office();
            w.offset_s = offset_q * 3600;
            if sat {
                w.weekdays.push(6);
            }
            let start = FRI + start_min * 60;
            let fast = w.add_seconds(start, minutes * 60);
            prop_assert_eq!(fast, brute(&w, start, minutes));
        }
    }
}
