//! The bytes of a module's data segments, kept apart from its `ModuleInfo`
//! (which does not serialize them): owned after compiling, or read in place
//! from a precompiled module's mapped file, where a segment that went into
//! a memory image is a slice of that image's pages (so the file holds it
//! once and loading copies nothing).
//!
//! Invariant: there is one entry per data segment of the module, in order;
//! file ranges were checked to lie inside the mapping when the module was
//! loaded.

use remap_memory::MappedFile;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

/// Every data segment's bytes, by segment index.
#[derive(Debug)]
pub(crate) enum DataSegments {
    /// Copies (a module compiled here, or loaded from bytes in memory).
    Owned(Box<[Box<[u8]>]>),
    /// Ranges of a mapped precompiled file.
    InFile {
        file: Arc<MappedFile>,
        ranges: Box<[Range<usize>]>,
    },
}

impl DataSegments {
    /// Owned copies of `segments`.
    pub fn owned(segments: Vec<Cow<'_, [u8]>>) -> DataSegments {
        DataSegments::Owned(
            segments
                .into_iter()
                .map(|bytes| bytes.into_owned().into_boxed_slice())
                .collect(),
        )
    }

    /// `segments`, read in place where they lie inside `file`'s mapping
    /// (all of them, when they come from decoding it), else copied.
    pub fn in_file(file: &Arc<MappedFile>, segments: Vec<Cow<'_, [u8]>>) -> DataSegments {
        let ranges: Option<Box<[Range<usize>]>> = segments
            .iter()
            .map(|bytes| match bytes {
                Cow::Borrowed(bytes) => file.range_of(bytes),
                Cow::Owned(_) => None,
            })
            .collect();
        match ranges {
            Some(ranges) => DataSegments::InFile {
                file: Arc::clone(file),
                ranges,
            },
            None => DataSegments::owned(segments),
        }
    }

    /// The bytes of segment `index` (empty for an index the module does not
    /// have, which validation rules out).
    pub fn get(&self, index: usize) -> &[u8] {
        match self {
            DataSegments::Owned(segments) => segments.get(index).map_or(&[], |bytes| bytes),
            DataSegments::InFile { file, ranges } => ranges
                .get(index)
                .and_then(|range| file.as_slice().get(range.clone()))
                .unwrap_or(&[]),
        }
    }
}
