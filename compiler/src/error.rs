//! Errors reported by the compiler.

/// Why a module could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The bytes are not a valid Wasm module (malformed or invalid).
    #[error("invalid module at offset {offset:#x}: {message}")]
    Invalid {
        /// Byte offset in the module where the problem was found.
        offset: usize,
        /// What is wrong, as wasmparser describes it.
        message: String,
    },
    /// The module is valid but uses a feature Remap does not support yet.
    #[error("unsupported feature `{feature}` at offset {offset:#x}: {message}")]
    Unsupported {
        /// The feature's name as wasmparser calls it, e.g. "simd" or "threads".
        feature: String,
        /// Byte offset of the first use.
        offset: usize,
        /// Longer description.
        message: String,
    },
    /// Code cannot be generated for this machine (unsupported CPU or settings).
    #[error("unsupported host: {0}")]
    Host(String),
    /// Cranelift failed to compile a function (a bug in Remap).
    #[error("code generation failed for function {func_index}: {message}")]
    Codegen {
        /// Index of the function (in the function index space).
        func_index: u32,
        /// Cranelift's description.
        message: String,
    },
}

impl CompileError {
    /// Classifies a wasmparser error: a feature that is switched off becomes
    /// [`CompileError::Unsupported`], everything else [`CompileError::Invalid`].
    pub(crate) fn from_wasmparser(error: wasmparser::BinaryReaderError) -> Self {
        let message = error.message().to_string();
        let offset = usize::try_from(error.offset()).unwrap_or(usize::MAX);
        let missing = error
            .missing_wasm_feature()
            .and_then(|features| features.iter_names().next().map(|(name, _)| name));
        match missing {
            Some(feature) => CompileError::Unsupported {
                feature: feature.to_ascii_lowercase().replace('_', "-"),
                offset,
                message,
            },
            None => CompileError::Invalid { offset, message },
        }
    }

    /// The byte offset of the problem, when there is one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            CompileError::Invalid { offset, .. } | CompileError::Unsupported { offset, .. } => {
                Some(*offset)
            }
            CompileError::Host(_) | CompileError::Codegen { .. } => None,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        CompileError::from_wasmparser(error)
    }
}
