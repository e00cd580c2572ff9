//! A run's plan: a new one from the command line (each choice validated, with the accepted values
//! named), or the plan of an interrupted run to resume; and the client host set up for either.

use super::{Defaults, Plan, TARGET_HALF_WIDTH, TIMEOUT_FACTOR, TIMEOUT_SLACK_S};
use super::{now_rfc3339, profile_defaults, profiler_of, usage};
use crate::RunArgs;
use crate::discover::{self, WorkloadBin};
use crate::host;
use crate::profile::Backend;
use anyhow::{Context, Result, bail};
use dyno_core::Params;
use dyno_core::metrics::Declarations;
use dyno_core::params::Override;
use dyno_core::rundir::Results;
use dyno_core::schema::{
    CORES_PARAM, Manifest, PlannedCell, PrecisionPlan, RowInfo, RunProfile, RunSettings, SCHEMA,
    cell_id,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// Plan a new run from `args`, write its manifest and point `latest` at it.
pub(super) fn new(
    args: &RunArgs,
    results: &Results,
    root: &Path,
    all: &[WorkloadBin],
) -> Result<Plan> {
    let cores = cores_of(args)?;
    let selected = workloads_of(args, all)?;
    let (rows, per_workload) = all_rows(&selected, &cores)?;
    let row_ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let baseline_row = rows_of_run(args, &row_ids)?;
    let run_rows: Vec<&String> = row_ids
        .iter()
        .filter(|r| args.runtimes.is_empty() || args.runtimes.contains(r))
        .collect();
    let sweep = sweep_of(args, &cores)?;
    let (cells, declared) = cells_of(args, &selected, &run_rows, &per_workload, sweep.as_ref())?;
    let d = profile_defaults(args.profile);
    let (profiled, profiler) = profiler_choice(args, &d)?;
    let repeats = args.repeat.map(|r| r as usize).unwrap_or(d.repeats);
    let precision = precision_of(args, &d, repeats)?;
    let warmup_s = args.warmup.unwrap_or(d.warmup_s);
    let duration_s = args.duration.unwrap_or(d.duration_s);
    let profile = args.profile.to_string();
    let (started, run_id) = new_run_id(results, &profile);
    let mut manifest = Manifest {
        schema: SCHEMA,
        run_id: run_id.clone(),
        profile: if custom(args) {
            RunProfile::Custom
        } else {
            args.profile.into()
        },
        started,
        finished: None,
        interrupted: None,
        git: host::git(root),
        host: host::host(),
        toolchain: host::toolchain(root),
        cells_planned: cells.len(),
        settings: RunSettings {
            base_profile: args.profile,
            warmup_s,
            duration_s,
            repeats,
            cores,
            // One process runs one repeat: the timeout bounds one repeat.
            cell_timeout_s: args
                .timeout
                .unwrap_or(cell_timeout_s(warmup_s, longest_window(duration_s, &cells))),
            cells,
            sampler: !args.no_sampler,
            profile: profiled,
            profiler: args.profiler,
            rows: row_ids,
            baseline_row,
            order_seed: Some(args.seed.unwrap_or_else(clock_seed)),
            precision,
            cores_sweep: sweep,
            pairing: args.pairing,
        },
        workloads: declared,
        client_host: None,
    };
    let session = match &args.client_host {
        Some(dest) => Some(client_host(args, dest, &selected, &mut manifest)?),
        None => None,
    };
    let run = results.new_run(&run_id);
    run.write_manifest(&manifest)?;
    results.set_latest(&run_id)?;
    Ok(Plan {
        _session: session,
        profiler,
        run,
        fairness: rows.into_iter().map(|r| (r.id, r.fairness)).collect(),
        bins: selected
            .into_iter()
            .map(|w| (w.name.clone(), w.clone()))
            .collect(),
        manifest,
    })
}

/// The run's cores: `--cores`, each of which this process must be allowed, or every allowed core.
fn cores_of(args: &RunArgs) -> Result<Vec<usize>> {
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
    Ok(cores)
}

/// The workloads `-w` selects (all when none is named), each of which must exist.
fn workloads_of<'a>(args: &RunArgs, all: &'a [WorkloadBin]) -> Result<Vec<&'a WorkloadBin>> {
    if all.is_empty() {
        bail!(
            "no workloads found under workloads/ (each is a crate with a dyno-cell-<name> binary)"
        );
    }
    let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
    if let Some(w) = args.workloads.iter().find(|w| !names.contains(&w.as_str())) {
        return Err(usage(format!(
            "unknown workload {w:?}; accepted: {}",
            names.join(", ")
        )));
    }
    Ok(all
        .iter()
        .filter(|w| args.workloads.is_empty() || args.workloads.contains(&w.name))
        .collect())
}

/// Check `-r` and `--baseline-row` against the rows there are; the baseline row (default: the first).
fn rows_of_run(args: &RunArgs, row_ids: &[String]) -> Result<Option<String>> {
    let unknown = |what: &str, r: &String| {
        usage(format!(
            "unknown {what} {r:?}; accepted: {}",
            row_ids.join(", ")
        ))
    };
    if let Some(r) = args.runtimes.iter().find(|r| !row_ids.contains(r)) {
        return Err(unknown("runtime row", r));
    }
    match &args.baseline_row {
        Some(r) if !row_ids.contains(r) => Err(unknown("baseline row", r)),
        Some(r) => Ok(Some(r.clone())),
        None => Ok(row_ids.first().cloned()),
    }
}

/// `--cores-sweep`'s core counts, sorted, each at most the run's cores.
fn sweep_of(args: &RunArgs, cores: &[usize]) -> Result<Option<Vec<usize>>> {
    if args.cores_sweep.is_empty() {
        return Ok(None);
    }
    let mut v: Vec<usize> = args.cores_sweep.iter().map(|&n| n as usize).collect();
    v.sort();
    v.dedup();
    if let Some(n) = v.iter().find(|&&n| n > cores.len()) {
        return Err(usage(format!(
            "--cores-sweep {n}: the run has {} core(s) ({}); accepted: counts from 1 to {}",
            cores.len(),
            discover::join(cores),
            cores.len()
        )));
    }
    Ok(Some(v))
}

/// The planned cells (each selected workload's parameter sets, swept over core counts, on each of
/// its rows the run takes) and each workload's declarations. Every `-p` must name a parameter of a
/// selected workload.
fn cells_of(
    args: &RunArgs,
    selected: &[&WorkloadBin],
    run_rows: &[&String],
    per_workload: &RowsOf,
    sweep: Option<&Vec<usize>>,
) -> Result<(Vec<PlannedCell>, BTreeMap<String, Declarations>)> {
    let overrides: Vec<Override> = args
        .params
        .iter()
        .map(|s| s.parse::<Override>().map_err(|e| usage(e.to_string())))
        .collect::<Result<_>>()?;
    let profile = args.profile.to_string();
    let mut used = vec![false; overrides.len()];
    let mut known_params = Vec::new();
    let mut cells = Vec::new();
    let mut declared = BTreeMap::new();
    for w in selected {
        let spec = w.describe()?;
        declared.insert(w.name.clone(), spec.declared.clone());
        let mut mine = Vec::new();
        for (i, o) in overrides.iter().enumerate() {
            if spec.params.iter().any(|p| p.name == o.name) {
                used[i] = true;
                mine.push(args.params[i].clone());
            }
        }
        known_params.extend(
            spec.params
                .iter()
                .map(|p| format!("{} ({})", p.name, w.name)),
        );
        if sweep.is_some() && spec.params.iter().any(|p| p.name == CORES_PARAM) {
            return Err(usage(format!(
                "workload {} declares a parameter named {CORES_PARAM:?}, which --cores-sweep adds; \
                 accepted: a run without --cores-sweep",
                w.name
            )));
        }
        let window_s = declared_window(args, &spec.declared);
        for params in swept(w.plan(&profile, &mine)?, sweep) {
            for row in run_rows
                .iter()
                .filter(|r| per_workload[&w.name].contains(r))
            {
                cells.push(PlannedCell {
                    cell_id: cell_id(&w.name, row, &params),
                    workload: w.name.clone(),
                    runtime: row.to_string(),
                    params: params.clone(),
                    duration_s: window_s,
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
    Ok((cells, declared))
}

/// The window a workload declares for the full profile, unless `--duration` sets every cell's.
fn declared_window(args: &RunArgs, declared: &Declarations) -> Option<f64> {
    let full = matches!(args.profile, dyno_core::params::Profile::Full);
    (full && args.duration.is_none())
        .then_some(declared.window_s)
        .flatten()
}

/// Each parameter set once per swept core count (the driver's `cores` parameter), or as planned.
fn swept(planned: Vec<Params>, sweep: Option<&Vec<usize>>) -> Vec<Params> {
    let Some(counts) = sweep else { return planned };
    planned
        .iter()
        .flat_map(|p| {
            counts.iter().map(move |n| {
                let mut p = p.clone();
                p.0.insert(CORES_PARAM.into(), dyno_core::ParamValue::Int(*n as u64));
                p
            })
        })
        .collect()
}

/// Whether the run takes the profiled repeat, and its profiler on this machine.
fn profiler_choice(args: &RunArgs, d: &Defaults) -> Result<(bool, Option<Backend>)> {
    let profiled = !args.no_profile && (args.flamegraphs || d.flamegraphs);
    if !profiled && !args.no_profile && args.profiler != dyno_core::schema::ProfilerChoice::Auto {
        return Err(usage(format!(
            "--profiler picks the profiler of the profiled repeat, which the {} profile does not take; \
             accepted: add --flamegraphs",
            args.profile
        )));
    }
    let profiler = if profiled {
        Some(Backend::resolve(args.profiler).map_err(usage)?)
    } else {
        None
    };
    Ok((profiled, profiler))
}

/// Whether any precision option was given (a run then takes adaptive rounds whatever its profile).
fn adaptive(args: &RunArgs) -> bool {
    args.target.is_some() || args.budget.is_some() || args.max_repeats.is_some()
}

/// The precision plan: the profile's, with any option given taking precedence; none for a profile
/// without one unless an option asks for adaptive rounds.
fn precision_of(args: &RunArgs, d: &Defaults, repeats: usize) -> Result<Option<PrecisionPlan>> {
    let base = d.precision;
    if base.is_none() && !adaptive(args) {
        return Ok(None);
    }
    let max_repeats = args
        .max_repeats
        .map(|m| m as usize)
        .or(base.map(|b| b.max_repeats))
        .unwrap_or(10);
    if max_repeats < repeats {
        return Err(usage(format!(
            "--max-repeats {max_repeats} is below the minimum repeats ({repeats}); accepted: at least {repeats}"
        )));
    }
    Ok(Some(PrecisionPlan {
        target_half_width: args
            .target
            .map(|t| t / 100.0)
            .or(base.map(|b| b.target_half_width))
            .unwrap_or(TARGET_HALF_WIDTH),
        max_repeats,
        budget_s: args
            .budget
            .or(base.map(|b| b.budget_s))
            .unwrap_or(f64::INFINITY),
    }))
}

/// Whether the run departs from its profile (its manifest then says `custom`).
fn custom(args: &RunArgs) -> bool {
    args.duration.is_some()
        || args.warmup.is_some()
        || args.repeat.is_some()
        || args.cores.is_some()
        || !args.cores_sweep.is_empty()
        || adaptive(args)
        || !args.params.is_empty()
}

/// A cell process's timeout for one repeat of this warm-up and window.
/// The longest window any cell measures: the run's, or a longer one a workload declares.
fn longest_window(run_s: f64, cells: &[PlannedCell]) -> f64 {
    cells
        .iter()
        .filter_map(|c| c.duration_s)
        .fold(run_s, f64::max)
}

fn cell_timeout_s(warmup_s: f64, duration_s: f64) -> f64 {
    TIMEOUT_SLACK_S + TIMEOUT_FACTOR * (warmup_s + duration_s)
}

/// The order seed when none is given: the clock's nanoseconds (recorded in the manifest).
fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The run's start time and its id (`YYYYMMDD-HHMMSS-<profile>`, with a suffix if taken).
fn new_run_id(results: &Results, profile: &str) -> (String, String) {
    let started = now_rfc3339();
    let stamp: String = started
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let mut run_id = format!("{}-{}-{profile}", &stamp[..8], &stamp[8..]);
    let mut n = 1;
    while results.has_run(&run_id) {
        n += 1;
        run_id = format!("{}-{}-{profile}-{n}", &stamp[..8], &stamp[8..]);
    }
    (started, run_id)
}

/// Set up `--client-host` and record it in the manifest. A generator started over ssh begins two
/// round trips after a local one would: the warm-up takes them on, so that a client host works with
/// any warm-up on any pair of machines. The manifest records the warm-up used and the round trip.
fn client_host(
    args: &RunArgs,
    dest: &str,
    selected: &[&WorkloadBin],
    manifest: &mut Manifest,
) -> Result<crate::remote::Session> {
    let ssh_options = match &args.ssh_config {
        Some(f) if !f.is_file() => {
            return Err(usage(format!(
                "--ssh-config {}: no such file; accepted: an ssh config file",
                f.display()
            )));
        }
        Some(f) => vec!["-F".into(), f.display().to_string()],
        None => vec![],
    };
    let req = crate::remote::Request {
        destination: dest,
        ssh_options,
        cores: args.client_cores.clone().map(|c| c.0),
    };
    let run_id = manifest.run_id.clone();
    let s = remote_setup(&req, &run_id, selected, manifest)?;
    let lead_s = 2.0 * s.client.round_trip_s;
    let settings = &mut manifest.settings;
    let warmup_s = settings.warmup_s;
    settings.warmup_s = ((warmup_s + lead_s) * 1e3).ceil() / 1e3;
    if args.timeout.is_none() {
        let window_s = longest_window(settings.duration_s, &settings.cells);
        settings.cell_timeout_s = cell_timeout_s(settings.warmup_s, window_s);
    }
    println!(
        "warm-up {warmup_s} s plus {:.0} ms for the generator's start over ssh (two round trips to {}): {} s",
        lead_s * 1e3,
        s.client.hostname,
        settings.warmup_s
    );
    manifest.client_host = Some(s.client.clone());
    Ok(s)
}

/// The plan of run `id`, interrupted, to finish with its own settings.
pub(super) fn resume(results: &Results, all: &[WorkloadBin], id: &str) -> Result<Plan> {
    // `latest` and committed reference runs are not resumable: only an id under runs/.
    let run = match results.open(id) {
        Ok(r) if id != "latest" && !id.starts_with("reference") => r,
        Ok(_) | Err(_) => {
            let ids = results.run_ids();
            let accepted = if ids.is_empty() {
                "none (no runs yet)".to_string()
            } else {
                ids.join(", ")
            };
            return Err(usage(format!(
                "no run {id:?} under {}; accepted: {accepted}",
                results.root().join("runs").display()
            )));
        }
    };
    let mut manifest = run.manifest()?;
    let mut bins = BTreeMap::new();
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
        if !manifest.workloads.contains_key(&w.name) {
            // A run from before declarations were recorded: take today's.
            manifest
                .workloads
                .insert(w.name.clone(), w.describe()?.declared);
        }
        bins.insert(w.name.clone(), w.clone());
    }
    if bins.is_empty() {
        bail!("run {id} plans no cells");
    }
    let (rows, _) = all_rows(&bins.values().collect::<Vec<_>>(), &manifest.settings.cores)?;
    if manifest.settings.rows.is_empty() {
        manifest.settings.rows = rows.iter().map(|r| r.id.clone()).collect();
    }
    let mut session = None;
    if let Some(r) = manifest.client_host.clone() {
        // The remote copies may be gone and the clocks may have drifted: set the host up again.
        let req = crate::remote::Request {
            destination: &r.destination,
            ssh_options: r.ssh_options.clone(),
            cores: Some(r.cores.clone()),
        };
        let bins: Vec<&WorkloadBin> = bins.values().collect();
        let s = remote_setup(&req, id, &bins, &manifest)?;
        manifest.client_host = Some(s.client.clone());
        session = Some(s);
        run.write_manifest(&manifest)?;
    }
    let profiler = profiler_of(&manifest.settings)?;
    Ok(Plan {
        _session: session,
        profiler,
        run,
        fairness: rows.into_iter().map(|r| (r.id, r.fairness)).collect(),
        bins,
        manifest,
    })
}

/// Set up the client host for the workloads of `bins` that declare a client process.
fn remote_setup(
    req: &crate::remote::Request,
    run_id: &str,
    bins: &[&WorkloadBin],
    manifest: &Manifest,
) -> Result<crate::remote::Session> {
    let with_client: Vec<&WorkloadBin> = bins
        .iter()
        .copied()
        .filter(|w| {
            manifest
                .workloads
                .get(&w.name)
                .is_some_and(|d| d.client.is_some())
        })
        .collect();
    crate::remote::setup(req, run_id, &with_client)
        .with_context(|| format!("cannot set up the client host {}", req.destination))
}

/// The rows each workload runs, by workload name.
type RowsOf = BTreeMap<String, Vec<String>>;

/// Every row of the given workloads in order (the runtime rows, then reference rows, e.g. a reference server, that
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
