//! Dedicated nnet ops: the softmax family and the crossentropy ops (spec §2.8–§2.14). The
//! elementwise activations (sigmoid, softplus, relu, ...) are scalar ops in `scalar.rs`.

use super::NodeTypes;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::math::Real;
use crate::types::TensorType;
use crate::value::{Element, Value};
use ndarray::{Array1, Array2, ArrayD, Axis, Ix2, IxDyn};
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum NnetOp {
    /// Softmax over `axis`; `None` is Theano's 2-D row-wise `Softmax`.
    Softmax { axis: Option<usize> },
    /// Log-softmax over `axis`; `None` is Theano's 2-D row-wise `LogSoftmax`.
    LogSoftmax { axis: Option<usize> },
    /// softmax(x + b) row-wise, x 2-D, b 1-D.
    SoftmaxWithBias,
    /// (dy, sm) → dy⊙sm − Σ(dy⊙sm)·sm over `axis` (`None`: rows of a matrix).
    SoftmaxGrad { axis: Option<usize> },
    /// (coding 2-D, labels int vector) → −log coding[i, label_i].
    CrossentropyCategorical1Hot,
    /// (g, coding, labels) → the gradient of the above with respect to coding.
    CrossentropyCategorical1HotGrad,
    /// (x, b, labels) → (nll, softmax(x + b), argmax(x + b)).
    CrossentropySoftmaxArgmax1HotWithBias,
    /// (dy, sm, labels) → dy_i·(sm\[i\] − onehot(label_i)).
    CrossentropySoftmax1HotWithBiasDx,
    /// (X, W, b, labels, dz) → (nll, sm, argmax, dx, Xᵀ·dx): `CrossentropySoftmaxArgmax1HotWithBias`
    /// of `Dot22(X, W)` and b, its `CrossentropySoftmax1HotWithBiasDx` for dz, and the weight
    /// gradient `Dot22{TN}(X, dx)`, in one pass over X (built by the optimizer, see
    /// `ops::linear_xent`).
    Dot22CrossentropySoftmaxGrad,
    /// (x, Y) → −Σ_j Y[i, j]·log_softmax(x)[i, j] per row: crossentropy of a softmax against
    /// one-hot or soft target rows, in one pass (built by a stabilising rewrite).
    CrossentropySoftmaxDense,
    /// A constant first column prepended to a matrix.
    PrependScalarConstant(f64),
    /// (val scalar, mat) → a first column `val` prepended to `mat`.
    PrependScalar,
    /// (actual, pred) → (confusion matrix, sorted distinct labels).
    ConfusionMatrix,
}

fn need(cond: bool, op: &NnetOp, kind: fn(String, String) -> Error, msg: String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(kind(op.to_string(), msg))
    }
}

/// Theano's check of the integer label vector of the crossentropy ops.
fn need_labels(op: &NnetOp, y: &TensorType) -> Result<()> {
    need(
        y.ndim() == 1 && y.dtype.is_int(),
        op,
        value_err,
        format!("y_idx must be 1-d tensor of [u]ints. Got {y}"),
    )
}

/// An op's name for an error message: formatted only when the error is raised (a compiled
/// function runs these checks at every call).
#[derive(Clone, Copy)]
struct OpName<'a>(&'a NnetOp);

impl From<OpName<'_>> for String {
    fn from(name: OpName<'_>) -> String {
        name.0.to_string()
    }
}

fn type_err(op: String, msg: String) -> Error {
    Error::Type { op, msg }
}
fn value_err(op: String, msg: String) -> Error {
    Error::Value { op, msg }
}

impl NnetOp {
    pub fn n_outputs(&self) -> usize {
        match self {
            NnetOp::CrossentropySoftmaxArgmax1HotWithBias => 3,
            NnetOp::Dot22CrossentropySoftmaxGrad => 5,
            NnetOp::ConfusionMatrix => 2,
            _ => 1,
        }
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<Vec<TensorType>> {
        use NnetOp::*;
        let float2 = |t: &TensorType| t.ndim() == 2 && t.dtype.is_float();
        match self {
            Softmax { axis } | LogSoftmax { axis } => {
                let x = inputs[0];
                match axis {
                    None => need(
                        float2(x),
                        self,
                        value_err,
                        format!("x must be 1-d or 2-d tensor of floats. Got {x}"),
                    )?,
                    Some(a) => need(
                        x.dtype.is_float() && *a < x.ndim(),
                        self,
                        value_err,
                        format!("x must be a float tensor with an axis {a}. Got {x}"),
                    )?,
                }
                Ok(vec![x.clone()])
            }
            SoftmaxWithBias => {
                let (x, b) = (inputs[0], inputs[1]);
                need(
                    float2(x),
                    self,
                    value_err,
                    format!("x must be 2-d tensor of floats. Got {x}"),
                )?;
                need(
                    b.ndim() == 1 && b.dtype.is_float(),
                    self,
                    value_err,
                    format!("b must be 1-d tensor of floats. Got {b}"),
                )?;
                Ok(vec![x.with_dtype(x.dtype.upcast(b.dtype))])
            }
            SoftmaxGrad { axis } => {
                let (dy, sm) = (inputs[0], inputs[1]);
                let ok = match axis {
                    None => sm.ndim() == 2,
                    Some(a) => *a < sm.ndim(),
                };
                need(
                    ok && dy.ndim() == sm.ndim() && dy.dtype.is_float() && sm.dtype.is_float(),
                    self,
                    value_err,
                    format!("dy and sm must be float tensors of the same rank, got {dy} and {sm}"),
                )?;
                Ok(vec![sm.with_dtype(dy.dtype.upcast(sm.dtype))])
            }
            CrossentropyCategorical1Hot => {
                let (c, t) = (inputs[0], inputs[1]);
                need(
                    c.ndim() == 2 && c.dtype.is_float(),
                    self,
                    type_err,
                    format!("matrix required for argument: coding_dist (got type: {c})"),
                )?;
                let ok = t.ndim() == 1
                    && !t.broadcastable[0]
                    && matches!(t.dtype, DType::Int32 | DType::Int64);
                need(ok, self, type_err, format!("integer vector required for argument: true_one_of_n(got type: {t} instead of: TensorType(int64, vector))"))?;
                Ok(vec![TensorType::new(c.dtype, vec![c.broadcastable[0]])])
            }
            CrossentropyCategorical1HotGrad => {
                let (g, c, t) = (inputs[0], inputs[1], inputs[2]);
                need(
                    g.ndim() == 1 && c.ndim() == 2 && t.ndim() == 1 && t.dtype.is_int(),
                    self,
                    type_err,
                    format!("expected (vector, matrix, int vector), got ({g}, {c}, {t})"),
                )?;
                Ok(vec![c.with_dtype(c.dtype.upcast(g.dtype))])
            }
            CrossentropySoftmaxArgmax1HotWithBias => {
                let (x, b, y) = (inputs[0], inputs[1], inputs[2]);
                need(
                    float2(x),
                    self,
                    value_err,
                    format!("x must be 2-d tensor of floats. Got {x}"),
                )?;
                need(
                    b.ndim() == 1 && b.dtype.is_float(),
                    self,
                    value_err,
                    format!("b must be 1-d tensor of floats. Got {b}"),
                )?;
                need_labels(self, y)?;
                let d = x.dtype.upcast(b.dtype);
                Ok(vec![
                    TensorType::new(d, y.broadcastable.clone()),
                    x.with_dtype(d),
                    y.clone(),
                ])
            }
            CrossentropySoftmax1HotWithBiasDx => {
                let (dy, sm, y) = (inputs[0], inputs[1], inputs[2]);
                need(
                    dy.ndim() <= 1 && dy.dtype.is_float(),
                    self,
                    value_err,
                    format!("dy must be a float scalar or vector. Got {dy}"),
                )?;
                need(
                    float2(sm),
                    self,
                    value_err,
                    format!("sm must be 2-d tensor of floats. Got {sm}"),
                )?;
                need_labels(self, y)?;
                Ok(vec![sm.with_dtype(sm.dtype.upcast(dy.dtype))])
            }
            Dot22CrossentropySoftmaxGrad => {
                let [x, w, b, y, dz] = inputs else {
                    return Err(type_err(
                        self.to_string(),
                        "expects 5 inputs (X, W, b, y_idx, dz)".into(),
                    ));
                };
                let d = x.dtype;
                need(
                    float2(x)
                        && float2(w)
                        && b.ndim() == 1
                        && dz.ndim() <= 1
                        && [w, b, dz].iter().all(|t| t.dtype == d),
                    self,
                    type_err,
                    format!("expects float matrices X and W, a vector b and a scalar or vector dz of one dtype, got {x}, {w}, {b}, {dz}"),
                )?;
                need_labels(self, y)?;
                let rows = TensorType::new(d, vec![x.broadcastable[0], w.broadcastable[1]]);
                Ok(vec![
                    TensorType::new(d, y.broadcastable.clone()),
                    rows.clone(),
                    (*y).clone(),
                    rows,
                    TensorType::new(d, vec![x.broadcastable[1], w.broadcastable[1]]),
                ])
            }
            CrossentropySoftmaxDense => {
                let (x, y) = (inputs[0], inputs[1]);
                need(
                    float2(x) && y.ndim() == 2 && y.dtype.is_float(),
                    self,
                    type_err,
                    format!("expected two float matrices, got {x} and {y}"),
                )?;
                Ok(vec![TensorType::new(
                    x.dtype.upcast(y.dtype),
                    vec![x.broadcastable[0] && y.broadcastable[0]],
                )])
            }
            PrependScalarConstant(_) => {
                let m = inputs[0];
                need(
                    m.ndim() == 2 && !m.broadcastable[0] && !m.broadcastable[1],
                    self,
                    type_err,
                    format!("a matrix is required, got {m}"),
                )?;
                Ok(vec![m.clone()])
            }
            PrependScalar => {
                let (v, m) = (inputs[0], inputs[1]);
                need(
                    v.ndim() == 0,
                    self,
                    type_err,
                    format!("val must be a scalar, got {v}"),
                )?;
                need(
                    m.ndim() == 2 && !m.broadcastable[0] && !m.broadcastable[1],
                    self,
                    type_err,
                    format!("a matrix is required, got {m}"),
                )?;
                Ok(vec![m.with_dtype(m.dtype.upcast(v.dtype))])
            }
            ConfusionMatrix => {
                let (a, p) = (inputs[0], inputs[1]);
                need(
                    a.ndim() == 1 && p.ndim() == 1,
                    self,
                    value_err,
                    format!("actual and pred must be 1-d tensors, got {a} and {p}"),
                )?;
                Ok(vec![
                    TensorType::dense(DType::Int64, 2),
                    TensorType::dense(a.dtype.upcast(p.dtype), 1),
                ])
            }
        }
    }

    pub fn perform(&self, types: &NodeTypes, inputs: &[&Value]) -> Result<Vec<Value>> {
        use NnetOp::*;
        let out_dt = types.outputs[0].dtype;
        // The op's name for error messages, formatted only when one is raised.
        let name = OpName(self);
        Ok(match self {
            Softmax { axis } | LogSoftmax { axis } => {
                let log = matches!(self, LogSoftmax { .. });
                let ax = axis.unwrap_or(1);
                vec![
                    float_op!(out_dt, F => F::wrap(softmax_axis(&inputs[0].to_array::<F>(), ax, log))),
                ]
            }
            SoftmaxWithBias => {
                let (x, b) = (inputs[0], inputs[1]);
                check_cols(name, x, b, "b must have same number of columns as x")?;
                let n = x.shape()[1];
                vec![float_op!(out_dt, F => {
                    if (1..SHORT_ROW).contains(&n) && b.len() == n {
                        // Short rows: the bias is added inside the row kernel.
                        let (xa, ba) = (x.to_array::<F>(), b.to_array::<F>());
                        let (xs, bs) = (xa.as_standard_layout(), ba.as_standard_layout());
                        let src = xs.as_slice().expect("standard layout");
                        let mut out = crate::runtime::elemwise::alloc_output::<F>(src.len());
                        softmax_bias_short_rows(src, bs.as_slice().expect("standard layout"), &mut out, n);
                        F::wrap(ArrayD::from_shape_vec(IxDyn(x.shape()), out).expect("shape"))
                    } else {
                        let s = add_bias::<F>(x, b);
                        F::wrap(softmax_axis(&s, 1, false))
                    }
                })]
            }
            SoftmaxGrad { axis } => {
                let ax = axis.unwrap_or(1);
                if inputs[0].shape() != inputs[1].shape() {
                    return Err(Error::value(
                        name,
                        format!(
                            "dy and sm must have the same shape, got {:?} and {:?}",
                            inputs[0].shape(),
                            inputs[1].shape()
                        ),
                    ));
                }
                vec![
                    float_op!(out_dt, F => F::wrap(softmax_grad(&inputs[0].to_array::<F>(), &inputs[1].to_array::<F>(), ax))),
                ]
            }
            CrossentropyCategorical1Hot => {
                let (c, t) = (inputs[0], inputs[1]);
                let labels = check_labels(name, t, c.shape()[0], c.shape()[1])?;
                vec![float_op!(out_dt, F => {
                    let c = c.to_array::<F>();
                    let c2 = c.view().into_dimensionality::<Ix2>().expect("2-d");
                    let v: Array1<F> = labels.iter().enumerate().map(|(i, &l)| -c2[[i, l]].ln()).collect();
                    F::wrap(v.into_dyn())
                })]
            }
            CrossentropyCategorical1HotGrad => {
                let (g, c, t) = (inputs[0], inputs[1], inputs[2]);
                let labels = check_labels(name, t, c.shape()[0], c.shape()[1])?;
                if g.len() != labels.len() {
                    return Err(Error::value(
                        name,
                        format!("g has {} entries for {} rows", g.len(), labels.len()),
                    ));
                }
                vec![float_op!(out_dt, F => {
                    let c = c.to_array::<F>();
                    let g = g.to_array::<F>();
                    let c2 = c.view().into_dimensionality::<Ix2>().expect("2-d");
                    let mut out = Array2::<F>::zeros(c2.raw_dim());
                    for (i, (&l, &gi)) in labels.iter().zip(g.iter()).enumerate() {
                        out[[i, l]] = -gi / c2[[i, l]];
                    }
                    F::wrap(out.into_dyn())
                })]
            }
            CrossentropySoftmaxArgmax1HotWithBias => {
                let (x, b, y) = (inputs[0], inputs[1], inputs[2]);
                check_cols(name, x, b, "b must have same number of columns as x")?;
                if y.len() != x.shape()[0] {
                    return Err(Error::value(
                        name,
                        format!(
                            "y_idx must have same number of rows as x ({} vs {})",
                            y.len(),
                            x.shape()[0]
                        ),
                    ));
                }
                let labels = check_labels(name, y, x.shape()[0], x.shape()[1])?;
                let (nll, sm, am) = float_op!(out_dt, F => {
                    let (nll, sm, am) = softmax_nll::<F>(&add_bias::<F>(x, b), &labels);
                    (F::wrap(nll), F::wrap(sm), am)
                });
                vec![nll, sm, Value::I64(am).into_dtype(y.dtype())]
            }
            CrossentropySoftmax1HotWithBiasDx => {
                let (dy, sm, y) = (inputs[0], inputs[1], inputs[2]);
                let n = sm.shape()[0];
                let labels = check_labels(name, y, n, sm.shape()[1])?;
                if dy.ndim() == 1 && dy.len() != n && dy.len() != 1 {
                    return Err(Error::value(
                        name,
                        format!("dy has {} entries for {n} rows", dy.len()),
                    ));
                }
                vec![float_op!(out_dt, F => {
                    let dyv: Vec<F> = dy.to_array::<F>().iter().copied().collect();
                    let sma = sm.to_array::<F>();
                    let sms = sma.as_standard_layout();
                    let src = sms.as_slice().expect("standard layout");
                    let mut out = crate::runtime::elemwise::alloc_output::<F>(src.len());
                    crossentropy_dx_rows(src, sm.shape()[1], &labels, &dyv, &mut out);
                    F::wrap(ArrayD::from_shape_vec(IxDyn(sm.shape()), out).expect("shape"))
                })]
            }
            Dot22CrossentropySoftmaxGrad => {
                let (x, w, b, y, dz) = (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]);
                let (m, k, n) = (x.shape()[0], x.shape()[1], w.shape()[1]);
                if w.shape()[0] != k {
                    return Err(Error::value(
                        name,
                        format!(
                            "Incompatible shapes for dot: X is {m}×{k}, W is {}×{n}",
                            w.shape()[0]
                        ),
                    ));
                }
                if b.len() != n && b.len() != 1 {
                    return Err(Error::value(
                        name,
                        format!("b must have same number of columns as x (x.shape = [{m}, {n}], b.shape = {:?})", b.shape()),
                    ));
                }
                if y.len() != m {
                    return Err(Error::value(
                        name,
                        format!(
                            "y_idx must have same number of rows as x ({} vs {m})",
                            y.len()
                        ),
                    ));
                }
                if dz.len() != m && dz.len() != 1 {
                    return Err(Error::value(
                        name,
                        format!("dy has {} entries for {m} rows", dz.len()),
                    ));
                }
                let labels = check_labels(name, y, m, n)?;
                let (nll, sm, am, dx, dw) = float_op!(out_dt, F => {
                    let flat = |v: &Value| {
                        let a = v.to_array::<F>();
                        a.as_standard_layout().iter().copied().collect::<Vec<F>>()
                    };
                    let xa = x.to_array::<F>();
                    let xs = xa.as_standard_layout();
                    let (nll, sm, am, dx, dw) = super::linear_xent::linear_crossentropy::<F>(
                        xs.as_slice().expect("standard layout"),
                        (m, k),
                        &flat(w),
                        n,
                        &flat(b),
                        &labels,
                        &flat(dz),
                    );
                    let wrap = |v: Vec<F>, shape: &[usize]| {
                        F::wrap(ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape"))
                    };
                    (wrap(nll, &[m]), wrap(sm, &[m, n]), am, wrap(dx, &[m, n]), wrap(dw, &[k, n]))
                });
                let am = Value::I64(ArrayD::from_shape_vec(IxDyn(&[m]), am).expect("shape"));
                vec![nll, sm, am.cast(y.dtype()), dx, dw]
            }
            CrossentropySoftmaxDense => {
                let (x, y) = (inputs[0], inputs[1]);
                if x.shape() != y.shape() {
                    return Err(Error::value(
                        name,
                        format!(
                            "x and the targets must have the same shape, got {:?} and {:?}",
                            x.shape(),
                            y.shape()
                        ),
                    ));
                }
                vec![float_op!(out_dt, F => {
                    let lsm = softmax_axis(&x.to_array::<F>(), 1, true);
                    let yv = y.to_array::<F>();
                    let mut out = Vec::with_capacity(x.shape()[0]);
                    for (l, t) in lsm.lanes(Axis(1)).into_iter().zip(yv.lanes(Axis(1))) {
                        // Zero targets contribute nothing, even where log_softmax is −inf.
                        let s: f64 = l.iter().zip(t.iter()).filter(|(_, &t)| t.to_f64() != 0.0).map(|(&a, &t)| a.to_f64() * t.to_f64()).sum();
                        out.push(F::c(-s));
                    }
                    F::wrap(ArrayD::from_shape_vec(IxDyn(&[out.len()]), out).expect("shape"))
                })]
            }
            PrependScalarConstant(v) => vec![prepend(inputs[0], &Value::from(*v), out_dt)],
            PrependScalar => vec![prepend(inputs[1], inputs[0], out_dt)],
            ConfusionMatrix => {
                let (a, p) = (inputs[0], inputs[1]);
                if a.len() != p.len() {
                    return Err(Error::value(
                        name,
                        format!(
                            "actual and pred must have the same length ({} vs {})",
                            a.len(),
                            p.len()
                        ),
                    ));
                }
                let od = types.outputs[1].dtype;
                let (av, pv) = (a.cast(od).to_f64_vec(), p.cast(od).to_f64_vec());
                let mut order: Vec<f64> = av.iter().chain(&pv).copied().collect();
                order.sort_by(|x, y| x.total_cmp(y));
                order.dedup();
                let pos = |v: f64| order.iter().position(|&o| o == v).expect("present");
                let mut conf = Array2::<i64>::zeros((order.len(), order.len()));
                for (&x, &y) in av.iter().zip(&pv) {
                    conf[[pos(x), pos(y)]] += 1;
                }
                vec![
                    Value::from(conf),
                    Value::from(Array1::from(order)).into_dtype(od),
                ]
            }
        })
    }
}

/// Runs `$body` with `$F` the float type of `$dt` (f32 or f64).
macro_rules! float_op {
    ($dt:expr, $F:ident => $body:expr) => {
        if $dt == DType::Float32 {
            type $F = f32;
            $body
        } else {
            type $F = f64;
            $body
        }
    };
}
use float_op;

/// b has one entry per column of x, or a single entry for all of them (the rewrites fold
/// `x + b` into the fused ops, and the elementwise add broadcasts a one-entry b).
fn check_cols(op: OpName, x: &Value, b: &Value, msg: &str) -> Result<()> {
    if x.shape()[1] != b.shape()[0] && b.shape()[0] != 1 {
        return Err(Error::value(
            op,
            format!(
                "{msg} (x.shape = {:?}, b.shape = {:?})",
                x.shape(),
                b.shape()
            ),
        ));
    }
    Ok(())
}

/// Labels as indices, each checked against the number of classes (never wrapped around).
fn check_labels(op: OpName, y: &Value, rows: usize, classes: usize) -> Result<Vec<usize>> {
    // int64 labels (the usual `lvector`) read in place; others converted first.
    let converted;
    let v: &[i64] = match y.view::<i64>().and_then(|a| a.to_slice()) {
        Some(labels) => labels,
        None => {
            converted = y.to_i64_vec();
            &converted
        }
    };
    if v.len() != rows {
        return Err(Error::value(
            op,
            format!("{} labels for {rows} rows", v.len()),
        ));
    }
    // One allocation (a `collect` through `Result` would grow the vector step by step).
    let mut labels = Vec::with_capacity(rows);
    for &l in v {
        if l < 0 || l as usize >= classes {
            return Err(Error::value(
                op,
                format!("y_i value out of bounds: label {l} for {classes} classes"),
            ));
        }
        labels.push(l as usize);
    }
    Ok(labels)
}

fn add_bias<F: Real>(x: &Value, b: &Value) -> ArrayD<F> {
    let xa = x.to_array::<F>();
    let b = b.to_array::<F>();
    let mut b1: Vec<F> = b.iter().copied().collect();
    let cols = xa.shape().get(1).copied().unwrap_or(0);
    if b1.len() == 1 && cols != 1 {
        b1 = vec![b1[0]; cols];
    }
    // Contiguous rows: one pass, row by row.
    if let (Some(xs), false) = (xa.as_slice(), b1.is_empty()) {
        let mut out = Vec::with_capacity(xs.len());
        for row in xs.chunks(b1.len()) {
            out.extend(row.iter().zip(&b1).map(|(&v, &bb)| v + bb));
        }
        return ArrayD::from_shape_vec(xa.raw_dim(), out).expect("shape");
    }
    let mut s = xa.into_owned();
    for mut row in s.lanes_mut(Axis(1)) {
        for (v, &bb) in row.iter_mut().zip(&b1) {
            *v = *v + bb;
        }
    }
    s
}

/// Softmax (or log-softmax) over `axis`, each lane shifted by its max; sums in f64.
pub fn softmax_axis<F: Real>(x: &ArrayD<F>, axis: usize, log: bool) -> ArrayD<F> {
    // Rows of the last axis are contiguous: one row kernel from the input into a fresh output,
    // in parallel for large inputs.
    if axis + 1 == x.ndim() {
        let xs = x.as_standard_layout();
        let src = xs.as_slice().expect("standard layout");
        let n = x.shape()[axis].max(1);
        let mut buf = crate::runtime::elemwise::alloc_output::<F>(src.len());
        // Blocks of whole rows (about 16K elements each), in parallel for large inputs.
        let rows_per_block = ((1usize << 14) / n).max(1);
        let block = |(o, r): (&mut [F], &[F])| {
            let mut scratch = vec![0.0f64; n];
            let mut stats = vec![None; r.len() / n];
            softmax_rows(r, o, n, log, false, &mut scratch, &mut stats);
        };
        over_row_blocks(&mut buf, src, n * rows_per_block, block);
        return ArrayD::from_shape_vec(x.raw_dim(), buf).expect("shape");
    }
    let mut out = x.to_owned();
    for mut lane in out.lanes_mut(Axis(axis)) {
        let (m, arg) = lane_max(lane.iter().copied());
        let (s, ls) = sum_exp(lane.iter().copied(), m, arg);
        if log {
            lane.mapv_inplace(|v| F::c((v.to_f64() - m.to_f64()) - ls));
        } else {
            let inv = 1.0 / s;
            lane.mapv_inplace(|v| F::c(exp_diff(v.to_f64(), m.to_f64()) * inv));
        }
    }
    out
}

/// Softmax (or log-softmax) of consecutive rows of length `n`: the vectorised kernel (compiled
/// for the CPU's vector unit, see `runtime::elemwise::isa`, dispatched once for all the rows) for
/// rows that are finite and within exp's range of their max, the general one for the others.
/// `stats[r]` receives what the vectorised kernel learnt of row r (None where it did not run).
fn softmax_rows<F: Real>(
    src: &[F],
    out: &mut [F],
    n: usize,
    log: bool,
    want_arg: bool,
    scratch: &mut [f64],
    stats: &mut [Stats],
) {
    softmax_rows_then(src, out, n, log, want_arg, scratch, stats, &[])
}

/// [`softmax_rows`], requesting `next` (the rows that follow) from memory while these are
/// computed, a cache line at a time during their first pass.
#[allow(clippy::too_many_arguments)]
fn softmax_rows_then<F: Real>(
    src: &[F],
    out: &mut [F],
    n: usize,
    log: bool,
    want_arg: bool,
    scratch: &mut [f64],
    stats: &mut [Stats],
    next: &[F],
) {
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn rows<F: Real, const FMA: bool>(
        src: &[F],
        out: &mut [F],
        n: usize,
        log: bool,
        want_arg: bool,
        scratch: &mut [f64],
        stats: &mut [Stats],
        next: &[F],
    ) {
        if n < SHORT_ROW {
            softmax_short_rows::<F, FMA>(src, out, n, log, &[], stats);
            return;
        }
        for ((r, o), st) in src.chunks(n).zip(out.chunks_mut(n)).zip(stats.iter_mut()) {
            *st = softmax_row_fast::<F, FMA>(r, o, log, want_arg, scratch, next);
        }
    }
    if n == 0 {
        return;
    }
    if n >= 128 && src.len() > n {
        // Long rows: one dispatch per row keeps each row's loops tight (measured faster). The
        // next row is requested while this one is computed: the first pass over a row then
        // finds it in cache instead of waiting on memory.
        for (i, ((r, o), st)) in src
            .chunks(n)
            .zip(out.chunks_mut(n))
            .zip(stats.chunks_mut(1))
            .enumerate()
        {
            let next = src.get((i + 1) * n..(i + 2) * n).unwrap_or(&[]);
            // The row's output is written by the last pass: requested now, it arrives during
            // the first two.
            crate::runtime::elemwise::prefetch(o);
            softmax_rows_then(r, o, n, log, want_arg, scratch, st, next);
        }
        return;
    }
    crate::runtime::elemwise::dispatched!(
        fn rows_dispatched<F>(
            src: &[F],
            out: &mut [F],
            n: usize,
            log: bool,
            want_arg: bool,
            scratch: &mut [f64],
            stats: &mut [Stats],
            next: &[F],
        ) => rows
    );
    rows_dispatched(src, out, n, log, want_arg, scratch, stats, next);
    for ((r, o), st) in src.chunks(n).zip(out.chunks_mut(n)).zip(stats.iter()) {
        if st.is_none() {
            softmax_row(r, o, log);
        }
    }
}

/// e^(v − m) for v within 708 of m, vectorisable (the scalar, any-range form is [`exp_diff`]):
/// float64 rows fold the subtraction's rounding error back in (TwoSum); for float32 rows it is
/// far below their ULP (≤ 2⁻⁵³ relative).
#[inline(always)]
fn exp_shifted<F: Real, const FMA: bool>(v: F, m: f64) -> f64 {
    let a = v.to_f64();
    let d = a - m;
    let single = F::DTYPE == crate::DType::Float32;
    let x = crate::math::exp_core_prec::<FMA>(d, single);
    if single {
        x
    } else {
        let a1 = d + m;
        let b1 = d - a1;
        let err = (a - a1) - (m + b1);
        crate::math::madd::<FMA>(x, err, x)
    }
}

/// Rows shorter than this go through [`softmax_short_rows`].
const SHORT_ROW: usize = 32;

/// Softmax (or log-softmax) of many short rows (the 10 classes of a classifier) at once, 8 rows
/// side by side: each group of 8 rows is transposed into a small block (column j of the rows
/// is one 8-lane vector), so that every step — max, argmax and min, e^(x − max) (TwoSum-
/// corrected, as in [`softmax_row_fast`]), the sum of the other terms, the scaling — is one
/// vector operation for 8 rows instead of a chain of scalar ones per row; then transposed back.
/// Rows that are not finite or not within exp's range of their max get `None` in `stats` (the
/// caller redoes them). Each row's result does not depend on its neighbours. A non-empty `bias`
/// (length n) is added to every row as it is loaded (in the rows' type, as `x + b` rounds).
#[inline(always)]
fn softmax_short_rows<F: Real, const FMA: bool>(
    src: &[F],
    out: &mut [F],
    n: usize,
    log: bool,
    bias: &[F],
    stats: &mut [Stats],
) {
    const G: usize = 8;
    assert!(n < SHORT_ROW && (bias.is_empty() || bias.len() == n));
    let single = F::DTYPE == crate::DType::Float32;
    let rows = src.len() / n;
    // t[j][r]: entry j of row r of the group, then its e^(x − max), then its output.
    let mut t_all = [[0.0f64; G]; SHORT_ROW];
    let t = &mut t_all[..n];
    // The first 8 columns of a whole group move through registers (AVX-512): the compiler's
    // own vectorisation of these transposes gathers element by element.
    #[cfg(target_arch = "x86_64")]
    let in_registers = crate::runtime::elemwise::isa() == crate::runtime::elemwise::Isa::Avx512;
    #[cfg(not(target_arch = "x86_64"))]
    let in_registers = false;
    for g0 in (0..rows).step_by(G) {
        let gr = G.min(rows - g0);
        let wide = if in_registers && gr == G && n >= G {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has AVX-512 (`isa`); rows g0..g0 + 8 of n ≥ 8 entries exist,
            // and `bias` is empty or has n entries (asserted above).
            unsafe {
                load_group_avx512(&src[g0 * n..(g0 + G) * n], n, bias, &mut t[..G]);
            }
            G
        } else {
            0
        };
        for (j, col) in t.iter_mut().enumerate().skip(wide) {
            let b = bias.get(j).copied().unwrap_or_else(F::zero);
            for (r, v) in col.iter_mut().enumerate() {
                *v = if r < gr {
                    let x = src[(g0 + r) * n + j];
                    if bias.is_empty() { x } else { x + b }.to_f64()
                } else {
                    0.0
                };
            }
        }
        let mut m = [f64::NEG_INFINITY; G];
        let mut arg = [0usize; G];
        let mut lo = [f64::INFINITY; G];
        let mut bad = [0.0f64; G];
        for (j, col) in t.iter().enumerate() {
            for r in 0..G {
                let v = col[r];
                bad[r] += v * 0.0;
                let up = v > m[r];
                arg[r] = if up { j } else { arg[r] };
                m[r] = if up { v } else { m[r] };
                lo[r] = lo[r].min(v);
            }
        }
        let mut ok = [false; G];
        for r in 0..G {
            ok[r] = !bad[r].is_nan() && lo[r] - m[r] >= -708.0;
            // A row that is redone later gets a harmless max (its results here are unused).
            m[r] = if ok[r] { m[r] } else { 0.0 };
        }
        // Σ of the other terms (the max term is exactly 1, and adding it first would round tiny
        // others away: log-softmax of the max is −log1p(rest)).
        let mut rest = [0.0f64; G];
        for (j, col) in t.iter_mut().enumerate() {
            for r in 0..G {
                let (a, mr) = (col[r], m[r]);
                let d = a - mr;
                let x = crate::math::exp_core_prec::<FMA>(d, single);
                let e = if single {
                    x
                } else {
                    let a1 = d + mr;
                    let b1 = d - a1;
                    let err = (a - a1) - (mr + b1);
                    crate::math::madd::<FMA>(x, err, x)
                };
                rest[r] += if j == arg[r] { 0.0 } else { e };
                col[r] = if log { a } else { e };
            }
        }
        // (The branch on `log` outside the loops: each loop then runs on whole vectors.)
        let mut scale = [0.0f64; G];
        if log {
            for r in 0..G {
                scale[r] = rest[r].ln_1p();
            }
            for col in t.iter_mut() {
                for r in 0..G {
                    col[r] = (col[r] - m[r]) - scale[r];
                }
            }
        } else {
            for r in 0..G {
                scale[r] = 1.0 / (1.0 + rest[r]);
            }
            for (j, col) in t.iter_mut().enumerate() {
                for r in 0..G {
                    col[r] = if j == arg[r] {
                        scale[r]
                    } else {
                        col[r] * scale[r]
                    };
                }
            }
        }
        if wide > 0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as for the load; a declined row's entries are rewritten by the caller.
            unsafe {
                store_group_avx512(&t[..G], n, &mut out[g0 * n..(g0 + G) * n]);
            }
        }
        for r in 0..gr {
            let row = g0 + r;
            if !ok[r] {
                stats[row] = None;
                continue;
            }
            for (j, col) in t.iter().enumerate().skip(wide) {
                out[row * n + j] = F::c(col[r]);
            }
            stats[row] = Some((m[r], arg[r], rest[r]));
        }
    }
}

/// The 8×8 transpose of 8 float64 vectors, in registers (24 shuffles).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn transpose8x8_f64(r: [std::arch::x86_64::__m512d; 8]) -> [std::arch::x86_64::__m512d; 8] {
    use std::arch::x86_64::*;
    // Pairs of rows interleaved, then 128-bit lanes gathered twice: lane L of output j holds
    // rows 2L and 2L + 1 of column j.
    let t: [__m512d; 8] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        }
    });
    // u[0..4] from rows 0–3 (t0..t3), u[4..8] from rows 4–7: columns {0,4}, {2,6}, {1,5}, {3,7}.
    let half = |lo: __m512d, hi: __m512d| {
        (
            _mm512_shuffle_f64x2::<0b10_00_10_00>(lo, hi),
            _mm512_shuffle_f64x2::<0b11_01_11_01>(lo, hi),
        )
    };
    let (u0, u1) = half(t[0], t[2]);
    let (u2, u3) = half(t[1], t[3]);
    let (u4, u5) = half(t[4], t[6]);
    let (u6, u7) = half(t[5], t[7]);
    let (c0, c4) = half(u0, u4);
    let (c2, c6) = half(u1, u5);
    let (c1, c5) = half(u2, u6);
    let (c3, c7) = half(u3, u7);
    [c0, c1, c2, c3, c4, c5, c6, c7]
}

/// `t[j][r]` = `rows[r·n + j] + bias[j]` (added in F, as `x + b` rounds; no bias when empty)
/// in float64, for the 8 rows of `rows` and the first 8 columns.
///
/// # Safety
/// The CPU has AVX-512F; `rows` holds 8 rows of n ≥ 8 entries; `bias` is empty or has ≥ 8.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn load_group_avx512<F: Real>(rows: &[F], n: usize, bias: &[F], t: &mut [[f64; 8]]) {
    use std::arch::x86_64::*;
    debug_assert!(rows.len() >= 8 * n && n >= 8 && t.len() == 8);
    let v: [__m512d; 8] = std::array::from_fn(|r| {
        let p = rows.as_ptr().wrapping_add(r * n);
        // SAFETY: row r's first 8 entries (and the bias's) are in bounds (the caller).
        unsafe {
            if std::mem::size_of::<F>() == 4 {
                let mut x = _mm256_loadu_ps(p.cast());
                if !bias.is_empty() {
                    x = _mm256_add_ps(x, _mm256_loadu_ps(bias.as_ptr().cast()));
                }
                _mm512_cvtps_pd(x)
            } else {
                let mut x = _mm512_loadu_pd(p.cast());
                if !bias.is_empty() {
                    x = _mm512_add_pd(x, _mm512_loadu_pd(bias.as_ptr().cast()));
                }
                x
            }
        }
    });
    for (col, c) in t.iter_mut().zip(transpose8x8_f64(v)) {
        // SAFETY: a column is 8 float64.
        unsafe { _mm512_storeu_pd(col.as_mut_ptr(), c) };
    }
}

/// `rows[r·n + j]` = `t[j][r]` rounded to F, for the 8 rows and the first 8 columns.
///
/// # Safety
/// The CPU has AVX-512F; `rows` holds 8 rows of n ≥ 8 entries.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn store_group_avx512<F: Real>(t: &[[f64; 8]], n: usize, rows: &mut [F]) {
    use std::arch::x86_64::*;
    debug_assert!(rows.len() >= 8 * n && n >= 8 && t.len() == 8);
    // SAFETY: a column is 8 float64.
    let cols: [__m512d; 8] = std::array::from_fn(|j| unsafe { _mm512_loadu_pd(t[j].as_ptr()) });
    for (r, v) in transpose8x8_f64(cols).into_iter().enumerate() {
        let p = rows.as_mut_ptr().wrapping_add(r * n);
        // SAFETY: row r's first 8 entries are in bounds (the caller).
        unsafe {
            if std::mem::size_of::<F>() == 4 {
                _mm256_storeu_ps(p.cast(), _mm512_cvtpd_ps(v));
            } else {
                _mm512_storeu_pd(p.cast(), v);
            }
        }
    }
}

/// Softmax of `src + bias` (rows of length n < [`SHORT_ROW`], the bias added to every row: a
/// classifier's `SoftmaxWithBias`) into `out`, without a summed copy: the bias is added as
/// [`softmax_short_rows`] loads each group of rows; a row it declines is summed on its own and
/// goes through the general kernel. In parallel over blocks of rows for large inputs.
fn softmax_bias_short_rows<F: Real>(src: &[F], bias: &[F], out: &mut [F], n: usize) {
    crate::runtime::elemwise::dispatched!(
        fn short_rows<F>(
            src: &[F],
            out: &mut [F],
            n: usize,
            log: bool,
            bias: &[F],
            stats: &mut [Stats],
        ) => softmax_short_rows
    );
    const ROWS: usize = 256;
    let block = |(o, r): (&mut [F], &[F])| {
        let mut stats = [None; ROWS];
        let stats = &mut stats[..r.len() / n];
        short_rows(r, o, n, false, bias, stats);
        for (i, st) in stats.iter().enumerate() {
            if st.is_none() {
                let mut row = [F::zero(); SHORT_ROW];
                for ((v, &x), &b) in row.iter_mut().zip(&r[i * n..(i + 1) * n]).zip(bias) {
                    *v = x + b;
                }
                softmax_row(&row[..n], &mut o[i * n..(i + 1) * n], false);
            }
        }
    };
    over_row_blocks(out, src, n * ROWS, block);
}

/// `block(out piece, src piece)` over both cut into pieces of `len` (whole rows), in parallel
/// for large inputs.
fn over_row_blocks<F: Real>(
    out: &mut [F],
    src: &[F],
    len: usize,
    block: impl Fn((&mut [F], &[F])) + Sync + Send,
) {
    use rayon::prelude::*;
    if src.len() >= 1 << 15 {
        out.par_chunks_mut(len)
            .zip(src.par_chunks(len))
            .for_each(block);
    } else {
        out.chunks_mut(len).zip(src.chunks(len)).for_each(block);
    }
}

/// What the vectorised softmax row kernel learnt of its row: (max, argmax, rest of the sum).
type Stats = Option<(f64, usize, f64)>;

/// The row kernel for finite rows whose entries lie within 708 of the max (false otherwise):
/// max and min with 8 independent lanes, e^(x − max) with the subtraction's rounding error folded
/// back in (TwoSum) into an f64 scratch row, their sum without the max term (which is exactly 1)
/// in 8 lanes, then one scaling pass. Each pass vectorises; the row stays in L1/L2.
#[inline(always)]
fn softmax_row_fast<F: Real, const FMA: bool>(
    row: &[F],
    out: &mut [F],
    log: bool,
    want_arg: bool,
    scratch: &mut [f64],
    next: &[F],
) -> Stats {
    const L: usize = 8;
    let n = row.len();
    if n == 0 {
        return None;
    }
    if !want_arg {
        return softmax_row_no_arg::<F, FMA>(row, out, log, scratch, next);
    }
    // One pass, all in vector lanes: each lane's max with its first index, its min, and
    // `bad`, which turns NaN when an entry is ±inf or NaN (v·0 is 0 only for finite v).
    let mut hi = [f64::NEG_INFINITY; L];
    let mut hi_at = [0u64; L];
    let mut lo = [f64::INFINITY; L];
    let mut bad = [0.0f64; L];
    let chunks = row.chunks_exact(L);
    let tail = chunks.remainder();
    // One cache-line request for the next row per 8 entries of this one (a line holds 8 or 16).
    let next_lines = next.chunks(L);
    for ((ci, c), upcoming) in chunks
        .enumerate()
        .zip(next_lines.chain(std::iter::repeat(&[][..])))
    {
        crate::runtime::elemwise::prefetch(&upcoming[..upcoming.len().min(1)]);
        let base = (ci * L) as u64;
        for k in 0..L {
            let v = c[k].to_f64();
            bad[k] += v * 0.0;
            let up = v > hi[k];
            hi_at[k] = if up { base + k as u64 } else { hi_at[k] };
            hi[k] = if up { v } else { hi[k] };
            lo[k] = if v < lo[k] { v } else { lo[k] };
        }
    }
    let base = (n - tail.len()) as u64;
    for (k, &v) in tail.iter().enumerate() {
        let v = v.to_f64();
        bad[k] += v * 0.0;
        if v > hi[k] {
            hi[k] = v;
            hi_at[k] = base + k as u64;
        }
        lo[k] = if v < lo[k] { v } else { lo[k] };
    }
    let m = hi.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let min = lo.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    if bad.iter().any(|b| b.is_nan()) || min - m < -708.0 {
        return None;
    }
    // The first index of the max: the smallest first index among the lanes that reach it.
    let arg = (0..L)
        .filter(|&k| hi[k] == m)
        .map(|k| hi_at[k])
        .min()
        .unwrap_or(0) as usize;
    let scratch = &mut scratch[..n];
    for (e, &v) in scratch.iter_mut().zip(row) {
        *e = exp_shifted::<F, FMA>(v, m);
    }
    // Σ of the other terms: the max term is 1 exactly, and leaving it out keeps log1p(rest)
    // accurate when the others are tiny.
    scratch[arg] = 0.0;
    let rest = super::reduce::lane_sum(scratch);
    scratch[arg] = 1.0;
    write_row::<F>(row, scratch, out, m, rest, log);
    Some((m, arg, rest))
}

/// A row's output from its max `m`, its e^(x − m) in `scratch` and the sum `rest` of its other
/// terms: x − m − log1p(rest) (log-softmax) or e^(x − m)/(1 + rest).
#[inline(always)]
fn write_row<F: Real>(row: &[F], scratch: &[f64], out: &mut [F], m: f64, rest: f64, log: bool) {
    if log {
        let ls = rest.ln_1p();
        for (o, &v) in out.iter_mut().zip(row) {
            *o = F::c((v.to_f64() - m) - ls);
        }
    } else {
        let inv = 1.0 / (1.0 + rest);
        for (o, &e) in out.iter_mut().zip(scratch) {
            *o = F::c(e * inv);
        }
    }
}

/// [`softmax_row_fast`] for a caller that needs no argmax (the softmax and log-softmax ops):
/// the first pass finds only the max, the min and whether all entries are finite, and the max
/// term is left out of the sum as the entries whose e^(x − max) is exactly 1 (those equal to
/// the max; ties after the first count 1 each), in the exp pass itself. `Stats`' index is
/// `usize::MAX`.
#[inline(always)]
fn softmax_row_no_arg<F: Real, const FMA: bool>(
    row: &[F],
    out: &mut [F],
    log: bool,
    scratch: &mut [f64],
    next: &[F],
) -> Stats {
    const L: usize = 8;
    let n = row.len();
    let mut hi = [f64::NEG_INFINITY; L];
    let mut lo = [f64::INFINITY; L];
    let mut bad = [0.0f64; L];
    let chunks = row.chunks_exact(L);
    let tail = chunks.remainder();
    let next_lines = next.chunks(L);
    for (c, upcoming) in chunks.zip(next_lines.chain(std::iter::repeat(&[][..]))) {
        crate::runtime::elemwise::prefetch(&upcoming[..upcoming.len().min(1)]);
        for k in 0..L {
            let v = c[k].to_f64();
            bad[k] += v * 0.0;
            hi[k] = if v > hi[k] { v } else { hi[k] };
            lo[k] = if v < lo[k] { v } else { lo[k] };
        }
    }
    for (k, &v) in tail.iter().enumerate() {
        let v = v.to_f64();
        bad[k] += v * 0.0;
        hi[k] = if v > hi[k] { v } else { hi[k] };
        lo[k] = if v < lo[k] { v } else { lo[k] };
    }
    let m = hi.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let min = lo.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    if bad.iter().any(|b| b.is_nan()) || min - m < -708.0 {
        return None;
    }
    let scratch = &mut scratch[..n];
    let mut sum = [0.0f64; L];
    let mut ones = [0.0f64; L];
    let mut add = |k: usize, e: f64| {
        let one = e == 1.0;
        sum[k] += if one { 0.0 } else { e };
        ones[k] += if one { 1.0 } else { 0.0 };
    };
    let mut echunks = scratch.chunks_exact_mut(L);
    let mut rchunks = row.chunks_exact(L);
    for (ec, rc) in (&mut echunks).zip(&mut rchunks) {
        for k in 0..L {
            let e = exp_shifted::<F, FMA>(rc[k], m);
            ec[k] = e;
            add(k, e);
        }
    }
    for (k, (e, &v)) in echunks
        .into_remainder()
        .iter_mut()
        .zip(rchunks.remainder())
        .enumerate()
    {
        *e = exp_shifted::<F, FMA>(v, m);
        add(k, *e);
    }
    // The max term itself is 1; any other entry equal to the max adds 1 (exactly).
    let rest = sum.iter().sum::<f64>() + (ones.iter().sum::<f64>() - 1.0);
    write_row::<F>(row, scratch, out, m, rest, log);
    Some((m, usize::MAX, rest))
}

/// Softmax (or log-softmax) of one contiguous row in place: e^(x − max) is computed once per
/// element, with the subtraction's rounding error folded back in (TwoSum) and a vectorised exp
/// when the row is in range; log-softmax uses log1p of the other terms for the max element.
fn softmax_row<F: Real>(row: &[F], out: &mut [F], log: bool) {
    let (m, arg) = lane_max(row.iter().copied());
    let mf = m.to_f64();
    if !mf.is_finite() {
        let (s, ls) = sum_exp(row.iter().copied(), m, arg);
        for (o, &v) in out.iter_mut().zip(row) {
            *o = if log {
                F::c((v.to_f64() - mf) - ls)
            } else {
                F::c(exp_diff(v.to_f64(), mf) / s)
            };
        }
        return;
    }
    let fast = row
        .iter()
        .fold(true, |ok, &v| ok & (v.to_f64() - mf >= -708.0));
    let mut rest = 0.0f64;
    for (j, (o, &v)) in out.iter_mut().zip(row).enumerate() {
        let a = v.to_f64();
        let d = a - mf;
        let a1 = d + mf;
        let b1 = d - a1;
        let err = (a - a1) - (mf + b1);
        let x = if fast {
            crate::math::exp_core(d)
        } else {
            d.exp()
        };
        let e = if err.is_finite() { x + x * err } else { x };
        if j != arg {
            rest += e;
        }
        if !log {
            *o = F::c(e);
        }
    }
    if log {
        let ls = rest.ln_1p();
        for (o, &v) in out.iter_mut().zip(row) {
            *o = F::c((v.to_f64() - mf) - ls);
        }
    } else {
        // Scale the stored exponentials (float32 rows round them once more: ≤ 1 extra ULP).
        let inv = 1.0 / (1.0 + rest);
        for (o, &v) in out.iter_mut().zip(row) {
            *o = if F::DTYPE == crate::DType::Float64 {
                F::c(o.to_f64() * inv)
            } else {
                let d = v.to_f64() - mf;
                F::c(
                    if fast {
                        crate::math::exp_core(d)
                    } else {
                        d.exp()
                    } * inv,
                )
            };
        }
    }
}

/// The max of a lane and its first index (NaN wins).
fn lane_max<F: Real>(lane: impl Iterator<Item = F>) -> (F, usize) {
    let mut m = F::neg_infinity();
    let mut arg = 0;
    for (j, v) in lane.enumerate() {
        if v > m || (v.is_nan() && !m.is_nan()) {
            m = v;
            arg = j;
        }
    }
    (m, arg)
}

/// s = Σ e^(v − m) and log s. The max term is exactly 1, so log s = log1p(rest) keeps its
/// accuracy when the other terms are tiny (log-softmax of the largest logit ≈ −rest).
fn sum_exp<F: Real>(lane: impl Iterator<Item = F>, m: F, arg: usize) -> (f64, f64) {
    let m = m.to_f64();
    let mut rest = 0.0f64;
    let mut at_max = 0.0f64;
    for (j, v) in lane.enumerate() {
        let e = exp_diff(v.to_f64(), m);
        if j == arg {
            at_max = e;
        } else {
            rest += e;
        }
    }
    if at_max == 1.0 {
        (1.0 + rest, rest.ln_1p())
    } else {
        // max is ±inf or NaN: the row is NaN anyway.
        let s = at_max + rest;
        (s, s.ln())
    }
}

/// e^(a − b) with the rounding error of the subtraction folded back in (TwoSum), so the result
/// keeps full relative accuracy even when a − b is large and inexact.
#[inline]
pub fn exp_diff(a: f64, b: f64) -> f64 {
    let s = a - b;
    if !s.is_finite() {
        return s.exp();
    }
    let a1 = s + b;
    let b1 = s - a1;
    let err = (a - a1) - (b + b1);
    let e = if s.abs() <= 708.0 {
        crate::math::exp_core(s)
    } else {
        s.exp()
    };
    e + e * err
}

/// dx = dy⊙sm − (Σ dy⊙sm)·sm over `axis`.
pub fn softmax_grad<F: Real>(dy: &ArrayD<F>, sm: &ArrayD<F>, axis: usize) -> ArrayD<F> {
    let mut out = sm.to_owned();
    for (mut o, d) in out
        .lanes_mut(Axis(axis))
        .into_iter()
        .zip(dy.lanes(Axis(axis)))
    {
        let s: f64 = o
            .iter()
            .zip(d.iter())
            .map(|(&s, &g)| s.to_f64() * g.to_f64())
            .sum();
        for (ov, &g) in o.iter_mut().zip(d.iter()) {
            *ov = F::c(ov.to_f64() * (g.to_f64() - s));
        }
    }
    out
}

/// Per row: nll = log Σ e^(r − m) − (r_y − m), the softmax, and the first argmax.
/// dx_i = dz_i·(sm_i − onehot(y_i)) for the rows of n entries of `sm` (`dz`: one entry per row,
/// or one for all): `CrossentropySoftmax1HotWithBiasDx`, also run by the one-pass output layer.
pub(crate) fn crossentropy_dx_rows<F: Real>(
    sm: &[F],
    n: usize,
    labels: &[usize],
    dz: &[F],
    out: &mut [F],
) {
    if n == 0 {
        return;
    }
    for (i, (d, s)) in out.chunks_exact_mut(n).zip(sm.chunks_exact(n)).enumerate() {
        let g = if dz.len() == 1 { dz[0] } else { dz[i] };
        for (d, &s) in d.iter_mut().zip(s) {
            *d = s * g;
        }
        d[labels[i]] = d[labels[i]] - g;
    }
}

pub(crate) fn softmax_nll<F: Real>(
    r: &ArrayD<F>,
    labels: &[usize],
) -> (ArrayD<F>, ArrayD<F>, ArrayD<i64>) {
    let mut nll = Vec::with_capacity(labels.len());
    let mut am = Vec::with_capacity(labels.len());
    // Contiguous rows: the vectorised row kernel, which also gives max, argmax and the sum.
    if let (Some(src), [rows, cols]) = (r.as_slice(), r.shape()) {
        let (rows, cols) = (*rows, *cols);
        let mut buf = crate::runtime::elemwise::alloc_output::<F>(rows * cols);
        let mut scratch = vec![0.0f64; cols];
        let mut stats = vec![None; rows];
        if cols > 0 {
            softmax_rows(src, &mut buf, cols, false, true, &mut scratch, &mut stats);
        }
        for (i, (x, st)) in src.chunks(cols.max(1)).zip(&stats).enumerate() {
            if let Some((m, arg, rest)) = *st {
                nll.push(F::c(rest.ln_1p() - (x[labels[i]].to_f64() - m)));
                am.push(arg as i64);
            } else {
                // The general kernel ran: take the row's statistics the general way.
                let (m, arg) = lane_max(x.iter().copied());
                let (_, ls) = sum_exp(x.iter().copied(), m, arg);
                nll.push(F::c(ls - (x[labels[i]].to_f64() - m.to_f64())));
                am.push(arg as i64);
            }
        }
        if nll.len() == rows {
            let n = labels.len();
            return (
                ArrayD::from_shape_vec(IxDyn(&[n]), nll).expect("shape"),
                ArrayD::from_shape_vec(IxDyn(&[rows, cols]), buf).expect("shape"),
                ArrayD::from_shape_vec(IxDyn(&[n]), am).expect("shape"),
            );
        }
        nll.clear();
        am.clear();
    }
    let mut sm = r.to_owned();
    for (i, mut row) in sm.lanes_mut(Axis(1)).into_iter().enumerate() {
        let (m, arg) = lane_max(row.iter().copied());
        let (s, ls) = sum_exp(row.iter().copied(), m, arg);
        let ry = row[labels[i]].to_f64() - m.to_f64();
        nll.push(F::c(ls - ry));
        am.push(arg as i64);
        let inv = 1.0 / s;
        row.mapv_inplace(|v| F::c(exp_diff(v.to_f64(), m.to_f64()) * inv));
    }
    let n = labels.len();
    (
        ArrayD::from_shape_vec(IxDyn(&[n]), nll).expect("shape"),
        sm,
        ArrayD::from_shape_vec(IxDyn(&[n]), am).expect("shape"),
    )
}

fn prepend(mat: &Value, val: &Value, dt: DType) -> Value {
    fn go<T: Element>(mat: &Value, val: &Value) -> Value {
        let a = mat.to_array::<T>();
        let fill = val
            .to_array::<T>()
            .iter()
            .copied()
            .next()
            .unwrap_or_default();
        let (r, c) = (a.shape()[0], a.shape()[1]);
        let mut out = ArrayD::from_elem(IxDyn(&[r, c + 1]), fill);
        out.slice_axis_mut(Axis(1), ndarray::Slice::from(1..))
            .assign(&*a);
        T::wrap(out)
    }
    dispatch_dtype!(dt, T => go::<T>(mat, val))
}

impl fmt::Display for NnetOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use NnetOp::*;
        match self {
            Softmax { axis: None } => f.write_str("Softmax"),
            Softmax { axis: Some(a) } => write!(f, "Softmax{{axis={a}}}"),
            LogSoftmax { axis: None } => f.write_str("LogSoftmax"),
            LogSoftmax { axis: Some(a) } => write!(f, "LogSoftmax{{axis={a}}}"),
            SoftmaxWithBias => f.write_str("SoftmaxWithBias"),
            SoftmaxGrad { axis: None } => f.write_str("SoftmaxGrad"),
            SoftmaxGrad { axis: Some(a) } => write!(f, "SoftmaxGrad{{axis={a}}}"),
            CrossentropyCategorical1Hot => f.write_str("CrossentropyCategorical1Hot"),
            CrossentropyCategorical1HotGrad => f.write_str("CrossentropyCategorical1HotGrad"),
            CrossentropySoftmaxArgmax1HotWithBias => {
                f.write_str("CrossentropySoftmaxArgmax1HotWithBias")
            }
            CrossentropySoftmax1HotWithBiasDx => f.write_str("CrossentropySoftmax1HotWithBiasDx"),
            Dot22CrossentropySoftmaxGrad => f.write_str("Dot22CrossentropySoftmaxGrad"),
            PrependScalarConstant(v) => write!(
                f,
                "Prepend_scalar_constant_to_each_row{{{}}}",
                crate::printing::numpy_fmt::py_float_repr(*v, false)
            ),
            PrependScalar => f.write_str("Prepend_scalar_to_each_row"),
            CrossentropySoftmaxDense => f.write_str("CrossentropySoftmaxDense"),
            ConfusionMatrix => f.write_str("confusion_matrix"),
        }
    }
}
