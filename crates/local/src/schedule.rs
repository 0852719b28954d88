//! Rotation schedules: `AutomaticallyAfterDays`, `rate()`, `cron()` and the `Duration` window.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// `RotationRules` as the API carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRules {
    /// Days between rotations (1 to 1000), the older form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatically_after_days: Option<i64>,
    /// The rotation window's length, `Nh` (1 to 24 hours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// `rate(N hours|days)` or `cron(...)`, in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every fixed interval after the last rotation.
    Every(Duration),
    /// At the times a cron expression names.
    Cron(Box<cron::Schedule>),
}

impl Schedule {
    /// Validates rules as Secrets Manager does; errors are `InvalidParameterException`s with AWS's wording.
    pub fn from_rules(rules: &RotationRules) -> Result<Self, Error> {
        if let Some(duration) = &rules.duration {
            parse_window(duration)?;
        }
        match (rules.automatically_after_days, rules.schedule_expression.as_deref()) {
            (Some(_), Some(_)) => Err(Error::invalid_parameter(
                "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.",
            )),
            (Some(days), None) if (1..=1000).contains(&days) => Ok(Self::Every(Duration::days(days))),
            (Some(_), None) => Err(Error::invalid_parameter("AutomaticallyAfterDays must be a value from 1 to 1000.")),
            (None, Some(expression)) => parse_expression(expression),
            (None, None) => Err(Error::invalid_parameter(
                "RotationRules must specify AutomaticallyAfterDays or ScheduleExpression.",
            )),
        }
    }

    /// When the next rotation window opens after `since` (the last rotation, or when rotation was configured).
    /// The local endpoint rotates at the window's start.
    pub fn next_after(&self, since: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every(interval) => Some(since + *interval),
            Self::Cron(schedule) => schedule.after(&since).next(),
        }
    }
}

fn parse_expression(expression: &str) -> Result<Schedule, Error> {
    let invalid = |why: &str| Error::invalid_parameter(format!("Invalid ScheduleExpression {expression:?}: {why}"));
    if let Some(body) = expression.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = body.split_whitespace();
        let (Some(count), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid("expected rate(N hours) or rate(N days)"));
        };
        let count: i64 = count.parse().map_err(|_| invalid("the rate is not a whole number"))?;
        return match unit {
            "hour" | "hours" if (4..=1000 * 24).contains(&count) => Ok(Schedule::Every(Duration::hours(count))),
            "hour" | "hours" => Err(invalid("a rate in hours must be at least 4 hours")),
            "day" | "days" if (1..=1000).contains(&count) => Ok(Schedule::Every(Duration::days(count))),
            "day" | "days" => Err(invalid("a rate in days must be from 1 to 1000")),
            _ => Err(invalid("the unit must be hours or days")),
        };
    }
    if let Some(body) = expression.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        let fields: Vec<&str> = body.split_whitespace().collect();
        if fields.len() != 6 {
            return Err(invalid("cron() takes six fields: minutes hours day-of-month month day-of-week year"));
        }
        // AWS's cron has no seconds field; the `cron` crate's has. Both number days of the week 1 (SUN) to 7.
        let with_seconds = format!("0 {}", fields.join(" "));
        let schedule = cron::Schedule::from_str(&with_seconds).map_err(|e| invalid(&e.to_string()))?;
        return Ok(Schedule::Cron(Box::new(schedule)));
    }
    Err(invalid("expected rate(...) or cron(...)"))
}

/// Parses the `Duration` window, `1h` to `24h`.
pub fn parse_window(window: &str) -> Result<Duration, Error> {
    window
        .strip_suffix('h')
        .and_then(|hours| hours.parse::<i64>().ok())
        .filter(|hours| (1..=24).contains(hours))
        .map(Duration::hours)
        .ok_or_else(|| Error::invalid_parameter(format!("Invalid Duration {window:?}: expected 1h to 24h.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules(days: Option<i64>, expression: Option<&str>, window: Option<&str>) -> RotationRules {
        RotationRules {
            automatically_after_days: days,
            schedule_expression: expression.map(str::to_owned),
            duration: window.map(str::to_owned),
        }
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn intervals() {
        let start = at(2026, 1, 1, 10, 0);
        let next = |r: RotationRules| Schedule::from_rules(&r).unwrap().next_after(start).unwrap();
        assert_eq!(next(rules(Some(30), None, None)), at(2026, 1, 31, 10, 0));
        assert_eq!(next(rules(None, Some("rate(4 hours)"), Some("2h"))), at(2026, 1, 1, 14, 0));
        assert_eq!(next(rules(None, Some("rate(1 day)"), None)), at(2026, 1, 2, 10, 0));
    }

    #[test]
    fn cron_uses_aws_fields() {
        // 08:30 UTC on the first Monday... every day of the week 2 (MON) of every month.
        let schedule = Schedule::from_rules(&rules(None, Some("cron(30 8 ? * 2 *)"), Some("3h"))).unwrap();
        let next = schedule.next_after(at(2026, 11, 23, 9, 0)).unwrap(); // a Monday, after 08:30
        assert_eq!(next, at(2026, 11, 30, 8, 30));
        let daily = Schedule::from_rules(&rules(None, Some("cron(0 4 * * ? *)"), None)).unwrap();
        assert_eq!(daily.next_after(at(2026, 1, 1, 5, 0)).unwrap(), at(2026, 1, 2, 4, 0));
    }

    #[test]
    fn invalid_rules_are_refused_with_the_reason() {
        for (r, expect) in [
            (rules(Some(1), Some("rate(1 day)"), None), "both AutomaticallyAfterDays and ScheduleExpression"),
            (rules(Some(0), None, None), "from 1 to 1000"),
            (rules(None, Some("rate(3 hours)"), None), "at least 4 hours"),
            (rules(None, Some("rate(2 weeks)"), None), "hours or days"),
            (rules(None, Some("cron(0 4 * *)"), None), "six fields"),
            (rules(None, Some("every day"), None), "expected rate(...) or cron(...)"),
            (rules(None, Some("rate(1 day)"), Some("25h")), "Invalid Duration"),
            (rules(None, None, None), "must specify"),
        ] {
            let error = Schedule::from_rules(&r).unwrap_err();
            assert_eq!(error.code(), "InvalidParameterException");
            assert!(error.message.contains(expect), "{r:?}: {}", error.message);
        }
    }
}
