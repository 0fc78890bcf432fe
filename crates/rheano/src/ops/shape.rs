//! Shape-manipulating ops: DimShuffle, Reshape, Shape, ARange, Alloc, Join.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::types::TensorType;
use crate::value::{Element, Value};
use ndarray::{ArrayD, Axis, IxDyn};
use std::fmt;

/// Reorders, drops (broadcastable) and inserts (`None`, Theano's `'x'`) dimensions.
#[derive(Clone, Debug, PartialEq)]
pub struct DimShuffle {
    pub new_order: Vec<Option<usize>>,
}

impl DimShuffle {
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType> {
        let x = inputs[0];
        let mut seen = vec![false; x.ndim()];
        for d in self.new_order.iter().flatten() {
            if *d >= x.ndim() {
                return Err(Error::value(
                    self.to_string(),
                    format!(
                        "dimension {d} does not exist in an input of ndim {}",
                        x.ndim()
                    ),
                ));
            }
            if seen[*d] {
                return Err(Error::value(
                    self.to_string(),
                    format!("dimension {d} repeated"),
                ));
            }
            seen[*d] = true;
        }
        for (d, used) in seen.iter().enumerate() {
            if !used && !x.broadcastable[d] {
                return Err(Error::value(
                    self.to_string(),
                    format!("cannot drop the non-broadcastable dimension {d} of {x}"),
                ));
            }
        }
        let bcast = self
            .new_order
            .iter()
            .map(|o| o.map(|d| x.broadcastable[d]).unwrap_or(true))
            .collect::<Vec<_>>();
        Ok(TensorType::new(x.dtype, bcast))
    }

    pub fn perform(&self, x: &Value) -> Result<Value> {
        // Inline lists (no allocation for the usual few dims).
        type Dims = smallvec::SmallVec<[usize; 6]>;
        let kept: Dims = self.new_order.iter().flatten().copied().collect();
        // Only length-1 dimensions added or dropped, the others in order (a bias broadcast over
        // a batch): the same elements in the same order, under the new shape.
        if kept.windows(2).all(|w| w[0] < w[1])
            && (0..x.ndim()).all(|d| kept.contains(&d) || x.shape()[d] == 1)
        {
            let shape: Dims = self
                .new_order
                .iter()
                .map(|o| o.map_or(1, |d| x.shape()[d]))
                .collect();
            return x.reshape(&shape);
        }
        with_value!(x, a => {
            let mut v = a.view();
            // Drop the unused (length-1) dimensions, highest first so indices stay valid.
            for d in (0..a.ndim()).rev() {
                if !kept.contains(&d) {
                    if v.shape()[d] != 1 {
                        return Err(Error::value(self.to_string(), format!("cannot drop dimension {d} of length {}", v.shape()[d])));
                    }
                    v = v.index_axis_move(Axis(d), 0);
                }
            }
            // Positions of the kept dims after dropping.
            let mut remaining: Dims = (0..a.ndim()).filter(|d| kept.contains(d)).collect();
            remaining.sort_unstable();
            let perm: Dims = kept.iter().map(|d| remaining.iter().position(|r| r == d).expect("kept")).collect();
            let mut v = v.permuted_axes(IxDyn(&perm));
            for (pos, o) in self.new_order.iter().enumerate() {
                if o.is_none() {
                    v = v.insert_axis(Axis(pos));
                }
            }
            Ok(Element::wrap(v.as_standard_layout().into_owned()))
        })
    }
}

impl fmt::Display for DimShuffle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .new_order
            .iter()
            .map(|o| o.map(|d| d.to_string()).unwrap_or_else(|| "x".into()))
            .collect();
        write!(f, "InplaceDimShuffle{{{}}}", items.join(","))
    }
}

/// `Reshape{ndim}(x, shape)`; `bcast` marks the output dims known to be 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Reshape {
    pub bcast: Vec<bool>,
}

impl Reshape {
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType> {
        let s = inputs[1];
        if s.ndim() != 1 || !s.dtype.is_int() {
            return Err(Error::ty(
                format!("Reshape{{{}}}", self.bcast.len()),
                format!("the shape must be an integer vector, got {s}"),
            ));
        }
        Ok(TensorType::new(inputs[0].dtype, self.bcast.clone()))
    }

    pub fn perform(&self, x: &Value, shape: &Value) -> Result<Value> {
        let op = format!("Reshape{{{}}}", self.bcast.len());
        let req = shape.to_i64_vec();
        if req.len() != self.bcast.len() {
            return Err(Error::value(
                &op,
                format!(
                    "shape has {} entries, expected {}",
                    req.len(),
                    self.bcast.len()
                ),
            ));
        }
        let size = x.len();
        let neg: Vec<usize> = (0..req.len()).filter(|&i| req[i] == -1).collect();
        if neg.len() > 1 || req.iter().any(|&d| d < -1) {
            return Err(Error::value(
                &op,
                format!("invalid shape {req:?}: at most one -1 and no other negative entry"),
            ));
        }
        let known: usize = req
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let mut out: Vec<usize> = req.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(&i) = neg.first() {
            if known == 0 || !size.is_multiple_of(known) {
                return Err(Error::value(
                    &op,
                    format!(
                        "cannot reshape array of shape {:?} (size {size}) into shape {req:?}",
                        x.shape()
                    ),
                ));
            }
            out[i] = size / known;
        } else if known != size {
            return Err(Error::value(
                &op,
                format!(
                    "cannot reshape array of shape {:?} (size {size}) into shape {req:?}",
                    x.shape()
                ),
            ));
        }
        for (d, (&b, &n)) in self.bcast.iter().zip(&out).enumerate() {
            if b && n != 1 {
                return Err(Error::value(
                    &op,
                    format!("dimension {d} is broadcastable but the new shape gives it {n}"),
                ));
            }
        }
        x.reshape(&out)
    }
}

pub fn infer_shape(_inputs: &[&TensorType]) -> Result<TensorType> {
    Ok(TensorType::dense(DType::Int64, 1))
}

pub fn perform_shape(x: &Value) -> Value {
    Value::I64(
        ArrayD::from_shape_vec(
            IxDyn(&[x.ndim()]),
            x.shape().iter().map(|&n| n as i64).collect(),
        )
        .expect("shape"),
    )
}

pub fn infer_shape_i(i: usize, inputs: &[&TensorType]) -> Result<TensorType> {
    if i >= inputs[0].ndim() {
        return Err(Error::index(
            format!("Shape_i{{{i}}}"),
            format!(
                "index {i} out of range for a tensor of ndim {}",
                inputs[0].ndim()
            ),
        ));
    }
    Ok(TensorType::dense(DType::Int64, 0))
}

/// `x.shape[i]` as a 0-d int64.
pub fn perform_shape_i(i: usize, x: &Value) -> Result<Value> {
    let n = *x.shape().get(i).ok_or_else(|| {
        Error::index(
            format!("Shape_i{{{i}}}"),
            format!("index {i} out of range for a value of ndim {}", x.ndim()),
        )
    })?;
    Ok(Value::I64(ArrayD::from_elem(IxDyn(&[]), n as i64)))
}

pub fn infer_arange(dtype: DType, inputs: &[&TensorType]) -> Result<TensorType> {
    let op = format!("ARange{{dtype='{dtype}'}}");
    if inputs.len() != 3 || inputs.iter().any(|t| t.ndim() != 0) {
        return Err(Error::ty(op, "start, stop and step must be scalars"));
    }
    Ok(TensorType::dense(dtype, 1))
}

pub fn perform_arange(dtype: DType, inputs: &[&Value]) -> Result<Value> {
    let op = format!("ARange{{dtype='{dtype}'}}");
    let [start, stop, step] = [0, 1, 2].map(|i| inputs[i].scalar_f64().unwrap_or(0.0));
    if step == 0.0 {
        return Err(Error::value(op, "step must not be 0"));
    }
    let n = ((stop - start) / step).ceil().max(0.0);
    if !n.is_finite() || n > 1e12 {
        return Err(Error::value(
            op,
            format!("invalid range {start}..{stop} step {step}"),
        ));
    }
    let n = n as usize;
    if dtype.is_float() {
        let v: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
        Ok(Value::from(ndarray::Array1::from(v)).into_dtype(dtype))
    } else {
        let [a, s] = [inputs[0].to_i64_vec()[0], inputs[2].to_i64_vec()[0]];
        let v: Vec<i64> = (0..n as i64).map(|i| a + i * s).collect();
        Ok(Value::from(ndarray::Array1::from(v)).into_dtype(dtype))
    }
}

pub fn infer_alloc(bcast: &[bool], inputs: &[&TensorType]) -> Result<TensorType> {
    let v = inputs[0];
    let dims = &inputs[1..];
    if dims.iter().any(|t| t.ndim() != 0 || !t.dtype.is_int()) {
        return Err(Error::ty(
            "Alloc",
            "the shape arguments must be integer scalars",
        ));
    }
    if v.ndim() > dims.len() {
        return Err(Error::ty(
            "Alloc",
            format!(
                "the value has {} dimensions, more than the {} requested",
                v.ndim(),
                dims.len()
            ),
        ));
    }
    Ok(TensorType::new(v.dtype, bcast.to_vec()))
}

pub fn perform_alloc(inputs: &[&Value], out: &TensorType) -> Result<Value> {
    let shape: Vec<usize> = inputs[1..]
        .iter()
        .map(|v| {
            let n = v.to_i64_vec()[0];
            usize::try_from(n).map_err(|_| Error::value("Alloc", format!("negative dimension {n}")))
        })
        .collect::<Result<_>>()?;
    let v = inputs[0];
    with_value!(v, a => {
        let b = a.broadcast(IxDyn(&shape)).ok_or_else(|| Error::value("Alloc", format!("cannot broadcast a value of shape {:?} to {:?}", a.shape(), shape)))?;
        let _ = out;
        Ok(Element::wrap(b.to_owned()))
    })
}

pub fn infer_join(axis: usize, inputs: &[&TensorType]) -> Result<TensorType> {
    let tensors = &inputs[1..];
    let first = tensors
        .first()
        .ok_or_else(|| Error::ty("Join", "nothing to join"))?;
    let ndim = first.ndim();
    if ndim == 0 {
        return Err(Error::ty("Join", "cannot join scalars (use stack)"));
    }
    if tensors.iter().any(|t| t.ndim() != ndim) {
        return Err(Error::ty(
            "Join",
            "all tensors must have the same number of dimensions",
        ));
    }
    if axis >= ndim {
        return Err(Error::value(
            "Join",
            format!("axis {axis} out of range for tensors of ndim {ndim}"),
        ));
    }
    let dtype = DType::upcast_all(tensors.iter().map(|t| t.dtype)).expect("non-empty");
    let bcast = (0..ndim)
        .map(|d| d != axis && tensors.iter().any(|t| t.broadcastable[d]))
        .collect::<Vec<_>>();
    Ok(TensorType::new(dtype, bcast))
}

pub fn perform_join(axis: usize, inputs: &[&Value], out: &TensorType) -> Result<Value> {
    let parts: Vec<Value> = inputs[1..].iter().map(|v| v.cast(out.dtype)).collect();
    for p in &parts[1..] {
        let (a, b) = (parts[0].shape(), p.shape());
        if (0..a.len()).any(|d| d != axis && a[d] != b[d]) {
            return Err(Error::value(
                "Join",
                format!(
                    "all dimensions but the join axis {axis} must match: shapes {a:?} and {b:?}"
                ),
            ));
        }
    }
    dispatch_dtype!(out.dtype, T => {
        let views: Vec<_> = parts.iter().map(|p| T::unwrap(p).expect("cast").view()).collect();
        let r = ndarray::concatenate(Axis(axis), &views).map_err(|e| Error::value("Join", e.to_string()))?;
        Ok(T::wrap(r))
    })
}
