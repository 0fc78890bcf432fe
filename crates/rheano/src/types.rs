//! Tensor types: a dtype and a broadcastable pattern (spec §1.1).

use crate::dtype::DType;
use std::fmt;

/// The static type of a symbolic tensor: its dtype and, per dimension, whether that dimension is
/// statically of length 1 (broadcastable). Broadcasting only happens along such dimensions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub broadcastable: Vec<bool>,
}

impl TensorType {
    pub fn new(dtype: DType, broadcastable: impl Into<Vec<bool>>) -> TensorType {
        TensorType {
            dtype,
            broadcastable: broadcastable.into(),
        }
    }

    /// A type of `ndim` non-broadcastable dimensions.
    pub fn dense(dtype: DType, ndim: usize) -> TensorType {
        TensorType::new(dtype, vec![false; ndim])
    }

    pub fn scalar(dtype: DType) -> TensorType {
        TensorType::new(dtype, vec![])
    }

    pub fn ndim(&self) -> usize {
        self.broadcastable.len()
    }

    pub fn with_dtype(&self, dtype: DType) -> TensorType {
        TensorType::new(dtype, self.broadcastable.clone())
    }

    /// Theano's kind word: `scalar`, `vector`, `row`, `col`, `matrix`, `3D`…, or the raw pattern.
    pub fn kind(&self) -> String {
        let b = &self.broadcastable;
        match b.as_slice() {
            [] => "scalar".into(),
            [false] => "vector".into(),
            [true, false] => "row".into(),
            [false, true] => "col".into(),
            [false, false] => "matrix".into(),
            _ if b.iter().all(|x| !x) => format!("{}D", b.len()),
            _ => {
                let items: Vec<&str> = b
                    .iter()
                    .map(|&x| if x { "True" } else { "False" })
                    .collect();
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
        }
    }
}

impl fmt::Display for TensorType {
    /// `TensorType(float64, vector)`, as Theano prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TensorType({}, {})", self.dtype, self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_names() {
        let t = |b: &[bool]| TensorType::new(DType::Float64, b.to_vec()).to_string();
        assert_eq!(t(&[]), "TensorType(float64, scalar)");
        assert_eq!(t(&[false]), "TensorType(float64, vector)");
        assert_eq!(t(&[true, false]), "TensorType(float64, row)");
        assert_eq!(t(&[false, true]), "TensorType(float64, col)");
        assert_eq!(t(&[false, false]), "TensorType(float64, matrix)");
        assert_eq!(t(&[false; 3]), "TensorType(float64, 3D)");
        assert_eq!(t(&[true, true]), "TensorType(float64, (True, True))");
        assert_eq!(t(&[true]), "TensorType(float64, (True,))");
        assert_eq!(
            TensorType::dense(DType::Int8, 4).to_string(),
            "TensorType(int8, 4D)"
        );
    }
}
