//! Progress of a run: a bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;

/// Reports progress as a bar on a terminal, as plain lines otherwise. The total grows when adaptive
/// rounds add repeats.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: std::cell::Cell<usize>,
    pos: std::cell::Cell<usize>,
}

impl Progress {
    pub(super) fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30} repeat {pos}/{len} ETA {eta} {msg}",
                )
                .expect("static template"),
            );
            b
        });
        Progress {
            bar,
            total: total.into(),
            pos: 0.into(),
        }
    }

    pub(super) fn grow(&self, more: usize) {
        self.total.set(self.total.get() + more);
        if let Some(b) = &self.bar {
            b.set_length(self.total.get() as u64);
        }
    }

    pub(super) fn start(&self, what: &str) {
        match &self.bar {
            Some(b) => b.set_message(what.to_string()),
            None => println!("[{}/{}] {what} ...", self.pos.get() + 1, self.total.get()),
        }
    }

    pub(super) fn line(&self, line: String) {
        match &self.bar {
            Some(b) => b.println(line),
            None => println!("{line}"),
        }
    }

    pub(super) fn done(&self, line: String) {
        self.pos.set(self.pos.get() + 1);
        let line = format!("[{}/{}] {line}", self.pos.get(), self.total.get());
        match &self.bar {
            Some(b) => {
                b.println(line);
                b.inc(1);
            }
            None => println!("{line}"),
        }
    }

    pub(super) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
