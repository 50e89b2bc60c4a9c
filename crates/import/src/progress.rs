//! Progress reporting hook. The CLI implements it with a progress bar; library users and tests
//! pass [`NoProgress`].

/// Receives progress of a long import. Lengths are in the unit the reader chooses (bytes of
/// input for file readers); messages name the current stage.
pub trait Progress {
    fn set_len(&self, n: u64);
    fn inc(&self, n: u64);
    fn set_message(&self, m: &str);
}

/// Ignores all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn set_len(&self, _n: u64) {}
    fn inc(&self, _n: u64) {}
    fn set_message(&self, _m: &str) {}
}
