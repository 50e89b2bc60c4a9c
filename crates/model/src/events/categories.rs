//! Event categories as data: `data/event_categories.toml` (embedded; a planner may load their
//! own file of the same shape). Each category names its department, its deadline class and the
//! calendar the deadline is counted on.
use super::calendar::{parse_hhmm, parse_offset, Calendar, WorkingCalendar};
use super::Due;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The embedded default categories (`data/event_categories.toml`).
pub const DEFAULT_EVENT_CATEGORIES_TOML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/event_categories.toml"
));

/// A category file that does not parse or names something it does not define.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}: {field}: {reason}")]
pub struct CategoryError {
    pub origin: String,
    /// The offending field, e.g. `category[3].class` or `calendar.working.periods[1]`.
    pub field: String,
    pub reason: String,
}

/// One reportable kind of problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventCategory {
    /// Used in the API and as the Open311 `service_code`.
    pub code: String,
    pub zh: String,
    pub en: String,
    /// The responsible department (its code).
    pub department: String,
    /// The deadline class of settling it (`ordinary`, `complex`, `special`, …).
    pub class: String,
    /// `wall` or a calendar defined in the file.
    #[serde(default = "wall")]
    pub calendar: String,
    /// Open311 `group` (defaults to the department).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

fn wall() -> String {
    "wall".into()
}

/// A deadline class: a duration in minutes, or in days of its calendar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadlineClass {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    offset: String,
    weekdays: Vec<u8>,
    periods: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default = "arrival")]
    arrival_class: String,
    #[serde(default)]
    class: BTreeMap<String, DeadlineClass>,
    #[serde(default)]
    calendar: BTreeMap<String, RawCalendar>,
    #[serde(default)]
    category: Vec<EventCategory>,
}

fn arrival() -> String {
    "arrival".into()
}

/// The categories, classes and calendars of one file, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct EventCategories {
    /// The class of the arrival stage (10 minutes by the 1341 rule).
    pub arrival_class: String,
    pub classes: BTreeMap<String, DeadlineClass>,
    /// Named calendars; `wall` is always there.
    pub calendars: BTreeMap<String, Calendar>,
    /// In file order.
    pub categories: Vec<EventCategory>,
}

impl Default for EventCategories {
    /// The embedded file (tested to parse).
    #[allow(clippy::panic, reason = "the embedded file is parsed by a unit test")]
    fn default() -> Self {
        Self::from_toml_str(DEFAULT_EVENT_CATEGORIES_TOML, "data/event_categories.toml")
            .unwrap_or_else(|e| panic!("the embedded event categories do not parse: {e}"))
    }
}

impl EventCategories {
    /// Parses and checks a category file; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, CategoryError> {
        let err = |field: String, reason: String| CategoryError {
            origin: origin.to_owned(),
            field,
            reason,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            err(
                e.span()
                    .map_or_else(|| "file".into(), |s| format!("bytes {s:?}")),
                e.message().to_owned(),
            )
        })?;
        for (name, c) in &raw.class {
            let f = format!("class.{name}");
            match (c.minutes, c.days) {
                (Some(m), None) if m > 0 => {}
                (None, Some(d)) if d > 0 => {}
                (Some(_), Some(_)) => return Err(err(f, "give minutes or days, not both".into())),
                (None, None) => return Err(err(f, "needs minutes = N or days = N".into())),
                _ => return Err(err(f, "must be positive".into())),
            }
        }
        let mut calendars = BTreeMap::from([("wall".to_owned(), Calendar::Wall)]);
        for (name, c) in raw.calendar {
            let f = format!("calendar.{name}");
            if name == "wall" {
                return Err(err(f, "'wall' is built in and cannot be redefined".into()));
            }
            let offset_s = parse_offset(&c.offset).map_err(|e| err(format!("{f}.offset"), e))?;
            if c.weekdays.is_empty() || c.weekdays.iter().any(|d| !(1..=7).contains(d)) {
                return Err(err(
                    format!("{f}.weekdays"),
                    "needs weekdays 1 (Monday) … 7 (Sunday)".into(),
                ));
            }
            let mut periods = Vec::new();
            for (i, p) in c.periods.iter().enumerate() {
                let pf = format!("{f}.periods[{i}]");
                let (a, b) = p
                    .split_once('-')
                    .ok_or_else(|| err(pf.clone(), format!("'{p}' is not HH:MM-HH:MM")))?;
                let a = parse_hhmm(a.trim()).map_err(|e| err(pf.clone(), e))?;
                let b = parse_hhmm(b.trim()).map_err(|e| err(pf.clone(), e))?;
                if a >= b {
                    return Err(err(pf, format!("'{p}' ends before it starts")));
                }
                if periods.last().is_some_and(|&(_, pb)| a < pb) {
                    return Err(err(
                        pf,
                        format!("'{p}' overlaps or precedes the period before"),
                    ));
                }
                periods.push((a, b));
            }
            if periods.is_empty() {
                return Err(err(
                    format!("{f}.periods"),
                    "needs at least one period".into(),
                ));
            }
            calendars.insert(
                name,
                Calendar::Working(WorkingCalendar {
                    offset_s,
                    weekdays: c.weekdays,
                    periods,
                }),
            );
        }
        if !raw.class.contains_key(&raw.arrival_class) {
            return Err(err(
                "arrival_class".into(),
                format!("names no class: '{}'", raw.arrival_class),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in raw.category.iter().enumerate() {
            let f = |x: &str| format!("category[{i}].{x}");
            if c.code.is_empty()
                || !c
                    .code
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
            {
                return Err(err(
                    f("code"),
                    format!("'{}' is not a code ([A-Za-z0-9_-]+)", c.code),
                ));
            }
            if !seen.insert(c.code.clone()) {
                return Err(err(f("code"), format!("duplicate code '{}'", c.code)));
            }
            if !raw.class.contains_key(&c.class) {
                return Err(err(f("class"), format!("names no class: '{}'", c.class)));
            }
            if !calendars.contains_key(&c.calendar) {
                return Err(err(
                    f("calendar"),
                    format!("names no calendar: '{}'", c.calendar),
                ));
            }
            if c.department.is_empty() {
                return Err(err(f("department"), "is empty".into()));
            }
        }
        if raw.category.is_empty() {
            return Err(err("category".into(), "no [[category]] defined".into()));
        }
        Ok(EventCategories {
            arrival_class: raw.arrival_class,
            classes: raw.class,
            calendars,
            categories: raw.category,
        })
    }

    pub fn get(&self, code: &str) -> Option<&EventCategory> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// Every category code, comma separated (for error messages).
    pub fn codes(&self) -> String {
        self.categories
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Minutes of a class on a calendar (`days` × the calendar's day).
    fn class_minutes(&self, class: &str, cal: &Calendar) -> i64 {
        match self.classes.get(class) {
            Some(DeadlineClass {
                minutes: Some(m), ..
            }) => *m,
            Some(DeadlineClass { days: Some(d), .. }) => d * cal.day_minutes(),
            _ => 0,
        }
    }

    /// The calendar of a category (wall when unknown).
    pub fn calendar_of(&self, cat: &EventCategory) -> &Calendar {
        self.calendars.get(&cat.calendar).unwrap_or(&Calendar::Wall)
    }

    /// The due times of an event of `cat` whose clock starts at `start` (unix seconds): arrival
    /// by the arrival class, resolution by the category's class, both on its calendar.
    pub fn due(&self, cat: &EventCategory, start: i64) -> Due {
        let cal = self.calendar_of(cat);
        Due {
            arrive: Some(cal.add_minutes(start, self.class_minutes(&self.arrival_class, cal))),
            resolve: Some(cal.add_minutes(start, self.class_minutes(&cat.class, cal))),
        }
    }

    /// The deadline of a category in minutes of its calendar (for Open311 descriptions).
    pub fn resolve_minutes(&self, cat: &EventCategory) -> i64 {
        self.class_minutes(&cat.class, self.calendar_of(cat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_holds_the_1341_classes() {
        let c = EventCategories::default();
        let m = |k: &str| c.classes[k].minutes;
        assert_eq!(
            (m("arrival"), m("ordinary"), m("complex")),
            (Some(10), Some(30), Some(240))
        );
        assert_eq!(c.classes["special"].days, Some(1));
        assert!(c.categories.len() >= 5);
        let road = c.get("road_damage").unwrap();
        assert_eq!(road.department, "housing_construction");
        assert!(matches!(c.calendar_of(road), Calendar::Working(_)));
        // the embedded calendar is the china office one
        assert_eq!(
            c.calendars["working"],
            Calendar::Working(WorkingCalendar::china_office())
        );
    }

    #[test]
    fn due_times_follow_class_and_calendar() {
        let c = EventCategories::default();
        // Friday 2026-12-04 17:00 +08:00
        let t = super::super::calendar::days_from_civil(2026, 12, 4) * 86_400 + 9 * 3600;
        let d = c.due(c.get("sanitation").unwrap(), t);
        assert_eq!((d.arrive, d.resolve), (Some(t + 600), Some(t + 1800)));
        let d = c.due(c.get("illegal_construction").unwrap(), t);
        // 10 working minutes: Friday 17:10; one working day (450 min): 30 min on Friday,
        // 210 on Monday morning, 210 from 13:30 -> Monday 17:00.
        assert_eq!(d.arrive, Some(t + 600));
        assert_eq!(d.resolve, Some(t + 3 * 86_400));
    }

    #[test]
    fn errors_name_the_field() {
        let base = "[class.arrival]\nminutes = 10\n";
        let e = EventCategories::from_toml_str(
            &format!(
                "{base}[[category]]\ncode='a'\nzh='甲'\nen='A'\ndepartment='d'\nclass='nope'\n"
            ),
            "f.toml",
        )
        .unwrap_err();
        assert_eq!(e.field, "category[0].class");
        assert!(
            e.to_string().contains("f.toml") && e.to_string().contains("nope"),
            "{e}"
        );
        let e = EventCategories::from_toml_str(
            &format!("{base}[calendar.w]\noffset='+08:00'\nweekdays=[1]\nperiods=['12:00-09:00']\n[[category]]\ncode='a'\nzh='甲'\nen='A'\ndepartment='d'\nclass='arrival'\n"),
            "f.toml",
        )
        .unwrap_err();
        assert_eq!(e.field, "calendar.w.periods[0]");
        let e = EventCategories::from_toml_str(
            &format!("{base}[calendar.w]\noffset='Mars/Olympus'\nweekdays=[1]\nperiods=['08:00-09:00']\n"),
            "f.toml",
        )
        .unwrap_err();
        assert_eq!(e.field, "calendar.w.offset");
    }
}
