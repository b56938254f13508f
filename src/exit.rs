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

    /// The more serious of two statuses (for runs over several files).
    pub fn max(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// Record `other` into `self`.
    pub fn add(&mut self, other: Status) {
        *self = self.max(other);
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
