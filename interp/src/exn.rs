//! Exception handling (Wasm 3.0): the handlers of a lowered function and the unwinding of
//! a thread's frames by a thrown exception (spec 3.0 *Execution › Instructions › Control
//! Instructions*: `throw`, `throw_ref`, `try_table`, and the `handler` administrative
//! instruction), plus the legacy exception instructions (`try` with `catch`/`catch_all`,
//! `delegate`, `rethrow`; the legacy exception-handling proposal, kept in the spec's
//! appendix and in the suite's `legacy/` directory).
//!
//! Control is flattened at load time ([`crate::syntax`]): there is no run-time label stack,
//! so neither are the spec's handler frames `handler_n{catch*} instr* end` pushed at run
//! time. Each function instead carries a static table of its handlers ([`Handler`]), one
//! per `try_table` (or legacy `try`), each with the range of code its body covers and the
//! operand-stack heights its clauses restore. Where the spec's `throw_ref` reduces in the
//! innermost handler context `H[...]` around it, `throw_ref` finds the innermost handler
//! whose range contains the throwing instruction (or, in a caller frame, the calling one):
//! the same handler, as the ranges nest exactly as the `handler` frames would.
//!
//! The legacy `catch` bodies get the caught exception in a hidden local (one per legacy
//! `try`, after the declared locals, of type `exnref`), which `rethrow l` reads: the spec's
//! `caught{exn}` administrative frame, stored where the flattened code can reach it.

pub use crate::error::UncaughtException;
use crate::frame::Frame;
use crate::runtime::{slot_to_value, value_to_slot, Slot};
use crate::store::{ExnAddr, ExnInst, Store, TagAddr};
pub use crate::syntax::{Catch, Handler, HandlerKind, LegacyCatch};
use crate::values::Value;
use crate::Trap;

/// Spec 3.0 *throw x*, the allocation: pop the tag's payload (its parameter types) off
/// the operand stack and allocate an exception instance `{tag a, fields val*}`. The caller
/// then throws it with [`throw_ref`].
pub(crate) fn alloc_exn(store: &mut Store, stack: &mut Vec<Slot>, tag: TagAddr) -> ExnAddr {
    let params = &store.tags[tag.0 as usize].ty.params;
    let at = stack.len() - params.len();
    let fields = stack[at..]
        .iter()
        .zip(params)
        .map(|(s, t)| slot_to_value(*s, *t))
        .collect();
    stack.truncate(at);
    store.exns.push(ExnInst { tag, fields });
    ExnAddr(store.exns.len() as u32 - 1)
}

/// Spec 3.0 *throw_ref*, the unwinding: the exception `exn` is thrown at the instruction
/// before the top frame's saved pc. Frame by frame, from the innermost handler whose range
/// contains that instruction outwards:
///
/// - `try_table`: the first clause whose tag is the exception's (or a `catch_all`) catches
///   it: the operand stack is cut back to the clause's label, the payload (for `catch`,
///   `catch_ref`) and the exception reference (for the `_ref` clauses) are pushed, and
///   execution continues at the label (spec: `handler_n{catch*} T[(ref.exn a) throw_ref]
///   end` with a matching `catch` reduces to the payload and `br l`);
/// - legacy `try`: the first matching `catch x` or `catch_all` body runs on the try's
///   operand base with the payload, the exception kept in its hidden local for `rethrow`;
/// - legacy `delegate l`: the search continues with the handler in force at label `l`;
/// - no handler catches it: the frame is popped (spec: `frame_n{F} T[throw_ref] end`
///   reduces to `throw_ref` in the caller) and the search goes on at the caller's call.
///
/// An exception that leaves the outermost frame ends the invocation with
/// [`Trap::Exception`]. `Ok` when a handler caught it; the top frame then continues at its
/// (updated) pc.
pub(crate) fn throw_ref(
    frames: &mut Vec<Frame>,
    stack: &mut Vec<Slot>,
    store: &Store,
    exn: ExnAddr,
) -> Result<(), Trap> {
    let inst = &store.exns[exn.0 as usize];
    let exn_slot = value_to_slot(&Value::ExnRef(Some(exn)));
    while let Some(frame) = frames.last_mut() {
        let module = frame.module.clone();
        let func = &module.funcs[frame.func as usize];
        let nparams = module.func_type(func.type_idx).params.len();
        let base = frame.fp + nparams + func.locals.len();
        let at = frame.pc.saturating_sub(1) as u32;
        let tags = &store.instances[frame.instance.0 as usize].tags;
        let matches = |tag: Option<u32>| tag.is_none_or(|x| tags[x as usize] == inst.tag);
        let payload = || inst.fields.iter().map(value_to_slot);
        // The innermost handler covering `at`: handlers are numbered in the order their
        // blocks begin, and their ranges nest.
        let mut h = func
            .handlers
            .iter()
            .rposition(|h| h.start <= at && at < h.end);
        while let Some(i) = h {
            let handler = &func.handlers[i];
            match &handler.kind {
                HandlerKind::TryTable(catches) => {
                    if let Some(c) = catches.iter().find(|c| matches(c.tag)) {
                        stack.truncate(base + c.height as usize);
                        if c.tag.is_some() {
                            stack.extend(payload());
                        }
                        if c.with_ref {
                            stack.push(exn_slot);
                        }
                        frame.pc = c.pc as usize;
                        return Ok(());
                    }
                    h = handler.parent.map(|p| p as usize);
                }
                HandlerKind::Legacy { catches, exn_local } => {
                    if let Some(c) = catches.iter().find(|c| matches(c.tag)) {
                        stack.truncate(base + handler.height as usize);
                        if c.tag.is_some() {
                            stack.extend(payload());
                        }
                        stack[frame.fp + *exn_local as usize] = exn_slot;
                        frame.pc = c.pc as usize;
                        return Ok(());
                    }
                    h = handler.parent.map(|p| p as usize);
                }
                HandlerKind::Delegate(next) => h = next.map(|p| p as usize),
            }
        }
        stack.truncate(frame.fp);
        frames.pop();
    }
    Err(Trap::Exception(UncaughtException {
        exn,
        tag: inst.tag,
        payload: inst.fields.clone(),
    }))
}
