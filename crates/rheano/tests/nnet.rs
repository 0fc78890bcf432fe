//! nnet ops: Theano's golden values (spec §8), type rules and errors (spec §2), print forms.

use ndarray::{array, Array1, Array2};
use rheano::prelude::*;
use rheano::Mode;

fn close(got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= rel * w.abs().max(1e-300),
            "{got:?} vs {want:?}"
        );
    }
}

struct Golden {
    w: Var,
    x: Var,
    b: Var,
    z: Var,
}

fn golden() -> Golden {
    let [x, b] = T::dvectors(["x", "b"]);
    let w = T::dmatrix("W");
    let z = T::dot(&w, &x) + &b;
    Golden { w, x, b, z }
}

fn eval_z(g: &Golden, out: &Var, extra: &[(&Var, Value)]) -> Vec<f64> {
    let mut ins = vec![
        (
            &g.w,
            Value::from(array![[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]]),
        ),
        (&g.x, Value::from(array![1.0, 2.0])),
        (&g.b, Value::from(array![0.01, -0.02, 0.03])),
    ];
    ins.extend(extra.iter().map(|(v, val)| (*v, val.clone())));
    out.eval(&ins).unwrap().to_f64_vec()
}

#[test]
fn golden_values_of_the_spec() {
    let g = golden();
    let z = &g.z;
    let e = |v: &Var| eval_z(&g, v, &[]);
    close(
        &e(&T::nnet::sigmoid(z)),
        &[0.42800386706848137, 0.7464939833376621, 0.6748052725823135],
        1e-15,
    );
    close(
        &e(&T::nnet::softplus(z)),
        &[0.5586230482344253, 1.3723677218643584, 1.1233311147926668],
        1e-15,
    );
    close(
        &e(&T::nnet::softmax(z)),
        &[0.1297261597875204, 0.5105179331405322, 0.35975590707194743],
        1e-15,
    );
    assert_eq!(
        e(&T::nnet::ultra_fast_sigmoid(z)),
        vec![0.40502183406113534, 0.762987012987013, 0.7005494505494505]
    );
    close(&e(&T::nnet::hard_sigmoid(z)), &[0.442, 0.716, 0.646], 1e-15);
    assert_eq!(e(&T::nnet::relu(z)), vec![0.0, 1.08, 0.73]);
    // Theano's macro gives −0.029000000000000012; the exact product 0.1·(−0.29) rounds to −0.029.
    close(
        &e(&T::nnet::relu_alpha(z, 0.1)),
        &[-0.029, 1.08, 0.73],
        1e-15,
    );
    close(
        &e(&T::nnet::softsign(z)),
        &[-0.2248062015503876, 0.5192307692307693, 0.42196531791907516],
        1e-15,
    );
    close(
        &e(&T::nnet::elu(z, 1)),
        &[-0.25173643242143484, 1.08, 0.73],
        1e-15,
    );
    close(
        &e(&T::nnet::selu(z)),
        &[-0.4425776559073948, 1.134757066343919, 0.7670117207695007],
        1e-15,
    );
    let y = T::dvector("y");
    let bce = T::nnet::binary_crossentropy(T::nnet::sigmoid(z), &y);
    let yv = Value::from(array![0.0, 1.0, 1.0]);
    close(
        &eval_z(&g, &bce, &[(&y, yv.clone())]),
        &[0.5586230482344253, 0.2923677218643582, 0.39333111479266697],
        1e-14,
    );
    close(
        &eval_z(&g, &bce.mean(), &[(&y, yv)]),
        &[0.4147739616304835],
        1e-14,
    );
    let o = T::ivector("o");
    let cce = T::nnet::categorical_crossentropy(T::nnet::softmax(z), &o);
    close(
        &eval_z(&g, &cce, &[(&o, array![2i32].into())]),
        &[1.022329513413545],
        1e-15,
    );
    let oh = T::dmatrix("oh");
    let cce1 = T::nnet::categorical_crossentropy(T::nnet::softmax(z), &oh);
    close(
        &eval_z(&g, &cce1, &[(&oh, array![[0.0, 0.0, 1.0]].into())]),
        &[1.022329513413545],
        1e-15,
    );
}

#[test]
fn print_forms() {
    let z = T::dvector("z");
    let m = T::dmatrix("M");
    let b = T::dvector("b");
    let t = T::dvector("t");
    assert_eq!(
        pprint(&T::nnet::ultra_fast_sigmoid(&z)),
        "ultra_fast_sigmoid(z)"
    );
    assert_eq!(pprint(&T::nnet::softsign(&z)), "softsign(z)");
    assert_eq!(pprint(&T::nnet::relu(&z)), "relu(z)");
    assert_eq!(
        pprint(&T::nnet::relu_alpha(&z, 0.1)),
        "relu(z, TensorConstant{0.1})"
    );
    assert_eq!(pprint(&T::nnet::elu(&z, 1)), "elu(z, TensorConstant{1})");
    assert_eq!(pprint(&T::nnet::selu(&z)), "selu(z)");
    assert_eq!(
        pprint(&T::nnet::softmax_with_bias(&m, &b)),
        "SoftmaxWithBias(M, b)"
    );
    assert_eq!(pprint(&T::nnet::logsoftmax(&m)), "LogSoftmax(M)");
    assert_eq!(
        pprint(&T::nnet::softmax_axis(&m, None)),
        "Softmax{axis=1}(M)"
    );
    assert_eq!(
        pprint(&T::nnet::binary_crossentropy(&z, &t)),
        "(-((t * log(z)) + ((TensorConstant{1.0} - t) * log((TensorConstant{1.0} - z)))))"
    );
    assert_eq!(
        pprint(&T::nnet::sigmoid_binary_crossentropy(&z, &t)),
        "sigmoid_binary_crossentropy(z, t)"
    );
    assert_eq!(
        T::nnet::sigmoid_binary_crossentropy(&z, &t).to_string(),
        "sigmoid_binary_crossentropy{inline=True}.0"
    );
    let y = T::dmatrix("Y");
    assert_eq!(
        pprint(&T::nnet::categorical_crossentropy(&m, &y)),
        "(-Sum{axis=[1], acc_dtype=float64}((Y * log(M))))"
    );
    let iv = T::lvector("o");
    assert_eq!(
        pprint(&T::nnet::categorical_crossentropy(&m, &iv)),
        "CrossentropyCategorical1Hot(M, o)"
    );
    assert_eq!(
        pprint(&T::nnet::crossentropy_softmax_1hot(&m, &iv).0),
        "CrossentropySoftmaxArgmax1HotWithBias(M, fill(M[Constant{0}, :], TensorConstant{0.0}), o)"
    );
    let mv = T::dvector("v");
    assert_eq!(pprint(&T::nnet::softmax(&mv)), "Softmax(v)");
    assert_eq!(T::nnet::softmax(&mv).ty().kind(), "row");
}

#[test]
fn type_rules_and_errors() {
    // Non-float softmax input.
    let e = T::nnet::softmax(T::ivector("i")).check().unwrap_err();
    assert!(
        matches!(e, Error::Value { .. }) && e.to_string().contains("Got TensorType(int32, vector)")
    );
    assert!(T::nnet::logsoftmax(T::dtensor3("t")).check().is_err());
    // Labels: int32/int64 vectors only.
    let p = T::dmatrix("p");
    let e = T::nnet::categorical_crossentropy(&p, T::bvector("b"))
        .check()
        .unwrap_err();
    assert!(matches!(e, Error::Type { .. }));
    assert!(e.to_string().contains("integer vector required for argument: true_one_of_n(got type: TensorType(int8, vector) instead of: TensorType(int64, vector))"), "{e}");
    assert!(
        T::nnet::categorical_crossentropy(&p, T::constant(array![1i64]))
            .check()
            .is_err(),
        "broadcastable labels are refused"
    );
    assert!(T::nnet::categorical_crossentropy(&p, T::ivector("i"))
        .check()
        .is_ok());
    // Rank mismatch.
    let e = T::nnet::categorical_crossentropy(&p, T::dtensor3("t"))
        .check()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "categorical_crossentropy: rank mismatch between coding and true distributions"
    );
    let e = T::nnet::crossentropy_categorical_1hot(T::dvector("v"), T::lvector("l"))
        .check()
        .unwrap_err();
    assert!(e
        .to_string()
        .contains("matrix required for argument: coding_dist"));
    // dtypes.
    assert_eq!(T::nnet::relu(T::fvector("f")).dtype(), DType::Float32);
    assert_eq!(T::nnet::relu(T::ivector("i")).dtype(), DType::Float64);
    assert_eq!(
        T::nnet::relu_alpha(T::fvector("f"), 0.1).dtype(),
        DType::Float64
    );
    assert_eq!(
        T::nnet::relu_alpha(T::fvector("f"), 0.1f32).dtype(),
        DType::Float32
    );
    assert_eq!(T::nnet::selu(T::fvector("f")).dtype(), DType::Float64);
    assert_eq!(T::nnet::elu(T::fvector("f"), 1).dtype(), DType::Float32);
    assert_eq!(
        T::nnet::binary_crossentropy(T::fvector("a"), T::fvector("b")).dtype(),
        DType::Float32
    );
    assert_eq!(
        T::nnet::binary_crossentropy(T::fvector("a"), T::dvector("b")).dtype(),
        DType::Float64
    );
    assert_eq!(T::nnet::softplus(T::bvector("b")).dtype(), DType::Float32);
    assert_eq!(
        T::nnet::hard_sigmoid(T::ivector("i")).dtype(),
        DType::Float64
    );
}

#[test]
fn out_of_range_labels_are_errors() {
    let p = T::dmatrix("p");
    let y = T::lvector("y");
    let pv = || Value::from(array![[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]);
    for bad in [3i64, -1] {
        for mode in [Mode::FastRun, Mode::None] {
            let f = rheano::function_with(
                &[&p, &y],
                &[&T::nnet::categorical_crossentropy(T::nnet::softmax(&p), &y)],
                rheano::FunctionOptions {
                    mode: mode.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
            let e = f.call(&[pv(), array![0, bad].into()]).unwrap_err();
            assert!(
                matches!(e, Error::Value { .. }) && e.to_string().contains("out of bounds"),
                "{e}"
            );
        }
    }
}

#[test]
fn crossentropy_values() {
    let p = T::dmatrix("p");
    let y = T::lvector("y");
    let r = T::nnet::crossentropy_categorical_1hot(&p, &y)
        .eval(&[
            (&p, array![[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]].into()),
            (&y, array![2i64, 0].into()),
        ])
        .unwrap()
        .to_f64_vec();
    assert_eq!(r, vec![std::f64::consts::LN_2, f64::INFINITY]);
    // With softmax and the default mode, the fused op is stable: [1000, 0].
    let x = T::dmatrix("x");
    let f = T::nnet::categorical_crossentropy(T::nnet::softmax(&x), &y);
    let r = f
        .eval(&[
            (&x, array![[0.0, 0.0, 1000.0], [1000.0, 0.0, 0.0]].into()),
            (&y, array![0i64, 0].into()),
        ])
        .unwrap();
    assert_eq!(r.to_f64_vec(), vec![1000.0, 0.0]);
    // The fused op's three outputs.
    let b = T::dvector("b");
    let (nll, sm, am) = T::nnet::crossentropy_softmax_argmax_1hot_with_bias(&x, &b, &y);
    let fun = function(&[&x, &b, &y], &[&nll, &sm, &am]).unwrap();
    let out = fun
        .call(&[
            array![[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]].into(),
            array![0.0, 0.0, 0.0].into(),
            array![2i64, 0].into(),
        ])
        .unwrap();
    close(
        &out[0].to_f64_vec(),
        &[0.4076059644443804, 0.4076059644443804],
        1e-15,
    );
    assert_eq!(out[2].to_i64_vec(), vec![2, 0]);
    // Dx: dy·(sm − onehot).
    let dy = T::dvector("dy");
    let smv = T::dmatrix("sm");
    let dx = T::nnet::crossentropy_softmax_1hot_with_bias_dx(&dy, &smv, &y)
        .eval(&[
            (&dy, array![1.0, 2.0].into()),
            (&smv, array![[0.25, 0.75], [0.5, 0.5]].into()),
            (&y, array![1i64, 0].into()),
        ])
        .unwrap();
    assert_eq!(dx.to_f64_vec(), vec![0.25, -0.25, -1.0, 1.0]);
    // 1-hot grad: zeros except −g/p at the label.
    let g = T::dvector("g");
    let gr = T::nnet::crossentropy_categorical_1hot_grad(&g, &p, &y)
        .eval(&[
            (&g, array![1.0].into()),
            (&p, array![[0.2, 0.3, 0.5]].into()),
            (&y, array![1i64].into()),
        ])
        .unwrap();
    close(&gr.to_f64_vec(), &[0.0, -3.3333333333333335, 0.0], 1e-15);
    // softmax_with_bias.
    let swb = T::nnet::softmax_with_bias(&x, &b)
        .eval(&[
            (&x, array![[1.0, 2.0, 3.0]].into()),
            (&b, array![0.0, 0.0, 1.0].into()),
        ])
        .unwrap();
    close(
        &swb.to_f64_vec(),
        &[0.04201006613406605, 0.11419519938459449, 0.8437947344813395],
        1e-15,
    );
    let e = T::nnet::softmax_with_bias(&x, &b)
        .eval(&[
            (&x, array![[1.0, 2.0, 3.0]].into()),
            (&b, array![0.0, 0.0].into()),
        ])
        .unwrap_err();
    assert!(e
        .to_string()
        .contains("b must have same number of columns as x"));
}

#[test]
fn binary_crossentropies_are_finite_where_the_truth_is() {
    let z = T::dvector("z");
    let t = T::dvector("t");
    let zs = || Value::from(array![-1000.0, 1000.0, 0.0, 40.0, 2.0]);
    let ts = || Value::from(array![1.0, 0.0, 1.0, 1.0, 0.3]);
    let sbce = T::nnet::sigmoid_binary_crossentropy(&z, &t)
        .eval(&[(&z, zs()), (&t, ts())])
        .unwrap()
        .to_f64_vec();
    close(
        &sbce[..4],
        &[
            1000.0,
            1000.0,
            std::f64::consts::LN_2,
            4.248354255291589e-18,
        ],
        1e-15,
    );
    let bce = T::nnet::binary_crossentropy(T::nnet::sigmoid(&z), &t)
        .eval(&[(&z, zs()), (&t, ts())])
        .unwrap()
        .to_f64_vec();
    close(
        &bce[..4],
        &[
            1000.0,
            1000.0,
            std::f64::consts::LN_2,
            4.248354255291589e-18,
        ],
        1e-15,
    );
    assert!(bce.iter().all(|v| v.is_finite()));
    // Without rewrites (Mode::None) the naive graph overflows, as in Theano's FAST_COMPILE.
    let f = rheano::function_with(
        &[&z, &t],
        &[&T::nnet::binary_crossentropy(T::nnet::sigmoid(&z), &t)],
        rheano::FunctionOptions {
            mode: Mode::None,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!f.call(&[zs(), ts()]).unwrap()[0].to_f64_vec()[0].is_finite());
}

#[test]
fn confusion_matrix_and_prepend() {
    let a = T::dvector("a");
    let p = T::dvector("p");
    let (conf, order) = T::nnet::confusion_matrix(&a, &p);
    let f = function(&[&a, &p], &[&conf, &order]).unwrap();
    let r = f
        .call(&[
            array![2.0, 0.0, 2.0, 2.0, 0.0, 1.0].into(),
            array![0.0, 0.0, 2.0, 2.0, 0.0, 2.0].into(),
        ])
        .unwrap();
    assert_eq!(r[0].to_i64_vec(), vec![2, 0, 0, 0, 0, 1, 1, 0, 2]);
    assert_eq!(r[0].shape(), &[3, 3]);
    assert_eq!(r[1].to_f64_vec(), vec![0.0, 1.0, 2.0]);
    assert!(T::nnet::confusion_matrix(T::dmatrix("m"), &p)
        .0
        .check()
        .is_err());
    let m = T::dmatrix("m");
    let mv = || Value::from(array![[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(
        T::nnet::prepend_0_to_each_row(&m)
            .eval(&[(&m, mv())])
            .unwrap()
            .to_f64_vec(),
        vec![0.0, 1.0, 2.0, 0.0, 3.0, 4.0]
    );
    assert_eq!(
        T::nnet::prepend_1_to_each_row(&m)
            .eval(&[(&m, mv())])
            .unwrap()
            .shape(),
        &[2, 3]
    );
    let s = T::dscalar("s");
    let r = T::nnet::prepend_scalar_to_each_row(&s, &m)
        .eval(&[(&s, 7.0.into()), (&m, mv())])
        .unwrap();
    assert_eq!(r.to_f64_vec(), vec![7.0, 1.0, 2.0, 7.0, 3.0, 4.0]);
    assert_eq!(
        T::nnet::prepend_0_to_each_row(&m).to_string(),
        "Prepend_scalar_constant_to_each_row{0.0}.0"
    );
}

#[test]
fn softmax_axis_and_h_softmax() {
    let t = T::dtensor3("t");
    let tv: Value =
        ndarray::Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i + 2 * j + 3 * k) as f64)
            .into_dyn()
            .into();
    let s = T::nnet::softmax_axis(&t, None)
        .eval(&[(&t, tv.clone())])
        .unwrap()
        .to_f64_vec();
    for lane in s.chunks(4) {
        assert!((lane.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }
    let s1 = T::nnet::softmax_axis(&t, Some(1))
        .eval(&[(&t, tv)])
        .unwrap();
    assert_eq!(s1.shape(), &[2, 3, 4]);
    let v = T::dvector("v");
    let sv = T::nnet::softmax_axis(&v, None)
        .eval(&[(&v, array![0.0, 0.0].into())])
        .unwrap();
    assert_eq!(
        (sv.shape().to_vec(), sv.to_f64_vec()),
        (vec![2], vec![0.5, 0.5])
    );

    // h_softmax: 2 classes × 2 outputs per class = 4 outputs; rows sum to 1.
    let (batch, feat, nc, per) = (3usize, 5usize, 2usize, 2usize);
    let x = T::dmatrix("x");
    let (w1, b1, w2, b2) = (
        T::dmatrix("W1"),
        T::dvector("b1"),
        T::dtensor3("W2"),
        T::dmatrix("b2"),
    );
    let xv = Array2::from_shape_fn((batch, feat), |(i, j)| ((i * 7 + j * 3) % 5) as f64 * 0.1);
    let w1v = Array2::from_shape_fn((feat, nc), |(i, j)| ((i + j) % 3) as f64 * 0.2 - 0.2);
    let w2v =
        ndarray::Array3::from_shape_fn((nc, feat, per), |(c, f, p)| ((c + f * p) % 4) as f64 * 0.1);
    let b1v = Array1::from(vec![0.1, -0.1]);
    let b2v = Array2::from_shape_fn((nc, per), |(c, p)| (c as f64) * 0.05 - p as f64 * 0.02);
    let target = T::lvector("target");
    let base: Vec<(&Var, Value)> = vec![
        (&x, Value::from(xv.clone())),
        (&w1, w1v.clone().into()),
        (&b1, b1v.clone().into()),
        (&w2, w2v.clone().into_dyn().into()),
        (&b2, b2v.clone().into()),
    ];
    let mut with_target = base.clone();
    with_target.push((&target, array![0i64, 3, 2].into()));
    let all = T::nnet::h_softmax(
        &x,
        batch as i64,
        4,
        nc as i64,
        per as i64,
        &w1,
        &b1,
        &w2,
        &b2,
        None,
    );
    let r = all.eval(&base).unwrap();
    assert_eq!(r.shape(), &[3, 4]);
    let vals = r.to_f64_vec();
    for row in vals.chunks(4) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-14);
    }
    let picked = T::nnet::h_softmax(
        &x,
        batch as i64,
        4,
        nc as i64,
        per as i64,
        &w1,
        &b1,
        &w2,
        &b2,
        Some(&target),
    );
    let r = picked.eval(&with_target).unwrap();
    assert_eq!(r.shape(), &[3]);
    let pv = r.to_f64_vec();
    close(&pv, &[vals[0], vals[4 + 3], vals[8 + 2]], 1e-14);
}

/// Many short rows at once (the batched kernel, 8 rows side by side plus a partial group; at
/// 10 entries a full group's first 8 columns move through registers on AVX-512) give each row
/// exactly what a one-row call gives, with ties (first index wins), ±inf, NaN and rows spread
/// beyond exp's range among them; softmax, log_softmax and the fused crossentropy.
#[test]
fn short_rows_batched_equal_one_row_calls() {
    let rows5: Vec<[f64; 5]> = vec![
        [1.0, 2.0, 3.0, 2.0, 1.0],
        [3.0, 3.0, 1.0, 0.0, -1.0],
        [f64::NEG_INFINITY, 0.0, 1.0, 2.0, 3.0],
        [0.0, f64::NAN, 1.0, 2.0, 3.0],
        [800.0, -800.0, 0.0, 1.0, 2.0],
        [-1e-300, 1e-300, 0.0, -0.0, 5e-324],
        [f64::INFINITY, 1.0, 2.0, 3.0, 4.0],
        [10.0, 20.0, 30.0, 40.0, 50.0],
        [-5.0, -4.0, -3.0, -2.0, -1.0],
        [0.5, 0.25, 0.125, 0.0625, 0.03125],
        [700.0, 0.0, -8.0, 3.0, 700.0],
        [1.0, 1.0, 1.0, 1.0, 1.0],
        [-20.0, 20.0, -20.0, 20.0, 0.0],
    ];
    // Rows of other widths: each row followed by others, scaled (every entry in a different
    // place of its row, so a transposition that mixed rows or columns up shows), cut to the
    // width: within one block of 8 columns, across blocks, and ending in a partial block.
    let widened = |width: usize| -> Vec<Vec<f64>> {
        (0..rows5.len())
            .map(|r| {
                (0..)
                    .flat_map(|k: usize| {
                        let scale = 0.75f64.powi(k as i32);
                        let shift = -(k as f64);
                        rows5[(r + 5 * k) % rows5.len()].iter().map(move |v| {
                            if k == 0 {
                                *v
                            } else {
                                v * scale + shift
                            }
                        })
                    })
                    .take(width)
                    .collect()
            })
            .collect()
    };
    for width in [3, 5, 8, 10, 16, 20, 31] {
        let rows = widened(width);
        let labels: Vec<i64> = (0..rows.len() as i64).map(|i| i % width as i64).collect();
        for dt in [DType::Float64, DType::Float32] {
            let m = T::tensor(dt, &[false, false], "m");
            let y = T::lvector("y");
            // (A classifier's bias too: `SoftmaxWithBias` adds it as it loads each group.)
            let b = T::tensor(dt, &[false], "b");
            let f = function(
                &[&m, &y, &b],
                &[
                    &T::nnet::softmax(&m),
                    &T::nnet::logsoftmax(&m),
                    &T::nnet::categorical_crossentropy(T::nnet::softmax(&m), &y),
                    &T::nnet::softmax(&(&m + &b)),
                ],
            )
            .unwrap();
            let bias: Value = Array1::from_shape_fn(width, |j| 0.5 - 0.125 * j as f64)
                .into_dyn()
                .into();
            let bias = bias.cast(dt);
            let flat: Vec<f64> = rows.iter().flatten().copied().collect();
            let all =
                Value::from(Array2::from_shape_vec((rows.len(), width), flat).unwrap()).cast(dt);
            let batched = f
                .call(&[all, Array1::from(labels.clone()).into(), bias.clone()])
                .unwrap();
            for (r, row) in rows.iter().enumerate() {
                let one =
                    Value::from(Array2::from_shape_vec((1, width), row.to_vec()).unwrap()).cast(dt);
                let alone = f
                    .call(&[one, Array1::from(vec![labels[r]]).into(), bias.clone()])
                    .unwrap();
                for k in 0..4 {
                    let w = if k == 2 { 1 } else { width };
                    let b = batched[k].to_f64_vec()[r * w..(r + 1) * w].to_vec();
                    let a = alone[k].to_f64_vec();
                    for (p, q) in b.iter().zip(&a) {
                        assert!(
                            p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()),
                            "{dt} width {width} output {k} row {r}: {p} batched vs {q} alone"
                        );
                    }
                }
            }
        }
    }
}
