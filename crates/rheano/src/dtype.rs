//! Element types and Theano's promotion rules (spec §1.2, §1.4, §1.5).

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

/// The element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    Float32,
    Float64,
}

impl DType {
    /// Every dtype, in a fixed order (used by tests and tables).
    pub const ALL: [DType; 8] = [
        DType::Bool,
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::UInt8,
        DType::Float32,
        DType::Float64,
    ];

    /// numpy's name of the dtype (`float64`, `int8`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
        }
    }

    /// Parses a numpy dtype name.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64)
    }

    /// Signed or unsigned integer, not bool.
    pub fn is_int(self) -> bool {
        matches!(
            self,
            DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64 | DType::UInt8
        )
    }

    /// Integer or bool: values computed in the integer domain.
    pub fn is_discrete(self) -> bool {
        !self.is_float()
    }

    pub fn size_bytes(self) -> usize {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 => 1,
            DType::Int16 => 2,
            DType::Int32 | DType::Float32 => 4,
            DType::Int64 | DType::Float64 => 8,
        }
    }

    /// numpy's promotion of two dtypes (no value-based casting), the table of spec §1.4.
    pub fn upcast(self, other: DType) -> DType {
        use DType::*;
        if self == other {
            return self;
        }
        let (a, b) = if self <= other {
            (self, other)
        } else {
            (other, self)
        };
        match (a, b) {
            (Bool, x) => x,
            (Float64, _) | (_, Float64) => Float64,
            (Int8, UInt8) => Int16,
            (Int16, UInt8) => Int16,
            (Int32, UInt8) => Int32,
            (Int64, UInt8) => Int64,
            (Int8 | Int16 | Int32 | Int64, Int8 | Int16 | Int32 | Int64) => b,
            (Int8 | Int16 | UInt8, Float32) => Float32,
            (Int32 | Int64, Float32) => Float64,
            (Float32, Float32) => Float32,
            _ => unreachable!("upcast table covers every ordered pair"),
        }
    }

    /// Upcast of several dtypes; `None` for an empty list.
    pub fn upcast_all(dtypes: impl IntoIterator<Item = DType>) -> Option<DType> {
        dtypes.into_iter().reduce(DType::upcast)
    }

    /// Theano's `upgrade_to_float`: small ints → float32, large ints → float64, floats unchanged.
    pub fn upgrade_to_float(self) -> DType {
        match self {
            DType::Bool | DType::Int8 | DType::Int16 | DType::UInt8 => DType::Float32,
            DType::Int32 | DType::Int64 => DType::Float64,
            f => f,
        }
    }

    /// Accumulator dtype of Sum/Prod (float32 accumulates in float64, ints in int64).
    pub fn sum_acc_dtype(self) -> DType {
        match self {
            DType::Float32 | DType::Float64 => DType::Float64,
            _ => DType::Int64,
        }
    }

    /// Output dtype of Sum/Prod: ints widen to int64, floats are kept.
    /// (Theano gives uint64 for unsigned input; rheano has no uint64 and uses int64.)
    pub fn sum_out_dtype(self) -> DType {
        match self {
            DType::Float32 => DType::Float32,
            DType::Float64 => DType::Float64,
            _ => DType::Int64,
        }
    }

    /// True when every value of `self` is exactly representable in `target`
    /// (numpy's safe casting: the rule used when a function receives an input).
    pub fn can_cast_safely_to(self, target: DType) -> bool {
        self.upcast(target) == target
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

static FLOAT_X: AtomicU8 = AtomicU8::new(1);

/// The dtype of unprefixed constructors (`T::vector`), Theano's `config.floatX`. Default float64.
pub fn float_x() -> DType {
    if FLOAT_X.load(Ordering::Relaxed) == 0 {
        DType::Float32
    } else {
        DType::Float64
    }
}

/// Sets `floatX` for the whole process. Only float32 and float64 are accepted.
pub fn set_float_x(dtype: DType) -> crate::Result<()> {
    match dtype {
        DType::Float32 => FLOAT_X.store(0, Ordering::Relaxed),
        DType::Float64 => FLOAT_X.store(1, Ordering::Relaxed),
        other => {
            return Err(crate::Error::Type {
                op: "config.floatX".into(),
                msg: format!("floatX must be float32 or float64, got {other}"),
            })
        }
    }
    Ok(())
}

/// Dtype Theano gives a Python `int` literal: the smallest of int8..int64 that holds it.
pub fn int_literal_dtype(v: i64) -> DType {
    if i8::try_from(v).is_ok() {
        DType::Int8
    } else if i16::try_from(v).is_ok() {
        DType::Int16
    } else if i32::try_from(v).is_ok() {
        DType::Int32
    } else {
        DType::Int64
    }
}

/// Dtype Theano gives a Python `float` literal: float32 when the value is exactly a float32
/// (or floatX is float32), else float64. NaN is not equal to itself, so it is float64.
pub fn float_literal_dtype(v: f64) -> DType {
    if float_x() == DType::Float32 || (v as f32) as f64 == v {
        DType::Float32
    } else {
        DType::Float64
    }
}

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn upcast_table_of_the_spec() {
        // Rows and columns in the spec's order (without float16).
        let order = [Bool, Int8, Int16, Int32, Int64, UInt8, Float32, Float64];
        let table = [
            [Bool, Int8, Int16, Int32, Int64, UInt8, Float32, Float64],
            [Int8, Int8, Int16, Int32, Int64, Int16, Float32, Float64],
            [Int16, Int16, Int16, Int32, Int64, Int16, Float32, Float64],
            [Int32, Int32, Int32, Int32, Int64, Int32, Float64, Float64],
            [Int64, Int64, Int64, Int64, Int64, Int64, Float64, Float64],
            [UInt8, Int16, Int16, Int32, Int64, UInt8, Float32, Float64],
            [
                Float32, Float32, Float32, Float64, Float64, Float32, Float32, Float64,
            ],
            [Float64; 8],
        ];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(a.upcast(*b), table[i][j], "{a} ⊕ {b}");
            }
        }
    }

    #[test]
    fn upgrade_to_float_rules() {
        assert_eq!(Int8.upgrade_to_float(), Float32);
        assert_eq!(Int16.upgrade_to_float(), Float32);
        assert_eq!(UInt8.upgrade_to_float(), Float32);
        assert_eq!(Bool.upgrade_to_float(), Float32);
        assert_eq!(Int32.upgrade_to_float(), Float64);
        assert_eq!(Int64.upgrade_to_float(), Float64);
        assert_eq!(Float32.upgrade_to_float(), Float32);
    }

    #[test]
    fn literal_rules() {
        assert_eq!(int_literal_dtype(1), Int8);
        assert_eq!(int_literal_dtype(128), Int16);
        assert_eq!(int_literal_dtype(-129), Int16);
        assert_eq!(int_literal_dtype(40000), Int32);
        assert_eq!(int_literal_dtype(1 << 31), Int64);
        assert_eq!(float_literal_dtype(1.5), Float32);
        assert_eq!(float_literal_dtype(f64::INFINITY), Float32);
        assert_eq!(float_literal_dtype(3.4028234663852886e38), Float32);
        assert_eq!(float_literal_dtype(0.1), Float64);
        assert_eq!(float_literal_dtype(1e-45), Float64);
        assert_eq!(float_literal_dtype(16777217.0), Float64);
        assert_eq!(float_literal_dtype(1e40), Float64);
        assert_eq!(float_literal_dtype(f64::NAN), Float64);
    }
}
