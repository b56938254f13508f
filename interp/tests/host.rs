//! The host interface (`heddle_interp::host`): host functions that read and write their
//! caller's memory, ask for threads, and end the program.

use heddle_interp::{
    Caller, Configuration, ExternVal, FuncType, Module, SpawnRequest, ThreadStatus, Trap, ValType,
    Value,
};
use std::sync::Arc;

/// Imports `host.f : [i32] -> [i32]` and a memory; `run(x)` returns `f(x)`, `spin` loops.
const CALLER: &str = r#"(module
  (import "host" "f" (func $f (param i32) (result i32)))
  (memory (export "mem") 1 1 shared)
  (func (export "run") (param i32) (result i32) (call $f (local.get 0)))
  (func (export "spin") (param i32) (result i32)
    (drop (call $f (local.get 0)))
    (loop (br 0))
    (i32.const 0))
  (data (i32.const 8) "\2a\00\00\00"))"#;

fn setup(
    code: impl Fn(&mut Caller<'_>, &[Value]) -> Result<Vec<Value>, Trap> + Send + Sync + 'static,
) -> (
    Configuration,
    heddle_interp::InstanceAddr,
    Arc<Module>,
    Vec<ExternVal>,
) {
    let module = Arc::new(Module::decode(&wat::parse_str(CALLER).unwrap()).unwrap());
    let mut config = Configuration::new();
    let f = config.alloc_host_call_func(
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        },
        Arc::new(code),
    );
    let imports = vec![ExternVal::Func(f)];
    let inst = config.instantiate(module.clone(), &imports).unwrap();
    (config, inst, module, imports)
}

fn func(
    config: &Configuration,
    inst: heddle_interp::InstanceAddr,
    name: &str,
) -> heddle_interp::FuncAddr {
    match config.export(inst, name) {
        Some(ExternVal::Func(f)) => f,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn a_host_function_reads_and_writes_its_callers_memory() {
    // f(p): the i32 at p, and 7 written at p + 4.
    let (mut config, inst, _, _) = setup(|caller, args| {
        let Value::I32(p) = args[0] else {
            unreachable!()
        };
        let mem = caller.memory(0)?;
        let bytes = caller.read(mem, p as u64, 4)?;
        caller.write(mem, p as u64 + 4, &7i32.to_le_bytes())?;
        Ok(vec![Value::I32(i32::from_le_bytes(
            bytes.try_into().unwrap(),
        ))])
    });
    let run = func(&config, inst, "run");
    assert_eq!(
        config.invoke(run, &[Value::I32(8)]),
        Ok(vec![Value::I32(42)])
    );
    assert_eq!(
        config.invoke(run, &[Value::I32(12)]),
        Ok(vec![Value::I32(7)])
    );
    // Out of bounds, checked before anything is read or written.
    assert_eq!(
        config.invoke(run, &[Value::I32(65534)]),
        Err(Trap::OutOfBoundsMemoryAccess)
    );
    let Some(ExternVal::Memory(mem)) = config.export(inst, "mem") else {
        panic!()
    };
    assert_eq!(&config.memory_bytes(mem)[65532..], &[0, 0, 0, 0]);
}

#[test]
fn exit_ends_the_calling_thread_with_the_code() {
    let (mut config, inst, _, _) = setup(|caller, args| {
        let Value::I32(code) = args[0] else {
            unreachable!()
        };
        Err(caller.exit(code))
    });
    let run = func(&config, inst, "run");
    assert_eq!(config.invoke(run, &[Value::I32(3)]), Err(Trap::Exit(3)));
}

#[test]
fn a_spawn_request_ends_the_step_and_is_carried_out_by_the_embedder() {
    let (mut config, inst, module, imports) = setup(|caller, args| {
        // The same module again (same imports), its `run` with our argument + 1, once.
        if args[0] == Value::I32(1) {
            let (module, imports) = SPAWN.with(|s| s.borrow().clone().unwrap());
            caller.spawn(SpawnRequest {
                module,
                imports,
                export: "run".into(),
                args: vec![Value::I32(2)],
                spawner: None, // set by `Caller::spawn`
            });
        }
        Ok(vec![args[0]])
    });
    SPAWN.with(|s| *s.borrow_mut() = Some((module, imports)));
    let spin = func(&config, inst, "spin");
    let main = config.spawn(spin, &[Value::I32(1)]).unwrap();
    // The step ends right after the call that asked for a thread, well within its budget.
    assert_eq!(config.step(main, 1_000), ThreadStatus::Runnable);
    assert!(config.steps() < 10, "{} steps", config.steps());
    let requests = config.take_spawn_requests();
    assert_eq!(requests.len(), 1);
    assert!(config.take_spawn_requests().is_empty());
    let t = config.start_spawned(requests[0].clone()).unwrap();
    assert_ne!(t, main);
    assert_eq!(config.step(t, 1_000), ThreadStatus::Finished);
    assert_eq!(config.take_result(t), Some(Ok(vec![Value::I32(2)])));
    // A request for an export that is not there fails to start, saying so.
    let mut bad = requests[0].clone();
    bad.export = "nothing".into();
    assert!(matches!(config.start_spawned(bad), Err(Trap::Host(m)) if m.contains("nothing")));
}

thread_local! {
    static SPAWN: std::cell::RefCell<Option<(Arc<Module>, Vec<ExternVal>)>> =
        const { std::cell::RefCell::new(None) };
}
