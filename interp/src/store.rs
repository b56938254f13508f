//! The store and its instances (spec *Runtime Structure › Store*, *Addresses*, *Module
//! Instances*). Addresses are typed indices into the store's vectors.
//!
//! Spec 3.0 (GC) adds structure and array instances, allocated by `struct.new`/`array.new`
//! and friends. The spec has no collector and neither does Heddle: an object lives as long
//! as its store (a configuration's store only grows). The store also holds the canonical
//! types of every module instantiated in it ([`TypeRegistry`]).

pub use crate::addr::{
    DataAddr, ElemAddr, ExnAddr, FuncAddr, GlobalAddr, InstanceAddr, MemAddr, TableAddr, TagAddr,
};
use crate::memory::{MemInst, Ordering};
use crate::runtime::ThreadId;
use crate::syntax::{ExportDesc, Module};
use crate::types::{
    ExternType, FuncType, GlobalType, HeapType, RefType, TableType, TypeId, TypeRegistry, ValType,
};
use crate::values::AnyRef;
use crate::values::Value;
use crate::Trap;
use std::fmt;
use std::sync::Arc;

/// An external value (spec `externval`): what imports are given and exports resolve to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variants are the spec's external value kinds (`func a`, `table a`, `mem a`, `global a`, `tag a`)
pub enum ExternVal {
    Func(FuncAddr),
    Table(TableAddr),
    Memory(MemAddr),
    Global(GlobalAddr),
    Tag(TagAddr),
}

impl fmt::Display for ExternVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternVal::Func(a) => write!(f, "func {}", a.0),
            ExternVal::Table(a) => write!(f, "table {}", a.0),
            ExternVal::Memory(a) => write!(f, "memory {}", a.0),
            ExternVal::Global(a) => write!(f, "global {}", a.0),
            ExternVal::Tag(a) => write!(f, "tag {}", a.0),
        }
    }
}

/// A host function: receives the arguments (already checked against its type) and returns
/// the results, or a trap. One that needs the calling thread's memory, or to start threads
/// or end the program, is a [`HostCallFunc`] instead.
pub type HostFunc = Arc<dyn Fn(&[Value]) -> Result<Vec<Value>, Trap> + Send + Sync>;

/// A host function that sees its caller ([`crate::host::Caller`]: the calling thread, its
/// instance's memories, the virtual clock, thread spawning and program exit), with the
/// arguments (already checked against its type); returns the results, or a trap.
pub type HostCallFunc =
    Arc<dyn Fn(&mut Caller<'_>, &[Value]) -> Result<Vec<Value>, Trap> + Send + Sync>;

/// A request to start a thread (e.g. WASI's `thread-spawn`): instantiate `module` with
/// `imports` in the caller's store, then invoke its export `export` with `args` on a new
/// thread. Carried out by the embedder after the step that made it
/// ([`crate::Configuration::start_spawned`]).
#[derive(Clone, Debug)]
pub struct SpawnRequest {
    /// The module to instantiate.
    pub module: Arc<Module>,
    /// Its imports, in the order of the module's imports.
    pub imports: Vec<ExternVal>,
    /// The exported function the new thread invokes.
    pub export: String,
    /// Its arguments.
    pub args: Vec<Value>,
    /// The thread that asked for it: [`crate::Caller::spawn`] sets it (whatever the host
    /// function put here). Its actions so far happen before the new thread's
    /// ([`crate::Configuration::start_spawned`]); `None` for a request of the embedder's.
    pub spawner: Option<ThreadId>,
}

/// Starts a requested thread at once (see [`crate::Configuration::set_spawn_handler`]).
#[derive(Clone)]
pub struct SpawnHandler(pub Arc<dyn Fn(SpawnRequest) + Send + Sync>);

impl std::fmt::Debug for SpawnHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpawnHandler")
    }
}

/// What a host function sees of its caller; see [`crate::host`].
pub struct Caller<'a> {
    pub(crate) store: &'a mut Store,
    pub(crate) instance: Option<InstanceAddr>,
    pub(crate) thread: ThreadId,
    pub(crate) clock: u64,
    pub(crate) spawns: &'a mut Vec<SpawnRequest>,
    pub(crate) spawn_handler: Option<&'a SpawnHandler>,
    /// Whether this call asked for a thread (the step then ends after the call).
    pub(crate) spawned: bool,
}

/// A function instance (spec `funcinst`).
#[derive(Clone)]
pub enum FuncInst {
    /// A function defined by a module: its type, its instance and its index among the
    /// module's defined functions.
    #[allow(missing_docs)] // fields described in the variant's doc
    Wasm {
        ty: FuncType,
        type_id: TypeId,
        instance: InstanceAddr,
        module: Arc<Module>,
        defined_index: u32,
    },
    /// A host function.
    #[allow(missing_docs)] // its type (canonical id too) and the Rust closure
    Host {
        ty: FuncType,
        type_id: TypeId,
        code: HostCallFunc,
    },
}

impl FuncInst {
    /// The function's type.
    pub fn ty(&self) -> &FuncType {
        match self {
            FuncInst::Wasm { ty, .. } | FuncInst::Host { ty, .. } => ty,
        }
    }

    /// The canonical id of the function's type (spec 3.0: a function instance has a
    /// defined type, which `call_indirect` and casts compare by subtyping).
    pub fn type_id(&self) -> TypeId {
        match self {
            FuncInst::Wasm { type_id, .. } | FuncInst::Host { type_id, .. } => *type_id,
        }
    }
}

impl fmt::Debug for FuncInst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FuncInst::Wasm {
                ty, defined_index, ..
            } => write!(f, "wasm func {defined_index} : {ty}"),
            FuncInst::Host { ty, .. } => write!(f, "host func : {ty}"),
        }
    }
}

/// A table instance (spec `tableinst`): its type (with the current size as `min`) and its
/// elements. Elements are `FuncRef`/`ExternRef` values.
#[derive(Clone, Debug)]
pub struct TableInst {
    /// The table type (declared limits and element type).
    pub ty: TableType,
    /// The elements: references (`ref.null` or a function/host reference).
    pub elems: Vec<Value>,
}

/// A global instance (spec `globalinst`).
#[derive(Clone, Debug)]
pub struct GlobalInst {
    /// The global type (value type and mutability).
    pub ty: GlobalType,
    /// The current value.
    pub value: Value,
}

/// An element instance (spec `eleminst`): the references of a segment, emptied by
/// `elem.drop`.
#[derive(Clone, Debug, Default)]
pub struct ElemInst {
    /// The element segment's references (empty once dropped).
    pub elems: Vec<Value>,
}

/// A data instance (spec `datainst`): the bytes of a segment, emptied by `data.drop`.
#[derive(Clone, Debug, Default)]
pub struct DataInst {
    /// The data segment's bytes (empty once dropped).
    pub bytes: Vec<u8>,
}

/// A structure instance (spec 3.0 `structinst`): its defined type and its field values,
/// as slots (see [`crate::exec::Slot`]; packed fields hold their value zero-extended).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StructInst {
    /// Canonical type id.
    pub ty: TypeId,
    /// Field values.
    pub fields: Vec<u128>,
}

/// An array instance (spec 3.0 `arrayinst`): its defined type and its elements, as slots.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArrayInst {
    /// Canonical type id.
    pub ty: TypeId,
    /// Element values.
    pub elems: Vec<u128>,
}

/// A tag instance (spec 3.0 `taginst`, exception handling): the type of its payload. Tags
/// are compared by address, so two tags of one type are still distinct.
#[derive(Clone, Debug)]
pub struct TagInst {
    /// The tag type: `[t*] -> []`, the payload's types as parameters.
    pub ty: FuncType,
    /// The tag type's canonical id in the store's [`crate::types::TypeRegistry`] (what import
    /// matching compares).
    pub type_id: TypeId,
}

/// An exception instance (spec 3.0 `exninst`): the tag it was thrown with and its payload.
/// Allocated by `throw`, referred to by `exnref` values; never freed (Heddle has no garbage
/// collection: the store only grows, like the spec's).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExnInst {
    /// The exception's tag.
    pub tag: TagAddr,
    /// The payload, typed by the tag's parameters.
    pub fields: Vec<Value>,
}

/// A module instance (spec `moduleinst`): the addresses its index spaces resolve to.
#[derive(Clone, Debug, Default)]
pub struct ModuleInst {
    /// The canonical ids of the module's types (spec 3.0 `deftype`s), by type index.
    pub types: Vec<TypeId>,
    /// Addresses of the functions, imported ones first (index space order).
    pub funcs: Vec<FuncAddr>,
    /// Addresses of the tables, imported ones first.
    pub tables: Vec<TableAddr>,
    /// Addresses of the memories, imported ones first.
    pub mems: Vec<MemAddr>,
    /// Addresses of the globals, imported ones first.
    pub globals: Vec<GlobalAddr>,
    /// Addresses of the tags, imported ones first (exception handling).
    pub tags: Vec<TagAddr>,
    /// Addresses of the element segments.
    pub elems: Vec<ElemAddr>,
    /// Addresses of the data segments.
    pub datas: Vec<DataAddr>,
    /// The exports, in module order, with what they resolve to.
    pub exports: Vec<(String, ExternVal)>,
}

/// The store (spec `store`): every instance ever allocated. Shared memory instances hold
/// their contents behind the memory-model interface (see [`crate::memory`]).
#[derive(Clone, Debug, Default)]
pub struct Store {
    /// Function instances, indexed by [`FuncAddr`].
    pub funcs: Vec<FuncInst>,
    /// Table instances, indexed by [`TableAddr`].
    pub tables: Vec<TableInst>,
    /// Memory instances, indexed by [`MemAddr`].
    pub mems: Vec<MemInst>,
    /// Global instances, indexed by [`GlobalAddr`].
    pub globals: Vec<GlobalInst>,
    /// Element instances, indexed by [`ElemAddr`].
    pub elems: Vec<ElemInst>,
    /// Data instances, indexed by [`DataAddr`].
    pub datas: Vec<DataInst>,
    /// Module instances, indexed by [`InstanceAddr`].
    pub instances: Vec<ModuleInst>,
    /// Structure instances (GC), indexed by the address in [`AnyRef::Struct`].
    pub structs: Vec<StructInst>,
    /// Array instances (GC), indexed by the address in [`AnyRef::Array`].
    pub arrays: Vec<ArrayInst>,
    /// The canonical types of every module instantiated here.
    pub types: TypeRegistry,
    /// Tag instances, indexed by [`TagAddr`] (exception handling).
    pub tags: Vec<TagInst>,
    /// Exception instances, indexed by [`ExnAddr`] (exception handling).
    pub exns: Vec<ExnInst>,
    /// Slots held by the structures and arrays, plus one per object (bounded by
    /// [`crate::exec::MAX_GC_SLOTS`]).
    pub gc_slots: u64,
}

impl Store {
    /// The type of an external value (spec *External Typing*, `externtype`). For memories
    /// and tables the current size is the `min`.
    pub fn extern_type(&self, ev: ExternVal) -> ExternType {
        match ev {
            ExternVal::Func(a) => ExternType::Func(self.funcs[a.0 as usize].type_id()),
            ExternVal::Table(a) => ExternType::Table(self.tables[a.0 as usize].ty),
            ExternVal::Memory(a) => ExternType::Memory(self.mems[a.0 as usize].current_type()),
            ExternVal::Global(a) => ExternType::Global(self.globals[a.0 as usize].ty),
            ExternVal::Tag(a) => ExternType::Tag(self.tags[a.0 as usize].type_id),
        }
    }

    /// How instance `inst` (of `module`) names memory `mem`, for messages such as deadlock
    /// reports: by its memory index there, with the names it is imported or exported under,
    /// `memory 0`, `memory 0 (imported as "mem" "shared")`, `memory 1 (exported as "m")`;
    /// `memory address 2 in the store` when the instance has no such memory.
    pub fn memory_name(&self, inst: InstanceAddr, module: &Module, mem: MemAddr) -> String {
        let Some(index) = self
            .instances
            .get(inst.0 as usize)
            .and_then(|i| i.mems.iter().position(|&a| a == mem))
        else {
            return format!("memory address {} in the store", mem.0);
        };
        let mut names = Vec::new();
        if let Some(import) = module
            .imports
            .iter()
            .filter(|i| matches!(i.ty, ExternType::Memory(_)))
            .nth(index)
        {
            names.push(format!("imported as {:?} {:?}", import.module, import.name));
        }
        let exports = &self.instances[inst.0 as usize].exports;
        if let Some((name, _)) = exports.iter().find(|(_, v)| *v == ExternVal::Memory(mem)) {
            names.push(format!("exported as {name:?}"));
        }
        match names.is_empty() {
            true => format!("memory {index}"),
            false => format!("memory {index} ({})", names.join(", ")),
        }
    }

    /// The precise null of reference type `r` (whose concrete heap types are canonical).
    pub fn null_of(&self, r: RefType) -> Value {
        Value::null_of(self.abstract_heap(r.heap))
    }

    /// The abstract heap type of the hierarchy position of `h`: a concrete type gives
    /// `func`, `struct` or `array`.
    pub fn abstract_heap(&self, h: HeapType) -> HeapType {
        match h {
            HeapType::Concrete(id) if (id as usize) < self.types.len() => {
                match self.types.get(id).composite {
                    crate::types::CompositeType::Func(_) => HeapType::Func,
                    crate::types::CompositeType::Struct(_) => HeapType::Struct,
                    crate::types::CompositeType::Array(_) => HeapType::Array,
                }
            }
            other => other,
        }
    }

    /// Decode a slot holding a value of (canonical) type `ty` (see
    /// [`crate::exec::slot_to_value`]), with nulls of concrete types in the right
    /// hierarchy.
    #[inline]
    pub fn slot_value(&self, s: u128, ty: ValType) -> Value {
        match ty {
            ValType::Ref(r) => crate::runtime::slot_to_value(
                s,
                RefType::new(r.nullable, self.abstract_heap(r.heap)).into(),
            ),
            other => crate::runtime::slot_to_value(s, other),
        }
    }

    /// Spec 3.0 *Value typing* (`S ⊢ val : t`) against a canonical type: does `v` match
    /// `ty`?
    pub fn value_matches(&self, v: &Value, ty: ValType) -> bool {
        let ValType::Ref(r) = ty else {
            return v.ty() == ty;
        };
        if v.is_null() {
            let hierarchy = |h: HeapType| match self.abstract_heap(h) {
                HeapType::Func | HeapType::NoFunc => 0,
                HeapType::Extern | HeapType::NoExtern => 1,
                HeapType::Exn | HeapType::NoExn => 2,
                _ => 3,
            };
            return r.nullable && hierarchy(v.ty_heap()) == hierarchy(r.heap);
        }
        let heap = match *v {
            Value::FuncRef(Some(a)) => match self.funcs.get(a.0 as usize) {
                Some(f) => HeapType::Concrete(f.type_id()),
                None => return false,
            },
            Value::ExternRef(Some(_)) | Value::ExternAny(_) => HeapType::Extern,
            Value::AnyRef(Some(AnyRef::I31(_))) => HeapType::I31,
            Value::AnyRef(Some(AnyRef::Host(_))) => HeapType::Any,
            Value::AnyRef(Some(AnyRef::Struct(a))) => match self.structs.get(a as usize) {
                Some(s) => HeapType::Concrete(s.ty),
                None => return false,
            },
            Value::AnyRef(Some(AnyRef::Array(a))) => match self.arrays.get(a as usize) {
                Some(s) => HeapType::Concrete(s.ty),
                None => return false,
            },
            _ => return false,
        };
        self.types.heap_matches(heap, r.heap)
    }

    /// Look up an export of an instance by name.
    pub fn export(&self, instance: InstanceAddr, name: &str) -> Option<ExternVal> {
        self.instances[instance.0 as usize]
            .exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// Resolve an export descriptor of `instance`'s module to an external value.
    pub(crate) fn resolve(&self, instance: InstanceAddr, desc: ExportDesc) -> ExternVal {
        let inst = &self.instances[instance.0 as usize];
        match desc {
            ExportDesc::Func(i) => ExternVal::Func(inst.funcs[i as usize]),
            ExportDesc::Table(i) => ExternVal::Table(inst.tables[i as usize]),
            ExportDesc::Memory(i) => ExternVal::Memory(inst.mems[i as usize]),
            ExportDesc::Global(i) => ExternVal::Global(inst.globals[i as usize]),
            ExportDesc::Tag(i) => ExternVal::Tag(inst.tags[i as usize]),
        }
    }
}

/// Spec *table.init*: copy `n` references from element instance `elem` at `s` to table
/// `table` at `d`; out of bounds on either side traps before anything is written.
pub(crate) fn table_init(
    store: &mut Store,
    table: TableAddr,
    elem: ElemAddr,
    d: usize,
    s: usize,
    n: usize,
) -> Result<(), Trap> {
    let src = &store.elems[elem.0 as usize].elems;
    let dst_len = store.tables[table.0 as usize].elems.len();
    if s.checked_add(n).is_none_or(|e| e > src.len())
        || d.checked_add(n).is_none_or(|e| e > dst_len)
    {
        return Err(Trap::OutOfBoundsTableAccess);
    }
    let items: Vec<Value> = src[s..s + n].to_vec();
    store.tables[table.0 as usize].elems[d..d + n].copy_from_slice(&items);
    Ok(())
}

/// Spec *memory.init*: copy `n` bytes of data instance `data` from `s` to memory `mem` at
/// `d`; out of bounds on either side traps before anything is written.
pub(crate) fn memory_init(
    store: &mut Store,
    thread: ThreadId,
    mem: MemAddr,
    data: DataAddr,
    d: u64,
    s: usize,
    n: usize,
) -> Result<(), Trap> {
    // Borrow the segment and the memory side by side: no copy of the bytes.
    let src = &store.datas[data.0 as usize].bytes;
    if s.checked_add(n).is_none_or(|e| e > src.len()) {
        return Err(Trap::OutOfBoundsMemoryAccess);
    }
    let m = &mut store.mems[mem.0 as usize];
    crate::memory::bounds(m.len_bytes(thread) as usize, d, n)?;
    m.write(thread, Ordering::Unord, d, &src[s..s + n], false)
}

impl Store {
    /// The function of `site` as reports name it: `$name` from the module's name section if
    /// it has one, else `func N` (`N` in the function index space, imports first); `?` if
    /// the site names no function of `store`.
    pub fn function_name_at(&self, site: crate::race::Site) -> String {
        let store = self;
        let Some(inst) = store.instances.get(site.instance as usize) else {
            return "?".into();
        };
        for (index, addr) in inst.funcs.iter().enumerate() {
            if let Some(FuncInst::Wasm {
                instance,
                module,
                defined_index,
                ..
            }) = store.funcs.get(addr.0 as usize)
            {
                if instance.0 == site.instance && *defined_index == site.func {
                    return match module.func_names.get(&(index as u32)) {
                        Some(name) => format!("${name}"),
                        None => format!("func {index}"),
                    };
                }
            }
        }
        "?".into()
    }
}
