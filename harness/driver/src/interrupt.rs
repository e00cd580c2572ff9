//! Ctrl-C and SIGTERM. The first signal kills the running cell's process group at once (the cell, and
//! whatever it started: load generator, wrk, nginx, perf) and asks the run to stop before it records
//! anything more; the run then marks its manifest interrupted, says how to resume, and exits 130 or 143.
//! A second signal exits at once.

use std::sync::atomic::{AtomicI32, Ordering::SeqCst};

/// The first signal received, 0 if none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Cell processes that may run at once: the rows of one parameter set time-sliced together
/// (`crate::slice`), with room to spare; a cell beyond them is refused (`Running::new`).
pub const MAX_RUNNING: usize = 64;

/// The process groups of the cells running now, 0 in a free slot. A signal handler cannot take a lock,
/// so each is an atomic slot.
static GROUPS: [AtomicI32; MAX_RUNNING] = [const { AtomicI32::new(0) }; MAX_RUNNING];

/// The run stopped on a signal: exit code 128 + the signal.
#[derive(Debug)]
pub struct Interrupted(pub i32);

impl Interrupted {
    pub fn name(&self) -> &'static str {
        match self.0 {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }

    pub fn exit_code(&self) -> u8 {
        (128 + self.0).clamp(1, 255) as u8
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.name())
    }
}

impl std::error::Error for Interrupted {}

/// Handle SIGINT and SIGTERM from now on (idempotent).
pub fn install() -> std::io::Result<()> {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the handler only does atomic loads and stores, kill(2) and _exit(2), all
            // async-signal-safe.
            if let Err(e) = unsafe { signal_hook::low_level::register(sig, move || on_signal(sig)) }
            {
                result = Err(e);
            }
        }
    });
    result
}

fn on_signal(sig: i32) {
    for slot in &GROUPS {
        let group = slot.load(SeqCst);
        if group > 0 {
            // SAFETY: kill(2) is async-signal-safe; the group is a running cell's own.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
    }
    if SIGNAL.swap(sig, SeqCst) != 0 {
        // The second signal: stop at once.
        // SAFETY: _exit(2) is async-signal-safe.
        unsafe { libc::_exit(128 + sig) }
    }
}

/// The signal received, if any.
pub fn requested() -> Option<Interrupted> {
    match SIGNAL.load(SeqCst) {
        0 => None,
        s => Some(Interrupted(s)),
    }
}

/// `Err(Interrupted)` once a signal has come: called before recording anything a killed cell returned.
pub fn check() -> anyhow::Result<()> {
    match requested() {
        Some(i) => Err(i.into()),
        None => Ok(()),
    }
}

/// While alive, a signal kills process group `pgid` (a cell running in a group of its own).
pub struct Running(usize);

impl Running {
    /// Watch `pgid`; an error when [`MAX_RUNNING`] cells already run (the caller kills it).
    pub fn new(pgid: i32) -> std::io::Result<Running> {
        let slot = GROUPS
            .iter()
            .position(|g| g.compare_exchange(0, pgid, SeqCst, SeqCst).is_ok())
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "more than {MAX_RUNNING} cell processes at once; run fewer rows"
                ))
            })?;
        // A signal that came between the spawn and now still stops the cell.
        if requested().is_some() {
            // SAFETY: the group is the cell's own, not yet reaped.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        Ok(Running(slot))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        GROUPS[self.0].store(0, SeqCst);
    }
}

/// Wait up to `limit` until no process of group `pgid` is left (its members were killed; the ones
/// that were not the cell's children are reparented and reaped by init).
pub fn wait_group_gone(pgid: i32, limit: std::time::Duration) -> bool {
    let until = std::time::Instant::now() + limit;
    loop {
        // SAFETY: signal 0 only checks whether the group has a member.
        let alive = unsafe { libc::kill(-pgid, 0) } == 0;
        if !alive {
            return true;
        }
        if std::time::Instant::now() >= until {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::Command;

    const PROBE: &str = "DYNO_INTERRUPT_PROBE";
    const NAME: &str =
        "interrupt::tests::the_first_signal_stops_the_cell_and_the_second_exits_at_once";

    /// Signals are process-wide: the probe runs in a child process of this test binary.
    #[test]
    fn the_first_signal_stops_the_cell_and_the_second_exits_at_once() {
        if std::env::var_os(PROBE).is_some() {
            return probe();
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads", "1"])
            .env(PROBE, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(128 + libc::SIGTERM),
            "the second signal (SIGTERM) exits at once with its code: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("first: cell killed, stop requested"),
            "{stdout}"
        );
        assert!(!stdout.contains("after the second"), "{stdout}");
    }

    fn probe() {
        install().unwrap();
        let mut cell = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let running = Running::new(cell.id() as i32).unwrap();
        // SAFETY: raise(3) delivers the signal to this thread; the handler is installed.
        unsafe { libc::raise(libc::SIGINT) };
        let status = cell.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "the cell's group is killed"
        );
        assert_eq!(requested().map(|i| i.exit_code()), Some(130));
        assert!(check().is_err());
        drop(running);
        println!("first: cell killed, stop requested");
        std::io::stdout().flush().unwrap();
        // SAFETY: as above.
        unsafe { libc::raise(libc::SIGTERM) };
        println!("after the second");
    }
}
