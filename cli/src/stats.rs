//! `--stats`: the memory statistics printed to stderr when a run ends: the
//! engine's (linear memories) and the process's peak virtual and resident
//! sizes (`VmPeak`, `VmHWM`), which include everything else Remap maps.

use crate::size::format_size;
use remap::{MemoryStats, ProcessMemory};
use std::io;

/// The statistics as the lines `--stats` prints; the process's sizes are
/// "unknown" when they could not be read.
pub fn format_stats(stats: &MemoryStats, process: &io::Result<ProcessMemory>) -> String {
    let (peak_virtual, peak_resident) = match process {
        Ok(process) => (
            format_size(process.peak_virtual_bytes),
            format_size(process.peak_resident_bytes),
        ),
        Err(err) => {
            let unknown = format!("unknown ({err})");
            (unknown.clone(), unknown)
        }
    };
    format!(
        "memory statistics:\n  \
         peak virtual size: {peak_virtual}\n  \
         peak resident size: {peak_resident}\n  \
         peak committed: {}\n  \
         committed at exit: {}\n  \
         pinned at exit: {}\n  \
         grows: {}\n  \
         relocations: {}\n  \
         protection calls: {} requested, {} issued",
        format_size(stats.peak_committed_bytes),
        format_size(stats.committed_bytes),
        format_size(stats.pinned_bytes),
        stats.grows,
        stats.relocations,
        stats.protection_calls_requested,
        stats.protection_calls_issued,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_statistic() {
        let stats = MemoryStats {
            committed_bytes: 65536,
            peak_committed_bytes: 131072,
            pinned_bytes: 0,
            relocations: 1,
            grows: 2,
            protection_calls_requested: 9,
            protection_calls_issued: 4,
        };
        let process = ProcessMemory {
            virtual_bytes: 1 << 30,
            peak_virtual_bytes: 9 << 30,
            resident_bytes: 2 << 20,
            peak_resident_bytes: 3 << 20,
        };
        let text = format_stats(&stats, &Ok(process));
        assert!(
            text.contains("peak virtual size: 9.0 GiB (9663676416 bytes)"),
            "{text}"
        );
        assert!(
            text.contains("peak resident size: 3.0 MiB (3145728 bytes)"),
            "{text}"
        );
        assert!(
            text.contains("peak committed: 128.0 KiB (131072 bytes)"),
            "{text}"
        );
        assert!(
            text.contains("committed at exit: 64.0 KiB (65536 bytes)"),
            "{text}"
        );
        assert!(text.contains("pinned at exit: 0 bytes"), "{text}");
        assert!(text.contains("relocations: 1"), "{text}");
        assert!(
            text.contains("protection calls: 9 requested, 4 issued"),
            "{text}"
        );
    }

    #[test]
    fn process_sizes_that_cannot_be_read_are_unknown() {
        let missing = Err(io::Error::new(io::ErrorKind::NotFound, "no /proc"));
        let text = format_stats(&MemoryStats::default(), &missing);
        assert!(
            text.contains("peak virtual size: unknown (no /proc)"),
            "{text}"
        );
        assert!(
            text.contains("peak resident size: unknown (no /proc)"),
            "{text}"
        );
        assert!(text.contains("peak committed: 0 bytes"), "{text}");
    }
}
