//! Allocation and instantiation (spec *Execution › Modules*: `allocmodule`, *Instantiation*).

use crate::error::InstantiationError;
use crate::exec::Slot;
use crate::exec::{Configuration, ThreadId};
use crate::memory::{MemInst, Ordering};
use crate::store::{memory_init, table_init};
use crate::store::{
    DataAddr, DataInst, ElemAddr, ElemInst, ExternVal, FuncAddr, FuncInst, GlobalAddr, GlobalInst,
    HostCallFunc, HostFunc, InstanceAddr, MemAddr, ModuleInst, Store, TableAddr, TableInst,
    TagAddr, TagInst,
};
use crate::syntax::{ConstExpr, DataMode, ElemMode, Instr, Module};
use crate::types::{
    AddrType, ExternType, FuncType, GlobalType, HeapType, Limits, MemType, RefType, SubType,
    TableType, TypeId, TypeRegistry, ValType, DEFAULT_PAGE_SIZE_LOG2,
};
use crate::values::Value;
use crate::Trap;
use std::sync::Arc;

/// The thread id used for store accesses made by instantiation itself (segment
/// initialisation), which the spec performs on behalf of the instantiating thread.
const INSTANTIATING_THREAD: ThreadId = ThreadId(u32::MAX);

impl Configuration {
    /// Allocate a host function (spec `allochostfunc`).
    /// Its type is interned in the store's type registry as a recursion group of its own
    /// (its reference types are abstract).
    pub fn alloc_host_func(&mut self, ty: FuncType, code: HostFunc) -> FuncAddr {
        self.alloc_host_call_func(ty, Arc::new(move |_caller, args| code(args)))
    }

    /// Allocate a host function that sees its caller (spec `allochostfunc`; see
    /// [`crate::host::Caller`]), as [`Configuration::alloc_host_func`] does.
    pub fn alloc_host_call_func(&mut self, ty: FuncType, code: HostCallFunc) -> FuncAddr {
        let type_id = self
            .store
            .types
            .intern_group(&[SubType::func(ty.clone())], 0, &[])[0];
        self.store.funcs.push(FuncInst::Host { ty, type_id, code });
        FuncAddr(self.store.funcs.len() as u32 - 1)
    }

    /// Allocate a table of `ty.limits.min` elements, each `init` (spec `alloctable`).
    pub fn alloc_table(&mut self, ty: TableType, init: Value) -> TableAddr {
        self.store.tables.push(TableInst {
            ty,
            elems: vec![init; ty.limits.min as usize],
        });
        TableAddr(self.store.tables.len() as u32 - 1)
    }

    /// Allocate a memory (spec `allocmem`); shared memories get the configuration's
    /// backend ([`Configuration::set_shared_backend`], by default sequentially consistent).
    pub fn alloc_memory(&mut self, ty: MemType) -> MemAddr {
        self.store
            .mems
            .push(MemInst::with_backend(ty, self.shared_backend()));
        MemAddr(self.store.mems.len() as u32 - 1)
    }

    /// A memory instance of this configuration's store for a native memory allocated
    /// elsewhere (another OS thread's configuration): the way Wasm threads on OS threads
    /// share a memory ([`crate::native`]). Import it like any memory.
    pub fn import_native_memory(&mut self, memory: crate::native::SharedNative) -> MemAddr {
        self.store
            .mems
            .push(MemInst::Shared(Box::new(crate::native::NativeHandle::new(
                memory,
            ))));
        MemAddr(self.store.mems.len() as u32 - 1)
    }

    /// The native memory behind memory `mem`, if it is one (see
    /// [`Configuration::import_native_memory`]).
    pub fn native_memory(&self, mem: MemAddr) -> Option<crate::native::SharedNative> {
        match self.store.mems.get(mem.0 as usize)? {
            MemInst::Shared(m) => m.native().cloned(),
            MemInst::Unshared { .. } => None,
        }
    }

    /// Allocate a global (spec `allocglobal`).
    pub fn alloc_global(&mut self, ty: GlobalType, value: Value) -> GlobalAddr {
        self.store.globals.push(GlobalInst { ty, value });
        GlobalAddr(self.store.globals.len() as u32 - 1)
    }

    /// Allocate a tag of type `ty` (spec 3.0 `alloctag`, exception handling): `ty`'s
    /// parameters are the payload's types, its results must be empty. Its type is interned
    /// in the store's type registry as a recursion group of its own, as for
    /// [`Configuration::alloc_host_func`].
    pub fn alloc_tag(&mut self, ty: FuncType) -> TagAddr {
        let type_id = self
            .store
            .types
            .intern_group(&[SubType::func(ty.clone())], 0, &[])[0];
        self.store.tags.push(TagInst { ty, type_id });
        TagAddr(self.store.tags.len() as u32 - 1)
    }

    /// Look up an export of an instance by name.
    pub fn export(&self, instance: InstanceAddr, name: &str) -> Option<ExternVal> {
        self.store.export(instance, name)
    }

    /// The current value of a global.
    pub fn global_value(&self, global: GlobalAddr) -> Value {
        self.store.globals[global.0 as usize].value
    }

    /// A copy of the bytes of memory `mem` (its current length), as the embedder sees them
    /// between invocations (spec *Embedding › Memories*, `mem_read`). A shared memory is
    /// read through its backend as one unordered read by the embedder's thread; on the
    /// default (sequentially consistent) backend that is exactly its contents, and when the
    /// memory is being traced the read is recorded.
    pub fn memory_bytes(&mut self, mem: MemAddr) -> Vec<u8> {
        let m = &mut self.store.mems[mem.0 as usize];
        let mut out = vec![0; m.len_bytes(INSTANTIATING_THREAD) as usize];
        // In bounds by construction: the length was just read.
        let _ = m.read(INSTANTIATING_THREAD, Ordering::Unord, 0, &mut out, false);
        out
    }

    /// The contents of memory `mem`, borrowed, when the memory holds plain bytes (unshared,
    /// or shared with the sequentially consistent backend: [`MemInst::plain_bytes`]); `None`
    /// otherwise, and then [`Configuration::memory_bytes`] reads a copy. Nothing is traced.
    pub fn memory_plain_bytes(&self, mem: MemAddr) -> Option<&[u8]> {
        self.store.mems[mem.0 as usize].plain_bytes()
    }

    /// The current size of table `table` (spec *Embedding › Tables*, `table_size`) and its
    /// elements (`FuncRef`/`ExternRef` values, `None` for null).
    pub fn table_elements(&self, table: TableAddr) -> &[Value] {
        &self.store.tables[table.0 as usize].elems
    }

    /// Instantiate `module` with `imports`, given in the order of the module's imports
    /// (spec *Instantiation*):
    /// 1. each import must match its declared type ([`crate::ExternType::matches`], including
    ///    memory sharedness), else `Link("incompatible import type for "m" "f": expected
    ///    a function of type [i32] -> [], got a function of type [] -> []")`;
    /// 2. allocate functions, tables, memories, globals (initialisers evaluated), segments;
    /// 3. run active element and data segments in order, then drop them (and declarative
    ///    element segments); an out-of-bounds segment is `Trap(..)`, and the writes made
    ///    before it stay (spec, since bulk memory);
    /// 4. invoke the start function on a new thread, run alone to completion.
    pub fn instantiate(
        &mut self,
        module: Arc<Module>,
        imports: &[ExternVal],
    ) -> Result<InstanceAddr, InstantiationError> {
        if imports.len() != module.imports.len() {
            return Err(InstantiationError::Link(format!(
                "wrong number of imports: expected {}, got {}",
                module.imports.len(),
                imports.len()
            )));
        }
        // Spec 3.0 *Instantiation*: the module's defined types, canonicalised group by
        // group (see `TypeRegistry`).
        let mut ids: Vec<TypeId> = Vec::with_capacity(module.types.len());
        let mut start = 0usize;
        for &len in &module.rec_groups {
            let group = &module.types[start..start + len as usize];
            let new = self.store.types.intern_group(group, start as u32, &ids);
            ids.extend(new);
            start += len as usize;
        }
        let mut inst = ModuleInst {
            types: ids.clone(),
            ..Default::default()
        };
        for (import, ev) in module.imports.iter().zip(imports) {
            let actual = self.store.extern_type(*ev);
            let expected = canon_extern(&ids, &import.ty);
            if !self.store.types.extern_matches(&actual, &expected) {
                return Err(InstantiationError::Link(format!(
                    "incompatible import type for {:?} {:?}: expected {}, got {}",
                    import.module,
                    import.name,
                    describe_extern_type(&self.store.types, &expected),
                    describe_extern_type(&self.store.types, &actual)
                )));
            }
            match *ev {
                ExternVal::Func(a) => inst.funcs.push(a),
                ExternVal::Table(a) => inst.tables.push(a),
                ExternVal::Memory(a) => inst.mems.push(a),
                ExternVal::Global(a) => inst.globals.push(a),
                ExternVal::Tag(a) => inst.tags.push(a),
            }
        }

        let addr = InstanceAddr(self.store.instances.len() as u32);
        let limits = self.limits();
        for (i, f) in module.funcs.iter().enumerate() {
            let type_id = ids[f.type_idx as usize];
            self.store.funcs.push(FuncInst::Wasm {
                ty: self
                    .store
                    .types
                    .get(type_id)
                    .as_func()
                    .cloned()
                    .unwrap_or_default(),
                type_id,
                instance: addr,
                module: module.clone(),
                defined_index: i as u32,
            });
            inst.funcs.push(FuncAddr(self.store.funcs.len() as u32 - 1));
        }
        for t in &module.tags {
            let type_id = ids[*t as usize];
            self.store.tags.push(TagInst {
                ty: module.func_type(*t).clone(),
                type_id,
            });
            let a = TagAddr(self.store.tags.len() as u32 - 1);
            inst.tags.push(a);
        }
        for ty in &module.mems {
            if !crate::memory::fits_implementation(ty) {
                return Err(InstantiationError::Trap(Trap::Host(format!(
                    "memory of {} pages exceeds the implementation limit of {} bytes",
                    ty.limits.min,
                    crate::memory::MAX_MEMORY_BYTES
                ))));
            }
            let a = self.alloc_memory(*ty);
            inst.mems.push(a);
        }
        for g in &module.globals {
            let ty = GlobalType {
                content: canon_val(&ids, g.ty.content),
                mutable: g.ty.mutable,
            };
            let s = eval_const(&mut self.store, &limits, &inst, &g.init)
                .map_err(InstantiationError::Trap)?;
            let v = self.store.slot_value(s, ty.content);
            let a = self.alloc_global(ty, v);
            inst.globals.push(a);
        }
        // After the globals: a table's initialiser may read them.
        for (ty, init) in module.tables.iter().zip(&module.table_inits) {
            if ty.limits.min > self.limits().max_table_elements {
                return Err(InstantiationError::Trap(Trap::Host(format!(
                    "table of {} elements exceeds the implementation limit of {}",
                    ty.limits.min,
                    self.limits().max_table_elements
                ))));
            }
            let ty = TableType {
                elem: canon_ref(&ids, ty.elem),
                ..*ty
            };
            let init = match init {
                Some(expr) => {
                    let s = eval_const(&mut self.store, &limits, &inst, expr)
                        .map_err(InstantiationError::Trap)?;
                    self.store.slot_value(s, ty.elem.into())
                }
                None => self.store.null_of(ty.elem),
            };
            let a = self.alloc_table(ty, init);
            inst.tables.push(a);
        }
        for seg in &module.elems {
            let ty: ValType = canon_ref(&ids, seg.ty).into();
            let mut elems = Vec::with_capacity(seg.items.len());
            for e in &seg.items {
                let s = eval_const(&mut self.store, &limits, &inst, e)
                    .map_err(InstantiationError::Trap)?;
                elems.push(self.store.slot_value(s, ty));
            }
            self.store.elems.push(ElemInst { elems });
            inst.elems.push(ElemAddr(self.store.elems.len() as u32 - 1));
        }
        for seg in &module.datas {
            self.store.datas.push(DataInst {
                bytes: seg.bytes.clone(),
            });
            inst.datas.push(DataAddr(self.store.datas.len() as u32 - 1));
        }
        self.store.instances.push(inst);
        let exports = module
            .exports
            .iter()
            .map(|e| (e.name.clone(), self.store.resolve(addr, e.desc)))
            .collect();
        self.store.instances[addr.0 as usize].exports = exports;

        self.initialise_segments(&module, addr)
            .map_err(InstantiationError::Trap)?;

        if let Some(start) = module.start {
            let f = self.store.instances[addr.0 as usize].funcs[start as usize];
            self.invoke(f, &[]).map_err(InstantiationError::Trap)?;
        }
        Ok(addr)
    }

    /// Spec *Instantiation* steps 12–15: active element segments (`table.init` then
    /// `elem.drop`), declarative ones (`elem.drop`), then active data segments
    /// (`memory.init` then `data.drop`).
    fn initialise_segments(&mut self, module: &Module, addr: InstanceAddr) -> Result<(), Trap> {
        let limits = self.limits();
        for (i, seg) in module.elems.iter().enumerate() {
            let ea = self.store.instances[addr.0 as usize].elems[i];
            match &seg.mode {
                ElemMode::Active { table, offset } => {
                    let ta = self.store.instances[addr.0 as usize].tables[*table as usize];
                    let d = const_address(self.eval_const_in(addr, &limits, offset)?);
                    let d = usize::try_from(d).unwrap_or(usize::MAX);
                    let n = seg.items.len();
                    table_init(&mut self.store, ta, ea, d, 0, n)?;
                    self.store.elems[ea.0 as usize].elems = Vec::new();
                }
                ElemMode::Declarative => self.store.elems[ea.0 as usize].elems = Vec::new(),
                ElemMode::Passive => {}
            }
        }
        for (i, seg) in module.datas.iter().enumerate() {
            if let DataMode::Active { memory, offset } = &seg.mode {
                let inst = &self.store.instances[addr.0 as usize];
                let (ma, da) = (inst.mems[*memory as usize], inst.datas[i]);
                let d = const_address(self.eval_const_in(addr, &limits, offset)?);
                let n = seg.bytes.len();
                memory_init(&mut self.store, INSTANTIATING_THREAD, ma, da, d, 0, n)?;
                self.store.datas[da.0 as usize].bytes = Vec::new();
            }
        }
        Ok(())
    }

    /// [`eval_const`] in the frame of instance `addr`, once it is in the store: the
    /// instance is lent to the evaluation (which needs the store mutably, to allocate) and
    /// put back, rather than copied.
    fn eval_const_in(
        &mut self,
        addr: InstanceAddr,
        limits: &crate::ExecLimits,
        expr: &ConstExpr,
    ) -> Result<Slot, Trap> {
        let inst = std::mem::take(&mut self.store.instances[addr.0 as usize]);
        let value = eval_const(&mut self.store, limits, &inst, expr);
        self.store.instances[addr.0 as usize] = inst;
        value
    }
}

/// The value of an active segment's offset expression, an address of the table's or
/// memory's address type (`i32` or, memory64, `i64`), as an unsigned number (its slot holds
/// it zero-extended).
fn const_address(s: Slot) -> u64 {
    s as u64
}

/// A module type with its type indices replaced by canonical ids.
fn canon_heap(ids: &[TypeId], h: HeapType) -> HeapType {
    match h {
        HeapType::Concrete(i) => {
            HeapType::Concrete(ids.get(i as usize).copied().unwrap_or(u32::MAX))
        }
        other => other,
    }
}

fn canon_ref(ids: &[TypeId], r: RefType) -> RefType {
    RefType::new(r.nullable, canon_heap(ids, r.heap))
}

fn canon_val(ids: &[TypeId], t: ValType) -> ValType {
    match t {
        ValType::Ref(r) => ValType::Ref(canon_ref(ids, r)),
        other => other,
    }
}

fn canon_extern(ids: &[TypeId], t: &ExternType) -> ExternType {
    match t {
        ExternType::Func(i) => ExternType::Func(ids.get(*i as usize).copied().unwrap_or(u32::MAX)),
        ExternType::Tag(i) => ExternType::Tag(ids.get(*i as usize).copied().unwrap_or(u32::MAX)),
        ExternType::Table(tt) => ExternType::Table(TableType {
            elem: canon_ref(ids, tt.elem),
            ..*tt
        }),
        ExternType::Global(g) => ExternType::Global(GlobalType {
            content: canon_val(ids, g.content),
            mutable: g.mutable,
        }),
        other => other.clone(),
    }
}

/// Evaluate a constant expression (spec *Constant Expressions*; spec 3.0 adds `ref.i31`,
/// `struct.new*`, `array.new*` and the extern conversions) in the context of a (partially
/// built) instance, to a slot. Validation guarantees the expression is well-typed; an
/// allocation may trap (an array past the implementation limit).
pub(crate) fn eval_const(
    store: &mut Store,
    limits: &crate::ExecLimits,
    inst: &ModuleInst,
    expr: &ConstExpr,
) -> Result<Slot, Trap> {
    use crate::exec::value_to_slot;
    let mut stack: Vec<Slot> = Vec::new();
    for instr in &expr.0 {
        let v = match *instr {
            Instr::I32Const(c) => value_to_slot(&Value::I32(c)),
            Instr::I64Const(c) => value_to_slot(&Value::I64(c)),
            Instr::F32Const(b) => Slot::from(b),
            Instr::F64Const(b) => Slot::from(b),
            Instr::RefNull(_) => value_to_slot(&Value::FuncRef(None)),
            Instr::RefFunc(i) => value_to_slot(&Value::FuncRef(Some(inst.funcs[i as usize]))),
            Instr::GlobalGet(i) => {
                value_to_slot(&store.globals[inst.globals[i as usize].0 as usize].value)
            }
            Instr::I32Add
            | Instr::I32Sub
            | Instr::I32Mul
            | Instr::I64Add
            | Instr::I64Sub
            | Instr::I64Mul => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    unreachable!("validated constant expression")
                };
                // Add, sub and mul wrap modulo 2^N: the i32 result is the low half of the
                // i64 one.
                let (a, b) = (a as u64, b as u64);
                let v = match instr {
                    Instr::I32Add | Instr::I64Add => a.wrapping_add(b),
                    Instr::I32Sub | Instr::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                };
                match instr {
                    Instr::I32Add | Instr::I32Sub | Instr::I32Mul => Slot::from(v as u32),
                    _ => Slot::from(v),
                }
            }
            Instr::Simd(crate::simd::SimdInstr::JoinHalves) => {
                // `v128.const c`, lowered to c's two i64 halves (see `SimdInstr::JoinHalves`).
                let (Some(hi), Some(lo)) = (stack.pop(), stack.pop()) else {
                    unreachable!("validated constant expression")
                };
                Slot::from(lo as u64) | Slot::from(hi as u64) << 64
            }
            Instr::RefI31 | Instr::AnyConvertExtern | Instr::ExternConvertAny => {
                let s = stack.pop().expect("validated constant expression");
                crate::exec::convert_ref(*instr, s)
            }
            Instr::StructNew(t)
            | Instr::StructNewDefault(t)
            | Instr::ArrayNew(t)
            | Instr::ArrayNewDefault(t)
            | Instr::ArrayNewFixed { ty: t, .. } => {
                let id = inst.types[t as usize];
                crate::exec::alloc_instr(store, limits, id, *instr, &mut stack)
                    .expect("an allocation instruction")?;
                continue;
            }
            other => unreachable!("not a constant instruction: {other:?}"),
        };
        stack.push(v);
    }
    Ok(stack
        .pop()
        .expect("validated constant expression has a value"))
}

/// An external type in words, for link errors: `a function of type [i32] -> []`, `a memory
/// of type i64 1 2 shared`, `a table of type 3 funcref`, `a global of type (mut i32)`, `a
/// tag of type [i32] -> []` (limits, address type, sharedness and page size as the text
/// format writes them). Function and tag types are canonical ids in `types`.
fn describe_extern_type(types: &TypeRegistry, ty: &ExternType) -> String {
    let func_type = |id: u32| match ((id as usize) < types.len())
        .then(|| types.get(id).as_func())
        .flatten()
    {
        Some(f) => f.to_string(),
        None => format!("type {id}"),
    };
    let limits = |addr: AddrType, l: &Limits| {
        let mut out = String::new();
        if addr == AddrType::I64 {
            out.push_str("i64 ");
        }
        out.push_str(&l.min.to_string());
        if let Some(max) = l.max {
            out.push_str(&format!(" {max}"));
        }
        out
    };
    match ty {
        ExternType::Func(id) => format!("a function of type {}", func_type(*id)),
        ExternType::Tag(id) => format!("a tag of type {}", func_type(*id)),
        ExternType::Table(t) => format!("a table of type {} {}", limits(t.addr, &t.limits), t.elem),
        ExternType::Memory(m) => {
            let mut out = format!("a memory of type {}", limits(m.addr, &m.limits));
            if m.shared {
                out.push_str(" shared");
            }
            if m.page_size_log2 != DEFAULT_PAGE_SIZE_LOG2 {
                out.push_str(&format!(" (pagesize {})", m.page_size()));
            }
            out
        }
        ExternType::Global(g) if g.mutable => format!("a global of type (mut {})", g.content),
        ExternType::Global(g) => format!("a global of type {}", g.content),
    }
}
