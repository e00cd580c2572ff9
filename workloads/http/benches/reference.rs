//! Reference benchmark, measured in one run on the same cores: the `/delay` latency check on every row;
//! dyno's generator against wrk on nginx (the generator must not be the bottleneck: target ours/wrk >= 1.0),
//! every row against nginx under our generator, and wrk against every row as a cross-check. The nginx and
//! wrk part is skipped with a note when they are absent (`scripts/install-references.sh` installs them).
//!
//! `cargo bench -p dyno-http --bench reference [-- --rounds N --secs S --connections C --quick --out F]`
//! writes F (default `results/benches/http-reference-<time>.json`) and prints a table. `cargo xtask bench`
//! runs it into the run's `references/http.json`, which the book shows on the http page.

use dyno_core::RowConfig;
use dyno_core::os::{allowed_cores, confine_process};
use dyno_core::rundir::{Finding, ReferenceDoc};
use dyno_http::Server;
use dyno_load::LoadConfig;
use dyno_net::NetRow;
use dyno_rows::NetRowVisitor;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The name the result file gives this bench.
const BENCHMARK: &str = "http-reference";

#[derive(Serialize)]
struct Measure {
    server: String,
    generator: &'static str,
    round: usize,
    req_s: f64,
    errors: u64,
}

struct Opts {
    rounds: usize,
    secs: f64,
    connections: usize,
    out: Option<PathBuf>,
}

fn opts() -> Opts {
    let parsed = dyno_core::bench::BenchArgs::from_env().and_then(|a| {
        let (rounds, secs) = if a.quick { (2, 1.0) } else { (5, 3.0) };
        Ok(Opts {
            rounds: a.positive("rounds")?.unwrap_or(rounds),
            secs: a.positive("secs")?.unwrap_or(secs),
            connections: a.positive("connections")?.unwrap_or(64),
            out: a.out,
        })
    });
    parsed.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    })
}

/// wrk pinned to `core`: requests per second and socket/status errors.
fn wrk(wrk: &Path, url: &str, core: usize, o: &Opts) -> Result<(f64, u64), String> {
    let mut cmd = Command::new(wrk);
    cmd.args([
        "-t1",
        &format!("-c{}", o.connections),
        &format!("-d{}s", o.secs.ceil() as u64),
        url,
    ]);
    // SAFETY: sched_setaffinity in the child before exec; no allocation on success.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || confine_process(&[core]).map_err(std::io::Error::other));
    }
    let out = cmd.output().map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("wrk printed no Requests/sec: {text}"))?;
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .flat_map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum();
    Ok((rate, errors))
}

fn ours(url: &str, core: usize, o: &Opts) -> Result<(f64, u64), String> {
    let mut cfg = LoadConfig::closed(url, o.connections, Duration::from_secs_f64(o.secs));
    cfg.cores = vec![core];
    let r = dyno_load::run(&cfg).map_err(|e| e.to_string())?;
    Ok((r.throughput_ops_s, r.errors.values().sum()))
}

/// Say why the benchmark did not run, on stdout and (with --out) in the result file the book reads.
fn skipped(o: &Opts, why: &str) {
    println!("skipped: {why}");
    if let Some(path) = &o.out {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let doc = ReferenceDoc {
            benchmark: BENCHMARK.into(),
            skipped: Some(why.into()),
            ..Default::default()
        };
        let _ = dyno_core::schema::write_atomic(path, &serde_json::to_vec_pretty(&doc).unwrap());
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

struct RowRun<'a> {
    core: usize,
    client: usize,
    wrk: &'a Path,
    o: &'a Opts,
}

impl NetRowVisitor for RowRun<'_> {
    type Out = Result<Vec<Measure>, String>;
    fn visit<R: NetRow>(self) -> Self::Out {
        let server = Server::start::<R>(&RowConfig {
            cores: vec![self.core],
        })
        .map_err(|e| e.to_string())?;
        let url = format!("http://{}/plaintext", server.addr);
        let mut out = Vec::new();
        let (a, ea) = ours(&url, self.client, self.o)?;
        let (b, eb) = wrk(self.wrk, &url, self.client, self.o)?;
        server.stop().map_err(|e| e.to_string())?;
        for (generator, req_s, errors) in [("dyno", a, ea), ("wrk", b, eb)] {
            out.push(Measure {
                server: R::ID.into(),
                generator,
                round: 0,
                req_s,
                errors,
            });
        }
        Ok(out)
    }
}

/// The `/delay?ms=1` latency check on every row (see `dyno_http::check`), as findings and JSON.
fn latency_checks(
    server_core: usize,
    client_core: usize,
    o: &Opts,
) -> (Vec<Finding>, serde_json::Value) {
    let intro = format!(
        "**Latency check**: `/delay?ms=1`, one connection, closed loop, {} s; the p50 should be the row's real \
         1 ms sleep (timed on the row: timers round up) plus the unloaded round trip (p50 of `/plaintext` \
         under the same load). Target: within 5%.",
        o.secs
    );
    let mut rows = Vec::new();
    let mut all = Vec::new();
    for row in dyno_rows::NET_ROWS {
        struct Check(usize, usize, f64);
        impl NetRowVisitor for Check {
            type Out = Result<dyno_http::check::LatencyCheck, dyno_core::RepeatError>;
            fn visit<R: NetRow>(self) -> Self::Out {
                dyno_http::check::latency_check::<R>(self.0, self.1, 1, self.2)
            }
        }
        match dyno_rows::visit_net_row(row, Check(server_core, client_core, o.secs)).expect("known")
        {
            Ok(c) => {
                let us = |n: u64| format!("{:.1} µs", n as f64 / 1e3);
                rows.push(vec![
                    row.to_string(),
                    us(c.sleep_p50_ns),
                    us(c.round_trip_p50_ns),
                    us(c.delay_p50_ns),
                    format!("{:+.1}%", c.relative_error * 100.0),
                ]);
                all.push(serde_json::to_value(&c).expect("serializes"));
            }
            Err(e) => rows.push(vec![
                row.to_string(),
                format!("failed: {e}"),
                String::new(),
                String::new(),
                String::new(),
            ]),
        }
    }
    let columns = [
        "row",
        "real sleep p50",
        "round trip p50",
        "/delay p50",
        "error",
    ];
    let table = Finding::Table {
        columns: columns.map(String::from).to_vec(),
        rows,
    };
    (
        vec![Finding::text(intro), table],
        serde_json::Value::Array(all),
    )
}

/// Print findings as the book shows them.
/// The findings on the terminal: paragraphs, and tables as tab-separated lines (the book renders them).
fn print(findings: &[Finding]) {
    for f in findings {
        match f {
            Finding::Text { text } => println!("{text}\n"),
            Finding::Table { columns, rows } => {
                for line in std::iter::once(columns).chain(rows) {
                    println!("{}", line.join("\t"));
                }
                println!();
            }
        }
    }
}

fn main() {
    let o = opts();
    let cores = allowed_cores();
    if cores.len() < 2 {
        return skipped(
            &o,
            &format!("needs 2 cores (server and generator apart), have {cores:?}"),
        );
    }
    let (server_core, client_core) = (cores[0], cores[1]);
    let (latency, latency_data) = latency_checks(server_core, client_core, &o);
    print(&latency);
    let (mut findings, data) = match (dyno_http::generator::wrk_path(), dyno_http::nginx::path()) {
        (Some(wrk_bin), Some(_)) => tools(&o, &wrk_bin, server_core, client_core),
        _ => (
            vec![Finding::text(
                "nginx and wrk: skipped: they are not installed; scripts/install-references.sh installs them.",
            )],
            serde_json::Map::new(),
        ),
    };
    findings.extend(latency);
    let mut doc = ReferenceDoc {
        benchmark: BENCHMARK.into(),
        commit: dyno_core::bench::commit(),
        findings,
        data,
        ..Default::default()
    };
    doc.data.insert("server_core".into(), server_core.into());
    doc.data.insert("client_core".into(), client_core.into());
    doc.data.insert("latency_check".into(), latency_data);
    write(&o, &doc);
}

/// nginx under both generators, every row under both: findings and the measures.
fn tools(
    o: &Opts,
    wrk_bin: &Path,
    server_core: usize,
    client_core: usize,
) -> (Vec<Finding>, serde_json::Map<String, serde_json::Value>) {
    let port = dyno_net::reserve_port([127, 0, 0, 1].into())
        .expect("a free port")
        .1
        .port();
    let mut all = Vec::new();
    {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let _ng = dyno_http::reference::Server::start::<dyno_http::nginx::Nginx>(
            addr,
            o.connections as u64,
            &[server_core],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let url = format!("http://127.0.0.1:{port}/plaintext");
        for round in 0..o.rounds {
            // Alternate which generator goes first, so drift does not favour one.
            let order: [&str; 2] = if round % 2 == 0 {
                ["wrk", "dyno"]
            } else {
                ["dyno", "wrk"]
            };
            for g in order {
                let (req_s, errors) = if g == "wrk" {
                    wrk(wrk_bin, &url, client_core, o)
                } else {
                    ours(&url, client_core, o)
                }
                .unwrap_or_else(|e| panic!("{e}"));
                eprintln!("nginx round {round}: {g} {req_s:.0} req/s");
                all.push(Measure {
                    server: "nginx".into(),
                    generator: if g == "wrk" { "wrk" } else { "dyno" },
                    round,
                    req_s,
                    errors,
                });
            }
        }
    }
    for row in dyno_rows::NET_ROWS {
        let run = RowRun {
            core: server_core,
            client: client_core,
            wrk: wrk_bin,
            o,
        };
        match dyno_rows::visit_net_row(row, run).expect("a known row") {
            Ok(m) => {
                for x in &m {
                    eprintln!("{row}: {} {:.0} req/s", x.generator, x.req_s);
                }
                all.extend(m)
            }
            Err(e) => eprintln!("{row}: failed: {e}"),
        }
    }
    let pick = |server: &str, g: &str| -> Vec<f64> {
        all.iter()
            .filter(|m| m.server == server && m.generator == g)
            .map(|m| m.req_s)
            .collect()
    };
    let ratios: Vec<f64> = (0..o.rounds)
        .map(|r| {
            let f = |g: &str| {
                all.iter()
                    .find(|m| m.server == "nginx" && m.generator == g && m.round == r)
                    .map(|m| m.req_s)
                    .unwrap_or(f64::NAN)
            };
            f("dyno") / f("wrk")
        })
        .collect();
    let nginx_ours = mean(&pick("nginx", "dyno"));
    let best = dyno_rows::NET_ROWS
        .iter()
        .map(|r| (*r, mean(&pick(r, "dyno"))))
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let mut findings = vec![Finding::text(format!(
        "Measured in one run, `GET /plaintext`, {} keep-alive connections, {} s per measure. Servers on core \
         {server_core}, generators (dyno load and wrk, one thread each) on core {client_core}. nginx runs as one \
         process (master_process off) with a static `return 200`.",
        o.connections, o.secs,
    ))];
    findings.push(Finding::text(format!(
        "**dyno load / wrk against nginx: {:.3}** (per round, alternating which goes first: {}; {} rounds; \
         wrk {:.0} req/s, dyno load {:.0} req/s).",
        mean(&ratios),
        ratios
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        o.rounds,
        mean(&pick("nginx", "wrk")),
        nginx_ours,
    )));
    if let Some((row, v)) = best {
        findings.push(Finding::text(format!(
            "**Best row / nginx: {row} {:.3}** (both under dyno load).",
            v / nginx_ours
        )));
    }
    let columns = [
        "server",
        "dyno load (req/s)",
        "wrk (req/s)",
        "dyno load / wrk",
        "server / nginx (dyno load)",
    ];
    let rows = std::iter::once("nginx")
        .chain(dyno_rows::NET_ROWS.iter().copied())
        .map(|server| {
            let (a, b) = (mean(&pick(server, "dyno")), mean(&pick(server, "wrk")));
            vec![
                server.to_string(),
                format!("{a:.0}"),
                format!("{b:.0}"),
                format!("{:.3}", a / b),
                format!("{:.3}", a / nginx_ours),
            ]
        })
        .collect();
    findings.push(Finding::Table {
        columns: columns.map(String::from).to_vec(),
        rows,
    });
    print(&findings);
    let data = ToolsData {
        connections: o.connections,
        secs: o.secs,
        rounds: o.rounds,
        ours_over_wrk_on_nginx: mean(&ratios),
        ours_over_wrk_on_nginx_rounds: ratios,
        best_row_over_nginx: best.map(|(row, v)| BestRow {
            row: row.to_string(),
            ratio: v / nginx_ours,
        }),
        measures: all,
    };
    match serde_json::to_value(data) {
        Ok(serde_json::Value::Object(map)) => (findings, map),
        _ => unreachable!("a struct serializes to a JSON object"),
    }
}

/// The figures behind the nginx and wrk findings, kept in the result file.
#[derive(Serialize)]
struct ToolsData {
    connections: usize,
    secs: f64,
    rounds: usize,
    ours_over_wrk_on_nginx: f64,
    ours_over_wrk_on_nginx_rounds: Vec<f64>,
    best_row_over_nginx: Option<BestRow>,
    measures: Vec<Measure>,
}

#[derive(Serialize)]
struct BestRow {
    row: String,
    ratio: f64,
}

/// Write the result file (the --out path, or a new file under results/benches).
fn write(o: &Opts, doc: &ReferenceDoc) {
    let path = o.out.clone().unwrap_or_else(|| {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        workspace_root()
            .join("results/benches")
            .join(format!("http-reference-{stamp}.json"))
    });
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match dyno_core::schema::write_atomic(&path, &serde_json::to_vec_pretty(doc).unwrap()) {
        Ok(()) => println!("  written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}

/// The workspace this bench runs in, found at run time (a binary built in another checkout that shares
/// the target directory must not write into that checkout).
fn workspace_root() -> PathBuf {
    match dyno_core::workspace::Workspace::read(None) {
        Ok(ws) => ws.root,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}
