//! The workload's reference bench (`references/<workload>.json`, written by `cargo xtask bench`): its
//! findings, or why it was skipped.

use super::{Out, Part, Section};
use dyno_core::rundir::{Finding, ReferenceDoc};
use std::fmt::Write;

/// "Reference tools": the bench's paragraphs and tables.
pub struct References;

impl Section for References {
    fn render(&self, part: &Part<'_>, out: &mut Out) {
        let w = part.workload;
        let s = &mut out.md;
        match part.run.references.get(w) {
            None => {}
            Some(Err(e)) => {
                let _ = write!(s, "## Reference tools\n\n{e}\n\n");
            }
            Some(Ok(doc)) => {
                if let Some(why) = &doc.skipped {
                    let _ = write!(s, "## Reference tools\n\nSkipped: {why}.\n\n");
                } else if let Some(body) = findings_markdown(doc) {
                    let _ = write!(
                        s,
                        "## Reference tools\n\nFrom `references/{w}.json` (commit {}).\n\n{body}\n",
                        doc.commit.as_deref().unwrap_or("unknown")
                    );
                }
            }
        }
    }
}

/// The findings as markdown; a result from before typed findings gives the markdown it wrote.
fn findings_markdown(doc: &ReferenceDoc) -> Option<String> {
    if doc.findings.is_empty() {
        return doc.markdown.clone();
    }
    Some(doc.findings.iter().map(finding_markdown).collect())
}

/// A paragraph, or a table with its figure columns right-aligned.
fn finding_markdown(f: &Finding) -> String {
    match f {
        Finding::Text { text } => format!("{text}\n\n"),
        Finding::Table { columns, rows } => {
            let line = |cells: &[String]| {
                let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
                format!("| {} |\n", cells.join(" | "))
            };
            let rule: Vec<&str> = (0..columns.len())
                .map(|i| if i == 0 { "---" } else { "---:" })
                .collect();
            let mut s = line(columns);
            s.push_str(&format!("|{}|\n", rule.join("|")));
            for r in rows {
                s.push_str(&line(r));
            }
            s.push('\n');
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sections::fixture;

    /// The section for the fixture's workload given its reference doc, with the workload's name as `W`.
    fn render(doc: Option<Result<ReferenceDoc, String>>) -> String {
        let mut run = fixture::run();
        let w = fixture::workload(&run).to_string();
        if let Some(d) = doc {
            run.references.insert(w.clone(), d);
        }
        let part = super::super::Part::new(&run, &w, run.cells.iter().collect());
        fixture::render(&References, &part).md.replace(&w, "W")
    }

    #[test]
    fn typed_findings_render_as_paragraphs_and_tables() {
        let doc = ReferenceDoc {
            benchmark: "test-reference".into(),
            commit: Some("abc123".into()),
            findings: vec![
                Finding::text("**ours / theirs: 1.02**"),
                Finding::Table {
                    columns: vec!["server".into(), "req/s".into()],
                    rows: vec![
                        vec!["a|b".into(), "100".into()],
                        vec!["c".into(), "200".into()],
                    ],
                },
            ],
            ..Default::default()
        };
        assert_eq!(
            render(Some(Ok(doc))),
            "## Reference tools\n\nFrom `references/W.json` (commit abc123).\n\n\
             **ours / theirs: 1.02**\n\n\
             | server | req/s |\n|---|---:|\n| a\\|b | 100 |\n| c | 200 |\n\n\n"
        );
    }

    #[test]
    fn legacy_markdown_is_shown_as_written() {
        let doc = ReferenceDoc {
            markdown: Some("old *findings*\n".into()),
            ..Default::default()
        };
        let md = render(Some(Ok(doc)));
        assert!(
            md.ends_with("(commit unknown).\n\nold *findings*\n\n"),
            "{md}"
        );
    }

    #[test]
    fn skipped_unreadable_and_absent_benches() {
        let skipped = ReferenceDoc {
            skipped: Some("needs 2 cores".into()),
            ..Default::default()
        };
        assert_eq!(
            render(Some(Ok(skipped))),
            "## Reference tools\n\nSkipped: needs 2 cores.\n\n"
        );
        assert_eq!(
            render(Some(Err("`references/W.json` is unreadable".into()))),
            "## Reference tools\n\n`references/W.json` is unreadable\n\n"
        );
        assert_eq!(render(None), "");
        assert_eq!(render(Some(Ok(ReferenceDoc::default()))), "");
    }

    #[test]
    fn a_typed_doc_survives_its_file_format() {
        let doc = ReferenceDoc {
            benchmark: "b".into(),
            findings: vec![Finding::Table {
                columns: vec!["x".into()],
                rows: vec![vec!["1".into()]],
            }],
            ..Default::default()
        };
        let json = serde_json::to_string(&doc).unwrap();
        assert!(json.contains("\"kind\":\"table\""), "{json}");
        assert_eq!(serde_json::from_str::<ReferenceDoc>(&json).unwrap(), doc);
    }
}
