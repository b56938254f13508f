//! Errors: traps (spec *Execution › Results*), and the ways a module can be rejected before
//! or during instantiation.

use crate::addr::{ExnAddr, TagAddr};
use crate::values::Value;
use std::fmt;

/// A trap: the abrupt end of a computation (spec `trap`). Traps are values, never panics.
/// [`Trap::message`] gives the wording the official test suite expects, which the harness
/// matches against `assert_trap` and `assert_exhaustion`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Trap {
    /// `unreachable` was executed.
    Unreachable,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// Signed division overflow (`INT_MIN / -1`).
    IntegerOverflow,
    /// A float-to-integer truncation of NaN or of a value out of range.
    InvalidConversionToInteger,
    /// A memory access out of bounds.
    OutOfBoundsMemoryAccess,
    /// A table access out of bounds.
    OutOfBoundsTableAccess,
    /// `call_indirect` to an index past the end of the table.
    UndefinedElement,
    /// `call_indirect` through a null table element, at this table index.
    UninitializedElement(u32),
    /// `call_indirect` to a function of another type.
    IndirectCallTypeMismatch,
    /// The call depth limit was reached (spec: "call stack exhausted", resource exhaustion).
    CallStackExhausted,
    /// An atomic access, wait or notify whose effective address is not a multiple of its width.
    UnalignedAtomic,
    /// `memory.atomic.wait32/64` on an unshared memory.
    ExpectedSharedMemory,
    /// `call_ref`/`return_call_ref` of a null reference (spec 3.0).
    NullFunctionReference,
    /// `ref.as_non_null` of a null reference.
    NullReference,
    /// `struct.get`/`struct.set` of a null reference (GC).
    NullStructureReference,
    /// An array instruction on a null reference (GC).
    NullArrayReference,
    /// `i31.get_s`/`i31.get_u` of a null reference (GC).
    NullI31Reference,
    /// An array index or range out of bounds (GC).
    OutOfBoundsArrayAccess,
    /// `ref.cast` of a value that does not match the target type (GC).
    CastFailure,
    /// The configured step limit ran out (resource exhaustion; not a spec trap).
    FuelExhausted,
    /// Every remaining thread is blocked in `wait` with no timeout that can fire.
    Deadlock(String),
    /// A host function failed, or an invocation was malformed (wrong argument types).
    Host(String),
    /// `throw_ref` of a null exception reference.
    NullExceptionReference,
    /// Not a trap: an exception no handler caught left the invocation (exception handling,
    /// spec 3.0 *Results*). It travels with the traps because both end a computation
    /// abruptly; embedders tell them apart with [`Trap::is_exception`].
    Exception(UncaughtException),
    /// Not a trap: a host function ended the whole program with this exit status (WASI
    /// `proc_exit`, see [`crate::host::Caller::exit`]). The thread that called it finishes
    /// with it; the embedder stops the other threads.
    Exit(i32),
}

impl Trap {
    /// The message, in the official test suite's wording where the spec defines one.
    pub fn message(&self) -> String {
        match self {
            Trap::Unreachable => "unreachable".into(),
            Trap::IntegerDivideByZero => "integer divide by zero".into(),
            Trap::IntegerOverflow => "integer overflow".into(),
            Trap::InvalidConversionToInteger => "invalid conversion to integer".into(),
            Trap::OutOfBoundsMemoryAccess => "out of bounds memory access".into(),
            Trap::OutOfBoundsTableAccess => "out of bounds table access".into(),
            Trap::UndefinedElement => "undefined element".into(),
            Trap::UninitializedElement(i) => format!("uninitialized element {i}"),
            Trap::IndirectCallTypeMismatch => "indirect call type mismatch".into(),
            Trap::CallStackExhausted => "call stack exhausted".into(),
            Trap::UnalignedAtomic => "unaligned atomic".into(),
            Trap::ExpectedSharedMemory => "expected shared memory".into(),
            Trap::NullFunctionReference => "null function reference".into(),
            Trap::NullReference => "null reference".into(),
            Trap::NullStructureReference => "null structure reference".into(),
            Trap::NullArrayReference => "null array reference".into(),
            Trap::NullI31Reference => "null i31 reference".into(),
            Trap::OutOfBoundsArrayAccess => "out of bounds array access".into(),
            Trap::CastFailure => "cast failure".into(),
            Trap::FuelExhausted => "fuel exhausted (step limit reached)".into(),
            Trap::Deadlock(d) => format!("deadlock: {d}"),
            Trap::Host(m) => m.clone(),
            Trap::NullExceptionReference => "null exception reference".into(),
            Trap::Exception(e) => e.to_string(),
            Trap::Exit(code) => format!("the program exited with status {code}"),
        }
    }

    /// Whether this is an uncaught exception ([`Trap::Exception`]) rather than a trap.
    pub fn is_exception(&self) -> bool {
        matches!(self, Trap::Exception(_))
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Trap {}

/// Why a binary was rejected by [`crate::Module::decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleErrorKind {
    /// The binary does not decode, or does not validate (wasmparser does both in one pass;
    /// the harness treats `assert_malformed` and `assert_invalid` alike, see README).
    Invalid,
    /// The module is valid but uses a feature Heddle does not implement (for now: SIMD).
    Unsupported,
}

/// A module that could not be decoded, validated or lowered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleError {
    /// Invalid or unsupported.
    pub kind: ModuleErrorKind,
    /// What is wrong, in wasmparser's wording (which the harness matches against the
    /// suite's expected messages; it carries no location).
    pub message: String,
    /// Byte offset in the binary where the error was found, when known.
    pub offset: Option<u64>,
}

impl ModuleError {
    /// The message with its location: `at byte offset 0x1f: MESSAGE` (or the message
    /// alone when the offset is unknown). The `Display` form is the message alone.
    pub fn located(&self) -> String {
        match self.offset {
            Some(o) => format!("at byte offset {o:#x}: {self}"),
            None => self.to_string(),
        }
    }
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ModuleErrorKind::Invalid => write!(f, "{}", self.message),
            ModuleErrorKind::Unsupported => write!(f, "unsupported: {}", self.message),
        }
    }
}

impl std::error::Error for ModuleError {}

/// Why instantiation failed (spec *Modules › Instantiation*).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstantiationError {
    /// The imports do not match (wrong count, unknown import, incompatible import type):
    /// `assert_unlinkable` in the test suite. The message uses the suite's wording
    /// ("unknown import", "incompatible import type").
    Link(String),
    /// A segment was out of bounds or the start function trapped: `assert_uninstantiable`.
    Trap(Trap),
}

impl fmt::Display for InstantiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiationError::Link(m) => write!(f, "{m}"),
            InstantiationError::Trap(t) => write!(f, "{t}"),
        }
    }
}

impl std::error::Error for InstantiationError {}

/// An exception that escaped an invocation: not a trap, the other abrupt result of a
/// computation (spec 3.0 *Execution › Results*: `(ref.exn a) throw_ref`). Carried as
/// [`Trap::Exception`]; [`Trap::is_exception`] tells it from a trap.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UncaughtException {
    /// The exception's address in the store.
    pub exn: ExnAddr,
    /// Its tag.
    pub tag: TagAddr,
    /// Its payload.
    pub payload: Vec<Value>,
}

impl fmt::Display for UncaughtException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uncaught exception: tag {} (", self.tag.0)?;
        for (i, v) in self.payload.iter().enumerate() {
            write!(f, "{}{v}", if i > 0 { " " } else { "" })?;
        }
        write!(f, ")")
    }
}
