//! Golden strings of pprint and debugprint, observed with Theano 1.0.5 (spec §5).

use ndarray::array;
use rheano::prelude::*;
use rheano::printing::{char_id, debugprint_with, DebugPrintOptions, IdStyle};

fn seed() -> (Var, Var, Var, Var) {
    let [x, _y, b] = T::dvectors(["x", "y", "b"]);
    let w = T::dmatrix("W");
    (x, _y, b, w)
}

#[test]
fn seed_strings() {
    let (x, _, b, w) = seed();
    let z = T::dot(&w, &x) + &b;
    assert_eq!(pprint(&T::nnet::sigmoid(&z)), r"sigmoid(((W \dot x) + b))");
    assert_eq!(
        pprint(&T::nnet::softplus(&z)),
        r"softplus(((W \dot x) + b))"
    );
    assert_eq!(pprint(&T::nnet::softmax(&z)), r"Softmax(((W \dot x) + b))");
}

#[test]
fn seed_autoencoder_cost() {
    let [x, _y, b, c] = T::dvectors(["x", "y", "b", "c"]);
    let (w, v) = (T::dmatrix("W"), T::dmatrix("V"));
    let h = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
    let x_recons = T::nnet::sigmoid(&(T::dot(&v, &h) + &c));
    let recon_cost = T::nnet::binary_crossentropy(&x_recons, &x).mean();
    assert_eq!(
        pprint(&recon_cost),
        r"(Sum{acc_dtype=float64}((-((x * log(sigmoid(((V \dot sigmoid(((W \dot x) + b))) + c)))) + ((TensorConstant{1.0} - x) * log((TensorConstant{1.0} - sigmoid(((V \dot sigmoid(((W \dot x) + b))) + c)))))))) / float64(Shape((-((x * log(sigmoid(((V \dot sigmoid(((W \dot x) + b))) + c)))) + ((TensorConstant{1.0} - x) * log((TensorConstant{1.0} - sigmoid(((V \dot sigmoid(((W \dot x) + b))) + c)))))))))[Constant{0}])"
    );
    let wv = array![[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]];
    let f = function(&[&w, &x, &b, &v, &c], &[&recon_cost]).unwrap();
    let r = f
        .call(&[
            wv.clone().into(),
            array![0.2, 0.9].into(),
            array![0.01, -0.02, 0.03].into(),
            wv.t().to_owned().into(),
            array![0.05, -0.05].into(),
        ])
        .unwrap();
    let got = r[0].to_f64_vec()[0];
    let want = 0.6086600942355443;
    assert!(((got - want) / want).abs() <= 1e-14, "{got}");
}

#[test]
fn operator_catalogue() {
    let [x, y, b] = T::dvectors(["x", "y", "b"]);
    let w = T::dmatrix("W");
    let alpha = T::dscalar("alpha");
    let cases: Vec<(Var, &str)> = vec![
        (&x - (&y - &b), "(x - (y - b))"),
        ((&x - &y) - &b, "((x - y) - b)"),
        ((&x + &y) * &b, "((x + y) * b)"),
        (&x + (&y * &b), "(x + (y * b))"),
        ((&x * &y) * &b, "((x * y) * b)"),
        (x.pow(2), "(x ** TensorConstant{2})"),
        (T::pow(&x, T::pow(&y, &b)), "(x ** (y ** b))"),
        (T::exp(-&x), "exp((-x))"),
        (-(-&x), "(-(-x))"),
        (-&x * &y, "((-x) * y)"),
        (T::tanh(T::dot(&w, &x)), r"tanh((W \dot x))"),
        (&alpha * &x, r"(\alpha * x)"),
        (&x + 1.5, "(x + TensorConstant{1.5})"),
        (&x + array![1.0, 2.0], "(x + TensorConstant{[1. 2.]})"),
        (&x + 1e-8, "(x + TensorConstant{1e-08})"),
        (1 - T::nnet::sigmoid(&x), "(TensorConstant{1} - sigmoid(x))"),
        (
            T::clip(&x, 0, 1),
            "clip(x, TensorConstant{0}, TensorConstant{1})",
        ),
        (
            T::switch(T::gt(&x, 0), &x, &y),
            "switch(gt(x, TensorConstant{0}), x, y)",
        ),
        (-T::constant(2.0f32), "(-TensorConstant{2.0})"),
        (T::inv(&x), "inv(x)"),
        (1 / &x, "(TensorConstant{1} / x)"),
        (&x % 2, "mod(x, TensorConstant{2})"),
        (T::int_div(&x, 2), "(x // TensorConstant{2})"),
        (T::abs(&x), "|x|"),
        (T::maximum(&x, &y), "maximum(x, y)"),
        (T::sqr(&x), "sqr(x)"),
        (
            T::and_(T::gt(&x, 0), T::lt(&x, 1)),
            "and_(gt(x, TensorConstant{0}), lt(x, TensorConstant{1}))",
        ),
        (T::invert(T::gt(&x, 0)), "invert(gt(x, TensorConstant{0}))"),
        (T::cast(&x, DType::Float32), "float32(x)"),
        (T::zeros_like(&x), "fill(x, TensorConstant{0.0})"),
        (T::ones_like(&x), "fill(x, TensorConstant{1.0})"),
        (
            T::concatenate(&[x.clone(), y.clone()], 0),
            "join(TensorConstant{0}, x, y)",
        ),
        (
            T::stack(&[x.clone(), y.clone()], 0),
            "join(TensorConstant{0}, x, y)",
        ),
        (
            T::arange_to(10),
            "ARange{dtype='int64'}(TensorConstant{0}, TensorConstant{10}, TensorConstant{1})",
        ),
        (
            T::alloc(0.0, vec![T::constant(3i8), T::constant(4i8)]),
            "alloc(TensorConstant{0.0}, TensorConstant{3}, TensorConstant{4})",
        ),
        (
            T::constant(ndarray::Array1::range(0.0, 20.0, 1.0)),
            "TensorConstant{[ 0.  1.  ..\n 18. 19.]}",
        ),
    ];
    for (v, want) in cases {
        assert_eq!(pprint(&v), want);
    }
}

#[test]
fn shape_ops_print() {
    let [x, _y, b] = T::dvectors(["x", "y", "b"]);
    let m = T::dmatrix("M");
    let w = T::dmatrix("W");
    assert_eq!(pprint(&(&m + &b)), "(M + b)");
    assert_eq!(pprint(&(2 * &x)), "(TensorConstant{2} * x)");
    assert_eq!(pprint(&x.dimshuffle(&[None, Some(0)])), "x");
    assert_eq!(pprint(&w.t()), "W.T");
    assert_eq!(pprint(&w.dimshuffle(&[Some(1), Some(0)])), "W.T");
    assert_eq!(
        pprint(&x.dimshuffle(&[Some(0), None])),
        "DimShuffle{0, x}(x)"
    );
    let t3 = T::dtensor3("t");
    assert_eq!(
        pprint(&t3.dimshuffle(&[Some(2), Some(0), Some(1)])),
        "DimShuffle{2, 0, 1}(t)"
    );
    assert_eq!(
        pprint(&T::sum(&m, 1, true)),
        "DimShuffle{0, x}(Sum{axis=[1], acc_dtype=float64}(M))"
    );
    assert_eq!(
        pprint(&x.mean()),
        "(Sum{acc_dtype=float64}(x) / float64(Shape(x))[Constant{0}])"
    );
    assert_eq!(
        pprint(&T::mean(&m, 1, false)),
        "(Sum{axis=[1], acc_dtype=float64}(M) / float64(Shape(M))[Constant{1}])"
    );
    assert_eq!(
        pprint(&x.get(&[T::Idx::range(Some(1), Some(3), None)])),
        "x[int64:int64]"
    );
    assert_eq!(
        pprint(&T::dvector(None).at(1)),
        "<TensorType(float64, vector)>[Constant{1}]"
    );
    assert_eq!(
        pprint(&m.get(&[T::Idx::at(0), T::Idx::all()])),
        "M[Constant{0}, :]"
    );
    assert_eq!(
        pprint(&m.reshape(&[2, -1])),
        "Reshape{2}(M, TensorConstant{[ 2 -1]})"
    );
    assert_eq!(
        pprint(&x.flatten()),
        "Reshape{1}(x, TensorConstant{(1,) of -1})"
    );
    assert_eq!(
        pprint(&T::min(&m, 0, false)),
        "(-MaxAndArgmax{axis=(0,)}((-M)))"
    );
    let y = T::ivector("y");
    assert_eq!(
        pprint(&m.get(&[T::Idx::array(&T::arange_to(3)), T::Idx::array(&y)])),
        "AdvancedSubtensor(M, ARange{dtype='int64'}(TensorConstant{0}, TensorConstant{3}, TensorConstant{1}), y)"
    );
    let iv = T::ivector("iv");
    assert_eq!(
        pprint(&x.get(&[T::Idx::array(&iv)])),
        "AdvancedSubtensor1(x, iv)"
    );
    assert_eq!(pprint(&T::nnet::logsoftmax(&m)), "LogSoftmax(M)");
}

#[test]
fn debugprint_seed() {
    let (x, _, b, w) = seed();
    let out = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
    assert_eq!(
        debugprint(&[&out]),
        "sigmoid [id A] ''   \n |Elemwise{add,no_inplace} [id B] ''   \n   |dot [id C] ''   \n   | |W [id D]\n   | |x [id E]\n   |b [id F]\n"
    );
}

#[test]
fn debugprint_broadcast_and_mean() {
    let b = T::dvector("b");
    let m = T::dmatrix("M");
    assert_eq!(
        debugprint(&[&(&m + &b)]),
        "Elemwise{add,no_inplace} [id A] ''   \n |M [id B]\n |InplaceDimShuffle{x,0} [id C] ''   \n   |b [id D]\n"
    );
    let x = T::dvector("x");
    assert_eq!(
        debugprint(&[&x.mean()]),
        "Elemwise{true_div,no_inplace} [id A] 'mean'   \n |Sum{acc_dtype=float64} [id B] ''   \n | |x [id C]\n |Subtensor{int64} [id D] ''   \n   |Elemwise{Cast{float64}} [id E] ''   \n   | |Shape [id F] ''   \n   |   |x [id C]\n   |Constant{0} [id G]\n"
    );
}

#[test]
fn debugprint_multi_output_and_indexing() {
    let m = T::dmatrix("M");
    assert_eq!(
        debugprint(&[&T::max(&m, 1, false)]),
        "MaxAndArgmax{axis=(1,)}.0 [id A] 'max'   \n |M [id B]\n"
    );
    assert_eq!(
        debugprint(&[&m.argmax()]),
        "MaxAndArgmax{axis=(0, 1)}.1 [id A] 'argmax'   \n |M [id B]\n"
    );
    assert_eq!(
        debugprint(&[&m.get(&[T::Idx::at(0), T::Idx::all()])]),
        "Subtensor{int64, ::} [id A] ''   \n |M [id B]\n |Constant{0} [id C]\n"
    );
    let x = T::dvector("x");
    assert_eq!(
        debugprint(&[&x.get(&[T::Idx::range(Some(1), Some(3), None)])]),
        "Subtensor{int64:int64:} [id A] ''   \n |x [id B]\n |Constant{1} [id C]\n |Constant{3} [id D]\n"
    );
    let y = T::dvector("y");
    assert_eq!(
        debugprint(&[&T::concatenate(&[x.clone(), y.clone()], 0)]),
        "Join [id A] ''   \n |TensorConstant{0} [id B]\n |x [id C]\n |y [id D]\n"
    );
}

#[test]
fn debugprint_options_and_ids() {
    assert_eq!(char_id(0), "A");
    assert_eq!(char_id(25), "Z");
    assert_eq!(char_id(26), "BA");
    assert_eq!(char_id(27), "BB");
    let [x, y] = T::dvectors(["x", "y"]);
    let s = &x + &y;
    let typed = debugprint_with(
        &[&s],
        &DebugPrintOptions {
            print_type: true,
            ..Default::default()
        },
    );
    assert_eq!(
        typed,
        "Elemwise{add,no_inplace} [id A] <TensorType(float64, vector)> ''   \n |x [id B] <TensorType(float64, vector)>\n |y [id C] <TensorType(float64, vector)>\n"
    );
    let no_ids = debugprint_with(
        &[&s],
        &DebugPrintOptions {
            ids: IdStyle::None,
            ..Default::default()
        },
    );
    assert_eq!(no_ids, "Elemwise{add,no_inplace}  ''   \n |x\n |y\n");
    let ints = debugprint_with(
        &[&s],
        &DebugPrintOptions {
            ids: IdStyle::Int,
            ..Default::default()
        },
    );
    assert!(ints.starts_with("Elemwise{add,no_inplace} [id 0] ''   \n |x [id 1]"));
    // A node met twice is printed again as one line with the same id.
    let t = &s * &s;
    let d = debugprint(&[&t]);
    assert_eq!(
        d,
        "Elemwise{mul,no_inplace} [id A] ''   \n |Elemwise{add,no_inplace} [id B] ''   \n | |x [id C]\n | |y [id D]\n |Elemwise{add,no_inplace} [id B] ''   \n"
    );
    // Many ids go past Z to BA.
    let mut v = T::dscalar("v0");
    for i in 1..30 {
        v = &v + &T::dscalar(format!("v{i}"));
    }
    assert!(debugprint(&[&v]).contains("[id BA]"));
}

#[test]
fn named_intermediates_are_expanded() {
    let (x, _, b, w) = seed();
    let h = T::nnet::sigmoid(&(T::dot(&w, &x) + &b)).named("h");
    assert_eq!(
        pprint(&(&h * 2)),
        r"(sigmoid(((W \dot x) + b)) * TensorConstant{2})"
    );
}

#[test]
fn unnamed_variable_strings() {
    let v = T::dvector(None);
    assert_eq!(v.to_string(), "<TensorType(float64, vector)>");
    let x = T::dvector("x");
    assert_eq!(T::nnet::sigmoid(&x).to_string(), "sigmoid.0");
    assert_eq!((&x * &x).to_string(), "Elemwise{mul,no_inplace}.0");
    assert_eq!(x.sum().to_string(), "Sum{acc_dtype=float64}.0");
    assert_eq!(
        T::constant(array![1.0]).to_string(),
        "TensorConstant{(1,) of 1.0}"
    );
    assert_eq!(
        T::constant(array![[1.0]]).to_string(),
        "TensorConstant{(1, 1) of 1.0}"
    );
}
