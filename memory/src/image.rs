//! Memory images: a memory's initial contents laid out once in a sealed,
//! sparse in-memory file (`memfd`), or found already laid out in a
//! precompiled module's file, to be mapped copy-on-write
//! (`MAP_PRIVATE | MAP_FIXED`) over the start of every memory that begins
//! with them, instead of copying the bytes into each one.
//!
//! # Invariants
//!
//! An image owns its file descriptor; the kernel keeps the file alive as
//! long as the descriptor or any mapping of it exists, so memories built
//! from an image stay valid even after the image is dropped. The file is
//! sealed before the image is handed out (no write, shrink, grow or further
//! seal), so every mapping of it sees the same bytes forever; writes through
//! a private mapping land in the writer's own anonymous copies. An image in
//! a precompiled file ([`MemoryImage::in_file`]) cannot be sealed: that its
//! bytes never change is the promise of whoever loads the file.
//!
//! In a `memfd`, offsets in the file are offsets from a memory's base; in a
//! precompiled file each run has its own page-aligned file offset. `ranges` are the
//! host-page-aligned, ascending, disjoint runs of pages that hold data: only
//! they are mapped, so the pages in between stay the memory's own anonymous
//! zero pages (a hole in a shared memory file would be given a real page
//! the first time anyone reads it). Runs separated by a few pages are
//! merged, and an image never maps more than [`MAX_IMAGE_MAPPINGS`] runs, so
//! that an image costs a bounded number of kernel mappings per memory.
//!
//! # Failure behaviour
//!
//! Building an image either returns a sealed image or an error, leaving
//! nothing behind (the descriptor is closed); a caller then initialises its
//! memories by copying instead.

use crate::MemoryError;
use crate::sys::{self, Syscall};
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The most page runs of one image mapped into a memory; an image with
/// more is mapped as one run from its first data page to its last.
pub const MAX_IMAGE_MAPPINGS: usize = 64;

/// Runs of data pages separated by at most this many empty host pages are
/// mapped as one run (the pages between read as the file's zero holes).
const MERGE_GAP_PAGES: usize = 16;

/// A memory's initial contents in a sealed in-memory file, ready to be
/// mapped copy-on-write into any number of memories. `Send + Sync`; share
/// it behind an `Arc`.
#[derive(Debug)]
pub struct MemoryImage {
    file: OwnedFd,
    /// Host-page-aligned, ascending, disjoint offsets from the base that are
    /// mapped from the file.
    ranges: Vec<Range<usize>>,
    /// Where each of `ranges` starts in the file (page-aligned).
    file_offsets: Vec<usize>,
}

impl MemoryImage {
    /// Lays out `segments` (offset from the memory's base, bytes), in order,
    /// later ones overwriting earlier ones where they overlap, as an image.
    /// `None` if no segment has any byte (nothing to map).
    pub fn new<'a>(
        segments: impl IntoIterator<Item = (u64, &'a [u8])> + Clone,
    ) -> Result<Option<MemoryImage>, MemoryError> {
        let ranges = MemoryImage::page_runs(segments.clone())?;
        if ranges.is_empty() {
            return Ok(None);
        }
        let len = ranges.last().map_or(0, |last| last.end);
        let file = sys::memfd_create_sealable(c"remap-memory-image")
            .map_err(|source| MemoryError::syscall(Syscall::MemfdCreate, source))?;
        sys::set_file_len(file.as_fd(), len)
            .map_err(|source| MemoryError::syscall(Syscall::Ftruncate, source))?;
        for (offset, bytes) in segments {
            // Offsets were checked to fit a usize by `page_runs`.
            sys::write_all_at(file.as_fd(), bytes, offset as usize)
                .map_err(|source| MemoryError::syscall(Syscall::Pwrite, source))?;
        }
        sys::seal_contents(file.as_fd())
            .map_err(|source| MemoryError::syscall(Syscall::Fcntl, source))?;
        let file_offsets = ranges.iter().map(|range| range.start).collect();
        Ok(Some(MemoryImage {
            file,
            ranges,
            file_offsets,
        }))
    }

    /// An image whose pages already lie in `file` (a precompiled module's):
    /// `runs` are (offsets from a memory's base, where they start in the
    /// file), as [`MemoryImage::page_runs`] made them. An error if a run is
    /// not page-aligned, empty, out of order, or there are more than
    /// [`MAX_IMAGE_MAPPINGS`].
    ///
    /// # Safety
    /// The file's bytes in those runs must not change while the image or any
    /// memory mapped from it lives (every such memory would see the change).
    pub unsafe fn in_file(
        file: OwnedFd,
        runs: Vec<(Range<usize>, usize)>,
    ) -> Result<MemoryImage, MemoryError> {
        let page = sys::host_page_size();
        let aligned = |value: usize| value.is_multiple_of(page);
        let well_formed = runs.len() <= MAX_IMAGE_MAPPINGS
            && runs.iter().all(|(range, file_offset)| {
                range.start < range.end
                    && aligned(range.start)
                    && aligned(range.end)
                    && aligned(*file_offset)
            })
            && runs.windows(2).all(|pair| pair[0].0.end <= pair[1].0.start);
        if !well_formed {
            return Err(MemoryError::InvalidConfig(
                "a memory image's runs must be non-empty, page-aligned, ascending and few".into(),
            ));
        }
        let (ranges, file_offsets) = runs.into_iter().unzip();
        Ok(MemoryImage {
            file,
            ranges,
            file_offsets,
        })
    }

    /// The page runs an image of `segments` maps (host-page-aligned,
    /// ascending, disjoint offsets from a memory's base): every page a
    /// segment touches, runs a few pages apart merged, at most
    /// [`MAX_IMAGE_MAPPINGS`] of them. Empty when no segment has a byte.
    pub fn page_runs<'a>(
        segments: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> Result<Vec<Range<usize>>, MemoryError> {
        let page = sys::host_page_size();
        let mut pages: Vec<Range<usize>> = Vec::new();
        for (offset, bytes) in segments {
            if bytes.is_empty() {
                continue;
            }
            let start = usize::try_from(offset).map_err(|_| MemoryError::Overflow {
                what: "memory image segment offset",
            })?;
            let end = start
                .checked_add(bytes.len())
                .and_then(|end| end.checked_next_multiple_of(page))
                .ok_or(MemoryError::Overflow {
                    what: "memory image segment end",
                })?;
            pages.push(start / page * page..end);
        }
        if pages.is_empty() {
            return Ok(Vec::new());
        }
        Ok(merge_runs(pages, MERGE_GAP_PAGES * page))
    }

    /// The host-page-aligned offsets from a memory's base that this image
    /// maps, ascending and disjoint.
    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// The end of the last mapped page: a memory must have at least this
    /// many accessible bytes to take the image.
    pub fn end(&self) -> usize {
        self.ranges.last().map_or(0, |last| last.end)
    }

    /// Bytes of the memory the image maps (data pages and merged gaps).
    pub fn mapped_bytes(&self) -> usize {
        self.ranges.iter().map(|range| range.len()).sum()
    }

    pub(crate) fn file(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Each mapped range with where it starts in the file.
    pub(crate) fn runs(&self) -> impl Iterator<Item = (&Range<usize>, usize)> {
        self.ranges.iter().zip(self.file_offsets.iter().copied())
    }
}

/// Sorts page-aligned `runs`, merges overlapping ones and those at most
/// `gap` bytes apart, and if more than [`MAX_IMAGE_MAPPINGS`] remain,
/// returns the one run that spans them all.
fn merge_runs(mut runs: Vec<Range<usize>>, gap: usize) -> Vec<Range<usize>> {
    runs.sort_unstable_by_key(|run| run.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(runs.len());
    for run in runs {
        match merged.last_mut() {
            Some(last) if run.start <= last.end.saturating_add(gap) => {
                last.end = last.end.max(run.end);
            }
            _ => merged.push(run),
        }
    }
    if merged.len() > MAX_IMAGE_MAPPINGS {
        let span = merged[0].start..merged[merged.len() - 1].end;
        merged = vec![span];
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_across_small_gaps_only() {
        let page = 4096;
        let runs = vec![
            10 * page..11 * page,
            0..page,
            page..2 * page,
            100 * page..102 * page,
        ];
        assert_eq!(
            merge_runs(runs, 16 * page),
            [0..11 * page, 100 * page..102 * page]
        );
    }

    #[test]
    fn too_many_runs_become_one() {
        let page = 4096;
        let runs: Vec<_> = (0..=MAX_IMAGE_MAPPINGS)
            .map(|i| i * 100 * page..(i * 100 + 1) * page)
            .collect();
        let merged = merge_runs(runs, 0);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0], 0..(MAX_IMAGE_MAPPINGS * 100 + 1) * page);
    }

    #[test]
    fn an_image_holds_the_segments_in_order_and_is_sealed() {
        let page = sys::host_page_size();
        let first = vec![1u8; 10];
        let second = vec![2u8; 4];
        let image = MemoryImage::new([
            (page as u64 + 5, first.as_slice()),
            (page as u64 + 8, second.as_slice()),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(image.ranges().len(), 1);
        assert_eq!(image.ranges()[0], page..2 * page);
        assert_eq!(image.end(), 2 * page);
        let mut contents = vec![0xffu8; 16];
        // SAFETY: `contents` is a writable buffer of 16 bytes.
        unsafe {
            sys::read_exact_at(image.file(), contents.as_mut_ptr() as usize, 16, page).unwrap()
        };
        assert_eq!(contents, [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0]);
        let error = sys::write_all_at(image.file(), &[9], page).unwrap_err();
        assert_eq!(
            error.raw_os_error(),
            Some(libc::EPERM),
            "sealed against writes"
        );
    }

    #[test]
    fn images_in_a_file_need_aligned_ordered_runs() {
        let page = sys::host_page_size();
        let file = || sys::memfd_create_sealable(c"image-test").unwrap();
        let image = |runs| {
            // SAFETY: nothing writes the fresh file.
            unsafe { MemoryImage::in_file(file(), runs) }
        };
        let good = image(vec![(0..page, 3 * page), (4 * page..6 * page, page)]).unwrap();
        assert_eq!(good.ranges(), [0..page, 4 * page..6 * page]);
        assert_eq!(
            good.runs().map(|(_, at)| at).collect::<Vec<_>>(),
            [3 * page, page]
        );
        for bad in [
            vec![(0..page, 1)],
            vec![(1..page, 0)],
            vec![(page..page, 0)],
            vec![(page..2 * page, 0), (0..page, 0)],
            (0..=MAX_IMAGE_MAPPINGS)
                .map(|i| (i * page..(i + 1) * page, 0))
                .collect(),
        ] {
            assert!(image(bad).is_err());
        }
    }

    #[test]
    fn empty_segments_make_no_image() {
        assert!(
            MemoryImage::new([(0, &[][..]), (4096, &[][..])])
                .unwrap()
                .is_none()
        );
    }
}
