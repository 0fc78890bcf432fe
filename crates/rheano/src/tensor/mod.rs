//! `T`: tensor constructors and operations, Theano's `theano.tensor`.
//!
//! ```
//! use rheano::prelude::*;
//! let x = T::fvector("x");
//! assert_eq!((&x * 2.0).dtype(), DType::Float32);   // 2.0 is exactly a float32: stays float32
//! assert_eq!((&x * 0.1).dtype(), DType::Float64);   // 0.1 is not: float64, as in Theano
//! ```

mod constructors;
pub mod nnet;
mod operators;

pub use constructors::*;

use crate::dtype::{float_literal_dtype, int_literal_dtype, DType};
use crate::graph::{apply, apply1, Var, VarKind};
use crate::ops::{
    DimShuffle, Elemwise, IdxEntry, MaxAndArgmax, Op, Reduce, ReduceKind, Reshape, ScalarOp,
    Subtensor,
};
use crate::types::TensorType;
use crate::value::Value;
use crate::Error;

/// An optional variable name: `"x"`, `None` or `Some("x")`.
pub struct Name(pub Option<String>);

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(Some(s.to_string()))
    }
}
impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(Some(s))
    }
}
impl From<Option<&str>> for Name {
    fn from(s: Option<&str>) -> Name {
        Name(s.map(str::to_string))
    }
}

/// A symbolic variable of any type (Theano's `T.tensor(dtype, broadcastable, name)`).
pub fn tensor(dtype: DType, broadcastable: &[bool], name: impl Into<Name>) -> Var {
    Var::new(
        TensorType::new(dtype, broadcastable.to_vec()),
        name.into().0,
        VarKind::Input,
    )
}

/// One variable per name.
pub fn tensors<const N: usize>(dtype: DType, broadcastable: &[bool], names: [&str; N]) -> [Var; N] {
    names.map(|n| tensor(dtype, broadcastable, n))
}

/// `n` unnamed variables (Theano's `dvectors(2)`).
pub fn unnamed(dtype: DType, broadcastable: &[bool], n: usize) -> Vec<Var> {
    (0..n).map(|_| tensor(dtype, broadcastable, None)).collect()
}

/// Anything that can stand for a tensor: a variable, a Rust number typed as Theano types Python
/// literals (spec §1.5: `2.0` → float32 when exact, `0.1` → float64, `1` → int8, ...), an `f32`
/// (a numpy float32), or an array.
pub trait IntoVar {
    fn into_var(self) -> Var;
}

impl IntoVar for Var {
    fn into_var(self) -> Var {
        self
    }
}
impl IntoVar for &Var {
    fn into_var(self) -> Var {
        self.clone()
    }
}
impl IntoVar for f64 {
    fn into_var(self) -> Var {
        constant(Value::from(self).cast(float_literal_dtype(self)))
    }
}
impl IntoVar for f32 {
    fn into_var(self) -> Var {
        constant(self)
    }
}
impl IntoVar for i64 {
    fn into_var(self) -> Var {
        constant(Value::from(self).cast(int_literal_dtype(self)))
    }
}
impl IntoVar for i32 {
    fn into_var(self) -> Var {
        (self as i64).into_var()
    }
}
impl IntoVar for usize {
    fn into_var(self) -> Var {
        (self as i64).into_var()
    }
}
impl IntoVar for Value {
    fn into_var(self) -> Var {
        constant(self)
    }
}
impl<T: crate::value::Element, D: ndarray::Dimension> IntoVar for ndarray::Array<T, D> {
    fn into_var(self) -> Var {
        constant(self)
    }
}

/// A constant tensor from a value (`TensorConstant{...}`), its type taken from the value.
pub fn constant(value: impl Into<Value>) -> Var {
    Var::constant(value.into(), None)
}

/// A constant with an explicit dtype (Theano's `T.constant(v, dtype=...)`).
pub fn constant_of(value: impl Into<Value>, dtype: DType) -> Var {
    Var::constant(value.into().cast(dtype), None)
}

/// Applies a scalar op elementwise, left-padding lower-rank inputs with broadcastable dims.
pub fn elemwise(op: Elemwise, inputs: Vec<Var>) -> Var {
    let ndim = inputs.iter().map(|v| v.ndim()).max().unwrap_or(0);
    let padded = inputs
        .into_iter()
        .map(|v| {
            let n = v.ndim();
            if n < ndim && v.error().is_none() {
                let mut order = vec![None; ndim - n];
                order.extend((0..n).map(Some));
                dimshuffle(&v, &order)
            } else {
                v
            }
        })
        .collect();
    apply1(Op::Elemwise(op), padded)
}

fn ew(op: ScalarOp, inputs: Vec<Var>) -> Var {
    elemwise(Elemwise::user(op), inputs)
}

macro_rules! binary_fns {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(a: impl IntoVar, b: impl IntoVar) -> Var {
            ew(ScalarOp::$op, vec![a.into_var(), b.into_var()])
        }
    )*};
}
macro_rules! unary_fns {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(a: impl IntoVar) -> Var {
            ew(ScalarOp::$op, vec![a.into_var()])
        }
    )*};
}

binary_fns! {
    /// a + b
    add => Add;
    /// a - b
    sub => Sub;
    /// a * b
    mul => Mul;
    /// a / b (integer operands give floatX)
    true_div => TrueDiv;
    /// a // b (floor division)
    int_div => IntDiv;
    /// a % b (sign of the divisor, as numpy)
    mod_ => Mod;
    /// a ** b
    pow => Pow;
    /// Elementwise maximum (NaN propagates).
    maximum => Maximum;
    /// Elementwise minimum (NaN propagates).
    minimum => Minimum;
    /// a > b (bool)
    gt => Gt;
    /// a < b (bool)
    lt => Lt;
    /// a >= b (bool)
    ge => Ge;
    /// a <= b (bool)
    le => Le;
    /// a == b (bool)
    eq => Eq;
    /// a != b (bool)
    neq => Neq;
    /// Logical (bool) or bitwise (int) and.
    and_ => And;
    /// Logical (bool) or bitwise (int) or.
    or_ => Or;
    /// `fill(a, b)`: b broadcast to a's shape, b's dtype (Theano's `second`).
    fill => Second;
}

unary_fns! {
    /// -a
    neg => Neg;
    /// |a|
    abs => Abs;
    /// sign of a (−1, 0, 1)
    sgn => Sgn;
    /// e^a
    exp => Exp;
    /// natural logarithm
    log => Log;
    /// log(1 + a), accurate for small a
    log1p => Log1p;
    /// e^a - 1, accurate for small a
    expm1 => Expm1;
    /// square root
    sqrt => Sqrt;
    /// a * a
    sqr => Sqr;
    /// hyperbolic tangent
    tanh => Tanh;
    /// sine
    sin => Sin;
    /// cosine
    cos => Cos;
    /// 1 / a
    inv => Inv;
    /// Logical (bool) or bitwise (int) not.
    invert => Invert;
}

/// 1 / a (Theano's `inv`).
pub fn reciprocal(a: impl IntoVar) -> Var {
    inv(a)
}

/// Logical not (Theano's `invert` on bools).
pub fn not_(a: impl IntoVar) -> Var {
    invert(a)
}

/// `switch(cond, a, b)`: a where cond is true, else b.
pub fn switch(cond: impl IntoVar, a: impl IntoVar, b: impl IntoVar) -> Var {
    ew(
        ScalarOp::Switch,
        vec![cond.into_var(), a.into_var(), b.into_var()],
    )
}

/// `clip(x, lo, hi)`; NaN passes through.
pub fn clip(x: impl IntoVar, lo: impl IntoVar, hi: impl IntoVar) -> Var {
    ew(
        ScalarOp::Clip,
        vec![x.into_var(), lo.into_var(), hi.into_var()],
    )
}

/// Converts to `dtype` (the variable itself when it already has it).
pub fn cast(x: impl IntoVar, dtype: DType) -> Var {
    let x = x.into_var();
    if x.dtype() == dtype && x.error().is_none() {
        return x;
    }
    ew(ScalarOp::Cast(dtype), vec![x])
}

/// `zeros_like(x)`: `fill(x, 0)` in x's dtype.
pub fn zeros_like(x: &Var) -> Var {
    fill(x, constant_of(0.0, x.dtype()))
}

/// `ones_like(x)`: `fill(x, 1)` in x's dtype.
pub fn ones_like(x: &Var) -> Var {
    fill(x, constant_of(1.0, x.dtype()))
}

/// `alloc(value, *shape)`: value broadcast to a new array of the given shape.
pub fn alloc(value: impl IntoVar, shape: Vec<Var>) -> Var {
    let bcast = shape
        .iter()
        .map(|s| s.constant_value().and_then(|v| v.scalar_f64()) == Some(1.0))
        .collect::<Vec<_>>();
    let mut inputs = vec![value.into_var()];
    inputs.extend(shape);
    apply1(Op::Alloc(bcast), inputs)
}

/// An array of zeros of the given (constant) shape and dtype.
pub fn zeros(shape: &[usize], dtype: DType) -> Var {
    alloc(
        constant_of(0.0, dtype),
        shape.iter().map(|&n| (n as i64).into_var()).collect(),
    )
}

/// An array of ones of the given (constant) shape and dtype.
pub fn ones(shape: &[usize], dtype: DType) -> Var {
    alloc(
        constant_of(1.0, dtype),
        shape.iter().map(|&n| (n as i64).into_var()).collect(),
    )
}

/// Which axes a reduction runs over: all (`ALL`), one, or several (negative counts from the end).
#[derive(Clone, Debug, PartialEq)]
pub struct Axes(pub Option<Vec<i64>>);

/// Reduce over every axis.
pub const ALL: Axes = Axes(None);

impl From<i64> for Axes {
    fn from(a: i64) -> Axes {
        Axes(Some(vec![a]))
    }
}
impl From<i32> for Axes {
    fn from(a: i32) -> Axes {
        Axes(Some(vec![a as i64]))
    }
}
impl From<&[i64]> for Axes {
    fn from(a: &[i64]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}
impl<const N: usize> From<[i64; N]> for Axes {
    fn from(a: [i64; N]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}
impl From<Vec<i64>> for Axes {
    fn from(a: Vec<i64>) -> Axes {
        Axes(Some(a))
    }
}
impl From<Option<i64>> for Axes {
    fn from(a: Option<i64>) -> Axes {
        Axes(a.map(|a| vec![a]))
    }
}

fn resolve_axes(op: &str, x: &Var, axes: &Axes) -> Result<Option<Vec<usize>>, Error> {
    match &axes.0 {
        None => Ok(None),
        Some(a) => crate::ops::reduce::normalize_axes(op, a, x.ndim()).map(Some),
    }
}

/// Re-inserts the reduced axes as broadcastable dims (Theano's `makeKeepDims`).
fn keep_dims(x: &Var, out: Var, axes: &[usize]) -> Var {
    let mut order = Vec::new();
    let mut k = 0;
    for d in 0..x.ndim() {
        if axes.contains(&d) {
            order.push(None);
        } else {
            order.push(Some(k));
            k += 1;
        }
    }
    dimshuffle(&out, &order)
}

fn reduce(kind: ReduceKind, x: &Var, axes: Axes, keepdims: bool) -> Var {
    if x.error().is_some() {
        return x.clone();
    }
    let name = match kind {
        ReduceKind::Sum => "Sum",
        ReduceKind::Prod => "Prod",
        ReduceKind::Maximum => "max",
        ReduceKind::Minimum => "min",
    };
    let axis = match resolve_axes(name, x, &axes) {
        Ok(a) => a,
        Err(e) => return Var::invalid(e),
    };
    let op = Reduce {
        kind,
        axis: axis.clone(),
        acc_dtype: x.dtype().sum_acc_dtype(),
    };
    let out = apply1(Op::Reduce(op), vec![x.clone()]);
    if keepdims {
        let all: Vec<usize> = axis.unwrap_or_else(|| (0..x.ndim()).collect());
        keep_dims(x, out, &all)
    } else {
        out
    }
}

/// Sum over `axes` (float32 accumulates in float64; ints sum to int64).
pub fn sum(x: &Var, axes: impl Into<Axes>, keepdims: bool) -> Var {
    reduce(ReduceKind::Sum, x, axes.into(), keepdims)
}

/// Product over `axes`.
pub fn prod(x: &Var, axes: impl Into<Axes>, keepdims: bool) -> Var {
    reduce(ReduceKind::Prod, x, axes.into(), keepdims)
}

/// Mean over `axes`: the sum divided by each reduced length, as Theano builds it (named `mean`).
pub fn mean(x: &Var, axes: impl Into<Axes>, keepdims: bool) -> Var {
    let axes = axes.into();
    let all: Vec<usize> = match resolve_axes("mean", x, &axes) {
        Ok(a) => a.unwrap_or_else(|| (0..x.ndim()).collect()),
        Err(e) => return Var::invalid(e),
    };
    let mut s = sum(x, axes, keepdims);
    let div_dtype = if s.dtype() == DType::Float32 {
        DType::Float32
    } else {
        DType::Float64
    };
    let shp = cast(shape(x), div_dtype);
    for a in all {
        s = true_div(&s, subtensor_index(&shp, a as i64));
    }
    s.set_name(Some("mean"));
    s
}

fn max_and_argmax(x: &Var, axes: &Axes) -> Result<(Var, Var, Vec<usize>), Error> {
    x.check()?;
    let axis = resolve_axes("max_and_argmax", x, axes)?.unwrap_or_else(|| (0..x.ndim()).collect());
    let outs = apply(
        Op::MaxAndArgmax(MaxAndArgmax { axis: axis.clone() }),
        vec![x.clone()],
    );
    Ok((
        outs[0].clone().named("max"),
        outs[1].clone().named("argmax"),
        axis,
    ))
}

/// Maximum over `axes` (Theano's `MaxAndArgmax` output 0).
pub fn max(x: &Var, axes: impl Into<Axes>, keepdims: bool) -> Var {
    match max_and_argmax(x, &axes.into()) {
        Ok((m, _, axis)) if keepdims => keep_dims(x, m, &axis),
        Ok((m, _, _)) => m,
        Err(e) => Var::invalid(e),
    }
}

/// Index of the (first) maximum over `axes`, int64.
pub fn argmax(x: &Var, axes: impl Into<Axes>, keepdims: bool) -> Var {
    match max_and_argmax(x, &axes.into()) {
        Ok((_, a, axis)) if keepdims => keep_dims(x, a, &axis),
        Ok((_, a, _)) => a,
        Err(e) => Var::invalid(e),
    }
}

/// Minimum over `axes`: `-max(-x)` as Theano builds it (a direct reduction for unsigned/bool).
pub fn min(x: &Var, axes: impl Into<Axes>, keepdims: bool) -> Var {
    let axes = axes.into();
    match x.dtype() {
        DType::UInt8 | DType::Bool => reduce(ReduceKind::Minimum, x, axes, keepdims),
        _ => neg(max(&neg(x), axes, keepdims)),
    }
}

/// Index of the (first) minimum over `axes`: `argmax(-x)` (`argmax(~x)` for unsigned/bool).
pub fn argmin(x: &Var, axes: impl Into<Axes>, keepdims: bool) -> Var {
    match x.dtype() {
        DType::UInt8 | DType::Bool => argmax(&invert(x), axes, keepdims),
        _ => argmax(&neg(x), axes, keepdims),
    }
}

/// numpy's dot for every rank pair; a scalar operand multiplies elementwise.
pub fn dot(a: impl IntoVar, b: impl IntoVar) -> Var {
    let (a, b) = (a.into_var(), b.into_var());
    if a.error().is_none() && b.error().is_none() && (a.ndim() == 0 || b.ndim() == 0) {
        return mul(a, b);
    }
    apply1(Op::Dot, vec![a, b])
}

/// Reorders dims; `None` inserts a broadcastable dim (Theano's `'x'`), omitted dims are dropped.
pub fn dimshuffle(x: &Var, new_order: &[Option<usize>]) -> Var {
    apply1(
        Op::DimShuffle(DimShuffle {
            new_order: new_order.to_vec(),
        }),
        vec![x.clone()],
    )
}

/// Reverses the dims (`x.T`).
pub fn transpose(x: &Var) -> Var {
    let order: Vec<Option<usize>> = (0..x.ndim()).rev().map(Some).collect();
    dimshuffle(x, &order)
}

/// The shape of `x` as an int64 vector.
pub fn shape(x: &Var) -> Var {
    apply1(Op::Shape, vec![x.clone()])
}

/// Reshapes to a constant shape (one entry may be -1).
pub fn reshape(x: &Var, new_shape: &[i64]) -> Var {
    let bcast = new_shape.iter().map(|&d| d == 1).collect();
    let s = constant(ndarray::Array1::from(new_shape.to_vec()));
    apply1(Op::Reshape(Reshape { bcast }), vec![x.clone(), s])
}

/// Reshapes to a symbolic shape (an integer vector of length `ndim`).
pub fn reshape_var(x: &Var, new_shape: &Var, ndim: usize) -> Var {
    let bcast = match new_shape.constant_value() {
        Some(v) => v.to_i64_vec().iter().map(|&d| d == 1).collect(),
        None => vec![false; ndim],
    };
    apply1(
        Op::Reshape(Reshape { bcast }),
        vec![x.clone(), new_shape.clone()],
    )
}

/// Flattens the trailing dims so that the result has `outdim` dims.
pub fn flatten(x: &Var, outdim: usize) -> Var {
    if outdim == 0 || outdim > x.ndim().max(1) {
        return Var::invalid(Error::value(
            "flatten",
            format!(
                "outdim must be between 1 and {}, got {outdim}",
                x.ndim().max(1)
            ),
        ));
    }
    if outdim == 1 {
        return reshape(x, &[-1]);
    }
    let lead = shape(x).get(&[Idx::range(None, Some(outdim as i64 - 1), None)]);
    let s = concatenate(&[lead, constant(ndarray::arr1(&[-1i64]))], 0);
    reshape_var(x, &s, outdim)
}

/// `arange(start, stop, step)`; integer arguments give int64, floats their upcast.
pub fn arange(start: impl IntoVar, stop: impl IntoVar, step: impl IntoVar) -> Var {
    let (a, b, c) = (start.into_var(), stop.into_var(), step.into_var());
    let mut dtype = DType::upcast_all([a.dtype(), b.dtype(), c.dtype()]).expect("3");
    if dtype.is_discrete() {
        dtype = DType::Int64;
    }
    apply1(Op::ARange(dtype), vec![a, b, c])
}

/// `arange(0, stop, 1)`.
pub fn arange_to(stop: impl IntoVar) -> Var {
    arange(0, stop, 1)
}

/// Joins tensors along an existing axis (Theano's `concatenate`, printed `join`).
pub fn concatenate(tensors: &[Var], axis: i64) -> Var {
    let ndim = tensors.first().map(|t| t.ndim()).unwrap_or(0) as i64;
    let ax = if axis < 0 { axis + ndim } else { axis };
    if ax < 0 {
        return Var::invalid(Error::value("Join", format!("axis {axis} out of range")));
    }
    let mut inputs = vec![axis.into_var()];
    inputs.extend(tensors.iter().cloned());
    apply1(Op::Join(ax as usize), inputs)
}

/// Joins tensors along a new axis.
pub fn stack(tensors: &[Var], axis: i64) -> Var {
    let nd = tensors.first().map(|t| t.ndim()).unwrap_or(0) as i64 + 1;
    let ax = if axis < 0 { axis + nd } else { axis };
    if ax < 0 || ax >= nd {
        return Var::invalid(Error::value("stack", format!("axis {axis} out of range")));
    }
    let padded: Vec<Var> = tensors
        .iter()
        .map(|t| {
            let mut order: Vec<Option<usize>> = (0..t.ndim()).map(Some).collect();
            order.insert(ax as usize, None);
            dimshuffle(t, &order)
        })
        .collect();
    concatenate(&padded, ax)
}

/// One index bound: a constant or a symbolic integer scalar.
#[derive(Clone, Debug)]
pub enum Bound {
    Const(i64),
    Var(Var),
}

impl From<i64> for Bound {
    fn from(v: i64) -> Bound {
        Bound::Const(v)
    }
}
impl From<&Var> for Bound {
    fn from(v: &Var) -> Bound {
        Bound::Var(v.clone())
    }
}

/// One entry of an index expression `x[...]`.
#[derive(Clone, Debug)]
pub enum Idx {
    /// An integer: the dimension is dropped.
    At(Bound),
    /// A slice `start:stop:step`.
    Slice(Option<Bound>, Option<Bound>, Option<Bound>),
    /// An integer array (advanced indexing).
    Array(Var),
}

impl Idx {
    /// `x[i]`
    pub fn at(i: impl Into<Bound>) -> Idx {
        Idx::At(i.into())
    }
    /// `x[:]`
    pub fn all() -> Idx {
        Idx::Slice(None, None, None)
    }
    /// `x[start:stop:step]` with constant bounds.
    pub fn range(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Idx {
        Idx::Slice(
            start.map(Bound::Const),
            stop.map(Bound::Const),
            step.map(Bound::Const),
        )
    }
    /// `x[idx]` with an integer array.
    pub fn array(v: &Var) -> Idx {
        Idx::Array(v.clone())
    }
}

fn bound_input(b: &Bound) -> Result<(DType, Var), Error> {
    match b {
        Bound::Const(v) => Ok((DType::Int64, Var::scalar_constant(*v))),
        Bound::Var(v) => {
            v.check()?;
            if v.ndim() != 0 || !v.dtype().is_int() {
                return Err(Error::ty(
                    "Subtensor",
                    format!("an index must be an integer scalar, got {}", v.ty()),
                ));
            }
            Ok((v.dtype(), v.clone()))
        }
    }
}

/// `x[i]` with a constant integer (a `Subtensor{int64}` with a `Constant{i}` input).
pub fn subtensor_index(x: &Var, i: i64) -> Var {
    index(x, &[Idx::at(i)])
}

/// Indexing `x[entries]`: integers and slices (basic), or integer arrays (advanced).
pub fn index(x: &Var, entries: &[Idx]) -> Var {
    let arrays = entries
        .iter()
        .filter(|e| matches!(e, Idx::Array(_)))
        .count();
    if arrays > 0 {
        if arrays != entries.len() {
            return Var::invalid(Error::index(
                "AdvancedSubtensor",
                "mixing integer arrays with integers or slices is not supported; index with arrays only",
            ));
        }
        let idx: Vec<Var> = entries
            .iter()
            .map(|e| match e {
                Idx::Array(v) => v.clone(),
                _ => unreachable!("all arrays"),
            })
            .collect();
        if idx.len() == 1 && idx[0].ndim() == 1 {
            return apply1(Op::AdvancedSubtensor1, vec![x.clone(), idx[0].clone()]);
        }
        let mut inputs = vec![x.clone()];
        inputs.extend(idx);
        return apply1(Op::AdvancedSubtensor, inputs);
    }
    let mut ops = Vec::new();
    let mut inputs = vec![x.clone()];
    for e in entries {
        let mut take = |b: &Option<Bound>| -> Result<Option<DType>, Error> {
            match b {
                None => Ok(None),
                Some(b) => {
                    let (d, v) = bound_input(b)?;
                    inputs.push(v);
                    Ok(Some(d))
                }
            }
        };
        let entry = match e {
            Idx::At(b) => take(&Some(b.clone())).map(|d| IdxEntry::Index(d.expect("present"))),
            Idx::Slice(a, b, c) => (|| {
                Ok(IdxEntry::Slice {
                    start: take(a)?,
                    stop: take(b)?,
                    step: take(c)?,
                })
            })(),
            Idx::Array(_) => unreachable!("handled above"),
        };
        match entry {
            Ok(en) => ops.push(en),
            Err(err) => return Var::invalid(err),
        }
    }
    apply1(Op::Subtensor(Subtensor { entries: ops }), inputs)
}

/// Methods in Theano's style: `x.sum()`, `x.mean()`, `x.t()`, `x.get(&[...])`, ...
impl Var {
    /// Sum of all elements.
    pub fn sum(&self) -> Var {
        sum(self, ALL, false)
    }
    /// Mean of all elements.
    pub fn mean(&self) -> Var {
        mean(self, ALL, false)
    }
    /// Maximum of all elements.
    pub fn max(&self) -> Var {
        max(self, ALL, false)
    }
    /// Minimum of all elements.
    pub fn min(&self) -> Var {
        min(self, ALL, false)
    }
    /// Product of all elements.
    pub fn prod(&self) -> Var {
        prod(self, ALL, false)
    }
    /// Flat index of the maximum.
    pub fn argmax(&self) -> Var {
        argmax(self, ALL, false)
    }
    /// Flat index of the minimum.
    pub fn argmin(&self) -> Var {
        argmin(self, ALL, false)
    }
    /// The transpose (`x.T`).
    pub fn t(&self) -> Var {
        transpose(self)
    }
    /// `x.dimshuffle(...)`.
    pub fn dimshuffle(&self, order: &[Option<usize>]) -> Var {
        dimshuffle(self, order)
    }
    /// `x.reshape(shape)`.
    pub fn reshape(&self, shape: &[i64]) -> Var {
        reshape(self, shape)
    }
    /// `x.flatten()`.
    pub fn flatten(&self) -> Var {
        flatten(self, 1)
    }
    /// `x.shape` (an int64 vector).
    pub fn shape(&self) -> Var {
        shape(self)
    }
    /// `x[entries]`.
    pub fn get(&self, entries: &[Idx]) -> Var {
        index(self, entries)
    }
    /// `x[i]`.
    pub fn at(&self, i: i64) -> Var {
        subtensor_index(self, i)
    }
    /// `x ** e`.
    pub fn pow(&self, e: impl IntoVar) -> Var {
        pow(self, e)
    }
}
