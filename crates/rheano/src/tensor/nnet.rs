//! `T::nnet`: Theano's neural-network activations and losses.

use super::{ew, log, IntoVar};
use crate::graph::{apply1, Var};
use crate::ops::{NnetOp, Op, ScalarOp};

/// σ(x) = 1 / (1 + e^−x), accurate to 2 ULP over the whole range (no early clamps:
/// σ(20) = 0.9999999979388463 in float64). Integer inputs upgrade to float (spec §2.1).
pub fn sigmoid(x: impl IntoVar) -> Var {
    ew(ScalarOp::Sigmoid, vec![x.into_var()])
}

/// softplus(x) = log(1 + e^x), accurate to 2 ULP; exactly x where that is the rounded answer.
pub fn softplus(x: impl IntoVar) -> Var {
    ew(ScalarOp::Softplus, vec![x.into_var()])
}

fn pad_to_row(x: Var, op: &str) -> Var {
    if x.error().is_none() && (x.ndim() > 2 || x.ndim() == 0 || !x.dtype().is_float()) {
        return Var::invalid(crate::Error::Value {
            op: op.to_string(),
            msg: format!("x must be 1-d or 2-d tensor of floats. Got {}", x.ty()),
        });
    }
    if x.error().is_none() && x.ndim() == 1 {
        crate::warn(&format!(
            "DEPRECATION: If x is a vector, {op} will not automatically pad x anymore in next releases. If you need it, please do it manually. The vector case is gonna be supported soon and the output will be a vector."
        ));
        x.dimshuffle(&[None, Some(0)])
    } else {
        x
    }
}

/// Row-wise softmax of a matrix: e^(x − max) / Σ e^(x − max). A vector is padded to a (1, n)
/// row, with Theano's deprecation warning (so the result is a `row`).
pub fn softmax(x: impl IntoVar) -> Var {
    let x = x.into_var();
    if x.error().is_none() && x.ndim() > 0 && x.broadcastable()[x.ndim() - 1] {
        crate::warn("The softmax is applied on a dimension of shape 1, which does not have a semantic meaning.");
    }
    let x = pad_to_row(x, "Softmax");
    apply1(Op::Nnet(NnetOp::Softmax), vec![x])
}

/// Row-wise log-softmax: (x − max) − log Σ e^(x − max).
pub fn logsoftmax(x: impl IntoVar) -> Var {
    let x = pad_to_row(x.into_var(), "LogSoftmax");
    apply1(Op::Nnet(NnetOp::LogSoftmax), vec![x])
}

/// Elementwise binary crossentropy −(t·log(o) + (1 − t)·log(1 − o)) (Theano's graph macro).
pub fn binary_crossentropy(output: impl IntoVar, target: impl IntoVar) -> Var {
    let (o, t) = (output.into_var(), target.into_var());
    -(&t * log(&o) + (1.0 - &t) * log(1.0 - &o))
}
