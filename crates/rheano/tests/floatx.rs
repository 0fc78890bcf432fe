//! floatX = float32: unprefixed constructors, literals and true division follow it (spec §1.4,
//! §1.5). One test function, because floatX is process-wide.

use rheano::prelude::*;

#[test]
fn float32_defaults() {
    rheano::set_float_x(DType::Float32).unwrap();
    assert_eq!(T::vector("x").dtype(), DType::Float32);
    let [a, b] = T::matrices(["a", "b"]);
    assert_eq!((&a + &b).dtype(), DType::Float32);
    let fv = T::fvector("x");
    assert_eq!(
        (&fv + 0.1).dtype(),
        DType::Float32,
        "0.1 is float32 under floatX=float32"
    );
    let big = &fv + 1e40;
    let c = big.owner_inputs()[1].owner_inputs()[0]
        .constant_value()
        .unwrap()
        .clone();
    assert!(c.to_f64_vec()[0].is_infinite(), "1e40 → float32 inf");
    assert_eq!(
        (&T::ivector("i") / &T::ivector("j")).dtype(),
        DType::Float32
    );
    assert!(rheano::set_float_x(DType::Int32).is_err());
    rheano::set_float_x(DType::Float64).unwrap();
    assert_eq!(T::vector("x").dtype(), DType::Float64);
}
