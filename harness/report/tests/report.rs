//! The report from a small fixture run (a real run: 3 rows, 4 parameter sets, 2 repeats, the threads row
//! failed by an injected panic): snapshot tests of the generated pages, a test that the book builds with
//! no broken internal link, and the built pages opened in headless Chromium where it is installed.

use dyno_core::rundir::RunDir;
use dyno_report::{Run, build_book, generate, write_pages};
use std::path::{Path, PathBuf};

fn fixture() -> Run {
    Run::load(&RunDir::at(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run"),
    ))
    .unwrap()
}

fn page(pages: &[dyno_report::Page], path: &str) -> String {
    String::from_utf8(
        pages
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .bytes
            .clone(),
    )
    .unwrap()
}

#[test]
fn generated_pages_match_their_snapshots() {
    let run = fixture();
    assert!(run.problems.is_empty(), "{:?}", run.problems);
    let pages = generate(&run, None);
    insta::assert_snapshot!("overview", page(&pages, "generated/overview.md"));
    insta::assert_snapshot!("fanout", page(&pages, "generated/fanout.md"));
    insta::assert_snapshot!("methodology", page(&pages, "generated/methodology.md"));
    insta::assert_snapshot!("summary", page(&pages, "SUMMARY.md"));
    insta::assert_snapshot!("csv", page(&pages, "generated/exports/summary.csv"));
}

#[test]
fn overview_shows_every_cell_including_failures() {
    let run = fixture();
    let overview = page(&generate(&run, None), "generated/overview.md");
    for c in &run.cells {
        assert!(overview.contains(&c.runtime));
    }
    // The failed row says so in each parameter set, and why once under the table.
    assert_eq!(overview.matches(" failed |").count(), 4, "{overview}");
    assert_eq!(
        overview
            .matches("(every parameter set): failed: panicked: injected fault")
            .count(),
        1,
        "{overview}"
    );
    // The fixture's run predates rounds: its two ok rows' intervals overlap in every parameter set, so
    // no best row earns a ★ (only the legend has one); each set's best is bold and marked unresolved.
    assert_eq!(overview.matches('★').count(), 1, "{overview}");
    assert_eq!(overview.matches("** =").count(), 4, "{overview}");
}

#[test]
fn comparing_a_run_with_itself_finds_no_significant_change() {
    let run = fixture();
    let changes = dyno_report::compare::compare(&run, &run);
    assert_eq!(changes.len(), run.cells.len());
    for c in &changes {
        match c.before {
            Some(_) => assert_eq!(c.verdict, "no significant change"),
            None => assert_eq!(c.verdict, "not ok in either run"),
        }
    }
    let page = page(&generate(&run, Some(&run)), "generated/compare.md");
    assert!(page.contains("no significant change"));
}

/// A run whose cells had a load generator (its CPU sampled apart, in `client_cpu_cores`) gets a chart of
/// the generator's CPU next to the server's; the fixture, which has none, gets no such chart.
#[test]
fn a_sampled_load_generator_gets_its_own_cpu_chart() {
    let has_chart = |run: &Run| {
        generate(run, None)
            .iter()
            .any(|p| p.path.contains("generator-cpu-over-time"))
    };
    assert!(!has_chart(&fixture()));
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run");
    let dst = tmp.path().join("run");
    std::fs::create_dir_all(dst.join("cells")).unwrap();
    // The workload declares its client process: the chart is named after it.
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("manifest.json")).unwrap()).unwrap();
    let workload = manifest["settings"]["cells"][0]["workload"]
        .as_str()
        .unwrap()
        .to_string();
    manifest["workloads"] = serde_json::json!({ workload: {
        "ops_unit": "ops",
        "client": { "name": "load generator", "thread_prefix": "client-" }
    }});
    std::fs::write(dst.join("manifest.json"), manifest.to_string()).unwrap();
    for e in std::fs::read_dir(src.join("cells")).unwrap() {
        let p = e.unwrap().path();
        let to = dst.join("cells").join(p.file_name().unwrap());
        if p.to_string_lossy().ends_with(".timeseries.csv") {
            let csv = std::fs::read_to_string(&p).unwrap();
            let mut lines = csv.lines();
            let mut out = format!(
                "{},client_cpu_cores,client_rss_bytes\n",
                lines.next().unwrap()
            );
            for l in lines {
                out.push_str(&format!("{l},0.900,15000000\n"));
            }
            std::fs::write(to, out).unwrap();
        } else {
            std::fs::copy(&p, to).unwrap();
        }
    }
    let run = Run::load(&RunDir::at(&dst)).unwrap();
    assert!(run.problems.is_empty(), "{:?}", run.problems);
    assert!(has_chart(&run));
    let pages = generate(&run, None);
    let chart = pages
        .iter()
        .find(|p| p.path.contains("generator-cpu-over-time"))
        .unwrap();
    assert!(String::from_utf8_lossy(&chart.bytes).contains("load generator CPU over time"));
}

/// Copy the book skeleton (book.toml, theme and hand-written chapters) into a temp dir and build the fixture's book.
fn built_book() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mdbook");
    let root = tmp.path().join("mdbook");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::copy(src.join("book.toml"), root.join("book.toml")).unwrap();
    // The theme holds the extra CSS book.toml names (additional-css).
    std::fs::create_dir_all(root.join("theme")).unwrap();
    for e in std::fs::read_dir(src.join("theme")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, root.join("theme").join(p.file_name().unwrap())).unwrap();
    }
    for e in std::fs::read_dir(src.join("src")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") && p.file_name().unwrap() != "SUMMARY.md" {
            std::fs::copy(&p, root.join("src").join(p.file_name().unwrap())).unwrap();
        }
    }
    write_pages(&root.join("src"), &generate(&fixture(), None)).unwrap();
    let index = build_book(&root).unwrap();
    (tmp, index)
}

fn internal_links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "data=\""] {
        for part in html.split(attr).skip(1) {
            let link = part.split('"').next().unwrap_or("");
            let link = link.split('#').next().unwrap_or("");
            if link.is_empty()
                || link.contains("://")
                || link.starts_with("mailto:")
                || link.starts_with("data:")
            {
                continue;
            }
            out.push(link.to_string());
        }
    }
    out
}

#[test]
fn the_book_builds_with_no_broken_internal_link() {
    let (_tmp, index) = built_book();
    let book = index.parent().unwrap();
    let mut checked = 0;
    for page in [
        "index.html",
        "generated/overview.html",
        "generated/fanout.html",
        "generated/methodology.html",
    ] {
        let path = book.join(page);
        let html = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{page}: {e}"));
        for link in internal_links(&html) {
            let target = path.parent().unwrap().join(&link);
            assert!(
                target.exists(),
                "{page} links to {link}, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links checked");
    let fanout = std::fs::read_to_string(book.join("generated/fanout.html")).unwrap();
    assert!(fanout.contains("<table") && fanout.contains(".svg"));
    assert!(
        book.join("generated/exports/summary.csv").exists()
            && book.join("generated/exports/bencher.json").exists()
    );
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|d| Path::new(d).join(name))
                .find(|p| p.exists())
        })
}

fn headless(chrome: &Path, profile: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--allow-file-access-from-files",
        "--virtual-time-budget=10000",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_built_overview_renders_in_headless_chromium() {
    let Some(chrome) = chromium() else {
        return dyno_core::skip::skip(
            "the_built_overview_renders_in_headless_chromium",
            "chromium is not installed (scripts/install-references.sh or .ci/run installs it)",
        );
    };
    let (tmp, index) = built_book();
    let book = index.parent().unwrap();
    let profile = tmp.path().join("chrome-profile");
    let dom = |url: String| {
        let out = headless(&chrome, &profile)
            .arg("--dump-dom")
            .arg(url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let overview = dom(format!(
        "file://{}",
        book.join("generated/overview.html").display()
    ));
    assert!(
        overview.contains("<table") && overview.contains("tokio") && overview.contains("★"),
        "{overview}"
    );

    // A page that loads every chart of the fan-out page and reports how many decoded with a size.
    let fanout = std::fs::read_to_string(book.join("generated/fanout.html")).unwrap();
    let charts: Vec<String> = internal_links(&fanout)
        .into_iter()
        .filter(|l| l.ends_with(".svg"))
        .collect();
    assert!(
        charts.iter().any(|c| c.starts_with("charts/")),
        "no chart on the fan-out page"
    );
    assert!(
        charts
            .iter()
            .any(|c| c.starts_with("flames/") && !c.contains("-vs-")),
        "no flamegraph"
    );
    assert!(
        charts.iter().any(|c| c.contains("-vs-tokio")),
        "no differential flamegraph"
    );
    assert!(!charts.is_empty());
    let imgs: String = charts
        .iter()
        .map(|c| format!("<img src=\"{c}\" onload=\"ok(this)\" onerror=\"bad(this)\">"))
        .collect();
    let probe = format!(
        "<html><head><title>pending</title><script>let n=0,b=0;function ok(i){{if(i.naturalWidth>0)n++;else b++;done()}}\
         function bad(i){{b++;done()}}function done(){{document.title='loaded '+n+' broken '+b}}</script></head><body>{imgs}</body></html>"
    );
    let probe_path = book.join("generated/render-probe.html");
    std::fs::write(&probe_path, probe).unwrap();
    let loaded = dom(format!("file://{}", probe_path.display()));
    let want = format!("loaded {} broken 0", charts.len());
    assert!(
        loaded.contains(&want),
        "expected <title>{want}</title> in {loaded}"
    );

    // The overview read on a 1400 px wide screen: no table scrolls sideways.
    let fit = "<html><head><title>pending</title><script>function check(f){let d=f.contentDocument,\
               t=[...d.querySelectorAll('table')],o=t.filter(x=>x.scrollWidth>x.clientWidth+1).length;\
               document.title='tables '+t.length+' overflowing '+o}</script></head><body style=margin:0>\
               <iframe src=overview.html width=1400 height=900 onload=check(this)></iframe></body></html>";
    let fit_path = book.join("generated/fit-probe.html");
    std::fs::write(&fit_path, fit).unwrap();
    let fitted = dom(format!("file://{}", fit_path.display()));
    assert!(
        fitted.contains("overflowing 0") && !fitted.contains("tables 0 "),
        "expected every overview table to fit 1400 px: {fitted}"
    );
}
