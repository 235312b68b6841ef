//! The public description of traps: [`Trap`] (why Wasm stopped) and its
//! [`WasmBacktrace`] of [`FrameInfo`]s. Catching and raising traps and
//! capturing backtraces is machinery of `vm::traps`.

pub use remap_compiler::trap::TrapKind;
use std::fmt;

/// Frames a backtrace keeps from the innermost end of a very deep stack.
pub(crate) const KEPT_INNERMOST_FRAMES: usize = 128;
/// Frames a backtrace keeps from the outermost end of a very deep stack.
pub(crate) const KEPT_OUTERMOST_FRAMES: usize = 32;

/// A Wasm trap: what went wrong and where in Wasm.
#[derive(Debug, Clone)]
pub struct Trap {
    kind: TrapKind,
    backtrace: WasmBacktrace,
}

impl Trap {
    pub(crate) fn new(kind: TrapKind, backtrace: WasmBacktrace) -> Trap {
        Trap { kind, backtrace }
    }

    /// Why the code trapped.
    pub fn kind(&self) -> TrapKind {
        self.kind
    }

    /// The Wasm frames that were active, innermost first.
    pub fn backtrace(&self) -> &WasmBacktrace {
        &self.backtrace
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.kind)?;
        if !self.backtrace.frames.is_empty() {
            write!(f, "\n{}", self.backtrace)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

/// One Wasm frame of a backtrace.
#[derive(Debug, Clone)]
pub struct FrameInfo {
    func_index: u32,
    func_name: Option<String>,
    module_name: Option<String>,
    module_offset: Option<usize>,
    func_start: Option<usize>,
}

impl FrameInfo {
    /// A frame of function `func_index` executing the instruction at
    /// `module_offset`, in the body that starts at `func_start`.
    pub(crate) fn new(
        func_index: u32,
        func_name: Option<String>,
        module_name: Option<String>,
        module_offset: usize,
        func_start: usize,
    ) -> FrameInfo {
        FrameInfo {
            func_index,
            func_name,
            module_name,
            module_offset: Some(module_offset),
            func_start: Some(func_start),
        }
    }

    /// The function's index in its module (imports first).
    pub fn func_index(&self) -> u32 {
        self.func_index
    }

    /// The function's name from the name section, if there is one.
    pub fn func_name(&self) -> Option<&str> {
        self.func_name.as_deref()
    }

    /// The module's name from the name section, if there is one.
    pub fn module_name(&self) -> Option<&str> {
        self.module_name.as_deref()
    }

    /// Byte offset in the module binary of the instruction this frame was
    /// executing: the trapping instruction in the innermost frame, the call
    /// in its callers. Where only the function is known (a trap raised
    /// inside a runtime builtin such as `memory.fill`, or by the stack check
    /// on function entry) it is the offset of the function's body.
    pub fn module_offset(&self) -> Option<usize> {
        self.module_offset
    }

    /// [`FrameInfo::module_offset`] relative to the start of the function's
    /// body in the module binary.
    pub fn func_offset(&self) -> Option<usize> {
        Some(self.module_offset? - self.func_start?)
    }
}

/// The Wasm frames active when a trap happened, innermost first.
///
/// A very deep stack (runaway recursion reaches tens of thousands of frames)
/// keeps only its innermost and outermost frames; [`WasmBacktrace::elided_frames`]
/// says how many were left out between them.
#[derive(Debug, Clone, Default)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
    /// Frames left out after `frames[..KEPT_INNERMOST_FRAMES]`.
    elided: usize,
}

impl WasmBacktrace {
    /// A backtrace of `frames`, with `elided` frames left out after the
    /// first `KEPT_INNERMOST_FRAMES`.
    pub(crate) fn new(frames: Vec<FrameInfo>, elided: usize) -> WasmBacktrace {
        WasmBacktrace { frames, elided }
    }

    /// The frames kept, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// For a stack too deep to keep whole: `(position, count)`, meaning `count`
    /// frames were left out between `frames()[..position]` (the innermost) and
    /// `frames()[position..]` (the outermost). `None` when every frame is kept.
    pub fn elided_frames(&self) -> Option<(usize, usize)> {
        (self.elided > 0).then_some((KEPT_INNERMOST_FRAMES, self.elided))
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("wasm backtrace:")?;
        for (position, frame) in self.frames.iter().enumerate() {
            // Number frames by their real depth, also after an elided run.
            let mut i = position;
            if let Some((gap, count)) = self.elided_frames()
                && position >= gap
            {
                if position == gap {
                    write!(f, "\n      ... {count} frames elided")?;
                }
                i += count;
            }
            write!(f, "\n{i:>5}: ")?;
            if let Some(offset) = frame.module_offset {
                write!(f, "{offset:#x} - ")?;
            }
            if let Some(module) = &frame.module_name {
                write!(f, "{module}!")?;
            }
            match &frame.func_name {
                Some(name) => f.write_str(name)?,
                None => write!(f, "<wasm function {}>", frame.func_index)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_display_names_kind_and_frames() {
        let trap = Trap::new(
            TrapKind::UnreachableCodeReached,
            WasmBacktrace {
                frames: vec![
                    FrameInfo {
                        func_index: 3,
                        func_name: Some("inner".into()),
                        module_name: None,
                        module_offset: Some(0x2a),
                        func_start: Some(0x20),
                    },
                    FrameInfo {
                        func_index: 1,
                        func_name: None,
                        module_name: None,
                        module_offset: None,
                        func_start: None,
                    },
                ],
                elided: 0,
            },
        );
        assert_eq!(
            trap.to_string(),
            "wasm trap: unreachable\nwasm backtrace:\n    0: 0x2a - inner\n    1: <wasm function 1>"
        );
    }
}
