//! Strict RFC 3339 UTC timestamps of the one form idOS accepts in delegated write grants:
//! `YYYY-MM-DDTHH:MM:SSZ` (no fraction, no offset other than `Z`).

use crate::error::{Error, Field, Result};

/// Unix seconds of a strict `YYYY-MM-DDTHH:MM:SSZ` timestamp.
pub fn parse_rfc3339(field: Field, text: &str) -> Result<i64> {
    let bad = || Error::InvalidTimestamp {
        field,
        value: text.chars().take(40).collect(),
    };
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64> {
        let digits = &b[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(digits
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The strict `YYYY-MM-DDTHH:MM:SSZ` form of unix seconds (years 0000 to 9999).
pub fn format_rfc3339(unix_seconds: i64) -> Option<String> {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        (secs % 3_600) / 60,
        secs % 60
    ))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        assert_eq!(parse_rfc3339("t", "1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_rfc3339("t", "2000-02-29T12:34:56Z").unwrap(),
            951_827_696
        );
        assert_eq!(
            parse_rfc3339("t", "2026-11-24T00:00:00Z").unwrap(),
            1_795_478_400
        );
        assert_eq!(parse_rfc3339("t", "1969-12-31T23:59:59Z").unwrap(), -1);
        assert_eq!(format_rfc3339(951_827_696).unwrap(), "2000-02-29T12:34:56Z");
    }

    #[test]
    fn fail_other_forms() {
        for bad in [
            "",
            "2026-11-24",
            "2026-11-24T00:00:00",
            "2026-11-24T00:00:00.000Z",
            "2026-11-24T00:00:00+00:00",
            "2026-11-24t00:00:00z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T00:60:00Z",
            "2026-11-24T00:00:60Z",
            "2026-11-00T00:00:00Z",
            "+026-11-24T00:00:00Z",
            "2026-1a-24T00:00:00Z",
        ] {
            assert_eq!(
                parse_rfc3339("t", bad).unwrap_err().code(),
                "invalid_timestamp",
                "{bad}"
            );
        }
    }

    #[test]
    fn fail_each_separator_alone() {
        let good = "2026-11-24T08:09:10Z";
        assert!(parse_rfc3339("t", good).is_ok());
        for (position, _) in good.char_indices().filter(|(_, c)| !c.is_ascii_digit()) {
            let mut bad = good.as_bytes().to_vec();
            bad[position] = b'x';
            let bad = String::from_utf8(bad).unwrap();
            assert_eq!(
                parse_rfc3339("t", &bad).unwrap_err().code(),
                "invalid_timestamp",
                "{bad}"
            );
        }
    }

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        for (date, ok) in [
            ("2000-02-29T00:00:00Z", true),  // divisible by 400
            ("2400-02-29T00:00:00Z", true),  // divisible by 400
            ("2024-02-29T00:00:00Z", true),  // divisible by 4
            ("1900-02-29T00:00:00Z", false), // by 100, not 400
            ("2100-02-29T00:00:00Z", false), // by 100, not 400
            ("2023-02-29T00:00:00Z", false), // not by 4
        ] {
            assert_eq!(parse_rfc3339("t", date).is_ok(), ok, "{date}");
        }
    }

    #[test]
    fn every_day_of_years_0000_to_9999_converts_both_ways() {
        // Exhaustive: the calendar arithmetic has century and 400-year boundaries that a
        // random sample almost never hits.
        let first = days_from_civil(0, 1, 1);
        let last = days_from_civil(9999, 12, 31);
        let mut previous = (-1, 12, 31);
        for days in first..=last {
            let (year, month, day) = civil_from_days(days);
            let expected_next = if previous.2 < days_in_month(previous.0, previous.1) {
                (previous.0, previous.1, previous.2 + 1)
            } else if previous.1 < 12 {
                (previous.0, previous.1 + 1, 1)
            } else {
                (previous.0 + 1, 1, 1)
            };
            assert_eq!((year, month, day), expected_next, "day {days}");
            assert_eq!(days_from_civil(year, month, day), days);
            previous = (year, month, day);
        }
        assert_eq!(previous, (9999, 12, 31));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(secs in -62_167_219_200i64..253_402_300_799) {
            let text = format_rfc3339(secs).unwrap();
            prop_assert_eq!(parse_rfc3339("t", &text).unwrap(), secs);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,30}") {
            let _ = parse_rfc3339("t", &text);
        }
    }
}
