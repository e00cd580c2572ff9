//! Flamegraphs and differential flamegraphs from folded stacks, with inferno. Pure: text in, SVG out.

/// What the counts of folded stacks from `tool` (a cell's `profile.tool`) measure: perf's folded
/// counts are sample periods (ns of CPU for its cpu-clock event), pprof's are samples.
pub fn count_name(tool: &str) -> &'static str {
    match tool {
        "pprof" => "samples",
        _ => "ns of CPU (perf sample periods)",
    }
}

/// A flamegraph SVG of folded stacks whose counts measure `count_name`.
pub fn flamegraph(folded: &str, title: &str, count_name: &str) -> Result<String, String> {
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    opts.count_name = count_name.into();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opts, folded.lines(), &mut svg)
        .map_err(|e| e.to_string())?;
    String::from_utf8(svg).map_err(|e| e.to_string())
}

/// Differential folded stacks (`stack before after`), counts normalized so the two totals match.
pub fn diff_folded(before: &str, after: &str) -> Result<String, String> {
    let opts = inferno::differential::Options {
        normalize: true,
        ..Default::default()
    };
    let mut out = Vec::new();
    inferno::differential::from_readers(opts, before.as_bytes(), after.as_bytes(), &mut out)
        .map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// A differential flamegraph: `after`'s shape, coloured by the change from `before`.
pub fn differential(before: &str, after: &str, title: &str) -> Result<String, String> {
    flamegraph(&diff_folded(before, after)?, title, "normalized counts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_diffed_with_itself_is_neutral() {
        let folded = "main;run;work 30\nmain;run;idle 10\nmain;poll 5\n";
        let diff = diff_folded(folded, folded).unwrap();
        assert_eq!(diff.lines().count(), 3);
        for line in diff.lines() {
            let f: Vec<&str> = line.rsplitn(3, ' ').collect();
            assert_eq!(f[0], f[1], "{line}: before and after differ");
        }
        let svg = differential(folded, folded, "self").unwrap();
        assert!(svg.contains("<svg") && svg.contains("work"));
    }

    #[test]
    fn a_changed_profile_shows_the_change() {
        let diff = diff_folded("main;a 10\nmain;b 10\n", "main;a 10\nmain;b 30\n").unwrap();
        assert!(
            diff.lines()
                .any(|l| l.starts_with("main;b ") && l.split(' ').nth(1) != l.split(' ').nth(2)),
            "{diff}"
        );
    }
}
