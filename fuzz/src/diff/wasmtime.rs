//! wasmtime 48 (Cranelift, in process) as a [`DiffEngine`].
//!
//! Configured for the features wasm-smith generates here (threads with shared memories,
//! SIMD without relaxed SIMD, bulk memory, reference types, multi-value), with fuel on and
//! NaN canonicalisation on (the generator canonicalises NaNs too, see
//! [`super::generate`]).

use super::engine::{
    opaque_ref, Compiled, Compiler, DiffEngine, EngineInstantiation, EngineOutcome,
};
use crate::oracle::{TableView, TrapKind};
use heddle_interp::{FuncType, Value};
use wasmtime::{Config, Engine, Extern, Instance, Module, Store, Val};

/// wasmtime, one engine (compiled code settings) reused for every module.
pub struct Wasmtime {
    engine: Engine,
    current: Option<(Store<()>, Instance)>,
    /// The handle of the shared memory [`DiffEngine::memory`] last read: its bytes are
    /// lent out for as long as the handle lives here.
    shared: Option<wasmtime::SharedMemory>,
}

impl Wasmtime {
    /// An engine with the campaign's configuration; an error if wasmtime refuses it.
    pub fn new() -> Result<Wasmtime, String> {
        let mut c = Config::new();
        c.wasm_threads(true)
            .shared_memory(true)
            .wasm_simd(true)
            .wasm_relaxed_simd(false)
            .wasm_bulk_memory(true)
            .wasm_reference_types(true)
            .wasm_multi_value(true)
            .wasm_tail_call(true)
            .wasm_memory64(true)
            .wasm_multi_memory(true)
            .wasm_wide_arithmetic(true)
            .wasm_extended_const(true)
            .consume_fuel(true)
            .cranelift_nan_canonicalization(false);
        let engine = Engine::new(&c).map_err(|e| format!("wasmtime: {e:#}"))?;
        Ok(Wasmtime {
            engine,
            current: None,
            shared: None,
        })
    }
}

fn trap_kind(e: &wasmtime::Error) -> Option<TrapKind> {
    use wasmtime::Trap as T;
    let t = e.downcast_ref::<T>()?;
    Some(match t {
        T::UnreachableCodeReached => TrapKind::Unreachable,
        T::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
        T::IntegerOverflow => TrapKind::IntegerOverflow,
        T::BadConversionToInteger => TrapKind::InvalidConversionToInteger,
        T::MemoryOutOfBounds => TrapKind::OutOfBoundsMemoryAccess,
        T::TableOutOfBounds => TrapKind::OutOfBoundsTableAccess,
        T::IndirectCallToNull => TrapKind::UninitializedElement,
        T::BadSignature => TrapKind::IndirectCallTypeMismatch,
        T::HeapMisaligned => TrapKind::UnalignedAtomic,
        T::AtomicWaitNonSharedMemory => TrapKind::ExpectedSharedMemory,
        T::StackOverflow => TrapKind::CallStackExhausted,
        _ => TrapKind::Other,
    })
}

fn is_out_of_fuel(e: &wasmtime::Error) -> bool {
    matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::OutOfFuel)
    )
}

fn to_val(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(b),
        Value::F64(b) => Val::F64(b),
        Value::V128(x) => Val::V128(x.into()),
        // Only null references are ever passed in (see `generate::arguments`).
        Value::FuncRef(_) => Val::FuncRef(None),
        Value::ExternRef(_) | Value::AnyRef(_) | Value::ExternAny(_) => Val::ExternRef(None),
        Value::ExnRef(_) => Val::ExnRef(None),
    }
}

fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(b) => Value::F32(*b),
        Val::F64(b) => Value::F64(*b),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(f) => opaque_ref(true, f.is_none()),
        Val::ExternRef(r) => opaque_ref(false, r.is_none()),
        other => opaque_ref(false, (*other).ref_().is_none_or(|r| r.is_null())),
    }
}

/// Compiles with Cranelift on any thread: a handle on the same [`Engine`] (its
/// configuration and code settings), making `Result<Module, String>`s.
struct WasmtimeCompiler(Engine);

impl Compiler for WasmtimeCompiler {
    fn compile(&self, wasm: &[u8]) -> Compiled {
        Compiled::new(Module::new(&self.0, wasm).map_err(|e| format!("{e:#}")))
    }
}

impl DiffEngine for Wasmtime {
    fn name(&self) -> &'static str {
        "wasmtime"
    }

    fn supports_threads(&self) -> bool {
        true
    }

    fn compiler(&self) -> Box<dyn Compiler> {
        Box::new(WasmtimeCompiler(self.engine.clone()))
    }

    fn instantiate_compiled(&mut self, compiled: Compiled, fuel: u64) -> EngineInstantiation {
        self.current = None;
        self.shared = None;
        let module = match compiled.take::<Module>() {
            Ok(m) => m,
            Err(e) => return EngineInstantiation::Rejected(e),
        };
        let mut store = Store::new(&self.engine, ());
        if let Err(e) = store.set_fuel(fuel) {
            return EngineInstantiation::Resource(format!("{e:#}"));
        }
        match Instance::new(&mut store, &module, &[]) {
            Ok(instance) => {
                self.current = Some((store, instance));
                EngineInstantiation::Ready
            }
            Err(e) if is_out_of_fuel(&e) => EngineInstantiation::FuelExhausted,
            Err(e) => match trap_kind(&e) {
                Some(k) => EngineInstantiation::Trapped(k, format!("{e:#}")),
                None => EngineInstantiation::Resource(format!("{e:#}")),
            },
        }
    }

    fn call(&mut self, name: &str, ty: &FuncType, args: &[Value], fuel: u64) -> EngineOutcome {
        let Some((store, instance)) = &mut self.current else {
            return EngineOutcome::Error("no instance".into());
        };
        let Some(func) = instance.get_func(&mut *store, name) else {
            return EngineOutcome::Error(format!("no exported function {name:?}"));
        };
        if let Err(e) = store.set_fuel(fuel) {
            return EngineOutcome::Error(format!("{e:#}"));
        }
        let params: Vec<Val> = args.iter().map(to_val).collect();
        let mut results = vec![Val::I32(0); ty.results.len()];
        match func.call(&mut *store, &params, &mut results) {
            Ok(()) => EngineOutcome::Returned(results.iter().map(from_val).collect()),
            Err(e) if is_out_of_fuel(&e) => EngineOutcome::FuelExhausted,
            Err(e) => match trap_kind(&e) {
                Some(k) => EngineOutcome::Trapped(k, format!("{e:#}")),
                None => EngineOutcome::Error(format!("{e:#}")),
            },
        }
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let (store, instance) = self.current.as_mut()?;
        let g = instance.get_global(&mut *store, name)?;
        Some(from_val(&g.get(&mut *store)))
    }

    fn memory(&mut self, name: &str) -> Option<&[u8]> {
        let (store, instance) = self.current.as_mut()?;
        match instance.get_export(&mut *store, name)? {
            Extern::Memory(m) => Some(m.data(&*store)),
            Extern::SharedMemory(m) => {
                let cells = self.shared.insert(m).data();
                // SAFETY: `UnsafeCell<u8>` has the layout of `u8`, and the cells live as
                // long as the handle kept in `self.shared`, which the returned borrow of
                // `self` outlives. No wasm code runs while the campaign reads memories
                // (calls are synchronous and single-threaded), so nothing writes these
                // bytes while they are lent out.
                Some(unsafe {
                    std::slice::from_raw_parts(cells.as_ptr().cast::<u8>(), cells.len())
                })
            }
            _ => None,
        }
    }

    fn table(&mut self, name: &str) -> Option<TableView> {
        let (store, instance) = self.current.as_mut()?;
        let t = instance.get_table(&mut *store, name)?;
        let size = t.size(&*store);
        let null = (0..size)
            .map(|i| t.get(&mut *store, i).is_none_or(|r| r.is_null()))
            .collect();
        Some(TableView { null })
    }
}
