//! Memory, measured with a counting allocator: after the first call, a compiled chain of 10
//! elementwise ops over 10^6 float64 values allocates one large buffer per call, its output.

use ndarray::Array1;
use rheano::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LARGE: AtomicUsize = AtomicUsize::new(0);
const LARGE_BYTES: usize = 1 << 16;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE_BYTES {
            LARGE.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE_BYTES {
            LARGE.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= LARGE_BYTES {
            LARGE.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_chain_of_ten_ops_allocates_only_its_output() {
    let x = T::dvector("x");
    let mut v = x.clone();
    for k in 0..10 {
        v = match k % 4 {
            0 => &v * 1.5,
            1 => T::tanh(&v),
            2 => T::nnet::sigmoid(&v) + 0.5,
            _ => T::nnet::softplus(&v),
        };
    }
    let f = function(&[&x], &[&v]).unwrap();
    let arg: Value = Array1::linspace(-5.0, 5.0, 1_000_000).into();
    let first = f.call(std::slice::from_ref(&arg)).unwrap();
    drop(first);
    let before = LARGE.load(Ordering::SeqCst);
    let out = f.call(std::slice::from_ref(&arg)).unwrap();
    let after = LARGE.load(Ordering::SeqCst);
    assert_eq!(out[0].len(), 1_000_000);
    assert_eq!(
        after - before,
        1,
        "large allocations in one call: {}",
        after - before
    );
}
