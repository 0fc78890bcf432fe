//! `dot`: numpy's dot for every rank pair (vector·vector → scalar, matrix·vector → vector, ...,
//! and for rank > 2 a sum over the last axis of `a` and the second-to-last of `b`).

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::types::TensorType;
use crate::value::{Element, Value};
use ndarray::{Array2, ArrayD, IxDyn, LinalgScalar};

pub fn infer(inputs: &[&TensorType]) -> Result<TensorType> {
    let (a, b) = (inputs[0], inputs[1]);
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::ty(
            "dot",
            "scalar operands are multiplied elementwise, not by Dot",
        ));
    }
    let mut bcast: Vec<bool> = a.broadcastable[..a.ndim() - 1].to_vec();
    if b.ndim() >= 2 {
        bcast.extend_from_slice(&b.broadcastable[..b.ndim() - 2]);
        bcast.push(b.broadcastable[b.ndim() - 1]);
    }
    Ok(TensorType::new(a.dtype.upcast(b.dtype), bcast))
}

pub fn perform(a: &Value, b: &Value, out: &TensorType) -> Result<Value> {
    match out.dtype {
        DType::Float64 if a.ndim() <= 2 && b.ndim() <= 2 => dot_gemm::<f64>(a, b),
        DType::Float32 if a.ndim() <= 2 && b.ndim() <= 2 => dot_gemm::<f32>(a, b),
        DType::Float64 => dot_in::<f64>(a, b),
        DType::Float32 => dot_in::<f32>(a, b),
        _ => Ok(dot_in::<i64>(a, b)?.into_dtype(out.dtype)),
    }
}

/// Ranks ≤ 2 in float: the `gemm` crate through [`dot22`], vectors viewed as 1×k or k×1.
fn dot_gemm<F: crate::math::Real>(a: &Value, b: &Value) -> Result<Value> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    // Vectors are reshaped (a small copy); matrices are read in place.
    let a2 = if sa.len() == 1 {
        std::borrow::Cow::Owned(a.reshape(&[1, sa[0]])?)
    } else {
        std::borrow::Cow::Borrowed(a)
    };
    let b2 = if sb.len() == 1 {
        std::borrow::Cow::Owned(b.reshape(&[sb[0], 1])?)
    } else {
        std::borrow::Cow::Borrowed(b)
    };
    if a2.shape()[1] != b2.shape()[0] {
        return Err(Error::value(
            "dot",
            format!("Incompatible shapes for dot: a.shape={sa:?}, b.shape={sb:?} (inner dimensions {} and {} differ)", a2.shape()[1], b2.shape()[0]),
        ));
    }
    let out = dot22::<F>(false, false, &a2, &b2)?;
    let mut shape: Vec<usize> = Vec::new();
    if sa.len() == 2 {
        shape.push(sa[0]);
    }
    if sb.len() == 2 {
        shape.push(sb[1]);
    }
    out.reshape(&shape)
}

/// Out shape and the 2-D problem (m × k)·(k × n) that computes it.
fn dot_in<T: Element + LinalgScalar>(a: &Value, b: &Value) -> Result<Value> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let k = sa[sa.len() - 1];
    let kb = if sb.len() == 1 {
        sb[0]
    } else {
        sb[sb.len() - 2]
    };
    if k != kb {
        return Err(Error::value(
            "dot",
            format!("Incompatible shapes for dot: a.shape={sa:?}, b.shape={sb:?} (inner dimensions {k} and {kb} differ)"),
        ));
    }
    let m: usize = sa[..sa.len() - 1].iter().product();
    let aa = a.to_array::<T>();
    let a2 = Array2::from_shape_vec((m, k), aa.iter().copied().collect()).expect("shape");
    let ba = b.to_array::<T>();
    let (b2, mut out_shape) = if sb.len() == 1 {
        (
            Array2::from_shape_vec((k, 1), ba.iter().copied().collect()).expect("shape"),
            vec![],
        )
    } else {
        // Move b's contracted axis (second to last) to the front: (k, rest).
        let nd = sb.len();
        let mut perm = vec![nd - 2];
        perm.extend(0..nd - 2);
        perm.push(nd - 1);
        let p = ba.view().permuted_axes(IxDyn(&perm));
        let rest: usize = sb.iter().product::<usize>() / k.max(1);
        let rest = if k == 0 {
            sb[..nd - 2].iter().product::<usize>() * sb[nd - 1]
        } else {
            rest
        };
        let mut shape: Vec<usize> = sb[..nd - 2].to_vec();
        shape.push(sb[nd - 1]);
        (
            Array2::from_shape_vec((k, rest), p.iter().copied().collect()).expect("shape"),
            shape,
        )
    };
    let r = a2.dot(&b2);
    let mut full: Vec<usize> = sa[..sa.len() - 1].to_vec();
    full.append(&mut out_shape);
    let flat: Vec<T> = r.iter().copied().collect();
    Ok(T::wrap(
        ArrayD::from_shape_vec(IxDyn(&full), flat).expect("shape"),
    ))
}

/// (m × k)·(k × n) where either operand may be stored transposed.
pub fn infer_dot22(ta: bool, tb: bool, inputs: &[&TensorType]) -> Result<TensorType> {
    let (a, b) = (inputs[0], inputs[1]);
    if a.ndim() != 2
        || b.ndim() != 2
        || !a.dtype.is_float()
        || !b.dtype.is_float()
        || a.dtype != b.dtype
    {
        return Err(Error::ty(
            "Dot22",
            format!("expects two float matrices of one dtype, got {a} and {b}"),
        ));
    }
    let rows = if ta {
        a.broadcastable[1]
    } else {
        a.broadcastable[0]
    };
    let cols = if tb {
        b.broadcastable[0]
    } else {
        b.broadcastable[1]
    };
    Ok(TensorType::new(a.dtype, vec![rows, cols]))
}

pub fn perform_dot22(ta: bool, tb: bool, a: &Value, b: &Value, out: &TensorType) -> Result<Value> {
    match out.dtype {
        DType::Float64 => dot22::<f64>(ta, tb, a, b),
        _ => dot22::<f32>(ta, tb, a, b),
    }
}

/// `out = alpha·(A·B)`, or `out += alpha·(A·B)` when `accumulate`, for the m×k and k×n operands
/// stored row-major in `a` and `b` and read transposed in place where `ta`/`tb` (a vector `b`
/// is k×1); through the `gemm` crate, on rayon's threads for large products.
#[allow(clippy::too_many_arguments)]
fn product_into<F: crate::math::Real>(
    ta: bool,
    tb: bool,
    a: &Value,
    b: &Value,
    (m, n, k): (usize, usize, usize),
    out: &mut [F],
    accumulate: bool,
    alpha: F,
    init: Option<&[F]>,
) {
    let aa = a.to_array::<F>();
    let ba = b.to_array::<F>();
    let a_std = aa.as_standard_layout();
    let b_std = ba.as_standard_layout();
    let a_s = a_std.as_slice().expect("standard layout");
    let b_s = b_std.as_slice().expect("standard layout");
    product_slices(
        ta,
        tb,
        a_s,
        b_s,
        (m, n, k),
        out,
        accumulate,
        alpha,
        true,
        init,
    );
}

/// [`product_into`] over row-major slices; `parallel` lets a large product use rayon's threads
/// (off inside work that is already split across them). With `init` (m×n, row-major) the output
/// starts as a copy of it and the product is added: each thread copies its own band just before
/// its product reads it back (a `Gemm` update of a shared weight: the copy runs in parallel
/// and the product finds its rows in cache).
#[allow(clippy::too_many_arguments)]
pub(crate) fn product_slices<F: crate::math::Real>(
    ta: bool,
    tb: bool,
    a_s: &[F],
    b_s: &[F],
    (m, n, k): (usize, usize, usize),
    out: &mut [F],
    accumulate: bool,
    alpha: F,
    parallel: bool,
    init: Option<&[F]>,
) {
    if k == 0 || m == 0 || n == 0 {
        if let Some(z) = init {
            out.copy_from_slice(z);
        }
        return;
    }
    if let Some(z) = init {
        assert_eq!(z.len(), m * n, "initial value of the product's output");
    }
    let accumulate = accumulate || init.is_some();
    // Strides (row, column) of the logical operands over the stored row-major buffers.
    let (a_rs, a_cs) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if tb { (1, k as isize) } else { (n as isize, 1) };
    assert_eq!(out.len(), m * n, "output buffer of the product");
    // The skinny kernels add to the output as a whole: the initial value goes in first (and
    // stays there if they decline); otherwise each band of the GEMM below copies its own part.
    let skinny = n <= super::skinny::MAX_COLS;
    if let (Some(z), true) = (init, skinny) {
        out.copy_from_slice(z);
    }
    if skinny
        && super::skinny::try_product(
            ta,
            tb,
            a_s,
            b_s,
            (m, n, k),
            out,
            accumulate,
            alpha,
            parallel,
        )
    {
        return;
    }
    // With several threads, a large product runs as one single-threaded product per thread on a
    // band of output rows (or columns, whichever duplicates the smaller operand's packing): on
    // this kind of machine that scales better than the gemm crate's own splitting, which is
    // left only the large products too narrow to split.
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    let large = threads > 1 && m * n * k >= 1 << 18;
    // Row bands each pack all of B (k×n), column bands all of A (m×k).
    let (rows_ok, cols_ok) = (m >= 32 * threads, n >= 32 * threads);
    let split = large && (rows_ok || cols_ok);
    let by_rows = rows_ok && (!cols_ok || n <= m);
    let span = if by_rows { m } else { n };
    let band = if split { span.div_ceil(threads) } else { span };
    let inner = if large && !split {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let band_init = init.filter(|_| !skinny);
    // Addresses as integers so the closure is Send; each band writes only its own part.
    let (a_ptr, b_ptr, o_ptr) = (
        a_s.as_ptr() as usize,
        b_s.as_ptr() as usize,
        out.as_mut_ptr() as usize,
    );
    let z_ptr = band_init.map_or(0, |z| z.as_ptr() as usize);
    let f = std::mem::size_of::<F>() as isize;
    let run_band = |i: usize| {
        let lo = i * band;
        let len = band.min(span - lo);
        let (mm, nn, a0, b0, o0) = if by_rows {
            let a0 = a_ptr.wrapping_add_signed(lo as isize * a_rs * f);
            (len, n, a0, b_ptr, o_ptr + lo * n * f as usize)
        } else {
            let b0 = b_ptr.wrapping_add_signed(lo as isize * b_cs * f);
            (m, len, a_ptr, b0, o_ptr + lo * f as usize)
        };
        // SAFETY: band i reads rows (or columns) lo..lo + len of A (or B) and all of the other
        // operand, which live for the call, and writes only its own rows (or columns) of the
        // output, which does not alias the inputs (nor the initial value, read the same way).
        unsafe {
            if z_ptr != 0 {
                let (z, o) = (z_ptr as *const F, o_ptr as *mut F);
                if by_rows {
                    std::ptr::copy_nonoverlapping(z.add(lo * n), o.add(lo * n), len * n);
                } else {
                    for r in 0..m {
                        std::ptr::copy_nonoverlapping(z.add(r * n + lo), o.add(r * n + lo), len);
                    }
                }
            }
            gemm::gemm(
                mm,
                nn,
                k,
                o0 as *mut F,
                1,
                n as isize,
                accumulate,
                a0 as *const F,
                a_cs,
                a_rs,
                b0 as *const F,
                b_cs,
                b_rs,
                F::one(),
                alpha,
                false,
                false,
                false,
                inner,
            );
        }
    };
    match span.div_ceil(band) {
        1 => run_band(0),
        bands => {
            use rayon::prelude::*;
            (0..bands).into_par_iter().for_each(run_band);
        }
    }
}

fn dot22<F: crate::math::Real>(ta: bool, tb: bool, a: &Value, b: &Value) -> Result<Value> {
    let (sa, sb) = (a.shape(), b.shape());
    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
    let (kb, n) = if tb { (sb[1], sb[0]) } else { (sb[0], sb[1]) };
    if k != kb {
        return Err(Error::value(
            "dot",
            format!("Incompatible shapes for dot: {m}×{k} and {kb}×{n}"),
        ));
    }
    // Every element is written by the product (or zeroed, when k = 0).
    let mut out = crate::runtime::elemwise::alloc_output::<F>(m * n);
    if k == 0 {
        out.fill(F::zero());
    }
    product_into(ta, tb, a, b, (m, n, k), &mut out, false, F::one(), None);
    Ok(F::wrap(
        ArrayD::from_shape_vec(IxDyn(&[m, n]), out).expect("shape"),
    ))
}

/// `Gemm` / `Gemv`: `beta·z + alpha·(A·B)` in one pass over the output, what `dot(A, B) + z`
/// and `z - lr·dot(A, B)` become (Theano's blas rewrites). Inputs `(z, alpha, A, B, beta)`: `A` a
/// matrix, `B` a matrix (Gemm) or a vector (Gemv), either read transposed in place; `alpha` and
/// `beta` 0-d; `z` broadcasts to the output (a bias row or column, a scalar, a full matrix).
pub fn infer_gemm(ta: bool, tb: bool, inputs: &[&TensorType]) -> Result<TensorType> {
    let [z, alpha, a, b, beta] = inputs else {
        return Err(Error::ty("Gemm", "expects 5 inputs (z, alpha, A, B, beta)"));
    };
    let dt = z.dtype;
    let ok = dt.is_float()
        && [alpha, a, b, beta].iter().all(|t| t.dtype == dt)
        && alpha.ndim() == 0
        && beta.ndim() == 0
        && a.ndim() == 2
        && (b.ndim() == 2 || (b.ndim() == 1 && !tb));
    if !ok || z.ndim() != b.ndim() {
        return Err(Error::ty(
            "Gemm",
            format!("expects (z, alpha, A, B, beta) of one float dtype with A a matrix, B a matrix or vector, z of the output's rank and 0-d alpha, beta; got {z}, {alpha}, {a}, {b}, {beta}"),
        ));
    }
    let rows = if ta {
        a.broadcastable[1]
    } else {
        a.broadcastable[0]
    };
    let mut bcast = vec![rows && z.broadcastable[0]];
    if b.ndim() == 2 {
        let cols = if tb {
            b.broadcastable[0]
        } else {
            b.broadcastable[1]
        };
        bcast.push(cols && z.broadcastable[1]);
    }
    Ok(TensorType::new(dt, bcast))
}

pub fn perform_gemm(ta: bool, tb: bool, inputs: &[&Value], out: &TensorType) -> Result<Value> {
    match out.dtype {
        DType::Float64 => gemm_into::<f64>(ta, tb, inputs),
        _ => gemm_into::<f32>(ta, tb, inputs),
    }
}

/// `z` broadcast to an m×n (or m) output as a flat row-major buffer: a copy of a contiguous
/// full z, a bias row repeated, a column or scalar spread, or (otherwise) the general iterator.
fn broadcast_fill<F: crate::math::Real>(
    z: &ndarray::ArrayD<F>,
    zb: &ndarray::ArrayViewD<F>,
    m: usize,
    n: usize,
) -> Vec<F> {
    let len = z.len();
    if let Some(s) = z.as_slice() {
        if len == m * n {
            let mut o = crate::runtime::elemwise::alloc_output::<F>(len);
            o.copy_from_slice(s);
            return o;
        }
        if len == 1 {
            return vec![s[0]; m * n];
        }
        let shape = z.shape();
        if shape.len() == 2 && shape[0] == 1 && shape[1] == n {
            let mut o = Vec::with_capacity(m * n);
            for _ in 0..m {
                o.extend_from_slice(s);
            }
            return o;
        }
        if shape.len() == 2 && shape[0] == m && shape[1] == 1 {
            let mut o = Vec::with_capacity(m * n);
            for &v in s {
                o.extend(std::iter::repeat_n(v, n));
            }
            return o;
        }
    }
    zb.iter().copied().collect()
}

/// The value of a Gemm's scalar input (alpha or beta) in `F`.
fn scalar_of<F: crate::math::Real>(v: &Value) -> F {
    v.to_array::<F>()
        .iter()
        .next()
        .copied()
        .unwrap_or(F::zero())
}

/// (m, n, k of A, k of B) of op(A)·op(B) for A of shape `sa` (a matrix) and B of shape `sb` (a
/// matrix, or a vector: n = 1).
fn gemm_dims(ta: bool, tb: bool, sa: &[usize], sb: &[usize]) -> (usize, usize, usize, usize) {
    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
    let (kb, n) = match (sb.len() == 1, tb) {
        (true, _) => (sb[0], 1),
        (false, true) => (sb[1], sb[0]),
        (false, false) => (sb[0], sb[1]),
    };
    (m, n, k, kb)
}

/// The shapes of a Gemm's inputs: (m, n, k) when A·B is defined and z (`inputs[0]`) has
/// exactly the output's shape, stored contiguously in the output's dtype (so that the product
/// can be added onto z's own buffer).
fn gemm_inplace_shape(
    ta: bool,
    tb: bool,
    inputs: &[&Value],
    out: &TensorType,
) -> Option<(usize, usize, usize)> {
    let (z, a, b) = (inputs[0], inputs[2], inputs[3]);
    if a.ndim() != 2 || b.ndim() == 0 || b.ndim() > 2 {
        return None;
    }
    let (m, n, k, kb) = gemm_dims(ta, tb, a.shape(), b.shape());
    let vector = b.ndim() == 1;
    let want: &[usize] = if vector { &[m] } else { &[m, n] };
    let contiguous = match z {
        Value::F64(a) => a.is_standard_layout(),
        Value::F32(a) => a.is_standard_layout(),
        _ => false,
    };
    (k == kb && z.shape() == want && z.dtype() == out.dtype && contiguous).then_some((m, n, k))
}

/// Whether [`perform_gemm_inplace`] can add the product onto `inputs[0]`'s buffer.
pub fn gemm_inplace_ready(ta: bool, tb: bool, inputs: &[&Value], out: &TensorType) -> bool {
    gemm_inplace_shape(ta, tb, inputs, out).is_some()
}

/// Theano's `Gemm{inplace}`: z ← beta·z + alpha·A·B in z's own buffer (`dest`, the value of
/// `inputs[0]`, whose entry there is ignored). Falls back to a fresh output when z cannot take
/// it (see [`gemm_inplace_ready`]).
pub fn perform_gemm_inplace(
    ta: bool,
    tb: bool,
    inputs: &[&Value],
    dest: Value,
    out: &TensorType,
) -> Result<Value> {
    let shape = {
        let ins = super::with_input(inputs, 0, &dest);
        match gemm_inplace_shape(ta, tb, &ins, out) {
            Some(s) => s,
            None => return perform_gemm(ta, tb, &ins, out),
        }
    };
    let (m, n, k) = shape;
    fn run<F: crate::math::Real>(
        ta: bool,
        tb: bool,
        inputs: &[&Value],
        mut z: ArrayD<F>,
        (m, n, k): (usize, usize, usize),
    ) -> ArrayD<F> {
        let (alpha, beta) = (scalar_of::<F>(inputs[1]), scalar_of::<F>(inputs[4]));
        let buf = z.as_slice_mut().expect("standard layout, checked");
        if beta != F::one() {
            // beta = 0 ignores z, as BLAS does (a NaN in z does not survive).
            buf.iter_mut().for_each(|v| {
                *v = if beta == F::zero() {
                    F::zero()
                } else {
                    beta * *v
                }
            });
        }
        product_into(
            ta,
            tb,
            inputs[2],
            inputs[3],
            (m, n, k),
            buf,
            true,
            alpha,
            None,
        );
        z
    }
    Ok(match dest {
        Value::F64(z) => Value::F64(run(ta, tb, inputs, z, (m, n, k))),
        Value::F32(z) => Value::F32(run(ta, tb, inputs, z, (m, n, k))),
        other => return perform_gemm(ta, tb, &super::with_input(inputs, 0, &other), out),
    })
}

fn gemm_into<F: crate::math::Real>(ta: bool, tb: bool, inputs: &[&Value]) -> Result<Value> {
    let name = if inputs[3].ndim() == 1 {
        "Gemv"
    } else {
        "Gemm"
    };
    let (z, a, b) = (inputs[0], inputs[2], inputs[3]);
    let (alpha, beta) = (scalar_of::<F>(inputs[1]), scalar_of::<F>(inputs[4]));
    let (m, n, k, kb) = gemm_dims(ta, tb, a.shape(), b.shape());
    let vector = b.ndim() == 1;
    if k != kb {
        return Err(Error::value(
            name,
            format!("Incompatible shapes for {name}: {m}×{k} and {kb}×{n}"),
        ));
    }
    let shape: Vec<usize> = if vector { vec![m] } else { vec![m, n] };
    // The output starts as beta·z broadcast to its shape (beta = 0 ignores z, as BLAS does).
    let za = z.to_array::<F>();
    let zb = za.broadcast(IxDyn(&shape)).ok_or_else(|| {
        Error::value(
            name,
            format!(
                "the added term of shape {:?} does not broadcast to the product's shape {shape:?}",
                za.shape()
            ),
        )
    })?;
    let keep = beta != F::zero();
    // `z + alpha·A·B` with a full z (an SGD update of a weight matrix): the product's bands
    // copy z themselves, in parallel, just before adding to it.
    if beta == F::one() && za.len() == m * n {
        if let Some(zs) = za.as_slice() {
            let mut out = crate::runtime::elemwise::alloc_output::<F>(m * n);
            product_into(ta, tb, a, b, (m, n, k), &mut out, true, alpha, Some(zs));
            return Ok(F::wrap(
                ArrayD::from_shape_vec(IxDyn(&shape), out).expect("shape"),
            ));
        }
    }
    let mut out: Vec<F> = if keep {
        let mut o = broadcast_fill(&za, &zb, m, n);
        if beta != F::one() {
            o.iter_mut().for_each(|v| *v = beta * *v);
        }
        o
    } else {
        // Written by the product (or zeroed, when k = 0).
        let mut o = crate::runtime::elemwise::alloc_output::<F>(m * n);
        if k == 0 {
            o.fill(F::zero());
        }
        o
    };
    product_into(ta, tb, a, b, (m, n, k), &mut out, keep, alpha, None);
    Ok(F::wrap(
        ArrayD::from_shape_vec(IxDyn(&shape), out).expect("shape"),
    ))
}

#[cfg(test)]
mod tests {
    use crate::grad::{verify_grad, VerifyGradOptions};
    use crate::graph::apply1;
    use crate::ops::Op;
    use crate::value::Value;
    use ndarray::{array, Array0};

    /// The compiled-graph products differentiate like the `dot` graphs they replace.
    #[test]
    fn dot22_and_gemm_gradients_match_finite_differences() {
        let a: Value = array![[0.3, -1.2, 0.5], [2.0, 0.1, -0.7]].into_dyn().into();
        let b: Value = array![[0.4, 1.1], [-0.6, 0.2], [0.9, -1.5]]
            .into_dyn()
            .into();
        let bt: Value = array![[0.4, -0.6, 0.9], [1.1, 0.2, -1.5]].into_dyn().into();
        let opts = VerifyGradOptions::default();
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let av = if ta {
                array![[0.3, 2.0], [-1.2, 0.1], [0.5, -0.7]]
                    .into_dyn()
                    .into()
            } else {
                a.clone()
            };
            let bv = if tb { bt.clone() } else { b.clone() };
            let dot22 = move |x: &[crate::Var]| {
                apply1(
                    Op::Dot22 {
                        trans_a: ta,
                        trans_b: tb,
                    },
                    vec![x[0].clone(), x[1].clone()],
                )
            };
            verify_grad(dot22, &[av.clone(), bv.clone()], &opts).unwrap();
            let gemm = move |x: &[crate::Var]| {
                apply1(
                    Op::Gemm {
                        trans_a: ta,
                        trans_b: tb,
                    },
                    x.to_vec(),
                )
            };
            let z: Value = array![[0.5, -0.25], [1.5, 0.125]].into_dyn().into();
            let alpha: Value = Array0::from_elem((), 0.7).into_dyn().into();
            let beta: Value = Array0::from_elem((), -1.3).into_dyn().into();
            verify_grad(gemm, &[z, alpha.clone(), av, bv, beta.clone()], &opts).unwrap();
        }
        // Gemv: a matrix times a vector plus a vector.
        let gemv = |x: &[crate::Var]| {
            apply1(
                Op::Gemm {
                    trans_a: false,
                    trans_b: false,
                },
                x.to_vec(),
            )
        };
        let z: Value = array![0.5, -0.25].into();
        let v: Value = array![0.4, -0.6, 0.9].into();
        let alpha: Value = Array0::from_elem((), 0.7).into_dyn().into();
        let beta: Value = Array0::from_elem((), 1.0).into_dyn().into();
        verify_grad(gemv, &[z, alpha, a, v, beta], &opts).unwrap();
    }
}
