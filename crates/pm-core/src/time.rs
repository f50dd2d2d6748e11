//! Timestamps as Claude Code writes them: ISO-8601 UTC with milliseconds
//! (`2026-11-21T06:45:55.541Z`, JavaScript's `Date.prototype.toISOString`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC). Times before 1970 format as the epoch.
pub fn iso8601(time: SystemTime) -> String {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let secs = (millis / 1000) as i64;
    let ms = (millis % 1000) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Milliseconds since the Unix epoch (the content of `.orphaned_at` markers).
pub fn epoch_millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Parses a timestamp as [`iso8601`] writes it (`YYYY-MM-DDTHH:MM:SS[.fff]Z`, UTC; any number
/// of fraction digits, read to the millisecond). `None` for anything else, or a time before 1970.
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[b.len() - 1] != b'Z'
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let millis = match &text[19..text.len() - 1] {
        "" => 0,
        fraction => {
            let digits_part = fraction.strip_prefix('.')?;
            if digits_part.is_empty() || !digits_part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let padded: String = digits_part.chars().chain("000".chars()).take(3).collect();
            padded.parse::<u64>().ok()?
        }
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + std::time::Duration::from_millis(secs * 1000 + millis))
}

/// Howard Hinnant's civil-to-days algorithm (days since 1970-01-01).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_like_javascript() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_243_555_541);
        assert_eq!(iso8601(t), "2026-11-21T06:45:55.541Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn parses_what_it_formats() {
        for millis in [0u64, 951_782_400_000, 1_795_243_555_541, 4_102_444_799_999] {
            let t = UNIX_EPOCH + Duration::from_millis(millis);
            assert_eq!(parse_iso8601(&iso8601(t)), Some(t), "{millis}");
        }
        assert_eq!(
            parse_iso8601("2020-01-01T00:00:00Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_577_836_800))
        );
        assert_eq!(
            parse_iso8601("2026-11-21T06:45:55.5Z"),
            Some(UNIX_EPOCH + Duration::from_millis(1_795_243_555_500))
        );
        for bad in [
            "",
            "yesterday",
            "2026-11-21 06:45:55.541Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-21T06:45:55.Z",
            "1969-12-31T23:59:59.000Z",
            "2026-11-21T06:45:55.541",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
