//! Command-line values every dyno binary parses the same way: durations and core lists, with errors that
//! say what is accepted.

/// A command-line value that is not accepted, with what is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BadValue {
    #[error("{0:?} is not a duration; accepted: seconds like 3, 0.5, 2s, 500ms, 45m or 1h")]
    NotADuration(String),
    #[error("{0:?} is not a duration; accepted: a non-negative number of seconds")]
    NegativeDuration(String),
    #[error("{0:?} must be greater than zero")]
    NotPositive(String),
    #[error("{0:?} is not a percentage; accepted: a number above 0 and below 100, like 5 or 2.5%")]
    NotAPercentage(String),
    #[error("{0:?} is out of range; accepted: a percentage above 0 and below 100")]
    PercentageOutOfRange(String),
    #[error("{0:?} is not a core list; accepted: comma-separated ids or ranges, e.g. 0,1 or 0-3")]
    NotACoreList(String),
    #[error("{0:?} names a core twice")]
    CoreTwice(String),
}

impl From<BadValue> for String {
    fn from(e: BadValue) -> String {
        e.to_string()
    }
}

/// A duration in seconds, 0 allowed: `3`, `0.5`, `2s`, `500ms`, `45m`, `1h`.
pub fn parse_seconds_or_zero(s: &str) -> Result<f64, BadValue> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| BadValue::NotADuration(s.into()))?;
    let v = v * scale;
    if !v.is_finite() || v < 0.0 {
        return Err(BadValue::NegativeDuration(s.into()));
    }
    Ok(v)
}

/// A percentage above 0 and below 100, written `5` or `5%`; returned as the number (5.0).
pub fn parse_percent(s: &str) -> Result<f64, BadValue> {
    let t = s.trim();
    let v: f64 = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse()
        .map_err(|_| BadValue::NotAPercentage(s.into()))?;
    if !(v > 0.0 && v < 100.0) {
        return Err(BadValue::PercentageOutOfRange(s.into()));
    }
    Ok(v)
}

/// A duration in seconds above zero, written as for [`parse_seconds_or_zero`].
pub fn parse_seconds(s: &str) -> Result<f64, BadValue> {
    let v = parse_seconds_or_zero(s)?;
    if v <= 0.0 {
        return Err(BadValue::NotPositive(s.into()));
    }
    Ok(v)
}

/// A list of logical CPU ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreList(pub Vec<usize>);

/// A core list: comma-separated ids or ranges, each core once.
pub fn parse_cores(s: &str) -> Result<CoreList, BadValue> {
    let bad = || BadValue::NotACoreList(s.into());
    let mut cores = Vec::new();
    for part in s.split(',') {
        match part.trim().split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                cores.extend(a..=b);
            }
            None => cores.push(part.trim().parse().map_err(|_| bad())?),
        }
    }
    let mut seen = cores.clone();
    seen.sort();
    seen.dedup();
    if seen.len() != cores.len() {
        return Err(BadValue::CoreTwice(s.into()));
    }
    Ok(CoreList(cores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_reject_nonsense() {
        assert_eq!(parse_seconds("3").unwrap(), 3.0);
        assert_eq!(parse_seconds("500ms").unwrap(), 0.5);
        assert_eq!(parse_seconds("2s").unwrap(), 2.0);
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("abc").is_err());
        assert!(parse_seconds("nan").is_err());
        assert_eq!(parse_seconds_or_zero("0").unwrap(), 0.0);
        assert_eq!(parse_seconds("45m").unwrap(), 2700.0);
        assert_eq!(parse_seconds("1h").unwrap(), 3600.0);
        assert!(parse_seconds("m").is_err());
    }

    #[test]
    fn percentages_are_between_0_and_100() {
        assert_eq!(parse_percent("5").unwrap(), 5.0);
        assert_eq!(parse_percent("2.5%").unwrap(), 2.5);
        for bad in ["0", "100", "-3", "x", "nan", ""] {
            let e = parse_percent(bad).unwrap_err().to_string();
            assert!(e.contains("accepted"), "{e}");
        }
    }

    #[test]
    fn core_lists_parse_ranges_and_reject_duplicates() {
        assert_eq!(parse_cores("0,1").unwrap().0, vec![0, 1]);
        assert_eq!(parse_cores("0-3").unwrap().0, vec![0, 1, 2, 3]);
        assert!(parse_cores("1,1").is_err());
        assert!(parse_cores("3-1").is_err());
        assert!(parse_cores("x").is_err());
        assert!(parse_cores("").is_err());
    }
}
