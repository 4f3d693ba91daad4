//! Where and when a page was made, for the footers and run records of both apps: the CPU model
//! and the UTC date, without a date-time dependency.

/// The CPU model from /proc/cpuinfo and the number of cores this process may use.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores")
}

/// (year, month, day, hour, minute) in UTC of `secs` seconds after 1970-01-01 00:00 UTC
/// (Howard Hinnant's civil_from_days, the proleptic Gregorian calendar).
pub fn civil(secs: u64) -> (i64, i64, i64, u64, u64) {
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rest / 3600, (rest % 3600) / 60)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The current UTC time as "YYYY-MM-DD HH:MM UTC".
pub fn utc_now() -> String {
    let (y, m, d, hh, mm) = civil(now_secs());
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC")
}

/// Today's UTC date as "YYYY-MM-DD".
pub fn today() -> String {
    let (y, m, d, _, _) = civil(now_secs());
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn known_instants_give_their_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0));
        assert_eq!(civil(1_800_000_000), (2027, 1, 15, 8, 0));
    }
}
