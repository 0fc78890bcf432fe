//! Typed constructors (spec §1.3): every kind with every dtype prefix, and the plural forms.
//! Generated once from the table of the spec; each is a one-line call of [`tensor`].

use super::{tensor, tensors, Name};
use crate::dtype::{float_x, DType};
use crate::graph::Var;

/// A `scalar` of dtype floatX (`[]` broadcastable pattern).
pub fn scalar(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[], name)
}
/// Several floatX `scalar` variables, one per name.
pub fn scalars<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[], names)
}
/// A `scalar` of dtype int8.
pub fn bscalar(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[], name)
}
/// A `scalar` of dtype int16.
pub fn wscalar(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[], name)
}
/// A `scalar` of dtype int32.
pub fn iscalar(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[], name)
}
/// Several int32 `scalar` variables, one per name (`iscalars(["x", "y"])`).
pub fn iscalars<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[], names)
}
/// A `scalar` of dtype int64.
pub fn lscalar(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[], name)
}
/// Several int64 `scalar` variables, one per name (`lscalars(["x", "y"])`).
pub fn lscalars<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[], names)
}
/// A `scalar` of dtype float32.
pub fn fscalar(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[], name)
}
/// Several float32 `scalar` variables, one per name (`fscalars(["x", "y"])`).
pub fn fscalars<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[], names)
}
/// A `scalar` of dtype float64.
pub fn dscalar(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[], name)
}
/// Several float64 `scalar` variables, one per name (`dscalars(["x", "y"])`).
pub fn dscalars<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[], names)
}
/// A `vector` of dtype floatX (`[false]` broadcastable pattern).
pub fn vector(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false], name)
}
/// Several floatX `vector` variables, one per name.
pub fn vectors<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false], names)
}
/// A `vector` of dtype int8.
pub fn bvector(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false], name)
}
/// A `vector` of dtype int16.
pub fn wvector(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false], name)
}
/// A `vector` of dtype int32.
pub fn ivector(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false], name)
}
/// Several int32 `vector` variables, one per name (`ivectors(["x", "y"])`).
pub fn ivectors<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false], names)
}
/// A `vector` of dtype int64.
pub fn lvector(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false], name)
}
/// Several int64 `vector` variables, one per name (`lvectors(["x", "y"])`).
pub fn lvectors<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false], names)
}
/// A `vector` of dtype float32.
pub fn fvector(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false], name)
}
/// Several float32 `vector` variables, one per name (`fvectors(["x", "y"])`).
pub fn fvectors<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false], names)
}
/// A `vector` of dtype float64.
pub fn dvector(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false], name)
}
/// Several float64 `vector` variables, one per name (`dvectors(["x", "y"])`).
pub fn dvectors<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false], names)
}
/// A `row` of dtype floatX (`[true, false]` broadcastable pattern).
pub fn row(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[true, false], name)
}
/// Several floatX `row` variables, one per name.
pub fn rows<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[true, false], names)
}
/// A `row` of dtype int8.
pub fn brow(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[true, false], name)
}
/// A `row` of dtype int16.
pub fn wrow(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[true, false], name)
}
/// A `row` of dtype int32.
pub fn irow(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[true, false], name)
}
/// Several int32 `row` variables, one per name (`irows(["x", "y"])`).
pub fn irows<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[true, false], names)
}
/// A `row` of dtype int64.
pub fn lrow(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[true, false], name)
}
/// Several int64 `row` variables, one per name (`lrows(["x", "y"])`).
pub fn lrows<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[true, false], names)
}
/// A `row` of dtype float32.
pub fn frow(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[true, false], name)
}
/// Several float32 `row` variables, one per name (`frows(["x", "y"])`).
pub fn frows<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[true, false], names)
}
/// A `row` of dtype float64.
pub fn drow(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[true, false], name)
}
/// Several float64 `row` variables, one per name (`drows(["x", "y"])`).
pub fn drows<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[true, false], names)
}
/// A `col` of dtype floatX (`[false, true]` broadcastable pattern).
pub fn col(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false, true], name)
}
/// Several floatX `col` variables, one per name.
pub fn cols<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false, true], names)
}
/// A `col` of dtype int8.
pub fn bcol(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false, true], name)
}
/// A `col` of dtype int16.
pub fn wcol(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false, true], name)
}
/// A `col` of dtype int32.
pub fn icol(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false, true], name)
}
/// Several int32 `col` variables, one per name (`icols(["x", "y"])`).
pub fn icols<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false, true], names)
}
/// A `col` of dtype int64.
pub fn lcol(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false, true], name)
}
/// Several int64 `col` variables, one per name (`lcols(["x", "y"])`).
pub fn lcols<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false, true], names)
}
/// A `col` of dtype float32.
pub fn fcol(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false, true], name)
}
/// Several float32 `col` variables, one per name (`fcols(["x", "y"])`).
pub fn fcols<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false, true], names)
}
/// A `col` of dtype float64.
pub fn dcol(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false, true], name)
}
/// Several float64 `col` variables, one per name (`dcols(["x", "y"])`).
pub fn dcols<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false, true], names)
}
/// A `matrix` of dtype floatX (`[false, false]` broadcastable pattern).
pub fn matrix(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false, false], name)
}
/// Several floatX `matrix` variables, one per name.
pub fn matrices<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false, false], names)
}
/// A `matrix` of dtype int8.
pub fn bmatrix(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false, false], name)
}
/// A `matrix` of dtype int16.
pub fn wmatrix(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false, false], name)
}
/// A `matrix` of dtype int32.
pub fn imatrix(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false, false], name)
}
/// Several int32 `matrix` variables, one per name (`imatrices(["x", "y"])`).
pub fn imatrices<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false, false], names)
}
/// A `matrix` of dtype int64.
pub fn lmatrix(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false, false], name)
}
/// Several int64 `matrix` variables, one per name (`lmatrices(["x", "y"])`).
pub fn lmatrices<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false, false], names)
}
/// A `matrix` of dtype float32.
pub fn fmatrix(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false, false], name)
}
/// Several float32 `matrix` variables, one per name (`fmatrices(["x", "y"])`).
pub fn fmatrices<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false, false], names)
}
/// A `matrix` of dtype float64.
pub fn dmatrix(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false, false], name)
}
/// Several float64 `matrix` variables, one per name (`dmatrices(["x", "y"])`).
pub fn dmatrices<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false, false], names)
}
/// A `tensor3` of dtype floatX (`[false; 3]` broadcastable pattern).
pub fn tensor3(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false; 3], name)
}
/// Several floatX `tensor3` variables, one per name.
pub fn tensor3s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false; 3], names)
}
/// A `tensor3` of dtype int8.
pub fn btensor3(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false; 3], name)
}
/// A `tensor3` of dtype int16.
pub fn wtensor3(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false; 3], name)
}
/// A `tensor3` of dtype int32.
pub fn itensor3(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false; 3], name)
}
/// Several int32 `tensor3` variables, one per name (`itensor3s(["x", "y"])`).
pub fn itensor3s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false; 3], names)
}
/// A `tensor3` of dtype int64.
pub fn ltensor3(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false; 3], name)
}
/// Several int64 `tensor3` variables, one per name (`ltensor3s(["x", "y"])`).
pub fn ltensor3s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false; 3], names)
}
/// A `tensor3` of dtype float32.
pub fn ftensor3(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false; 3], name)
}
/// Several float32 `tensor3` variables, one per name (`ftensor3s(["x", "y"])`).
pub fn ftensor3s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false; 3], names)
}
/// A `tensor3` of dtype float64.
pub fn dtensor3(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false; 3], name)
}
/// Several float64 `tensor3` variables, one per name (`dtensor3s(["x", "y"])`).
pub fn dtensor3s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false; 3], names)
}
/// A `tensor4` of dtype floatX (`[false; 4]` broadcastable pattern).
pub fn tensor4(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false; 4], name)
}
/// Several floatX `tensor4` variables, one per name.
pub fn tensor4s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false; 4], names)
}
/// A `tensor4` of dtype int8.
pub fn btensor4(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false; 4], name)
}
/// A `tensor4` of dtype int16.
pub fn wtensor4(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false; 4], name)
}
/// A `tensor4` of dtype int32.
pub fn itensor4(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false; 4], name)
}
/// Several int32 `tensor4` variables, one per name (`itensor4s(["x", "y"])`).
pub fn itensor4s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false; 4], names)
}
/// A `tensor4` of dtype int64.
pub fn ltensor4(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false; 4], name)
}
/// Several int64 `tensor4` variables, one per name (`ltensor4s(["x", "y"])`).
pub fn ltensor4s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false; 4], names)
}
/// A `tensor4` of dtype float32.
pub fn ftensor4(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false; 4], name)
}
/// Several float32 `tensor4` variables, one per name (`ftensor4s(["x", "y"])`).
pub fn ftensor4s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false; 4], names)
}
/// A `tensor4` of dtype float64.
pub fn dtensor4(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false; 4], name)
}
/// Several float64 `tensor4` variables, one per name (`dtensor4s(["x", "y"])`).
pub fn dtensor4s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false; 4], names)
}
/// A `tensor5` of dtype floatX (`[false; 5]` broadcastable pattern).
pub fn tensor5(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false; 5], name)
}
/// Several floatX `tensor5` variables, one per name.
pub fn tensor5s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false; 5], names)
}
/// A `tensor5` of dtype int8.
pub fn btensor5(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false; 5], name)
}
/// A `tensor5` of dtype int16.
pub fn wtensor5(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false; 5], name)
}
/// A `tensor5` of dtype int32.
pub fn itensor5(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false; 5], name)
}
/// Several int32 `tensor5` variables, one per name (`itensor5s(["x", "y"])`).
pub fn itensor5s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false; 5], names)
}
/// A `tensor5` of dtype int64.
pub fn ltensor5(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false; 5], name)
}
/// Several int64 `tensor5` variables, one per name (`ltensor5s(["x", "y"])`).
pub fn ltensor5s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false; 5], names)
}
/// A `tensor5` of dtype float32.
pub fn ftensor5(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false; 5], name)
}
/// Several float32 `tensor5` variables, one per name (`ftensor5s(["x", "y"])`).
pub fn ftensor5s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false; 5], names)
}
/// A `tensor5` of dtype float64.
pub fn dtensor5(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false; 5], name)
}
/// Several float64 `tensor5` variables, one per name (`dtensor5s(["x", "y"])`).
pub fn dtensor5s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false; 5], names)
}
/// A `tensor6` of dtype floatX (`[false; 6]` broadcastable pattern).
pub fn tensor6(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false; 6], name)
}
/// Several floatX `tensor6` variables, one per name.
pub fn tensor6s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false; 6], names)
}
/// A `tensor6` of dtype int8.
pub fn btensor6(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false; 6], name)
}
/// A `tensor6` of dtype int16.
pub fn wtensor6(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false; 6], name)
}
/// A `tensor6` of dtype int32.
pub fn itensor6(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false; 6], name)
}
/// Several int32 `tensor6` variables, one per name (`itensor6s(["x", "y"])`).
pub fn itensor6s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false; 6], names)
}
/// A `tensor6` of dtype int64.
pub fn ltensor6(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false; 6], name)
}
/// Several int64 `tensor6` variables, one per name (`ltensor6s(["x", "y"])`).
pub fn ltensor6s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false; 6], names)
}
/// A `tensor6` of dtype float32.
pub fn ftensor6(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false; 6], name)
}
/// Several float32 `tensor6` variables, one per name (`ftensor6s(["x", "y"])`).
pub fn ftensor6s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false; 6], names)
}
/// A `tensor6` of dtype float64.
pub fn dtensor6(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false; 6], name)
}
/// Several float64 `tensor6` variables, one per name (`dtensor6s(["x", "y"])`).
pub fn dtensor6s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false; 6], names)
}
/// A `tensor7` of dtype floatX (`[false; 7]` broadcastable pattern).
pub fn tensor7(name: impl Into<Name>) -> Var {
    tensor(float_x(), &[false; 7], name)
}
/// Several floatX `tensor7` variables, one per name.
pub fn tensor7s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(float_x(), &[false; 7], names)
}
/// A `tensor7` of dtype int8.
pub fn btensor7(name: impl Into<Name>) -> Var {
    tensor(DType::Int8, &[false; 7], name)
}
/// A `tensor7` of dtype int16.
pub fn wtensor7(name: impl Into<Name>) -> Var {
    tensor(DType::Int16, &[false; 7], name)
}
/// A `tensor7` of dtype int32.
pub fn itensor7(name: impl Into<Name>) -> Var {
    tensor(DType::Int32, &[false; 7], name)
}
/// Several int32 `tensor7` variables, one per name (`itensor7s(["x", "y"])`).
pub fn itensor7s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int32, &[false; 7], names)
}
/// A `tensor7` of dtype int64.
pub fn ltensor7(name: impl Into<Name>) -> Var {
    tensor(DType::Int64, &[false; 7], name)
}
/// Several int64 `tensor7` variables, one per name (`ltensor7s(["x", "y"])`).
pub fn ltensor7s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Int64, &[false; 7], names)
}
/// A `tensor7` of dtype float32.
pub fn ftensor7(name: impl Into<Name>) -> Var {
    tensor(DType::Float32, &[false; 7], name)
}
/// Several float32 `tensor7` variables, one per name (`ftensor7s(["x", "y"])`).
pub fn ftensor7s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float32, &[false; 7], names)
}
/// A `tensor7` of dtype float64.
pub fn dtensor7(name: impl Into<Name>) -> Var {
    tensor(DType::Float64, &[false; 7], name)
}
/// Several float64 `tensor7` variables, one per name (`dtensor7s(["x", "y"])`).
pub fn dtensor7s<const N: usize>(names: [&str; N]) -> [Var; N] {
    tensors(DType::Float64, &[false; 7], names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constructor_and_plural() {
        assert_eq!(scalar("v").ty().to_string(), "TensorType(float64, scalar)");
        assert_eq!(
            scalars(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, scalar)"; 2]
        );
        assert_eq!(bscalar("v").ty().to_string(), "TensorType(int8, scalar)");
        assert_eq!(wscalar("v").ty().to_string(), "TensorType(int16, scalar)");
        assert_eq!(iscalar("v").ty().to_string(), "TensorType(int32, scalar)");
        assert_eq!(
            iscalars(["a"])[0].ty().to_string(),
            "TensorType(int32, scalar)"
        );
        assert_eq!(lscalar("v").ty().to_string(), "TensorType(int64, scalar)");
        assert_eq!(
            lscalars(["a"])[0].ty().to_string(),
            "TensorType(int64, scalar)"
        );
        assert_eq!(fscalar("v").ty().to_string(), "TensorType(float32, scalar)");
        assert_eq!(
            fscalars(["a"])[0].ty().to_string(),
            "TensorType(float32, scalar)"
        );
        assert_eq!(dscalar("v").ty().to_string(), "TensorType(float64, scalar)");
        assert_eq!(
            dscalars(["a"])[0].ty().to_string(),
            "TensorType(float64, scalar)"
        );
        assert_eq!(vector("v").ty().to_string(), "TensorType(float64, vector)");
        assert_eq!(
            vectors(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, vector)"; 2]
        );
        assert_eq!(bvector("v").ty().to_string(), "TensorType(int8, vector)");
        assert_eq!(wvector("v").ty().to_string(), "TensorType(int16, vector)");
        assert_eq!(ivector("v").ty().to_string(), "TensorType(int32, vector)");
        assert_eq!(
            ivectors(["a"])[0].ty().to_string(),
            "TensorType(int32, vector)"
        );
        assert_eq!(lvector("v").ty().to_string(), "TensorType(int64, vector)");
        assert_eq!(
            lvectors(["a"])[0].ty().to_string(),
            "TensorType(int64, vector)"
        );
        assert_eq!(fvector("v").ty().to_string(), "TensorType(float32, vector)");
        assert_eq!(
            fvectors(["a"])[0].ty().to_string(),
            "TensorType(float32, vector)"
        );
        assert_eq!(dvector("v").ty().to_string(), "TensorType(float64, vector)");
        assert_eq!(
            dvectors(["a"])[0].ty().to_string(),
            "TensorType(float64, vector)"
        );
        assert_eq!(row("v").ty().to_string(), "TensorType(float64, row)");
        assert_eq!(
            rows(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, row)"; 2]
        );
        assert_eq!(brow("v").ty().to_string(), "TensorType(int8, row)");
        assert_eq!(wrow("v").ty().to_string(), "TensorType(int16, row)");
        assert_eq!(irow("v").ty().to_string(), "TensorType(int32, row)");
        assert_eq!(irows(["a"])[0].ty().to_string(), "TensorType(int32, row)");
        assert_eq!(lrow("v").ty().to_string(), "TensorType(int64, row)");
        assert_eq!(lrows(["a"])[0].ty().to_string(), "TensorType(int64, row)");
        assert_eq!(frow("v").ty().to_string(), "TensorType(float32, row)");
        assert_eq!(frows(["a"])[0].ty().to_string(), "TensorType(float32, row)");
        assert_eq!(drow("v").ty().to_string(), "TensorType(float64, row)");
        assert_eq!(drows(["a"])[0].ty().to_string(), "TensorType(float64, row)");
        assert_eq!(col("v").ty().to_string(), "TensorType(float64, col)");
        assert_eq!(
            cols(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, col)"; 2]
        );
        assert_eq!(bcol("v").ty().to_string(), "TensorType(int8, col)");
        assert_eq!(wcol("v").ty().to_string(), "TensorType(int16, col)");
        assert_eq!(icol("v").ty().to_string(), "TensorType(int32, col)");
        assert_eq!(icols(["a"])[0].ty().to_string(), "TensorType(int32, col)");
        assert_eq!(lcol("v").ty().to_string(), "TensorType(int64, col)");
        assert_eq!(lcols(["a"])[0].ty().to_string(), "TensorType(int64, col)");
        assert_eq!(fcol("v").ty().to_string(), "TensorType(float32, col)");
        assert_eq!(fcols(["a"])[0].ty().to_string(), "TensorType(float32, col)");
        assert_eq!(dcol("v").ty().to_string(), "TensorType(float64, col)");
        assert_eq!(dcols(["a"])[0].ty().to_string(), "TensorType(float64, col)");
        assert_eq!(matrix("v").ty().to_string(), "TensorType(float64, matrix)");
        assert_eq!(
            matrices(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, matrix)"; 2]
        );
        assert_eq!(bmatrix("v").ty().to_string(), "TensorType(int8, matrix)");
        assert_eq!(wmatrix("v").ty().to_string(), "TensorType(int16, matrix)");
        assert_eq!(imatrix("v").ty().to_string(), "TensorType(int32, matrix)");
        assert_eq!(
            imatrices(["a"])[0].ty().to_string(),
            "TensorType(int32, matrix)"
        );
        assert_eq!(lmatrix("v").ty().to_string(), "TensorType(int64, matrix)");
        assert_eq!(
            lmatrices(["a"])[0].ty().to_string(),
            "TensorType(int64, matrix)"
        );
        assert_eq!(fmatrix("v").ty().to_string(), "TensorType(float32, matrix)");
        assert_eq!(
            fmatrices(["a"])[0].ty().to_string(),
            "TensorType(float32, matrix)"
        );
        assert_eq!(dmatrix("v").ty().to_string(), "TensorType(float64, matrix)");
        assert_eq!(
            dmatrices(["a"])[0].ty().to_string(),
            "TensorType(float64, matrix)"
        );
        assert_eq!(tensor3("v").ty().to_string(), "TensorType(float64, 3D)");
        assert_eq!(
            tensor3s(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, 3D)"; 2]
        );
        assert_eq!(btensor3("v").ty().to_string(), "TensorType(int8, 3D)");
        assert_eq!(wtensor3("v").ty().to_string(), "TensorType(int16, 3D)");
        assert_eq!(itensor3("v").ty().to_string(), "TensorType(int32, 3D)");
        assert_eq!(
            itensor3s(["a"])[0].ty().to_string(),
            "TensorType(int32, 3D)"
        );
        assert_eq!(ltensor3("v").ty().to_string(), "TensorType(int64, 3D)");
        assert_eq!(
            ltensor3s(["a"])[0].ty().to_string(),
            "TensorType(int64, 3D)"
        );
        assert_eq!(ftensor3("v").ty().to_string(), "TensorType(float32, 3D)");
        assert_eq!(
            ftensor3s(["a"])[0].ty().to_string(),
            "TensorType(float32, 3D)"
        );
        assert_eq!(dtensor3("v").ty().to_string(), "TensorType(float64, 3D)");
        assert_eq!(
            dtensor3s(["a"])[0].ty().to_string(),
            "TensorType(float64, 3D)"
        );
        assert_eq!(tensor4("v").ty().to_string(), "TensorType(float64, 4D)");
        assert_eq!(
            tensor4s(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, 4D)"; 2]
        );
        assert_eq!(btensor4("v").ty().to_string(), "TensorType(int8, 4D)");
        assert_eq!(wtensor4("v").ty().to_string(), "TensorType(int16, 4D)");
        assert_eq!(itensor4("v").ty().to_string(), "TensorType(int32, 4D)");
        assert_eq!(
            itensor4s(["a"])[0].ty().to_string(),
            "TensorType(int32, 4D)"
        );
        assert_eq!(ltensor4("v").ty().to_string(), "TensorType(int64, 4D)");
        assert_eq!(
            ltensor4s(["a"])[0].ty().to_string(),
            "TensorType(int64, 4D)"
        );
        assert_eq!(ftensor4("v").ty().to_string(), "TensorType(float32, 4D)");
        assert_eq!(
            ftensor4s(["a"])[0].ty().to_string(),
            "TensorType(float32, 4D)"
        );
        assert_eq!(dtensor4("v").ty().to_string(), "TensorType(float64, 4D)");
        assert_eq!(
            dtensor4s(["a"])[0].ty().to_string(),
            "TensorType(float64, 4D)"
        );
        assert_eq!(tensor5("v").ty().to_string(), "TensorType(float64, 5D)");
        assert_eq!(
            tensor5s(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, 5D)"; 2]
        );
        assert_eq!(btensor5("v").ty().to_string(), "TensorType(int8, 5D)");
        assert_eq!(wtensor5("v").ty().to_string(), "TensorType(int16, 5D)");
        assert_eq!(itensor5("v").ty().to_string(), "TensorType(int32, 5D)");
        assert_eq!(
            itensor5s(["a"])[0].ty().to_string(),
            "TensorType(int32, 5D)"
        );
        assert_eq!(ltensor5("v").ty().to_string(), "TensorType(int64, 5D)");
        assert_eq!(
            ltensor5s(["a"])[0].ty().to_string(),
            "TensorType(int64, 5D)"
        );
        assert_eq!(ftensor5("v").ty().to_string(), "TensorType(float32, 5D)");
        assert_eq!(
            ftensor5s(["a"])[0].ty().to_string(),
            "TensorType(float32, 5D)"
        );
        assert_eq!(dtensor5("v").ty().to_string(), "TensorType(float64, 5D)");
        assert_eq!(
            dtensor5s(["a"])[0].ty().to_string(),
            "TensorType(float64, 5D)"
        );
        assert_eq!(tensor6("v").ty().to_string(), "TensorType(float64, 6D)");
        assert_eq!(
            tensor6s(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, 6D)"; 2]
        );
        assert_eq!(btensor6("v").ty().to_string(), "TensorType(int8, 6D)");
        assert_eq!(wtensor6("v").ty().to_string(), "TensorType(int16, 6D)");
        assert_eq!(itensor6("v").ty().to_string(), "TensorType(int32, 6D)");
        assert_eq!(
            itensor6s(["a"])[0].ty().to_string(),
            "TensorType(int32, 6D)"
        );
        assert_eq!(ltensor6("v").ty().to_string(), "TensorType(int64, 6D)");
        assert_eq!(
            ltensor6s(["a"])[0].ty().to_string(),
            "TensorType(int64, 6D)"
        );
        assert_eq!(ftensor6("v").ty().to_string(), "TensorType(float32, 6D)");
        assert_eq!(
            ftensor6s(["a"])[0].ty().to_string(),
            "TensorType(float32, 6D)"
        );
        assert_eq!(dtensor6("v").ty().to_string(), "TensorType(float64, 6D)");
        assert_eq!(
            dtensor6s(["a"])[0].ty().to_string(),
            "TensorType(float64, 6D)"
        );
        assert_eq!(tensor7("v").ty().to_string(), "TensorType(float64, 7D)");
        assert_eq!(
            tensor7s(["a", "b"]).map(|v| v.ty().to_string()),
            ["TensorType(float64, 7D)"; 2]
        );
        assert_eq!(btensor7("v").ty().to_string(), "TensorType(int8, 7D)");
        assert_eq!(wtensor7("v").ty().to_string(), "TensorType(int16, 7D)");
        assert_eq!(itensor7("v").ty().to_string(), "TensorType(int32, 7D)");
        assert_eq!(
            itensor7s(["a"])[0].ty().to_string(),
            "TensorType(int32, 7D)"
        );
        assert_eq!(ltensor7("v").ty().to_string(), "TensorType(int64, 7D)");
        assert_eq!(
            ltensor7s(["a"])[0].ty().to_string(),
            "TensorType(int64, 7D)"
        );
        assert_eq!(ftensor7("v").ty().to_string(), "TensorType(float32, 7D)");
        assert_eq!(
            ftensor7s(["a"])[0].ty().to_string(),
            "TensorType(float32, 7D)"
        );
        assert_eq!(dtensor7("v").ty().to_string(), "TensorType(float64, 7D)");
        assert_eq!(
            dtensor7s(["a"])[0].ty().to_string(),
            "TensorType(float64, 7D)"
        );
    }
}
