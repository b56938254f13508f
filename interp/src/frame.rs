//! Activation frames (spec *Runtime Structure › Stack › Activation Frames*): the frame of a
//! function call on a thread's frame stack, named by [`crate::exn`] (unwinding) and
//! [`crate::exec`] (calls and returns), re-exported at its former path in [`crate::exec`].

use crate::addr::InstanceAddr;
use crate::syntax::Module;
use std::sync::Arc;

/// A function activation (spec `frame`): the code it runs, where it is, where its locals
/// start on the thread's slot stack, and its module instance.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub(crate) module: Arc<Module>,
    pub(crate) func: u32,
    pub(crate) instance: InstanceAddr,
    /// The next instruction; in a caller's frame, the one after the call.
    pub(crate) pc: usize,
    /// Index of local 0 in `Thread::stack` (in [`crate::exec`]).
    pub(crate) fp: usize,
}
