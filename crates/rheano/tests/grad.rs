//! Symbolic gradients (spec §3, §6.3): Theano's golden values, verify_grad on every
//! differentiable op, finite gradients at trap inputs, and the options and errors of `grad`.

use ndarray::{array, Array1};
use rheano::grad::{verify_grad, VerifyGradOptions};
use rheano::prelude::*;
use rheano::{grad_with, DisconnectedInputs, GradOptions, ReturnDisconnected};

fn close(got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= rel * w.abs().max(1e-12),
            "{got:?}\nvs {want:?}"
        );
    }
}

#[test]
fn printed_gradient_graphs_match_theano() {
    let x = T::dvector("x");
    let g = rheano::grad(&(&x * 2).sum(), &[&x]).unwrap().remove(0);
    assert_eq!(
        pprint(&g),
        "(fill((x * TensorConstant{2}), fill(Sum{acc_dtype=float64}((x * TensorConstant{2})), TensorConstant{1.0})) * TensorConstant{2})"
    );
    let g = rheano::grad(&x.mean(), &[&x]).unwrap().remove(0);
    assert_eq!(
        pprint(&g),
        "fill(x, (fill((Sum{acc_dtype=float64}(x) / float64(Shape(x))[Constant{0}]), TensorConstant{1.0}) / float64(Shape(x))[Constant{0}]))"
    );
}

#[test]
fn seed_autoencoder_gradients_match_theano() {
    let [x, b, c] = T::dvectors(["x", "b", "c"]);
    let (w, v) = (T::dmatrix("W"), T::dmatrix("V"));
    let h = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
    let x_recons = T::nnet::sigmoid(&(T::dot(&v, &h) + &c));
    let cost = T::nnet::binary_crossentropy(&x_recons, &x).mean();
    let grads = rheano::grad(&cost, &[&w, &b, &v, &c]).unwrap();
    let refs: Vec<&Var> = grads.iter().collect();
    let f = function(&[&w, &x, &b, &v, &c], &refs).unwrap();
    let wv = array![[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]];
    let r = f
        .call(&[
            wv.clone().into(),
            array![0.2, 0.9].into(),
            array![0.01, -0.02, 0.03].into(),
            wv.t().to_owned().into(),
            array![0.05, -0.05].into(),
        ])
        .unwrap();
    close(
        &r[0].to_f64_vec(),
        &[
            0.002145607687381286,
            0.009655234593215786,
            -0.0006389538698608617,
            -0.0028752924143738774,
            -0.007510837801661598,
            -0.03379877010747719,
        ],
        1e-12,
    );
    close(
        &r[1].to_f64_vec(),
        &[
            0.010728038436906428,
            -0.003194769349304308,
            -0.03755418900830799,
        ],
        1e-12,
    );
    close(
        &r[2].to_f64_vec(),
        &[
            0.06754531053750305,
            0.08742142896641857,
            0.0898594224179177,
            -0.06603607818598048,
            -0.08546808464447345,
            -0.08785160357271518,
        ],
        1e-12,
    );
    close(
        &r[3].to_f64_vec(),
        &[0.14602176525568963, -0.1427590550779348],
        1e-12,
    );
}

#[test]
fn spec_golden_gradients() {
    let [x, b, y] = T::dvectors(["x", "b", "y"]);
    let w = T::dmatrix("W");
    let z = T::dot(&w, &x) + &b;
    let bce = T::nnet::binary_crossentropy(T::nnet::sigmoid(&z), &y).mean();
    let o = T::ivector("o");
    let cce = T::nnet::categorical_crossentropy(T::nnet::softmax(&z), &o).mean();
    let g = rheano::grad(&bce, &[&w, &b]).unwrap();
    let gc = rheano::grad(&cce, &[&w]).unwrap().remove(0);
    let f = function(&[&w, &x, &b, &y, &o], &[&g[0], &g[1], &gc]).unwrap();
    let r = f
        .call(&[
            array![[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]].into(),
            array![1.0, 2.0].into(),
            array![0.01, -0.02, 0.03].into(),
            array![0.0, 1.0, 1.0].into(),
            array![2i32].into(),
        ])
        .unwrap();
    close(
        &r[0].to_f64_vec(),
        &[
            0.14266795568949378,
            0.28533591137898756,
            -0.08450200555411261,
            -0.16900401110822522,
            -0.10839824247256216,
            -0.21679648494512432,
        ],
        1e-13,
    );
    close(
        &r[1].to_f64_vec(),
        &[
            0.14266795568949378,
            -0.08450200555411261,
            -0.10839824247256216,
        ],
        1e-13,
    );
    close(
        &r[2].to_f64_vec(),
        &[
            0.1297261597875204,
            0.2594523195750408,
            0.5105179331405322,
            1.0210358662810644,
            -0.6402440929280526,
            -1.2804881858561052,
        ],
        1e-13,
    );
}

fn vg(f: impl Fn(&[Var]) -> Var, pt: &[Value]) {
    verify_grad(f, pt, &VerifyGradOptions::default()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn verify_grad_elementwise_ops() {
    let a = || -> Value { array![0.3, -1.2, 2.5, -0.7].into() };
    let p = || -> Value { array![0.3, 1.2, 2.5, 0.7].into() };
    let b = || -> Value { array![1.1, 0.4, -0.9, 2.0].into() };
    vg(|x| &x[0] + &x[1], &[a(), b()]);
    vg(|x| &x[0] - &x[1], &[a(), b()]);
    vg(|x| &x[0] * &x[1], &[a(), b()]);
    vg(|x| &x[0] / &x[1], &[a(), b()]);
    vg(|x| -&x[0], &[a()]);
    vg(|x| T::pow(&x[0], &x[1]), &[p(), b()]);
    vg(|x| T::abs(&x[0]), &[a()]);
    vg(|x| T::exp(&x[0]), &[a()]);
    vg(|x| T::log(&x[0]), &[p()]);
    vg(|x| T::log1p(&x[0]), &[p()]);
    vg(|x| T::expm1(&x[0]), &[a()]);
    vg(|x| T::sqrt(&x[0]), &[p()]);
    vg(|x| T::sqr(&x[0]), &[a()]);
    vg(|x| T::tanh(&x[0]), &[a()]);
    vg(|x| T::sin(&x[0]), &[a()]);
    vg(|x| T::cos(&x[0]), &[a()]);
    vg(|x| T::inv(&x[0]), &[a()]);
    vg(|x| T::maximum(&x[0], &x[1]), &[a(), b()]);
    vg(|x| T::minimum(&x[0], &x[1]), &[a(), b()]);
    vg(|x| T::switch(T::gt(&x[0], 0), &x[0], &x[1]), &[a(), b()]);
    vg(|x| T::clip(&x[0], -1.0, 1.0), &[a()]);
    vg(|x| T::mod_(&x[0], 1.5), &[p()]);
    // Through float32: the finite differences need a step above float32's rounding.
    let coarse = VerifyGradOptions {
        eps: 1e-2,
        ..Default::default()
    };
    verify_grad(
        |x| T::cast(T::cast(&x[0], DType::Float32), DType::Float64),
        &[a()],
        &coarse,
    )
    .unwrap();
    vg(|x| T::fill(&x[0], &x[1]), &[a(), 2.0.into()]);
    vg(|x| &x[0] * T::constant(array![[1.0], [2.0]]), &[a()]);
}

#[test]
fn verify_grad_nnet_activations() {
    let a = || -> Value { array![0.3, -1.2, 2.5, -0.7, 25.0, -30.0].into() };
    let t = || -> Value { array![0.0, 1.0, 0.3, 0.9, 1.0, 0.0].into() };
    vg(|x| T::nnet::sigmoid(&x[0]), &[a()]);
    vg(|x| T::nnet::softplus(&x[0]), &[a()]);
    vg(|x| T::nnet::softsign(&x[0]), &[a()]);
    vg(|x| T::nnet::relu(&x[0]), &[a()]);
    vg(|x| T::nnet::relu_alpha(&x[0], &x[1]), &[a(), 0.1.into()]);
    vg(|x| T::nnet::elu(&x[0], &x[1]), &[a(), 1.3.into()]);
    vg(|x| T::nnet::selu(&x[0]), &[a()]);
    vg(
        |x| T::nnet::hard_sigmoid(&x[0]),
        &[array![0.3, -1.2, 2.0, -0.7].into()],
    );
    vg(
        |x| T::nnet::sigmoid_binary_crossentropy(&x[0], &x[1]),
        &[a(), t()],
    );
    vg(
        |x| T::nnet::binary_crossentropy(T::nnet::sigmoid(&x[0]), &x[1]),
        &[a(), t()],
    );
    vg(
        |x| T::nnet::binary_crossentropy(&x[0], &x[1]),
        &[array![0.2, 0.7].into(), array![0.0, 1.0].into()],
    );
}

#[test]
fn verify_grad_structural_ops() {
    let m = || -> Value { array![[0.3, -1.2, 2.5], [-0.7, 0.1, 1.9]].into() };
    let v = || -> Value { array![1.1, 0.4, -0.9].into() };
    vg(|x| x[0].sum(), &[m()]);
    vg(|x| T::sum(&x[0], 1, true), &[m()]);
    vg(|x| T::prod(&x[0], 0, false), &[m()]);
    vg(|x| T::mean(&x[0], 1, false), &[m()]);
    vg(|x| T::max(&x[0], 1, false), &[m()]);
    vg(|x| T::min(&x[0], 0, false), &[m()]);
    vg(|x| T::dot(&x[0], &x[1]), &[m(), v()]);
    vg(
        |x| T::dot(&x[0], &x[1]),
        &[v(), array![[1.0, 2.0], [0.5, -1.0], [0.3, 0.2]].into()],
    );
    vg(|x| T::dot(&x[0], &x[1]), &[v(), v()]);
    vg(|x| T::dot(&x[0], x[1].t()), &[m(), m()]);
    vg(
        |x| T::dot(&x[0], &x[1]),
        &[
            ndarray::Array3::from_shape_fn((2, 2, 3), |(i, j, k)| (i + j * k) as f64 * 0.1)
                .into_dyn()
                .into(),
            array![[1.0, 2.0], [0.5, -1.0], [0.3, 0.2]].into(),
        ],
    );
    vg(|x| x[0].t(), &[m()]);
    vg(|x| x[0].dimshuffle(&[Some(1), None, Some(0)]), &[m()]);
    vg(|x| x[0].reshape(&[3, 2]), &[m()]);
    vg(|x| x[0].flatten(), &[m()]);
    vg(
        |x| x[0].get(&[T::Idx::at(1), T::Idx::range(Some(0), Some(2), None)]),
        &[m()],
    );
    vg(
        |x| x[0].get(&[T::Idx::array(&T::constant(array![1i64, 0, 1]))]),
        &[m()],
    );
    vg(
        |x| {
            x[0].get(&[
                T::Idx::array(&T::arange_to(2)),
                T::Idx::array(&T::constant(array![2i64, 0])),
            ])
        },
        &[m()],
    );
    vg(
        |x| T::concatenate(&[x[0].clone(), x[1].clone()], 0),
        &[v(), v()],
    );
    vg(|x| T::stack(&[x[0].clone(), x[1].clone()], 1), &[v(), v()]);
    vg(
        |x| T::alloc(&x[0], vec![T::constant(2i64), T::constant(3i64)]),
        &[v()],
    );
}

#[test]
fn verify_grad_softmax_family() {
    let m = || -> Value { array![[0.3, -1.2, 2.5], [-0.7, 0.1, 1.9]].into() };
    let y = T::constant(array![2i64, 0]);
    vg(|x| T::nnet::softmax(&x[0]), &[m()]);
    vg(|x| T::nnet::logsoftmax(&x[0]), &[m()]);
    vg(|x| T::nnet::softmax_axis(&x[0], Some(0)), &[m()]);
    vg(|x| T::nnet::logsoftmax_axis(&x[0], Some(0)), &[m()]);
    vg(
        |x| T::nnet::softmax_with_bias(&x[0], &x[1]),
        &[m(), array![0.1, -0.3, 0.2].into()],
    );
    vg(
        |x| T::nnet::softmax_grad(&x[0], T::nnet::softmax(&x[1])),
        &[m(), m()],
    );
    vg(
        |x| T::nnet::categorical_crossentropy(T::nnet::softmax(&x[0]), &y),
        &[m()],
    );
    vg(
        |x| T::nnet::crossentropy_categorical_1hot(&x[0], &y),
        &[array![[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]].into()],
    );
    vg(
        |x| {
            T::nnet::categorical_crossentropy(
                T::nnet::softmax(&x[0]),
                T::constant(array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
            )
        },
        &[m()],
    );
    vg(
        |x| T::nnet::crossentropy_softmax_1hot_with_bias(&x[0], &x[1], &y).0,
        &[m(), array![0.1, -0.3, 0.2].into()],
    );
    vg(
        |x| {
            let (n, s) = T::nnet::crossentropy_softmax_1hot(&x[0], &y);
            &n.sum() + &s.sum() * 0.5
        },
        &[m()],
    );
    vg(
        |x| T::nnet::crossentropy_softmax_1hot_with_bias_dx(&x[0], T::nnet::softmax(&x[1]), &y),
        &[array![1.0, 0.5].into(), m()],
    );
    vg(
        |x| T::nnet::crossentropy_categorical_1hot_grad(&x[0], &x[1], &y),
        &[
            array![1.0, 0.5].into(),
            array![[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]].into(),
        ],
    );
    vg(|x| T::nnet::prepend_1_to_each_row(&x[0]), &[m()]);
    vg(
        |x| T::nnet::prepend_scalar_to_each_row(&x[1], &x[0]),
        &[m(), 0.5.into()],
    );
}

#[test]
fn second_derivatives_of_elementwise_ops() {
    for f in [
        |x: &Var| T::nnet::sigmoid(x),
        |x: &Var| T::nnet::softplus(x),
        |x: &Var| T::tanh(x),
        |x: &Var| T::exp(x) * T::sin(x),
        |x: &Var| T::nnet::relu(x),
        |x: &Var| T::nnet::softsign(x),
    ] {
        vg(
            |x| rheano::grad(&f(&x[0]).sum(), &[&x[0]]).unwrap().remove(0),
            &[array![0.3, -1.2, 2.5, -0.7].into()],
        );
    }
    // relu'' at 0 is 0.
    let x = T::dvector("x");
    let g = rheano::grad(&T::nnet::relu(&x).sum(), &[&x])
        .unwrap()
        .remove(0);
    let gg = rheano::grad(&g.sum(), &[&x]).unwrap().remove(0);
    assert_eq!(
        gg.eval(&[(&x, array![0.0, 1.0].into())])
            .unwrap()
            .to_f64_vec(),
        vec![0.0, 0.0]
    );
}

#[test]
fn gradients_are_finite_at_trap_inputs() {
    let z = T::dvector("z");
    let t = T::dvector("t");
    let zs = || Value::from(array![-1000.0, 1000.0, -40.0, 40.0, 0.0]);
    let ts = || Value::from(array![1.0, 0.0, 0.0, 1.0, 1.0]);
    let g = rheano::grad(&T::nnet::sigmoid_binary_crossentropy(&z, &t).sum(), &[&z])
        .unwrap()
        .remove(0);
    assert_eq!(
        g.eval(&[(&z, zs()), (&t, ts())]).unwrap().to_f64_vec()[..2],
        [-1.0, 1.0]
    );
    let g = rheano::grad(
        &T::nnet::binary_crossentropy(T::nnet::sigmoid(&z), &t).sum(),
        &[&z],
    )
    .unwrap()
    .remove(0);
    let r = g.eval(&[(&z, zs()), (&t, ts())]).unwrap().to_f64_vec();
    assert!(r.iter().all(|v| v.is_finite()), "{r:?}");
    close(&r[..2], &[-1.0, 1.0], 1e-15);
    // The sigmoid gradient stays accurate where sigmoid rounds to 1: σ'(40) = 4.25e-18, not 0.
    let g = rheano::grad(&T::nnet::sigmoid(&z).sum(), &[&z])
        .unwrap()
        .remove(0);
    let r = g
        .eval(&[(&z, array![40.0, 20.0, -40.0].into())])
        .unwrap()
        .to_f64_vec();
    close(
        &r,
        &[
            4.248354255291589e-18,
            2.0611536139418488e-09,
            4.248354255291589e-18,
        ],
        1e-14,
    );
    let f = T::fvector("f");
    let g = rheano::grad(&T::nnet::sigmoid(&f).sum(), &[&f])
        .unwrap()
        .remove(0);
    let r = g
        .eval(&[(&f, Array1::from(vec![16.0f32, 30.0]).into())])
        .unwrap()
        .to_f64_vec();
    assert!(r.iter().all(|&v| v > 0.0), "{r:?}");
    // Softmax + crossentropy at logits of 1000: softmax − onehot, for labels and one-hot rows.
    let m = T::dmatrix("m");
    let y = T::lvector("y");
    let g = rheano::grad(
        &T::nnet::categorical_crossentropy(T::nnet::softmax(&m), &y).sum(),
        &[&m],
    )
    .unwrap()
    .remove(0);
    let r = g
        .eval(&[
            (&m, array![[0.0, 0.0, 1000.0]].into()),
            (&y, array![0i64].into()),
        ])
        .unwrap()
        .to_f64_vec();
    assert_eq!(r, vec![-1.0, 0.0, 1.0]);
    let oh = T::dmatrix("oh");
    let g = rheano::grad(
        &T::nnet::categorical_crossentropy(T::nnet::softmax(&m), &oh).sum(),
        &[&m],
    )
    .unwrap()
    .remove(0);
    let r = g
        .eval(&[
            (&m, array![[0.0, 0.0, 1000.0]].into()),
            (&oh, array![[1.0, 0.0, 0.0]].into()),
        ])
        .unwrap()
        .to_f64_vec();
    assert_eq!(r, vec![-1.0, 0.0, 1.0]);
}

#[test]
fn grad_options_and_errors() {
    let [x, y] = T::dvectors(["x", "y"]);
    // Non-scalar cost.
    let e = rheano::grad(&(&x * 2.0), &[&x]).unwrap_err();
    assert!(matches!(e, Error::Type { .. }) && e.to_string().contains("cost must be a scalar"));
    // Disconnected: raise (default), ignore, warn, return None.
    let cost = (&x * 2.0).sum();
    let e = rheano::grad(&cost, &[&x, &y]).unwrap_err();
    assert!(matches!(e, Error::DisconnectedInput(_)));
    assert!(
        e.to_string().contains(": y") && e.to_string().contains("disconnected_inputs='ignore'"),
        "{e}"
    );
    let opts = GradOptions {
        disconnected_inputs: DisconnectedInputs::Ignore,
        ..Default::default()
    };
    let g = grad_with(Some(&cost), &[&x, &y], &opts).unwrap();
    assert_eq!(
        pprint(g[1].as_ref().unwrap()),
        "fill(y, TensorConstant{0.0})"
    );
    let opts = GradOptions {
        disconnected_inputs: DisconnectedInputs::Warn,
        return_disconnected: ReturnDisconnected::None,
        ..Default::default()
    };
    assert!(grad_with(Some(&cost), &[&y], &opts).unwrap()[0].is_none());
    // Through a comparison: connected, with a zero gradient (as Theano).
    let g = rheano::grad(&T::cast(T::gt(&x, &y), DType::Float64).sum(), &[&y])
        .unwrap()
        .remove(0);
    assert_eq!(
        g.eval(&[(&y, array![1.0].into())]).unwrap().to_f64_vec(),
        vec![0.0]
    );
    // Names.
    let c = cost.clone().named("c");
    assert_eq!(
        rheano::grad(&c, &[&x]).unwrap()[0].name().as_deref(),
        Some("(dc/dx)")
    );
    // Integer wrt: a float gradient (Theano gives [3, 3] here).
    let i = T::ivector("i");
    let g = rheano::grad(&(T::cast(&i, DType::Float64) * 3.0).sum(), &[&i])
        .unwrap()
        .remove(0);
    assert_eq!(g.dtype(), DType::Float64);
    assert_eq!(
        g.eval(&[(&i, array![1i32, 2].into())])
            .unwrap()
            .to_f64_vec(),
        vec![3.0, 3.0]
    );
    // consider_constant stops the gradient.
    let h = &x * 3.0;
    let cost2 = (&h * &x).sum();
    let opts = GradOptions {
        consider_constant: vec![h.clone()],
        ..Default::default()
    };
    let g = grad_with(Some(&cost2), &[&x], &opts)
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(
        g.eval(&[(&x, array![1.0, 2.0].into())])
            .unwrap()
            .to_f64_vec(),
        vec![3.0, 6.0]
    );
    // known_grads seeds an intermediate gradient; the cost may be absent.
    let opts = GradOptions {
        known_grads: vec![(h.clone(), T::constant(array![1.0, 10.0]))],
        ..Default::default()
    };
    let g = grad_with(None, &[&x], &opts).unwrap().remove(0).unwrap();
    assert_eq!(
        g.eval(&[(&x, array![1.0, 2.0].into())])
            .unwrap()
            .to_f64_vec(),
        vec![3.0, 30.0]
    );
    // The gradient with respect to labels is undefined: NullTypeGrad naming the op and input.
    let p = T::dmatrix("p");
    let lab = T::dvector("lab");
    let li = T::cast(&lab, DType::Int64);
    let e = rheano::grad(
        &T::nnet::crossentropy_categorical_1hot(&p, &li).sum(),
        &[&lab],
    );
    // Labels reach `lab` only through a cast to int: no gradient flows, so it is disconnected.
    assert!(e.is_err());
}

#[test]
fn broadcast_gradients_sum_back() {
    let m = T::dmatrix("m");
    let b = T::dvector("b");
    let r = T::drow("r");
    let s = T::dscalar("s");
    let cost = ((&m + &b) * &r * &s).sum();
    let g = rheano::grad(&cost, &[&b, &r, &s]).unwrap();
    assert_eq!(g[1].ty().kind(), "row");
    assert_eq!(g[2].ndim(), 0);
    let f = function(&[&m, &b, &r, &s], &[&g[0], &g[1], &g[2]]).unwrap();
    let out = f
        .call(&[
            array![[1.0, 2.0], [3.0, 4.0]].into(),
            array![1.0, 1.0].into(),
            array![[2.0, 3.0]].into(),
            2.0.into(),
        ])
        .unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![8.0, 12.0]);
    assert_eq!(out[1].to_f64_vec(), vec![12.0, 16.0]);
    assert_eq!(
        out[2].to_f64_vec(),
        vec![2.0 * 2.0 + 3.0 * 3.0 + 4.0 * 2.0 + 5.0 * 3.0]
    );
}
