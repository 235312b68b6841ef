//! `--stats`: the memory statistics printed to stderr when a run ends.

use crate::size::format_size;
use remap::MemoryStats;

/// The statistics as the lines `--stats` prints.
pub fn format_stats(stats: &MemoryStats) -> String {
    format!(
        "memory statistics:\n  \
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
        let text = format_stats(&stats);
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
}
