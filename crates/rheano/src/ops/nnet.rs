//! Dedicated nnet ops (softmax family and the crossentropy ops). The activations that are
//! elementwise (sigmoid, softplus, ...) are scalar ops in `scalar.rs`.

use super::NodeTypes;
use crate::error::{Error, Result};
use crate::math::Real;
use crate::types::TensorType;
use crate::value::Value;
use ndarray::{ArrayD, Axis};
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum NnetOp {
    /// Row-wise softmax of a matrix (Theano's `Softmax`).
    Softmax,
    /// Row-wise log-softmax of a matrix (Theano's `LogSoftmax`).
    LogSoftmax,
}

impl NnetOp {
    pub fn n_outputs(&self) -> usize {
        1
    }

    pub fn infer(&self, inputs: &[&TensorType]) -> Result<Vec<TensorType>> {
        match self {
            NnetOp::Softmax | NnetOp::LogSoftmax => {
                let x = inputs[0];
                if x.ndim() != 2 || !x.dtype.is_float() {
                    return Err(Error::value(
                        self.to_string(),
                        format!("x must be 1-d or 2-d tensor of floats. Got {x}"),
                    ));
                }
                Ok(vec![x.clone()])
            }
        }
    }

    pub fn perform(&self, _types: &NodeTypes, inputs: &[&Value]) -> Result<Vec<Value>> {
        match self {
            NnetOp::Softmax | NnetOp::LogSoftmax => {
                let log = *self == NnetOp::LogSoftmax;
                let out = match inputs[0] {
                    Value::F64(a) => Value::F64(softmax_rows(a, log)),
                    Value::F32(a) => Value::F32(softmax_rows(a, log)),
                    other => {
                        return Err(Error::ty(
                            self.to_string(),
                            format!("expected floats, got {}", other.dtype()),
                        ))
                    }
                };
                Ok(vec![out])
            }
        }
    }
}

/// Softmax (or log-softmax) of each row of the last axis, shifted by the row max.
pub fn softmax_rows<F: Real>(x: &ArrayD<F>, log: bool) -> ArrayD<F> {
    let mut out = x.to_owned();
    let last = Axis(x.ndim().saturating_sub(1));
    if x.ndim() == 0 {
        return out;
    }
    for mut row in out.lanes_mut(last) {
        let m = row.iter().fold(
            F::neg_infinity(),
            |m, &v| if v > m || v.is_nan() { v } else { m },
        );
        // Sum in f64: a float32 row of any length keeps its accuracy.
        let s: f64 = row.iter().map(|&v| (v - m).to_f64().exp()).sum();
        if log {
            let ls = s.ln();
            row.mapv_inplace(|v| F::c((v - m).to_f64() - ls));
        } else {
            let inv = 1.0 / s;
            row.mapv_inplace(|v| F::c((v - m).to_f64().exp() * inv));
        }
    }
    out
}

impl fmt::Display for NnetOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NnetOp::Softmax => "Softmax",
            NnetOp::LogSoftmax => "LogSoftmax",
        })
    }
}
