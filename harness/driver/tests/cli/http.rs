//! The http workload end to end: `dyno serve`, and a run whose load generators run on another host.

use super::*;

/// `dyno serve` runs the http workload's server on a row until SIGINT, for any client: requests on a
/// keep-alive connection (and wrk, where installed) are answered; a taken port and a workload without a
/// server are one clear line each.
#[test]
fn serve_answers_any_client_until_ctrl_c() {
    let _ = bin_dir();
    let serve = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dyno"));
        c.current_dir(workspace())
            .arg("serve")
            .arg("--bin-dir")
            .arg(bin_dir())
            .args(args);
        c
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut child = serve(&["-w", "http", "-r", "tokio", "--port", &port])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(
        line.contains(&format!("http://127.0.0.1:{port}/")),
        "{line}"
    );

    // Ten requests on one keep-alive connection.
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    for _ in 0..10 {
        std::io::Write::write_all(&mut s, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = [0u8; 512];
        let n = std::io::Read::read(&mut s, &mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(
            text.starts_with("HTTP/1.1 200") && text.ends_with("Hello, World!"),
            "{text}"
        );
    }
    drop(s);
    if Path::new("/usr/bin/wrk").is_file() {
        let o = Command::new("/usr/bin/wrk")
            .args([
                "-t1",
                "-c8",
                "-d1s",
                &format!("http://127.0.0.1:{port}/plaintext"),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("Requests/sec") && !text.contains("Non-2xx"),
            "{text}"
        );
    }

    // The port is taken now: a second server says so.
    let o = serve(&["-w", "http", "-r", "smol", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("the port is taken"), "{}", stderr(&o));
    let o = serve(&["-w", "fanout", "-r", "tokio"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no server"), "{}", stderr(&o));

    // SIGINT stops it cleanly.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.contains("stopped after"), "{rest}");
}

/// `scripts/two-hosts.sh` with a namespace, subnet and state directory of this test's own; `down` on drop.
struct TwoHosts {
    env: Vec<(&'static str, String)>,
    ns: String,
    net: String,
    dir: PathBuf,
}

impl TwoHosts {
    /// Why two hosts cannot be set up here, if they cannot.
    fn missing() -> Option<String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Some("not root (network namespaces and an sshd need it)".into());
        }
        for (tool, pkg) in [
            ("ip", "iproute2"),
            ("sshd", "openssh-server"),
            ("ssh", "openssh-client"),
        ] {
            let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
                .iter()
                .any(|d| Path::new(d).join(tool).is_file());
            if !found {
                return Some(format!("{tool} is not installed ({pkg})"));
            }
        }
        None
    }

    fn script(&self, cmd: &str) -> Output {
        Command::new("bash")
            .arg(workspace().join("scripts/two-hosts.sh"))
            .arg(cmd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    fn up(state: &Path) -> TwoHosts {
        let id = std::process::id();
        let ns = format!("dt{}", id % 1_000_000);
        let net = format!("10.79.{}", id % 250);
        let dir = state.join("two-hosts");
        let h = TwoHosts {
            env: vec![
                ("DYNO_NETNS", ns.clone()),
                ("DYNO_NET", net.clone()),
                ("DYNO_TWO_HOSTS_DIR", dir.display().to_string()),
            ],
            ns,
            net,
            dir,
        };
        let o = h.script("up");
        assert!(o.status.success(), "two-hosts.sh up: {}", stderr(&o));
        h
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        let o = self.script("down");
        if !std::thread::panicking() {
            assert!(o.status.success(), "two-hosts.sh down: {}", stderr(&o));
        }
    }
}

/// Two hosts in one machine (a network namespace with its own sshd, `scripts/two-hosts.sh`): the http
/// cell's load generator runs on the client host over ssh, the server listens on the address that host
/// reaches, the manifest and the fairness block name the client host, the server answered exactly what
/// the remote generator counted, cells that cannot run remotely are skipped with the reason, and the
/// copied binaries are gone when the run ends.
#[test]
fn an_http_run_across_two_hosts_loads_from_the_client_host() {
    if let Some(why) = TwoHosts::missing() {
        dyno_core::skip::skip("two hosts (network namespace + sshd)", &why);
        return;
    }
    let allowed = dyno_core::os::allowed_cores();
    if allowed.len() < 2 {
        dyno_core::skip::skip("two hosts", "fewer than 2 cores to pin the two hosts apart");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let hosts = TwoHosts::up(tmp.path());
    let results = tmp.path().join("results");
    let (server, client) = (allowed[0].to_string(), allowed[1].to_string());
    let config = hosts.dir.join("ssh_config").display().to_string();
    let o = dyno(
        &results,
        &[
            &http_plaintext("connections=16", "generator=dyno,wrk")[..],
            &[
                "--duration",
                "1",
                // The quick profile's warm-up: shorter than a generator's start over ssh, which the
                // driver adds to it.
                "--warmup",
                "0.4",
                "--repeat",
                "1",
                "--cores",
                &server,
                "--client-host",
                &hosts.ns,
                "--client-cores",
                &client,
                "--ssh-config",
                &config,
            ],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let run = latest(&results);
    let m: dyno_core::schema::Manifest =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let r = m.client_host.expect("the manifest names the client host");
    assert_eq!(r.hostname, hosts.ns, "the namespace's own host name");
    assert_eq!(r.server_ip.to_string(), format!("{}.1", hosts.net));
    assert_eq!(r.cores, vec![allowed[1]]);
    assert!(
        r.round_trip_s > 0.0 && r.clock_offset_s.abs() < 0.1,
        "{r:?}"
    );
    let lead = m.settings.warmup_s - 0.4;
    assert!(
        (lead - 2.0 * r.round_trip_s).abs() < 1e-3,
        "the warm-up takes on two ssh round trips: {} s against {r:?}",
        m.settings.warmup_s
    );
    let cells = cells(&run);
    assert_eq!(cells.len(), 2);
    for c in &cells {
        let remote = c.params.0.get("generator").map(|g| g.to_string()) == Some("dyno".into());
        if !remote {
            assert_eq!(
                c.status,
                dyno_core::schema::Status::Skipped,
                "{:?}",
                c.error
            );
            continue;
        }
        assert_eq!(c.status, dyno_core::schema::Status::Ok, "{:?}", c.error);
        assert_eq!(c.fairness.client_cores, vec![allowed[1]]);
        assert_eq!(
            c.fairness.cores,
            vec![allowed[0]],
            "the server has every --cores core"
        );
        assert!(
            c.fairness
                .client_host
                .as_deref()
                .is_some_and(|h| h.contains(&hosts.ns)),
            "{:?}",
            c.fairness
        );
        let fig = |k: &str| c.repeats[0].metrics[k];
        assert!(fig("server_requests") > 0.0);
        assert_eq!(fig("server_requests"), fig("generator_responses"));
        assert!(
            fig("generator_cpu_s") > 0.0,
            "the remote generator reported its CPU"
        );
    }
    // The run removed its copies from the client host.
    let left = Command::new("ssh")
        .args(["-F", &config, "-n", &hosts.ns, "--"])
        .arg(format!("test -e .cache/dyno/{}", m.run_id))
        .status()
        .unwrap();
    assert_eq!(left.code(), Some(1), "the copied binaries are removed");
}
