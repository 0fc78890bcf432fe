//! `Dot22CrossentropySoftmaxGrad`: a softmax-regression layer's forward and backward pass in
//! one sweep over its input. The optimizer builds it from
//!
//! ```text
//! nll, sm, am = CrossentropySoftmaxArgmax1HotWithBias(Dot22(X, W), b, y)
//! dx          = CrossentropySoftmax1HotWithBiasDx(dz, sm, y)
//! dW          = Dot22{TN}(X, dx)
//! ```
//!
//! (the graph of `categorical_crossentropy(softmax(X·W + b), y)` and its gradient). Unfused, X
//! — by far the largest operand — is read from memory twice, once per product. Here blocks of
//! rows of X small enough to stay in L2 go through both products back to back, with the
//! softmax, the costs and the gradient rows in between: X is read from memory once. Outputs
//! `(nll, sm, am, dx, dW)`, the same values as the five nodes it replaces (dW summed block by
//! block).

use super::dot::product_slices;
use super::skinny::{rows_times_packed, PackedRhs, TransposedSums, MAX_COLS};
use crate::math::Real;

/// Bytes of X per block: with its gradient rows, the block stays in L2 for the second product.
const BLOCK_BYTES: usize = 256 << 10;

/// Products smaller than this run on the calling thread.
const PARALLEL_FLOPS: usize = 1 << 18;

/// What one band of rows produces: its rows of nll, sm, am, dx and its part of dW.
struct Band<F> {
    nll: Vec<F>,
    sm: Vec<F>,
    am: Vec<i64>,
    dx: Vec<F>,
    dw: Vec<F>,
}

impl<F: Real> Band<F> {
    /// Room for `rows` rows of n classes (sm and dx are written entry by entry) and a zero dW.
    fn with_rows(rows: usize, n: usize, k: usize) -> Band<F> {
        Band {
            nll: Vec::with_capacity(rows),
            sm: crate::runtime::elemwise::alloc_output::<F>(rows * n),
            am: Vec::with_capacity(rows),
            dx: crate::runtime::elemwise::alloc_output::<F>(rows * n),
            dw: vec![F::zero(); k * n],
        }
    }
}

/// The five outputs for X (m×k), W (k×n), b (n entries, or one broadcast), `labels` (m, each
/// < n, checked by the caller), dz (m entries, or one broadcast): `(nll, sm, am, dx, dW)`.
#[allow(clippy::type_complexity)]
pub(crate) fn linear_crossentropy<F: Real>(
    x: &[F],
    (m, k): (usize, usize),
    w: &[F],
    n: usize,
    b: &[F],
    labels: &[usize],
    dz: &[F],
) -> (Vec<F>, Vec<F>, Vec<i64>, Vec<F>, Vec<F>) {
    if m == 0 || n == 0 {
        // No rows (an empty batch) or no classes (then no rows either: labels are checked).
        return (vec![], vec![], vec![], vec![], vec![F::zero(); k * n]);
    }
    let threads = rayon::current_num_threads();
    let bands = if threads > 1 && m * n * k >= PARALLEL_FLOPS {
        threads.min(m.max(1))
    } else {
        1
    };
    let band_rows = m.div_ceil(bands).max(1);
    // A one-entry bias broadcast once, not tested per element.
    let b: Vec<F> = if b.len() == 1 {
        vec![b[0]; n]
    } else {
        b.to_vec()
    };
    let b = &b[..];
    // W packed once for every block (when the row kernel serves this shape).
    let packed = ((2..=MAX_COLS).contains(&n) && k >= super::skinny::MIN_K_ROWS)
        .then(|| PackedRhs::new(w, false, n, k, x.as_ptr()));
    let run = |t: usize| {
        let r0 = (t * band_rows).min(m);
        let r1 = ((t + 1) * band_rows).min(m);
        band(x, (r0, r1), k, w, n, b, labels, dz, packed.as_ref())
    };
    if bands == 1 {
        let one = run(0);
        return (one.nll, one.sm, one.am, one.dx, one.dw);
    }
    let parts: Vec<Band<F>> = {
        use rayon::prelude::*;
        (0..bands).into_par_iter().map(run).collect()
    };
    let mut out = Band::with_rows(m, n, k);
    let mut row = 0;
    for p in parts {
        let rows = p.nll.len();
        out.nll.extend_from_slice(&p.nll);
        out.am.extend_from_slice(&p.am);
        out.sm[row * n..(row + rows) * n].copy_from_slice(&p.sm);
        out.dx[row * n..(row + rows) * n].copy_from_slice(&p.dx);
        for (d, &v) in out.dw.iter_mut().zip(&p.dw) {
            *d = *d + v;
        }
        row += rows;
    }
    (out.nll, out.sm, out.am, out.dx, out.dw)
}

/// Rows `r0 .. r1`, block by block, on this thread.
#[allow(clippy::too_many_arguments)]
fn band<F: Real>(
    x: &[F],
    (r0, r1): (usize, usize),
    k: usize,
    w: &[F],
    n: usize,
    b: &[F],
    labels: &[usize],
    dz: &[F],
    packed: Option<&PackedRhs<F>>,
) -> Band<F> {
    // `b` has n entries here.
    let rows = r1 - r0;
    let mut out = Band::with_rows(rows, n, k);
    let block = (BLOCK_BYTES / (k.max(1) * std::mem::size_of::<F>())).clamp(8, 1024);
    let mut logits = vec![F::zero(); block.min(rows.max(1)) * n];
    let mut dw_t = (n <= MAX_COLS).then(|| TransposedSums::new(k, n));
    for i0 in (r0..r1).step_by(block) {
        let i1 = (i0 + block).min(r1);
        let xb = &x[i0 * k..i1 * k];
        let lg = &mut logits[..(i1 - i0) * n];
        // Logits of the block, plus the bias.
        match packed {
            Some(rhs) => rows_times_packed(xb, rhs, lg, false, F::one()),
            None => {
                lg.fill(F::zero());
                product_slices(
                    false,
                    false,
                    xb,
                    w,
                    (i1 - i0, n, k),
                    lg,
                    false,
                    F::one(),
                    false,
                    None,
                );
            }
        }
        for row in lg.chunks_exact_mut(n) {
            for (v, &bj) in row.iter_mut().zip(b) {
                *v = *v + bj;
            }
        }
        // Softmax, costs and argmax of the block's rows (the row kernels of the unfused op).
        let lga = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[i1 - i0, n]), lg.to_vec())
            .expect("shape");
        let (nll, sm, am) = super::nnet::softmax_nll::<F>(&lga, &labels[i0..i1]);
        out.nll.extend(nll.iter().copied());
        out.am.extend(am.iter().copied());
        let sm = sm.as_slice().expect("standard layout");
        let (o0, o1) = ((i0 - r0) * n, (i1 - r0) * n);
        out.sm[o0..o1].copy_from_slice(sm);
        // dx = dz_i·(sm_i − onehot(y_i)).
        let dxb = &mut out.dx[o0..o1];
        let dzb = if dz.len() == 1 { dz } else { &dz[i0..i1] };
        super::nnet::crossentropy_dx_rows(sm, n, &labels[i0..i1], dzb, dxb);
        // dW += X_blockᵀ·dx_block, while the block is still in cache, requesting the next
        // block from memory meanwhile (the first product then finds it in L2).
        if let Some(t) = &mut dw_t {
            t.add(&x[i0 * k..], dxb, i1 - i0, (r1 - i1).min(block));
        } else {
            product_slices(
                true,
                false,
                xb,
                dxb,
                (k, n, i1 - i0),
                &mut out.dw,
                true,
                F::one(),
                false,
                None,
            );
        }
    }
    if let Some(t) = dw_t {
        out.dw = t.into_matrix();
    }
    out
}
