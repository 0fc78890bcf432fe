//! A global allocator that keeps a few large freed blocks for the next allocation of the same
//! size: the output of a function called again and again (a training loop, a benchmark) then
//! lands in memory that is already mapped, instead of a fresh `mmap` whose every page the kernel
//! must fault in and zero (a third of the time of a 10-million-element activation).
//!
//! A program opts in by declaring it (the `rheano` command and the Python package do):
//!
//! ```
//! #[global_allocator]
//! static ALLOC: rheano::alloc::Recycling = rheano::alloc::Recycling::new();
//! # fn main() {
//! let v = vec![1.0f64; 1 << 20]; // 8 MiB: kept when dropped ...
//! drop(v);
//! let w: Vec<f64> = Vec::with_capacity(1 << 20); // ... and handed out again here
//! assert_eq!(w.capacity(), 1 << 20);
//! # }
//! ```
//!
//! At most [`MAX_BLOCKS`] blocks of at least [`MIN_BLOCK`] bytes are kept, and at most
//! [`limit`] bytes in all (256 MiB unless [`set_limit`] or `RHEANO_KEEP_FREED_MB` through
//! [`set_limit_from_env`] say otherwise; 0 turns recycling off).
//! Smaller allocations go straight to the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Blocks smaller than this are not kept (the system allocator reuses those well itself).
pub const MIN_BLOCK: usize = 4 << 20;
/// How many freed blocks are kept at most.
pub const MAX_BLOCKS: usize = 8;

static LIMIT: AtomicUsize = AtomicUsize::new(256 << 20);

/// Sets the most bytes kept in freed blocks (0: keep none, release every block at once).
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The most bytes kept in freed blocks.
pub fn limit() -> usize {
    LIMIT.load(Ordering::Relaxed)
}

/// Sets the limit from `RHEANO_KEEP_FREED_MB` (MiB; 0 turns recycling off) when it is set.
pub fn set_limit_from_env() {
    if let Some(mb) = std::env::var("RHEANO_KEEP_FREED_MB")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
    {
        set_limit(mb.saturating_mul(1 << 20));
    }
}

#[derive(Clone, Copy)]
struct Block {
    ptr: *mut u8,
    size: usize,
    align: usize,
    /// When it was freed (a counter), to release the oldest first.
    freed_at: u64,
}

struct Kept {
    blocks: [Option<Block>; MAX_BLOCKS],
    bytes: usize,
    clock: u64,
}

// SAFETY: the pointers are blocks owned by the allocator alone while they are kept.
unsafe impl Send for Kept {}

/// The recycling allocator (see the module documentation).
pub struct Recycling {
    kept: Mutex<Kept>,
}

impl Recycling {
    pub const fn new() -> Self {
        Recycling {
            kept: Mutex::new(Kept {
                blocks: [None; MAX_BLOCKS],
                bytes: 0,
                clock: 0,
            }),
        }
    }

    /// A kept block of exactly this layout, if any.
    fn take(&self, layout: Layout) -> Option<*mut u8> {
        let mut kept = self.kept.lock().ok()?;
        let slot = kept.blocks.iter().position(|b| {
            b.is_some_and(|b| b.size == layout.size() && b.align == layout.align())
        })?;
        let block = kept.blocks[slot].take()?;
        kept.bytes -= block.size;
        Some(block.ptr)
    }

    /// Keeps a freed block when it fits under the limit; gives it back otherwise.
    fn keep(&self, ptr: *mut u8, layout: Layout) -> bool {
        let limit = limit();
        if layout.size() > limit {
            return false;
        }
        // The blocks pushed out to make room, released after the lock (unmapping takes time).
        let mut evicted: [Option<Block>; MAX_BLOCKS] = [None; MAX_BLOCKS];
        {
            let Ok(mut kept) = self.kept.lock() else {
                return false;
            };
            // Make room: push out the oldest blocks until this one fits (in count and bytes).
            let mut n_evicted = 0;
            loop {
                let count = kept.blocks.iter().flatten().count();
                if count < MAX_BLOCKS && kept.bytes + layout.size() <= limit {
                    break;
                }
                let oldest = (0..MAX_BLOCKS)
                    .filter(|&i| kept.blocks[i].is_some())
                    .min_by_key(|&i| kept.blocks[i].map_or(u64::MAX, |b| b.freed_at));
                let Some(i) = oldest else {
                    return false;
                };
                let b = kept.blocks[i].take().expect("present");
                kept.bytes -= b.size;
                evicted[n_evicted] = Some(b);
                n_evicted += 1;
            }
            kept.clock += 1;
            let freed_at = kept.clock;
            let slot = kept
                .blocks
                .iter()
                .position(Option::is_none)
                .expect("room made");
            kept.blocks[slot] = Some(Block {
                ptr,
                size: layout.size(),
                align: layout.align(),
                freed_at,
            });
            kept.bytes += layout.size();
        }
        for b in evicted.into_iter().flatten() {
            // SAFETY: `b` was allocated by `System` with this size and alignment.
            unsafe { System.dealloc(b.ptr, Layout::from_size_align_unchecked(b.size, b.align)) };
        }
        true
    }
}

impl Drop for Recycling {
    fn drop(&mut self) {
        let kept = self.kept.get_mut().unwrap_or_else(|e| e.into_inner());
        for b in kept.blocks.iter_mut().filter_map(Option::take) {
            // SAFETY: `b` was allocated by `System` with this size and alignment.
            unsafe { System.dealloc(b.ptr, Layout::from_size_align_unchecked(b.size, b.align)) };
        }
        kept.bytes = 0;
    }
}

impl Default for Recycling {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every block comes from `System` and goes back to it, with its own layout; a kept block
// is handed out only for that exact layout, and only once.
unsafe impl GlobalAlloc for Recycling {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BLOCK {
            if let Some(p) = self.take(layout) {
                return p;
            }
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BLOCK {
            if let Some(p) = self.take(layout) {
                // Zeroing mapped memory costs less than faulting in fresh pages.
                std::ptr::write_bytes(p, 0, layout.size());
                return p;
            }
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= MIN_BLOCK && self.keep(ptr, layout) {
            return;
        }
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < MIN_BLOCK && new_size < MIN_BLOCK {
            return System.realloc(ptr, layout, new_size);
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_large_block_is_handed_out_again_for_the_same_layout_only() {
        let a = Recycling::new();
        let big = Layout::from_size_align(MIN_BLOCK, 64).unwrap();
        let other = Layout::from_size_align(MIN_BLOCK + 64, 64).unwrap();
        // SAFETY: each block is freed once, with the layout it was allocated with.
        unsafe {
            let p = a.alloc(big);
            assert!(!p.is_null());
            p.write(7);
            a.dealloc(p, big);
            let q = a.alloc(other);
            assert_ne!(p, q, "a different size must not get the kept block");
            let r = a.alloc_zeroed(big);
            assert_eq!(p, r, "the kept block comes back");
            assert_eq!(r.read(), 0, "alloc_zeroed zeroes a kept block");
            a.dealloc(q, other);
            a.dealloc(r, big);
            // Both kept, under the limit; more than MAX_BLOCKS frees release the oldest.
            let blocks: Vec<*mut u8> = (0..MAX_BLOCKS + 2).map(|_| a.alloc(big)).collect();
            for &b in &blocks {
                a.dealloc(b, big);
            }
            let kept = a.kept.lock().unwrap();
            assert!(kept.blocks.iter().flatten().count() <= MAX_BLOCKS);
            assert!(kept.bytes <= limit());
        }
    }
}
