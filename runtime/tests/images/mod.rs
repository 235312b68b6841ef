//! Helpers shared by the copy-on-write image tests: modules with large data
//! segments built without a multi-megabyte text form, and probes of the
//! process's mappings and proportional memory use through /proc.

#![allow(dead_code)] // each test binary uses a different subset

use remap::{Instance, Memory, Store};

/// The name the memory crate gives its image files, as /proc/self/maps shows it.
const IMAGE_FILE_NAME: &str = "memfd:remap-memory-image";

/// Appends `(offset, bytes)` active data segments for memory 0 to `wasm`,
/// a binary module that has no data section yet and nothing after its code
/// section (no names). `memory64` selects `i64.const` offsets.
pub fn with_data_segments(
    mut wasm: Vec<u8>,
    segments: &[(u64, Vec<u8>)],
    memory64: bool,
) -> Vec<u8> {
    let mut section = Vec::new();
    leb_u64(&mut section, segments.len() as u64);
    for (offset, bytes) in segments {
        section.push(0); // active, memory 0
        if memory64 {
            section.push(0x42); // i64.const
            leb_i64(&mut section, *offset as i64);
        } else {
            section.push(0x41); // i32.const
            leb_i64(&mut section, i64::from(*offset as u32 as i32));
        }
        section.push(0x0b); // end
        leb_u64(&mut section, bytes.len() as u64);
        section.extend_from_slice(bytes);
    }
    wasm.push(11); // the data section
    leb_u64(&mut wasm, section.len() as u64);
    wasm.extend(section);
    wasm
}

fn leb_u64(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn leb_i64(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return;
        }
    }
}

/// Host pages of `memory` that are mapped from an image file.
pub fn image_mapped_bytes<T>(store: &Store<T>, memory: Memory) -> u64 {
    mapped_bytes_from(store, memory, IMAGE_FILE_NAME)
}

/// Host pages of `memory` mapped from a file whose name in /proc/self/maps
/// contains `file_name`.
pub fn mapped_bytes_from<T>(store: &Store<T>, memory: Memory, file_name: &str) -> u64 {
    let start = memory.data_ptr(store) as usize;
    let end = start + memory.data_size(store);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|line| line.contains(file_name))
        .filter_map(|line| {
            let (from, to) = line.split_whitespace().next()?.split_once('-')?;
            let from = usize::from_str_radix(from, 16).ok()?.max(start);
            let to = usize::from_str_radix(to, 16).ok()?.min(end);
            (from < to).then(|| (to - from) as u64)
        })
        .sum()
}

/// The process's proportional set size in bytes (smaps_rollup `Pss:`): a
/// page mapped N times counts 1/N each time, so pages shared between
/// memories count once, unlike in the resident set size.
pub fn proportional_set_bytes() -> u64 {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
    let line = rollup.lines().find(|l| l.starts_with("Pss:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// The exported memory `memory` of `instance`.
pub fn exported_memory<T>(store: &mut Store<T>, instance: &Instance) -> Memory {
    instance.get_memory(&mut *store, "memory").unwrap()
}
