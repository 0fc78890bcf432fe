//! Reductions: Sum and Prod (with Theano's accumulator dtypes), max/min, and MaxAndArgmax.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::types::TensorType;
use crate::value::{Element, Value};
use ndarray::{ArrayD, Axis, IxDyn};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    Sum,
    Prod,
    Maximum,
    Minimum,
}

/// A reduction over `axis` (all axes when `None`).
#[derive(Clone, Debug, PartialEq)]
pub struct Reduce {
    pub kind: ReduceKind,
    pub axis: Option<Vec<usize>>,
    /// Accumulator dtype of Sum/Prod (printed `acc_dtype=...`); unused by max/min.
    pub acc_dtype: DType,
}

/// Normalises a list of possibly negative axes against `ndim`, naming `op` in the error.
pub fn normalize_axes(op: &str, axes: &[i64], ndim: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for &a in axes {
        let n = ndim as i64;
        if a >= n || a < -n {
            return Err(Error::value(
                op,
                format!("Not enough dimensions on input of ndim {ndim} to reduce on axis {a}"),
            ));
        }
        let a = if a < 0 { a + n } else { a } as usize;
        if out.contains(&a) {
            return Err(Error::value(op, format!("axis {a} given twice")));
        }
        out.push(a);
    }
    out.sort_unstable();
    Ok(out)
}

impl Reduce {
    fn axes(&self, ndim: usize) -> smallvec::SmallVec<[usize; 4]> {
        match &self.axis {
            Some(a) => a.iter().copied().collect(),
            None => (0..ndim).collect(),
        }
    }

    pub fn out_dtype(&self, input: DType) -> DType {
        match self.kind {
            ReduceKind::Sum | ReduceKind::Prod => input.sum_out_dtype(),
            _ => input,
        }
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType> {
        let x = inputs[0];
        let axes = self.axes(x.ndim());
        if axes.iter().any(|&a| a >= x.ndim()) {
            return Err(Error::value(
                self.to_string(),
                format!("axis out of range for an input of ndim {}", x.ndim()),
            ));
        }
        let bcast: Vec<bool> = (0..x.ndim())
            .filter(|d| !axes.contains(d))
            .map(|d| x.broadcastable[d])
            .collect();
        Ok(TensorType::new(self.out_dtype(x.dtype), bcast))
    }

    pub fn perform(&self, x: &Value, out: &TensorType) -> Result<Value> {
        let axes = self.axes(x.ndim());
        if self.kind == ReduceKind::Sum {
            if let Some(v) = sum_trailing(x, &axes, out).or_else(|| sum_leading(x, &axes, out)) {
                return Ok(v);
            }
        }
        let (lanes, outer_shape) = lanes_of(x, &axes);
        match self.kind {
            ReduceKind::Sum | ReduceKind::Prod => {
                let prod = self.kind == ReduceKind::Prod;
                if x.dtype().sum_acc_dtype() == DType::Float64 {
                    let a = lanes.to_array::<f64>();
                    let r = reduce_lanes(&a, |l| {
                        if prod {
                            l.iter().product()
                        } else {
                            pairwise_sum_of(l)
                        }
                    });
                    Ok(
                        Value::from(r.into_shape_with_order(IxDyn(&outer_shape)).expect("shape"))
                            .into_dtype(out.dtype),
                    )
                } else {
                    let a = lanes.to_array::<i64>();
                    let r = reduce_lanes(&a, |l| {
                        if prod {
                            l.iter().fold(1i64, |p, &v| p.wrapping_mul(v))
                        } else {
                            l.iter().fold(0i64, |s, &v| s.wrapping_add(v))
                        }
                    });
                    Ok(
                        Value::from(r.into_shape_with_order(IxDyn(&outer_shape)).expect("shape"))
                            .into_dtype(out.dtype),
                    )
                }
            }
            ReduceKind::Maximum | ReduceKind::Minimum => {
                if lanes.shape()[1] == 0 {
                    return Err(Error::value(
                        self.to_string(),
                        "zero-size array to reduction operation which has no identity",
                    ));
                }
                let max = self.kind == ReduceKind::Maximum;
                with_value!(&lanes, a => {
                    let r = reduce_lanes(a, |l| extreme(l, max).0);
                    Ok(Element::wrap(r.into_shape_with_order(IxDyn(&outer_shape)).expect("shape")))
                })
            }
        }
    }
}

impl fmt::Display for Reduce {
    /// `Sum{acc_dtype=float64}`, `Sum{axis=[1], acc_dtype=float64}`, `Reduce{maximum}{1}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Reduce {
    fn describe(&self) -> String {
        let axis_list = |a: &Vec<usize>| {
            a.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.kind {
            ReduceKind::Sum | ReduceKind::Prod => {
                let name = if self.kind == ReduceKind::Sum {
                    "Sum"
                } else {
                    "Prod"
                };
                let axis = match &self.axis {
                    Some(a) => format!("axis=[{}], ", axis_list(a)),
                    None => String::new(),
                };
                format!("{name}{{{axis}acc_dtype={}}}", self.acc_dtype)
            }
            ReduceKind::Maximum | ReduceKind::Minimum => {
                let name = if self.kind == ReduceKind::Maximum {
                    "maximum"
                } else {
                    "minimum"
                };
                match &self.axis {
                    Some(a) => format!("Reduce{{{name}}}{{{}}}", axis_list(a)),
                    None => format!("Reduce{{{name}}}"),
                }
            }
        }
    }
}

/// Theano's `MaxAndArgmax`: the max and the (first) argmax over `axis`, flattened over several.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxAndArgmax {
    pub axis: Vec<usize>,
}

impl MaxAndArgmax {
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<Vec<TensorType>> {
        let x = inputs[0];
        if self.axis.iter().any(|&a| a >= x.ndim()) {
            return Err(Error::value(self.to_string(), "axis out of range"));
        }
        let bcast: Vec<bool> = (0..x.ndim())
            .filter(|d| !self.axis.contains(d))
            .map(|d| x.broadcastable[d])
            .collect();
        Ok(vec![
            TensorType::new(x.dtype, bcast.clone()),
            TensorType::new(DType::Int64, bcast),
        ])
    }

    pub fn perform(&self, x: &Value) -> Result<Vec<Value>> {
        let (lanes, outer_shape) = lanes_of(x, &self.axis);
        if lanes.shape()[1] == 0 {
            return Err(Error::value(
                self.to_string(),
                "attempt to get argmax of an empty sequence",
            ));
        }
        with_value!(&lanes, a => {
            let mut maxes = Vec::with_capacity(a.shape()[0]);
            let mut args = Vec::with_capacity(a.shape()[0]);
            for lane in a.rows() {
                let (m, i) = extreme(lane.as_slice().expect("standard layout"), true);
                maxes.push(m);
                args.push(i as i64);
            }
            let shape = IxDyn(&outer_shape);
            Ok(vec![
                Element::wrap(ArrayD::from_shape_vec(shape.clone(), maxes).expect("shape")),
                Value::I64(ArrayD::from_shape_vec(shape, args).expect("shape")),
            ])
        })
    }
}

impl fmt::Display for MaxAndArgmax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.axis.iter().map(|a| a.to_string()).collect();
        if items.len() == 1 {
            write!(f, "MaxAndArgmax{{axis=({},)}}", items[0])
        } else {
            write!(f, "MaxAndArgmax{{axis=({})}}", items.join(", "))
        }
    }
}

/// Moves the reduced axes last and returns a standard-layout 2-D array (outer, reduced) and
/// the shape of the kept axes.
fn lanes_of(x: &Value, axes: &[usize]) -> (Value, Vec<usize>) {
    let ndim = x.ndim();
    let kept: Vec<usize> = (0..ndim).filter(|d| !axes.contains(d)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let outer_shape: Vec<usize> = kept.iter().map(|&d| x.shape()[d]).collect();
    let outer: usize = outer_shape.iter().product();
    let inner: usize = axes.iter().map(|&d| x.shape()[d]).product();
    let lanes = with_value!(x, a => {
        let p = a.view().permuted_axes(IxDyn(&perm));
        let flat: Vec<_> = p.iter().copied().collect();
        Element::wrap(ArrayD::from_shape_vec(IxDyn(&[outer, inner]), flat).expect("shape"))
    });
    (lanes, outer_shape)
}

fn reduce_lanes<T: Copy, R>(a: &ArrayD<T>, f: impl Fn(&[T]) -> R) -> ndarray::Array1<R> {
    a.lanes(Axis(1))
        .into_iter()
        .map(|l| f(l.as_slice().expect("standard layout")))
        .collect()
}

/// Float sums over trailing axes of a row-major array, read in place: each output element sums
/// one contiguous lane (pairwise, in float64), lanes or chunks of one long lane in parallel.
fn sum_trailing(x: &Value, axes: &[usize], out: &TensorType) -> Option<Value> {
    let nd = x.ndim();
    let k = axes.len();
    if !x.dtype().is_float() || k == 0 || axes.iter().enumerate().any(|(i, &a)| a != nd - k + i) {
        return None;
    }
    let outer_shape: Vec<usize> = x.shape()[..nd - k].to_vec();
    let inner: usize = x.shape()[nd - k..].iter().product();
    fn go<T: Element>(a: &ndarray::ArrayD<T>, inner: usize) -> Option<Vec<f64>> {
        use rayon::prelude::*;
        let s = a.as_slice()?;
        if inner == 0 {
            return Some(vec![0.0; s.len().checked_div(inner).unwrap_or(0)]);
        }
        let lane_sum = |l: &[T]| -> f64 {
            if l.len() >= 1 << 16 {
                l.par_chunks(1 << 14)
                    .map(pairwise_sum_of)
                    .collect::<Vec<f64>>()
                    .iter()
                    .sum()
            } else {
                pairwise_sum_of(l)
            }
        };
        Some(if s.len() >= 1 << 16 && s.len() / inner > 1 {
            s.par_chunks(inner).map(lane_sum).collect()
        } else {
            s.chunks(inner).map(lane_sum).collect()
        })
    }
    let sums = match x {
        Value::F64(a) => go(a, inner)?,
        Value::F32(a) => go(a, inner)?,
        _ => return None,
    };
    let sums = if inner == 0 {
        vec![0.0; outer_shape.iter().product()]
    } else {
        sums
    };
    let arr = ndarray::ArrayD::from_shape_vec(IxDyn(&outer_shape), sums).ok()?;
    Some(Value::from(arr).into_dtype(out.dtype))
}

/// Float sums over leading axes (a bias gradient: Σ over the batch rows) of a row-major array,
/// read in place: rows are added into float64 accumulators, pairwise over halves of the rows.
fn sum_leading(x: &Value, axes: &[usize], out: &TensorType) -> Option<Value> {
    let k = axes.len();
    if !x.dtype().is_float()
        || k == 0
        || k == x.ndim()
        || axes.iter().enumerate().any(|(i, &a)| a != i)
    {
        return None;
    }
    let rows: usize = x.shape()[..k].iter().product();
    let kept = &x.shape()[k..];
    let width: usize = kept.iter().product();
    let sums = match x.dtype() {
        DType::Float64 => sum_rows_pairwise(x.to_array::<f64>().as_slice()?, rows, width),
        _ => sum_rows_pairwise(x.to_array::<f32>().as_slice()?, rows, width),
    };
    let r = ArrayD::from_shape_vec(IxDyn(kept), sums).ok()?;
    Some(Value::from(r).into_dtype(out.dtype))
}

/// The rows a leaf of [`sum_rows_pairwise`] adds in order (above, halves are summed apart).
const LEAF_ROWS: usize = 16;

/// Σ over the `rows` rows (of `width`) of `data`, in float64: leaves of [`LEAF_ROWS`] rows
/// summed in order, halves summed apart and then added (pairwise).
fn sum_rows_pairwise<F: crate::math::Real>(data: &[F], rows: usize, width: usize) -> Vec<f64> {
    /// Adds the rows into `acc` (zero on entry), each level's partial sums in its own part of
    /// `scratch`.
    fn add_rows<F: crate::math::Real>(
        data: &[F],
        rows: usize,
        width: usize,
        acc: &mut [f64],
        scratch: &mut [f64],
    ) {
        if rows <= LEAF_ROWS {
            leaf_sum(data, rows, width, acc);
        } else {
            let half = rows / 2;
            add_rows(&data[..half * width], half, width, acc, scratch);
            let (other, deeper) = scratch.split_at_mut(width);
            other.fill(0.0);
            add_rows(&data[half * width..], rows - half, width, other, deeper);
            for (a, b) in acc.iter_mut().zip(&*other) {
                *a += b;
            }
        }
    }
    // One partial-sum row per level of halving.
    let levels = (usize::BITS - (rows / LEAF_ROWS).leading_zeros()) as usize + 1;
    let mut acc = vec![0.0f64; width * (1 + levels)];
    let (sums, scratch) = acc.split_at_mut(width);
    if width > 0 {
        add_rows(data, rows, width, sums, scratch);
    }
    acc.truncate(width);
    acc
}

crate::runtime::elemwise::dispatched!(
    /// `acc` (zero on entry) = Σ of the first `rows` rows (of `width`) of `data`, row by row.
    fn leaf_sum<F>(data: &[F], rows: usize, width: usize, acc: &mut [f64]) => leaf_sum_body
);

/// [`leaf_sum`] by tiles of 32 columns held in registers over the rows (the accumulators are
/// read and written once per tile, not once per row); the same additions in the same order.
#[inline(always)]
fn leaf_sum_body<F: Element, const FMA: bool>(
    data: &[F],
    rows: usize,
    width: usize,
    acc: &mut [f64],
) {
    const TILE: usize = 32;
    let full = width / TILE * TILE;
    for c0 in (0..full).step_by(TILE) {
        let mut t = [0.0f64; TILE];
        for r in 0..rows {
            let row = &data[r * width + c0..r * width + c0 + TILE];
            for (a, &v) in t.iter_mut().zip(row) {
                *a += v.to_f64();
            }
        }
        acc[c0..c0 + TILE].copy_from_slice(&t);
    }
    for r in 0..rows {
        let row = &data[r * width + full..(r + 1) * width];
        for (a, &v) in acc[full..].iter_mut().zip(row) {
            *a += v.to_f64();
        }
    }
}

/// Σ v in float64 in 4 × 8 independent lanes (vectorises; inlined into the kernels compiled
/// for wider vector units: four chains hide the addition's latency), the tail added last.
#[inline(always)]
pub(crate) fn lane_sum<T: Element>(v: &[T]) -> f64 {
    let mut wide = [0.0f64; 32];
    let rows = v.len() / 32;
    // v as rows of 32, summed down the columns. The width is hidden from the compiler: with a
    // constant one it vectorises across the rows (two lanes wide, with shuffles) instead of
    // along each row (whole vector registers).
    leaf_sum_body::<T, false>(v, rows, std::hint::black_box(32), &mut wide);
    let rest = &v[rows * 32..];
    let mut acc = [0.0f64; 8];
    for k in 0..8 {
        acc[k] = (wide[k] + wide[k + 8]) + (wide[k + 16] + wide[k + 24]);
    }
    let chunks = rest.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] += c[k].to_f64();
        }
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for &x in rest {
        s += x.to_f64();
    }
    s
}

/// Σ v in float64: [`lane_sum`] for short runs, halves added pairwise above 128 elements.
pub(crate) fn pairwise_sum_of<T: Element>(v: &[T]) -> f64 {
    if v.len() <= 128 {
        lane_sum(v)
    } else {
        let mid = (v.len() / 2) & !7;
        pairwise_sum_of(&v[..mid]) + pairwise_sum_of(&v[mid..])
    }
}

/// The max (or min) of a lane and its first index; NaN wins, as in numpy.
fn extreme<T: Element>(lane: &[T], max: bool) -> (T, usize) {
    let mut best = lane[0];
    let mut idx = 0;
    #[allow(clippy::eq_op)]
    let is_nan = |v: T| v != v;
    if is_nan(best) {
        return (best, 0);
    }
    for (i, &v) in lane.iter().enumerate().skip(1) {
        if is_nan(v) {
            return (v, i);
        }
        if (max && v > best) || (!max && v < best) {
            best = v;
            idx = i;
        }
    }
    (best, idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sums_add_every_element_once() {
        // Integer values: every order of addition gives the exact sum, so a lost, repeated or
        // misplaced element (in the 32-wide rows, the 8-wide rest or the tail) shows.
        for len in 0..300 {
            let v64: Vec<f64> = (0..len).map(|i| ((i * 37) % 101) as f64 - 50.0).collect();
            let v32: Vec<f32> = v64.iter().map(|&x| x as f32).collect();
            let exact: f64 = v64.iter().sum();
            assert_eq!(lane_sum(&v64), exact, "f64, {len} elements");
            assert_eq!(lane_sum(&v32), exact, "f32, {len} elements");
            assert_eq!(pairwise_sum_of(&v32), exact, "pairwise, {len} elements");
        }
    }

    /// The pairwise row sum by its definition: leaves of `LEAF_ROWS` rows added in order,
    /// halves summed apart and then added.
    fn reference<F: crate::math::Real>(data: &[F], rows: usize, width: usize) -> Vec<f64> {
        if rows <= LEAF_ROWS {
            let mut acc = vec![0.0; width];
            for r in 0..rows {
                for (a, &v) in acc.iter_mut().zip(&data[r * width..(r + 1) * width]) {
                    *a += v.to_f64();
                }
            }
            return acc;
        }
        let half = rows / 2;
        let a = reference(&data[..half * width], half, width);
        let b = reference(&data[half * width..], rows - half, width);
        a.iter().zip(&b).map(|(x, y)| x + y).collect()
    }

    /// The tiled kernel adds the same numbers in the same order as the definition (bit for
    /// bit), for widths around its 32-column tile and row counts around its 16-row leaves, in
    /// both dtypes (every ISA when run under `RHEANO_ISA`).
    #[test]
    fn row_sums_follow_the_pairwise_definition() {
        for &width in &[1usize, 5, 31, 32, 33, 64, 100, 784] {
            for &rows in &[1usize, 2, 15, 16, 17, 33, 256, 300] {
                let data: Vec<f64> = (0..rows * width)
                    .map(|i| ((i * 7919) % 1013) as f64 * 0.37 - 150.0 + 1.0 / (i + 1) as f64)
                    .collect();
                let got = sum_rows_pairwise(&data, rows, width);
                assert_eq!(got, reference(&data, rows, width), "{rows}×{width} float64");
                let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
                let got = sum_rows_pairwise(&data32, rows, width);
                assert_eq!(
                    got,
                    reference(&data32, rows, width),
                    "{rows}×{width} float32"
                );
            }
        }
    }

    /// A million rows of 0.1 sum to within 1e-14 relative of the exact total (a running sum of
    /// the same numbers drifts to ~1e-11).
    #[test]
    fn long_row_sums_stay_accurate() {
        let (rows, width) = (1usize << 20, 3);
        let v = 0.1f64;
        let data = vec![v; rows * width];
        let exact = v * rows as f64; // exact: a power-of-two multiple
        for s in sum_rows_pairwise(&data, rows, width) {
            assert!(((s - exact) / exact).abs() < 1e-14, "{s} vs {exact}");
        }
        let running = (0..rows).fold(0.0f64, |a, _| a + v);
        assert!(
            ((running - exact) / exact).abs() > 1e-13,
            "the test can fail"
        );
    }
}
