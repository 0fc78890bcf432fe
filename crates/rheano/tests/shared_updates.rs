//! Shared variables, updates and givens (spec §6.1, §6.2), and a short training run.

use ndarray::{array, Array1, Array2};
use rheano::prelude::*;
use rheano::{function_with, shared_broadcastable, FunctionOptions};

fn opts(updates: Vec<(Var, Var)>, givens: Vec<(Var, Var)>) -> FunctionOptions {
    FunctionOptions {
        updates,
        givens,
        ..Default::default()
    }
}

#[test]
fn outputs_use_old_values_then_updates_apply() {
    let s = shared(1.0, "s");
    let x = T::dscalar("x");
    let f = function_with(&[&x], &[&s], opts(vec![(s.clone(), &s + &x)], vec![])).unwrap();
    assert_eq!(f.call(&[2.0.into()]).unwrap()[0].to_f64_vec(), vec![1.0]);
    assert_eq!(s.get_value().unwrap().to_f64_vec(), vec![3.0]);
    assert_eq!(f.call(&[2.0.into()]).unwrap()[0].to_f64_vec(), vec![3.0]);
    // Two updates read the same old values (a swap).
    let a = shared(array![1.0], "a");
    let b = shared(array![2.0], "b");
    let g = function_with(
        &[],
        &[],
        opts(vec![(a.clone(), b.clone()), (b.clone(), a.clone())], vec![]),
    )
    .unwrap();
    g.call(&[]).unwrap();
    assert_eq!(
        (
            a.get_value().unwrap().to_f64_vec(),
            b.get_value().unwrap().to_f64_vec()
        ),
        (vec![2.0], vec![1.0])
    );
}

#[test]
fn get_and_set_value_copy_and_check() {
    let w = shared(array![1.0, 2.0], "w");
    let mut v = w.get_value().unwrap();
    if let Value::F64(a) = &mut v {
        a[[0]] = 100.0;
    }
    assert_eq!(
        w.get_value().unwrap().to_f64_vec(),
        vec![1.0, 2.0],
        "get_value returns a copy"
    );
    w.set_value(array![5.0, 6.0, 7.0]).unwrap();
    assert_eq!(
        w.get_value().unwrap().to_f64_vec(),
        vec![5.0, 6.0, 7.0],
        "the length may change"
    );
    let e = w.set_value(array![[1.0, 2.0], [3.0, 4.0]]).unwrap_err();
    assert!(
        e.to_string()
            .contains("Wrong number of dimensions: expected 1, got 2 with shape [2, 2]."),
        "{e}"
    );
    w.set_value(array![1.5f32]).unwrap();
    assert_eq!(
        w.get_value().unwrap().dtype(),
        DType::Float64,
        "float32 into float64 is cast"
    );
    let f = shared(array![1.0f32], "f");
    assert!(matches!(
        f.set_value(array![1.0f64]).unwrap_err(),
        Error::Type { .. }
    ));
    assert!(T::dvector("x").get_value().is_err());
    assert_eq!(
        shared(1.0, "s").ty().to_string(),
        "TensorType(float64, scalar)"
    );
    assert_eq!(shared(3i64, "n").dtype(), DType::Int64);
    let r = shared_broadcastable(array![[1.0, 2.0]], "r", &[true, false]).unwrap();
    assert_eq!(r.ty().kind(), "row");
    assert!(shared_broadcastable(array![[1.0], [2.0]], "r", &[true, false]).is_err());
}

#[test]
fn update_type_errors_say_what_differs_and_how_to_fix() {
    let s = shared(array![1.0, 2.0], "s");
    let e = function_with(
        &[],
        &[],
        opts(vec![(s.clone(), T::cast(&s, DType::Float32))], vec![]),
    )
    .err()
    .unwrap();
    let m = e.to_string();
    assert!(matches!(e, Error::Type { .. }));
    assert!(
        m.contains("An update must have the same type as the original shared variable"),
        "{m}"
    );
    assert!(
        m.contains("shared_var.type=TensorType(float64, vector)")
            && m.contains("TensorType(float32, vector)"),
        "{m}"
    );
    assert!(
        m.contains("dtypes differ (float64 vs float32)") && m.contains("cast"),
        "{m}"
    );
    let r = shared(array![[1.0, 2.0]], "r");
    let row = T::drow("x");
    let e = function_with(&[&row], &[], opts(vec![(r.clone(), row.clone())], vec![]))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("broadcastable patterns differ"),
        "{e}"
    );
    let x = T::dvector("x");
    let e = function_with(&[&x], &[], opts(vec![(x.clone(), &x * 2.0)], vec![]))
        .err()
        .unwrap();
    assert!(e
        .to_string()
        .contains("update target must be a SharedVariable"));
}

#[test]
fn givens_substitute_before_compiling() {
    let data = shared(
        Array2::from_shape_fn((6, 2), |(i, j)| (i * 2 + j) as f64),
        "data",
    );
    let x = T::dmatrix("x");
    let idx = T::lscalar("idx");
    let batch = data.get(&[T::Idx::Slice(
        Some((&(&idx * 2)).into()),
        Some((&((&idx + 1) * 2)).into()),
        None,
    )]);
    let f = function_with(&[&idx], &[&x.sum()], opts(vec![], vec![(x.clone(), batch)])).unwrap();
    assert_eq!(f.call(&[0i64.into()]).unwrap()[0].to_f64_vec(), vec![6.0]);
    assert_eq!(
        f.call(&[2i64.into()]).unwrap()[0].to_f64_vec(),
        vec![8.0 + 9.0 + 10.0 + 11.0]
    );
    let y = T::dvector("y");
    let e = function_with(
        &[&y],
        &[&x.sum()],
        opts(vec![], vec![(x.clone(), y.clone())]),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("givens"), "{e}");
}

#[test]
fn a_short_logistic_regression_reduces_the_loss() {
    // Two separable blobs.
    let n = 40;
    let xs = Array2::from_shape_fn((n, 2), |(i, j)| {
        let c = if i < n / 2 { -1.0 } else { 1.0 };
        c + ((i * 7 + j * 3) % 5) as f64 * 0.1
    });
    let ys = Array1::from_shape_fn(n, |i| (i >= n / 2) as i64);
    let x = T::dmatrix("x");
    let y = T::lvector("y");
    let w = shared(Array2::<f64>::zeros((2, 2)), "W");
    let b = shared(Array1::<f64>::zeros(2), "b");
    let p = T::nnet::softmax(T::dot(&x, &w) + &b);
    let cost = T::nnet::categorical_crossentropy(&p, &y).mean();
    let g = rheano::grad(&cost, &[&w, &b]).unwrap();
    let train = function_with(
        &[&x, &y],
        &[&cost],
        opts(
            vec![(w.clone(), &w - 0.5 * &g[0]), (b.clone(), &b - 0.5 * &g[1])],
            vec![],
        ),
    )
    .unwrap();
    let first = train.call(&[xs.clone().into(), ys.clone().into()]).unwrap()[0].to_f64_vec()[0];
    let mut last = first;
    for _ in 0..50 {
        last = train.call(&[xs.clone().into(), ys.clone().into()]).unwrap()[0].to_f64_vec()[0];
    }
    assert!((first - 2f64.ln()).abs() < 1e-12);
    assert!(last < 0.1 * first, "loss {first} → {last}");
}

/// A softmax-regression step with its updates computed in the parameters' own buffers, as
/// Theano compiles them (`Gemm{inplace}` on W, `[(0, 0)]` on b).
fn regression_step(w: &Var, b: &Var, mode: rheano::Mode) -> rheano::Function {
    let x = T::dmatrix("x");
    let y = T::lvector("y");
    let cost = T::nnet::categorical_crossentropy(T::nnet::softmax(T::dot(&x, w) + b), &y).mean();
    let updates = rheano::sgd(&cost, &[w, b], T::constant(0.5)).unwrap();
    function_with(
        &[&x, &y],
        &[&cost],
        FunctionOptions {
            updates,
            mode,
            ..Default::default()
        },
    )
    .unwrap()
}

fn all_finite(v: &Var) -> bool {
    v.get_value()
        .unwrap()
        .to_f64_vec()
        .iter()
        .all(|x| x.is_finite())
}

fn regression_data() -> (Value, Value) {
    let x = Array2::from_shape_fn((6, 4), |(i, j)| ((i * 3 + j * 5) % 7) as f64 / 7.0 - 0.4);
    (x.into_dyn().into(), array![0i64, 2, 1, 1, 0, 2].into())
}

#[test]
fn updates_in_place_give_the_same_training_as_without() {
    let w0 = Array2::from_shape_fn((4, 3), |(i, j)| ((i + 2 * j) % 5) as f64 / 10.0 - 0.2);
    let (w, b) = (
        shared(w0.clone(), "W"),
        shared(Array1::<f64>::zeros(3), "b"),
    );
    let (w2, b2) = (shared(w0, "W"), shared(Array1::<f64>::zeros(3), "b"));
    let fast = regression_step(&w, &b, rheano::Mode::FastRun);
    let plain = regression_step(&w2, &b2, rheano::Mode::None);
    let dp = fast.debugprint();
    assert!(dp.contains("Gemm{inplace"), "{dp}");
    assert!(
        dp.contains("Elemwise{Composite{(i0 - (i1 * i2))}}[(0, 0)]"),
        "{dp}"
    );
    let (x, y) = regression_data();
    let held = w.get_value().unwrap();
    for _ in 0..20 {
        let (a, c) = (
            fast.call(&[x.clone(), y.clone()]).unwrap(),
            plain.call(&[x.clone(), y.clone()]).unwrap(),
        );
        assert!((a[0].to_f64_vec()[0] - c[0].to_f64_vec()[0]).abs() < 1e-12);
    }
    for (p, q) in [(&w, &w2), (&b, &b2)] {
        for (u, v) in p
            .get_value()
            .unwrap()
            .to_f64_vec()
            .iter()
            .zip(q.get_value().unwrap().to_f64_vec())
        {
            assert!((u - v).abs() < 1e-12, "{u} vs {v}");
        }
    }
    // A value read out before the calls is a copy: the in-place updates did not touch it.
    assert_ne!(held, w.get_value().unwrap());
}

/// A call that fails leaves every parameter holding a whole value (its old one, or its update
/// when the in-place step had already run), and the function keeps working.
#[test]
fn a_failing_call_leaves_the_parameters_whole() {
    let w0 = Array2::from_shape_fn((4, 3), |(i, j)| ((i + j) % 3) as f64 / 10.0);
    let (w, b) = (
        shared(w0.clone(), "W"),
        shared(Array1::<f64>::zeros(3), "b"),
    );
    let step = regression_step(&w, &b, rheano::Mode::FastRun);
    let (x, _) = regression_data();
    let bad_labels: Value = array![0i64, 7, 1, 1, 0, 2].into();
    assert!(step.call(&[x.clone(), bad_labels]).is_err());
    let wrong_width: Value = Array2::<f64>::zeros((6, 5)).into_dyn().into();
    assert!(step
        .call(&[wrong_width, array![0i64, 2, 1, 1, 0, 2].into()])
        .is_err());
    assert_eq!(w.get_value().unwrap().shape(), &[4, 3]);
    assert_eq!(b.get_value().unwrap().shape(), &[3]);
    assert!(all_finite(&w));
    let (x, y) = regression_data();
    let c = step.call(&[x, y]).unwrap()[0].to_f64_vec()[0];
    assert!(c.is_finite());
}

/// Calls on several threads take turns with the parameters they update: no update is lost,
/// and two functions that update the same parameters in place do not deadlock.
#[test]
fn concurrent_calls_apply_every_update() {
    let w0 = Array2::from_shape_fn((4, 3), |(i, j)| ((i * j) % 4) as f64 / 10.0);
    let (w, b) = (shared(w0, "W"), shared(Array1::<f64>::zeros(3), "b"));
    let count = shared(0.0, "count");
    let x = T::dmatrix("x");
    let y = T::lvector("y");
    let cost = T::nnet::categorical_crossentropy(T::nnet::softmax(T::dot(&x, &w) + &b), &y).mean();
    let mut updates = rheano::sgd(&cost, &[&w, &b], T::constant(0.1)).unwrap();
    updates.push((count.clone(), &count + 1.0));
    let step = function_with(
        &[&x, &y],
        &[&cost],
        FunctionOptions {
            updates: updates.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    // The other function updates both elementwise (in place on each).
    let other = function_with(
        &[&x],
        &[],
        FunctionOptions {
            updates: vec![
                (w.clone(), &w * 0.999),
                (b.clone(), &b * 0.999),
                (count.clone(), &count + 1.0),
            ],
            on_unused_input: rheano::OnUnusedInput::Ignore,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        other.debugprint().contains("[(0, 0)]"),
        "{}",
        other.debugprint()
    );
    let (xv, yv) = regression_data();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (step, other, xv, yv) = (&step, &other, xv.clone(), yv.clone());
            s.spawn(move || {
                for _ in 0..50 {
                    if t % 2 == 0 {
                        step.call(&[xv.clone(), yv.clone()]).unwrap();
                    } else {
                        other.call(std::slice::from_ref(&xv)).unwrap();
                    }
                }
            });
        }
    });
    assert_eq!(count.get_value().unwrap().to_f64_vec(), vec![200.0]);
    assert!(all_finite(&w));
}
