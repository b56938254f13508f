//! The exit statuses of every `heddle` subcommand, one convention (documented in the README,
//! section *Exit statuses*):
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | success: everything ran and nothing failed |
//! | 1 | a failure or a finding: a failing directive, a trap, an uncaught exception, an outcome the model forbids |
//! | 2 | bad usage or unreadable input: an unknown or nonsensical option, a missing or unreadable file, a module or litmus file that does not decode or parse |
//! | 3 | incomplete results: a bound was hit (fuel, timeout, `--max-executions`, ...) before the answer was complete, a program was refused as too large (`heddle litmus`, `heddle explore`), or merged shards are missing, and nothing failed |
//!
//! When a run has several of these (several files), the status is the most serious:
//! 2, then 1, then 3, then 0.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};

/// The rank of the most serious status any [`Status::add`] recorded in this process: the
/// status a command ends with when its output is cut off ([`crate::out`]).
static WORST: AtomicU8 = AtomicU8::new(0);

/// The most serious status recorded so far by [`Status::add`].
pub fn worst_so_far() -> Status {
    Status::of_rank(WORST.load(Ordering::Relaxed))
}

/// The exit status of a `heddle` subcommand. `Ord` orders by seriousness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 0: success.
    Success,
    /// 3: incomplete results (a bound was hit), and nothing failed.
    Incomplete,
    /// 1: a failure or a finding.
    Failure,
    /// 2: bad usage or unreadable input.
    Usage,
}

impl Status {
    /// The numeric exit status.
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failure => 1,
            Status::Usage => 2,
            Status::Incomplete => 3,
        }
    }

    fn rank(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Incomplete => 1,
            Status::Failure => 2,
            Status::Usage => 3,
        }
    }

    fn of_rank(rank: u8) -> Status {
        match rank {
            0 => Status::Success,
            1 => Status::Incomplete,
            2 => Status::Failure,
            _ => Status::Usage,
        }
    }

    /// The more serious of two statuses (for runs over several files).
    pub fn max(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// Record `other` into `self` (and into [`worst_so_far`]).
    pub fn add(&mut self, other: Status) {
        *self = self.max(other);
        WORST.fetch_max(self.rank(), Ordering::Relaxed);
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_status_wins() {
        let mut s = Status::Success;
        s.add(Status::Incomplete);
        assert_eq!(s, Status::Incomplete);
        s.add(Status::Failure);
        assert_eq!(s, Status::Failure);
        s.add(Status::Incomplete);
        assert_eq!(s, Status::Failure);
        s.add(Status::Usage);
        assert_eq!(s.code(), 2);
    }
}
