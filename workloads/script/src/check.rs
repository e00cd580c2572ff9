//! `dyno script-check FILE...`: run script files in order through the workload's pooled sandbox path
//! (one pool, so a later file gets the runtime an earlier one returned) and print one line per file:
//! `FILE ok: <result JSON>` or `FILE <timeout|memory|stack|syntax|exception|output-too-large>: <message>`.
//! Exit 0 when every file ran, whatever its outcome; 2 on usage errors (no file, a missing file, bad input).

use clap::Parser;
use dyno_script::{Limits, Script, Strategy, evaluate};
use std::path::PathBuf;
use std::process::ExitCode;

/// Run JavaScript files in dyno's script sandbox, one line per file.
#[derive(Parser)]
#[command(name = "dyno script-check", version)]
struct Args {
    /// The JSON value passed to each script's `main(input)`.
    #[arg(long, default_value = "{}")]
    input: String,
    /// Wall-clock deadline per evaluation, e.g. 100ms, 2s.
    #[arg(long, default_value = "100ms", value_parser = dyno_core::cli::parse_seconds)]
    deadline: f64,
    /// Memory limit per runtime, in MiB.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    memory_mib: u64,
    /// Script files: each declares `function main(input)`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&args.input) {
        eprintln!(
            "error: --input is not JSON ({e}); accepted: any JSON value, e.g. '{{\"a\": 1}}'"
        );
        return ExitCode::from(2);
    }
    let mut scripts = Vec::with_capacity(args.files.len());
    for f in &args.files {
        match Script::read(f) {
            Ok(s) => scripts.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let limits = Limits {
        deadline: std::time::Duration::from_secs_f64(args.deadline),
        memory_bytes: (args.memory_mib as usize) << 20,
        ..Limits::default()
    };
    for s in &scripts {
        match evaluate(Strategy::Pooled, &limits, s, &args.input) {
            Ok(out) => {
                for line in &out.log {
                    println!("{} log: {line}", s.name);
                }
                println!("{} ok: {}", s.name, out.json);
            }
            Err(e) => println!("{} {}: {}", s.name, e.kind.name(), e.message),
        }
    }
    ExitCode::SUCCESS
}
