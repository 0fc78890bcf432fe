//! Dispatch macros over the dtype of a value.

/// Runs `$body` with `$a` bound to the inner `&ArrayD<T>` of a [`Value`], whatever its dtype.
macro_rules! with_value {
    ($v:expr, $a:ident => $body:expr) => {
        match $v {
            $crate::value::Value::Bool($a) => $body,
            $crate::value::Value::I8($a) => $body,
            $crate::value::Value::I16($a) => $body,
            $crate::value::Value::I32($a) => $body,
            $crate::value::Value::I64($a) => $body,
            $crate::value::Value::U8($a) => $body,
            $crate::value::Value::F32($a) => $body,
            $crate::value::Value::F64($a) => $body,
        }
    };
}

/// Runs `$body` with the type alias `$T` set to the Rust element type of a [`DType`].
macro_rules! dispatch_dtype {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::dtype::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::dtype::DType::Int8 => {
                type $T = i8;
                $body
            }
            $crate::dtype::DType::Int16 => {
                type $T = i16;
                $body
            }
            $crate::dtype::DType::Int32 => {
                type $T = i32;
                $body
            }
            $crate::dtype::DType::Int64 => {
                type $T = i64;
                $body
            }
            $crate::dtype::DType::UInt8 => {
                type $T = u8;
                $body
            }
            $crate::dtype::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::dtype::DType::Float64 => {
                type $T = f64;
                $body
            }
        }
    };
}
