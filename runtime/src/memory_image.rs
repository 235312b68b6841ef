//! Copy-on-write initial contents of a module's memories.
//!
//! When every active data segment of a memory the module defines has a
//! constant offset (no `global.get`) and lies within the memory's minimum
//! size, the module lays the segments out once as a
//! [`MemoryImage`](remap_memory::MemoryImage) (a sealed `memfd`), and each
//! instance maps it copy-on-write over the start of its new memory instead
//! of copying the bytes (see `remap_memory::LinearMemory::with_image`):
//! pages nobody writes are shared by every instance of the module.
//!
//! # When the image is built
//!
//! Lazily, on the first instantiation that creates the memory, and then
//! kept for the module's life. Compiling or loading a module that is never
//! instantiated (`remap compile`, a module only validated or serialized)
//! costs nothing, and a module whose memories the engine never images
//! (`Config::memory_init_cow(false)`) never builds one.
//!
//! # Ownership and failure
//!
//! The module owns its images (one `Arc` each); every memory mapped from
//! one holds another `Arc` while the mapping lasts. Building an image can
//! fail (no `memfd`, too many open files, a sandbox that forbids it): the
//! module then remembers "no image" for that memory and every instance
//! copies the segments, exactly as with images turned off. Mapping an image
//! into a new memory can fail too: that memory is dropped whole and
//! created again without the image, and the segments are copied into it;
//! no partial state remains. Segments that cannot be imaged (offsets from
//! globals, segments into imported memories, segments that do not fit and
//! must trap at instantiation) are always copied, in order, by
//! instantiation, so traps keep the spec's exact semantics.

use crate::data_segments::DataSegments;
use remap_compiler::module_info::{ConstExpr, ConstOp, DataSegmentKind, ModuleInfo};
use remap_memory::MemoryImage;
use std::sync::{Arc, OnceLock};

/// The images of a module's defined memories, each built on first use.
#[derive(Debug)]
pub(crate) struct ModuleImages {
    /// One per defined memory (module memory index minus the imported ones).
    images: Box<[OnceLock<Option<Arc<MemoryImage>>>]>,
}

impl ModuleImages {
    /// No image built yet for any of `info`'s defined memories.
    pub(crate) fn new(info: &ModuleInfo) -> ModuleImages {
        let defined = info
            .memories
            .len()
            .saturating_sub(info.num_imported_memories as usize);
        ModuleImages {
            images: (0..defined).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Images already laid out (a precompiled file's, mapped from it), by
    /// module memory index; the other defined memories build theirs on
    /// first use.
    pub(crate) fn with_images(
        info: &ModuleInfo,
        found: impl IntoIterator<Item = (u32, Arc<MemoryImage>)>,
    ) -> ModuleImages {
        let images = ModuleImages::new(info);
        for (memory_index, image) in found {
            let defined = memory_index.checked_sub(info.num_imported_memories);
            if let Some(slot) = defined.and_then(|defined| images.images.get(defined as usize)) {
                // A fresh lock: the first set wins, a duplicate is ignored.
                let _ = slot.set(Some(image));
            }
        }
        images
    }

    /// The image of memory `memory_index` of the module `info` describes
    /// (its segments' bytes in `segments`), built on the first call: `None`
    /// for an imported memory, one whose segments cannot be imaged or hold
    /// no byte, or when building failed.
    pub(crate) fn image(
        &self,
        info: &ModuleInfo,
        segments: &DataSegments,
        memory_index: u32,
    ) -> Option<Arc<MemoryImage>> {
        let defined = memory_index.checked_sub(info.num_imported_memories)?;
        self.images
            .get(defined as usize)?
            .get_or_init(|| build(info, segments, memory_index))
            .clone()
    }
}

/// Builds the image of memory `memory_index`, or `None` (see [`ModuleImages::image`]).
fn build(
    info: &ModuleInfo,
    segments: &DataSegments,
    memory_index: u32,
) -> Option<Arc<MemoryImage>> {
    let imaged = imageable_segments(info, |index| segments.get(index), memory_index)?;
    MemoryImage::new(imaged.iter().map(|&(_, offset, bytes)| (offset, bytes)))
        .ok()
        .flatten()
        .map(Arc::new)
}

/// The active data segments into memory `memory_index` as (segment index,
/// offset, bytes), in module order, if all of them have constant offsets
/// and lie within the memory's minimum size; `None` otherwise. `bytes_of`
/// gives a segment's bytes by index.
pub(crate) fn imageable_segments<'a>(
    info: &ModuleInfo,
    bytes_of: impl Fn(usize) -> &'a [u8],
    memory_index: u32,
) -> Option<Vec<(usize, u64, &'a [u8])>> {
    let ty = info.memories.get(memory_index as usize)?;
    let initial_bytes = ty.minimum().checked_mul(ty.page_size())?;
    let mut segments = Vec::new();
    for (index, segment) in info.data.iter().enumerate() {
        let DataSegmentKind::Active { memory, offset } = &segment.kind else {
            continue;
        };
        if *memory != memory_index {
            continue;
        }
        let offset = constant_offset(offset, ty.is_64())?;
        let bytes = bytes_of(index);
        let end = offset.checked_add(bytes.len() as u64)?;
        if end > initial_bytes {
            return None;
        }
        segments.push((index, offset, bytes));
    }
    Some(segments)
}

/// The value of an offset expression made only of constants and
/// arithmetic, as instantiation would compute it (an i32 offset is
/// unsigned); `None` if it reads a global or is malformed.
fn constant_offset(expr: &ConstExpr, is_64: bool) -> Option<u64> {
    let mut stack: Vec<i64> = Vec::with_capacity(2);
    for op in &expr.ops {
        let value = match *op {
            ConstOp::I32Const(v) => i64::from(v),
            ConstOp::I64Const(v) => v,
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (stack.pop()? as i32, stack.pop()? as i32);
                i64::from(match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                })
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
            _ => return None,
        };
        stack.push(value);
    }
    let [value] = stack[..] else {
        return None;
    };
    Some(if is_64 {
        value as u64
    } else {
        u64::from(value as i32 as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(ops: &[ConstOp]) -> ConstExpr {
        ConstExpr { ops: ops.to_vec() }
    }

    #[test]
    fn offsets_are_evaluated_like_instantiation() {
        assert_eq!(
            constant_offset(&expr(&[ConstOp::I32Const(-1)]), false),
            Some(0xffff_ffff)
        );
        assert_eq!(
            constant_offset(
                &expr(&[ConstOp::I32Const(8), ConstOp::I32Const(3), ConstOp::I32Sub]),
                false
            ),
            Some(5)
        );
        assert_eq!(
            constant_offset(
                &expr(&[
                    ConstOp::I64Const(1 << 40),
                    ConstOp::I64Const(2),
                    ConstOp::I64Mul
                ]),
                true
            ),
            Some(1 << 41)
        );
    }

    #[test]
    fn global_offsets_cannot_be_imaged() {
        assert_eq!(
            constant_offset(&expr(&[ConstOp::GlobalGet(0)]), false),
            None
        );
        assert_eq!(
            constant_offset(
                &expr(&[ConstOp::GlobalGet(0), ConstOp::I32Const(1), ConstOp::I32Add]),
                false
            ),
            None
        );
    }

    fn segments_of(module: &ModuleInfo) -> DataSegments {
        DataSegments::owned(
            module
                .data
                .iter()
                .map(|s| s.data.as_slice().into())
                .collect(),
        )
    }

    fn info(wat: &str) -> ModuleInfo {
        let wasm = wat::parse_str(wat).unwrap();
        ModuleInfo::from_wasm(&wasm, wasmparser::WasmFeatures::default()).unwrap()
    }

    #[test]
    fn in_bounds_constant_segments_are_imaged_in_order() {
        let module = info(
            r#"(module (memory 1)
                 (data (i32.const 16) "ab")
                 (data (i32.const 0) "cd"))"#,
        );
        let segments = imageable_segments(&module, |index| &module.data[index].data, 0).unwrap();
        assert_eq!(segments, [(0, 16, &b"ab"[..]), (1, 0, &b"cd"[..])]);
    }

    #[test]
    fn segments_past_the_minimum_size_are_copied_to_trap() {
        let module = info(r#"(module (memory 1) (data (i32.const 65535) "ab"))"#);
        assert!(imageable_segments(&module, |index| &module.data[index].data, 0).is_none());
        let module = info(r#"(module (memory 0) (data (i32.const 1) ""))"#);
        assert!(imageable_segments(&module, |index| &module.data[index].data, 0).is_none());
    }

    #[test]
    fn imported_memories_have_no_image() {
        let module = info(
            r#"(module (import "m" "m" (memory 1))
                 (data (i32.const 0) "ab"))"#,
        );
        assert!(
            ModuleImages::new(&module)
                .image(&module, &segments_of(&module), 0)
                .is_none()
        );
    }

    #[test]
    fn a_memory_without_data_has_no_image() {
        let module = info(r#"(module (memory 1))"#);
        assert!(
            ModuleImages::new(&module)
                .image(&module, &segments_of(&module), 0)
                .is_none()
        );
    }
}
