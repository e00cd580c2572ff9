//! `dyno run`: plan (or resume) a run, execute each cell in its own process, write each cell's result as
//! soon as it ends, keep the manifest and `results/latest` current, and print a summary table.

use crate::child;
use crate::discover::{self, WorkloadBin};
use crate::host;
use crate::profile::Backend;
use crate::summarize::summarize;
use crate::{ProfileArg, RunArgs, UsageError};
use anyhow::{Context, Result, bail};
use dyno_core::Params;
use dyno_core::human::{ns, si};
use dyno_core::params::{Override, Profile};
use dyno_core::row::Fairness;
use dyno_core::schema::{
    Artifacts, CellOutput, CellResult, Manifest, PlannedCell, RowInfo, RunSettings, SCHEMA, Status,
    cell_id, write_atomic,
};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Warm-up, window and repeats of a profile: (warmup_s, duration_s, repeats).
pub fn profile_defaults(p: ProfileArg) -> (f64, f64, usize) {
    match p {
        ProfileArg::Quick => (0.3, 1.0, 1),
        ProfileArg::Full => (1.0, 3.0, 3),
    }
}

/// Slack added to every cell's timeout (process start, runtime start-up, drain).
const TIMEOUT_SLACK_S: f64 = 60.0;
/// A cell may take this many times its planned measuring time before it is killed.
const TIMEOUT_FACTOR: f64 = 3.0;

/// Marks an outcome as a skipped cell (the cell said it cannot run here) rather than a failure.
const SKIPPED: &str = "\u{0}skipped: ";

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

struct Plan {
    run_dir: PathBuf,
    manifest: Manifest,
    bins: BTreeMap<String, WorkloadBin>,
    fairness: BTreeMap<String, Fairness>,
    row_order: Vec<String>,
    ops_units: BTreeMap<String, String>,
    /// The profiler of the extra repeat, when the run profiles.
    profiler: Option<Backend>,
}

/// The profiler a run's settings ask for, on this machine.
fn profiler_of(settings: &RunSettings) -> Result<Option<Backend>> {
    if !settings.profile {
        return Ok(None);
    }
    Backend::resolve(settings.profiler).map(Some).map_err(usage)
}

/// Entry point of `dyno run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let bin_dir = args.common.bin_dir()?;
    let (root, workloads) = discover::workloads(&bin_dir)?;
    let plan = match &args.resume {
        Some(id) => resume(args, &workloads, id)?,
        None => plan_new(args, &root, &workloads)?,
    };
    execute(plan, &args.results)
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

fn plan_new(args: &RunArgs, root: &Path, all: &[WorkloadBin]) -> Result<Plan> {
    let allowed = dyno_core::os::allowed_cores();
    let cores = args
        .cores
        .clone()
        .map(|c| c.0)
        .unwrap_or_else(|| allowed.clone());
    if let Some(c) = cores.iter().find(|c| !allowed.contains(c)) {
        return Err(usage(format!(
            "core {c} is not available; accepted: {}",
            discover::join(&allowed)
        )));
    }
    let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
    if all.is_empty() {
        bail!(
            "no workloads found under workloads/ (each is a crate with a dyno-cell-<name> binary)"
        );
    }
    for w in &args.workloads {
        if !names.contains(&w.as_str()) {
            return Err(usage(format!(
                "unknown workload {w:?}; accepted: {}",
                names.join(", ")
            )));
        }
    }
    let selected: Vec<&WorkloadBin> = all
        .iter()
        .filter(|w| args.workloads.is_empty() || args.workloads.contains(&w.name))
        .collect();

    let (rows, per_workload) = all_rows(&selected, &cores)?;
    let row_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    for r in &args.runtimes {
        if !row_ids.contains(r) {
            return Err(usage(format!(
                "unknown runtime row {r:?}; accepted: {}",
                row_ids.join(", ")
            )));
        }
    }
    let run_rows: Vec<&String> = row_ids
        .iter()
        .filter(|r| args.runtimes.is_empty() || args.runtimes.contains(r))
        .collect();

    let overrides: Vec<Override> = args
        .params
        .iter()
        .map(|s| s.parse::<Override>().map_err(usage))
        .collect::<Result<_>>()?;
    let profile = match args.profile {
        ProfileArg::Quick => "quick",
        ProfileArg::Full => "full",
    };
    let mut used = vec![false; overrides.len()];
    let mut known_params = Vec::new();
    let mut cells = Vec::new();
    let mut ops_units = BTreeMap::new();
    for w in &selected {
        let spec = w.describe()?;
        ops_units.insert(w.name.clone(), spec.ops_unit.clone());
        let mine: Vec<String> = overrides
            .iter()
            .enumerate()
            .filter(|(_, o)| spec.params.iter().any(|p| p.name == o.name))
            .map(|(i, _)| {
                used[i] = true;
                args.params[i].clone()
            })
            .collect();
        known_params.extend(
            spec.params
                .iter()
                .map(|p| format!("{} ({})", p.name, w.name)),
        );
        for params in w.plan(profile, &mine)? {
            for row in run_rows
                .iter()
                .filter(|r| per_workload[&w.name].contains(r))
            {
                cells.push(PlannedCell {
                    cell_id: cell_id(&w.name, row, &params),
                    workload: w.name.clone(),
                    runtime: row.to_string(),
                    params: params.clone(),
                });
            }
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(usage(format!(
            "unknown parameter {:?} for the selected workloads; accepted: {}",
            overrides[i].name,
            known_params.join(", ")
        )));
    }

    let profiler = if args.no_profile {
        None
    } else {
        Some(Backend::resolve(args.profiler).map_err(usage)?)
    };
    let (dw, dd, dr) = profile_defaults(args.profile);
    let warmup_s = args.warmup.unwrap_or(dw);
    let duration_s = args.duration.unwrap_or(dd);
    let repeats = args.repeat.map(|r| r as usize).unwrap_or(dr);
    let cell_timeout_s = args
        .timeout
        .unwrap_or(TIMEOUT_SLACK_S + TIMEOUT_FACTOR * repeats as f64 * (warmup_s + duration_s));
    let custom = args.duration.is_some()
        || args.warmup.is_some()
        || args.repeat.is_some()
        || args.cores.is_some()
        || !args.params.is_empty();

    let started = now_rfc3339();
    let stamp: String = started
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let runs = args.results.join("runs");
    let mut run_id = format!("{}-{}-{profile}", &stamp[..8], &stamp[8..]);
    let mut n = 1;
    while runs.join(&run_id).exists() {
        n += 1;
        run_id = format!("{}-{}-{profile}-{n}", &stamp[..8], &stamp[8..]);
    }
    let manifest = Manifest {
        schema: SCHEMA,
        run_id: run_id.clone(),
        profile: if custom {
            "custom".into()
        } else {
            profile.into()
        },
        started,
        finished: None,
        git: host::git(root),
        host: host::host(),
        toolchain: host::toolchain(root),
        cells_planned: cells.len(),
        settings: RunSettings {
            base_profile: if args.profile == ProfileArg::Quick {
                Profile::Quick
            } else {
                Profile::Full
            },
            warmup_s,
            duration_s,
            repeats,
            cores: cores.clone(),
            cell_timeout_s,
            cells,
            sampler: !args.no_sampler,
            profile: !args.no_profile,
            profiler: args.profiler,
        },
    };
    let run_dir = runs.join(&run_id);
    std::fs::create_dir_all(run_dir.join("cells"))
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    write_manifest(&run_dir, &manifest)?;
    write_atomic(
        &args.results.join("latest"),
        format!("{run_id}\n").as_bytes(),
    )
    .context("cannot write results/latest")?;
    Ok(Plan {
        profiler,
        run_dir,
        fairness: rows.into_iter().map(|r| (r.id, r.fairness)).collect(),
        row_order: row_ids,
        bins: selected
            .into_iter()
            .map(|w| (w.name.clone(), w.clone()))
            .collect(),
        manifest,
        ops_units,
    })
}

/// The run ids under `runs`, sorted (for error messages naming what is accepted).
pub fn run_ids(runs: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(runs)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn resume(args: &RunArgs, all: &[WorkloadBin], id: &str) -> Result<Plan> {
    let runs = args.results.join("runs");
    let run_dir = runs.join(id);
    let path = run_dir.join("manifest.json");
    if id.contains('/') || !path.exists() {
        let ids = run_ids(&runs);
        let accepted = if ids.is_empty() {
            "none (no runs yet)".to_string()
        } else {
            ids.join(", ")
        };
        return Err(usage(format!(
            "no run {id:?} under {}; accepted: {accepted}",
            runs.display()
        )));
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a dyno manifest", path.display()))?;
    if manifest.schema != SCHEMA {
        bail!(
            "{} has schema {} (this dyno reads {SCHEMA})",
            path.display(),
            manifest.schema
        );
    }
    let mut bins = BTreeMap::new();
    let mut ops_units = BTreeMap::new();
    for c in &manifest.settings.cells {
        if bins.contains_key(&c.workload) {
            continue;
        }
        let w = all.iter().find(|w| w.name == c.workload).with_context(|| {
            format!(
                "run {id} needs workload {}, which is no longer in workloads/",
                c.workload
            )
        })?;
        ops_units.insert(w.name.clone(), w.describe()?.ops_unit);
        bins.insert(w.name.clone(), w.clone());
    }
    if bins.is_empty() {
        bail!("run {id} plans no cells");
    }
    let (rows, _) = all_rows(&bins.values().collect::<Vec<_>>(), &manifest.settings.cores)?;
    let profiler = profiler_of(&manifest.settings)?;
    Ok(Plan {
        profiler,
        run_dir,
        row_order: rows.iter().map(|r| r.id.clone()).collect(),
        fairness: rows.into_iter().map(|r| (r.id, r.fairness)).collect(),
        bins,
        manifest,
        ops_units,
    })
}

/// The rows each workload runs, by workload name.
type RowsOf = BTreeMap<String, Vec<String>>;

/// Every row of the given workloads in order (the runtime rows, then reference rows such as nginx that
/// only some workloads have), and which rows each workload runs.
fn all_rows(workloads: &[&WorkloadBin], cores: &[usize]) -> Result<(Vec<RowInfo>, RowsOf)> {
    let mut rows: Vec<RowInfo> = Vec::new();
    let mut per = BTreeMap::new();
    for w in workloads {
        let mine = w.rows(cores)?;
        per.insert(w.name.clone(), mine.iter().map(|r| r.id.clone()).collect());
        for r in mine {
            if !rows.iter().any(|x| x.id == r.id) {
                rows.push(r);
            }
        }
    }
    Ok((rows, per))
}

fn write_manifest(run_dir: &Path, m: &Manifest) -> Result<()> {
    let json = serde_json::to_vec_pretty(m)?;
    write_atomic(&run_dir.join("manifest.json"), &json).context("cannot write manifest.json")
}

/// Reports progress as a bar on a terminal, as plain lines otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30} cell {pos}/{len} ETA {eta} {msg}",
                )
                .expect("static template"),
            );
            b
        });
        Progress { bar, total }
    }

    fn start(&self, i: usize, id: &str) {
        match &self.bar {
            Some(b) => b.set_message(id.to_string()),
            None => println!("[{}/{}] {id} ...", i + 1, self.total),
        }
    }

    fn done(&self, i: usize, line: String) {
        match &self.bar {
            Some(b) => {
                b.println(format!("[{}/{}] {line}", i + 1, self.total));
                b.inc(1);
            }
            None => println!("[{}/{}] {line}", i + 1, self.total),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn execute(plan: Plan, results: &Path) -> Result<()> {
    let cells_dir = plan.run_dir.join("cells");
    std::fs::create_dir_all(&cells_dir)?;
    let settings = &plan.manifest.settings;
    println!(
        "run {}: {} cells, warm-up {} s, window {} s, {} repeat(s), cores {}, into {}",
        plan.manifest.run_id,
        settings.cells.len(),
        settings.warmup_s,
        settings.duration_s,
        settings.repeats,
        discover::join(&settings.cores),
        plan.run_dir.display()
    );
    let progress = Progress::new(settings.cells.len());
    let mut done = Vec::new();
    for (i, cell) in settings.cells.iter().enumerate() {
        let path = cells_dir.join(format!("{}.json", cell.cell_id));
        if path.exists() {
            match CellResult::read(&path) {
                Ok(c) => {
                    progress.done(i, format!("{} already done ({:?})", cell.cell_id, c.status));
                    done.push(c);
                    continue;
                }
                Err(e) => progress.done(
                    i,
                    format!("not trusting an existing result, running again: {e}"),
                ),
            }
        }
        progress.start(i, &cell.cell_id);
        let result = run_cell(&plan, cell, &cells_dir)?;
        let json = serde_json::to_vec_pretty(&result)?;
        write_atomic(&path, &json).with_context(|| format!("cannot write {}", path.display()))?;
        progress.done(i, one_line(&result, &plan.ops_units));
        done.push(result);
    }
    progress.finish();
    let mut manifest = plan.manifest.clone();
    manifest.finished = Some(now_rfc3339());
    write_manifest(&plan.run_dir, &manifest)?;
    write_atomic(
        &results.join("latest"),
        format!("{}\n", manifest.run_id).as_bytes(),
    )?;
    print!("{}", summary_table(&done, &plan.row_order));
    let failed = done.iter().filter(|c| c.status != Status::Ok).count();
    println!(
        "run {} finished: {} ok, {failed} not ok; results in {}",
        manifest.run_id,
        done.len() - failed,
        plan.run_dir.display()
    );
    Ok(())
}

fn one_line(c: &CellResult, units: &BTreeMap<String, String>) -> String {
    match (&c.status, &c.summary) {
        (Status::Ok, Some(s)) => format!(
            "{} ok: {}/s {} (p99 {}), {:.0} per CPU-second",
            c.cell_id,
            si(s.throughput_ops_s.mean),
            units.get(&c.workload).map(String::as_str).unwrap_or("ops"),
            ns(s.latency_ns.p99),
            s.ops_per_cpu_s
        ),
        _ => format!(
            "{} {:?}: {}",
            c.cell_id,
            c.status,
            c.error.as_deref().unwrap_or("")
        ),
    }
}

fn run_cell(plan: &Plan, cell: &PlannedCell, cells_dir: &Path) -> Result<CellResult> {
    let s = &plan.manifest.settings;
    let bin = &plan.bins[&cell.workload];
    let out_path = cells_dir.join(format!(".{}.out", cell.cell_id));
    let _ = std::fs::remove_file(&out_path);
    let cell_args: Vec<String> = vec![
        "cell".into(),
        "--row".into(),
        cell.runtime.clone(),
        "--params".into(),
        serde_json::to_string(&cell.params)?,
        "--warmup-s".into(),
        s.warmup_s.to_string(),
        "--duration-s".into(),
        s.duration_s.to_string(),
        "--cores".into(),
        discover::join(&s.cores),
    ];
    let mut cmd = Command::new(&bin.bin);
    cmd.args(&cell_args)
        .args(["--repeats", &s.repeats.to_string()])
        .arg("--out")
        .arg(&out_path);
    let timeout = Duration::from_secs_f64(s.cell_timeout_s);
    let busy_before = host::machine_busy_cpu_s();
    let (fin, sampler) = child::run_watched(cmd, timeout, |pid| {
        s.sampler.then(|| crate::sampler::Sampler::start(pid))
    })
    .with_context(|| format!("cannot start {}", bin.bin.display()))?;
    let series = sampler.map(crate::sampler::Sampler::stop);
    let busy_after = host::machine_busy_cpu_s();
    let own_cpu = fin.usage.cpu_user_s + fin.usage.cpu_sys_s;
    let other_cpu_cores = busy_before
        .zip(busy_after)
        .map(|(a, b)| ((b - a - own_cpu) / fin.wall.as_secs_f64()).max(0.0));

    let mut result = CellResult {
        schema: SCHEMA,
        cell_id: cell.cell_id.clone(),
        workload: cell.workload.clone(),
        runtime: cell.runtime.clone(),
        params: cell.params.clone(),
        status: Status::Failed,
        error: None,
        fairness: plan
            .fairness
            .get(&cell.runtime)
            .cloned()
            .context("row without fairness")?,
        repeats: vec![],
        summary: None,
        artifacts: Artifacts::default(),
        ops_unit: plan
            .ops_units
            .get(&cell.workload)
            .cloned()
            .unwrap_or_default(),
        process: Some(fin.usage),
        wall_s: fin.wall.as_secs_f64(),
        stderr_tail: None,
        warmup_s: s.warmup_s,
        duration_s: s.duration_s,
        timeseries: None,
        profile: None,
    };
    let outcome = match fin.failure() {
        Some(why) => Err(why),
        None => std::fs::read(&out_path)
            .map_err(|e| format!("the cell wrote no output ({e})"))
            .and_then(|b| {
                serde_json::from_slice::<CellOutput>(&b)
                    .map_err(|e| format!("unreadable cell output: {e}"))
            })
            .and_then(|out| match &out.skipped {
                Some(why) => Err(format!("{SKIPPED}{why}")),
                None => summarize(&out, &fin.usage, other_cpu_cores)
                    .map(|(reps, summary, hist)| (out, reps, summary, hist)),
            }),
    };
    let _ = std::fs::remove_file(&out_path);
    match outcome {
        Ok((out, repeats, summary, hist)) => {
            if let Some(h) = hist {
                let rel = format!("cells/{}.hdr", cell.cell_id);
                write_atomic(&plan.run_dir.join(&rel), h.as_bytes())?;
                result.artifacts.histogram = Some(rel);
            }
            if let Some(series) = &series {
                let rel = format!("cells/{}.timeseries.csv", cell.cell_id);
                write_atomic(
                    &plan.run_dir.join(&rel),
                    crate::sampler::csv(series).as_bytes(),
                )?;
                result.artifacts.timeseries_csv = Some(rel);
                result.timeseries = Some(crate::sampler::summarize(series));
            }
            if let Some(backend) = &plan.profiler {
                let title = format!(
                    "{} on {} ({})",
                    cell.workload,
                    cell.runtime,
                    cell.params.key()
                );
                let scratch = cells_dir.join(format!(".{}", cell.cell_id));
                let p = crate::profile::profile(
                    backend,
                    &crate::profile::Request {
                        bin: &bin.bin,
                        cell_args: &cell_args,
                        warmup_s: s.warmup_s,
                        scratch: &scratch,
                        timeout,
                        unprofiled_mean: summary.throughput_ops_s.mean,
                        title: &title,
                    },
                );
                if let (Some(folded), Some(svg)) = (&p.folded, &p.svg) {
                    // Folded stacks of deep generic Rust frames are large and repetitive: stored gzipped.
                    let folded_rel = format!("cells/{}.folded.gz", cell.cell_id);
                    let svg_rel = format!("cells/{}.flame.svg", cell.cell_id);
                    write_atomic(&plan.run_dir.join(&folded_rel), &gzip(folded.as_bytes()))?;
                    write_atomic(&plan.run_dir.join(&svg_rel), svg.as_bytes())?;
                    result.artifacts.folded_stacks = Some(folded_rel);
                    result.artifacts.flamegraph_svg = Some(svg_rel);
                }
                result.profile = Some(p.info);
            }
            result.status = Status::Ok;
            result.fairness = out.fairness;
            result.repeats = repeats;
            result.summary = Some(summary);
        }
        Err(why) => match why.strip_prefix(SKIPPED) {
            Some(why) => {
                result.status = Status::Skipped;
                result.error = Some(why.to_string());
            }
            None => {
                result.error = Some(why);
                result.stderr_tail = Some(fin.stderr_tail);
            }
        },
    }
    Ok(result)
}

/// Workload × row: throughput with the half-width of its 95% CI, or why the cell is not ok.
pub fn summary_table(cells: &[CellResult], rows: &[String]) -> String {
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for c in cells {
        let shown = Params::varying(
            cells
                .iter()
                .filter(|o| o.workload == c.workload)
                .map(|o| &o.params),
        );
        let k = (
            c.workload.clone(),
            c.params.key(),
            format!("{} {}", c.workload, c.params.label(&shown)),
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let present: Vec<&String> = rows
        .iter()
        .filter(|r| cells.iter().any(|c| &c.runtime == *r))
        .collect();
    let lw = keys.iter().map(|k| k.2.len()).max().unwrap_or(0).max(24);
    let width = 14;
    let mut out = format!("\n{:<lw$}", "ops/s ± 95% CI");
    for r in &present {
        out.push_str(&format!(" {r:>width$}"));
    }
    out.push('\n');
    for (w, key, label) in keys {
        out.push_str(&format!("{label:<lw$}"));
        for r in &present {
            let c = cells
                .iter()
                .find(|c| c.workload == w && c.params.key() == key && &c.runtime == *r);
            let text = match c {
                None => "-".to_string(),
                Some(c) => match (&c.status, &c.summary) {
                    (Status::Ok, Some(s)) => {
                        let t = &s.throughput_ops_s;
                        if t.n < 2 {
                            // One repeat has no interval.
                            format!("{} (n=1)", si(t.mean))
                        } else {
                            let half =
                                (t.ci95_high - t.mean) / t.mean.max(f64::MIN_POSITIVE) * 100.0;
                            format!("{} ±{half:.0}%", si(t.mean))
                        }
                    }
                    (st, _) => format!("{st:?}").to_lowercase(),
                },
            };
            out.push_str(&format!(" {text:>width$}"));
        }
        out.push('\n');
    }
    out
}

/// Gzip-compress bytes.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("writing to a Vec cannot fail");
    e.finish().expect("finishing a Vec cannot fail")
}
