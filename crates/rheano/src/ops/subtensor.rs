//! Indexing: basic (integers and slices, Theano's `Subtensor`) and advanced (integer arrays).

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::types::TensorType;
use crate::value::{Element, Value};
use ndarray::{ArrayD, Axis, IxDyn};
use std::fmt;

/// One entry of a basic index. The dtype is that of the scalar input holding the bound; each
/// present bound consumes one scalar input after `x`, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxEntry {
    Index(DType),
    Slice {
        start: Option<DType>,
        stop: Option<DType>,
        step: Option<DType>,
    },
}

impl IdxEntry {
    pub fn n_inputs(&self) -> usize {
        match self {
            IdxEntry::Index(_) => 1,
            IdxEntry::Slice { start, stop, step } => {
                start.is_some() as usize + stop.is_some() as usize + step.is_some() as usize
            }
        }
    }
}

/// `x[entries]` with integers and slices.
#[derive(Clone, Debug, PartialEq)]
pub struct Subtensor {
    pub entries: Vec<IdxEntry>,
}

impl Subtensor {
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType> {
        let x = inputs[0];
        if self.entries.len() > x.ndim() {
            return Err(Error::index(
                self.to_string(),
                format!(
                    "too many indices ({}) for a tensor of ndim {}",
                    self.entries.len(),
                    x.ndim()
                ),
            ));
        }
        let n_in: usize = self.entries.iter().map(IdxEntry::n_inputs).sum();
        if inputs.len() != 1 + n_in {
            return Err(Error::ty(self.to_string(), "wrong number of index inputs"));
        }
        if inputs[1..]
            .iter()
            .any(|t| t.ndim() != 0 || !t.dtype.is_int())
        {
            return Err(Error::ty(
                self.to_string(),
                "indices must be integer scalars",
            ));
        }
        let mut bcast = Vec::new();
        for (d, e) in self.entries.iter().enumerate() {
            if let IdxEntry::Slice { start, stop, step } = e {
                let whole = start.is_none() && stop.is_none() && step.is_none();
                bcast.push(whole && x.broadcastable[d]);
            }
        }
        bcast.extend_from_slice(&x.broadcastable[self.entries.len()..]);
        Ok(TensorType::new(x.dtype, bcast))
    }

    pub fn perform(&self, inputs: &[&Value]) -> Result<Value> {
        let x = inputs[0];
        let plan = self.plan(x.shape(), &inputs[1..])?;
        let n = self.entries.len();
        with_value!(x, a => {
            // Slices are views (strided, no copy); only the result is copied, once.
            let mut v = a.view();
            for (d, (idx, drop)) in plan.iter().enumerate().take(n) {
                if *drop {
                    continue;
                }
                let step = if idx.len() > 1 { idx[1] as isize - idx[0] as isize } else { 1 };
                let arithmetic = idx.windows(2).all(|w| w[1] as isize - w[0] as isize == step);
                if idx.is_empty() {
                    v.slice_axis_inplace(Axis(d), ndarray::Slice::new(0, Some(0), 1));
                } else if arithmetic && step > 0 {
                    let (first, last) = (idx[0] as isize, idx[idx.len() - 1] as isize);
                    v.slice_axis_inplace(Axis(d), ndarray::Slice::new(first, Some(last + 1), step));
                } else {
                    // Negative steps and other patterns: gather (a copy) and continue from it.
                    let owned = v.select(Axis(d), idx);
                    let mut rest = plan.clone();
                    for (k, (ix, _)) in rest.iter_mut().enumerate().take(d + 1) {
                        if !plan[k].1 {
                            *ix = (0..owned.shape()[k]).collect();
                        }
                    }
                    return finish(owned.view(), &rest, n, d + 1);
                }
            }
            finish(v, &plan, n, n)
        })
    }
}

/// Applies the remaining slices (from axis `from`) by gathering, then drops the indexed axes.
fn finish<T: Element>(
    v: ndarray::ArrayViewD<'_, T>,
    plan: &[(Vec<usize>, bool)],
    n: usize,
    from: usize,
) -> Result<Value> {
    let mut out: ArrayD<T> = v.to_owned();
    for (d, (idx, drop)) in plan.iter().enumerate().take(n).skip(from) {
        if !*drop {
            out = out.select(Axis(d), idx);
        }
    }
    for (d, (idx, drop)) in plan.iter().enumerate().take(n).rev() {
        if *drop {
            out = out.index_axis_move(Axis(d), idx[0]);
        }
    }
    Ok(T::wrap(out))
}

impl fmt::Display for Subtensor {
    /// `Subtensor{int64}`, `Subtensor{int64:int64:}`, `Subtensor{::, int64}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |b: &Option<DType>| b.map(|d| d.name().to_string()).unwrap_or_default();
        let items: Vec<String> = self
            .entries
            .iter()
            .map(|e| match e {
                IdxEntry::Index(d) => d.name().to_string(),
                IdxEntry::Slice { start, stop, step } => {
                    format!("{}:{}:{}", part(start), part(stop), part(step))
                }
            })
            .collect();
        write!(f, "Subtensor{{{}}}", items.join(", "))
    }
}

/// `op` names the op in the error (formatted only then: this runs on every call).
fn normalize_index(op: &dyn fmt::Display, i: i64, len: usize, axis: usize) -> Result<usize> {
    let n = len as i64;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return Err(Error::index(
            op.to_string(),
            format!("index {i} is out of bounds for axis {axis} with size {len}"),
        ));
    }
    Ok(j as usize)
}

/// Python's slice semantics (clamping, negative bounds and steps).
fn slice_indices(
    op: &dyn fmt::Display,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    len: usize,
) -> Result<Vec<usize>> {
    let n = len as i64;
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::value(op.to_string(), "slice step cannot be zero"));
    }
    let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let adjust = |b: Option<i64>, default: i64| match b {
        None => default,
        Some(v) if v < 0 => (v + n).max(lower),
        Some(v) => v.min(upper),
    };
    let start = adjust(start, if step > 0 { lower } else { upper });
    let stop = adjust(stop, if step > 0 { upper } else { lower });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    Ok(out)
}

pub fn infer_adv1(inputs: &[&TensorType]) -> Result<TensorType> {
    let (x, i) = (inputs[0], inputs[1]);
    if x.ndim() == 0 {
        return Err(Error::index("AdvancedSubtensor1", "cannot index a scalar"));
    }
    if i.ndim() != 1 || !i.dtype.is_int() {
        return Err(Error::ty(
            "AdvancedSubtensor1",
            format!("index must be an integer vector, got {i}"),
        ));
    }
    let mut b = vec![false];
    b.extend_from_slice(&x.broadcastable[1..]);
    Ok(TensorType::new(x.dtype, b))
}

pub fn perform_adv1(x: &Value, idx: &Value) -> Result<Value> {
    let len = x.shape()[0];
    let idx: Vec<usize> = idx
        .to_i64_vec()
        .into_iter()
        .map(|i| normalize_index(&"AdvancedSubtensor1", i, len, 0))
        .collect::<Result<_>>()?;
    with_value!(x, a => Ok(Element::wrap(a.select(Axis(0), &idx))))
}

pub fn infer_adv(inputs: &[&TensorType]) -> Result<TensorType> {
    let x = inputs[0];
    let idx = &inputs[1..];
    if idx.is_empty() || idx.len() > x.ndim() {
        return Err(Error::index(
            "AdvancedSubtensor",
            format!(
                "{} index arrays for a tensor of ndim {}",
                idx.len(),
                x.ndim()
            ),
        ));
    }
    if idx.iter().any(|t| !t.dtype.is_int()) {
        return Err(Error::ty(
            "AdvancedSubtensor",
            "index arrays must be of an integer dtype",
        ));
    }
    let nd = idx.iter().map(|t| t.ndim()).max().unwrap_or(0);
    let bcast: Vec<bool> = (0..nd)
        .map(|d| {
            idx.iter()
                .all(|t| d + t.ndim() < nd || t.broadcastable[d + t.ndim() - nd])
        })
        .collect();
    let mut b = bcast;
    b.extend_from_slice(&x.broadcastable[idx.len()..]);
    Ok(TensorType::new(x.dtype, b))
}

/// Broadcasts integer index arrays together (numpy's rules) and returns the index shape and, per
/// indexed position, the offset of the selected row of `x` (in units of the trailing block).
fn advanced_offsets(
    op: &str,
    x_shape: &[usize],
    idx: &[&Value],
) -> Result<(Vec<usize>, Vec<usize>)> {
    let nd = idx.iter().map(|v| v.ndim()).max().unwrap_or(0);
    let mut shape = vec![1usize; nd];
    for v in idx {
        let off = nd - v.ndim();
        for (d, &n) in v.shape().iter().enumerate() {
            let s = &mut shape[off + d];
            if *s == 1 {
                *s = n;
            } else if n != 1 && n != *s {
                return Err(Error::index(
                    op,
                    format!(
                        "shape mismatch: indexing arrays could not be broadcast together with shapes {:?}",
                        idx.iter().map(|v| v.shape().to_vec()).collect::<Vec<_>>()
                    ),
                ));
            }
        }
    }
    let arrays: Vec<Vec<i64>> = idx
        .iter()
        .map(|v| {
            v.to_array::<i64>()
                .broadcast(IxDyn(&shape))
                .expect("checked")
                .iter()
                .copied()
                .collect()
        })
        .collect();
    let n: usize = shape.iter().product();
    let mut offsets = Vec::with_capacity(n);
    for j in 0..n {
        let mut off = 0usize;
        for (d, it) in arrays.iter().enumerate() {
            off = off * x_shape[d] + normalize_index(&op, it[j], x_shape[d], d)?;
        }
        offsets.push(off);
    }
    Ok((shape, offsets))
}

pub fn perform_adv(inputs: &[&Value]) -> Result<Value> {
    let x = inputs[0];
    let idx = &inputs[1..];
    let (shape, offsets) = advanced_offsets("AdvancedSubtensor", x.shape(), idx)?;
    let rest: Vec<usize> = x.shape()[idx.len()..].to_vec();
    let rest_len: usize = rest.iter().product();
    let mut out_shape = shape;
    out_shape.extend_from_slice(&rest);
    with_value!(x, a => {
        let std = a.as_standard_layout();
        let flat = std.as_slice().expect("standard layout");
        let mut out = Vec::with_capacity(offsets.len() * rest_len);
        for off in &offsets {
            let base = off * rest_len;
            out.extend_from_slice(&flat[base..base + rest_len]);
        }
        Ok(Element::wrap(ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("shape")))
    })
}

impl Subtensor {
    /// Per axis of `x`: the positions selected and whether the axis is dropped.
    fn plan(&self, x_shape: &[usize], bounds: &[&Value]) -> Result<Vec<(Vec<usize>, bool)>> {
        let mut next = bounds.iter().map(|v| v.to_i64_vec()[0]);
        let mut take =
            |present: &Option<DType>| present.as_ref().map(|_| next.next().expect("bound"));
        let mut plan = Vec::new();
        for (d, e) in self.entries.iter().enumerate() {
            let len = x_shape[d];
            match e {
                IdxEntry::Index(_) => {
                    let i = take(&Some(DType::Int64)).expect("index");
                    plan.push((vec![normalize_index(self, i, len, d)?], true));
                }
                IdxEntry::Slice { start, stop, step } => {
                    let (a, b, s) = (take(start), take(stop), take(step));
                    plan.push((slice_indices(self, a, b, s, len)?, false));
                }
            }
        }
        for &len in &x_shape[self.entries.len()..] {
            plan.push(((0..len).collect(), false));
        }
        Ok(plan)
    }

    /// `x[entries] += y` on a copy of x (the gradient of `Subtensor`).
    pub fn perform_inc(&self, x: &Value, y: &Value, bounds: &[&Value]) -> Result<Value> {
        let name = format!(
            "IncSubtensor{{Inc;{}}}",
            self.to_string()
                .trim_start_matches("Subtensor{")
                .trim_end_matches('}')
        );
        let plan = self.plan(x.shape(), bounds)?;
        let region: Vec<usize> = plan
            .iter()
            .filter(|(_, drop)| !drop)
            .map(|(i, _)| i.len())
            .collect();
        let y = y.cast(x.dtype());
        with_value!(x, a => {
            let mut out = a.clone();
            let yv = Element::unwrap(&y).expect("cast");
            let yb = yv.broadcast(IxDyn(&region)).ok_or_else(|| Error::value(&name, format!("cannot broadcast y of shape {:?} to the region {:?}", yv.shape(), region)))?;
            let mut full = vec![0usize; plan.len()];
            for (ri, &val) in yb.indexed_iter() {
                let mut k = 0;
                for (d, (idx, drop)) in plan.iter().enumerate() {
                    if *drop {
                        full[d] = idx[0];
                    } else {
                        full[d] = idx[ri[k]];
                        k += 1;
                    }
                }
                let cell = &mut out[IxDyn(&full)];
                *cell = add_elem(*cell, val);
            }
            Ok(Element::wrap(out))
        })
    }
}

fn add_elem<T: Element>(a: T, b: T) -> T {
    match T::DTYPE {
        DType::Float64 | DType::Float32 => T::from_f64(a.to_f64() + b.to_f64()),
        DType::Bool => T::from_bool(a.to_bool() || b.to_bool()),
        _ => T::from_i64(a.to_i64().wrapping_add(b.to_i64())),
    }
}

pub fn infer_adv_inc(inputs: &[&TensorType]) -> Result<TensorType> {
    let (x, y) = (inputs[0], inputs[1]);
    let mut sel = vec![x];
    sel.extend_from_slice(&inputs[2..]);
    let region = infer_adv(&sel)?;
    if y.ndim() > region.ndim() {
        return Err(Error::ty(
            "AdvancedIncSubtensor",
            format!(
                "y has more dimensions ({}) than the indexed region ({})",
                y.ndim(),
                region.ndim()
            ),
        ));
    }
    Ok(x.clone())
}

/// `x[i0, i1, ...] += y` on a copy of x; repeated indices accumulate (numpy's `add.at`).
pub fn perform_adv_inc(inputs: &[&Value]) -> Result<Value> {
    let op = "AdvancedIncSubtensor";
    let x = inputs[0];
    let y = inputs[1].cast(x.dtype());
    let idx = &inputs[2..];
    let (shape, offsets) = advanced_offsets(op, x.shape(), idx)?;
    let rest: Vec<usize> = x.shape()[idx.len()..].to_vec();
    let rest_len: usize = rest.iter().product();
    let mut region = shape;
    region.extend_from_slice(&rest);
    with_value!(x, a => {
        let mut out = a.as_standard_layout().into_owned();
        let yv = Element::unwrap(&y).expect("cast");
        let yb = yv.broadcast(IxDyn(&region)).ok_or_else(|| Error::value(op, format!("cannot broadcast y of shape {:?} to {:?}", yv.shape(), region)))?;
        let ys: Vec<_> = yb.iter().copied().collect();
        let flat = out.as_slice_mut().expect("standard layout");
        for (j, off) in offsets.iter().enumerate() {
            for r in 0..rest_len {
                let c = &mut flat[off * rest_len + r];
                *c = add_elem(*c, ys[j * rest_len + r]);
            }
        }
        Ok(Element::wrap(out))
    })
}
