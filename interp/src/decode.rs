//! Decoding, validation and lowering (spec *Binary Format*, *Validation*), through
//! `wasmparser` with the threads proposal's features.

use crate::error::{ModuleError, ModuleErrorKind};
use crate::syntax::Module;

impl Module {
    /// Decode, validate and lower a binary module.
    ///
    /// Errors: [`ModuleErrorKind::Invalid`] with wasmparser's message when the binary is
    /// malformed or invalid; [`ModuleErrorKind::Unsupported`] ("simd") when it is valid but
    /// uses v128.
    pub fn decode(bytes: &[u8]) -> Result<Module, ModuleError> {
        let _ = bytes;
        Err(ModuleError {
            kind: ModuleErrorKind::Unsupported,
            message: "decoder not written yet".into(),
        })
    }
}
