//! Terminal progress bars (indicatif) behind the importer's `Progress` trait. Hidden when stderr
//! is not a terminal or `--quiet` is given, so scripts and logs stay clean.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(quiet: bool, prefix: &str) -> Self {
        let pb = ProgressBar::new(0);
        if quiet || !std::io::stderr().is_terminal() {
            pb.set_draw_target(ProgressDrawTarget::hidden());
        }
        let style = ProgressStyle::with_template(
            "{prefix:>10} {spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        pb.set_style(style);
        pb.set_prefix(prefix.to_owned());
        pb.enable_steady_tick(Duration::from_millis(120));
        Self(pb)
    }
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
    /// Position and length of the bar.
    pub fn position(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
    pub fn message(&self, m: &str) {
        self.0.set_message(m.to_owned());
    }
}

impl gridmap_import::Progress for Bar {
    fn set_len(&self, n: u64) {
        self.0.set_length(n);
    }
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_message(&self, m: &str) {
        self.0.set_message(m.to_owned());
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
