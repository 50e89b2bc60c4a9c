//! A progress handle shared between long work and whoever watches it: the fraction done and a
//! cancellation flag, both atomics, so the worker (on a blocking thread) and a watcher (an
//! async task writing heartbeats) need no lock between them.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// How far a piece of work has come (a fraction in `[0, 1]`) and whether it should stop.
///
/// The worker calls [`Progress::step`] (or [`Progress::set`]) as it goes and checks
/// [`Progress::is_cancelled`] at each step; a watcher reads [`Progress::fraction`] and may call
/// [`Progress::cancel`]. Work that takes no handle uses [`Progress::none`].
///
/// ```
/// let p = gridmap_model::Progress::new();
/// p.step(1, 4);
/// assert_eq!(p.fraction(), 0.25);
/// p.cancel();
/// assert!(p.is_cancelled());
/// ```
#[derive(Debug, Default)]
pub struct Progress {
    /// `f64` bits of the fraction done.
    fraction: AtomicU64,
    cancelled: AtomicBool,
}

impl Progress {
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle nobody watches (never cancelled).
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the fraction done (clamped to `[0, 1]`; NaN counts as 0).
    pub fn set(&self, fraction: f64) {
        let f = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self.fraction.store(f.to_bits(), Ordering::Relaxed);
    }

    /// `done` of `total` steps are done (`total == 0` counts as all done).
    pub fn step(&self, done: u64, total: u64) {
        self.set(if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        });
    }

    /// The fraction done, in `[0, 1]`.
    pub fn fraction(&self) -> f64 {
        f64::from_bits(self.fraction.load(Ordering::Relaxed))
    }

    /// Asks the work to stop at its next step.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The cancellation flag itself, for work that takes an `&AtomicBool`.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_clamped_and_steps_divide() {
        let p = Progress::new();
        assert_eq!(p.fraction(), 0.0);
        p.set(1.5);
        assert_eq!(p.fraction(), 1.0);
        p.set(f64::NAN);
        assert_eq!(p.fraction(), 0.0);
        p.step(3, 4);
        assert_eq!(p.fraction(), 0.75);
        p.step(0, 0);
        assert_eq!(p.fraction(), 1.0);
        assert!(!p.is_cancelled());
        p.cancel_flag().store(true, Ordering::Relaxed);
        assert!(p.is_cancelled());
    }
}
