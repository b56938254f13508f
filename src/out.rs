//! Writing to standard output through one helper, so that every subcommand ends quietly
//! when its reader goes away (`heddle explore … | head`): Rust ignores `SIGPIPE`, so a
//! write to a closed pipe fails with `EPIPE`, and `println!` would panic on it (exit
//! status 101).
//!
//! On a broken pipe the command stops at once, with the most serious status it had
//! recorded so far ([`crate::exit::worst_so_far`]): the reader chose to stop reading, which
//! is neither a failure of the command nor a reason to hide one it had already found. Any
//! other write error (a full disk) is reported on standard error, with status 2.

use crate::exit::{worst_so_far, Status};
use std::io::Write;

/// Write `args` to standard output (see the module documentation for errors).
pub fn write_fmt(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        end_on(&e);
    }
}

/// Write `bytes` to standard output (see the module documentation for errors).
pub fn write_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        end_on(&e);
    }
}

/// End the process after the write error `e`.
fn end_on(e: &std::io::Error) -> ! {
    let status = if e.kind() == std::io::ErrorKind::BrokenPipe {
        worst_so_far()
    } else {
        eprintln!("heddle: cannot write to standard output: {e}");
        worst_so_far().max(Status::Usage)
    };
    std::process::exit(i32::from(status.code()))
}

/// `println!` through [`write_fmt`].
macro_rules! outln {
    () => {
        $crate::out::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`write_fmt`].
#[allow(unused_macros)]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write_fmt(format_args!($($arg)*))
    };
}

#[allow(unused_imports)]
pub(crate) use out;
pub(crate) use outln;
