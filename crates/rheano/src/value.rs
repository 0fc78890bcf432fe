//! Runtime arrays: one `ndarray::ArrayD` per dtype behind the [`Value`] enum.

use crate::dtype::DType;
use crate::error::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, Dimension, IxDyn};
use std::fmt::Debug;

/// A concrete n-dimensional array of one of rheano's dtypes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(ArrayD<bool>),
    I8(ArrayD<i8>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// A Rust scalar type that is one of rheano's dtypes, with numpy's conversions between them.
pub trait Element: Copy + Debug + PartialEq + PartialOrd + Default + Send + Sync + 'static {
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    fn to_f32(self) -> f32;
    /// Integers and bools exactly; floats truncated toward zero (saturating, NaN → 0).
    fn to_i64(self) -> i64;
    fn to_bool(self) -> bool;
    fn from_f64(v: f64) -> Self;
    fn from_f32(v: f32) -> Self;
    /// Wrapping conversion, as numpy's `astype` on integers.
    fn from_i64(v: i64) -> Self;
    fn from_bool(v: bool) -> Self;
    fn wrap(a: ArrayD<Self>) -> Value;
    fn unwrap(v: &Value) -> Option<&ArrayD<Self>>;
    fn unwrap_owned(v: Value) -> std::result::Result<ArrayD<Self>, Value>;

    /// numpy's `astype` from `Self` to `D`.
    #[inline(always)]
    fn cast<D: Element>(self) -> D {
        match D::DTYPE {
            DType::Float64 => D::from_f64(self.to_f64()),
            DType::Float32 => D::from_f32(self.to_f32()),
            DType::Bool => D::from_bool(self.to_bool()),
            _ if Self::DTYPE.is_float() => D::from_f64(self.to_f64()),
            _ => D::from_i64(self.to_i64()),
        }
    }
}

macro_rules! int_element {
    ($t:ty, $dt:ident, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_f32(self) -> f32 {
                self as f32
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn to_bool(self) -> bool {
                self != 0
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as i64 as $t
            }
            #[inline(always)]
            fn from_f32(v: f32) -> Self {
                v as i64 as $t
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_bool(v: bool) -> Self {
                v as $t
            }
            fn wrap(a: ArrayD<Self>) -> Value {
                Value::$variant(a)
            }
            fn unwrap(v: &Value) -> Option<&ArrayD<Self>> {
                match v {
                    Value::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn unwrap_owned(v: Value) -> std::result::Result<ArrayD<Self>, Value> {
                match v {
                    Value::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
        }
    };
}
int_element!(i8, Int8, I8);
int_element!(i16, Int16, I16);
int_element!(i32, Int32, I32);
int_element!(i64, Int64, I64);
int_element!(u8, UInt8, U8);

macro_rules! float_element {
    ($t:ty, $dt:ident, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_f32(self) -> f32 {
                self as f32
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn to_bool(self) -> bool {
                self != 0.0
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_f32(v: f32) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_bool(v: bool) -> Self {
                v as u8 as $t
            }
            fn wrap(a: ArrayD<Self>) -> Value {
                Value::$variant(a)
            }
            fn unwrap(v: &Value) -> Option<&ArrayD<Self>> {
                match v {
                    Value::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn unwrap_owned(v: Value) -> std::result::Result<ArrayD<Self>, Value> {
                match v {
                    Value::$variant(a) => Ok(a),
                    other => Err(other),
                }
            }
        }
    };
}
float_element!(f32, Float32, F32);
float_element!(f64, Float64, F64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn to_f32(self) -> f32 {
        self as u8 as f32
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn to_bool(self) -> bool {
        self
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn from_f32(v: f32) -> Self {
        v != 0.0
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    fn from_bool(v: bool) -> Self {
        v
    }
    fn wrap(a: ArrayD<Self>) -> Value {
        Value::Bool(a)
    }
    fn unwrap(v: &Value) -> Option<&ArrayD<Self>> {
        match v {
            Value::Bool(a) => Some(a),
            _ => None,
        }
    }
    fn unwrap_owned(v: Value) -> std::result::Result<ArrayD<Self>, Value> {
        match v {
            Value::Bool(a) => Ok(a),
            other => Err(other),
        }
    }
}

impl<T: Element, D: Dimension> From<ndarray::Array<T, D>> for Value {
    fn from(a: ndarray::Array<T, D>) -> Value {
        T::wrap(a.into_dyn())
    }
}

macro_rules! scalar_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                <$t as Element>::wrap(ArrayD::from_elem(IxDyn(&[]), v))
            }
        }
    )*};
}
scalar_from!(bool, i8, i16, i32, i64, u8, f32, f64);

impl Value {
    pub fn dtype(&self) -> DType {
        match self {
            Value::Bool(_) => DType::Bool,
            Value::I8(_) => DType::Int8,
            Value::I16(_) => DType::Int16,
            Value::I32(_) => DType::Int32,
            Value::I64(_) => DType::Int64,
            Value::U8(_) => DType::UInt8,
            Value::F32(_) => DType::Float32,
            Value::F64(_) => DType::Float64,
        }
    }

    pub fn shape(&self) -> &[usize] {
        with_value!(self, a => a.shape())
    }

    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An array of zeros of the given dtype and shape.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Value {
        Value::from_f64_fill(dtype, shape, 0.0)
    }

    /// An array filled with `v` (converted to `dtype` as numpy's `astype`).
    pub fn from_f64_fill(dtype: DType, shape: &[usize], v: f64) -> Value {
        fn fill<T: Element>(shape: &[usize], v: f64) -> Value {
            T::wrap(ArrayD::from_elem(IxDyn(shape), T::from_f64(v)))
        }
        dispatch_dtype!(dtype, T => fill::<T>(shape, v))
    }

    /// The array as `&ArrayD<T>` when its dtype is exactly `T`'s.
    pub fn as_array<T: Element>(&self) -> Option<&ArrayD<T>> {
        T::unwrap(self)
    }

    /// The array as `ArrayD<T>`, or an error naming both dtypes.
    pub fn into_array<T: Element>(self) -> Result<ArrayD<T>> {
        let dt = self.dtype();
        T::unwrap_owned(self).map_err(|_| {
            Error::ty(
                "Value",
                format!("expected an array of dtype {}, got {}", T::DTYPE, dt),
            )
        })
    }

    /// The rows `rows` of the first axis, in that order (numpy's `x[rows]`): a minibatch.
    ///
    /// ```
    /// use rheano::Value;
    /// let x = Value::from(ndarray::array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    /// assert_eq!(x.take_rows(&[2, 0]).unwrap().to_f64_vec(), vec![5.0, 6.0, 1.0, 2.0]);
    /// assert!(x.take_rows(&[3]).is_err());
    /// ```
    pub fn take_rows(&self, rows: &[usize]) -> Result<Value> {
        let n = *self
            .shape()
            .first()
            .ok_or_else(|| Error::index("take_rows", "cannot take rows of a 0-d value"))?;
        if let Some(&bad) = rows.iter().find(|&&r| r >= n) {
            return Err(Error::index(
                "take_rows",
                format!("index {bad} is out of bounds for axis 0 with size {n}"),
            ));
        }
        fn take<T: Element>(a: &ArrayD<T>, rows: &[usize]) -> Value {
            let Some(src) = a.as_slice() else {
                return T::wrap(a.select(ndarray::Axis(0), rows));
            };
            // Contiguous rows: one copy per row.
            let row_len = a.shape()[1..].iter().product::<usize>();
            let mut out = Vec::with_capacity(rows.len() * row_len);
            for &r in rows {
                out.extend_from_slice(&src[r * row_len..(r + 1) * row_len]);
            }
            let mut shape = a.shape().to_vec();
            shape[0] = rows.len();
            T::wrap(ArrayD::from_shape_vec(IxDyn(&shape), out).expect("shape"))
        }
        Ok(with_value!(self, a => take(a, rows)))
    }

    /// A converted copy (numpy's `astype`); no copy when the dtype already matches.
    /// [`cast`](Self::cast) of an owned value: no copy when it already has `dtype`.
    pub fn into_dtype(self, dtype: DType) -> Value {
        if dtype == self.dtype() {
            self
        } else {
            self.cast(dtype)
        }
    }

    pub fn cast(&self, dtype: DType) -> Value {
        if dtype == self.dtype() {
            return self.clone();
        }
        fn conv<S: Element>(a: &ArrayD<S>, dtype: DType) -> Value {
            dispatch_dtype!(dtype, D => D::wrap(a.mapv(|x| x.cast::<D>())))
        }
        with_value!(self, a => conv(a, dtype))
    }

    /// The elements converted to `T` (a borrowed view when the dtype already is `T`).
    pub fn to_array<T: Element>(&self) -> std::borrow::Cow<'_, ArrayD<T>> {
        match T::unwrap(self) {
            Some(a) => std::borrow::Cow::Borrowed(a),
            None => std::borrow::Cow::Owned(with_value!(self, a => a.mapv(|x| x.cast::<T>()))),
        }
    }

    /// Elements as float64 (for tests and printing).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_value!(self, a => a.iter().map(|x| x.to_f64()).collect())
    }

    /// Elements as int64 (indices, shapes).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        with_value!(self, a => a.iter().map(|x| x.to_i64()).collect())
    }

    /// The single element of a 0-d (or size-1) array as f64.
    pub fn scalar_f64(&self) -> Option<f64> {
        if self.len() == 1 {
            Some(self.to_f64_vec()[0])
        } else {
            None
        }
    }

    /// Reshaped copy (row-major order).
    pub fn reshape(&self, shape: &[usize]) -> Result<Value> {
        fn rs<T: Element>(a: &ArrayD<T>, shape: &[usize]) -> Result<Value> {
            // Contiguous (the usual case): one copy of the buffer, not element by element.
            let flat: Vec<T> = match a.as_slice() {
                Some(s) => s.to_vec(),
                None => a.iter().copied().collect(),
            };
            ArrayD::from_shape_vec(IxDyn(shape), flat)
                .map(T::wrap)
                .map_err(|e| Error::value("Reshape", e.to_string()))
        }
        with_value!(self, a => rs(a, shape))
    }

    /// A view as a generic array of T, only when the dtype matches.
    pub fn view<T: Element>(&self) -> Option<ArrayViewD<'_, T>> {
        T::unwrap(self).map(|a| a.view())
    }

    /// numpy's `str()` of the array (used by `TensorConstant{...}`).
    pub fn numpy_str(&self) -> String {
        crate::printing::numpy_fmt::array_str(self)
    }
}

/// A read-only [`Value`] over memory that rheano does not own (a numpy array's buffer), so that a
/// compiled function reads its inputs in place instead of copying them.
///
/// It derefs to `&Value` only: the array inside is never dropped, grown, written or moved out
/// (a `clone()` of the `&Value` copies into a fresh allocation), so the foreign buffer is only read.
///
/// ```
/// use rheano::value::BorrowedValue;
/// let data = vec![1.0f64, 2.0, 3.0, 4.0];
/// // SAFETY: `data` outlives `v` and is not modified while `v` lives.
/// let v = unsafe { BorrowedValue::from_raw(data.as_ptr(), &[2, 2]) };
/// assert_eq!(v.shape(), &[2, 2]);
/// assert_eq!(v.to_f64_vec(), data);
/// ```
pub struct BorrowedValue {
    value: std::mem::ManuallyDrop<Value>,
}

impl BorrowedValue {
    /// Views `shape.iter().product()` elements in C order starting at `ptr`.
    ///
    /// # Safety
    /// `ptr` must be non-null, aligned for `T` and point to that many initialised elements in C
    /// order, which stay valid and unmodified for as long as the returned value lives.
    pub unsafe fn from_raw<T: Element>(ptr: *const T, shape: &[usize]) -> BorrowedValue {
        let len: usize = shape.iter().product();
        // The Vec never frees or reallocates: it sits in a ManuallyDrop that is only read.
        let data = Vec::from_raw_parts(ptr as *mut T, len, len);
        let array = ArrayD::from_shape_vec_unchecked(IxDyn(shape), data);
        BorrowedValue {
            value: std::mem::ManuallyDrop::new(T::wrap(array)),
        }
    }
}

impl std::ops::Deref for BorrowedValue {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn reshape_keeps_row_major_order_of_any_layout() {
        let m = array![[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn();
        // Contiguous (copied as one slice) and transposed (element by element, logical order).
        let r = Value::from(m.clone()).reshape(&[3, 1, 2]).unwrap();
        assert_eq!(r.shape(), &[3, 1, 2]);
        assert_eq!(r.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let t = Value::from(m.reversed_axes()).reshape(&[6]).unwrap();
        assert_eq!(t.to_f64_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert!(Value::from(array![1i64, 2, 3]).reshape(&[2, 2]).is_err());
    }

    #[test]
    fn casts_follow_numpy() {
        let v: Value = array![1.7f64, -1.7, 300.0].into();
        assert_eq!(v.cast(DType::Int64).to_i64_vec(), vec![1, -1, 300]);
        assert_eq!(v.cast(DType::UInt8).to_i64_vec(), vec![1, 255, 44]);
        assert_eq!(v.cast(DType::Bool).to_i64_vec(), vec![1, 1, 1]);
        let i: Value = array![300i64].into();
        assert_eq!(i.cast(DType::Int8).to_i64_vec(), vec![44]);
    }
}
