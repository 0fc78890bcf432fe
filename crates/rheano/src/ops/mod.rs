//! Every op of the graph. Each family keeps its concerns together in its own module: output type
//! inference with clear errors, the reference `perform`, how it prints, and (in `grad`) its
//! gradient.

pub mod composite;
pub mod dot;
pub mod elemwise;
mod grads;
mod linear_xent;
pub mod nnet;
pub mod reduce;
pub mod scalar;
pub mod shape;
mod skinny;
pub mod subtensor;

use crate::error::Result;
use crate::types::TensorType;
use crate::value::Value;
use std::fmt;

pub use elemwise::Elemwise;
pub use nnet::NnetOp;
pub use reduce::{MaxAndArgmax, Reduce, ReduceKind};
pub use scalar::ScalarOp;
pub use shape::{DimShuffle, Reshape};
pub use subtensor::{IdxEntry, Subtensor};

/// What a node computes.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Elemwise(Elemwise),
    DimShuffle(DimShuffle),
    Reduce(Reduce),
    MaxAndArgmax(MaxAndArgmax),
    Dot,
    Shape,
    /// `x.shape[i]` as a scalar (Theano's `Shape_i`, made by a rewrite from `Shape(x)[i]`).
    ShapeI(usize),
    Reshape(Reshape),
    Subtensor(Subtensor),
    /// `x[iv]`: integer-vector indexing along the first axis.
    AdvancedSubtensor1,
    /// `x[i0, i1, ...]` with integer arrays broadcast together (numpy's advanced indexing).
    AdvancedSubtensor,
    /// `(x, y, bounds...)` → a copy of x with `x[entries] += y` (the gradient of Subtensor).
    IncSubtensor(Subtensor),
    /// `(x, y, index arrays...)` → a copy of x with `x[idx] += y`, repeated indices accumulating.
    AdvancedIncSubtensor,
    ARange(crate::DType),
    /// `alloc(value, *shape)`; the op keeps the output's broadcastable pattern.
    Alloc(Vec<bool>),
    /// `join(axis, *tensors)`; the axis is also the first input, a constant, for printing.
    Join(usize),
    Nnet(NnetOp),
    /// Matrix product of two matrices read through optional transposes, without copying them
    /// (built by a specialize rewrite from `dot` of transposed operands).
    Dot22 {
        trans_a: bool,
        trans_b: bool,
    },
    /// `beta·z + alpha·(A·B)` (Theano's Gemm / Gemv), built by the gemm rewrite from a product
    /// plus a term; inputs `(z, alpha, A, B, beta)`, A and B read through optional transposes.
    Gemm {
        trans_a: bool,
        trans_b: bool,
    },
    /// A fused elementwise program (built by the fusion rewrite, after differentiation).
    Composite(composite::Composite),
    /// The sum over all elements of a fused program's results, without materialising them
    /// (the fusion rewrite's form of a `Sum` of a Composite read by nothing else).
    CompositeSum(composite::Composite),
}

/// `inputs` with entry `pos` replaced by `v` (the buffer an in-place step was handed), inline
/// for the usual few inputs (no allocation).
pub(crate) fn with_input<'a>(
    inputs: &[&'a Value],
    pos: usize,
    v: &'a Value,
) -> smallvec::SmallVec<[&'a Value; 8]> {
    let mut ins: smallvec::SmallVec<[&Value; 8]> = inputs.into();
    ins[pos] = v;
    ins
}

/// The values a step computed: one (most ops) or several.
pub enum Outputs {
    One(Value),
    Many(Vec<Value>),
}

impl Outputs {
    /// The values in output order.
    pub fn into_vec(self) -> Vec<Value> {
        match self {
            Outputs::One(v) => vec![v],
            Outputs::Many(vs) => vs,
        }
    }

    /// Hands each value to `put` with its output position.
    pub fn for_each(self, mut put: impl FnMut(usize, Value)) {
        match self {
            Outputs::One(v) => put(0, v),
            Outputs::Many(vs) => vs.into_iter().enumerate().for_each(|(k, v)| put(k, v)),
        }
    }
}

/// The static types of a node, given to `perform` for broadcasting checks.
pub struct NodeTypes<'a> {
    pub inputs: &'a [&'a TensorType],
    pub outputs: &'a [TensorType],
}

impl Op {
    pub fn n_outputs(&self) -> usize {
        match self {
            Op::MaxAndArgmax(_) => 2,
            Op::Nnet(n) => n.n_outputs(),
            Op::Composite(c) | Op::CompositeSum(c) => c.n_outputs(),
            _ => 1,
        }
    }

    /// Output types for the given input types, or an error naming the op and what it expected.
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<Vec<TensorType>> {
        match self {
            Op::Elemwise(e) => e.infer(inputs).map(|t| vec![t]),
            Op::DimShuffle(d) => d.infer(inputs).map(|t| vec![t]),
            Op::Reduce(r) => r.infer(inputs).map(|t| vec![t]),
            Op::MaxAndArgmax(m) => m.infer(inputs),
            Op::Dot => dot::infer(inputs).map(|t| vec![t]),
            Op::Shape => shape::infer_shape(inputs).map(|t| vec![t]),
            Op::ShapeI(i) => shape::infer_shape_i(*i, inputs).map(|t| vec![t]),
            Op::Reshape(r) => r.infer(inputs).map(|t| vec![t]),
            Op::Subtensor(s) => s.infer(inputs).map(|t| vec![t]),
            Op::AdvancedSubtensor1 => subtensor::infer_adv1(inputs).map(|t| vec![t]),
            Op::AdvancedSubtensor => subtensor::infer_adv(inputs).map(|t| vec![t]),
            Op::IncSubtensor(s) => {
                let mut sel = vec![inputs[0]];
                sel.extend_from_slice(&inputs[2..]);
                let region = s.infer(&sel)?;
                if inputs[1].ndim() > region.ndim() {
                    return Err(crate::Error::ty(
                        self.to_string(),
                        "y has more dimensions than the indexed region",
                    ));
                }
                Ok(vec![inputs[0].clone()])
            }
            Op::AdvancedIncSubtensor => subtensor::infer_adv_inc(inputs).map(|t| vec![t]),
            Op::ARange(d) => shape::infer_arange(*d, inputs).map(|t| vec![t]),
            Op::Alloc(b) => shape::infer_alloc(b, inputs).map(|t| vec![t]),
            Op::Join(axis) => shape::infer_join(*axis, inputs).map(|t| vec![t]),
            Op::Nnet(n) => n.infer(inputs),
            Op::Composite(c) => c.infer(inputs).map(|t| vec![t; c.n_outputs()]),
            // The sum, then the extra outputs over the whole loop.
            Op::CompositeSum(c) => c.infer(inputs).map(|t| {
                let sum = TensorType::new(t.dtype.sum_out_dtype(), Vec::<bool>::new());
                std::iter::once(sum)
                    .chain(c.extra_outputs.iter().map(|_| t.clone()))
                    .collect()
            }),
            Op::Dot22 { trans_a, trans_b } => {
                dot::infer_dot22(*trans_a, *trans_b, inputs).map(|t| vec![t])
            }
            Op::Gemm { trans_a, trans_b } => {
                dot::infer_gemm(*trans_a, *trans_b, inputs).map(|t| vec![t])
            }
        }
    }

    /// The reference implementation: computes the outputs from input values.
    pub fn perform(&self, types: &NodeTypes, inputs: &[&Value]) -> Result<Vec<Value>> {
        self.perform_outputs(types, inputs).map(Outputs::into_vec)
    }

    /// [`Op::perform`], with a single output kept out of a `Vec` (a compiled function runs
    /// every step through this: no allocation for the list of outputs).
    pub fn perform_outputs(&self, types: &NodeTypes, inputs: &[&Value]) -> Result<Outputs> {
        let one = |r: Result<Value>| r.map(Outputs::One);
        let many = |r: Result<Vec<Value>>| r.map(Outputs::Many);
        match self {
            Op::Elemwise(e) => one(e.perform(types, inputs)),
            Op::DimShuffle(d) => one(d.perform(inputs[0])),
            Op::Reduce(r) => one(r.perform(inputs[0], &types.outputs[0])),
            Op::MaxAndArgmax(m) => many(m.perform(inputs[0])),
            Op::Dot => one(dot::perform(inputs[0], inputs[1], &types.outputs[0])),
            Op::Shape => one(Ok(shape::perform_shape(inputs[0]))),
            Op::ShapeI(i) => one(shape::perform_shape_i(*i, inputs[0])),
            Op::Reshape(r) => one(r.perform(inputs[0], inputs[1])),
            Op::Subtensor(s) => one(s.perform(inputs)),
            Op::AdvancedSubtensor1 => one(subtensor::perform_adv1(inputs[0], inputs[1])),
            Op::AdvancedSubtensor => one(subtensor::perform_adv(inputs)),
            Op::IncSubtensor(s) => one(s.perform_inc(inputs[0], inputs[1], &inputs[2..])),
            Op::AdvancedIncSubtensor => one(subtensor::perform_adv_inc(inputs)),
            Op::ARange(d) => one(shape::perform_arange(*d, inputs)),
            Op::Alloc(_) => one(shape::perform_alloc(inputs, &types.outputs[0])),
            Op::Join(axis) => one(shape::perform_join(*axis, inputs, &types.outputs[0])),
            Op::Nnet(n) => many(n.perform(types, inputs)),
            Op::Composite(c) if c.extra_outputs.is_empty() => one(c.perform(types, inputs)),
            Op::Composite(c) => many(c.perform_all(types, inputs, false)),
            Op::CompositeSum(c) if c.extra_outputs.is_empty() => one(c.perform_sum(types, inputs)),
            Op::CompositeSum(c) => many(c.perform_all(types, inputs, true)),
            Op::Dot22 { trans_a, trans_b } => one(dot::perform_dot22(
                *trans_a,
                *trans_b,
                inputs[0],
                inputs[1],
                &types.outputs[0],
            )),
            Op::Gemm { trans_a, trans_b } => one(dot::perform_gemm(
                *trans_a,
                *trans_b,
                inputs,
                &types.outputs[0],
            )),
        }
    }
}

impl Op {
    /// Whether the compiled kernel can write its output over an input of type `input` (an
    /// elementwise op whose output has exactly that type).
    pub fn can_overwrite(&self, input: &TensorType, output: &TensorType) -> bool {
        match self {
            Op::Elemwise(e) => e.can_overwrite(input, output),
            Op::Composite(c) => c.can_overwrite(input, output),
            _ => false,
        }
    }

    /// [`can_overwrite`](Self::can_overwrite) for input `i` in particular: a Gemm adds its
    /// product onto its first input, `z` (Theano's `Gemm{inplace}`), when `z` has the output's
    /// type.
    pub fn can_overwrite_input(&self, i: usize, input: &TensorType, output: &TensorType) -> bool {
        match self {
            Op::Gemm { .. } => i == 0 && input == output && output.dtype.is_float(),
            _ => self.can_overwrite(input, output),
        }
    }

    /// Whether [`perform_inplace`](Self::perform_inplace) will succeed on `dest` (given by
    /// reference, before it is handed over): a caller that must not lose `dest` (a shared
    /// value) checks first.
    pub fn inplace_ready(
        &self,
        types: &NodeTypes,
        inputs: &[&Value],
        dest_pos: usize,
        dest: &Value,
    ) -> bool {
        match self {
            Op::Gemm { trans_a, trans_b } if dest_pos == 0 => {
                let ins = with_input(inputs, 0, dest);
                dot::gemm_inplace_ready(*trans_a, *trans_b, &ins, &types.outputs[0])
            }
            _ => false,
        }
    }

    /// Runs the op over the buffer of input `dest_pos`, passed by value (see `can_overwrite`).
    pub fn perform_inplace(
        &self,
        types: &NodeTypes,
        inputs: &[&Value],
        dest_pos: usize,
        dest: Value,
    ) -> Result<Outputs> {
        match self {
            Op::Elemwise(e) => e
                .perform_inplace(types, inputs, dest_pos, dest)
                .map(Outputs::One),
            Op::Composite(c) if c.extra_outputs.is_empty() => c
                .perform_inplace(types, inputs, dest_pos, dest)
                .map(Outputs::One),
            Op::Gemm { trans_a, trans_b } if dest_pos == 0 => {
                dot::perform_gemm_inplace(*trans_a, *trans_b, inputs, dest, &types.outputs[0])
                    .map(Outputs::One)
            }
            _ => self.perform_outputs(types, &with_input(inputs, dest_pos, &dest)),
        }
    }

    /// How debugprint shows the op when it overwrites input `dest_pos`: Theano's
    /// `Elemwise{ScalarSigmoid}[(0, 0)]`, `Elemwise{Composite{...}}[(0, 1)]`.
    pub fn inplace_str(&self, dest_pos: usize) -> String {
        match self {
            Op::Elemwise(e) => format!("Elemwise{{{}}}[(0, {dest_pos})]", e.scalar.class_name()),
            // Theano's `Gemm{inplace}`: the product added onto z's own buffer.
            Op::Gemm { .. } => self.to_string().replacen("no_inplace", "inplace", 1),
            other => format!("{other}[(0, {dest_pos})]"),
        }
    }
}

impl fmt::Display for Op {
    /// Theano's `str(op)`, as debugprint shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Elemwise(e) => write!(f, "{e}"),
            Op::DimShuffle(d) => write!(f, "{d}"),
            Op::Reduce(r) => write!(f, "{r}"),
            Op::MaxAndArgmax(m) => write!(f, "{m}"),
            Op::Dot => f.write_str("dot"),
            Op::Shape => f.write_str("Shape"),
            Op::ShapeI(i) => write!(f, "Shape_i{{{i}}}"),
            Op::Reshape(r) => write!(f, "Reshape{{{}}}", r.bcast.len()),
            Op::Subtensor(s) => write!(f, "{s}"),
            Op::AdvancedSubtensor1 => f.write_str("AdvancedSubtensor1"),
            Op::AdvancedSubtensor => f.write_str("AdvancedSubtensor"),
            Op::IncSubtensor(s) => {
                let inner = s.to_string();
                write!(
                    f,
                    "IncSubtensor{{Inc;{}}}",
                    &inner["Subtensor{".len()..inner.len() - 1]
                )
            }
            Op::AdvancedIncSubtensor => {
                f.write_str("AdvancedIncSubtensor{inplace=False,  set_instead_of_inc=False}")
            }
            Op::ARange(d) => write!(f, "ARange{{dtype='{d}'}}"),
            Op::Alloc(_) => f.write_str("Alloc"),
            Op::Join(_) => f.write_str("Join"),
            Op::Nnet(n) => write!(f, "{n}"),
            Op::Composite(c) => write!(f, "{c}"),
            // PyTensor's print of a reduction fused with its elementwise input.
            Op::CompositeSum(c) => write!(f, "Sum{{Composite{{{}}}, acc_dtype=float64}}", c.expr()),
            // Theano's `Dot22`; an operand read transposed in place shows as {TN}, {NT}, {TT}.
            Op::Dot22 {
                trans_a: false,
                trans_b: false,
            } => f.write_str("Dot22"),
            Op::Dot22 { trans_a, trans_b } => write!(
                f,
                "Dot22{{{}{}}}",
                if *trans_a { "T" } else { "N" },
                if *trans_b { "T" } else { "N" }
            ),
            // Theano's `Gemm{no_inplace}` / `Gemv{no_inplace}` (the name follows B's rank, which
            // the Display cannot see: the printer asks `gemm_name`); transposes read in place
            // add `,TN` etc.
            Op::Gemm { trans_a, trans_b } => {
                let t = match (trans_a, trans_b) {
                    (false, false) => String::new(),
                    (a, b) => format!(
                        ",{}{}",
                        if *a { "T" } else { "N" },
                        if *b { "T" } else { "N" }
                    ),
                };
                write!(f, "Gemm{{no_inplace{t}}}")
            }
        }
    }
}
