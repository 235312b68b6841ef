//! The precompiled-module format written by [`Module::serialize`](crate::Module::serialize) and
//! [`Engine::precompile_module`] (the `remap compile` command) and read by
//! [`Module::deserialize`](crate::Module::deserialize).
//!
//! Layout, integers little endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | [`MAGIC`] |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 1 + n | Remap version: length, then UTF-8 |
//! | 8 | payload length |
//! | 4 | CRC-32 of the payload |
//! | rest | payload |
//!
//! The payload is the metadata ([`Metadata`], postcard-encoded, with the
//! exception table of the call sites that have handlers), then the address
//! map, the trap table and the function names in the layouts of
//! [`code_tables`](crate::vm::code_tables), zero bytes up to the next
//! multiple of [`CODE_ALIGNMENT`] from the start of the file, the machine
//! code, and, when the module has data, zero bytes up to the next multiple
//! of [`CODE_ALIGNMENT`] and the data section: the pages of each memory
//! image (the runs `memory_image.rs` would lay out in a `memfd`, each at an
//! aligned offset), then the bytes of every data segment that is not a
//! slice of an image. The big parts are raw: loading checks them but
//! decodes nothing, so
//! [`Module::deserialize_file`](crate::Module::deserialize_file) runs the
//! code where it lies in the mapped file, reads the tables and segments
//! from the mapping and maps the memory images copy-on-write straight from
//! the file. Function names and segment bytes are therefore left out of the
//! serialized `ModuleInfo`.
//!
//! The header is checked field by field so that each kind of mismatch gets its
//! own message; the metadata starts with the [`CodeCompatibility`] of the
//! compiler that produced it, which must match the loading engine's.

use crate::engine::Engine;
use crate::memory_image;
use crate::module::compile;
use crate::vm::code_tables::{check_address_map, check_function_names, check_trap_table};
use anyhow::{Context, Result, bail};
use remap_compiler::module_info::{EntityKind, ImportKind, ModuleInfo};
use remap_compiler::{
    CodeCompatibility, ExceptionCallSite, FunctionLoc, StackMapRecord, VMOffsets,
};
use remap_memory::MemoryImage;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::ops::Range;

/// First bytes of every precompiled module. Not valid Wasm (which starts
/// with `\0asm`) nor text, so no file is mistaken for the other.
pub(crate) const MAGIC: [u8; 8] = *b"\x7fREMAP\x01\n";

/// Version of the layout above and of [`Metadata`]; bump on any change.
const FORMAT_VERSION: u32 = 10;

/// The version of Remap that writes and reads artifacts.
const REMAP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The code's alignment in the file: a host page size of every host of the
/// architecture (x86-64 pages are 4 KiB; others may have up to 64 KiB).
pub(crate) const CODE_ALIGNMENT: usize = if cfg!(target_arch = "x86_64") {
    4096
} else {
    65536
};

/// A compiled module's parts, as compiling produces them and loading a
/// precompiled module recovers them (the code borrowed from the file's bytes).
pub(crate) struct CompiledArtifact<'code> {
    /// The module's declarations.
    pub info: ModuleInfo,
    /// vmctx layout.
    pub offsets: VMOffsets,
    /// Machine code, position independent.
    pub code: Cow<'code, [u8]>,
    /// Defined functions' code.
    pub functions: Vec<FunctionLoc>,
    /// Entry trampoline per module type index.
    pub entry_trampolines: Vec<Option<FunctionLoc>>,
    /// Host trampoline per module type index.
    pub host_trampolines: Vec<Option<FunctionLoc>>,
    /// Trapping instructions (the trap-table layout of `code_tables`).
    pub trap_table: Cow<'code, [u8]>,
    /// Code offset -> Wasm offset (the address-map layout of `code_tables`).
    pub address_map: Cow<'code, [u8]>,
    /// Function names (the function-name layout of `code_tables`).
    pub function_names: Cow<'code, [u8]>,
    /// Each data segment's bytes, in order.
    pub data_segments: Vec<Cow<'code, [u8]>>,
    /// Memory images found in the decoded bytes. Empty for a module just
    /// compiled.
    pub memory_images: Vec<ImageInFile>,
    /// Call sites with exception handlers, sorted by return offset.
    pub exception_table: Vec<ExceptionCallSite>,
    /// Call sites with live GC references, sorted by return offset.
    pub stack_maps: Vec<StackMapRecord>,
    /// Byte offset of each defined function's body in the module binary
    /// (backtraces use it where the exact instruction is unknown).
    pub function_body_offsets: Vec<u32>,
}

/// A memory image laid out in a precompiled file.
pub(crate) struct ImageInFile {
    /// Module memory index.
    pub memory: u32,
    /// Runs: offsets from the memory's base, and where each starts in the
    /// decoded bytes (the file).
    pub runs: Vec<(Range<usize>, usize)>,
}

/// The metadata as written: [`Metadata`] borrowed (same fields, same order).
#[derive(Serialize)]
struct MetadataRef<'a> {
    compatibility: &'a CodeCompatibility,
    info: &'a ModuleInfo,
    offsets: &'a VMOffsets,
    functions: &'a [FunctionLoc],
    entry_trampolines: &'a [Option<FunctionLoc>],
    host_trampolines: &'a [Option<FunctionLoc>],
    function_body_offsets: &'a [u32],
    exception_table: &'a [ExceptionCallSite],
    stack_maps: &'a [StackMapRecord],
    address_map_len: u64,
    trap_table_len: u64,
    function_names_len: u64,
    code_len: u64,
    memory_images: &'a [SerializedImage],
    data_segments: &'a [SegmentLocation],
    data_len: u64,
}

/// A memory image in the data section.
#[derive(Serialize, Deserialize)]
struct SerializedImage {
    /// Module memory index.
    memory: u32,
    /// Runs: offsets from the memory's base, and where each starts in the
    /// data section.
    runs: Vec<(Range<u64>, u64)>,
}

/// Where a data segment's bytes are in the data section.
#[derive(Serialize, Deserialize)]
struct SegmentLocation {
    offset: u64,
    len: u64,
}

/// Everything but the raw sections.
#[derive(Deserialize)]
struct Metadata {
    compatibility: CodeCompatibility,
    info: ModuleInfo,
    offsets: VMOffsets,
    functions: Vec<FunctionLoc>,
    entry_trampolines: Vec<Option<FunctionLoc>>,
    host_trampolines: Vec<Option<FunctionLoc>>,
    function_body_offsets: Vec<u32>,
    exception_table: Vec<ExceptionCallSite>,
    stack_maps: Vec<StackMapRecord>,
    /// Bytes of the address map.
    address_map_len: u64,
    /// Bytes of the trap table.
    trap_table_len: u64,
    /// Bytes of the function-name table.
    function_names_len: u64,
    /// Bytes of machine code.
    code_len: u64,
    memory_images: Vec<SerializedImage>,
    data_segments: Vec<SegmentLocation>,
    /// Bytes of the data section.
    data_len: u64,
}

/// The kinds of precompiled artifact [`Engine::detect_precompiled`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precompiled {
    /// A module saved by [`Module::serialize`](crate::Module::serialize) or [`Engine::precompile_module`].
    Module,
}

impl Engine {
    /// Compiles `bytes` (binary or text Wasm) and returns it in the
    /// precompiled format, without publishing any code: what `remap compile`
    /// writes. Load it with [`Module::deserialize`](crate::Module::deserialize) on an engine with the same
    /// settings.
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        refuse_precompiled(bytes)?;
        let wasm = wat::parse_bytes(bytes)?;
        let artifact = compile(self, &wasm)?;
        encode(&self.compiler().compatibility(), &artifact)
    }

    /// Whether `bytes` look like a precompiled artifact (only the magic
    /// number is checked: loading it may still fail).
    pub fn detect_precompiled(bytes: &[u8]) -> Option<Precompiled> {
        bytes.starts_with(&MAGIC).then_some(Precompiled::Module)
    }
}

/// An error for precompiled bytes given where Wasm is expected.
pub(crate) fn refuse_precompiled(bytes: &[u8]) -> Result<()> {
    if Engine::detect_precompiled(bytes).is_some() {
        bail!(
            "this is a precompiled Remap module, not WebAssembly: load it with Module::deserialize (or `remap run --allow-precompiled`)"
        );
    }
    Ok(())
}

/// Writes `artifact` in the precompiled format.
pub(crate) fn encode(
    compatibility: &CodeCompatibility,
    artifact: &CompiledArtifact<'_>,
) -> Result<Vec<u8>> {
    let data = DataSection::lay_out(&artifact.info, &artifact.data_segments)?;
    let metadata = MetadataRef {
        compatibility,
        info: &artifact.info,
        offsets: &artifact.offsets,
        functions: &artifact.functions,
        entry_trampolines: &artifact.entry_trampolines,
        host_trampolines: &artifact.host_trampolines,
        function_body_offsets: &artifact.function_body_offsets,
        exception_table: &artifact.exception_table,
        stack_maps: &artifact.stack_maps,
        address_map_len: artifact.address_map.len() as u64,
        trap_table_len: artifact.trap_table.len() as u64,
        function_names_len: artifact.function_names.len() as u64,
        code_len: artifact.code.len() as u64,
        memory_images: &data.images,
        data_segments: &data.segments,
        data_len: data.bytes.len() as u64,
    };
    let version =
        u8::try_from(REMAP_VERSION.len()).context("Remap's version string is too long")?;
    let header_len = MAGIC.len() + 4 + 1 + REMAP_VERSION.len() + 8 + 4;
    let mut payload = postcard::to_allocvec(&metadata).context("encoding the compiled module")?;
    let tables = [
        &artifact.address_map,
        &artifact.trap_table,
        &artifact.function_names,
    ];
    payload.reserve(
        tables.iter().map(|table| table.len()).sum::<usize>()
            + CODE_ALIGNMENT
            + artifact.code.len(),
    );
    for table in tables {
        payload.extend_from_slice(table);
    }
    let code_start = (header_len + payload.len()).next_multiple_of(CODE_ALIGNMENT);
    payload.resize(code_start - header_len, 0);
    payload.extend_from_slice(&artifact.code);
    if !data.bytes.is_empty() {
        let data_start = (header_len + payload.len()).next_multiple_of(CODE_ALIGNMENT);
        payload.resize(data_start - header_len, 0);
        payload.extend_from_slice(&data.bytes);
    }

    let mut bytes = Vec::with_capacity(payload.len() + 64);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.push(version);
    bytes.extend_from_slice(REMAP_VERSION.as_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// The data section as written: the bytes and what they hold.
struct DataSection {
    bytes: Vec<u8>,
    images: Vec<SerializedImage>,
    segments: Vec<SegmentLocation>,
}

impl DataSection {
    /// Lays out the memory images of `info`'s defined memories (as
    /// `memory_image.rs` would build them), then every segment that is not
    /// a slice of an image (one that a later segment overwrites in part, a
    /// passive one, one into a memory without an image).
    fn lay_out(info: &ModuleInfo, segments: &[Cow<'_, [u8]>]) -> Result<DataSection> {
        let mut section = DataSection {
            bytes: Vec::new(),
            images: Vec::new(),
            segments: Vec::new(),
        };
        let mut located: Vec<Option<u64>> = vec![None; segments.len()];
        for memory in info.num_imported_memories..info.memories.len() as u32 {
            let Some(imaged) =
                memory_image::imageable_segments(info, |index| &segments[index], memory)
            else {
                continue;
            };
            let runs =
                MemoryImage::page_runs(imaged.iter().map(|&(_, offset, bytes)| (offset, bytes)))
                    .context("laying out a memory image")?;
            if runs.is_empty() {
                continue;
            }
            let mut image = SerializedImage {
                memory,
                runs: Vec::new(),
            };
            for run in &runs {
                let start = section.bytes.len().next_multiple_of(CODE_ALIGNMENT);
                section.bytes.resize(start + run.len(), 0);
                for &(_, offset, bytes) in &imaged {
                    let offset = offset as usize;
                    if run.contains(&offset) {
                        let at = start + offset - run.start;
                        section.bytes[at..at + bytes.len()].copy_from_slice(bytes);
                    }
                }
                image
                    .runs
                    .push((run.start as u64..run.end as u64, start as u64));
            }
            // A segment is a slice of the image unless a later one changed
            // some of its bytes.
            for &(index, offset, bytes) in &imaged {
                let offset = offset as usize;
                let found = runs
                    .iter()
                    .zip(&image.runs)
                    .find(|(run, _)| run.contains(&offset));
                let (false, Some((run, &(_, start)))) = (bytes.is_empty(), found) else {
                    continue;
                };
                let at = start as usize + offset - run.start;
                if section.bytes[at..at + bytes.len()] == *bytes {
                    located[index] = Some(at as u64);
                }
            }
            section.images.push(image);
        }
        for (bytes, location) in segments.iter().zip(located) {
            let offset = location.unwrap_or_else(|| {
                let offset = section.bytes.len() as u64;
                section.bytes.extend_from_slice(bytes);
                offset
            });
            section.segments.push(SegmentLocation {
                offset,
                len: bytes.len() as u64,
            });
        }
        Ok(section)
    }
}

/// Reads the header fields in order, naming what is missing when the bytes end.
struct HeaderReader<'a> {
    bytes: &'a [u8],
}

impl<'a> HeaderReader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8]> {
        if self.bytes.len() < len {
            bail!("the precompiled module is truncated (it ends in its {what})");
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(N, what)?.try_into().expect("took N bytes"))
    }
}

/// Reads an artifact written by [`encode`] for an engine whose compiler is
/// described by `host`, checking everything that can be checked.
pub(crate) fn decode<'a>(
    host: &CodeCompatibility,
    bytes: &'a [u8],
) -> Result<CompiledArtifact<'a>> {
    if Engine::detect_precompiled(bytes).is_none() {
        if bytes.starts_with(b"\0asm") {
            bail!(
                "this is a WebAssembly binary, not a precompiled module: compile it with Module::new"
            );
        }
        bail!("not a precompiled Remap module (wrong magic number)");
    }
    let mut reader = HeaderReader {
        bytes: &bytes[MAGIC.len()..],
    };
    let format = u32::from_le_bytes(reader.array("format version")?);
    if format != FORMAT_VERSION {
        bail!(
            "the precompiled module has format version {format}, this Remap ({REMAP_VERSION}) reads version {FORMAT_VERSION}: compile it again"
        );
    }
    let [version_len] = reader.array("Remap version")?;
    let version = reader.take(version_len.into(), "Remap version")?;
    if version != REMAP_VERSION.as_bytes() {
        bail!(
            "the module was precompiled by Remap {}, this is Remap {REMAP_VERSION}: compile it again",
            String::from_utf8_lossy(version)
        );
    }
    let payload_len = u64::from_le_bytes(reader.array("payload length")?);
    let checksum = u32::from_le_bytes(reader.array("checksum")?);
    let payload = reader.bytes;
    if payload.len() as u64 != payload_len {
        bail!(
            "the precompiled module is {} ({} payload bytes, the header says {payload_len})",
            if (payload.len() as u64) < payload_len {
                "truncated"
            } else {
                "followed by extra bytes"
            },
            payload.len()
        );
    }
    if crc32fast::hash(payload) != checksum {
        bail!("the precompiled module is corrupt (checksum mismatch)");
    }
    let (metadata, raw): (Metadata, &[u8]) = postcard::take_from_bytes(payload)
        .context("the precompiled module is corrupt (cannot decode its contents)")?;
    if let Some(reason) = metadata.compatibility.mismatch(host) {
        bail!(
            "the precompiled module does not fit this engine: {reason}; compile it again with the same settings"
        );
    }
    let raw_offset = bytes.len() - raw.len();
    let artifact =
        raw_sections(metadata, raw, raw_offset).context("the precompiled module is corrupt")?;
    check_consistency(&artifact).context("the precompiled module is corrupt")?;
    Ok(artifact)
}

/// Splits the raw sections after the metadata; `raw_offset` is where they
/// start in the file (the code's padding depends on it).
fn raw_sections(metadata: Metadata, raw: &[u8], raw_offset: usize) -> Result<CompiledArtifact<'_>> {
    let lengths = [
        metadata.address_map_len,
        metadata.trap_table_len,
        metadata.function_names_len,
        metadata.code_len,
        metadata.data_len,
    ]
    .map(|len| usize::try_from(len).ok());
    let [
        Some(map_bytes),
        Some(trap_bytes),
        Some(name_bytes),
        Some(code_bytes),
        Some(data_bytes),
    ] = lengths
    else {
        bail!("its section sizes overflow");
    };
    // Offsets in `raw`; the code and the data start at aligned file offsets.
    let aligned = |end: usize| {
        end.checked_add(raw_offset)
            .and_then(|end| end.checked_next_multiple_of(CODE_ALIGNMENT))
            .map(|start| start - raw_offset)
    };
    let code_start = map_bytes
        .checked_add(trap_bytes)
        .and_then(|tables| tables.checked_add(name_bytes))
        .and_then(aligned);
    let code_end = code_start.and_then(|start| start.checked_add(code_bytes));
    let data_start = if data_bytes == 0 {
        code_end
    } else {
        code_end.and_then(aligned)
    };
    let (Some(code_start), Some(code_end), Some(data_start)) = (code_start, code_end, data_start)
    else {
        bail!("its section sizes overflow");
    };
    if data_start.checked_add(data_bytes) != Some(raw.len()) {
        bail!("its sections do not add up to its length");
    }
    let (address_map, rest) = raw.split_at(map_bytes);
    let (trap_table, rest) = rest.split_at(trap_bytes);
    let function_names = &rest[..name_bytes];
    check_address_map(address_map)?;
    check_trap_table(trap_table)?;
    check_function_names(function_names)?;
    let data = &raw[data_start..];
    let in_data = |offset: u64, len: u64| {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        (end <= data.len()).then_some(start..end)
    };
    let data_segments = metadata
        .data_segments
        .iter()
        .map(|segment| {
            in_data(segment.offset, segment.len)
                .map(|range| Cow::Borrowed(&data[range]))
                .context("a data segment lies outside the data section")
        })
        .collect::<Result<Vec<_>>>()?;
    if data_segments.len() != metadata.info.data.len() {
        bail!("its data segments do not match its declarations");
    }
    let memory_images = metadata
        .memory_images
        .iter()
        .map(|image| {
            let runs = image
                .runs
                .iter()
                .map(|(memory_range, offset)| {
                    let memory_start = usize::try_from(memory_range.start).ok()?;
                    let memory_end = usize::try_from(memory_range.end).ok()?;
                    let len = memory_end.checked_sub(memory_start)?;
                    let in_file = in_data(*offset, len as u64)?;
                    Some((
                        memory_start..memory_end,
                        raw_offset + data_start + in_file.start,
                    ))
                })
                .collect::<Option<Vec<_>>>()
                .context("a memory image lies outside the data section")?;
            Ok(ImageInFile {
                memory: image.memory,
                runs,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CompiledArtifact {
        info: metadata.info,
        offsets: metadata.offsets,
        code: Cow::Borrowed(&raw[code_start..code_end]),
        functions: metadata.functions,
        entry_trampolines: metadata.entry_trampolines,
        host_trampolines: metadata.host_trampolines,
        trap_table: Cow::Borrowed(trap_table),
        address_map: Cow::Borrowed(address_map),
        function_names: Cow::Borrowed(function_names),
        data_segments,
        memory_images,
        exception_table: metadata.exception_table,
        stack_maps: metadata.stack_maps,
        function_body_offsets: metadata.function_body_offsets,
    })
}

/// Checks the indices that building a [`Module`](crate::Module) relies on, so that a
/// damaged artifact with a valid checksum is an error rather than a panic.
fn check_consistency(module: &CompiledArtifact<'_>) -> Result<()> {
    let info = &module.info;
    let num_types = info.types.len();
    if module.offsets != VMOffsets::new(info) {
        bail!("its vmctx layout does not match its declarations");
    }
    if info.num_imported_functions as usize > info.functions.len()
        || module.functions.len() != info.functions.len() - info.num_imported_functions as usize
        || module.function_body_offsets.len() != module.functions.len()
    {
        bail!("its function counts disagree");
    }
    if module.entry_trampolines.len() != num_types || module.host_trampolines.len() != num_types {
        bail!("it does not have one trampoline of each kind per type");
    }
    // Exactly the function types have trampolines.
    for (index, (entry, host)) in (0u32..).zip(
        module
            .entry_trampolines
            .iter()
            .zip(&module.host_trampolines),
    ) {
        let is_func = info.signature(index).is_some();
        if entry.is_some() != is_func || host.is_some() != is_func {
            bail!("its trampolines do not match the function types of type {index}");
        }
    }
    let code_len = module.code.len() as u64;
    let locations = module.functions.iter().chain(
        module
            .entry_trampolines
            .iter()
            .chain(&module.host_trampolines)
            .flatten(),
    );
    for location in locations {
        if u64::from(location.offset) + u64::from(location.len) > code_len {
            bail!("a function lies outside its code");
        }
    }
    if info
        .functions
        .iter()
        .any(|&ty| info.signature(ty).is_none())
    {
        bail!("a function has an unknown type");
    }
    if info.tags.iter().any(|&ty| info.signature(ty).is_none()) {
        bail!("a tag has an unknown type");
    }
    // The unwinder resumes at handler offsets, resolves handler tags in the
    // instance's tags and binary-searches the sites.
    let handlers_in_code = module.exception_table.iter().all(|site| {
        u64::from(site.return_offset) <= code_len
            && site.handlers.iter().all(|handler| {
                u64::from(handler.code_offset) < code_len
                    && handler
                        .tag
                        .is_none_or(|tag| (tag as usize) < info.tags.len())
            })
    });
    if !handlers_in_code
        || !module
            .exception_table
            .is_sorted_by(|a, b| a.return_offset < b.return_offset)
    {
        bail!("its exception table does not fit its code");
    }
    // The collector reads and writes the slots a stack map names.
    let stack_maps_fit = module.stack_maps.iter().all(|record| {
        u64::from(record.return_offset) <= code_len
            && record
                .slots
                .iter()
                .all(|&slot| u64::from(slot) + 8 <= u64::from(record.frame_size))
    });
    if !stack_maps_fit
        || !module
            .stack_maps
            .is_sorted_by(|a, b| a.return_offset < b.return_offset)
    {
        bail!("its stack maps do not fit its code");
    }
    for export in &info.exports {
        let count = match export.kind {
            EntityKind::Function => info.functions.len(),
            EntityKind::Table => info.tables.len(),
            EntityKind::Memory => info.memories.len(),
            EntityKind::Global => info.globals.len(),
            EntityKind::Tag => info.tags.len(),
        };
        if export.index as usize >= count {
            bail!(
                "export {:?} names an entity that does not exist",
                export.name
            );
        }
    }
    for import in &info.imports {
        if let ImportKind::Function(ty) | ImportKind::ExactFunction(ty) | ImportKind::Tag(ty) =
            import.kind
            && info.signature(ty).is_none()
        {
            bail!("import {:?} has an unknown type", import.name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> CodeCompatibility {
        Engine::default().compiler().compatibility()
    }

    fn artifact() -> Vec<u8> {
        Engine::default()
            .precompile_module(
                br#"(module (func (export "f") (result i32) i32.const 7) (func (export "u") unreachable)
                            (memory (export "m") 1) (data (i32.const 0) "hi"))"#,
            )
            .unwrap()
    }

    #[test]
    fn an_artifact_round_trips() {
        let bytes = artifact();
        assert_eq!(
            Engine::detect_precompiled(&bytes),
            Some(Precompiled::Module)
        );
        let decoded = decode(&host(), &bytes).unwrap();
        assert_eq!(decoded.info.exports.len(), 3);
        assert!(!decoded.address_map.is_empty());
        assert_eq!(decoded.function_body_offsets.len(), 2);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = artifact();
        let host = host();
        for len in 0..bytes.len() {
            let error = decode(&host, &bytes[..len]).err().unwrap_or_else(|| {
                panic!("{len} of {} bytes decoded", bytes.len());
            });
            let message = format!("{error:#}");
            assert!(
                message.contains("truncated") || message.contains("magic"),
                "at {len}: {message}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_an_error() {
        let bytes = artifact();
        let host = host();
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x20;
            assert!(
                decode(&host, &damaged).is_err(),
                "a flip at {position} went unnoticed"
            );
        }
    }

    #[test]
    fn header_mismatches_are_named() {
        let bytes = artifact();
        let host = host();
        let message = |bytes: &[u8]| format!("{:#}", decode(&host, bytes).err().unwrap());

        let mut other_format = bytes.clone();
        let next_format = FORMAT_VERSION + 1;
        other_format[8..12].copy_from_slice(&next_format.to_le_bytes());
        assert!(message(&other_format).contains(&format!("format version {next_format}")));

        let mut other_version = bytes.clone();
        other_version[13] = b'7';
        assert!(message(&other_version).contains("precompiled by Remap 7"));

        let mut longer = bytes.clone();
        longer.push(0);
        assert!(message(&longer).contains("extra bytes"));

        let mut corrupt = bytes.clone();
        *corrupt.last_mut().unwrap() ^= 1;
        assert!(message(&corrupt).contains("checksum"));

        assert!(message(b"\0asm\x01\0\0\0").contains("WebAssembly binary"));
        assert!(message(b"(module)").contains("magic"));
    }

    #[test]
    fn another_engine_configuration_is_refused() {
        let bytes = artifact();
        let mut config = crate::Config::new();
        config.memory_style(crate::MemoryStyle::Dynamic);
        let dynamic = Engine::new(&config).unwrap();
        let error = decode(&dynamic.compiler().compatibility(), &bytes)
            .err()
            .unwrap();
        assert!(format!("{error:#}").contains("Dynamic"), "{error:#}");

        let mut config = crate::Config::new();
        config.wasm_simd(false);
        let no_simd = Engine::new(&config).unwrap();
        let error = decode(&no_simd.compiler().compatibility(), &bytes)
            .err()
            .unwrap();
        assert!(format!("{error:#}").contains("SIMD"), "{error:#}");
    }

    /// Where the payload starts in an artifact of this Remap.
    fn payload_start() -> usize {
        MAGIC.len() + 4 + 1 + REMAP_VERSION.len() + 8 + 4
    }

    /// Recomputes the checksum after a deliberate change to the payload.
    fn reseal(bytes: &mut [u8]) {
        let start = payload_start();
        let checksum = crc32fast::hash(&bytes[start..]);
        bytes[start - 4..start].copy_from_slice(&checksum.to_le_bytes());
    }

    #[test]
    fn an_unknown_trap_kind_is_an_error() {
        let mut bytes = artifact();
        let start = payload_start();
        let (metadata, raw): (Metadata, &[u8]) =
            postcard::take_from_bytes(&bytes[start..]).unwrap();
        assert!(metadata.trap_table_len > 0);
        let first_kind = bytes.len() - raw.len() + metadata.address_map_len as usize + 4;
        bytes[first_kind] = 99;
        reseal(&mut bytes);
        let error = decode(&host(), &bytes).err().unwrap();
        assert!(
            format!("{error:#}").contains("unknown trap kind 99"),
            "{error:#}"
        );
    }

    #[test]
    fn a_valid_checksum_over_inconsistent_contents_is_an_error() {
        let engine = Engine::default();
        let mut artifact = compile(&engine, &wat::parse_str("(module (func))").unwrap()).unwrap();
        artifact.function_body_offsets.clear();
        let bytes = encode(&host(), &artifact).unwrap();
        let error = decode(&host(), &bytes).err().unwrap();
        assert!(
            format!("{error:#}").contains("function counts"),
            "{error:#}"
        );

        let mut artifact = compile(&engine, &wat::parse_str("(module (func))").unwrap()).unwrap();
        artifact.functions[0].len = u32::MAX;
        let bytes = encode(&host(), &artifact).unwrap();
        let error = decode(&host(), &bytes).err().unwrap();
        assert!(
            format!("{error:#}").contains("outside its code"),
            "{error:#}"
        );
    }
}
