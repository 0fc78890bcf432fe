//! Elementwise ops: a scalar op mapped over broadcast inputs of equal rank.

use super::scalar::{IntFn, ScalarOp};
use super::NodeTypes;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::grad::InputGrad;
use crate::graph::Var;
use crate::math::Real;
use crate::runtime::elemwise::{
    block_fn, operand, reuse_buffer, run_blocks, run_blocks_into, Operand,
};
use crate::types::TensorType;
use crate::value::{Element, Value};
use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::fmt;

/// An elementwise application of a scalar op. `name` is Theano's op name (`sigmoid`,
/// `Elemwise{add,no_inplace}`); without one the op prints as `Elemwise{<scalar op>}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Elemwise {
    pub scalar: ScalarOp,
    pub name: Option<String>,
}

impl Elemwise {
    /// The op a user gets from the tensor-level function, named as Theano names it.
    pub fn user(scalar: ScalarOp) -> Elemwise {
        let name = match scalar {
            ScalarOp::Cast(_) => None,
            ScalarOp::Sigmoid
            | ScalarOp::Softplus
            | ScalarOp::UltraFastSigmoid
            | ScalarOp::Softsign => Some(scalar.symbol()),
            _ => Some(format!("Elemwise{{{},no_inplace}}", scalar.symbol())),
        };
        Elemwise { scalar, name }
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType> {
        let ndim = inputs.first().map(|t| t.ndim()).unwrap_or(0);
        if inputs.iter().any(|t| t.ndim() != ndim) {
            return Err(Error::ty(
                self.to_string(),
                "inputs must have the same number of dimensions (pad with dimshuffle)",
            ));
        }
        let dtypes: Vec<DType> = inputs.iter().map(|t| t.dtype).collect();
        let out = self.scalar.output_dtype(&dtypes).map_err(|e| match e {
            Error::Type { msg, .. } => Error::ty(self.to_string(), msg),
            other => other,
        })?;
        let needs_int = matches!(self.scalar, ScalarOp::And | ScalarOp::Or | ScalarOp::Invert);
        if needs_int && out.is_float() {
            return Err(Error::ty(
                self.to_string(),
                format!("needs integer or bool inputs, got {}", join_dtypes(&dtypes)),
            ));
        }
        let bcast = (0..ndim)
            .map(|d| inputs.iter().all(|t| t.broadcastable[d]))
            .collect::<Vec<_>>();
        Ok(TensorType::new(out, bcast))
    }

    pub fn perform(&self, types: &NodeTypes, inputs: &[&Value]) -> Result<Value> {
        let shape = out_shape(self, types.inputs, inputs)?;
        let out_dt = types.outputs[0].dtype;
        let op = self.scalar;
        match op {
            ScalarOp::Cast(dt) => Ok(inputs[0].cast(dt)),
            ScalarOp::Second => {
                let v = inputs[1].cast(out_dt);
                with_value!(&v, a => Ok(Element::wrap(broadcast(a, &shape)?.to_owned())))
            }
            ScalarOp::Switch => {
                let cond = inputs[0].to_array::<bool>();
                let c = broadcast(&cond, &shape)?;
                dispatch_dtype!(out_dt, T => {
                    let a = inputs[1].to_array::<T>();
                    let b = inputs[2].to_array::<T>();
                    let r = Zip::from(&c)
                        .and(&broadcast(&a, &shape)?)
                        .and(&broadcast(&b, &shape)?)
                        .map_collect(|&c, &a, &b| if c { a } else { b });
                    Ok(T::wrap(r))
                })
            }
            _ if op.is_comparison() => {
                let dom = DType::upcast_all(inputs.iter().map(|v| v.dtype())).expect("2 inputs");
                match dom {
                    DType::Float64 => compare::<f64>(op, inputs, &shape),
                    DType::Float32 => compare::<f32>(op, inputs, &shape),
                    _ => compare::<i64>(op, inputs, &shape),
                }
            }
            ScalarOp::Invert if out_dt == DType::Bool => {
                Ok(Value::Bool(inputs[0].to_array::<bool>().mapv(|b| !b)))
            }
            _ if out_dt == DType::Float64 => run_float::<f64>(self, inputs, &shape),
            _ if out_dt == DType::Float32 => run_float::<f32>(self, inputs, &shape),
            _ => Ok(run_int(self, inputs, &shape)?.into_dtype(out_dt)),
        }
    }
}

impl Elemwise {
    /// Whether the compiled kernel can overwrite an input of type `input` (Theano's in-place
    /// variants): a float block kernel whose output has exactly that type.
    pub fn can_overwrite(&self, input: &TensorType, output: &TensorType) -> bool {
        output.dtype.is_float()
            && input == output
            && block_fn::<f64>(self.scalar).is_some()
            && !matches!(self.scalar, ScalarOp::Cast(_) | ScalarOp::Second)
    }

    /// Computes the op into the buffer of input `dest_pos` (given by value as `dest`; the entry
    /// of `inputs` at that position is ignored). Falls back to a fresh output when it does not fit.
    pub fn perform_inplace(
        &self,
        types: &NodeTypes,
        inputs: &[&Value],
        dest_pos: usize,
        dest: Value,
    ) -> Result<Value> {
        if !self.can_overwrite(types.inputs[dest_pos], &types.outputs[0]) {
            return self.perform(types, &super::with_input(inputs, dest_pos, &dest));
        }
        let fallback = |ins: &[&Value]| self.perform(types, ins);
        match types.outputs[0].dtype {
            DType::Float64 => {
                let kernel = block_fn::<f64>(self.scalar).expect("checked by can_overwrite");
                perform_over(self, types, inputs, dest_pos, dest, fallback, |buf, ops| {
                    run_blocks_into(buf, ops, kernel, false)
                })
            }
            _ => {
                let kernel = block_fn::<f32>(self.scalar).expect("checked by can_overwrite");
                perform_over(self, types, inputs, dest_pos, dest, fallback, |buf, ops| {
                    run_blocks_into(buf, ops, kernel, false)
                })
            }
        }
    }
}

/// The in-place form of an elementwise kernel (Elemwise or Composite): the output shape with
/// `dest` standing at `dest_pos`, then `run` over dest's own buffer with that operand read from
/// the output as it is overwritten (`Operand::Dest`), or `fallback` on a fresh output when the
/// buffer does not fit (another dtype or shape, a view).
pub(crate) fn perform_over<F: Real>(
    name: &dyn fmt::Display,
    types: &NodeTypes,
    inputs: &[&Value],
    dest_pos: usize,
    dest: Value,
    fallback: impl FnOnce(&[&Value]) -> Result<Value>,
    run: impl FnOnce(Vec<F>, &[Operand<F>]) -> Vec<F>,
) -> Result<Value> {
    let shape = out_shape(
        name,
        types.inputs,
        &super::with_input(inputs, dest_pos, &dest),
    )?;
    match reuse_buffer::<F>(dest, &shape) {
        Ok(buf) => {
            let operands: SmallVec<[Operand<F>; 8]> = inputs
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    if j == dest_pos {
                        Operand::Dest
                    } else {
                        operand::<F>(v, &shape)
                    }
                })
                .collect();
            let out = run(buf, &operands);
            Ok(F::wrap(
                ArrayD::from_shape_vec(IxDyn(&shape), out).expect("shape"),
            ))
        }
        Err(dest) => fallback(&super::with_input(inputs, dest_pos, &dest)),
    }
}

/// A shape, inline for the usual few dimensions (computed at every call: no allocation).
pub(crate) type Shape = SmallVec<[usize; 4]>;

/// The output shape, checking Theano's rule: only statically broadcastable dims broadcast.
/// `name` gives the op's name for an error message (formatted only on error).
pub(crate) fn out_shape(
    name: &dyn std::fmt::Display,
    types: &[&TensorType],
    inputs: &[&Value],
) -> Result<Shape> {
    let ndim = types.first().map(|t| t.ndim()).unwrap_or(0);
    let mut shape: Shape = smallvec::smallvec![1usize; ndim];
    for (d, size) in shape.iter_mut().enumerate() {
        let mut first: Option<(usize, usize)> = None;
        for (i, (t, v)) in types.iter().zip(inputs).enumerate() {
            let n = v.shape()[d];
            if t.broadcastable[d] {
                if n != 1 {
                    return Err(Error::value(
                        name.to_string(),
                        format!(
                            "input[{i}].shape[{d}] = {n} on a broadcastable dimension (must be 1)"
                        ),
                    ));
                }
                continue;
            }
            match first {
                None => {
                    first = Some((i, n));
                    *size = n;
                }
                Some((j, m)) if m != n => {
                    return Err(Error::value(
                        name.to_string(),
                        format!(
                            "Input dimension mis-match. (input[{j}].shape[{d}] = {m}, input[{i}].shape[{d}] = {n})"
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(shape)
}

impl fmt::Display for Elemwise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "Elemwise{{{}}}", self.scalar.scalar_name()),
        }
    }
}

fn join_dtypes(d: &[DType]) -> String {
    d.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
}

/// A broadcast view of `a` with the given shape (shapes were checked by `out_shape`).
fn broadcast<'a, T>(a: &'a ArrayD<T>, shape: &[usize]) -> Result<ArrayViewD<'a, T>> {
    a.broadcast(IxDyn(shape)).ok_or_else(|| {
        Error::value(
            "Elemwise",
            format!("cannot broadcast shape {:?} to {:?}", a.shape(), shape),
        )
    })
}

fn compare<T: Element>(op: ScalarOp, inputs: &[&Value], shape: &[usize]) -> Result<Value> {
    let a = inputs[0].to_array::<T>();
    let b = inputs[1].to_array::<T>();
    let f: fn(&T, &T) -> bool = match op {
        ScalarOp::Gt => |a, b| a > b,
        ScalarOp::Lt => |a, b| a < b,
        ScalarOp::Ge => |a, b| a >= b,
        ScalarOp::Le => |a, b| a <= b,
        ScalarOp::Eq => |a, b| a == b,
        _ => |a, b| a != b,
    };
    let r = Zip::from(&broadcast(&a, shape)?)
        .and(&broadcast(&b, shape)?)
        .map_collect(f);
    Ok(Value::Bool(r))
}

fn run_float<F: Real>(e: &Elemwise, inputs: &[&Value], shape: &[usize]) -> Result<Value> {
    let kernel = block_fn::<F>(e.scalar)
        .ok_or_else(|| Error::ty(e.to_string(), "this operation needs integer or bool inputs"))?;
    let n = shape.iter().product();
    let operands: Vec<Operand<F>> = inputs.iter().map(|v| operand::<F>(v, shape)).collect();
    // A kernel that only moves data waits on its output's lines: request them ahead.
    let out = run_blocks(n, &operands, kernel, e.scalar.cost() == 1);
    Ok(F::wrap(
        ArrayD::from_shape_vec(IxDyn(shape), out).expect("shape"),
    ))
}

fn run_int(e: &Elemwise, inputs: &[&Value], shape: &[usize]) -> Result<Value> {
    let arrays: Vec<Cow<ArrayD<i64>>> = inputs.iter().map(|v| v.to_array::<i64>()).collect();
    if e.scalar == ScalarOp::Pow && arrays[1].iter().any(|&b| b < 0) {
        return Err(Error::value(
            e.to_string(),
            "Integers to negative integer powers are not allowed",
        ));
    }
    let views = arrays
        .iter()
        .map(|a| broadcast(a, shape))
        .collect::<Result<Vec<_>>>()?;
    let out = match e.scalar.int_fn() {
        IntFn::Unary(f) => views[0].mapv(f),
        IntFn::Binary(f) => Zip::from(&views[0])
            .and(&views[1])
            .map_collect(|&a, &b| f(a, b)),
        IntFn::Ternary(f) => Zip::from(&views[0])
            .and(&views[1])
            .and(&views[2])
            .map_collect(|&a, &b, &c| f(a, b, c)),
        IntFn::Variadic(f) => {
            let mut acc = views[0].to_owned();
            for v in &views[1..] {
                Zip::from(&mut acc).and(v).for_each(|a, &b| *a = f(*a, b));
            }
            acc
        }
        IntFn::Unsupported => {
            return Err(Error::ty(
                e.to_string(),
                "this operation has no integer implementation",
            ))
        }
    };
    Ok(Value::I64(out))
}

impl Elemwise {
    /// The gradient of each input (spec §3), as graphs; `out` is this node's output.
    pub fn grad(&self, x: &[Var], out: &Var, g: &Var) -> Vec<InputGrad> {
        use crate::tensor as T;
        use InputGrad::{Disconnected, Grad};
        use ScalarOp::*;
        let g1 = Grad;
        // Piecewise-constant functions: a zero gradient (connected, as in Theano).
        let zero = |v: &Var| {
            Grad(T::fill(
                v,
                T::constant_of(0.0, crate::dtype::float_x().upcast(g.dtype())),
            ))
        };
        match self.scalar {
            Add => x.iter().map(|_| Grad(g.clone())).collect(),
            Sub => vec![Grad(g.clone()), Grad(-g)],
            Mul => (0..x.len())
                .map(|i| {
                    let others: Vec<&Var> = x
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, v)| v)
                        .collect();
                    let mut p = g.clone();
                    for o in others {
                        p = &p * o;
                    }
                    Grad(p)
                })
                .collect(),
            TrueDiv => vec![Grad(g / &x[1]), Grad(-(g * &x[0]) / T::sqr(&x[1]))],
            IntDiv => vec![zero(&x[0]), zero(&x[1])],
            Mod => vec![Grad(g.clone()), Grad(-(g * T::int_div(&x[0], &x[1])))],
            Neg => vec![Grad(-g)],
            Pow => {
                let (a, b) = (&x[0], &x[1]);
                vec![Grad(g * b * T::pow(a, b - 1)), Grad(g * T::log(a) * out)]
            }
            Abs => vec![g1(g * T::sgn(&x[0]))],
            Sgn => vec![zero(&x[0])],
            Exp => vec![Grad(g * out)],
            Log => vec![Grad(g / &x[0])],
            Log1p => vec![Grad(g / (1 + &x[0]))],
            Expm1 => vec![Grad(g * (out + 1))],
            Sqrt => vec![Grad(g * 0.5 / out)],
            Sqr => vec![g1(g * 2 * &x[0])],
            Tanh => vec![Grad(g * (1 - T::sqr(out)))],
            Sin => vec![Grad(g * T::cos(&x[0]))],
            Cos => vec![Grad(-(g * T::sin(&x[0])))],
            Inv => vec![Grad(-(g * T::sqr(out)))],
            Maximum | Minimum => vec![
                Grad(g * T::cast(T::eq(out, &x[0]), g.dtype())),
                Grad(g * T::cast(T::eq(out, &x[1]), g.dtype())),
            ],
            Gt | Lt | Ge | Le | Eq | Neq | And | Or | Invert => x.iter().map(zero).collect(),
            Switch => {
                let z = T::zeros_like(g);
                vec![
                    zero(&x[0]),
                    Grad(T::switch(&x[0], g, &z)),
                    Grad(T::switch(&x[0], &z, g)),
                ]
            }
            Clip => {
                let (v, lo, hi) = (&x[0], &x[1], &x[2]);
                let inside = T::and_(T::ge(v, lo), T::le(v, hi));
                let z = T::zeros_like(g);
                vec![
                    Grad(T::switch(inside, g, &z)),
                    Grad(T::switch(T::lt(v, lo), g, &z)),
                    Grad(T::switch(T::gt(v, hi), g, &z)),
                ]
            }
            Cast(_) => vec![g1(g.clone())],
            Second => vec![Disconnected, Grad(g.clone())],
            Identity => vec![Grad(g.clone())],
            // σ'(x) = σ(x)·σ(−x): no cancellation, so it stays accurate where σ(x) rounds to 1.
            Sigmoid => vec![Grad(g * T::nnet::sigmoid(&x[0]) * T::nnet::sigmoid(-&x[0]))],
            // d/dx σ(−x) = −σ(x)·σ(−x).
            SigmoidComplement => vec![Grad(
                -(g * T::nnet::sigmoid(&x[0]) * T::nnet::sigmoid(-&x[0])),
            )],
            Softplus => vec![Grad(g * T::nnet::sigmoid(&x[0]))],
            // A surrogate gradient: y·(1 − y) with y the approximation itself (as for σ); the exact
            // piecewise derivative is 0 for |x| ≥ 6 and would stop learning there.
            UltraFastSigmoid => vec![Grad(g * out * (1 - out))],
            Softsign => vec![Grad(g / T::sqr(1 + T::abs(&x[0])))],
            Relu => {
                let v = &x[0];
                let d = T::switch(T::gt(v, 0), 1.0, T::switch(T::lt(v, 0), 0.0, 0.5));
                vec![Grad(g * d)]
            }
            LeakyRelu => {
                let (v, a) = (&x[0], &x[1]);
                let at0 = 0.5 * (1 + a);
                let d = T::switch(T::gt(v, 0), 1.0, T::switch(T::lt(v, 0), a, at0));
                vec![Grad(g * d), Grad(g * T::minimum(v, 0))]
            }
            Elu => {
                let (v, a) = (&x[0], &x[1]);
                let neg = T::switch(T::gt(v, 0), 0.0, T::expm1(v));
                vec![
                    Grad(T::switch(T::gt(v, 0), g, g * a * T::exp(v))),
                    Grad(g * neg),
                ]
            }
            Selu => {
                let v = &x[0];
                let d = T::switch(
                    T::gt(v, 0),
                    crate::math::SELU_SCALE,
                    crate::math::SELU_SCALE * crate::math::SELU_ALPHA * T::exp(v),
                );
                vec![Grad(g * d)]
            }
            SigmoidBinaryCrossentropy => {
                let (z, t) = (&x[0], &x[1]);
                vec![Grad(g * (T::nnet::sigmoid(z) - t)), Grad(-(g * z))]
            }
        }
    }
}
