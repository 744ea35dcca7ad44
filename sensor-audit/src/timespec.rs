//! Points in time given on the command line: RFC 3339, a date, or relative
//! to now (`7d`, `24h`, `30m`, `90s`, `2w`).

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

use crate::error::Error;

/// Parses `s` as RFC 3339 (`2026-01-02T03:04:05Z`), a date (`2026-01-02`,
/// midnight UTC) or an age (`7d` = seven days before `now`).
pub fn parse_time(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, Error> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &date_format) {
        return Ok(d.with_time(Time::MIDNIGHT).assume_utc());
    }
    let split = s.len().saturating_sub(1);
    if s.is_char_boundary(split) {
        let (n, unit) = s.split_at(split);
        if let Ok(n) = n.parse::<i64>() {
            let age = match unit {
                "s" => Some(Duration::seconds(n)),
                "m" => Some(Duration::minutes(n)),
                "h" => Some(Duration::hours(n)),
                "d" => Some(Duration::days(n)),
                "w" => Some(Duration::weeks(n)),
                _ => None,
            };
            if let Some(age) = age {
                return Ok(now - age);
            }
        }
    }
    Err(Error::invalid(format!(
        "not a time: {s:?} (use RFC 3339, YYYY-MM-DD, or an age like 7d, 24h, 30m)"
    )))
}

/// Microseconds since the Unix epoch: how times are stored.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day number (days since 1970-01-01) of a time in microseconds.
pub fn day_of(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// The instant `micros` microseconds after the Unix epoch.
pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn forms() {
        let now = datetime!(2026-05-10 12:00 UTC);
        let cases = [
            ("2026-01-02T03:04:05Z", datetime!(2026-01-02 03:04:05 UTC)),
            (
                "2026-01-02T05:04:05+02:00",
                datetime!(2026-01-02 03:04:05 UTC),
            ),
            ("2026-01-02", datetime!(2026-01-02 00:00 UTC)),
            ("7d", datetime!(2026-05-03 12:00 UTC)),
            ("24h", datetime!(2026-05-09 12:00 UTC)),
            ("30m", datetime!(2026-05-10 11:30 UTC)),
            ("2w", datetime!(2026-04-26 12:00 UTC)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_time(s, now).unwrap(), want, "{s}");
        }
        for bad in ["", "7x", "yesterday", "2026-13-01", "é"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn micros_round_trip() {
        let t = datetime!(2026-01-02 03:04:05.123456 UTC);
        assert_eq!(from_micros(to_micros(t)), t);
    }
}
