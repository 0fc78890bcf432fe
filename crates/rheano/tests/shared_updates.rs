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
