//! Scalar operations: the closed set that elementwise ops (and fused composites) are built from.
//!
//! Each scalar op knows its output dtype rule, its Theano names (the tensor-level symbol used in
//! `Elemwise{add,no_inplace}` and the scalar name used inside composites), and its kernels in the
//! float domain (f32, f64) and the integer domain (i64, wrapping like numpy).

use crate::dtype::{float_x, DType};
use crate::error::{Error, Result};

/// A scalar operation applied elementwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarOp {
    Add,
    Sub,
    Mul,
    TrueDiv,
    IntDiv,
    Mod,
    Neg,
    Pow,
    Abs,
    /// The sign: −1, 0 or 1 (NaN stays NaN).
    Sgn,
    Exp,
    Log,
    Log1p,
    Expm1,
    Sqrt,
    Sqr,
    Tanh,
    Sin,
    Cos,
    Maximum,
    Minimum,
    Inv,
    Gt,
    Lt,
    Ge,
    Le,
    Eq,
    Neq,
    And,
    Or,
    Invert,
    Switch,
    Clip,
    Cast(DType),
    /// `second(a, b)`: b broadcast to the shape of both (Theano's `fill`).
    Second,
    Sigmoid,
    Softplus,
    UltraFastSigmoid,
    Softsign,
    /// max(x, 0); relu(−inf) = 0.
    Relu,
    /// x for x > 0, alpha·x otherwise (`relu(x, alpha)`).
    LeakyRelu,
    /// x for x > 0, alpha·(e^x − 1) otherwise (`elu(x, alpha)`).
    Elu,
    /// scale·elu(x, alpha) with the SELU constants.
    Selu,
    /// softplus(−|z|) + z·((z > 0) − t): binary crossentropy of sigmoid(z) against t.
    SigmoidBinaryCrossentropy,
    /// σ(−x), computed next to σ(x) in one pass (one e^−|x| for both) where a fused program
    /// needs both: the forward σ of a layer and its gradient's σ(−x). Only compiled graphs
    /// hold it (see the rewrite `sigmoid_complement_sharing`).
    SigmoidComplement,
    Identity,
}

/// How the output dtype of a scalar op follows from its inputs.
enum DTypeRule {
    Upcast,
    /// Integer inputs give floatX (true division).
    UpcastFloatX,
    UpgradeToFloat,
    Bool,
    /// upcast of all inputs but the first (switch's condition).
    UpcastTail,
    /// dtype of the last input (second / fill).
    Last,
    Fixed(DType),
    /// upcast with a float32 constant (relu's 0.5).
    UpcastFloat32,
    /// Theano's elu graph: upgrade_to_float(x) ⊕ alpha ⊕ x.
    Elu,
    /// upgrade_to_float(x) ⊕ floatX (selu's Python-float constants).
    UpcastFloatX2,
}

impl ScalarOp {
    /// The rough cost of one element in simple vector ops (an addition is 1), measured on the
    /// fast kernels: a division about 4, an exp/log-based function about 12. Sets when a fused
    /// loop is worth several threads.
    pub fn cost(self) -> usize {
        use ScalarOp::*;
        match self {
            Exp
            | Log
            | Log1p
            | Expm1
            | Tanh
            | Sin
            | Cos
            | Pow
            | Sigmoid
            | SigmoidComplement
            | Softplus
            | Elu
            | Selu
            | SigmoidBinaryCrossentropy => 12,
            TrueDiv | Inv | Sqrt | IntDiv | Mod | UltraFastSigmoid | Softsign => 4,
            _ => 1,
        }
    }

    /// Number of inputs, `None` for variadic (add, mul).
    pub fn arity(self) -> Option<usize> {
        use ScalarOp::*;
        Some(match self {
            Add | Mul => return None,
            Neg | Abs | Sgn | Exp | Log | Log1p | Expm1 | Sqrt | Sqr | Tanh | Sin | Cos | Inv
            | Invert | Cast(_) | Sigmoid | SigmoidComplement | Softplus | UltraFastSigmoid
            | Softsign | Identity | Relu | Selu => 1,
            Switch | Clip => 3,
            _ => 2,
        })
    }

    fn dtype_rule(self) -> DTypeRule {
        use ScalarOp::*;
        match self {
            Add | Sub | Mul | IntDiv | Mod | Pow | Maximum | Minimum | Neg | Abs | Sgn | Sqr
            | And | Or | Invert | Clip | Identity => DTypeRule::Upcast,
            TrueDiv => DTypeRule::UpcastFloatX,
            Exp | Log | Log1p | Expm1 | Sqrt | Tanh | Sin | Cos | Inv | Sigmoid
            | SigmoidComplement | Softplus | UltraFastSigmoid | Softsign => {
                DTypeRule::UpgradeToFloat
            }
            Gt | Lt | Ge | Le | Eq | Neq => DTypeRule::Bool,
            Switch => DTypeRule::UpcastTail,
            Second => DTypeRule::Last,
            Cast(d) => DTypeRule::Fixed(d),
            Relu | LeakyRelu => DTypeRule::UpcastFloat32,
            Elu => DTypeRule::Elu,
            Selu => DTypeRule::UpcastFloatX2,
            SigmoidBinaryCrossentropy => DTypeRule::UpgradeToFloat,
        }
    }

    /// Output dtype for the given input dtypes (spec §1.4).
    pub fn output_dtype(self, inputs: &[DType]) -> Result<DType> {
        if let Some(n) = self.arity() {
            if inputs.len() != n {
                return Err(Error::ty(
                    self.symbol(),
                    format!("expected {n} inputs, got {}", inputs.len()),
                ));
            }
        } else if inputs.is_empty() {
            return Err(Error::ty(self.symbol(), "expected at least one input"));
        }
        let up = || DType::upcast_all(inputs.iter().copied()).expect("non-empty");
        Ok(match self.dtype_rule() {
            DTypeRule::Upcast => up(),
            DTypeRule::UpcastFloatX => {
                let d = up();
                if d.is_discrete() {
                    float_x()
                } else {
                    d
                }
            }
            DTypeRule::UpgradeToFloat => up().upgrade_to_float(),
            DTypeRule::Bool => DType::Bool,
            DTypeRule::UpcastTail => DType::upcast_all(inputs[1..].iter().copied()).expect("3"),
            DTypeRule::Last => *inputs.last().expect("non-empty"),
            DTypeRule::Fixed(d) => d,
            DTypeRule::UpcastFloat32 => up().upcast(DType::Float32),
            DTypeRule::Elu => inputs[0]
                .upgrade_to_float()
                .upcast(inputs[1])
                .upcast(inputs[0]),
            DTypeRule::UpcastFloatX2 => up().upgrade_to_float().upcast(float_x()),
        })
    }

    /// Theano's tensor-level symbol: `add` in `Elemwise{add,no_inplace}`, also the pprint name.
    pub fn symbol(self) -> String {
        use ScalarOp::*;
        match self {
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            TrueDiv => "true_div",
            IntDiv => "int_div",
            Mod => "mod",
            Neg => "neg",
            Pow => "pow",
            Abs => "abs_",
            Sgn => "sgn",
            Exp => "exp",
            Log => "log",
            Log1p => "log1p",
            Expm1 => "expm1",
            Sqrt => "sqrt",
            Sqr => "sqr",
            Tanh => "tanh",
            Sin => "sin",
            Cos => "cos",
            Maximum => "maximum",
            Minimum => "minimum",
            Inv => "inv",
            Gt => "gt",
            Lt => "lt",
            Ge => "ge",
            Le => "le",
            Eq => "eq",
            Neq => "neq",
            And => "and_",
            Or => "or_",
            Invert => "invert",
            Switch => "switch",
            Clip => "clip",
            Cast(d) => return format!("Cast{{{d}}}"),
            Second => "second",
            Sigmoid => "sigmoid",
            Softplus => "softplus",
            UltraFastSigmoid => "ultra_fast_sigmoid",
            Softsign => "softsign",
            Relu | LeakyRelu => "relu",
            Elu => "elu",
            Selu => "selu",
            SigmoidBinaryCrossentropy => "sigmoid_binary_crossentropy",
            SigmoidComplement => "sigmoid_complement",
            Identity => "identity",
        }
        .to_string()
    }

    /// Theano's scalar-op name, as printed inside `Composite{...}` and `Elemwise{...}`.
    pub fn scalar_name(self) -> String {
        use ScalarOp::*;
        match self {
            Abs => "Abs".into(),
            Gt => "GT".into(),
            Lt => "LT".into(),
            Ge => "GE".into(),
            Le => "LE".into(),
            Eq => "EQ".into(),
            Neq => "NEQ".into(),
            And => "AND".into(),
            Or => "OR".into(),
            Invert => "Invert".into(),
            Sigmoid => "scalar_sigmoid".into(),
            Softplus => "scalar_softplus".into(),
            UltraFastSigmoid => "ultra_fast_scalar_sigmoid".into(),
            Softsign => "ScalarSoftsign".into(),
            _ => self.symbol(),
        }
    }

    /// Theano's class name of the scalar op (`ScalarSigmoid`, `Add`, `TrueDiv`), which an
    /// in-place elementwise node shows: `Elemwise{ScalarSigmoid}[(0, 0)]`.
    pub fn class_name(self) -> String {
        use ScalarOp::*;
        match self {
            Sigmoid => "ScalarSigmoid".into(),
            Softplus => "ScalarSoftplus".into(),
            UltraFastSigmoid => "UltraFastScalarSigmoid".into(),
            Abs | Gt | Lt | Ge | Le | Eq | Neq | And | Or | Invert | Softsign => self.scalar_name(),
            _ => self
                .symbol()
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect::<String>())
                        .unwrap_or_default()
                })
                .collect(),
        }
    }

    /// The infix symbol of ops that pprint as operators.
    pub fn operator(self) -> Option<&'static str> {
        use ScalarOp::*;
        Some(match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            TrueDiv => "/",
            IntDiv => "//",
            Pow => "**",
            Neg => "-",
            _ => return None,
        })
    }

    pub fn is_comparison(self) -> bool {
        use ScalarOp::*;
        matches!(self, Gt | Lt | Ge | Le | Eq | Neq)
    }

    /// Integer-domain kernel (i64, wrapping like numpy's fixed-width integers).
    pub fn int_fn(self) -> IntFn {
        use ScalarOp::*;
        match self {
            Add => IntFn::Variadic(i64::wrapping_add),
            Mul => IntFn::Variadic(i64::wrapping_mul),
            Sub => IntFn::Binary(i64::wrapping_sub),
            IntDiv => IntFn::Binary(int_floor_div),
            Mod => IntFn::Binary(int_py_mod),
            Pow => IntFn::Binary(|a, b| a.wrapping_pow(b.clamp(0, u32::MAX as i64) as u32)),
            Maximum => IntFn::Binary(|a, b| a.max(b)),
            Minimum => IntFn::Binary(|a, b| a.min(b)),
            And => IntFn::Binary(|a, b| a & b),
            Or => IntFn::Binary(|a, b| a | b),
            Neg => IntFn::Unary(i64::wrapping_neg),
            Abs => IntFn::Unary(i64::wrapping_abs),
            Sgn => IntFn::Unary(i64::signum),
            Sqr => IntFn::Unary(|a| a.wrapping_mul(a)),
            Invert => IntFn::Unary(|a| !a),
            Identity => IntFn::Unary(|a| a),
            Clip => IntFn::Ternary(|x, lo, hi| x.max(lo).min(hi)),
            _ => IntFn::Unsupported,
        }
    }
}

/// An integer kernel of some arity.
pub enum IntFn {
    Unary(fn(i64) -> i64),
    Binary(fn(i64, i64) -> i64),
    Ternary(fn(i64, i64, i64) -> i64),
    Variadic(fn(i64, i64) -> i64),
    Unsupported,
}

/// numpy's floor division on integers; division by zero gives 0 (numpy warns and gives 0).
fn int_floor_div(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let q = a.wrapping_div(b);
    if a.wrapping_rem(b) != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// numpy's (Python's) modulo: the sign of the divisor; modulo zero gives 0.
fn int_py_mod(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let r = a.wrapping_rem(b);
    if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    }
}
