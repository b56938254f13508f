//! Addresses (spec *Runtime Structure › Addresses*): typed indices into the vectors of the
//! [`crate::store::Store`]. They sit below the store, so that values ([`crate::values`]) and
//! memories name them without naming the store; they are re-exported at their former paths
//! in [`crate::store`].

macro_rules! address {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
    };
}

address!(
    /// Spec `funcaddr`: index into [`crate::store::Store::funcs`].
    FuncAddr
);
address!(
    /// Spec `tableaddr`: index into [`crate::store::Store::tables`].
    TableAddr
);
address!(
    /// Spec `memaddr`: index into [`crate::store::Store::mems`].
    MemAddr
);
address!(
    /// Spec `globaladdr`: index into [`crate::store::Store::globals`].
    GlobalAddr
);
address!(
    /// Spec `elemaddr`: index into [`crate::store::Store::elems`].
    ElemAddr
);
address!(
    /// Spec `dataaddr`: index into [`crate::store::Store::datas`].
    DataAddr
);
address!(
    /// Spec 3.0 `tagaddr`: index into [`crate::store::Store::tags`].
    TagAddr
);
address!(
    /// Spec 3.0 `exnaddr`: index into [`crate::store::Store::exns`].
    ExnAddr
);
address!(
    /// Index into [`crate::store::Store::instances`] (spec `moduleinst`).
    InstanceAddr
);
