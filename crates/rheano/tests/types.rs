//! Constructors, their types, the upcast table through real graphs, and literal typing (spec §1).

use ndarray::array;
use rheano::prelude::*;
use rheano::TensorType;

fn ty(v: &Var) -> String {
    v.ty().to_string()
}

#[test]
fn every_constructor_has_its_type() {
    use DType::*;
    type Make = fn(T::Name) -> Var;
    let kinds: Vec<(Make, &str)> = vec![
        (|n| T::scalar(n), "TensorType(float64, scalar)"),
        (|n| T::vector(n), "TensorType(float64, vector)"),
        (|n| T::row(n), "TensorType(float64, row)"),
        (|n| T::col(n), "TensorType(float64, col)"),
        (|n| T::matrix(n), "TensorType(float64, matrix)"),
        (|n| T::tensor3(n), "TensorType(float64, 3D)"),
        (|n| T::tensor4(n), "TensorType(float64, 4D)"),
        (|n| T::tensor5(n), "TensorType(float64, 5D)"),
        (|n| T::tensor6(n), "TensorType(float64, 6D)"),
        (|n| T::tensor7(n), "TensorType(float64, 7D)"),
        (|n| T::bscalar(n), "TensorType(int8, scalar)"),
        (|n| T::wvector(n), "TensorType(int16, vector)"),
        (|n| T::irow(n), "TensorType(int32, row)"),
        (|n| T::lcol(n), "TensorType(int64, col)"),
        (|n| T::fmatrix(n), "TensorType(float32, matrix)"),
        (|n| T::dtensor3(n), "TensorType(float64, 3D)"),
        (|n| T::btensor4(n), "TensorType(int8, 4D)"),
        (|n| T::ftensor5(n), "TensorType(float32, 5D)"),
        (|n| T::itensor6(n), "TensorType(int32, 6D)"),
        (|n| T::ltensor7(n), "TensorType(int64, 7D)"),
        (|n| T::wmatrix(n), "TensorType(int16, matrix)"),
        (|n| T::dscalar(n), "TensorType(float64, scalar)"),
    ];
    for (make, want) in kinds {
        let v = make(T::Name::from("v"));
        assert_eq!(ty(&v), want);
        assert_eq!(v.name().as_deref(), Some("v"));
    }
    let [a, b, c] = T::dvectors(["a", "b", "c"]);
    assert_eq!(
        [a.name(), b.name(), c.name()].map(|n| n.unwrap()),
        ["a", "b", "c"]
    );
    assert_eq!(a.dtype(), Float64);
    let [m] = T::fmatrices(["m"]);
    assert_eq!(ty(&m), "TensorType(float32, matrix)");
    let [r, s] = T::irows(["r", "s"]);
    assert_eq!(ty(&r), "TensorType(int32, row)");
    assert_eq!(s.broadcastable(), &[true, false]);
    let [t] = T::ltensor3s(["t"]);
    assert_eq!(ty(&t), "TensorType(int64, 3D)");
    let [p, q] = T::scalars(["p", "q"]);
    assert_eq!(ty(&p), "TensorType(float64, scalar)");
    assert_eq!(q.ndim(), 0);
    let [cc] = T::dcols(["c"]);
    assert_eq!(cc.broadcastable(), &[false, true]);
    assert_eq!(T::unnamed(Float64, &[false], 2).len(), 2);
    let v = T::tensor(Int8, &[true, true], "z");
    assert_eq!(ty(&v), "TensorType(int8, (True, True))");
    assert!(T::dvector(None).name().is_none());
}

#[test]
fn upcast_table_through_graphs() {
    for a in DType::ALL {
        for b in DType::ALL {
            let x = T::tensor(a, &[false], "x");
            let y = T::tensor(b, &[false], "y");
            assert_eq!((&x + &y).dtype(), a.upcast(b), "{a} + {b}");
            assert_eq!(T::maximum(&x, &y).dtype(), a.upcast(b));
            assert_eq!(T::gt(&x, &y).dtype(), DType::Bool);
            let div = (&x / &y).dtype();
            if a.upcast(b).is_float() {
                assert_eq!(div, a.upcast(b));
            } else {
                assert_eq!(div, DType::Float64, "{a} / {b} is floatX");
            }
            assert_eq!(T::int_div(&x, &y).dtype(), a.upcast(b));
        }
    }
}

#[test]
fn upgrade_to_float_and_special_rules() {
    assert_eq!(T::nnet::sigmoid(T::ivector("x")).dtype(), DType::Float64);
    assert_eq!(T::nnet::sigmoid(T::bvector("x")).dtype(), DType::Float32);
    assert_eq!(T::sqrt(T::wvector("x")).dtype(), DType::Float32);
    assert_eq!(T::exp(T::lvector("x")).dtype(), DType::Float64);
    assert_eq!(T::neg(T::bvector("x")).dtype(), DType::Int8);
    assert_eq!(T::bvector("x").pow(2).dtype(), DType::Int8);
    assert_eq!(
        T::dot(T::fmatrix("a"), T::dvector("b")).dtype(),
        DType::Float64
    );
    assert_eq!(
        T::dot(T::imatrix("a"), T::ivector("b")).dtype(),
        DType::Int32
    );
    assert_eq!(T::fvector("x").sum().dtype(), DType::Float32);
    assert_eq!(T::bvector("x").sum().dtype(), DType::Int64);
    assert_eq!(T::ivector("x").mean().dtype(), DType::Float64);
    assert_eq!(T::fvector("x").mean().dtype(), DType::Float32);
    assert_eq!(
        T::fvector("x").sum().to_string(),
        "Sum{acc_dtype=float64}.0"
    );
    assert_eq!(T::ivector("x").sum().to_string(), "Sum{acc_dtype=int64}.0");
    assert_eq!(T::fvector("x").argmax().dtype(), DType::Int64);
    assert_eq!(T::arange_to(5).dtype(), DType::Int64);
    assert_eq!(T::arange(0.0, 1.5, 0.5).dtype(), DType::Float32);
}

#[test]
fn literal_typing() {
    use DType::*;
    let fv = T::fvector("x");
    assert_eq!((&fv * 2.0).dtype(), Float32);
    assert_eq!((&fv + 0.1).dtype(), Float64);
    assert_eq!((&fv + 1.5).dtype(), Float32);
    assert_eq!((&fv + 1).dtype(), Float32);
    assert_eq!((&fv + 0.1f32).dtype(), Float32);
    assert_eq!((&T::ivector("i") + 1.5).dtype(), Float64);
    assert_eq!((&T::bvector("b") + 1).dtype(), Int8);
    assert_eq!((&T::bvector("b") + 1000).dtype(), Int16);
    assert_eq!((&T::bvector("b") + 40000).dtype(), Int32);
    assert_eq!((&T::bvector("b") + (1i64 << 31)).dtype(), Int64);
    assert_eq!((2.0 * &fv).dtype(), Float32);
    assert_eq!((&fv + f64::NAN).dtype(), Float64);
    // Arrays are not autocast.
    assert_eq!((&fv + array![1i64, 2]).dtype(), Float64);
    assert_eq!((&T::bvector("b") + array![1i64, 2]).dtype(), Int64);
}

#[test]
fn broadcasting_types() {
    let r = T::drow("r");
    let c = T::dcol("c");
    let m = T::dmatrix("m");
    let v = T::dvector("v");
    let s = T::dscalar("s");
    assert_eq!(
        (&r + &c).ty(),
        &TensorType::new(DType::Float64, vec![false, false])
    );
    assert_eq!((&m + &v).ndim(), 2);
    assert_eq!((&s + &v).ty().kind(), "vector");
    assert_eq!((&r + &r).ty().kind(), "row");
}
