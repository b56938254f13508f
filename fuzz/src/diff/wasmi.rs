//! wasmi 2 (an interpreter, in process) as a [`DiffEngine`]. wasmi has no threads: the
//! campaign gives it modules without shared memories or atomics.

use super::engine::{
    opaque_ref, Compiled, Compiler, DiffEngine, EngineInstantiation, EngineOutcome,
};
use crate::oracle::{TableView, TrapKind};
use heddle_interp::{FuncType, Value};
use wasmi::{Config, Engine, Instance, Linker, Module, Store, TrapCode, Val};

/// wasmi, one engine reused for every module.
pub struct Wasmi {
    engine: Engine,
    current: Option<(Store<()>, Instance)>,
}

impl Default for Wasmi {
    fn default() -> Self {
        Self::new()
    }
}

impl Wasmi {
    /// An engine with fuel on and the features the campaign generates for it.
    pub fn new() -> Wasmi {
        let mut c = Config::default();
        c.consume_fuel(true)
            .wasm_simd(true)
            .wasm_relaxed_simd(false)
            .wasm_tail_call(true)
            .wasm_memory64(true)
            .wasm_multi_memory(true)
            .wasm_wide_arithmetic(true)
            .wasm_custom_page_sizes(false)
            .wasm_extended_const(true);
        Wasmi {
            engine: Engine::new(&c),
            current: None,
        }
    }
}

fn classify(e: &wasmi::Error) -> Result<TrapKind, bool> {
    let Some(code) = e.as_trap_code() else {
        return Err(false);
    };
    Ok(match code {
        TrapCode::UnreachableCodeReached => TrapKind::Unreachable,
        TrapCode::MemoryOutOfBounds => TrapKind::OutOfBoundsMemoryAccess,
        TrapCode::TableOutOfBounds => TrapKind::OutOfBoundsTableAccess,
        TrapCode::IndirectCallToNull => TrapKind::UninitializedElement,
        TrapCode::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
        TrapCode::IntegerOverflow => TrapKind::IntegerOverflow,
        TrapCode::BadConversionToInteger => TrapKind::InvalidConversionToInteger,
        TrapCode::StackOverflow => TrapKind::CallStackExhausted,
        TrapCode::BadSignature => TrapKind::IndirectCallTypeMismatch,
        TrapCode::OutOfFuel => return Err(true),
        _ => TrapKind::Other,
    })
}

fn to_val(v: &Value) -> Val {
    match *v {
        Value::I32(x) => Val::I32(x),
        Value::I64(x) => Val::I64(x),
        Value::F32(b) => Val::F32(wasmi::F32::from_bits(b)),
        Value::F64(b) => Val::F64(wasmi::F64::from_bits(b)),
        Value::V128(x) => Val::V128(x.into()),
        // Only null references are ever passed in (see `generate::arguments`).
        Value::FuncRef(_) => Val::default_for_ty(wasmi::ValType::FuncRef),
        Value::ExternRef(_) | Value::AnyRef(_) | Value::ExternAny(_) => {
            Val::default_for_ty(wasmi::ValType::ExternRef)
        }
        // wasmi has no exception references: a module with them does not validate there,
        // so no call ever passes one.
        Value::ExnRef(_) => Val::default_for_ty(wasmi::ValType::ExternRef),
    }
}

fn from_val(v: &Val) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(b) => Value::F32(b.to_bits()),
        Val::F64(b) => Value::F64(b.to_bits()),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(f) => opaque_ref(true, f.is_null()),
        Val::ExternRef(r) => opaque_ref(false, r.is_null()),
    }
}

/// Translates modules to wasmi's bytecode on any thread: a handle on the same [`Engine`],
/// making `Result<Module, String>`s.
struct WasmiCompiler(Engine);

impl Compiler for WasmiCompiler {
    fn compile(&self, wasm: &[u8]) -> Compiled {
        Compiled::new(Module::new(&self.0, wasm).map_err(|e| e.to_string()))
    }
}

impl DiffEngine for Wasmi {
    fn name(&self) -> &'static str {
        "wasmi"
    }

    fn supports_threads(&self) -> bool {
        false
    }

    /// wasmi translates function bodies lazily, on first call: its compile step is cheap.
    fn compiles_ahead(&self) -> bool {
        false
    }

    fn compiler(&self) -> Box<dyn Compiler> {
        Box::new(WasmiCompiler(self.engine.clone()))
    }

    fn instantiate_compiled(&mut self, compiled: Compiled, fuel: u64) -> EngineInstantiation {
        self.current = None;
        let module = match compiled.take::<Module>() {
            Ok(m) => m,
            Err(e) => return EngineInstantiation::Rejected(e),
        };
        let mut store = Store::new(&self.engine, ());
        if let Err(e) = store.set_fuel(fuel) {
            return EngineInstantiation::Resource(e.to_string());
        }
        let linker = Linker::<()>::new(&self.engine);
        match linker.instantiate_and_start(&mut store, &module) {
            Ok(instance) => {
                self.current = Some((store, instance));
                EngineInstantiation::Ready
            }
            Err(e) => match classify(&e) {
                Ok(k) => EngineInstantiation::Trapped(k, e.to_string()),
                Err(true) => EngineInstantiation::FuelExhausted,
                Err(false) => EngineInstantiation::Resource(e.to_string()),
            },
        }
    }

    fn call(&mut self, name: &str, ty: &FuncType, args: &[Value], fuel: u64) -> EngineOutcome {
        let Some((store, instance)) = &mut self.current else {
            return EngineOutcome::Error("no instance".into());
        };
        let Some(func) = instance.get_func(&*store, name) else {
            return EngineOutcome::Error(format!("no exported function {name:?}"));
        };
        if let Err(e) = store.set_fuel(fuel) {
            return EngineOutcome::Error(e.to_string());
        }
        let params: Vec<Val> = args.iter().map(to_val).collect();
        let mut results = vec![Val::I32(0); ty.results.len()];
        match func.call(&mut *store, &params, &mut results) {
            Ok(()) => EngineOutcome::Returned(results.iter().map(from_val).collect()),
            Err(e) => match classify(&e) {
                Ok(k) => EngineOutcome::Trapped(k, e.to_string()),
                Err(true) => EngineOutcome::FuelExhausted,
                Err(false) => EngineOutcome::Error(e.to_string()),
            },
        }
    }

    fn global(&mut self, name: &str) -> Option<Value> {
        let (store, instance) = self.current.as_ref()?;
        let g = instance.get_global(store, name)?;
        Some(from_val(&g.get(store)))
    }

    fn memory(&mut self, name: &str) -> Option<&[u8]> {
        let (store, instance) = self.current.as_ref()?;
        let m = instance.get_memory(store, name)?;
        Some(m.data(store))
    }

    fn table(&mut self, name: &str) -> Option<TableView> {
        let (store, instance) = self.current.as_ref()?;
        let t = instance.get_table(store, name)?;
        let null = (0..t.size(store))
            .map(|i| t.get(store, i).is_none_or(|r| r.is_null()))
            .collect();
        Some(TableView { null })
    }
}
