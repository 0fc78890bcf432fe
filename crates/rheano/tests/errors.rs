//! Every user mistake of spec §6.1 is an `Err` of the right kind whose message names the op or
//! the input; nothing panics.

use ndarray::array;
use rheano::prelude::*;
use rheano::{function_with, FunctionOptions, OnUnusedInput};

#[test]
fn missing_input() {
    let [x, y] = T::dvectors(["x", "y"]);
    let err = function(&[&x], &[&(&x + &y)]).err().unwrap();
    assert!(matches!(err, Error::MissingInput(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("Elemwise{add,no_inplace}(x, y)") && msg.contains(": y"),
        "{msg}"
    );
}

#[test]
fn unused_input() {
    let [x, y] = T::dvectors(["x", "y"]);
    let err = function(&[&x, &y], &[&(&x * 2.0)]).err().unwrap();
    assert!(matches!(err, Error::UnusedInput(_)), "{err:?}");
    assert!(err.to_string().contains("index 1") && err.to_string().contains(": y"));
    let opts = FunctionOptions {
        on_unused_input: OnUnusedInput::Ignore,
        ..Default::default()
    };
    let f = function_with(&[&x, &y], &[&(&x * 2.0)], opts).unwrap();
    let r = f.call(&[array![1.0].into(), array![5.0].into()]).unwrap();
    assert_eq!(r[0].to_f64_vec(), vec![2.0]);
}

#[test]
fn wrong_number_of_arguments() {
    let [x, y] = T::dvectors(["x", "y"]);
    let f = function(&[&x, &y], &[&(&x + &y)]).unwrap();
    let err = f.call(&[array![1.0].into()]).unwrap_err();
    assert!(matches!(err, Error::Type { .. }));
    assert!(
        err.to_string()
            .contains("expected 2 arguments (x, y), got 1"),
        "{err}"
    );
}

#[test]
fn wrong_dtype_is_refused_when_lossy() {
    let x = T::fvector("x");
    let f = function(&[&x], &[&(&x * 2.0)]).unwrap();
    let err = f.call(&[array![1.0f64].into()]).unwrap_err();
    assert!(matches!(err, Error::Type { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("TensorType(float32, vector) cannot store a value of dtype float64"),
        "{msg}"
    );
    assert!(msg.contains("input 0 (x)"), "{msg}");
    // Safe upcasts are accepted; downcasts when allowed.
    assert!(f.call(&[array![1i8].into()]).is_ok());
    let opts = FunctionOptions {
        allow_input_downcast: true,
        ..Default::default()
    };
    let g = function_with(&[&x], &[&(&x * 2.0)], opts).unwrap();
    let r = g.call(&[array![1.5f64].into()]).unwrap();
    assert_eq!(r[0].dtype(), DType::Float32);
}

#[test]
fn wrong_ndim() {
    let x = T::dvector("x");
    let f = function(&[&x], &[&(&x * 2.0)]).unwrap();
    let err = f
        .call(&[array![[1.0, 2.0], [3.0, 4.0]].into()])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Wrong number of dimensions: expected 1, got 2 with shape [2, 2]"),
        "{err}"
    );
}

#[test]
fn non_unit_value_on_broadcastable_dim() {
    let r = T::drow("r");
    let f = function(&[&r], &[&(&r * 2.0)]).unwrap();
    let err = f.call(&[array![[1.0], [2.0]].into()]).unwrap_err();
    assert!(matches!(err, Error::Type { .. }));
    assert!(
        err.to_string()
            .contains("Non-unit value on shape on a broadcastable dimension"),
        "{err}"
    );
}

#[test]
fn type_errors_at_build_time_are_carried_to_use() {
    let iv = T::ivector("iv");
    let sm = T::nnet::softmax(&iv);
    let err = sm.check().unwrap_err();
    assert!(matches!(err, Error::Value { .. }));
    assert_eq!(
        err.to_string(),
        "Softmax: x must be 1-d or 2-d tensor of floats. Got TensorType(int32, vector)"
    );
    let t3 = T::dtensor3("t");
    assert!(T::nnet::softmax(&t3)
        .check()
        .unwrap_err()
        .to_string()
        .contains("Got TensorType(float64, 3D)"));
    // Everything built on an invalid variable carries its error.
    let later = (&sm + 1.0).sum();
    assert_eq!(later.check().unwrap_err(), err);
    assert!(function(&[&iv], &[&later]).is_err());
    assert!(later.eval(&[]).is_err());
    // pprint never fails.
    assert!(pprint(&later).contains("invalid"));
    let bad = T::and_(T::dvector("a"), T::dvector("b"));
    assert!(bad
        .check()
        .unwrap_err()
        .to_string()
        .contains("Elemwise{and_,no_inplace}"));
}

#[test]
fn constants_and_duplicates_are_not_inputs() {
    let x = T::dvector("x");
    assert!(function(&[&x, &x], &[&x]).is_err());
    let c = T::constant(1.0);
    assert!(function(&[&c], &[&(&c + 1.0)]).is_err());
}

#[test]
fn runtime_op_errors_name_the_op() {
    let [a, b] = T::dmatrices(["a", "b"]);
    let f = function(&[&a, &b], &[&T::dot(&a, &b)]).unwrap();
    let err = f
        .call(&[array![[1.0, 2.0]].into(), array![[1.0, 2.0]].into()])
        .unwrap_err();
    assert!(matches!(err, Error::Value { .. }));
    assert!(err.to_string().starts_with("dot:"), "{err}");
}
