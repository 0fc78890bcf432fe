//! Fused elementwise programs (`Elemwise{Composite{...}}`): a chain of scalar ops run in one pass
//! over the data, block by block, with intermediates kept in L1-sized block buffers.

use super::elemwise::perform_over;
use super::scalar::ScalarOp;
use super::NodeTypes;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::math::Real;
use crate::runtime::elemwise::{
    block_fn, operand, run_program, run_program_into, run_program_outputs, run_program_sum,
    run_program_sum_outputs, Operand,
};
use crate::types::TensorType;
use crate::value::Value;
use ndarray::{ArrayD, IxDyn};
use smallvec::SmallVec;
use std::fmt;

/// A program's block kernels and its operands, inline (built at every call: no allocation).
type Kernels<F> = SmallVec<[crate::runtime::elemwise::BlockFn<F>; 16]>;
type Operands<'a, F> = SmallVec<[Operand<'a, F>; 8]>;

/// One instruction: a scalar op over registers (inputs are registers `0..n_inputs`; each
/// instruction's result is the next register).
#[derive(Clone, Debug, PartialEq)]
pub struct Instr {
    pub op: ScalarOp,
    pub args: Vec<usize>,
}

/// A fused elementwise program with float outputs of dtype `dtype`: the last instruction's
/// result, then the registers `extra_outputs` (Theano's multi-output `Composite`).
#[derive(Clone, Debug, PartialEq)]
pub struct Composite {
    pub n_inputs: usize,
    pub program: Vec<Instr>,
    pub dtype: DType,
    /// Registers (of instructions before the last) that are outputs too, in order.
    pub extra_outputs: Vec<usize>,
}

impl Composite {
    pub fn infer(&self, inputs: &[&TensorType]) -> Result<TensorType> {
        let ndim = inputs.first().map(|t| t.ndim()).unwrap_or(0);
        if self.program.is_empty() {
            return Err(Error::ty(
                self.to_string(),
                "a composite needs at least one instruction",
            ));
        }
        let last = self.n_inputs + self.program.len() - 1;
        if self
            .extra_outputs
            .iter()
            .any(|&r| r < self.n_inputs || r >= last)
        {
            return Err(Error::ty(
                self.to_string(),
                "extra outputs must be registers of instructions before the last",
            ));
        }
        if inputs.len() != self.n_inputs || inputs.iter().any(|t| t.ndim() != ndim) {
            return Err(Error::ty(
                self.to_string(),
                "inputs must match the program and share their rank",
            ));
        }
        let bcast = (0..ndim)
            .map(|d| inputs.iter().all(|t| t.broadcastable[d]))
            .collect::<Vec<_>>();
        Ok(TensorType::new(self.dtype, bcast))
    }

    pub fn perform(&self, types: &NodeTypes, inputs: &[&Value]) -> Result<Value> {
        let shape = super::elemwise::out_shape(self, types.inputs, inputs)?;
        let one = shape.iter().product::<usize>() == 1;
        match (self.dtype, one) {
            (DType::Float64, true) => self.run_one::<f64>(inputs, &shape),
            (DType::Float64, false) => self.run::<f64>(inputs, &shape),
            (_, true) => self.run_one::<f32>(inputs, &shape),
            (_, false) => self.run::<f32>(inputs, &shape),
        }
    }

    /// A one-element result (a scalar of a training step: `1/n`, a learning rate's schedule):
    /// the program on one register per value, without the block machinery.
    fn run_one<F: Real>(&self, inputs: &[&Value], shape: &[usize]) -> Result<Value> {
        use crate::value::Element;
        let kernels = self.kernels::<F>()?;
        let mut regs: SmallVec<[F; 16]> = inputs
            .iter()
            .map(|v| with_value!(*v, a => a.iter().next().map(|x| x.cast::<F>())))
            .map(|x| x.unwrap_or(F::zero()))
            .collect();
        for (ins, kernel) in self.program.iter().zip(&kernels) {
            let mut out = [F::zero()];
            {
                let args: SmallVec<[&[F]; 8]> = ins
                    .args
                    .iter()
                    .map(|&a| std::slice::from_ref(&regs[a]))
                    .collect();
                kernel(&mut out, &args);
            }
            regs.push(out[0]);
        }
        let last = *regs.last().expect("a composite has an instruction");
        Ok(F::wrap(ArrayD::from_elem(IxDyn(shape), last)))
    }

    /// Number of outputs: the last instruction's, then one per extra output.
    pub fn n_outputs(&self) -> usize {
        1 + self.extra_outputs.len()
    }

    /// Every output in one pass over the data: the last instruction's result (stored, or its
    /// sum over all elements when `summed`, as `perform_sum` gives it), then the extra outputs.
    pub fn perform_all(
        &self,
        types: &NodeTypes,
        inputs: &[&Value],
        summed: bool,
    ) -> Result<Vec<Value>> {
        let shape = super::elemwise::out_shape(self, types.inputs, inputs)?;
        match self.dtype {
            DType::Float64 => self.run_all::<f64>(inputs, &shape, summed),
            _ => self.run_all::<f32>(inputs, &shape, summed),
        }
    }

    fn run_all<F: Real>(
        &self,
        inputs: &[&Value],
        shape: &[usize],
        summed: bool,
    ) -> Result<Vec<Value>> {
        let kernels = self.kernels::<F>()?;
        let n = shape.iter().product();
        let operands: Operands<F> = inputs.iter().map(|v| operand::<F>(v, shape)).collect();
        let (program, extra) = (&self.program, &self.extra_outputs);
        let wrap =
            |data: Vec<F>| F::wrap(ArrayD::from_shape_vec(IxDyn(shape), data).expect("shape"));
        let (first, extras) = if summed {
            let (total, extras) = run_program_sum_outputs(n, &operands, program, &kernels, extra);
            (Value::from(total).into_dtype(self.dtype), extras)
        } else {
            let (out, extras) = run_program_outputs(n, &operands, program, &kernels, extra);
            (wrap(out), extras)
        };
        Ok(std::iter::once(first)
            .chain(extras.into_iter().map(wrap))
            .collect())
    }

    /// Whether the program can overwrite an input of type `input`: the output has that type.
    pub fn can_overwrite(&self, input: &TensorType, output: &TensorType) -> bool {
        input == output && self.extra_outputs.is_empty()
    }

    /// Computes the program into the buffer of input `dest_pos` (given by value as `dest`; the
    /// entry of `inputs` at that position is ignored), or a fresh output when it does not fit.
    pub fn perform_inplace(
        &self,
        types: &NodeTypes,
        inputs: &[&Value],
        dest_pos: usize,
        dest: Value,
    ) -> Result<Value> {
        let fallback = |ins: &[&Value]| self.perform(types, ins);
        match self.dtype {
            DType::Float64 => {
                let kernels = self.kernels::<f64>()?;
                perform_over(self, types, inputs, dest_pos, dest, fallback, |buf, ops| {
                    run_program_into(buf, ops, &self.program, &kernels)
                })
            }
            _ => {
                let kernels = self.kernels::<f32>()?;
                perform_over(self, types, inputs, dest_pos, dest, fallback, |buf, ops| {
                    run_program_into(buf, ops, &self.program, &kernels)
                })
            }
        }
    }

    fn kernels<F: Real>(&self) -> Result<Kernels<F>> {
        self.program
            .iter()
            .map(|i| {
                block_fn::<F>(i.op).ok_or_else(|| {
                    Error::ty(
                        self.to_string(),
                        format!("{} cannot be fused", i.op.symbol()),
                    )
                })
            })
            .collect()
    }

    fn run<F: Real>(&self, inputs: &[&Value], shape: &[usize]) -> Result<Value> {
        let kernels = self.kernels::<F>()?;
        let n = shape.iter().product();
        let operands: Operands<F> = inputs.iter().map(|v| operand::<F>(v, shape)).collect();
        let out = run_program(n, &operands, &self.program, &kernels);
        Ok(F::wrap(
            ArrayD::from_shape_vec(IxDyn(shape), out).expect("shape"),
        ))
    }

    /// The sum of the program's results over every element, without storing them (the fused
    /// form of `Sum{acc_dtype=float64}(Elemwise{Composite{...}})`), as a 0-d value of the
    /// composite's dtype, accumulated in float64.
    pub fn perform_sum(&self, types: &NodeTypes, inputs: &[&Value]) -> Result<Value> {
        let shape = super::elemwise::out_shape(self, types.inputs, inputs)?;
        let n: usize = shape.iter().product();
        let total = match self.dtype {
            DType::Float64 => {
                let kernels = self.kernels::<f64>()?;
                let operands: Operands<f64> =
                    inputs.iter().map(|v| operand::<f64>(v, &shape)).collect();
                run_program_sum(n, &operands, &self.program, &kernels)
            }
            _ => {
                let kernels = self.kernels::<f32>()?;
                let operands: Operands<f32> =
                    inputs.iter().map(|v| operand::<f32>(v, &shape)).collect();
                run_program_sum(n, &operands, &self.program, &kernels)
            }
        };
        Ok(Value::from(total).into_dtype(self.dtype))
    }

    /// Theano's scalar expression of the program: `(i0 * (i1 + Abs(i1)))`; the outputs'
    /// expressions joined by `, ` when it has several.
    pub fn expr(&self) -> String {
        let mut regs: Vec<String> = (0..self.n_inputs).map(|i| format!("i{i}")).collect();
        for ins in &self.program {
            let args: Vec<&str> = ins.args.iter().map(|&a| regs[a].as_str()).collect();
            let s = match (ins.op, args.len()) {
                (ScalarOp::Neg, 1) => format!("(-{})", args[0]),
                (ScalarOp::SigmoidComplement, 1) => format!("scalar_sigmoid((-{}))", args[0]),
                (op, _) if op.operator().is_some() => {
                    format!(
                        "({})",
                        args.join(&format!(" {} ", op.operator().expect("operator")))
                    )
                }
                (op, _) => format!("{}({})", op.scalar_name(), args.join(", ")),
            };
            regs.push(s);
        }
        let extras = self.extra_outputs.iter().map(|&r| regs[r].clone());
        let mut outputs = vec![regs.last().cloned().unwrap_or_default()];
        outputs.extend(extras);
        outputs.join(", ")
    }
}

impl fmt::Display for Composite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Elemwise{{Composite{{{}}}}}", self.expr())
    }
}
