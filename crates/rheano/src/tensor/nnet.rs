//! `T::nnet`: Theano's neural-network activations and losses (spec §2).
//!
//! Activations are accurate to a few ULP over the whole range in float32 and float64 (spec §0.1):
//! no early cut-offs, and the right limits at ±inf. `ultra_fast_sigmoid` and `hard_sigmoid` are
//! exactly Theano's approximations.

use super::{
    arange_to, argmax, clip, dot, ew, exp, index, log, max, mul, neg, reshape, sum, Idx, IntoVar,
};
use crate::graph::{apply, apply1, Var};
use crate::ops::{NnetOp, Op, ScalarOp};
use crate::Error;

/// σ(x) = 1 / (1 + e^−x), within 2 ULP over the whole range (no early clamps:
/// σ(20) = 0.9999999979388463 in float64, σ(40) = 1). Integer inputs upgrade to float.
pub fn sigmoid(x: impl IntoVar) -> Var {
    ew(ScalarOp::Sigmoid, vec![x.into_var()])
}

/// Theano's piecewise approximation of σ (spec §2.2): with t = x/2, a = |t|,
/// T(a) = 1.5a/(1+a) for a < 1.7, 0.935409070603099 + 0.0458812946797165(a − 1.7) for a < 3,
/// 0.99505475368673 beyond; result ½(±T(a) + 1). Its largest error against σ is 0.0276
/// (near |x| ≈ 0.54 and at the |x| = 3.4 jump); NaN gives 0.00247262315663499, as in Theano.
pub fn ultra_fast_sigmoid(x: impl IntoVar) -> Var {
    ew(ScalarOp::UltraFastSigmoid, vec![x.into_var()])
}

/// Theano's `clip(x·0.2 + 0.5, 0, 1)`, with the constants in the input's float dtype.
pub fn hard_sigmoid(x: impl IntoVar) -> Var {
    let x = x.into_var();
    let d = x.dtype().upgrade_to_float();
    let slope = super::constant_of(0.2, d);
    let shift = super::constant_of(0.5, d);
    clip((&x * slope) + shift, 0, 1)
}

/// softplus(x) = log(1 + e^x), within 2 ULP; exactly x where that is the rounded answer
/// (softplus(800) = 800), and no cut-off where it is not (softplus(17) = 17.000000041399375).
pub fn softplus(x: impl IntoVar) -> Var {
    ew(ScalarOp::Softplus, vec![x.into_var()])
}

/// softsign(x) = x / (1 + |x|), with softsign(±inf) = ±1.
pub fn softsign(x: impl IntoVar) -> Var {
    ew(ScalarOp::Softsign, vec![x.into_var()])
}

/// relu(x) = max(x, 0): relu(−inf) = 0 (Theano's `0.5·(x + |x|)` gives NaN there). Its gradient
/// at 0 is 0.5 as in Theano. dtype: upcast with float32 (`relu(ivector)` is float64).
pub fn relu(x: impl IntoVar) -> Var {
    ew(ScalarOp::Relu, vec![x.into_var()])
}

/// Leaky relu: x for x > 0, alpha·x for x < 0. `alpha` may be a number or a tensor that
/// broadcasts against x (learnable PReLU slopes). relu(−1000, 0.1) = −100 exactly.
pub fn relu_alpha(x: impl IntoVar, alpha: impl IntoVar) -> Var {
    ew(ScalarOp::LeakyRelu, vec![x.into_var(), alpha.into_var()])
}

/// elu(x, alpha) = x for x > 0, alpha·(e^x − 1) otherwise (elu(−inf) = −alpha).
pub fn elu(x: impl IntoVar, alpha: impl IntoVar) -> Var {
    ew(ScalarOp::Elu, vec![x.into_var(), alpha.into_var()])
}

/// selu(x) = scale·elu(x, alpha), alpha = 1.6732632423543772848, scale = 1.0507009873554804934.
/// As in Theano the constants are Python floats, so the result is at least floatX.
pub fn selu(x: impl IntoVar) -> Var {
    ew(ScalarOp::Selu, vec![x.into_var()])
}

fn check_softmax_input(x: Var, op: &str) -> Var {
    if x.error().is_none() && (x.ndim() > 2 || x.ndim() == 0 || !x.dtype().is_float()) {
        return Var::invalid(Error::Value {
            op: op.to_string(),
            msg: format!("x must be 1-d or 2-d tensor of floats. Got {}", x.ty()),
        });
    }
    x
}

fn pad_to_row(x: Var, op: &str) -> Var {
    let x = check_softmax_input(x, op);
    if x.error().is_none() && x.ndim() == 1 {
        crate::warn(&format!(
            "DEPRECATION: If x is a vector, {op} will not automatically pad x anymore in next releases. If you need it, please do it manually. The vector case is gonna be supported soon and the output will be a vector."
        ));
        x.dimshuffle(&[None, Some(0)])
    } else {
        x
    }
}

/// Theano's row-wise softmax of a matrix: e^(x − max) / Σ e^(x − max), within
/// 4 + |x − rowmax| ULP. A vector is padded to a (1, n) `row`, with Theano's deprecation warning;
/// softmax over a dimension of length 1 warns too. Use [`softmax_axis`] for any axis.
pub fn softmax(x: impl IntoVar) -> Var {
    let x = x.into_var();
    if x.error().is_none() && x.ndim() > 0 && x.broadcastable()[x.ndim() - 1] {
        crate::warn("The softmax is applied on a dimension of shape 1, which does not have a semantic meaning.");
    }
    let x = pad_to_row(x, "Softmax");
    apply1(Op::Nnet(NnetOp::Softmax { axis: None }), vec![x])
}

fn norm_axis(x: &Var, axis: Option<i64>, op: &str) -> Result<usize, Error> {
    let nd = x.ndim() as i64;
    let a = axis.unwrap_or(-1);
    let a = if a < 0 { a + nd } else { a };
    if a < 0 || a >= nd {
        return Err(Error::value(
            op,
            format!("axis {axis:?} out of range for {}", x.ty()),
        ));
    }
    Ok(a as usize)
}

/// Softmax over one axis of a tensor of any rank (default: the last axis, PyTensor's `axis`
/// argument with the default of the user ask). Vectors stay vectors.
pub fn softmax_axis(x: impl IntoVar, axis: Option<i64>) -> Var {
    let x = x.into_var();
    match norm_axis(&x, axis, "softmax") {
        Ok(a) => apply1(Op::Nnet(NnetOp::Softmax { axis: Some(a) }), vec![x]),
        Err(e) => Var::invalid(e),
    }
}

/// Theano's row-wise log-softmax: (x − max) − log Σ e^(x − max) (vector → row, with warning).
pub fn logsoftmax(x: impl IntoVar) -> Var {
    let x = pad_to_row(x.into_var(), "LogSoftmax");
    apply1(Op::Nnet(NnetOp::LogSoftmax { axis: None }), vec![x])
}

/// Log-softmax over one axis (default: the last).
pub fn logsoftmax_axis(x: impl IntoVar, axis: Option<i64>) -> Var {
    let x = x.into_var();
    match norm_axis(&x, axis, "logsoftmax") {
        Ok(a) => apply1(Op::Nnet(NnetOp::LogSoftmax { axis: Some(a) }), vec![x]),
        Err(e) => Var::invalid(e),
    }
}

/// softmax(x + b) row-wise (Theano's `SoftmaxWithBias`): x a float matrix, b a float vector.
pub fn softmax_with_bias(x: impl IntoVar, b: impl IntoVar) -> Var {
    apply1(
        Op::Nnet(NnetOp::SoftmaxWithBias),
        vec![x.into_var(), b.into_var()],
    )
}

/// `SoftmaxGrad(dy, sm)` = dy⊙sm − rowsum(dy⊙sm)·sm (1-D inputs are padded to rows).
pub fn softmax_grad(dy: impl IntoVar, sm: impl IntoVar) -> Var {
    let (dy, sm) = (dy.into_var(), sm.into_var());
    let pad = |v: Var| {
        if v.error().is_none() && v.ndim() == 1 {
            v.dimshuffle(&[None, Some(0)])
        } else {
            v
        }
    };
    apply1(
        Op::Nnet(NnetOp::SoftmaxGrad { axis: None }),
        vec![pad(dy), pad(sm)],
    )
}

/// Elementwise −(t·log(o) + (1 − t)·log(1 − o)) (Theano's graph). When `o = sigmoid(z)` the
/// stabilising rewrites make it t·softplus(−z) + (1 − t)·softplus(z): finite for any z.
pub fn binary_crossentropy(output: impl IntoVar, target: impl IntoVar) -> Var {
    let (o, t) = (output.into_var(), target.into_var());
    -(&t * log(&o) + (1.0 - &t) * log(1.0 - &o))
}

/// Binary crossentropy on logits: softplus(−|z|) + z·((z > 0) − t), finite for every finite z;
/// gradient (σ(z) − t) with respect to z and −z with respect to t.
pub fn sigmoid_binary_crossentropy(output: impl IntoVar, target: impl IntoVar) -> Var {
    let (z, t) = (output.into_var(), target.into_var());
    let mut e = crate::ops::Elemwise::user(ScalarOp::SigmoidBinaryCrossentropy);
    e.name = Some("sigmoid_binary_crossentropy{inline=True}".into());
    super::elemwise(e, vec![z, t])
}

/// Categorical crossentropy. With targets of the same rank as `coding` (one-hot or soft):
/// −Σ true·log(coding) over the last axis. With integer labels (one rank less):
/// [`crossentropy_categorical_1hot`]. Any other ranks: a TypeError.
pub fn categorical_crossentropy(coding_dist: impl IntoVar, true_dist: impl IntoVar) -> Var {
    let (c, t) = (coding_dist.into_var(), true_dist.into_var());
    if let Some(e) = c.error().or(t.error()) {
        return Var::invalid(e.clone());
    }
    if t.ndim() == c.ndim() {
        neg(sum(&(&t * log(&c)), (c.ndim() as i64) - 1, false))
    } else if t.ndim() + 1 == c.ndim() {
        crossentropy_categorical_1hot(c, t)
    } else {
        Var::invalid(Error::Type {
            op: "categorical_crossentropy".into(),
            msg: "rank mismatch between coding and true distributions".into(),
        })
    }
}

/// −log coding[i, t_i] for a float matrix `coding` and an int32/int64 label vector `t`.
/// Labels outside [0, n_classes) are an error at run time.
pub fn crossentropy_categorical_1hot(
    coding_dist: impl IntoVar,
    true_one_of_n: impl IntoVar,
) -> Var {
    apply1(
        Op::Nnet(NnetOp::CrossentropyCategorical1Hot),
        vec![coding_dist.into_var(), true_one_of_n.into_var()],
    )
}

/// The gradient of [`crossentropy_categorical_1hot`] with respect to coding: −g_i / p[i, t_i]
/// at [i, t_i], zeros elsewhere.
pub fn crossentropy_categorical_1hot_grad(
    g: impl IntoVar,
    coding_dist: impl IntoVar,
    true_one_of_n: impl IntoVar,
) -> Var {
    apply1(
        Op::Nnet(NnetOp::CrossentropyCategorical1HotGrad),
        vec![
            g.into_var(),
            coding_dist.into_var(),
            true_one_of_n.into_var(),
        ],
    )
}

/// The fused op: (nll, softmax(x + b), argmax(x + b)) with nll_i = log Σ e^(r − m) − (r_y − m).
pub fn crossentropy_softmax_argmax_1hot_with_bias(
    x: impl IntoVar,
    b: impl IntoVar,
    y_idx: impl IntoVar,
) -> (Var, Var, Var) {
    let o = apply(
        Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias),
        vec![x.into_var(), b.into_var(), y_idx.into_var()],
    );
    (o[0].clone(), o[1].clone(), o[2].clone())
}

/// (nll, softmax(x + b)): the first two outputs of the fused op.
pub fn crossentropy_softmax_1hot_with_bias(
    x: impl IntoVar,
    b: impl IntoVar,
    y_idx: impl IntoVar,
) -> (Var, Var) {
    let (nll, sm, _) = crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx);
    (nll, sm)
}

/// Zeros shaped like a row of `x`, as Theano builds the missing bias (`fill(x[0, :], 0.0)`).
fn zero_bias(x: &Var) -> Var {
    super::zeros_like(&index(x, &[Idx::at(0), Idx::all()]))
}

/// (nll, softmax(x)) with a zero bias.
pub fn crossentropy_softmax_1hot(x: impl IntoVar, y_idx: impl IntoVar) -> (Var, Var) {
    let x = x.into_var();
    let b = zero_bias(&x);
    crossentropy_softmax_1hot_with_bias(&x, b, y_idx)
}

/// (nll, sm, max(sm, axis=-1), argmax(sm, axis=-1)).
pub fn crossentropy_softmax_max_and_argmax_1hot_with_bias(
    x: impl IntoVar,
    b: impl IntoVar,
    y_idx: impl IntoVar,
) -> (Var, Var, Var, Var) {
    let (nll, sm) = crossentropy_softmax_1hot_with_bias(x, b, y_idx);
    let mx = max(&sm, -1, false);
    let am = argmax(&sm, -1, false);
    (nll, sm, mx, am)
}

/// [`crossentropy_softmax_max_and_argmax_1hot_with_bias`] with a zero bias.
pub fn crossentropy_softmax_max_and_argmax_1hot(
    x: impl IntoVar,
    y_idx: impl IntoVar,
) -> (Var, Var, Var, Var) {
    let x = x.into_var();
    let b = zero_bias(&x);
    crossentropy_softmax_max_and_argmax_1hot_with_bias(&x, b, y_idx)
}

/// dx_i = dy_i·(sm\[i\] − onehot(y_i)): the gradient of the fused op's nll.
pub fn crossentropy_softmax_1hot_with_bias_dx(
    dy: impl IntoVar,
    sm: impl IntoVar,
    y_idx: impl IntoVar,
) -> Var {
    apply1(
        Op::Nnet(NnetOp::CrossentropySoftmax1HotWithBiasDx),
        vec![dy.into_var(), sm.into_var(), y_idx.into_var()],
    )
}

/// The confusion matrix of two label vectors and the sorted distinct labels:
/// `[conf (rows = actual, columns = predicted, int64), order]`.
pub fn confusion_matrix(actual: impl IntoVar, pred: impl IntoVar) -> (Var, Var) {
    let o = apply(
        Op::Nnet(NnetOp::ConfusionMatrix),
        vec![actual.into_var(), pred.into_var()],
    );
    (o[0].clone(), o[1].clone())
}

/// A column of `val` (a number) prepended to a matrix.
pub fn prepend_scalar_constant_to_each_row(mat: impl IntoVar, val: f64) -> Var {
    apply1(
        Op::Nnet(NnetOp::PrependScalarConstant(val)),
        vec![mat.into_var()],
    )
}

/// A column of `val` (a symbolic scalar) prepended to a matrix.
pub fn prepend_scalar_to_each_row(val: impl IntoVar, mat: impl IntoVar) -> Var {
    apply1(
        Op::Nnet(NnetOp::PrependScalar),
        vec![val.into_var(), mat.into_var()],
    )
}

/// A column of zeros prepended to a matrix.
pub fn prepend_0_to_each_row(mat: impl IntoVar) -> Var {
    prepend_scalar_constant_to_each_row(mat, 0.0)
}

/// A column of ones prepended to a matrix.
pub fn prepend_1_to_each_row(mat: impl IntoVar) -> Var {
    prepend_scalar_constant_to_each_row(mat, 1.0)
}

/// Two-level hierarchical softmax (spec §2.8). `x`: (batch, features); `w1`: (features,
/// n_classes); `b1`: (n_classes,); `w2`: (n_classes, features, n_outputs_per_class); `b2`:
/// (n_classes, n_outputs_per_class). Without a target: (batch, n_outputs) probabilities, output
/// k in class k / n_per. With a target (batch,) of output indices: each one's probability.
#[allow(clippy::too_many_arguments)]
pub fn h_softmax(
    x: &Var,
    batch_size: i64,
    n_outputs: i64,
    n_classes: i64,
    n_outputs_per_class: i64,
    w1: &Var,
    b1: &Var,
    w2: &Var,
    b2: &Var,
    target: Option<&Var>,
) -> Var {
    if n_classes * n_outputs_per_class < n_outputs {
        return Var::invalid(Error::value(
            "h_softmax",
            format!(
                "n_classes·n_outputs_per_class = {} < n_outputs = {n_outputs}",
                n_classes * n_outputs_per_class
            ),
        ));
    }
    let class_probs = softmax(dot(x, w1) + b1);
    match target {
        None => {
            // (batch, n_classes, n_per): dot contracts x's features with w2's second-to-last axis.
            let act = dot(x, w2) + b2;
            let flat = reshape(&act, &[-1, n_outputs_per_class]);
            let out_probs = reshape(&softmax(&flat), &[batch_size, n_classes, -1]);
            let probs = mul(out_probs, class_probs.dimshuffle(&[Some(0), Some(1), None]));
            let probs = reshape(&probs, &[batch_size, -1]);
            index(
                &probs,
                &[Idx::all(), Idx::range(None, Some(n_outputs), None)],
            )
        }
        Some(t) => {
            let t = t.flatten();
            let cls = super::int_div(&t, n_outputs_per_class);
            let within = &t % n_outputs_per_class;
            let w2c = index(w2, &[Idx::array(&cls)]);
            let b2c = index(b2, &[Idx::array(&cls)]);
            let act = sum(&(x.dimshuffle(&[Some(0), Some(1), None]) * w2c), 1, false) + b2c;
            let rows = arange_to(super::shape(&t).at(0));
            let p_out = index(&softmax(&act), &[Idx::array(&rows), Idx::array(&within)]);
            let p_cls = index(&class_probs, &[Idx::array(&rows), Idx::array(&cls)]);
            p_cls * p_out
        }
    }
}

/// e^x / Σ e^x over the last axis, Theano's naive helper (not stabilised by itself).
pub fn softmax_graph(c: impl IntoVar) -> Var {
    let c = c.into_var();
    let e = exp(&c);
    &e / sum(&e, -1, true)
}
