//! A workload's client process on another host, reached over SSH (OpenSSH): where it runs, how to start
//! it there, and what the driver learned of that host. The driver sets it up (`dyno run --client-host`)
//! and records it in the manifest; a cell whose workload has a client starts that client through
//! [`RemoteClient::command`] instead of on its own cores.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

/// Extra seconds the remote `timeout` grants a client beyond its own planned end before killing it,
/// so a client the local side lost (a killed cell, a dropped connection) never outlives its test by more.
pub const KILL_AFTER_S: u64 = 5;

/// The host a run's client processes run on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteClient {
    /// The ssh destination: `[user@]host`, or a `Host` of the ssh config.
    pub destination: String,
    /// Options given to ssh before the destination (e.g. `-F FILE`).
    #[serde(default)]
    pub ssh_options: Vec<String>,
    /// Directory on the remote host holding copies of the cell binaries.
    pub program_dir: String,
    /// Cores the client confines itself to on the remote host.
    pub cores: Vec<usize>,
    /// This host's address as the remote host reaches it (the client side of its SSH connection):
    /// servers listen there.
    pub server_ip: IpAddr,
    /// The remote host's own name (`hostname`), its CPU and kernel.
    pub hostname: String,
    pub host: crate::schema::Host,
    /// The remote clock minus this host's clock, in seconds, measured over ssh (to ± `round_trip_s` / 2):
    /// a client told to start at a time of this host starts at that time plus this offset there.
    pub clock_offset_s: f64,
    /// Wall time of one ssh command from start to exit, through the master connection when there is
    /// one (the least of a few): how much earlier than its start time a remote client must be launched.
    pub round_trip_s: f64,
    /// The socket of the driver's master connection (OpenSSH `ControlPath`), which every ssh command
    /// of the run shares instead of setting up a connection of its own; ssh connects directly when it
    /// is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_path: Option<String>,
}

impl RemoteClient {
    /// The ssh command that runs `program` (a file of [`Self::program_dir`]) with `args` on the remote
    /// host, bounded there by coreutils `timeout` at `limit` (plus [`KILL_AFTER_S`]). Every argument is
    /// quoted for the remote shell; stdin is not forwarded.
    pub fn command(&self, program: &str, args: &[String], limit: Duration) -> Command {
        let mut remote = format!(
            "exec timeout -k {KILL_AFTER_S} {} {}",
            limit.as_secs().max(1),
            shell_quote(&format!("{}/{program}", self.program_dir))
        );
        for a in args {
            remote.push(' ');
            remote.push_str(&shell_quote(a));
        }
        let mut cmd = self.ssh();
        cmd.arg("--").arg(remote);
        cmd
    }

    /// `ssh` with this host's options and destination, never prompting (`BatchMode`), no stdin (`-n`).
    pub fn ssh(&self) -> Command {
        self.ssh_cmd(false)
    }

    /// [`Self::ssh`] that forwards its stdin to the remote command (to copy a file through it).
    pub fn ssh_with_stdin(&self) -> Command {
        self.ssh_cmd(true)
    }

    fn ssh_cmd(&self, stdin: bool) -> Command {
        let mut cmd = Command::new("ssh");
        if !stdin {
            cmd.arg("-n");
        }
        cmd.args(["-o", "BatchMode=yes"]);
        if let Some(p) = &self.control_path {
            cmd.args(["-o", "ControlMaster=no", "-o"])
                .arg(format!("ControlPath={p}"));
        }
        cmd.args(&self.ssh_options).arg(&self.destination);
        cmd
    }

    /// One line for fairness blocks and the book: where the client ran.
    pub fn describe(&self) -> String {
        format!(
            "{} (ssh {}; {} cores of {}; clock offset {:+.1} ms)",
            self.hostname,
            self.destination,
            self.cores.len(),
            self.host.cpu_model,
            self.clock_offset_s * 1e3
        )
    }
}

/// `s` quoted for a POSIX shell: single quotes, with each `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_shell() {
        for s in [
            "plain",
            "it's",
            r#"{"url":"http://1.2.3.4:80/x?a=1&b=2","n":[1,2]}"#,
            "$(touch /nonexistent) `x` \\ \" '' ;|&",
            "",
        ] {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }

    #[test]
    fn the_remote_command_is_bounded_and_quoted() {
        let r = RemoteClient {
            destination: "root@10.0.0.2".into(),
            ssh_options: vec!["-F".into(), "/x/ssh_config".into()],
            program_dir: "/tmp/dyno bin".into(),
            cores: vec![1],
            server_ip: "10.0.0.1".parse().unwrap(),
            hostname: "b".into(),
            host: crate::schema::Host {
                cpu_model: "cpu".into(),
                cores: 2,
                memory_bytes: 0,
                kernel: "k".into(),
                os: "o".into(),
            },
            clock_offset_s: 0.0,
            round_trip_s: 0.01,
            control_path: None,
        };
        let c = r.command(
            "dyno-cell-http",
            &["generate".into(), "{'a'}".into()],
            Duration::from_secs(7),
        );
        let args: Vec<String> = c.get_args().map(|a| a.to_string_lossy().into()).collect();
        assert_eq!(
            args,
            [
                "-n",
                "-o",
                "BatchMode=yes",
                "-F",
                "/x/ssh_config",
                "root@10.0.0.2",
                "--",
                r"exec timeout -k 5 7 '/tmp/dyno bin/dyno-cell-http' 'generate' '{'\''a'\''}'"
            ]
        );
    }
}
