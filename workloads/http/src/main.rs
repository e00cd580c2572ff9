//! `dyno-cell-http`: the HTTP workload's cell binary (the server), and with `generate CONFIG` its load
//! generator process.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(dyno_http::generator::SUBCOMMAND) {
        return dyno_http::generator::main(&args[2..]);
    }
    dyno_rows::client_server::<dyno_http::Http>()
        .with_references()
        .main()
}
