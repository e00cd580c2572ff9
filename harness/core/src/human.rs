//! Numbers for humans: SI-prefixed rates and latencies in their most readable unit.

/// `1.235M`, `456k`, `12`.
pub fn si(v: f64) -> String {
    if v < 0.0 {
        return format!("-{}", si(-v));
    }
    let (d, s) = if v >= 1e9 {
        (1e9, "G")
    } else if v >= 1e6 {
        (1e6, "M")
    } else if v >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let n = format!("{:.3}", v / d);
    format!("{}{s}", n.trim_end_matches('0').trim_end_matches('.'))
}

/// Operations per CPU-second, or what stands in its place when the window used no measurable CPU
/// time (`cpu_s` = user + system: a process that only waited, whose ratio would read as 0).
///
/// ```
/// assert_eq!(dyno_core::human::per_cpu_second(1500.0, 0.5), "1.5k");
/// assert_eq!(dyno_core::human::per_cpu_second(0.0, 0.0), "no CPU time");
/// ```
pub fn per_cpu_second(ops_per_cpu_s: f64, cpu_s: f64) -> String {
    if cpu_s > 0.0 {
        si(ops_per_cpu_s)
    } else {
        "no CPU time".into()
    }
}

/// A latency in nanoseconds, in the most readable unit.
pub fn ns(v: u64) -> String {
    let v = v as f64;
    if v >= 1e9 {
        format!("{:.2} s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} µs", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

/// Bytes in binary units.
pub fn bytes(v: u64) -> String {
    let v = v as f64;
    if v >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", v / (1024.0 * 1024.0 * 1024.0))
    } else if v >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", v / (1024.0 * 1024.0))
    } else if v >= 1024.0 {
        format!("{:.1} KiB", v / 1024.0)
    } else {
        format!("{v:.0} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(si(1_234_567.0), "1.235M");
        assert_eq!(si(456_000.0), "456k");
        assert_eq!(si(12.0), "12");
        assert_eq!(si(-2500.0), "-2.5k");
        assert_eq!(ns(1_500), "1.5 µs");
        assert_eq!(ns(2_500_000), "2.50 ms");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
