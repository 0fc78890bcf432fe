//! Memory, measured with a counting allocator: after the first call, a compiled chain of 10
//! elementwise ops over 10^6 float64 values allocates one large buffer per call, its output.

use ndarray::Array1;
use rheano::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LARGE: AtomicUsize = AtomicUsize::new(0);
const LARGE_BYTES: usize = 1 << 16;
/// Matrix-sized buffers (the matrix product's own packing buffers stay below this).
static HUGE: AtomicUsize = AtomicUsize::new(0);
const HUGE_BYTES: usize = 2 << 20;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE_BYTES {
            LARGE.fetch_add(1, Ordering::SeqCst);
        }
        if layout.size() >= HUGE_BYTES {
            HUGE.fetch_add(1, Ordering::SeqCst);
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
        if layout.size() >= HUGE_BYTES {
            HUGE.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= LARGE_BYTES {
            LARGE.fetch_add(1, Ordering::SeqCst);
        }
        if new_size >= HUGE_BYTES {
            HUGE.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is global: tests that read it run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_chain_of_ten_ops_allocates_only_its_output() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
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

/// Ops that cannot fuse (a product, a reduction) still share buffers: the elementwise op after
/// the product overwrites the product's output in place (Theano's `[(0, 0)]`), and the result
/// equals the one computed without in-place.
#[test]
fn an_elementwise_op_overwrites_a_dying_intermediate() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let a = T::dmatrix("a");
    let b = T::dmatrix("b");
    let h = T::tanh(T::dot(&a, &b));
    let f = function(&[&a, &b], &[&h]).unwrap();
    let dp = f.debugprint();
    assert!(
        dp.starts_with("Elemwise{Tanh}[(0, 0)] [id A] ''   1\n"),
        "{dp}"
    );
    let n = 600; // 2.9 MB matrices, counted as HUGE

    let av: Value =
        ndarray::Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j) % 13) as f64 / 50.0)
            .into_dyn()
            .into();
    let bv: Value =
        ndarray::Array2::from_shape_fn((n, n), |(i, j)| ((i + 3 * j) % 11) as f64 / 40.0)
            .into_dyn()
            .into();
    let args = [av, bv];
    // The matrix product's packing buffers are per worker thread (first use allocates):
    // warm up, then take the fewest allocations of a few calls.
    for _ in 0..3 {
        drop(f.call(&args).unwrap());
    }
    let mut fewest = usize::MAX;
    let mut out = Vec::new();
    for _ in 0..3 {
        let before = HUGE.load(Ordering::SeqCst);
        out = f.call(&args).unwrap();
        fewest = fewest.min(HUGE.load(Ordering::SeqCst) - before);
    }
    assert_eq!(fewest, 1, "large allocations in one call");
    // Same numbers as without rewrites (and so without in-place).
    let plain = rheano::function_with(
        &[&a, &b],
        &[&h],
        FunctionOptions {
            mode: rheano::Mode::None,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!plain.debugprint().contains("[(0"));
    assert_eq!(out[0], plain.call(&args).unwrap()[0]);
}
