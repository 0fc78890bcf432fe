//! Matrix products with few output columns (n ≤ [`MAX_COLS`]: class scores `X·W` and their
//! weight gradient `Xᵀ·δ`), computed without packing the large operand. A general GEMM copies
//! both operands into cache-friendly panels first; when n is small that copy of the large
//! operand costs as much memory traffic as the product itself, and the GEMM's register tile is
//! mostly padding. Two register-tiled kernels read the large operand in place instead:
//!
//! - [`dot_rows`]: A stored row-major (m×k) — each output is a dot product of a row of A with a
//!   column of B, vectorised along k (every lane useful whatever n is), a tile of `R` rows ×
//!   [`NR`] columns per pass so that each loaded vector feeds several FMAs;
//! - [`outer_cols`]: A stored transposed (k×m, as X is in `Xᵀ·δ`) — the output is a sum of
//!   outer products of rows, vectorised along m, the k rows taken in blocks that stay in L2.
//!
//! Both are compiled for SSE2 / AVX2 / AVX-512 (see `runtime::elemwise::dispatched!`) with a
//! vector width and tile sized to the register file of each.

use crate::math::madd_real;
use crate::math::Real;
use crate::runtime::elemwise::{dispatched, isa, prefetch_line, Isa};

/// The most output columns the kernels take; wider products go to the general GEMM (whose
/// register tile is 16 columns wide: nothing left to gain).
pub const MAX_COLS: usize = 15;

/// The shortest rows [`dot_rows`] takes: below, its per-tile sums across vector lanes cost
/// more than the general GEMM's packing (measured: 4096×256·256×10 is faster packed).
pub(crate) const MIN_K_ROWS: usize = 512;

/// Output columns per register tile (n is padded with zero columns to a multiple).
const NR: usize = 5;

/// Products this small run on the calling thread.
const PARALLEL_FLOPS: usize = 1 << 18;

/// The sum of a vector's lanes, halving (the same order on every call).
#[inline(always)]
fn lane_sum<F: Real, const L: usize>(mut v: [F; L]) -> F {
    let mut h = L / 2;
    while h > 0 {
        for l in 0..h {
            v[l] = v[l] + v[l + h];
        }
        h /= 2;
    }
    v[0]
}

/// `L` consecutive elements from `p` (unaligned).
///
/// # Safety
/// `p .. p + L` must be readable.
#[inline(always)]
unsafe fn load<F: Copy, const L: usize>(p: *const F) -> [F; L] {
    p.cast::<[F; L]>().read_unaligned()
}

/// `out` (m×n row-major) = or += `alpha`·A·B for the skinny shapes these kernels serve, A and
/// B the stored row-major buffers read transposed where `ta`/`tb`. Returns false (nothing
/// written) for the other shapes.
#[allow(clippy::too_many_arguments)]
pub fn try_product<F: Real>(
    ta: bool,
    tb: bool,
    a: &[F],
    b: &[F],
    (m, n, k): (usize, usize, usize),
    out: &mut [F],
    accumulate: bool,
    alpha: F,
    parallel: bool,
) -> bool {
    if !(2..=MAX_COLS).contains(&n) || m < 4 || k < 8 {
        return false;
    }
    let n_pad = n.div_ceil(NR) * NR;
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    let bands = if threads > 1 && m * n * k >= PARALLEL_FLOPS {
        threads.min(m / 4).max(1)
    } else {
        1
    };
    if small_rows_product(ta, (m, n, k)) {
        // Small products (a minibatch layer): rows of A times B, B packed 16 wide.
        let bp = if tb {
            let mut bp = vec![F::zero(); k * BROADCAST_COLS];
            for (j, col) in b.chunks_exact(k).take(n).enumerate() {
                for (kk, &v) in col.iter().enumerate() {
                    bp[kk * BROADCAST_COLS + j] = v;
                }
            }
            bp
        } else {
            padded_rows(b, k, n, BROADCAST_COLS)
        };
        rows_broadcast(a, k, &bp, out, n, accumulate, alpha);
        return true;
    }
    match (ta, tb) {
        // A row-major: rows of A against rows of Bᵀ (packed n_pad×k, zero rows past n).
        (false, _) if k >= MIN_K_ROWS => {
            let rhs = PackedRhs::new(b, tb, n, k, a.as_ptr());
            let band = m.div_ceil(bands);
            run_bands(out, band * n, |i, o| {
                rows_times_packed(&a[i * band * k..], &rhs, o, accumulate, alpha);
            });
        }
        // Aᵀ·B with B row-major: outer products of the rows of A (k×m) and B (k×n, packed
        // k×n_pad with zero columns past n).
        (true, false) => {
            // B as it is when n is already a whole number of tiles (a 10-class gradient).
            let bp: std::borrow::Cow<[F]> = if n == n_pad {
                std::borrow::Cow::Borrowed(&b[..k * n])
            } else {
                std::borrow::Cow::Owned(padded_rows(b, k, n, n_pad))
            };
            // Bands of output rows (columns of the stored A), whole vectors wide.
            let band = m.div_ceil(bands).next_multiple_of(16).min(m);
            run_bands(out, band * n, |i, o| {
                let i0 = i * band;
                let job = Outer {
                    a,
                    m,
                    i0,
                    b: &bp,
                    n_pad,
                    k,
                    rows_after: 0,
                };
                let mut sums = vec![F::zero(); n_pad * (o.len() / n)];
                outer_cols(job, &mut sums);
                finish_transposed(&sums, n_pad, o, n, accumulate, alpha);
            });
        }
        _ => return false,
    }
    true
}

/// The first k rows of `b` (n wide, row-major) as rows `width` ≥ n wide, zeros past n.
fn padded_rows<F: Real>(b: &[F], k: usize, n: usize, width: usize) -> Vec<F> {
    let mut padded = vec![F::zero(); k * width];
    for (row, src) in padded.chunks_exact_mut(width).zip(b.chunks_exact(n)) {
        row[..n].copy_from_slice(src);
    }
    padded
}

/// Products below this many multiply-adds with k < [`MIN_K_ROWS`] go to [`rows_broadcast`].
const SMALL_FLOPS: usize = 1 << 17;

/// Whether [`rows_broadcast`] serves this product: A row-major, small, short rows, and
/// AVX-512's 32 registers for its 4×16 accumulators (with fewer they spill; the gemm crate
/// is faster there). 64×32·32×10: 1.1 → 0.7 µs in the kernel (the gemm crate's 32-row
/// register tile holds the 10 output columns of its transposed problem).
fn small_rows_product(ta: bool, (m, n, k): (usize, usize, usize)) -> bool {
    !ta && k < MIN_K_ROWS && m * n * k < SMALL_FLOPS && isa() == Isa::Avx512
}

/// The packed width of B in [`rows_broadcast`] (n ≤ [`MAX_COLS`] < 16).
const BROADCAST_COLS: usize = 16;

dispatched! {
    /// `out` (m×n row-major) = or += `alpha`·A·B for A (m×k row-major) and B packed
    /// k×[`BROADCAST_COLS`] (zero columns past n).
    fn rows_broadcast<F>(
        a: &[F],
        k: usize,
        bp: &[F],
        out: &mut [F],
        n: usize,
        accumulate: bool,
        alpha: F,
    ) => rows_broadcast_body
}

#[inline(always)]
fn rows_broadcast_body<F: Real, const FMA: bool>(
    a: &[F],
    k: usize,
    bp: &[F],
    out: &mut [F],
    n: usize,
    accumulate: bool,
    alpha: F,
) {
    const W: usize = BROADCAST_COLS;
    const R: usize = 4;
    let m = out.len() / n;
    assert!(n <= W && bp.len() >= k * W && a.len() >= m * k);
    let mut i = 0;
    while i < m {
        let r0 = i * k;
        let r1 = (i + 1).min(m - 1) * k;
        let r2 = (i + 2).min(m - 1) * k;
        let r3 = (i + 3).min(m - 1) * k;
        let mut acc = [[F::zero(); W]; R];
        for kk in 0..k {
            // SAFETY: the row offsets plus kk < k stay below m·k ≤ a.len(), and
            // kk·W + W ≤ bp.len().
            let (a0, a1, a2, a3, b) = unsafe {
                (
                    *a.get_unchecked(r0 + kk),
                    *a.get_unchecked(r1 + kk),
                    *a.get_unchecked(r2 + kk),
                    *a.get_unchecked(r3 + kk),
                    bp.get_unchecked(kk * W..kk * W + W),
                )
            };
            for j in 0..W {
                acc[0][j] = crate::math::madd_real::<F, FMA>(a0, b[j], acc[0][j]);
                acc[1][j] = crate::math::madd_real::<F, FMA>(a1, b[j], acc[1][j]);
                acc[2][j] = crate::math::madd_real::<F, FMA>(a2, b[j], acc[2][j]);
                acc[3][j] = crate::math::madd_real::<F, FMA>(a3, b[j], acc[3][j]);
            }
        }
        for (r, acc) in acc.iter().enumerate().take(m - i) {
            let o = &mut out[(i + r) * n..(i + r + 1) * n];
            for (o, &v) in o.iter_mut().zip(acc) {
                *o = if accumulate {
                    *o + alpha * v
                } else {
                    alpha * v
                };
            }
        }
        i += R;
    }
}

/// Bᵀ (n×k, rows of zeros up to a multiple of [`NR`]) packed for [`rows_times_packed`]: each
/// row starts at the same offset within a 64-byte line as the rows of the A it will meet (see
/// `dot_tile`), so that the product of many row blocks of one A packs B once.
pub(crate) struct PackedRhs<F> {
    buf: Vec<F>,
    shift: usize,
    n: usize,
    k: usize,
}

impl<F: Real> PackedRhs<F> {
    /// Packs B, stored k×n row-major (or n×k where `tb`), for rows of A that start at `a_row`'s
    /// offset within a cache line (any row of an A of k columns, when k·size is a multiple
    /// of 64).
    pub(crate) fn new(b: &[F], tb: bool, n: usize, k: usize, a_row: *const F) -> PackedRhs<F> {
        let size = std::mem::size_of::<F>();
        let n_pad = n.div_ceil(NR) * NR;
        let mut buf = vec![F::zero(); n_pad * k + 64 / size];
        let a_phase = (a_row as usize) % 64 / size;
        let b_phase = (buf.as_ptr() as usize) % 64 / size;
        let shift = (a_phase + 64 / size - b_phase) % (64 / size);
        let bt = &mut buf[shift..shift + n_pad * k];
        for j in 0..n {
            for kk in 0..k {
                bt[j * k + kk] = if tb { b[j * k + kk] } else { b[kk * n + j] };
            }
        }
        PackedRhs { buf, shift, n, k }
    }

    fn bt(&self) -> &[F] {
        &self.buf[self.shift..]
    }
}

/// `out` (rows×n, rows = out.len() / n) = or += `alpha`·A·B for the first rows of `a` (row
/// stride k), on this thread, with B packed by [`PackedRhs::new`].
pub(crate) fn rows_times_packed<F: Real>(
    a: &[F],
    rhs: &PackedRhs<F>,
    out: &mut [F],
    accumulate: bool,
    alpha: F,
) {
    dot_rows(a, rhs.bt(), rhs.k, rhs.n, out, accumulate, alpha);
}

/// `out[i, j]` (= or +=) `alpha`·`sums[j, i]` for `sums` n_pad × (out.len() / n), the
/// transposed sums of [`outer_cols`].
fn finish_transposed<F: Real>(
    sums: &[F],
    n_pad: usize,
    out: &mut [F],
    n: usize,
    accumulate: bool,
    alpha: F,
) {
    let width = sums.len() / n_pad;
    for (i, row) in out.chunks_exact_mut(n).enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            let v = alpha * sums[j * width + i];
            *o = if accumulate { *o + v } else { v };
        }
    }
}

/// A sum of products Aᵀ·B (A stored k×m, B stored k×n, n ≤ [`MAX_COLS`]) over blocks of rows,
/// kept transposed between blocks (the layout the kernel adds into).
pub(crate) struct TransposedSums<F> {
    sums: Vec<F>,
    m: usize,
    n: usize,
    n_pad: usize,
}

impl<F: Real> TransposedSums<F> {
    pub(crate) fn new(m: usize, n: usize) -> TransposedSums<F> {
        assert!(n <= MAX_COLS);
        let n_pad = n.div_ceil(NR) * NR;
        TransposedSums {
            sums: vec![F::zero(); n_pad * m],
            m,
            n,
            n_pad,
        }
    }

    /// Adds Aᵀ·B for the first k rows of `a` (k×m) and `b` (k×n), on this thread; the
    /// `rows_after` rows of `a` that follow (the next block) are requested from memory along
    /// the way.
    pub(crate) fn add(&mut self, a: &[F], b: &[F], k: usize, rows_after: usize) {
        let (m, n, n_pad) = (self.m, self.n, self.n_pad);
        assert!(a.len() >= k * m && b.len() >= k * n);
        let mut bp = vec![F::zero(); k * n_pad];
        for kk in 0..k {
            bp[kk * n_pad..kk * n_pad + n].copy_from_slice(&b[kk * n..kk * n + n]);
        }
        let job = Outer {
            a,
            m,
            i0: 0,
            b: &bp,
            n_pad,
            k,
            rows_after,
        };
        outer_cols(job, &mut self.sums);
    }

    /// The sum as an m×n row-major matrix.
    pub(crate) fn into_matrix(self) -> Vec<F> {
        let mut out = vec![F::zero(); self.m * self.n];
        finish_transposed(&self.sums, self.n_pad, &mut out, self.n, false, F::one());
        out
    }
}

/// Runs `f(i, band i of out)` over `out` cut into pieces of `len`, in parallel when more
/// than one.
fn run_bands<F: Real>(out: &mut [F], len: usize, f: impl Fn(usize, &mut [F]) + Sync) {
    if len >= out.len() {
        f(0, out);
    } else {
        use rayon::prelude::*;
        out.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, o)| f(i, o));
    }
}

dispatched! {
    /// `out[i, j]` (= or +=) `alpha`·Σ_k `a[i, k]`·`bt[j, k]` for the `out.len() / n` rows of
    /// `a` (row stride k) and the n_pad ≥ n rows of `bt`.
    fn dot_rows<F>(a: &[F], bt: &[F], k: usize, n: usize, out: &mut [F], accumulate: bool, alpha: F) => dot_rows_body
}

#[inline(always)]
fn dot_rows_body<F: Real, const FMA: bool>(
    a: &[F],
    bt: &[F],
    k: usize,
    n: usize,
    out: &mut [F],
    accumulate: bool,
    alpha: F,
) {
    let single = std::mem::size_of::<F>() == 4;
    // Vector width in elements, and rows per tile: R·NR accumulators plus R row vectors fit
    // the register file (32 vector registers on AVX-512, 16 below).
    match (isa(), single) {
        (Isa::Avx512, true) => dot_rows_tiled::<F, FMA, 16, 4>(a, bt, k, n, out, accumulate, alpha),
        (Isa::Avx512, false) => dot_rows_tiled::<F, FMA, 8, 4>(a, bt, k, n, out, accumulate, alpha),
        (Isa::Avx2, true) => dot_rows_tiled::<F, FMA, 8, 2>(a, bt, k, n, out, accumulate, alpha),
        (Isa::Avx2, false) => dot_rows_tiled::<F, FMA, 4, 2>(a, bt, k, n, out, accumulate, alpha),
        (Isa::Base, true) => dot_rows_tiled::<F, FMA, 4, 2>(a, bt, k, n, out, accumulate, alpha),
        (Isa::Base, false) => dot_rows_tiled::<F, FMA, 2, 2>(a, bt, k, n, out, accumulate, alpha),
    }
}

#[inline(always)]
fn dot_rows_tiled<F: Real, const FMA: bool, const L: usize, const R: usize>(
    a: &[F],
    bt: &[F],
    k: usize,
    n: usize,
    out: &mut [F],
    accumulate: bool,
    alpha: F,
) {
    let rows = out.len() / n;
    let n_pad = n.div_ceil(NR) * NR;
    assert!(a.len() >= rows * k && bt.len() >= n_pad * k);
    // Rows in chunks that stay in L2, each chunk column tile by column tile: a tile's NR rows
    // of `bt` then stay in L1 across the chunk's row groups (row group by row group, both
    // tiles' rows of `bt` stream from L2 for every group: they and the group's rows overflow
    // L1).
    let size = std::mem::size_of::<F>();
    let chunk = ((CHUNK_BYTES / (k * size).max(1)) / R * R).max(R);
    for c0 in (0..rows).step_by(chunk) {
        let c1 = (c0 + chunk).min(rows);
        for j0 in (0..n).step_by(NR) {
            let mut i = c0;
            while i < c1 {
                let r = if i + R <= c1 { R } else { 1 };
                let tile = if r == R {
                    dot_tile::<F, FMA, L, R>(&a[i * k..], &bt[j0 * k..], k, 0..k)
                } else {
                    let t = dot_tile::<F, FMA, L, 1>(&a[i * k..], &bt[j0 * k..], k, 0..k);
                    std::array::from_fn(|q| if q == 0 { t[0] } else { [F::zero(); NR] })
                };
                let rows_out = &mut out[i * n..(i + r) * n];
                write_tile(&tile[..r], rows_out, n, j0, accumulate, alpha);
                i += r;
            }
        }
    }
}

/// A tile's sums into its rows of `out` (n per row) from column `j0` on: the columns that
/// exist (the last tile may reach into the padding), set to or added as `alpha`·sum.
#[inline(always)]
fn write_tile<F: Real>(
    tile: &[[F; NR]],
    out: &mut [F],
    n: usize,
    j0: usize,
    accumulate: bool,
    alpha: F,
) {
    for (row, o) in tile.iter().zip(out.chunks_exact_mut(n)) {
        for (o, &v) in o[j0..].iter_mut().zip(row) {
            *o = if accumulate {
                *o + alpha * v
            } else {
                alpha * v
            };
        }
    }
}

/// Bytes of `a` per chunk of rows in [`dot_rows_tiled`]: read once per column tile, from L2.
const CHUNK_BYTES: usize = 128 << 10;

/// Σ_{k in ks} a[q, k]·bt[j, k] for R rows of `a` and NR rows of `bt` (both of stride
/// `stride`); `ks` starts at a multiple of L.
#[inline(always)]
fn dot_tile<F: Real, const FMA: bool, const L: usize, const R: usize>(
    a: &[F],
    bt: &[F],
    stride: usize,
    ks: std::ops::Range<usize>,
) -> [[F; NR]; R] {
    assert!(ks.end <= stride && a.len() >= R * stride && bt.len() >= NR * stride);
    let (pa, pb) = (a.as_ptr(), bt.as_ptr());
    let mut acc = [[[F::zero(); L]; NR]; R];
    // Vectors start where `a`'s rows are 64-byte aligned (`bt` is packed with the same phase):
    // a load across two cache lines costs two.
    let size = std::mem::size_of::<F>();
    let phase = (pa as usize / size + ks.start) % L;
    let head = if (pa as usize).is_multiple_of(size)
        && (stride * size).is_multiple_of(64)
        && ks.end - ks.start >= 8 * L
    {
        (L - phase) % L
    } else {
        0
    };
    let head = head.min(ks.end - ks.start);
    let full = ks.end - (ks.end - ks.start - head) % L;
    // The head and the tail (fewer than L each): one step each. Where the range holds a whole
    // vector, on the whole vector that starts at the head (or ends at the tail), the lanes
    // outside it zeroed in both operands (a select, not a copy through memory, which stalls the
    // load that reads it back); else on zero-padded copies.
    for (part, (lo, hi)) in [(ks.start, ks.start + head), (full, ks.end)]
        .into_iter()
        .enumerate()
    {
        if hi > lo && ks.end - ks.start >= L {
            let n = hi - lo;
            let (at, keep) = if part == 0 {
                (lo, 0..n)
            } else {
                (hi - L, L - n..L)
            };
            let masked = |p: *const F| -> [F; L] {
                // SAFETY: at ≥ ks.start and at + L ≤ ks.end ≤ stride, within the rows that
                // `p` starts (asserted above).
                let v: [F; L] = unsafe { load(p.add(at)) };
                let mut out = [F::zero(); L];
                for l in 0..L {
                    out[l] = if keep.contains(&l) { v[l] } else { F::zero() };
                }
                out
            };
            let mut av = [[F::zero(); L]; R];
            for (q, v) in av.iter_mut().enumerate() {
                *v = masked(pa.wrapping_add(q * stride));
            }
            let mut bv = [[F::zero(); L]; NR];
            for (j, v) in bv.iter_mut().enumerate() {
                *v = masked(pb.wrapping_add(j * stride));
            }
            dot_step::<F, FMA, L, R>(&mut acc, &av, &bv);
        } else if hi > lo {
            let mut av = [[F::zero(); L]; R];
            let mut bv = [[F::zero(); L]; NR];
            // Element by element: a variable-length copy would call memcpy.
            for l in 0..hi - lo {
                for (q, v) in av.iter_mut().enumerate() {
                    v[l] = a[q * stride + lo + l];
                }
                for (j, v) in bv.iter_mut().enumerate() {
                    v[l] = bt[j * stride + lo + l];
                }
            }
            dot_step::<F, FMA, L, R>(&mut acc, &av, &bv);
        }
    }
    let mut o = ks.start + head;
    #[cfg(target_arch = "x86_64")]
    if FMA && isa() == Isa::Avx2 && L * std::mem::size_of::<F>() == 32 {
        // SAFETY: as in the loop below; the CPU has AVX2 and FMA (`isa`).
        unsafe { dot_steps_avx2(&mut acc, pa, pb, stride, o..full) };
        o = full;
    }
    while o < full {
        // SAFETY: o + L ≤ ks.end ≤ stride, and the rows q < R of `a` and j < NR of `bt`
        // are in bounds (asserted above).
        let mut av = [[F::zero(); L]; R];
        for (q, v) in av.iter_mut().enumerate() {
            *v = unsafe { load(pa.add(q * stride + o)) };
        }
        let mut bv = [[F::zero(); L]; NR];
        for (j, v) in bv.iter_mut().enumerate() {
            *v = unsafe { load(pb.add(j * stride + o)) };
        }
        dot_step::<F, FMA, L, R>(&mut acc, &av, &bv);
        o += L;
    }
    #[cfg(target_arch = "x86_64")]
    if isa() == Isa::Avx512 && L * std::mem::size_of::<F>() == 64 {
        // SAFETY: the CPU has AVX-512 (`isa`), and [F; L] is one 512-bit vector.
        return unsafe { lane_sums_avx512(&acc) };
    }
    #[cfg(target_arch = "x86_64")]
    if isa() == Isa::Avx2 && L * std::mem::size_of::<F>() == 32 {
        // SAFETY: the CPU has AVX2 (`isa`), and [F; L] is one 256-bit vector.
        return unsafe { lane_sums_avx2(&acc) };
    }
    // Plain loops (not `from_fn` closures, which may be compiled out of line without the
    // kernel's target features, turning each FMA into a library call).
    let mut sums = [[F::zero(); NR]; R];
    for q in 0..R {
        for j in 0..NR {
            sums[q][j] = lane_sum(acc[q][j]);
        }
    }
    sums
}

/// The main loop of [`dot_tile`] in AVX2 intrinsics, one 32-byte vector of each row per step
/// (`[F; L]` is one `__m256` / `__m256d`): written out because the compiler vectorises the
/// generic loop across the tile's rows and columns on AVX2 (broadcasts and shuffles, the
/// accumulators spilled), not along the lanes as it does for AVX-512 (W4's products: 3× slower).
///
/// # Safety
/// The CPU has AVX2 and FMA; `L·size_of::<F>() = 32`; for every o in `steps` (a multiple of L
/// apart from its start), `pa + q·stride + o .. + L` (q < R) and `pb + j·stride + o .. + L`
/// (j < NR) are readable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // j picks B's row and the accumulator column together
unsafe fn dot_steps_avx2<F: Real, const L: usize, const R: usize>(
    acc: &mut [[[F; L]; NR]; R],
    pa: *const F,
    pb: *const F,
    stride: usize,
    steps: std::ops::Range<usize>,
) {
    use std::arch::x86_64::*;
    debug_assert_eq!(L * std::mem::size_of::<F>(), 32);
    // One loop for both types: the element type, its vector type and their intrinsics.
    macro_rules! steps {
        ($e:ty, $v:ty, $zero:ident, $load:ident, $fma:ident) => {{
            let (pa, pb) = (pa.cast::<$e>(), pb.cast::<$e>());
            // SAFETY: [F; L] is one vector (the caller's condition), so the accumulators are
            // an array of vectors of the same size.
            let mut c: [[$v; NR]; R] = std::mem::transmute_copy(acc);
            for o in steps.step_by(L) {
                let mut a = [$zero(); R];
                for (q, v) in a.iter_mut().enumerate() {
                    *v = $load(pa.add(q * stride + o));
                }
                for j in 0..NR {
                    let b = $load(pb.add(j * stride + o));
                    for q in 0..R {
                        c[q][j] = $fma(a[q], b, c[q][j]);
                    }
                }
            }
            *acc = std::mem::transmute_copy(&c);
        }};
    }
    if std::mem::size_of::<F>() == 4 {
        steps!(
            f32,
            __m256,
            _mm256_setzero_ps,
            _mm256_loadu_ps,
            _mm256_fmadd_ps
        );
    } else {
        steps!(
            f64,
            __m256d,
            _mm256_setzero_pd,
            _mm256_loadu_pd,
            _mm256_fmadd_pd
        );
    }
}

/// [`lane_sum`] of every accumulator, in registers: the compiler's own vectorisation of the
/// scalar halving spills the accumulators and gathers their lanes back (half of the row
/// kernel's time on float32). The same additions in the same order, so the same sums.
///
/// # Safety
/// The CPU has AVX-512F, and `[F; L]` is one 512-bit vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn lane_sums_avx512<F: Real, const L: usize, const R: usize>(
    acc: &[[[F; L]; NR]; R],
) -> [[F; NR]; R] {
    use std::arch::x86_64::*;
    debug_assert_eq!(L * std::mem::size_of::<F>(), 64);
    sums_of(acc, |p| {
        // Lanes l + 8 (float32), then l + 4, l + 2, l + 1 added to lane l: lane_sum's halving.
        // SAFETY: `p` points at one 512-bit vector; the CPU has AVX-512F (the caller).
        unsafe {
            if std::mem::size_of::<F>() == 4 {
                let v = _mm512_castps_pd(_mm512_loadu_ps(p.cast()));
                let (lo, hi) = (_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd::<1>(v));
                let s8 = _mm256_add_ps(_mm256_castpd_ps(lo), _mm256_castpd_ps(hi));
                let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
                F::c(sum4_ps(s4) as f64)
            } else {
                let v = _mm512_loadu_pd(p.cast());
                let s4 = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd::<1>(v));
                let s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd::<1>(s4));
                F::c(sum2_pd(s2))
            }
        }
    })
}

/// [`lane_sums_avx512`] for 256-bit vectors: the same halving, in registers.
///
/// # Safety
/// The CPU has AVX2, and `[F; L]` is one 256-bit vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lane_sums_avx2<F: Real, const L: usize, const R: usize>(
    acc: &[[[F; L]; NR]; R],
) -> [[F; NR]; R] {
    use std::arch::x86_64::*;
    debug_assert_eq!(L * std::mem::size_of::<F>(), 32);
    sums_of(acc, |p| {
        // SAFETY: `p` points at one 256-bit vector; the CPU has AVX2 (the caller).
        unsafe {
            if std::mem::size_of::<F>() == 4 {
                let v = _mm256_loadu_ps(p.cast());
                let s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
                F::c(sum4_ps(s4) as f64)
            } else {
                let v = _mm256_loadu_pd(p.cast());
                let s2 = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
                F::c(sum2_pd(s2))
            }
        }
    })
}

/// `sum` of every accumulator (given its first lane's address).
#[inline(always)]
fn sums_of<F: Real, const L: usize, const R: usize>(
    acc: &[[[F; L]; NR]; R],
    sum: impl Fn(*const F) -> F,
) -> [[F; NR]; R] {
    let mut sums = [[F::zero(); NR]; R];
    for (q, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            sums[q][j] = sum(v.as_ptr());
        }
    }
    sums
}

/// Lanes 2, 3 added to lanes 0, 1, then lane 1 to lane 0 (SSE2, part of x86-64).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn sum4_ps(s4: std::arch::x86_64::__m128) -> f32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE is part of every x86-64 CPU.
    unsafe {
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2)))
    }
}

/// Lane 1 added to lane 0 (SSE2).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn sum2_pd(s2: std::arch::x86_64::__m128d) -> f64 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of every x86-64 CPU.
    unsafe { _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2))) }
}

/// acc[q][j] += av[q]·bv[j], lane by lane (a function, not a closure: see `dot_tile`).
#[inline(always)]
fn dot_step<F: Real, const FMA: bool, const L: usize, const R: usize>(
    acc: &mut [[[F; L]; NR]; R],
    av: &[[F; L]; R],
    bv: &[[F; L]; NR],
) {
    for j in 0..NR {
        for q in 0..R {
            for l in 0..L {
                acc[q][j][l] = madd_real::<F, FMA>(av[q][l], bv[j][l], acc[q][j][l]);
            }
        }
    }
}

/// One band of an `Aᵀ·B` product for [`outer_cols`].
#[derive(Clone, Copy)]
struct Outer<'a, F> {
    /// A, stored k×m.
    a: &'a [F],
    m: usize,
    /// The band's first output row (column of the stored A).
    i0: usize,
    /// B, stored k×n_pad (zero columns past n).
    b: &'a [F],
    n_pad: usize,
    k: usize,
    /// Rows of the buffer past the k of A (the next block of a larger matrix): the last
    /// block of A requests that many rows from memory along the way.
    rows_after: usize,
}

dispatched! {
    /// `sums[j, c]` += Σ_k `a[k, i0 + c]`·`b[k, j]` for j < n_pad and the c < width columns of
    /// `sums` (n_pad × width, column-major: row j of the output's transpose).
    fn outer_cols<F>(job: Outer<'_, F>, sums: &mut [F]) => outer_cols_body
}

#[inline(always)]
fn outer_cols_body<F: Real, const FMA: bool>(job: Outer<'_, F>, out: &mut [F]) {
    let single = std::mem::size_of::<F>() == 4;
    match (isa(), single) {
        (Isa::Avx512, true) => outer_cols_tiled::<F, FMA, 16, 3>(job, out),
        (Isa::Avx512, false) => outer_cols_tiled::<F, FMA, 8, 3>(job, out),
        (Isa::Avx2, true) => outer_cols_tiled::<F, FMA, 8, 2>(job, out),
        (Isa::Avx2, false) => outer_cols_tiled::<F, FMA, 4, 2>(job, out),
        (Isa::Base, true) => outer_cols_tiled::<F, FMA, 4, 2>(job, out),
        (Isa::Base, false) => outer_cols_tiled::<F, FMA, 2, 2>(job, out),
    }
}

#[inline(always)]
fn outer_cols_tiled<F: Real, const FMA: bool, const L: usize, const R: usize>(
    job: Outer<'_, F>,
    out: &mut [F],
) {
    let Outer {
        a,
        m,
        i0,
        b,
        n_pad,
        k,
        rows_after,
    } = job;
    let sums = out;
    let width = sums.len() / n_pad;
    assert!(a.len() >= k * m && i0 + width <= m && b.len() >= k * n_pad);
    // Rows of A per block: the block's part of A stays in L2 while every tile reads it.
    let kc = ((256 << 10) / (width.max(1) * std::mem::size_of::<F>())).clamp(16, k.max(16));
    for k0 in (0..k).step_by(kc) {
        let k1 = (k0 + kc).min(k);
        let mut c = 0;
        while c + L <= width {
            let r = if c + R * L <= width { R } else { 1 };
            for j0 in (0..n_pad).step_by(NR) {
                // The tiles over these columns request the next block's rows, each its share
                // of the vectors (prefetches spread out do not wait for free fill buffers).
                let (ahead, pf) = if k1 + (k1 - k0) <= k + rows_after {
                    let (t, tiles) = (j0 / NR, n_pad / NR);
                    (k1 - k0, t * r / tiles..(t + 1) * r / tiles)
                } else {
                    (0, 0..0)
                };
                if r == R {
                    outer_tile::<F, FMA, L, R>(
                        a,
                        m,
                        i0 + c,
                        b,
                        n_pad,
                        j0,
                        k0..k1,
                        (ahead, pf.clone()),
                        sums,
                        width,
                        c,
                    );
                } else {
                    outer_tile::<F, FMA, L, 1>(
                        a,
                        m,
                        i0 + c,
                        b,
                        n_pad,
                        j0,
                        k0..k1,
                        (ahead, pf.clone()),
                        sums,
                        width,
                        c,
                    );
                }
            }
            c += r * L;
        }
        // The last columns, fewer than a vector.
        for cc in c..width {
            for j in 0..n_pad {
                let mut s = sums[j * width + cc];
                for kk in k0..k1 {
                    s = madd_real::<F, FMA>(a[kk * m + i0 + cc], b[kk * n_pad + j], s);
                }
                sums[j * width + cc] = s;
            }
        }
    }
}

/// sums[j0 + j, c .. c + R·L] += Σ_{kk in ks} a[kk, i .. i + R·L]·b[kk, j0 + j], j < NR;
/// vectors `pf` of the same columns `ahead` rows further down are requested from memory along
/// the way.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn outer_tile<F: Real, const FMA: bool, const L: usize, const R: usize>(
    a: &[F],
    m: usize,
    i: usize,
    b: &[F],
    n_pad: usize,
    j0: usize,
    ks: std::ops::Range<usize>,
    (ahead, pf): (usize, std::ops::Range<usize>),
    sums: &mut [F],
    width: usize,
    c: usize,
) {
    assert!(
        ks.end <= b.len() / n_pad
            && (ks.end == 0 || (ks.end - 1) * m + i + R * L <= a.len())
            && j0 + NR <= n_pad
            && (j0 + NR - 1) * width + c + R * L <= sums.len()
    );
    let (pa, pb, ps) = (a.as_ptr(), b.as_ptr(), sums.as_mut_ptr());
    // SAFETY (all reads and writes below): within the bounds asserted above.
    let mut acc = [[[F::zero(); L]; R]; NR];
    for (j, acc_j) in acc.iter_mut().enumerate() {
        for (q, v) in acc_j.iter_mut().enumerate() {
            *v = unsafe { load(ps.add((j0 + j) * width + c + q * L)) };
        }
    }
    for kk in ks {
        let mut av = [[F::zero(); L]; R];
        for (q, v) in av.iter_mut().enumerate() {
            *v = unsafe { load(pa.add(kk * m + i + q * L)) };
        }
        for q in pf.clone() {
            prefetch_line(pa.wrapping_add((kk + ahead) * m + i + q * L));
        }
        for (j, acc_j) in acc.iter_mut().enumerate() {
            let bj = unsafe { *pb.add(kk * n_pad + j0 + j) };
            for q in 0..R {
                for l in 0..L {
                    acc_j[q][l] = madd_real::<F, FMA>(av[q][l], bj, acc_j[q][l]);
                }
            }
        }
    }
    for (j, acc_j) in acc.iter().enumerate() {
        for (q, v) in acc_j.iter().enumerate() {
            unsafe {
                ps.add((j0 + j) * width + c + q * L)
                    .cast::<[F; L]>()
                    .write_unaligned(*v)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX-512 and AVX2 lane sums add in `lane_sum`'s order: the same bits, for values whose sums
    /// round differently in other orders (mixed magnitudes and signs, ±0, subnormals).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn register_lane_sums_are_lane_sums_bit_for_bit() {
        fn check<F: Real, const L: usize>() {
            let mut seed = 11u64;
            let specials = [0.0, -0.0, 1e-310, -3e-320, 1e300, -1e300, 1.0, 1e-8];
            for round in 0..200 {
                let mut acc = [[[F::zero(); L]; NR]; 4];
                for (i, v) in acc.iter_mut().flatten().flatten().enumerate() {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let u = (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                    let scale = 10f64.powi(((seed >> 3) % 17) as i32 - 8);
                    *v = F::c(if (i + round) % 13 == 0 {
                        specials[(seed % 8) as usize]
                    } else {
                        u * scale
                    });
                }
                // SAFETY: the caller checked the CPU's features; [F; L] is 64 or 32 bytes.
                let fast = if L * std::mem::size_of::<F>() == 64 {
                    unsafe { lane_sums_avx512::<F, L, 4>(&acc) }
                } else {
                    unsafe { lane_sums_avx2::<F, L, 4>(&acc) }
                };
                for q in 0..4 {
                    for j in 0..NR {
                        let want = lane_sum(acc[q][j]);
                        assert_eq!(
                            fast[q][j].to_f64().to_bits(),
                            want.to_f64().to_bits(),
                            "{q} {j}: {:?}",
                            acc[q][j]
                        );
                    }
                }
            }
        }
        if is_x86_feature_detected!("avx512f") {
            check::<f32, 16>();
            check::<f64, 8>();
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            check::<f32, 8>();
            check::<f64, 4>();
        }
    }

    /// out = or += alpha·op(A)·op(B) by the definition, in f64.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        ta: bool,
        tb: bool,
        a: &[f64],
        b: &[f64],
        (m, n, k): (usize, usize, usize),
        out: &mut [f64],
        accumulate: bool,
        alpha: f64,
    ) {
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|kk| {
                        let x = if ta { a[kk * m + i] } else { a[i * k + kk] };
                        let y = if tb { b[j * k + kk] } else { b[kk * n + j] };
                        x * y
                    })
                    .sum();
                let o = &mut out[i * n + j];
                *o = if accumulate {
                    *o + alpha * s
                } else {
                    alpha * s
                };
            }
        }
    }

    fn check<F: Real>(tol: f64) {
        let mut seed = 7u64;
        let mut rand = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        // Odd sizes: row and column remainders, k not a multiple of any vector width, and
        // operands that start off any alignment (the slices begin `skew` elements in).
        for &(m, n, k) in &[
            (4, 2, 8),
            (7, 3, 600),
            (33, 10, 784),
            (100, 15, 37),
            (61, 11, 515),
            (130, 5, 64),
            (9, 7, 1000),
            (300, 10, 200),
            (600, 10, 520),
            (13, 9, 50),
            (66, 14, 32),
        ] {
            for (ta, tb) in [(false, false), (false, true), (true, false)] {
                for (skew, accumulate) in [(0, false), (1, true), (3, false)] {
                    let a64: Vec<f64> = (0..m * k + skew).map(|_| rand()).collect();
                    let b64: Vec<f64> = (0..k * n + skew).map(|_| rand()).collect();
                    let o64: Vec<f64> = (0..m * n).map(|_| rand()).collect();
                    let (a, b): (Vec<F>, Vec<F>) = (
                        a64.iter().map(|&v| F::c(v)).collect(),
                        b64.iter().map(|&v| F::c(v)).collect(),
                    );
                    let mut out: Vec<F> = o64.iter().map(|&v| F::c(v)).collect();
                    let alpha = -0.75;
                    let handled = try_product(
                        ta,
                        tb,
                        &a[skew..],
                        &b[skew..],
                        (m, n, k),
                        &mut out,
                        accumulate,
                        F::c(alpha),
                        true,
                    );
                    let small = small_rows_product(ta, (m, n, k));
                    assert_eq!(
                        handled,
                        ta || k >= MIN_K_ROWS || small,
                        "{m}x{n}x{k} ta={ta}"
                    );
                    if !handled {
                        continue;
                    }
                    let wide =
                        |v: &[F]| v.iter().map(|x| x.to_f64().unwrap()).collect::<Vec<f64>>();
                    let mut want = wide(&out.iter().map(|_| F::zero()).collect::<Vec<F>>());
                    want.copy_from_slice(&wide(&o64.iter().map(|&v| F::c(v)).collect::<Vec<F>>()));
                    naive(
                        ta,
                        tb,
                        &wide(&a)[skew..],
                        &wide(&b)[skew..],
                        (m, n, k),
                        &mut want,
                        accumulate,
                        alpha,
                    );
                    for (x, w) in wide(&out).iter().zip(&want) {
                        assert!(
                            (x - w).abs() <= tol * (k as f64).sqrt(),
                            "{m}x{n}x{k} ta={ta} tb={tb} skew={skew}: {x} vs {w}"
                        );
                    }
                }
            }
        }
        // Shapes left to the general GEMM: 16 columns, and Aᵀ·Bᵀ.
        for (ta, tb, (m, n, k)) in [(false, false, (4, 16, 8)), (true, true, (8, 4, 8))] {
            let mut out = vec![F::zero(); m * n];
            let (a, b) = (vec![F::zero(); m * k], vec![F::zero(); k * n]);
            let taken = try_product(ta, tb, &a, &b, (m, n, k), &mut out, false, F::one(), true);
            assert!(!taken, "{m}x{n}x{k} ta={ta} tb={tb}");
        }
    }

    #[test]
    fn skinny_products_match_the_definition() {
        check::<f64>(1e-14);
        check::<f32>(2e-6);
    }
}
