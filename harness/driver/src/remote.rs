//! `--client-host`: set up the host that runs the workloads' client processes, over OpenSSH. Probe it
//! (name, CPU, kernel, cores, the address it reaches this host at, its clock against ours), copy the
//! cell binaries of workloads that declare a client into a directory of its own, and check that they
//! run there. The cells then start their clients through `dyno_core::remote::RemoteClient::command`.

use crate::discover::WorkloadBin;
use anyhow::{Context, Result, bail};
use dyno_core::remote::{RemoteClient, shell_quote};
use dyno_core::schema::Host;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// What the user asked for: where, how to reach it, and which of its cores the clients may use.
pub struct Request<'a> {
    pub destination: &'a str,
    pub ssh_options: Vec<String>,
    /// `None`: every core the remote login may use.
    pub cores: Option<Vec<usize>>,
}

/// Clock samples taken over one ssh session; the one that arrived soonest after it was taken counts.
const CLOCK_SAMPLES: usize = 5;

/// Round trips timed once the master connection is up; the least counts.
const ROUND_TRIPS: usize = 3;

/// How long the master connection may take to come up.
const MASTER_TIMEOUT: Duration = Duration::from_secs(15);

/// The run's hold on the client host: the master connection every ssh command shares, and the copied
/// binaries. Dropping it removes the copies and closes the connection.
pub struct Session {
    pub client: RemoteClient,
    master: Option<Child>,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = run(
            &self.client,
            &format!("rm -rf {}", shell_quote(&self.client.program_dir)),
        );
        if let Some(mut m) = self.master.take() {
            let _ = m.kill();
            let _ = m.wait();
        }
        if let Some(p) = &self.client.control_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Open the master connection (ssh -M) at a socket of this process; it dies with the driver.
fn master(r: &RemoteClient, path: &str) -> Result<Child> {
    let mut cmd = Command::new("ssh");
    cmd.args([
        "-M",
        "-N",
        "-o",
        "BatchMode=yes",
        "-o",
        "ControlPersist=no",
        "-o",
    ])
    .arg(format!("ControlPath={path}"))
    .args(&r.ssh_options)
    .arg(&r.destination)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe; the master gets SIGTERM when the driver's thread exits.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("cannot start ssh (OpenSSH's client)")?;
    let deadline = Instant::now() + MASTER_TIMEOUT;
    while !std::path::Path::new(path).exists() {
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            bail!(
                "ssh {} failed ({status}): {}",
                r.destination,
                last_line(err.as_bytes())
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "ssh {} did not connect within {MASTER_TIMEOUT:?}",
                r.destination
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

/// Connect to the remote host, probe it, copy `bins` into `.cache/dyno/<run_id>` under its login's
/// home, and check that each runs there.
pub fn setup(req: &Request, run_id: &str, bins: &[&WorkloadBin]) -> Result<Session> {
    let mut r = RemoteClient {
        destination: req.destination.to_string(),
        ssh_options: req.ssh_options.clone(),
        program_dir: format!(".cache/dyno/{run_id}"),
        cores: vec![],
        server_ip: std::net::Ipv4Addr::UNSPECIFIED.into(),
        hostname: String::new(),
        host: Host {
            cpu_model: String::new(),
            cores: 0,
            memory_bytes: 0,
            kernel: String::new(),
            os: String::new(),
        },
        clock_offset_s: 0.0,
        round_trip_s: 0.0,
        control_path: None,
    };
    eprintln!("client host {}: connecting over ssh", r.destination);
    let path = control_path(&r);
    let child = master(&r, &path)?;
    r.control_path = Some(path);
    let mut session = Session {
        client: r.clone(),
        master: Some(child),
    };
    r.round_trip_s = (0..ROUND_TRIPS)
        .map(|_| {
            let t0 = Instant::now();
            run(&r, "true").map(|_| t0.elapsed().as_secs_f64())
        })
        .collect::<Result<Vec<f64>>>()?
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    let facts = run(
        &r,
        "hostname; uname -r; (. /etc/os-release 2>/dev/null; echo \"${PRETTY_NAME:-unknown}\"); \
         grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-; grep -m1 MemTotal /proc/meminfo; \
         grep Cpus_allowed_list /proc/self/status | cut -f2; echo \"$SSH_CONNECTION\"",
    )?;
    let lines: Vec<&str> = facts.lines().map(str::trim).collect();
    let [hostname, kernel, os, cpu, mem, allowed, conn] = lines[..] else {
        bail!(
            "the probe of {} printed {} lines, not 7 (is its login shell POSIX?): {facts:?}",
            r.destination,
            lines.len()
        );
    };
    let allowed = dyno_core::cli::parse_cores(allowed)
        .map_err(|e| anyhow::anyhow!("{}'s allowed cores: {e}", r.destination))?
        .0;
    r.cores = match &req.cores {
        Some(c) => {
            if let Some(x) = c.iter().find(|x| !allowed.contains(x)) {
                return Err(crate::UsageError(format!(
                    "--client-cores: core {x} is not available on {}; accepted: {}",
                    r.destination,
                    crate::discover::join(&allowed)
                ))
                .into());
            }
            c.clone()
        }
        None => allowed.clone(),
    };
    r.server_ip = conn
        .split_whitespace()
        .next()
        .and_then(|ip| ip.parse().ok())
        .with_context(|| {
            format!(
                "{} did not say which address it reaches this host at (SSH_CONNECTION is {conn:?})",
                r.destination
            )
        })?;
    r.hostname = hostname.to_string();
    r.host = Host {
        cpu_model: cpu.to_string(),
        cores: allowed.len(),
        memory_bytes: mem
            .split_whitespace()
            .nth(1)
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024),
        kernel: kernel.to_string(),
        os: os.to_string(),
    };
    r.clock_offset_s = clock_offset(&r)?;

    run(&r, &format!("mkdir -p {}", shell_quote(&r.program_dir)))?;
    for b in bins {
        let name = b
            .bin
            .file_name()
            .and_then(|n| n.to_str())
            .context("a cell binary has no file name")?;
        eprintln!("client host {}: copying {name}", r.destination);
        // Through ssh's stdin rather than scp, which needs an SFTP subsystem on recent OpenSSH.
        let path = format!("{}/{name}", r.program_dir);
        let part = shell_quote(&format!("{path}.part"));
        let file = std::fs::File::open(&b.bin)
            .with_context(|| format!("cannot read {}", b.bin.display()))?;
        let out = r
            .ssh_with_stdin()
            .arg("--")
            .arg(format!(
                "cat > {part} && chmod 755 {part} && mv {part} {}",
                shell_quote(&path)
            ))
            .stdin(file)
            .output()
            .context("cannot start ssh (OpenSSH's client)")?;
        if !out.status.success() {
            bail!(
                "cannot copy {} to {}: {}",
                b.bin.display(),
                r.destination,
                last_line(&out.stderr)
            );
        }
        run(
            &r,
            &format!(
                "{} describe >/dev/null",
                shell_quote(&format!("{}/{name}", r.program_dir))
            ),
        )
        .with_context(|| {
            format!(
                "the copy of {name} does not run on {} (the same CPU architecture and a C library at least \
                 as new as this host's are needed)",
                r.destination
            )
        })?;
    }
    eprintln!(
        "client host {}: {}; ssh round trip {:.1} ms; servers listen on {}",
        r.destination,
        r.describe(),
        r.round_trip_s * 1e3,
        r.server_ip
    );
    session.client = r;
    Ok(session)
}

/// The master connection's socket: short (a socket path has at most 107 bytes), of this process, and
/// named by a hash of the destination and options.
fn control_path(r: &RemoteClient) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&r.destination, &r.ssh_options).hash(&mut h);
    std::env::temp_dir()
        .join(format!(
            "dyno-ssh-{}-{:016x}",
            std::process::id(),
            h.finish()
        ))
        .display()
        .to_string()
}

/// Run `script` through the remote login shell; its stdout, or the reason it failed.
fn run(r: &RemoteClient, script: &str) -> Result<String> {
    let out = r
        .ssh()
        .arg("--")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .context("cannot start ssh (OpenSSH's client)")?;
    if !out.status.success() {
        bail!(
            "ssh {} failed ({}): {}",
            r.destination,
            out.status,
            last_line(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The remote clock minus ours: the remote prints its time a few times over one session; each line is
/// compared with our clock when it arrives, and the smallest gap (the least delayed line) counts, so
/// the estimate is off by at most that line's one-way delay.
fn clock_offset(r: &RemoteClient) -> Result<f64> {
    let mut child = r
        .ssh()
        .arg("--")
        .arg(format!(
            "for i in $(seq {CLOCK_SAMPLES}); do date +%s.%N; sleep 0.02; done"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start ssh (OpenSSH's client)")?;
    let mut best: Option<f64> = None;
    for line in std::io::BufReader::new(child.stdout.take().expect("piped")).lines() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let Ok(remote) = line.unwrap_or_default().trim().parse::<f64>() else {
            continue;
        };
        // The largest remote-minus-local is the line that waited least on the way.
        let offset = remote - now;
        best = Some(best.map_or(offset, |b: f64| b.max(offset)));
    }
    let out = child.wait_with_output().context("ssh did not finish")?;
    match best {
        Some(o) if out.status.success() => Ok(o),
        _ => bail!(
            "cannot read {}'s clock (date +%s.%N): {}",
            r.destination,
            last_line(&out.stderr)
        ),
    }
}

fn last_line(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    s.trim().lines().last().unwrap_or("no message").to_string()
}
