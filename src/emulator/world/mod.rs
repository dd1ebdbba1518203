//! The seeded world (WORLD.md): one deterministic organisation that both emulators serve.
//!
//! Same seed, scale and epoch ⇒ byte-identical data. The epoch is the "now" the world was built
//! around (ticket ages, grant expiries); it defaults to the start of the current UTC hour so the
//! demo's stories stay current, and tests pin it.

pub mod people;

use chrono::{DateTime, Timelike, Utc};

pub use people::{Department, Employment, People, Person, Persona};

/// How big a world to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// About 500 people, 300 open tickets: what `grantdesk demo` shows.
    Demo,
    /// 50,000 people, 100,000 tickets, 20,000 approvals: for benchmarks.
    Large,
}

/// What determines a world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldSpec {
    /// Size.
    pub scale: Scale,
    /// Random seed.
    pub seed: u64,
    /// The "now" the world is built around.
    pub epoch: DateTime<Utc>,
}

impl WorldSpec {
    /// A world at `scale` and `seed`, built around the start of the current UTC hour.
    pub fn new(scale: Scale, seed: u64) -> Self {
        let now = Utc::now();
        let epoch = now.with_nanosecond(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_minute(0)).unwrap_or(now);
        WorldSpec { scale, seed, epoch }
    }

    /// Pins the epoch (for reproducible data and tests).
    pub fn with_epoch(mut self, epoch: DateTime<Utc>) -> Self {
        self.epoch = epoch;
        self
    }
}
