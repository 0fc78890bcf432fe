//! Rewrites, asserted on the compiled graph (spec §4, §5.2).

use ndarray::{array, Array1};
use rheano::prelude::*;
use rheano::{function_with, FunctionOptions, Mode};

mod common;

fn compiled(inputs: &[&Var], out: &Var) -> rheano::Function {
    function_with(
        inputs,
        &[out],
        FunctionOptions {
            explain: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn log_sigmoid_becomes_softplus() {
    let x = T::dvector("x");
    let f = compiled(&[&x], &T::log(T::nnet::sigmoid(&x)));
    assert!(
        f.explain().contains("logsigm_to_softplus"),
        "{}",
        f.explain()
    );
    assert!(
        f.debugprint().contains("scalar_softplus"),
        "{}",
        f.debugprint()
    );
    let r = f.call(&[array![-800.0, 0.0].into()]).unwrap()[0].to_f64_vec();
    assert_eq!(r[0], -800.0);
    assert!((r[1] + std::f64::consts::LN_2).abs() < 1e-16);
}

#[test]
fn crossentropy_of_softmax_becomes_the_fused_op() {
    let m = T::dmatrix("m");
    let y = T::lvector("y");
    let f = compiled(
        &[&m, &y],
        &T::nnet::categorical_crossentropy(T::nnet::softmax(&m), &y),
    );
    assert!(
        f.debugprint()
            .contains("CrossentropySoftmaxArgmax1HotWithBias"),
        "{}",
        f.debugprint()
    );
    let oh = T::dmatrix("oh");
    let f = compiled(
        &[&m, &oh],
        &T::nnet::categorical_crossentropy(T::nnet::softmax(&m), &oh),
    );
    let d = f.debugprint();
    assert!(d.starts_with("CrossentropySoftmaxDense"), "{d}");
    assert_eq!(d.lines().count(), 3, "one node over m and oh:\n{d}");
    let r = f
        .call(&[
            array![[0.0, 0.0, 1000.0]].into(),
            array![[1.0, 0.0, 0.0]].into(),
        ])
        .unwrap()[0]
        .to_f64_vec();
    assert_eq!(r, vec![1000.0]);
}

#[test]
fn a_chain_of_ten_elementwise_ops_is_one_composite() {
    let x = T::dvector("x");
    let mut v = x.clone();
    for k in 0..10 {
        v = match k % 5 {
            0 => &v * 1.5,
            1 => &v + 0.25,
            2 => T::tanh(&v),
            3 => T::nnet::sigmoid(&v),
            _ => T::exp(-&v),
        };
    }
    let f = compiled(&[&x], &v);
    let d = f.debugprint();
    assert_eq!(
        d.lines().count(),
        4,
        "one Composite node over x and two constants:\n{d}"
    );
    assert!(d.starts_with("Elemwise{Composite{"), "{d}");
    let none = function_with(
        &[&x],
        &[&v],
        FunctionOptions {
            mode: Mode::None,
            ..Default::default()
        },
    )
    .unwrap();
    let xs: Value = Array1::linspace(-3.0, 3.0, 101).into();
    assert_eq!(
        f.call(std::slice::from_ref(&xs)).unwrap()[0],
        none.call(&[xs]).unwrap()[0]
    );
}

#[test]
fn relu_composite_prints_as_theano() {
    let x = T::dvector("x");
    let relu = 0.5 * (&x + T::abs(&x));
    let f = compiled(&[&x], &relu);
    assert!(
        f.debugprint()
            .starts_with("Elemwise{Composite{(i0 * (i1 + Abs(i1)))}}"),
        "{}",
        f.debugprint()
    );
}

#[test]
fn merge_and_constant_folding() {
    let x = T::dvector("x");
    let a = T::exp(&x);
    let b = T::exp(&x);
    let f = compiled(&[&x], &(&a + &b + (T::constant(2.0) * 3.0)));
    assert!(f.explain().contains("merge"), "{}", f.explain());
    assert!(f.explain().contains("constant_folding"), "{}", f.explain());
    assert_eq!(
        f.call(&[array![0.0].into()]).unwrap()[0].to_f64_vec(),
        vec![8.0]
    );
}

#[test]
fn opt_in_approximations_and_excluding() {
    let x = T::dvector("x");
    let out = T::nnet::sigmoid(&x);
    let inc = |name: &str| FunctionOptions {
        including: vec![name.into()],
        ..Default::default()
    };
    let f = function_with(&[&x], &[&out], inc("local_ultra_fast_sigmoid")).unwrap();
    assert_eq!(
        f.call(&[array![1.0].into()]).unwrap()[0].to_f64_vec(),
        vec![0.75]
    );
    let f = function_with(&[&x], &[&out], inc("local_hard_sigmoid")).unwrap();
    assert!((f.call(&[array![1.0].into()]).unwrap()[0].to_f64_vec()[0] - 0.7).abs() < 1e-15);
    // log(sigmoid) is stabilised before the opt-in rewrite runs.
    let f = function_with(
        &[&x],
        &[&T::log(T::nnet::sigmoid(&x))],
        inc("local_ultra_fast_sigmoid"),
    )
    .unwrap();
    assert_eq!(
        f.call(&[array![-800.0].into()]).unwrap()[0].to_f64_vec(),
        vec![-800.0]
    );
    let ex = FunctionOptions {
        excluding: vec!["logsigm_to_softplus".into()],
        ..Default::default()
    };
    let f = function_with(&[&x], &[&T::log(T::nnet::sigmoid(&x))], ex).unwrap();
    assert_eq!(
        f.call(&[array![-800.0].into()]).unwrap()[0].to_f64_vec(),
        vec![f64::NEG_INFINITY]
    );
}

#[test]
fn fast_compile_is_stable_too() {
    let z = T::dvector("z");
    let t = T::dvector("t");
    let bce = T::nnet::binary_crossentropy(T::nnet::sigmoid(&z), &t);
    let f = function_with(
        &[&z, &t],
        &[&bce],
        FunctionOptions {
            mode: Mode::FastCompile,
            ..Default::default()
        },
    )
    .unwrap();
    let r = f
        .call(&[array![-1000.0, 40.0].into(), array![1.0, 1.0].into()])
        .unwrap()[0]
        .to_f64_vec();
    assert_eq!(r[0], 1000.0);
    assert!((r[1] - 4.248354255291589e-18).abs() < 1e-30);
}

#[test]
fn more_stabilisations() {
    let m = T::dmatrix("m");
    let x = T::dvector("x");
    // argmax(softmax(x)) → argmax(x)
    let f = compiled(&[&m], &T::argmax(&T::nnet::softmax(&m), 1, false));
    assert!(
        f.explain().contains("local_argmax_pushdown") && !f.debugprint().contains("Softmax"),
        "{}",
        f.debugprint()
    );
    // exp(x) / exp(x).sum(axis=1, keepdims=True) → softmax
    let e = T::exp(&m);
    let f = compiled(&[&m], &(&e / T::sum(&e, 1, true)));
    assert!(f.debugprint().starts_with("Softmax"), "{}", f.debugprint());
    let r = f.call(&[array![[1000.0, 1000.0]].into()]).unwrap()[0].to_f64_vec();
    assert_eq!(r, vec![0.5, 0.5]);
    // x − log(sum(exp(x), keepdims)) → log_softmax
    let f = compiled(&[&m], &(&m - T::log(T::sum(&T::exp(&m), 1, true))));
    assert!(
        f.debugprint().starts_with("LogSoftmax"),
        "{}",
        f.debugprint()
    );
    // log(sum(exp(x))) stays finite for large x
    let f = compiled(&[&x], &T::log(T::exp(&x).sum()));
    let r = f.call(&[array![1000.0, 1000.0].into()]).unwrap()[0].to_f64_vec()[0];
    assert!((r - (1000.0 + std::f64::consts::LN_2)).abs() < 1e-12, "{r}");
    // 1 − sigmoid(x) → sigmoid(−x); log(1 + x) → log1p(x); exp(x) − 1 → expm1(x)
    let f = compiled(&[&x], &(1.0 - T::nnet::sigmoid(&x)));
    assert_eq!(
        f.call(&[array![40.0].into()]).unwrap()[0].to_f64_vec(),
        vec![4.248354255291589e-18]
    );
    let f = compiled(&[&x], &T::log(1.0 + &x));
    assert_eq!(
        f.call(&[array![1e-20].into()]).unwrap()[0].to_f64_vec(),
        vec![1e-20]
    );
    let f = compiled(&[&x], &(T::exp(&x) - 1.0));
    assert_eq!(
        f.call(&[array![1e-20].into()]).unwrap()[0].to_f64_vec(),
        vec![1e-20]
    );
}

#[test]
fn log_softmax_is_found_through_indexing_and_reshapes() {
    let m = T::dmatrix("m");
    let y = T::lvector("y");
    let picked = T::nnet::softmax(&m).get(&[
        T::Idx::array(&T::arange_to(T::shape(&y).at(0))),
        T::Idx::array(&y),
    ]);
    let f = compiled(&[&m, &y], &(-T::log(&picked)).mean());
    assert!(
        f.explain().contains("local_logsoftmax_lift"),
        "{}",
        f.explain()
    );
    let r = f
        .call(&[array![[0.0, 0.0, 1000.0]].into(), array![0i64].into()])
        .unwrap()[0]
        .to_f64_vec();
    assert_eq!(r, vec![1000.0]);
    let g = rheano::grad(&(-T::log(&picked)).mean(), &[&m])
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
    let t = T::nnet::softmax(&m).t();
    let f = compiled(&[&m], &T::log(&t));
    let r = f.call(&[array![[0.0, 1000.0]].into()]).unwrap()[0].to_f64_vec();
    assert_eq!(r, vec![-1000.0, 0.0]);
}

/// The seed compiles as in Theano 1.0.5: the bias add is folded into a Gemv and the sigmoid
/// overwrites its output in place.
#[test]
fn dot_plus_bias_becomes_gemv_and_the_sigmoid_runs_in_place() {
    let [x, b] = T::dvectors(["x", "b"]);
    let w = T::dmatrix("W");
    let out = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
    let f = compiled(&[&w, &x, &b], &out);
    assert_eq!(
        f.debugprint(),
        "Elemwise{ScalarSigmoid}[(0, 0)] [id A] ''   1\n |Gemv{no_inplace} [id B] ''   0\n   |b [id C]\n   |TensorConstant{1.0} [id D]\n   |W [id E]\n   |x [id F]\n   |TensorConstant{1.0} [id D]\n"
    );
    assert!(f.explain().contains("local_gemm"));
    let r = f
        .call(&[
            array![[1.0, 2.0], [3.0, -4.0]].into(),
            array![0.5, -1.0].into(),
            array![0.25, 0.0].into(),
        ])
        .unwrap();
    let want: Vec<f64> = [1.0 * 0.5 - 2.0 + 0.25, 3.0 * 0.5 + 4.0]
        .iter()
        .map(|z: &f64| 1.0 / (1.0 + (-z).exp()))
        .collect();
    assert_eq!(r[0].to_f64_vec(), want);
}

/// A layer's bias row and an SGD step each join their matrix product; a product read twice
/// stays a Dot22 (computing it twice would be slower).
#[test]
fn gemm_takes_scaled_updates_and_leaves_bias_rows_to_fusion() {
    let x = T::dmatrix("x");
    let w = T::dmatrix("W");
    let b = T::dvector("b");
    let lr = T::dscalar("lr");
    let layer = T::tanh(&(T::dot(&x, &w) + &b));
    let step = &w - &(&lr * &T::dot(x.t(), &x));
    let f = function(&[&x, &w, &b, &lr], &[&layer, &step]).unwrap();
    let dp = f.debugprint();
    // As Theano 1.0.5: a bias row stays out of the GEMM and is fused into the activation
    // (`Elemwise{Composite{tanh((i0 + i1))}}(Dot22(x, W), InplaceDimShuffle{x,0}(b))`); a term
    // of the product's own type joins it.
    assert!(dp.contains("Composite{tanh((i0 + i1))}"), "{dp}");
    assert!(dp.contains(" |Dot22 [id"), "{dp}");
    assert!(!dp.contains("Gemm{no_inplace} [id"), "{dp}");
    assert!(dp.contains("Gemm{no_inplace,TN} [id"), "{dp}");
    let xv = array![[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]];
    let wv = array![[0.1, 0.2], [0.3, 0.4]];
    let r = f
        .call(&[
            xv.clone().into_dyn().into(),
            wv.clone().into_dyn().into(),
            array![1.0, -1.0].into(),
            0.5.into(),
        ])
        .unwrap();
    let layer_want = (xv.dot(&wv) + &array![1.0, -1.0]).mapv(f64::tanh);
    let step_want = &wv - &(xv.t().dot(&xv) * 0.5);
    for (got, want) in r[0].to_f64_vec().iter().zip(layer_want.iter()) {
        assert!((got - want).abs() < 1e-15);
    }
    for (got, want) in r[1].to_f64_vec().iter().zip(step_want.iter()) {
        assert!((got - want).abs() < 1e-15);
    }
    let shared_product = T::dot(&x, &w);
    let g = function(
        &[&x, &w, &b],
        &[&(&shared_product + &b), &T::exp(&shared_product)],
    )
    .unwrap();
    assert!(!g.debugprint().contains("Gemm"), "{}", g.debugprint());
}

/// Canonical and specialised algebra (spec §4.3): powers, negations, differences, reciprocals.
#[test]
fn canonical_forms_of_neg_sub_div_pow() {
    let x = T::dvector("x");
    let y = T::dvector("y");
    let cases: Vec<(Var, &str)> = vec![
        (T::pow(&x, 2.0), "Elemwise{sqr,no_inplace}"),
        (T::pow(&x, 0.5), "Elemwise{sqrt,no_inplace}"),
        (T::pow(&x, -1.0), "Elemwise{inv,no_inplace}"),
        (T::pow(&x, -0.5), "Elemwise{Composite{inv(sqrt(i0))}}"),
        (&x * &x, "Elemwise{sqr,no_inplace}"),
        (1.0 / &x, "Elemwise{inv,no_inplace}"),
        (-(-(&x)) + &y, "Elemwise{add,no_inplace}"),
        (-(-(&x) / &y), "Elemwise{true_div,no_inplace}"),
        (&x - (-(&y)), "Elemwise{add,no_inplace}"),
        (&x + (-(&y)), "Elemwise{sub,no_inplace}"),
    ];
    for (out, want) in cases {
        let f = function_with(
            &[&x, &y],
            &[&out],
            FunctionOptions {
                on_unused_input: rheano::OnUnusedInput::Ignore,
                ..Default::default()
            },
        )
        .unwrap();
        let dp = f.debugprint();
        assert!(dp.starts_with(want), "{}: {dp}", pprint(&out));
        let r = f
            .call(&[array![0.25, 4.0].into(), array![2.0, -3.0].into()])
            .unwrap();
        let plain = function_with(
            &[&x, &y],
            &[&out],
            FunctionOptions {
                mode: Mode::None,
                on_unused_input: rheano::OnUnusedInput::Ignore,
                ..Default::default()
            },
        )
        .unwrap()
        .call(&[array![0.25, 4.0].into(), array![2.0, -3.0].into()])
        .unwrap();
        assert_eq!(r[0], plain[0], "{}", pprint(&out));
    }
    // x ** 1 → x, x ** 0 → 1, x − x → 0: nothing left to compute but a fill.
    let f = compiled(&[&x], &(T::pow(&x, 1.0) + T::pow(&x, 0.0) + T::sub(&x, &x)));
    let r = f.call(&[array![3.0, -2.0].into()]).unwrap();
    assert_eq!(r[0].to_f64_vec(), vec![4.0, -1.0]);
    assert!(f.explain().contains("local_pow_canonicalize"));
    assert!(f.explain().contains("local_sub_self"));
}

/// binary_crossentropy(sigmoid(z), t) becomes one sigmoid_binary_crossentropy per element (one
/// softplus instead of two), and its gradient one fused σ(z) − t expression, computed in the
/// loss's own pass; the forward pass is not recomputed for the gradient (the fill that seeds it
/// only needs a shape).
#[test]
fn sigmoid_crossentropy_is_one_op_and_its_gradient_one_pass() {
    let z = T::dvector("z");
    let t = T::dvector("t");
    let cost = T::nnet::binary_crossentropy(T::nnet::sigmoid(&z), &t).mean();
    let g = rheano::grad(&cost, &[&z]).unwrap().remove(0);
    let f = function_with(
        &[&z, &t],
        &[&cost, &g],
        FunctionOptions {
            explain: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(f.explain().contains("local_sigmoid_binary_crossentropy"));
    let dp = f.debugprint();
    // One node, which also computes the gradient (σ(z) − t)/n in the same pass.
    let ids = common::node_ids(&dp, "sigmoid_binary_crossentropy");
    assert_eq!(ids.len(), 1, "{dp}");
    assert!(
        dp.contains(
            "Sum{Composite{sigmoid_binary_crossentropy(i1, i2), (i0 * (scalar_sigmoid(i1) - i2))}"
        ),
        "{dp}"
    );
    let r = f
        .call(&[
            array![1000.0, -1000.0, 0.5].into(),
            array![0.0, 1.0, 0.25].into(),
        ])
        .unwrap();
    let want_cost = (1000.0 + 1000.0 + (0.5f64.exp().ln_1p() - 0.25 * 0.5)) / 3.0;
    assert!((r[0].to_f64_vec()[0] - want_cost).abs() < 1e-12);
    let s = 1.0 / (1.0 + (-0.5f64).exp());
    let want_g = [1.0 / 3.0, -1.0 / 3.0, (s - 0.25) / 3.0];
    for (got, want) in r[1].to_f64_vec().iter().zip(want_g) {
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
    }
}

/// A trailing sum joins the fused program when nothing else reads the elementwise result (a
/// mean's divisor reads only the shape, taken from an input): one pass, no n-element buffer.
#[test]
fn a_trailing_sum_fuses_with_its_elementwise_chain() {
    let x = T::dvector("x");
    let y = T::dvector("y");
    let loss = (T::tanh(&x) * 2.0 + &y).sum();
    let f = compiled(&[&x, &y], &loss);
    let dp = f.debugprint();
    assert!(
        dp.starts_with("Sum{Composite{((tanh(i0) * i1) + i2)}, acc_dtype=float64} [id A] ''   0\n"),
        "{dp}"
    );
    let mean = T::nnet::binary_crossentropy(T::nnet::sigmoid(&x), &y).mean();
    let g = compiled(&[&x, &y], &mean);
    assert!(
        g.debugprint()
            .contains("Sum{Composite{sigmoid_binary_crossentropy(i0, i1)}"),
        "{}",
        g.debugprint()
    );
    let xs: Vec<f64> = (0..100_000)
        .map(|i| ((i % 97) as f64 - 48.0) / 7.0)
        .collect();
    let ys: Vec<f64> = (0..100_000).map(|i| (i % 2) as f64).collect();
    let args = [
        Array1::from(xs.clone()).into(),
        Array1::from(ys.clone()).into(),
    ];
    let got = f.call(&args).unwrap()[0].to_f64_vec()[0];
    let want: f64 = xs.iter().zip(&ys).map(|(a, b)| a.tanh() * 2.0 + b).sum();
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{got} vs {want}"
    );
    let got = g.call(&args).unwrap()[0].to_f64_vec()[0];
    let want: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(z, t)| z.max(0.0) - z * t + (-z.abs()).exp().ln_1p())
        .sum::<f64>()
        / 100_000.0;
    assert!((got - want).abs() <= 1e-12 * want.abs(), "{got} vs {want}");
}

/// The MLP training step of W7 compiles as Theano 1.0.5's does: the hidden bias fused into the
/// sigmoid, `SoftmaxWithBias` + `CrossentropySoftmax1HotWithBiasDx(1/n, ...)` when the cost is
/// not returned (no fused crossentropy node, no `fill` of the per-row costs), and one fused node
/// whose softmax the gradient reuses when it is. Unlike Theano, the hidden layer's program also
/// returns σ(−x), which the gradient reads (`sigmoid_complement_sharing`). Both agree with the
/// unrewritten graph.
#[test]
fn mlp_step_graph_as_theano() {
    let x = T::dmatrix("x");
    let y = T::lvector("y");
    let w1 = T::dmatrix("W1");
    let b1 = T::dvector("b1");
    let w2 = T::dmatrix("W2");
    let b2 = T::dvector("b2");
    let h = T::nnet::sigmoid(T::dot(&x, &w1) + &b1);
    let logits = T::dot(&h, &w2) + &b2;
    let cost = T::nnet::categorical_crossentropy(T::nnet::softmax(&logits), &y).mean();
    let grads = rheano::grad(&cost, &[&w1, &b1, &w2, &b2]).unwrap();
    let inputs = [&x, &y, &w1, &b1, &w2, &b2];
    let grad_refs: Vec<&Var> = grads.iter().collect();
    let with_cost: Vec<&Var> = std::iter::once(&cost).chain(grad_refs.clone()).collect();
    let args: Vec<Value> = vec![
        array![[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]].into_dyn().into(),
        Array1::from(vec![1i64, 0]).into(),
        array![[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]
            .into_dyn()
            .into(),
        array![0.05, -0.05].into(),
        array![[0.2, -0.1, 0.3], [-0.4, 0.5, 0.1]].into_dyn().into(),
        array![0.0, 0.1, -0.1].into(),
    ];
    for (outs, returns_cost) in [(&grad_refs, false), (&with_cost, true)] {
        // Theano's graph: without rheano's one-pass output layer (tested below).
        let theano_like = FunctionOptions {
            excluding: vec!["local_dot22_crossentropy_grad".into()],
            ..Default::default()
        };
        let fast = function_with(&inputs, outs, theano_like).unwrap();
        let plain = function_with(
            &inputs,
            outs,
            FunctionOptions {
                mode: Mode::None,
                ..Default::default()
            },
        )
        .unwrap();
        let dp = fast.debugprint();
        // Theano's fused hidden layer, which here also returns σ(−x) for the gradient.
        assert!(
            dp.contains("Composite{scalar_sigmoid((i0 + i1)), scalar_sigmoid((-(i0 + i1)))}}.1"),
            "{dp}"
        );
        assert!(dp.contains("CrossentropySoftmax1HotWithBiasDx"), "{dp}");
        assert!(!dp.contains("Elemwise{second"), "{dp}");
        assert_eq!(dp.contains("SoftmaxWithBias ["), !returns_cost, "{dp}");
        assert_eq!(
            dp.contains("CrossentropySoftmaxArgmax1HotWithBias"),
            returns_cost,
            "{dp}"
        );
        let (a, b) = (fast.call(&args).unwrap(), plain.call(&args).unwrap());
        for (ga, gb) in a.iter().zip(&b) {
            for (p, q) in ga.to_f64_vec().iter().zip(gb.to_f64_vec()) {
                assert!((p - q).abs() <= 1e-14 * (1.0 + q.abs()), "{p} vs {q}");
            }
        }
    }
}

/// The output layer of a classifier — `Dot22(X, W)`, the fused softmax crossentropy, its
/// gradient and `Dot22{TN}(X, dx)` — becomes one `Dot22CrossentropySoftmaxGrad` node that reads
/// X once, with or without the cost among the outputs, and gives what the unfused nodes give:
/// on the row kernel's shapes (n ≤ 15 classes, k ≥ 512), the general GEMM's (short rows, many
/// classes), split across threads, and on rows whose logits overflow.
#[test]
fn output_layer_gradient_in_one_pass() {
    fn check(dt: rheano::DType, (m, k, n): (usize, usize, usize), trap: bool) {
        let x = T::tensor(dt, &[false, false], "X");
        let w = T::tensor(dt, &[false, false], "W");
        let b = T::tensor(dt, &[false], "b");
        let y = T::lvector("y");
        let cost =
            T::nnet::categorical_crossentropy(T::nnet::softmax(T::dot(&x, &w) + &b), &y).mean();
        let g = rheano::grad(&cost, &[&w, &b]).unwrap();
        let xv = ndarray::Array2::from_shape_fn((m, k), |(i, j)| {
            let v = ((i * 31 + j * 17) % 23) as f64 / 23.0 - 0.3;
            if trap && i == 1 && j == 0 {
                1e300
            } else {
                v
            }
        });
        let wv = ndarray::Array2::from_shape_fn((k, n), |(i, j)| {
            ((i * 7 + j * 5) % 13) as f64 / 13.0 - 0.5
        });
        let bv = Array1::from_shape_fn(n, |j| 0.1 * j as f64);
        let yv = Array1::from_shape_fn(m, |i| ((i * 3) % n) as i64);
        let args: Vec<Value> = vec![
            Value::from(xv).cast(dt),
            Value::from(wv).cast(dt),
            Value::from(bv).cast(dt),
            yv.into(),
        ];
        let tol = if dt == rheano::DType::Float32 {
            1e-5
        } else {
            1e-12
        };
        for outs in [vec![&cost, &g[0], &g[1]], vec![&g[0], &g[1]]] {
            let ins = [&x, &w, &b, &y];
            let fused = function(&ins, &outs).unwrap();
            let dp = fused.debugprint();
            assert_eq!(
                common::node_ids(&dp, "Dot22CrossentropySoftmaxGrad").len(),
                1,
                "{dp}"
            );
            assert!(!dp.contains("Dot22{TN}"), "{dp}");
            let unfused = function_with(
                &ins,
                &outs,
                FunctionOptions {
                    excluding: vec!["local_dot22_crossentropy_grad".into()],
                    ..Default::default()
                },
            )
            .unwrap();
            let (got, want) = (fused.call(&args).unwrap(), unfused.call(&args).unwrap());
            for (a, e) in got.iter().zip(&want) {
                assert_eq!(a.shape(), e.shape());
                for (p, q) in a.to_f64_vec().iter().zip(e.to_f64_vec()) {
                    let same = (p.is_nan() && q.is_nan())
                        || p == &q
                        || (p - q).abs() <= tol * (1.0 + q.abs());
                    assert!(same, "{dt:?} {m}x{k}x{n} trap={trap}: {p} vs {q}");
                }
            }
        }
    }
    for dt in [rheano::DType::Float64, rheano::DType::Float32] {
        check(dt, (7, 600, 10), false); // row kernel, one block
        check(dt, (300, 40, 3), false); // short rows: general GEMM per block
        check(dt, (50, 20, 20), false); // many classes
        check(dt, (1000, 520, 10), false); // several blocks, split across threads
        check(dt, (40, 600, 4), true); // a row of overflowing logits
        check(dt, (0, 600, 10), false); // an empty batch
        check(dt, (5, 0, 3), false); // no features: the logits are the bias
    }
}

/// The one-pass output layer checks its labels like the nodes it replaces.
#[test]
fn output_layer_gradient_rejects_bad_labels() {
    let x = T::dmatrix("X");
    let w = T::dmatrix("W");
    let y = T::lvector("y");
    let cost = T::nnet::categorical_crossentropy(T::nnet::softmax(T::dot(&x, &w)), &y).mean();
    let g = rheano::grad(&cost, &[&w]).unwrap();
    let f = function(&[&x, &w, &y], &[&cost, &g[0]]).unwrap();
    let args: Vec<Value> = vec![
        ndarray::Array2::<f64>::ones((3, 4)).into_dyn().into(),
        ndarray::Array2::<f64>::ones((4, 2)).into_dyn().into(),
        Array1::from(vec![0i64, 2, 1]).into(),
    ];
    let err = f.call(&args).unwrap_err().to_string();
    assert!(
        f.debugprint().contains("Dot22CrossentropySoftmaxGrad"),
        "{}",
        f.debugprint()
    );
    assert!(err.contains('2') && err.contains("Crossentropy"), "{err}");
}

/// The deeplearning.net tutorials' cost, `-mean(log(p)[arange(y.shape[0]), y])` and its
/// `log(p[arange, y])` spelling, compiles to the fused crossentropy op (spec §4.2
/// `local_advanced_indexing_crossentropy_onehot`) and its gradient to the fused Dx (here inside
/// the one-pass output layer): the same numbers as the indexing graph, finite on huge logits.
#[test]
fn advanced_indexing_crossentropy_becomes_the_fused_op() {
    let x = T::dmatrix("x");
    let w = T::dmatrix("W");
    let b = T::dvector("b");
    let y = T::lvector("y");
    let rows = T::arange_to(T::shape(&y).at(0));
    let p = T::nnet::softmax(T::dot(&x, &w) + &b);
    let pick = |m: &Var| m.get(&[T::Idx::array(&rows), T::Idx::array(&y)]);
    let log_p = T::log(&p);
    let costs = [
        -pick(&log_p).mean(),
        -T::log(pick(&p)).mean(),
        -pick(&log_p).sum(),
    ];
    let xs = array![
        [1.0, -2.0, 0.5],
        [0.0, 3.0, -1.0],
        [2.0, 2.0, 2.0],
        [-1.0, 0.0, 4.0]
    ];
    let ws = array![[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]];
    let huge = &ws * 1e4;
    let bs = array![0.1, -0.1];
    let ys = array![0i64, 1, 1, 0];
    // The gradient by its formula: xᵀ(softmax − onehot(y)) and the column sums (÷ n for a mean).
    let expected_grads = |wv: &ndarray::Array2<f64>, scale: f64| {
        let z = xs.dot(wv) + &bs;
        let mut d = z.clone();
        for (i, mut row) in d.rows_mut().into_iter().enumerate() {
            let m = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            row.mapv_inplace(|v| (v - m).exp());
            let s = row.sum();
            row.mapv_inplace(|v| v / s);
            row[ys[i] as usize] -= 1.0;
        }
        d *= scale;
        (xs.t().dot(&d), d.sum_axis(ndarray::Axis(0)))
    };
    for (k, cost) in costs.iter().enumerate() {
        let grads = rheano::grad(cost, &[&w, &b]).unwrap();
        let outs = [cost.clone(), grads[0].clone(), grads[1].clone()];
        let refs: Vec<&Var> = outs.iter().collect();
        let fused = function_with(&[&x, &w, &b, &y], &refs, Default::default()).unwrap();
        let dp = fused.debugprint();
        assert!(!dp.contains("AdvancedSubtensor"), "{dp}");
        assert!(!dp.contains("AdvancedIncSubtensor"), "{dp}");
        assert!(dp.contains("CrossentropySoftmax"), "{dp}");
        let plain = function_with(
            &[&x, &w, &b, &y],
            &refs,
            FunctionOptions {
                excluding: vec!["local_advanced_indexing_crossentropy_onehot".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(plain.debugprint().contains("AdvancedSubtensor"));
        for wv in [&ws, &huge] {
            let args = [
                xs.clone().into(),
                wv.clone().into(),
                bs.clone().into(),
                ys.clone().into(),
            ];
            let (got, want) = (fused.call(&args).unwrap(), plain.call(&args).unwrap());
            let (dw, db) = expected_grads(wv, if k == 2 { 1.0 } else { 0.25 });
            for (g, e) in got[1].to_f64_vec().iter().zip(dw.iter()) {
                assert!((g - e).abs() <= 1e-12, "dW {g} vs {e}");
            }
            for (g, e) in got[2].to_f64_vec().iter().zip(db.iter()) {
                assert!((g - e).abs() <= 1e-12, "db {g} vs {e}");
            }
            for (g, e) in got.iter().zip(&want) {
                for (a, b) in g.to_f64_vec().iter().zip(e.to_f64_vec()) {
                    assert!(a.is_finite(), "{a}");
                    assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
                }
            }
        }
        // Labels out of range are an error, as with the indexing.
        let bad = fused.call(&[
            xs.clone().into(),
            ws.clone().into(),
            bs.clone().into(),
            array![0i64, 1, 2, 0].into(),
        ]);
        assert!(bad.is_err());
    }
    // Rows that are not arange(len(y)) are left to the indexing.
    let other = T::log(&p)
        .get(&[
            T::Idx::array(&T::arange_to(T::shape(&x).at(0))),
            T::Idx::array(&y),
        ])
        .mean();
    let f = compiled(&[&x, &w, &b, &y], &other);
    assert!(f.debugprint().contains("AdvancedSubtensor"));
}

/// x.shape[k] with a constant k compiles to Theano's Shape_i{k} (also through the cast of a
/// mean's divisor); an index past the dims stays an indexing that fails at run time.
#[test]
fn shape_of_a_constant_index_is_shape_i() {
    let m = T::dmatrix("m");
    let cols = T::shape(&m).at(-1);
    let f = compiled(&[&m], &cols);
    assert!(
        f.debugprint().starts_with("Shape_i{1} [id A]"),
        "{}",
        f.debugprint()
    );
    let r = f
        .call(&[ndarray::Array2::<f64>::zeros((2, 5)).into()])
        .unwrap();
    assert_eq!(r[0].to_i64_vec(), vec![5]);
    assert_eq!(r[0].ndim(), 0);
    let mean = m.mean();
    let g = rheano::grad(&mean, &[&m]).unwrap().remove(0);
    let f = compiled(&[&m], &g);
    let dp = f.debugprint();
    assert!(
        dp.contains("Shape_i{0}") && dp.contains("Shape_i{1}"),
        "{dp}"
    );
    assert!(!dp.contains("Subtensor"), "{dp}");
    let r = f
        .call(&[ndarray::Array2::<f64>::zeros((2, 5)).into()])
        .unwrap();
    assert_eq!(r[0].to_f64_vec(), vec![0.1; 10]);
    let past = T::shape(&m).at(2);
    let f = compiled(&[&m], &past);
    assert!(f.debugprint().contains("Subtensor"));
    assert!(f
        .call(&[ndarray::Array2::<f64>::zeros((2, 5)).into()])
        .is_err());
}

/// Casts to a float type join the fused program (Theano's `Composite{inv(Cast{float64}(i0))}`
/// for a mean's divisor), converting as the cast does: integers and float64 inputs of a float32
/// program are rounded to float32 where they are read.
#[test]
fn casts_to_float_fuse_and_round_as_the_cast() {
    let n = T::lvector("n");
    let x = T::dvector("x");
    let y = T::fvector("y");
    let out = T::cast(&n, rheano::DType::Float32) * &y + T::cast(&x, rheano::DType::Float32);
    let fused = compiled(&[&n, &x, &y], &out);
    let dp = fused.debugprint();
    assert!(dp.starts_with("Elemwise{Composite{"), "{dp}");
    assert!(
        dp.contains("Cast{float32}(i0)") && !dp.contains("\n |Elemwise{Cast"),
        "{dp}"
    );
    let plain = function_with(
        &[&n, &x, &y],
        &[&out],
        FunctionOptions {
            mode: Mode::None,
            ..Default::default()
        },
    )
    .unwrap();
    let args: Vec<Value> = vec![
        array![16_777_217i64, -3, 1 << 40].into(),
        array![0.1, 1.0 + 1e-12, -2.5e-40].into(),
        array![1.0f32, 0.5, 3.0].into(),
    ];
    let (a, b) = (fused.call(&args).unwrap(), plain.call(&args).unwrap());
    assert_eq!(a[0], b[0]);
    assert_eq!(a[0].dtype(), rheano::DType::Float32);
    let inv_len = T::inv(T::cast(T::shape(&x).at(0), rheano::DType::Float64));
    let f = compiled(&[&x], &inv_len);
    assert!(
        f.debugprint().contains("Composite{inv(Cast{float64}(i0))}"),
        "{}",
        f.debugprint()
    );
    assert_eq!(
        f.call(&[array![1.0, 2.0, 3.0, 4.0].into()]).unwrap()[0].to_f64_vec(),
        vec![0.25]
    );
}

/// A sigmoid layer and its gradient: the program that computes σ(x) also returns σ(−x), and the
/// gradient's program reads it instead of computing its own (one exponential per element for
/// both). Not where σ's program runs over a larger shape than x, nor where the reader comes
/// before the σ (a cycle); a reader that is σ(−x) itself becomes the shared output. Every case
/// gives the values of the unrewritten graph.
#[test]
fn sigmoid_and_its_gradient_share_one_exponential() {
    let x = T::dmatrix("x");
    let w = T::dmatrix("W");
    let b = T::dvector("b");
    let g = T::dmatrix("g");
    let z = T::dot(&x, &w) + &b;
    let h = T::nnet::sigmoid(&z);
    let dz = rheano::grad(&(&h * &g).sum(), &[&z]).unwrap().remove(0);
    let xs: Value = Array1::from_iter((0..12).map(|i| (i as f64 - 5.5) * 3.0))
        .into_shape_with_order((3, 4))
        .unwrap()
        .into();
    let ws: Value = Array1::from_iter((0..8).map(|i| (i as f64 - 3.5) * 2.5))
        .into_shape_with_order((4, 2))
        .unwrap()
        .into();
    let gs: Value = array![[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]]
        .into_dyn()
        .into();
    let args = [
        xs.clone(),
        ws.clone(),
        array![0.5, -40.0].into(),
        gs.clone(),
    ];
    let inputs = [&x, &w, &b, &g];
    let agree = |outs: &[&Var], args: &[Value]| -> String {
        let options = |mode| FunctionOptions {
            mode,
            on_unused_input: rheano::OnUnusedInput::Ignore,
            ..Default::default()
        };
        let fast = function_with(&inputs, outs, options(Mode::FastRun)).unwrap();
        let plain = function_with(&inputs, outs, options(Mode::None)).unwrap();
        let (a, p) = (fast.call(args).unwrap(), plain.call(args).unwrap());
        for (va, vp) in a.iter().zip(&p) {
            for (s, t) in va.to_f64_vec().iter().zip(vp.to_f64_vec()) {
                assert!((s - t).abs() <= 4e-16 * t.abs(), "{s} vs {t}");
            }
        }
        fast.debugprint()
    };
    let dp = agree(&[&h, &dz], &args);
    assert!(
        dp.contains("Composite{scalar_sigmoid((i0 + i1)), scalar_sigmoid((-(i0 + i1)))}}.1"),
        "{dp}"
    );
    assert_eq!(
        dp.matches("scalar_sigmoid((-").count(),
        dp.matches("scalar_sigmoid((i0 + i1)), scalar_sigmoid((-")
            .count(),
        "only the shared program computes σ(−x):\n{dp}"
    );

    // σ(−x) alone: the reader is the shared output itself.
    let c = T::nnet::sigmoid(-&z);
    let dp = agree(&[&h, &c], &args);
    assert!(dp.contains("}}.1 [id"), "{dp}");

    // σ's program runs over x + a row of g (a larger loop than x's): nothing shared.
    let col = T::sum(&T::dot(&x, &w), 1, true);
    let wide = T::nnet::sigmoid(&col) * &g;
    let dcol = T::nnet::sigmoid(-&col) * &col;
    let dp = agree(&[&wide, &dcol], &args);
    assert!(!dp.contains("}}.0") && !dp.contains("}}.1"), "{dp}");
}

/// The crossentropy of a sigmoid output, averaged, and its gradient: one program sums the
/// loss and stores the gradient in one pass, from one exponential per element, giving the
/// same values, bit for bit, as the two programs it replaces — on one thread and split across
/// two, with blocks in the vector kernels' range and blocks with trap values (±800, ±inf,
/// nan), for float64 and float32 — and the values of the unrewritten graph.
#[test]
fn a_loss_and_its_gradient_run_as_one_pass() {
    for dtype in [DType::Float64, DType::Float32] {
        let z = T::tensor(dtype, &[false, false], "z");
        let b = T::tensor(dtype, &[false], "b");
        let t = T::tensor(dtype, &[false, false], "t");
        let zb = &z + &b;
        let cost = T::nnet::binary_crossentropy(T::nnet::sigmoid(&zb), &t).mean();
        let gz = rheano::grad(&cost, &[&z]).unwrap().remove(0);
        let build = |excluding: Vec<String>, mode| {
            function_with(
                &[&z, &b, &t],
                &[&cost, &gz],
                FunctionOptions {
                    excluding,
                    mode,
                    ..Default::default()
                },
            )
            .unwrap()
        };
        let fused = build(vec![], Mode::FastRun);
        let apart = build(vec!["loss_gradient_fusion".into()], Mode::FastRun);
        let plain = build(vec![], Mode::None);
        let dp = fused.debugprint();
        assert!(
            dp.contains("Sum{Composite{sigmoid_binary_crossentropy((i1 + i2), i3), (i0 * (scalar_sigmoid((i1 + i2)) - i3))}"),
            "{dp}"
        );
        assert!(!apart.debugprint().contains("), (i0 *"));
        for (rows, traps) in [(3usize, false), (3, true), (700, false), (700, true)] {
            let cols = 301;
            let zs = ndarray::Array2::from_shape_fn((rows, cols), |(i, j)| {
                let k = i * cols + j;
                match (traps, k % 997) {
                    (true, 5) => 800.0,
                    (true, 6) => -800.0,
                    (true, 7) => f64::INFINITY,
                    (true, 8) => f64::NEG_INFINITY,
                    (true, 9) => f64::NAN,
                    _ => ((k * 37) % 101) as f64 / 5.0 - 10.0,
                }
            });
            let ts = ndarray::Array2::from_shape_fn((rows, cols), |(i, j)| ((i + j) % 2) as f64);
            let bs = Array1::from_iter((0..cols).map(|j| (j % 7) as f64 * 0.25 - 0.75));
            let args: Vec<Value> = vec![
                Value::from(zs.into_dyn()).cast(dtype),
                Value::from(bs.into_dyn()).cast(dtype),
                Value::from(ts.into_dyn()).cast(dtype),
            ];
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let (a, p) =
                    pool.install(|| (fused.call(&args).unwrap(), apart.call(&args).unwrap()));
                for (va, vp) in a.iter().zip(&p) {
                    let (sa, sp) = (va.to_f64_vec(), vp.to_f64_vec());
                    for (x, y) in sa.iter().zip(&sp) {
                        assert!(
                            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                            "{x} vs {y}"
                        );
                    }
                }
            }
            if !traps {
                let r = plain.call(&args).unwrap();
                let a = fused.call(&args).unwrap();
                let tol = if dtype == DType::Float64 { 1e-13 } else { 1e-5 };
                for (va, vr) in a.iter().zip(&r) {
                    for (x, y) in va.to_f64_vec().iter().zip(vr.to_f64_vec()) {
                        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{x} vs {y}");
                    }
                }
            }
        }
    }
}
