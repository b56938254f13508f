//! Exception handling as an embedder sees it: an uncaught exception is its own result
//! (`Trap::Exception`, told apart by `Trap::is_exception`), with its tag and payload; tags
//! are exported and imported by address; `exnref` values come back as `Value::ExnRef`; and
//! malformed handler code is rejected, never a panic.

#[allow(dead_code)] // `func` is for the other tests
mod common;
use common::module;
use heddle_interp::{
    Configuration, ExternType, ExternVal, FuncType, Module, ModuleErrorKind, Trap, ValType, Value,
};

const THROWER: &str = r#"(module
  (tag $e (export "e") (param i32 i64))
  (func (export "throw") (param i32)
    (throw $e (local.get 0) (i64.const -2)))
  (func (export "catch") (param i32) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call 0 (local.get 0)))
      (ref.null exn)))
  (func (export "trap") (unreachable)))"#;

#[test]
fn an_uncaught_exception_is_a_result_of_its_own() {
    let mut config = Configuration::new();
    let inst = config.instantiate(module(THROWER), &[]).unwrap();
    let Some(ExternVal::Tag(tag)) = config.export(inst, "e") else {
        panic!("the tag is exported")
    };
    let ExternType::Tag(type_id) = config.store.extern_type(ExternVal::Tag(tag)) else {
        panic!("a tag's type")
    };
    assert_eq!(
        config.store.types.get(type_id).as_func(),
        Some(&FuncType {
            params: vec![ValType::I32, ValType::I64],
            results: vec![],
        })
    );
    let Some(ExternVal::Func(throw)) = config.export(inst, "throw") else {
        panic!()
    };
    let err = config.invoke(throw, &[Value::I32(7)]).unwrap_err();
    assert!(err.is_exception());
    let Trap::Exception(e) = &err else { panic!() };
    assert_eq!(e.tag, tag);
    assert_eq!(e.payload, vec![Value::I32(7), Value::I64(-2)]);
    assert_eq!(config.store.exns[e.exn.0 as usize].fields, e.payload);
    assert!(err.message().contains("uncaught exception"));

    let Some(ExternVal::Func(trap)) = config.export(inst, "trap") else {
        panic!()
    };
    assert!(!config.invoke(trap, &[]).unwrap_err().is_exception());

    // A caught exception's reference is an ordinary result, the thread unharmed.
    let Some(ExternVal::Func(catch)) = config.export(inst, "catch") else {
        panic!()
    };
    let r = config.invoke(catch, &[Value::I32(1)]).unwrap();
    let [Value::ExnRef(Some(a))] = r[..] else {
        panic!("{r:?}")
    };
    assert_eq!(config.store.exns[a.0 as usize].tag, tag);
}

#[test]
fn imported_tags_are_the_exporters_and_host_tags_link() {
    let mut config = Configuration::new();
    let a = config.instantiate(module(THROWER), &[]).unwrap();
    let Some(ExternVal::Tag(tag)) = config.export(a, "e") else {
        panic!()
    };
    let Some(throw) = config.export(a, "throw") else {
        panic!()
    };
    let importer = module(
        r#"(module
  (tag $e (import "a" "e") (param i32 i64))
  (func $throw (import "a" "throw") (param i32))
  (func (export "f") (result i32)
    (block $h (result i32 i64)
      (try_table (catch $e $h) (call $throw (i32.const 5)))
      (unreachable))
    (drop)))"#,
    );
    let b = config
        .instantiate(importer.clone(), &[ExternVal::Tag(tag), throw])
        .unwrap();
    let Some(ExternVal::Func(f)) = config.export(b, "f") else {
        panic!()
    };
    assert_eq!(config.invoke(f, &[]), Ok(vec![Value::I32(5)]));

    // A host tag of the same type links, but is another tag: the exception is not caught.
    let other = config.alloc_tag(FuncType {
        params: vec![ValType::I32, ValType::I64],
        results: vec![],
    });
    let c = config
        .instantiate(importer.clone(), &[ExternVal::Tag(other), throw])
        .unwrap();
    let Some(ExternVal::Func(f)) = config.export(c, "f") else {
        panic!()
    };
    assert!(config.invoke(f, &[]).unwrap_err().is_exception());

    // A tag of another type does not link.
    let wrong = config.alloc_tag(FuncType::default());
    assert!(config
        .instantiate(importer, &[ExternVal::Tag(wrong), throw])
        .is_err());
}

#[test]
fn malformed_handler_code_is_rejected_not_a_panic() {
    // Function bodies of one-function modules with one tag `(tag (param i32))`: bad catch
    // labels, a catch clause on a tag that does not exist, `rethrow` outside a catch,
    // `delegate` past the function, `catch` outside a `try`, truncated clauses.
    let bodies: &[&[u8]] = &[
        &[0x1f, 0x40, 0x01, 0x00, 0x00, 0x05, 0x0b, 0x0b], // catch $e to label 5
        &[0x1f, 0x40, 0x01, 0x00, 0x07, 0x00, 0x0b, 0x0b], // catch tag 7
        &[0x1f, 0x40, 0x01, 0x04, 0x00, 0x0b, 0x0b],       // unknown catch kind
        &[0x1f, 0x40, 0x02, 0x02, 0x00],                   // truncated
        &[0x09, 0x00, 0x0b],                               // rethrow outside catch
        &[0x06, 0x40, 0x18, 0x03, 0x0b],                   // delegate too far
        &[0x07, 0x00, 0x0b],                               // catch without try
        &[0x06, 0x40, 0x19, 0x07, 0x00, 0x0b, 0x0b],       // catch after catch_all
        &[0x08, 0x05, 0x0b],                               // throw of an unknown tag
        &[0x0a, 0x0b],                                     // throw_ref on an empty stack
    ];
    let module_with = |body: &[u8]| {
        let mut code = vec![0x00]; // no locals
        code.extend_from_slice(body);
        let mut wasm = vec![0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
        // Types: [] -> [] and [i32] -> [].
        wasm.extend_from_slice(&[0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x00]);
        wasm.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]); // one function of type 0
        wasm.extend_from_slice(&[0x0d, 0x03, 0x01, 0x00, 0x01]); // tag of type 1
        wasm.push(0x0a);
        let mut section = vec![0x01, code.len() as u8];
        section.extend_from_slice(&code);
        wasm.push(section.len() as u8);
        wasm.extend_from_slice(&section);
        Module::decode(&wasm)
    };
    // The frame is right: a well-formed body decodes.
    let ok: &[u8] = &[0x1f, 0x40, 0x01, 0x02, 0x00, 0x0b, 0x0b]; // try_table (catch_all 0)
    assert!(module_with(ok).is_ok(), "{:?}", module_with(ok).err());
    for body in bodies {
        match module_with(body) {
            Err(e) => assert_eq!(e.kind, ModuleErrorKind::Invalid, "{body:x?}: {e}"),
            Ok(_) => panic!("{body:x?} was accepted"),
        }
    }
}
