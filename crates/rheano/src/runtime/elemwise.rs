//! The fast elementwise driver for float outputs: block kernels (one monomorphised inner loop per
//! scalar op, so the compiler inlines and vectorises it) run over L1-sized blocks of the output,
//! in parallel with rayon above a size threshold. Operands are read in place when they are
//! contiguous with the output's shape, as a scalar, or as a pattern repeated along the leading
//! dims (a bias row); anything else is first materialised.

use crate::math::Real;
use crate::ops::ScalarOp;
use crate::value::Value;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Elements per block: 4 KiB of f64 per operand keeps a few operands and the output in L1.
pub const BLOCK: usize = 512;
/// Outputs with less work than this (elements × the cost of a simple op each, see
/// `ScalarOp::cost`) run on the calling thread.
pub const PARALLEL_MIN: usize = 1 << 17;

/// An input of an elementwise kernel, as seen from the flat output index.
pub enum Operand<'a, F: Clone> {
    /// Same shape as the output, contiguous.
    Full(Cow<'a, [F]>),
    /// One value for every element.
    Scalar(F),
    /// `data[i % data.len()]`: broadcast along the leading dims only.
    Periodic(Cow<'a, [F]>),
    /// The output buffer's own values: the input an in-place kernel overwrites.
    Dest,
    /// Same shape as the output, contiguous, stored in the other float type (a float32 input
    /// of a float64 step): converted block by block as it is read, not copied whole first.
    Converted(OtherFloat<'a>),
}

/// A contiguous float input, in whichever float type it is stored.
pub enum OtherFloat<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl OtherFloat<'_> {
    /// Elements `start..start + len` as `F` into `buf` (rounded to nearest for float32, as the
    /// whole-array cast rounds).
    #[inline]
    fn convert_into<F: Real>(&self, start: usize, len: usize, buf: &mut [F]) {
        match self {
            OtherFloat::F32(s) => {
                for (b, &x) in buf[..len].iter_mut().zip(&s[start..start + len]) {
                    *b = F::c(x as f64);
                }
            }
            OtherFloat::F64(s) => {
                for (b, &x) in buf[..len].iter_mut().zip(&s[start..start + len]) {
                    *b = F::c(x);
                }
            }
        }
    }
}

impl<F: Real> Operand<'_, F> {
    /// Fills `buf` with the operand's values for output elements `start..start + buf.len()`, or
    /// returns a slice to read directly.
    #[inline]
    fn block<'b>(&'b self, start: usize, len: usize, buf: &'b mut [F], dest: &[F]) -> &'b [F] {
        match self {
            Operand::Full(s) => &s[start..start + len],
            Operand::Dest => {
                buf[..len].copy_from_slice(&dest[..len]);
                &buf[..len]
            }
            Operand::Scalar(v) => {
                buf[..len].fill(*v);
                &buf[..len]
            }
            Operand::Converted(c) => {
                c.convert_into(start, len, buf);
                &buf[..len]
            }
            Operand::Periodic(p) => {
                // Whole runs of the pattern at a time (a bias row repeated over a batch).
                let n = p.len();
                let mut i = start % n;
                let mut at = 0;
                while at < len {
                    let run = (n - i).min(len - at);
                    buf[at..at + run].copy_from_slice(&p[i..i + run]);
                    at += run;
                    i = 0;
                }
                &buf[..len]
            }
        }
    }
}

impl<F: Real> Operand<'_, F> {
    /// Writes the operand's values for output elements `start..start + len` into `buf`.
    #[inline]
    fn fill_block(&self, start: usize, len: usize, buf: &mut [F], dest: &[F]) {
        match self {
            Operand::Full(s) => buf[..len].copy_from_slice(&s[start..start + len]),
            Operand::Scalar(v) => buf[..len].fill(*v),
            Operand::Periodic(_) | Operand::Dest | Operand::Converted(_) => {
                let _ = self.block(start, len, buf, dest);
            }
        }
    }
}

/// Views `v` (converted to `F`) as an operand of an output of shape `shape`.
pub fn operand<'a, F: Real>(v: &'a Value, shape: &[usize]) -> Operand<'a, F> {
    // The other float type, full-shaped and contiguous: converted as it is read.
    if v.dtype() != F::DTYPE && v.len() > 1 && v.shape() == shape {
        let other = match v {
            Value::F32(a) => a.as_slice().map(OtherFloat::F32),
            Value::F64(a) => a.as_slice().map(OtherFloat::F64),
            _ => None,
        };
        if let Some(o) = other {
            return Operand::Converted(o);
        }
    }
    // A single element (a constant, a bias of one) cast on its own: not a converted array
    // per call.
    if v.len() == 1 {
        let first: Option<F> =
            with_value!(v, a => a.iter().next().map(|&x| crate::value::Element::cast::<F>(x)));
        return Operand::Scalar(first.expect("one element"));
    }
    let a: Cow<'a, ArrayD<F>> = v.to_array::<F>();
    let nd = shape.len();
    // Leading dims of length 1 and trailing dims equal to the output's: a repeated pattern.
    let k = a.shape().iter().take_while(|&&d| d == 1).count();
    let periodic = a.shape()[k..] == shape[k.min(nd)..] && a.shape().len() == nd;
    if periodic && a.is_standard_layout() {
        let full = a.len() == shape.iter().product::<usize>();
        let data: Cow<'a, [F]> = match a {
            Cow::Borrowed(b) => Cow::Borrowed(b.as_slice().expect("standard layout")),
            Cow::Owned(o) => Cow::Owned(o.into_raw_vec_and_offset().0),
        };
        return if full {
            Operand::Full(data)
        } else {
            Operand::Periodic(data)
        };
    }
    let b = a
        .broadcast(IxDyn(shape))
        .expect("shapes checked by the caller");
    let flat: Vec<F> = b.iter().copied().collect();
    Operand::Full(Cow::Owned(flat))
}

/// A block kernel: computes `out` from blocks of the inputs.
pub type BlockFn<F> = fn(&mut [F], &[&[F]]);

/// The vector instruction sets a kernel can be compiled for, picked once at run time so that
/// one binary uses AVX-512 or AVX2 (with FMA) where the CPU has them and SSE2 elsewhere.
/// `RHEANO_ISA=base|avx2|avx512` forces a lower level (to test every path on one machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    Base,
    Avx2,
    Avx512,
}

/// The best instruction set of this CPU (capped by `RHEANO_ISA`).
pub fn isa() -> Isa {
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let found = if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("fma")
        {
            Isa::Avx512
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Isa::Avx2
        } else {
            Isa::Base
        };
        #[cfg(not(target_arch = "x86_64"))]
        let found = Isa::Base;
        let cap = match std::env::var("RHEANO_ISA").as_deref() {
            Ok("base") => Isa::Base,
            Ok("avx2") => Isa::Avx2,
            _ => Isa::Avx512,
        };
        found.min(cap)
    })
}

/// Defines a kernel `$name` from a body generic over `FMA`, compiled three times (SSE2,
/// AVX2 + FMA, AVX-512) and dispatched on [`isa`]: a block kernel (`name => body`), or one of
/// any signature (`fn name<F>(args) -> ret => body`).
macro_rules! dispatched {
    ($(#[$doc:meta])* $name:ident => $body:ident) => {
        $crate::runtime::elemwise::dispatched!(
            $(#[$doc])* fn $name<F>(out: &mut [F], a: &[&[F]]) => $body
        );
    };
    // Any signature: `$body::<F, FMA>` takes the same arguments.
    ($(#[$doc:meta])* fn $name:ident<F>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:ident) => {
        $(#[$doc])*
        fn $name<F: $crate::math::Real>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::runtime::elemwise::{isa, Isa};
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                unsafe fn v4<F: $crate::math::Real>($($arg: $ty),*) $(-> $ret)? {
                    $body::<F, true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3<F: $crate::math::Real>($($arg: $ty),*) $(-> $ret)? {
                    $body::<F, true>($($arg),*)
                }
                match isa() {
                    // SAFETY: `isa` found these features on this CPU.
                    Isa::Avx512 => return unsafe { v4($($arg),*) },
                    Isa::Avx2 => return unsafe { v3($($arg),*) },
                    Isa::Base => {}
                }
            }
            $body::<F, false>($($arg),*)
        }
    };
}
pub(crate) use dispatched;

// Each kernel macro defines its loop as a body generic over `FMA` and returns the dispatched
// kernel (SSE2 / AVX2 / AVX-512 versions, see `dispatched!`); `$f` names the element type `F`.
macro_rules! unary {
    ($f:expr) => {{
        #[inline(always)]
        fn body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
            for (o, &x) in out.iter_mut().zip(a[0]) {
                *o = $f(x);
            }
        }
        dispatched!(kernel => body);
        kernel::<F>
    }};
}
macro_rules! binary {
    ($f:expr) => {{
        #[inline(always)]
        fn body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
            for ((o, &x), &y) in out.iter_mut().zip(a[0]).zip(a[1]) {
                *o = $f(x, y);
            }
        }
        dispatched!(kernel => body);
        kernel::<F>
    }};
}
macro_rules! ternary {
    ($f:expr) => {{
        #[inline(always)]
        fn body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
            for (((o, &x), &y), &z) in out.iter_mut().zip(a[0]).zip(a[1]).zip(a[2]) {
                *o = $f(x, y, z);
            }
        }
        dispatched!(kernel => body);
        kernel::<F>
    }};
}
macro_rules! variadic {
    ($f:expr) => {{
        #[inline(always)]
        fn body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
            // The first two in one pass (no copy of the first into `out`), then the rest.
            match a {
                [x] => out.copy_from_slice(x),
                [x, y, ..] => {
                    for ((o, &x), &y) in out.iter_mut().zip(*x).zip(*y) {
                        *o = $f(x, y);
                    }
                }
                [] => {}
            }
            for arg in a.iter().skip(2) {
                for (o, &y) in out.iter_mut().zip(*arg) {
                    *o = $f(*o, y);
                }
            }
        }
        dispatched!(kernel => body);
        kernel::<F>
    }};
}

/// The block kernel of a scalar op with a float output, `None` for ops handled elsewhere.
pub fn block_fn<F: Real>(op: ScalarOp) -> Option<BlockFn<F>> {
    use ScalarOp::*;
    Some(match op {
        Add => variadic!(|a: F, b: F| a + b),
        Mul => variadic!(|a: F, b: F| a * b),
        Sub => binary!(|a: F, b: F| a - b),
        TrueDiv => binary!(|a: F, b: F| a / b),
        IntDiv => binary!(F::floor_div),
        Mod => binary!(F::py_mod),
        Pow => binary!(|a: F, b: F| a.powf(b)),
        Maximum => binary!(F::nan_max),
        Minimum => binary!(F::nan_min),
        Neg => unary!(|a: F| -a),
        Abs => unary!(|a: F| a.abs()),
        Sgn => unary!(|a: F| if a > F::zero() {
            F::one()
        } else if a < F::zero() {
            -F::one()
        } else {
            a
        }),
        Exp => exp_block::<F>,
        Log => unary!(|a: F| a.ln()),
        Log1p => unary!(|a: F| a.ln_1p()),
        Expm1 => unary!(|a: F| a.exp_m1()),
        Sqrt => unary!(|a: F| a.sqrt()),
        Sqr => unary!(|a: F| a * a),
        Tanh => unary!(|a: F| a.tanh()),
        Sin => unary!(|a: F| a.sin()),
        Cos => unary!(|a: F| a.cos()),
        Inv => unary!(|a: F| a.recip()),
        Sigmoid => sigmoid_block::<F>,
        SigmoidComplement => sigmoid_complement_block::<F>,
        Softplus => softplus_block::<F>,
        UltraFastSigmoid => unary!(F::ultra_fast_sigmoid),
        Softsign => unary!(F::softsign),
        Relu => unary!(F::relu),
        LeakyRelu => binary!(F::leaky_relu),
        Elu => binary!(F::elu),
        Selu => unary!(F::selu),
        SigmoidBinaryCrossentropy => bce_block::<F>,
        Identity => unary!(|a: F| a),
        Clip => ternary!(F::clip),
        // A cast to a float type inside a fused program: its input is one of the program's
        // inputs (an absorbed node has the program's dtype), already converted to `F` as it is
        // read (numpy's rounding), so the cast itself is a copy.
        Cast(d) if d.is_float() => unary!(|a: F| a),
        And | Or | Invert | Gt | Lt | Ge | Le | Eq | Neq | Switch | Cast(_) | Second => {
            return None
        }
    })
}

/// A unary block kernel with a vectorised float64 core (`|x| fast`) for blocks whose values all
/// lie in the core's range (|x| ≤ 708), and the accurate scalar `slow` otherwise. A macro, not
/// a function taking a closure: the core must be compiled inside the kernel, with its target
/// features (an out-of-line closure turns every fused multiply-add into a library call).
macro_rules! unary_fast_path {
    ($F:ty, $out:expr, $a:expr, |$x:ident| $fast:expr, $slow:expr) => {{
        let out: &mut [$F] = $out;
        let a: &[&[$F]] = $a;
        let mut buf = [MaybeUninit::uninit(); BLOCK];
        if let Some(xs) = in_exp_range(a[0], &mut buf) {
            for (o, &$x) in out.iter_mut().zip(xs) {
                *o = <$F>::c($fast);
            }
        } else {
            for (o, &x) in out.iter_mut().zip(a[0]) {
                *o = $slow(x);
            }
        }
    }};
}

/// The block `xs` in float64 (itself, or converted into `buf`) when it fits a block and every
/// value lies in the vectorised exp core's range (|x| ≤ 708), for the fast path of a kernel;
/// `None` otherwise.
#[inline(always)]
fn in_exp_range<'b, F: Real>(
    xs: &'b [F],
    buf: &'b mut [MaybeUninit<f64>; BLOCK],
) -> Option<&'b [f64]> {
    let n = xs.len();
    if n > BLOCK {
        return None;
    }
    let vals = match F::as_f64s(xs) {
        Some(v) => v,
        None => {
            for (b, &x) in buf.iter_mut().zip(xs) {
                b.write(x.to_f64());
            }
            // SAFETY: the loop above wrote the first n entries.
            unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<f64>(), n) }
        }
    };
    crate::math::exp_core_ok(vals).then_some(vals)
}

#[inline(always)]
fn exp_body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
    let single = F::DTYPE == crate::DType::Float32;
    unary_fast_path!(
        F,
        out,
        a,
        |x| crate::math::exp_core_prec::<FMA>(x, single),
        |x: F| x.exp()
    );
}

// The vectorised scalar formulas are named `#[inline(always)]` functions, called from one-line
// closures: a larger closure may be compiled out of line, without the kernel's target features,
// which turns every fused multiply-add into a library call (ten times slower).

/// σ(x) for |x| ≤ 708: (x ≥ 0 ? 1 : e)/(1 + e) with e = e^−|x|.
#[inline(always)]
fn sigmoid_fast<const FMA: bool>(x: f64, single: bool) -> f64 {
    sigmoid_from_exp(x, crate::math::exp_core_prec::<FMA>(-x.abs(), single))
}

/// σ(x) given e = e^−|x|.
#[inline(always)]
fn sigmoid_from_exp(x: f64, e: f64) -> f64 {
    let num = if x >= 0.0 { 1.0 } else { e };
    num / (1.0 + e)
}

/// (σ(x), softplus(−|x|)) given e = e^−|x|. With FMA one division serves both: σ's
/// denominator 1 + e is log1p's 1 + u, and its reciprocal also gives log1p's correction term
/// (σ's quotient corrected by its exact residual); without FMA, the two as computed apart.
#[inline(always)]
fn sigmoid_softplus_from_exp<const FMA: bool>(x: f64, e: f64, single: bool) -> (f64, f64) {
    if !FMA {
        let sp = crate::math::log1p_core_prec::<FMA>(e, single);
        return (sigmoid_from_exp(x, e), sp);
    }
    let d = 1.0 + e;
    let inv = 1.0 / d;
    let num = if x >= 0.0 { 1.0 } else { e };
    let sig = corrected_quotient::<FMA>(num, d, inv);
    let sp = crate::math::log1p_from_sum::<FMA>(d, (e - (d - 1.0)) * inv, single);
    (sig, sp)
}

/// softplus(x) for |x| ≤ 708: max(x, 0) + log1p(e^−|x|).
#[inline(always)]
fn softplus_fast<const FMA: bool>(x: f64, single: bool) -> f64 {
    let pos = if x > 0.0 { x } else { 0.0 };
    let e = crate::math::exp_core_prec::<FMA>(-x.abs(), single);
    pos + crate::math::log1p_core_prec::<FMA>(e, single)
}

/// σ(x): (x ≥ 0 ? 1 : e)/(1 + e) with e = e^−|x|, branch-free.
#[inline(always)]
fn sigmoid_body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
    signed_sigmoid_body::<F, FMA, false>(out, a)
}

/// σ(−x), as `sigmoid_body` computes it for −x.
#[inline(always)]
fn sigmoid_complement_body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
    signed_sigmoid_body::<F, FMA, true>(out, a)
}

/// σ(x), or σ(−x) when `NEG`.
#[inline(always)]
fn signed_sigmoid_body<F: Real, const FMA: bool, const NEG: bool>(out: &mut [F], a: &[&[F]]) {
    let sign = if NEG { -1.0 } else { 1.0 };
    let single = F::DTYPE == crate::DType::Float32;
    // float32 blocks within ±80 (no subnormal results), on CPUs with FMA (whose exact
    // residuals keep it within 1.6 ULP): float32 arithmetic, twice the lanes.
    if single && FMA && out.len() <= BLOCK && within_f32_range(a[0]) {
        for (o, &x) in out.iter_mut().zip(a[0]) {
            let x = sign as f32 * (x.to_f64() as f32);
            *o = F::c(crate::math::sigmoid_f32::<FMA>(x) as f64);
        }
        return;
    }
    unary_fast_path!(
        F,
        out,
        a,
        |x| sigmoid_fast::<FMA>(sign * x, single),
        |x: F| { F::sigmoid(F::c(sign) * x) }
    );
}

/// σ(x) into `s` and σ(−x) into `c` from one e^−|x| and one division per element: the values
/// of `sigmoid_body` and `sigmoid_complement_body` (the same quotients, correctly rounded).
#[inline(always)]
fn sigmoid_pair_body<F: Real, const FMA: bool>(s: &mut [F], c: &mut [F], x: &[F]) {
    let single = F::DTYPE == crate::DType::Float32;
    let n = s.len();
    if single && FMA && n <= BLOCK && within_f32_range(x) {
        for ((so, co), &v) in s.iter_mut().zip(c.iter_mut()).zip(x) {
            let (a, b) = crate::math::sigmoid_pair_f32::<FMA>(v.to_f64() as f32);
            *so = F::c(a as f64);
            *co = F::c(b as f64);
        }
        return;
    }
    let mut buf = [MaybeUninit::uninit(); BLOCK];
    if let Some(xs) = in_exp_range(x, &mut buf) {
        for ((so, co), &v) in s.iter_mut().zip(c.iter_mut()).zip(xs) {
            let e = crate::math::exp_core_prec::<FMA>(-v.abs(), single);
            // One division for both quotients (the divider, not the multiply-add ports,
            // bounds this loop): each is num·(1/d) with its residual folded back in.
            let d = 1.0 + e;
            let inv = 1.0 / d;
            let (ns, nc) = (
                if v >= 0.0 { 1.0 } else { e },
                if v <= 0.0 { 1.0 } else { e },
            );
            *so = F::c(corrected_quotient::<FMA>(ns, d, inv));
            *co = F::c(corrected_quotient::<FMA>(nc, d, inv));
        }
        return;
    }
    for ((so, co), &v) in s.iter_mut().zip(c.iter_mut()).zip(x) {
        *so = F::sigmoid(v);
        *co = F::sigmoid(-v);
    }
}

/// num/d from inv ≈ 1/d: num·inv plus its residual (exact with FMA) times inv, the quotient
/// rounded correctly but for rare ties.
#[inline(always)]
fn corrected_quotient<const FMA: bool>(num: f64, d: f64, inv: f64) -> f64 {
    let q = num * inv;
    let r = crate::math::madd::<FMA>(-q, d, num);
    crate::math::madd::<FMA>(r, inv, q)
}

/// softplus(x) = max(x, 0) + log1p(e^−|x|).
#[inline(always)]
fn softplus_body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
    let single = F::DTYPE == crate::DType::Float32;
    // float32 blocks within ±80 on FMA CPUs: float32 arithmetic, twice the lanes.
    if single && FMA && out.len() <= BLOCK && within_f32_range(a[0]) {
        for (o, &x) in out.iter_mut().zip(a[0]) {
            let x = x.to_f64() as f32;
            let e = crate::math::exp_f32_neg::<FMA>(-x.abs());
            let pos = if x > 0.0 { x } else { 0.0 };
            *o = F::c((pos + crate::math::log1p_f32_unit::<FMA>(e)) as f64);
        }
        return;
    }
    unary_fast_path!(F, out, a, |x| softplus_fast::<FMA>(x, single), F::softplus);
}

/// Whether every value lies within ±80, where the float32 cores of e^−|x| stay normal.
#[inline(always)]
fn within_f32_range<F: Real>(xs: &[F]) -> bool {
    xs.iter()
        .fold(true, |ok, &x| ok & (x.to_f64().abs() <= 80.0))
}

/// The binary crossentropy of σ(z) against t, softplus(−|z|) + z·((z > 0) − t), given
/// e = e^−|z|, all in float32 lanes: for t in [0, 1] both terms are non-negative (no
/// cancellation), so one fused multiply-add adds them within the 2-ULP bound (checked on 400,000
/// random points with soft labels too); float64 lanes there cost a fifth of the kernel's time.
#[inline(always)]
fn bce_from_exp_f32<F: Real, const FMA: bool>(z: F, t: F, e: f32) -> F {
    bce_from_softplus_f32::<F, FMA>(z, t, crate::math::log1p_f32_unit::<FMA>(e))
}

/// [`bce_from_exp_f32`] given sp = softplus(−|z|).
#[inline(always)]
fn bce_from_softplus_f32<F: Real, const FMA: bool>(z: F, t: F, sp: f32) -> F {
    let z = z.to_f64() as f32;
    let pos = if z > 0.0 { 1.0 } else { 0.0 };
    F::c(crate::math::madd32::<FMA>(z, pos - (t.to_f64() as f32), sp) as f64)
}

/// [`bce_from_exp_f32`] with e = e^−|z| in float64 lanes (`single`: to float32 accuracy).
#[inline(always)]
fn bce_from_exp<F: Real, const FMA: bool>(z: f64, t: F, e: f64, single: bool) -> F {
    bce_from_softplus(z, t, crate::math::log1p_core_prec::<FMA>(e, single))
}

/// [`bce_from_exp`] given sp = softplus(−|z|).
#[inline(always)]
fn bce_from_softplus<F: Real>(z: f64, t: F, sp: f64) -> F {
    let pos = if z > 0.0 { 1.0 } else { 0.0 };
    F::c(sp + z * (pos - t.to_f64()))
}

/// softplus(−|z|) + z·((z > 0) − t), vectorised when the block's z are in exp's range.
#[inline(always)]
fn bce_body<F: Real, const FMA: bool>(out: &mut [F], a: &[&[F]]) {
    let n = out.len();
    if F::DTYPE == crate::DType::Float32 && FMA && n <= BLOCK && within_f32_range(a[0]) {
        // float32: e^−|z|, log1p and the sum in float32 lanes.
        for ((o, &z), &t) in out.iter_mut().zip(a[0]).zip(a[1]) {
            let e = crate::math::exp_f32_neg::<FMA>(-(z.to_f64() as f32).abs());
            *o = bce_from_exp_f32::<F, FMA>(z, t, e);
        }
        return;
    }
    let mut buf = [MaybeUninit::uninit(); BLOCK];
    if let Some(zs) = in_exp_range(a[0], &mut buf) {
        let single = F::DTYPE == crate::DType::Float32;
        for ((o, &z), &t) in out.iter_mut().zip(zs).zip(a[1]) {
            let e = crate::math::exp_core_prec::<FMA>(-z.abs(), single);
            *o = bce_from_exp::<F, FMA>(z, t, e, single);
        }
        return;
    }
    for ((o, &z), &t) in out.iter_mut().zip(a[0]).zip(a[1]) {
        *o = F::sigmoid_bce(z, t);
    }
}

/// σ(z) into `s` and the binary crossentropy of σ(z) against t into `l`, from one e^−|z| per
/// element: the values of `sigmoid_body` and `bce_body` (the same operations on the same e).
#[inline(always)]
fn sigmoid_crossentropy_body<F: Real, const FMA: bool>(s: &mut [F], l: &mut [F], z: &[F], t: &[F]) {
    let n = s.len();
    let single = F::DTYPE == crate::DType::Float32;
    if single && FMA && n <= BLOCK && within_f32_range(z) {
        for (((so, lo), &zv), &tv) in s.iter_mut().zip(l.iter_mut()).zip(z).zip(t) {
            let z32 = zv.to_f64() as f32;
            let e = crate::math::exp_f32_neg::<FMA>(-z32.abs());
            let (sig, sp) = crate::math::sigmoid_softplus_f32_from_exp::<FMA>(z32, e);
            *so = F::c(sig as f64);
            *lo = bce_from_softplus_f32::<F, FMA>(zv, tv, sp);
        }
        return;
    }
    let mut buf = [MaybeUninit::uninit(); BLOCK];
    if let Some(zs) = in_exp_range(z, &mut buf) {
        for (((so, lo), &zv), &tv) in s.iter_mut().zip(l.iter_mut()).zip(zs).zip(t) {
            let e = crate::math::exp_core_prec::<FMA>(-zv.abs(), single);
            let (sig, sp) = sigmoid_softplus_from_exp::<FMA>(zv, e, single);
            *so = F::c(sig);
            *lo = bce_from_softplus(zv, tv, sp);
        }
        return;
    }
    sigmoid_body::<F, FMA>(s, &[z]);
    bce_body::<F, FMA>(l, &[z, t]);
}

dispatched!(
    /// σ(z) and the binary crossentropy of σ(z) against t over a block, sharing e^−|z|.
    fn sigmoid_crossentropy_block<F>(s: &mut [F], l: &mut [F], z: &[F], t: &[F])
        => sigmoid_crossentropy_body
);

dispatched!(
    /// Theano's sigmoid_binary_crossentropy over a block.
    bce_block => bce_body
);

dispatched!(
    /// e^x over a block.
    exp_block => exp_body
);
dispatched!(
    /// σ(x) over a block.
    sigmoid_block => sigmoid_body
);
dispatched!(
    /// σ(−x) over a block.
    sigmoid_complement_block => sigmoid_complement_body
);
dispatched!(
    /// σ(x) and σ(−x) over a block, sharing e^−|x|.
    fn sigmoid_pair_block<F>(s: &mut [F], c: &mut [F], x: &[F]) => sigmoid_pair_body
);
dispatched!(
    /// softplus(x) over a block.
    softplus_block => softplus_body
);

/// Asks the CPU to bring `data` into its caches (to L2), one request per cache line, so that
/// a later pass over it does not wait on memory.
#[inline(always)]
pub fn prefetch<T>(data: &[T]) {
    prefetch_bytes(data.as_ptr() as usize, std::mem::size_of_val(data));
}

/// [`prefetch`] of the `bytes` bytes at address `start` (memory the caller may not borrow).
#[inline(always)]
fn prefetch_bytes(start: usize, bytes: usize) {
    for off in (0..bytes).step_by(64) {
        prefetch_line((start + off) as *const u8);
    }
}

/// The blocks of an output being written block by block, by address: a block further on is
/// requested from memory while one is computed, so that the stores of a program whose last pass
/// writes the output (after passes over registers that read only the inputs) find their lines
/// in cache instead of waiting on each one in turn (hard_sigmoid's 10⁷ float64: 17.2 → 14.6 ms
/// on one thread). The single-kernel runner uses it only for kernels that just move data (see
/// [`run_blocks`]): there it measured both ways.
struct NextBlocks {
    start: usize,
    bytes: usize,
    block_bytes: usize,
}

impl NextBlocks {
    fn of<F>(out: &[F]) -> NextBlocks {
        NextBlocks {
            start: out.as_ptr() as usize,
            bytes: std::mem::size_of_val(out),
            block_bytes: BLOCK * std::mem::size_of::<F>(),
        }
    }

    /// Requests block `i` (nothing past the end).
    #[inline]
    fn request(&self, i: usize) {
        let lo = (i * self.block_bytes).min(self.bytes);
        let hi = (lo + self.block_bytes).min(self.bytes);
        prefetch_bytes(self.start + lo, hi - lo);
    }
}

/// Asks the CPU to bring the cache line holding `x` into L2 (any address: a prefetch never
/// faults, so a kernel may request the next block past the end of its slice).
#[inline(always)]
pub fn prefetch_line<T>(x: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no effect beyond the caches, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(x.cast::<i8>(), std::arch::x86_64::_MM_HINT_T1)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Most buffers kept per thread and element type.
const RECYCLED_MAX: usize = 32;
/// Buffers shorter than this are not kept: the system allocator serves them from its own
/// per-thread cache, and a pool full of them would turn away the larger ones that matter.
const RECYCLED_MIN_LEN: usize = 64;

/// Hands a freed intermediate's buffer to this thread's pool ([`Real::recycled`]) for the next
/// output of the same length: a training step's intermediates have the same sizes at every
/// call, so a step allocates almost nothing after the first. Only mid-sized float buffers are
/// kept (large ones go back to the allocator, which the recycling allocator serves).
pub fn recycle(v: Value) {
    fn keep<F: Real>(a: ArrayD<F>) {
        let n = a.len();
        let (data, offset) = a.into_raw_vec_and_offset();
        if offset.unwrap_or(0) == 0 && data.len() == n {
            give_back(data);
        }
    }
    match v {
        Value::F64(a) => keep(a),
        Value::F32(a) => keep(a),
        _ => {}
    }
}

/// Hands a scratch buffer to this thread's pool (see [`recycle`]). A full pool lets go of its
/// oldest buffer: the sizes in use now are the ones the next call asks for.
fn give_back<F: Real>(v: Vec<F>) {
    if v.len() < RECYCLED_MIN_LEN || v.len() * std::mem::size_of::<F>() >= crate::alloc::MIN_BLOCK {
        return;
    }
    let _ = F::recycled().try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= RECYCLED_MAX {
            p.remove(0);
        }
        p.push(v);
    });
}

/// A recycled buffer of exactly `n` elements, if this thread has one.
fn take_recycled<F: Real>(n: usize) -> Option<Vec<F>> {
    F::recycled()
        .try_with(|p| {
            let mut p = p.borrow_mut();
            let i = p.iter().rposition(|v| v.len() == n)?;
            Some(p.swap_remove(i))
        })
        .ok()
        .flatten()
}

/// An output buffer of `n` elements that the caller overwrites entirely before anything reads
/// it. Small buffers come zeroed. Large ones are left as the allocator gives them: a block the
/// recycling allocator ([`crate::alloc::Recycling`]) kept from an earlier output of the same size
/// (already mapped: no page faults, no zeroing), or fresh pages, advised to use transparent huge
/// pages before they are first touched (as numpy does), so that a fresh 80 MB output costs a few
/// hundred page faults instead of twenty thousand.
// Writing the whole buffer once instead of zeroing it first is the point of this function.
#[allow(clippy::uninit_vec)]
pub fn alloc_output<F: Real>(n: usize) -> Vec<F> {
    let bytes = n * std::mem::size_of::<F>();
    if bytes < crate::alloc::MIN_BLOCK {
        // An intermediate of the same size that a function freed earlier on this thread (its
        // contents are overwritten).
        if let Some(v) = take_recycled::<F>(n) {
            return v;
        }
    }
    let mut v: Vec<F> = Vec::with_capacity(n);
    // SAFETY: F is f32 or f64 (no invalid bit patterns, no drop), and every caller writes all n
    // elements before any of them is read (the elementwise runners and the softmax row kernels
    // write each output element exactly once).
    unsafe { v.set_len(n) };
    if bytes < crate::alloc::MIN_BLOCK {
        return v;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = v.as_ptr() as usize;
        let aligned = (start + PAGE - 1) & !(PAGE - 1);
        let len = (start + bytes).saturating_sub(aligned) & !(PAGE - 1);
        // SAFETY: madvise only gives the kernel a hint about pages inside our own allocation.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
    v
}

/// The buffer of `v`, to be overwritten by an elementwise kernel with an output of `shape`
/// and element type `F`, when it fits exactly: same dtype and shape, contiguous from its start.
/// Gives `v` back when it does not fit.
pub fn reuse_buffer<F: Real>(v: Value, shape: &[usize]) -> Result<Vec<F>, Value> {
    let a = F::unwrap_owned(v)?;
    let n: usize = shape.iter().product();
    let fits = a.shape() == shape
        && a.is_standard_layout()
        && a.as_slice_memory_order()
            .is_some_and(|s| s.as_ptr() == a.as_ptr() && s.len() == n);
    if !fits {
        return Err(F::wrap(a));
    }
    // A contiguous owned array may still start inside its buffer (after slicing in place).
    let (mut data, offset) = a.into_raw_vec_and_offset();
    let offset = offset.unwrap_or(0);
    data.truncate(offset + n);
    data.drain(..offset);
    Ok(data)
}

/// The chunk length when `n` output elements costing `cost` each (in simple ops) are worth
/// splitting across rayon's threads (a multiple of `BLOCK`, about [`CHUNKS_PER_THREAD`] chunks
/// per thread, each with at least a quarter of `PARALLEL_MIN`'s work), `None` when one thread
/// should run them: a σ over a 256×256 hidden layer is worth two threads, an addition of that
/// size is not.
fn parallel_chunk_len(n: usize, cost: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    let cost = cost.max(1);
    (n.saturating_mul(cost) >= PARALLEL_MIN && threads > 1).then(|| {
        let least = PARALLEL_MIN / 4 / cost;
        ((n / (CHUNKS_PER_THREAD * threads)).max(least) / BLOCK * BLOCK).max(BLOCK)
    })
}

/// Chunks per thread of a parallel loop: enough for work stealing to even out cores that run at
/// different speeds (this VM's two do). Eight against four measured at 2 threads (mins of
/// three alternating runs): W1's activations up to 14% faster (sigmoid float64 0.86×), W5's
/// float32 step 0.95× (its fused loss loop 0.78×), W2 and W3 within ±4%.
const CHUNKS_PER_THREAD: usize = 8;

/// Runs `chunk((i, piece), len)` on each piece i of `out` cut into the chunks of
/// [`parallel_chunk_len`] for `cost` per element, across rayon's threads; or once on all of
/// `out` on this thread when it is not worth splitting.
fn for_each_chunk<F: Send>(
    out: &mut [F],
    cost: usize,
    chunk: impl Fn((usize, &mut [F]), usize) + Sync + Send,
) {
    let n = out.len();
    match parallel_chunk_len(n, cost) {
        Some(len) => out
            .par_chunks_mut(len)
            .enumerate()
            .for_each(|c| chunk(c, len)),
        None => chunk((0, out), n.max(1)),
    }
}

/// Σ of `chunk(start, len)` over `0..n` cut as [`for_each_chunk`] cuts (the chunks' sums
/// added in order).
fn sum_over_chunks(n: usize, cost: usize, chunk: impl Fn(usize, usize) -> f64 + Sync) -> f64 {
    match parallel_chunk_len(n, cost) {
        Some(len) => {
            let starts: Vec<usize> = (0..n).step_by(len).collect();
            let parts: Vec<f64> = starts
                .par_iter()
                .map(|&s| chunk(s, len.min(n - s)))
                .collect();
            parts.iter().sum()
        }
        None => chunk(0, n),
    }
}

/// The work of one element of a fused program, in simple ops.
fn program_cost(program: &[crate::ops::composite::Instr]) -> usize {
    program.iter().map(|i| i.op.cost()).sum()
}

/// Runs `kernel` over blocks of a fresh output, in parallel for large outputs. With
/// `request_output` each block's output lines are requested two blocks ahead (see
/// `NextBlocks`): measured faster for a kernel that only moves data (relu over 10⁷ float64
/// 12.9 → 11.3 ms on one thread), slower for one with more work per element
/// (ultra_fast_sigmoid 12.5 → 14.5 ms).
pub fn run_blocks<F: Real>(
    n: usize,
    operands: &[Operand<F>],
    kernel: BlockFn<F>,
    request_output: bool,
) -> Vec<F> {
    run_blocks_into(alloc_output::<F>(n), operands, kernel, request_output)
}

/// [`run_blocks`] writing into `out` (which holds the values of any `Operand::Dest`).
pub fn run_blocks_into<F: Real>(
    mut out: Vec<F>,
    operands: &[Operand<F>],
    kernel: BlockFn<F>,
    request_output: bool,
) -> Vec<F> {
    let chunk = |(ci, out_chunk): (usize, &mut [F]), chunk_len: usize| {
        // Small outputs (the common case in training loops) get small scratch buffers.
        // One pooled scratch buffer, a `width`-long region per operand that is not read in
        // place; the block's argument list on the stack (no allocation per block).
        let width = BLOCK.min(out_chunk.len());
        let mut scratch = take_recycled::<F>(operands.len() * width)
            .unwrap_or_else(|| vec![F::zero(); operands.len() * width]);
        // Scalar operands' regions are filled once, not per block.
        for (o, b) in operands.iter().zip(scratch.chunks_exact_mut(width.max(1))) {
            if let Operand::Scalar(v) = o {
                b.fill(*v);
            }
        }
        // A short periodic operand (a bias row) is tiled once when the chunk spans whole
        // blocks: each block then reads its window in place instead of copying the pattern's
        // runs (16 copies per block for a row of 32).
        let tiled =
            out_chunk.len() >= BLOCK && operands.iter().any(|o| matches!(o, Operand::Periodic(_)));
        let sources: SmallVec<[BlockSource<'_, '_, F>; MAX_STACK_ARGS]> = if tiled {
            operands.iter().map(BlockSource::new).collect()
        } else {
            SmallVec::new()
        };
        let base = ci * chunk_len;
        let next_out = NextBlocks::of(out_chunk);
        for (bi, ob) in out_chunk.chunks_mut(BLOCK).enumerate() {
            if request_output {
                next_out.request(bi + 2);
            }
            let start = base + bi * BLOCK;
            let len = ob.len();
            for o in operands {
                if let Operand::Full(data) = o {
                    prefetch(data.get(start + len..start + 2 * len).unwrap_or(&[]));
                }
            }
            let mut args: smallvec::SmallVec<[&[F]; MAX_STACK_ARGS]> = smallvec::SmallVec::new();
            for (k, (o, b)) in operands
                .iter()
                .zip(scratch.chunks_exact_mut(width.max(1)))
                .enumerate()
            {
                args.push(match o {
                    Operand::Scalar(_) => &b[..len],
                    Operand::Periodic(_) if tiled => sources[k].block(start, len, b),
                    _ => o.block(start, len, b, ob),
                });
            }
            kernel(ob, &args);
        }
        give_back(scratch);
    };
    for_each_chunk(&mut out, 1, chunk);
    out
}

/// A fused program's block registers: one per input that is not read in place (scalar inputs
/// filled once, since no kernel writes an input register), then one per instruction.
struct Registers<F: Real> {
    /// One buffer for all registers (one allocation, pooled): a `width`-long region per
    /// operand (unused for `Full` ones, read in place), then one per instruction, then the
    /// tiled patterns.
    buf: Vec<F>,
    width: usize,
    n_in: usize,
    n_instr: usize,
    /// Per operand, where its pattern starts tiled in the tail of `buf` (a short periodic
    /// operand: a bias row), or `NOT_TILED`.
    tiles: SmallVec<[usize; 8]>,
    /// Instructions computed together by one kernel (see [`Pair`]).
    pairs: SmallVec<[Pair; 2]>,
}

/// Two instructions of a program that one kernel computes in one pass, from one e^−|x| per
/// element, when the first is reached: `first` < `second`, and the second's arguments are ready
/// at the first.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pair {
    first: usize,
    second: usize,
    kind: PairKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PairKind {
    /// σ(−x) then σ(x).
    SigmoidComplement,
    /// σ(z) then the binary crossentropy of σ(z) against t (a loss and its gradient).
    SigmoidCrossentropy,
}

/// The instruction pairs of `program` (with `n_in` inputs) that share their exponential; each
/// instruction in at most one.
fn find_pairs(program: &[crate::ops::composite::Instr], n_in: usize) -> SmallVec<[Pair; 2]> {
    use ScalarOp::*;
    let mut pairs: SmallVec<[Pair; 2]> = SmallVec::new();
    let taken =
        |pairs: &SmallVec<[Pair; 2]>, i: usize| pairs.iter().any(|p| p.first == i || p.second == i);
    for (j, ins) in program.iter().enumerate() {
        if taken(&pairs, j) {
            continue;
        }
        let kind = match ins.op {
            SigmoidComplement => PairKind::SigmoidComplement,
            Sigmoid => PairKind::SigmoidCrossentropy,
            _ => continue,
        };
        let partner = program.iter().enumerate().skip(j + 1).find(|(k, other)| {
            !taken(&pairs, *k)
                && match kind {
                    PairKind::SigmoidComplement => other.op == Sigmoid && other.args == ins.args,
                    PairKind::SigmoidCrossentropy => {
                        other.op == SigmoidBinaryCrossentropy
                            && other.args[0] == ins.args[0]
                            && other.args[1] < n_in + j
                    }
                }
        });
        if let Some((k, _)) = partner {
            pairs.push(Pair {
                first: j,
                second: k,
                kind,
            });
        }
    }
    pairs
}

/// The register buffer goes back to this thread's pool for the next program (a training step
/// runs the same programs at every call).
impl<F: Real> Drop for Registers<F> {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.buf));
    }
}

/// Most instructions take at most this many arguments; their argument lists live on the stack.
const MAX_STACK_ARGS: usize = 8;

/// Patterns up to this long are tiled once per call (`width` + pattern elements), so that every
/// block reads its window in place instead of copying the pattern's runs.
const TILE_MAX: usize = 4 * BLOCK;
const NOT_TILED: usize = usize::MAX;

impl<F: Real> Registers<F> {
    fn new(
        operands: &[Operand<F>],
        program: &[crate::ops::composite::Instr],
        width: usize,
    ) -> Self {
        let n_in = operands.len();
        let n_instr = program.len();
        let mut tiles: SmallVec<[usize; 8]> = SmallVec::new();
        let mut end = (n_in + n_instr) * width;
        for o in operands {
            match o {
                Operand::Periodic(p) if p.len() <= TILE_MAX => {
                    tiles.push(end);
                    end += width + p.len();
                }
                _ => tiles.push(NOT_TILED),
            }
        }
        // Written before they are read (scalars and tiles filled here): a pooled buffer as it is.
        let mut buf = take_recycled::<F>(end).unwrap_or_else(|| vec![F::zero(); end]);
        for (o, reg) in operands.iter().zip(buf.chunks_exact_mut(width.max(1))) {
            if let Operand::Scalar(v) = o {
                reg.fill(*v);
            }
        }
        for (o, &at) in operands.iter().zip(&tiles) {
            if let (Operand::Periodic(p), true) = (o, at != NOT_TILED) {
                tile_pattern(&mut buf[at..at + width + p.len()], p);
            }
        }
        Registers {
            buf,
            width,
            n_in,
            n_instr,
            tiles,
            pairs: find_pairs(program, n_in),
        }
    }

    /// Runs the program on output elements `start..start + len` and returns the last
    /// instruction's register.
    fn eval(
        &mut self,
        operands: &[Operand<F>],
        program: &[crate::ops::composite::Instr],
        kernels: &[BlockFn<F>],
        at: (usize, usize),
    ) -> &[F] {
        self.eval_into(operands, program, kernels, at, None);
        let last = (self.n_in + program.len() - 1) * self.width;
        &self.buf[last..last + at.1]
    }

    /// Runs the program on output elements `start..start + len`; the last instruction writes
    /// into `out` when given (the output block, whose values `Operand::Dest` reads first), else
    /// into its register.
    fn eval_into(
        &mut self,
        operands: &[Operand<F>],
        program: &[crate::ops::composite::Instr],
        kernels: &[BlockFn<F>],
        (start, len): (usize, usize),
        mut out_block: Option<&mut [F]>,
    ) {
        let width = self.width;
        let (input_regs, rest) = self.buf.split_at_mut(self.n_in * width);
        let (temps, tiled) = rest.split_at_mut(self.n_instr * width);
        let tiles = &self.tiles;
        // A periodic operand's window for this block: read in place where it does not wrap,
        // from its tiled copy where it has one, else copied run by run into its register.
        let window = |k: usize, p: &[F]| -> Option<(bool, usize)> {
            let phase = start % p.len().max(1);
            if phase + len <= p.len() {
                Some((true, phase))
            } else if tiles[k] != NOT_TILED {
                Some((false, tiles[k] - (self.n_in + self.n_instr) * width + phase))
            } else {
                None
            }
        };
        for (k, (o, reg)) in operands
            .iter()
            .zip(input_regs.chunks_exact_mut(width.max(1)))
            .enumerate()
        {
            match o {
                Operand::Periodic(p) if window(k, p).is_some() => {}
                Operand::Periodic(_) | Operand::Dest | Operand::Converted(_) => {
                    let dest: &[F] = out_block.as_deref().unwrap_or(&[]);
                    o.fill_block(start, len, reg, dest);
                }
                // The next block of each streamed input is requested now: the program's passes
                // over this block then overlap with its arrival from memory.
                Operand::Full(data) => {
                    prefetch(data.get(start + len..start + 2 * len).unwrap_or(&[]))
                }
                Operand::Scalar(_) => {}
            }
        }
        // Full inputs are read where they are; the others from their registers.
        let (input_regs, tiled) = (&*input_regs, &*tiled);
        let input = |k: usize| -> &[F] {
            match &operands[k] {
                Operand::Full(s) => &s[start..start + len],
                Operand::Periodic(p) => match window(k, p) {
                    Some((true, at)) => &p[at..at + len],
                    Some((false, at)) => &tiled[at..at + len],
                    None => &input_regs[k * width..k * width + len],
                },
                _ => &input_regs[k * width..k * width + len],
            }
        };
        let n_in = operands.len();
        let last = program.len() - 1;
        // The second instructions of pairs already computed with their first.
        let mut ahead: SmallVec<[usize; 2]> = SmallVec::new();
        for (j, (ins, kernel)) in program.iter().zip(kernels).enumerate() {
            if ahead.contains(&j) {
                continue;
            }
            let (done, rest) = temps.split_at_mut(j * width);
            let done = &*done;
            let arg = |a: usize| -> &[F] {
                if a < n_in {
                    input(a)
                } else {
                    let r = (a - n_in) * width;
                    &done[r..r + len]
                }
            };
            if let Some(pair) = self.pairs.iter().find(|p| p.first == j) {
                let k = pair.second;
                let (first, later) = rest.split_at_mut((k - j) * width);
                let second = match out_block.as_deref_mut() {
                    Some(o) if k == last => o,
                    _ => &mut later[..len],
                };
                let first = &mut first[..len];
                match pair.kind {
                    PairKind::SigmoidComplement => {
                        sigmoid_pair_block(second, first, arg(ins.args[0]))
                    }
                    PairKind::SigmoidCrossentropy => {
                        let t = arg(program[k].args[1]);
                        sigmoid_crossentropy_block(first, second, arg(ins.args[0]), t)
                    }
                }
                ahead.push(k);
                continue;
            }
            let out = match out_block.as_deref_mut() {
                Some(o) if j + 1 == program.len() => o,
                _ => &mut rest[..len],
            };
            if ins.args.len() <= MAX_STACK_ARGS {
                let mut args: [&[F]; MAX_STACK_ARGS] = [&[]; MAX_STACK_ARGS];
                for (slot, &a) in args.iter_mut().zip(&ins.args) {
                    *slot = arg(a);
                }
                kernel(out, &args[..ins.args.len()]);
            } else {
                let args: Vec<&[F]> = ins.args.iter().map(|&a| arg(a)).collect();
                kernel(out, &args);
            }
        }
    }
}

/// Runs a fused program (registers `0..operands.len()` are the inputs, then one per instruction)
/// over blocks of the output; intermediates live in block buffers that stay in L1.
pub fn run_program<F: Real>(
    n: usize,
    operands: &[Operand<F>],
    program: &[crate::ops::composite::Instr],
    kernels: &[BlockFn<F>],
) -> Vec<F> {
    run_program_into(alloc_output::<F>(n), operands, program, kernels)
}

/// [`run_program`] writing into `out` (which holds the values of any `Operand::Dest`).
pub fn run_program_into<F: Real>(
    mut out: Vec<F>,
    operands: &[Operand<F>],
    program: &[crate::ops::composite::Instr],
    kernels: &[BlockFn<F>],
) -> Vec<F> {
    let chunk = |(ci, out_chunk): (usize, &mut [F]), chunk_len: usize| {
        let mut regs = Registers::new(operands, program, BLOCK.min(out_chunk.len()));
        let next_out = NextBlocks::of(out_chunk);
        for (bi, ob) in out_chunk.chunks_mut(BLOCK).enumerate() {
            // Two blocks ahead: one block's computation is too short to hide the fetch.
            next_out.request(bi + 2);
            let at = (ci * chunk_len + bi * BLOCK, ob.len());
            regs.eval_into(operands, program, kernels, at, Some(ob));
        }
    };
    for_each_chunk(&mut out, program_cost(program), chunk);
    out
}

/// [`run_program`] that also stores the values of the registers `extra` (instructions before
/// the last) as outputs of their own: a program with several results, in one pass.
pub fn run_program_outputs<F: Real>(
    n: usize,
    operands: &[Operand<F>],
    program: &[crate::ops::composite::Instr],
    kernels: &[BlockFn<F>],
    extra: &[usize],
) -> (Vec<F>, Vec<Vec<F>>) {
    let mut out = alloc_output::<F>(n);
    let mut extras = ExtraOutputs::new(n, operands.len(), program, extra);
    let stores = extras.stores();
    match SigmoidLayer::find(program, operands, extra) {
        Some(layer) => run_sigmoid_layer(
            operands,
            &layer,
            &mut out,
            stores.dests[0],
            program_cost(program),
        ),
        None => interpret(operands, program, kernels, &mut out, &stores),
    }
    (out, extras.buffers)
}

/// [`run_program_outputs`] instruction by instruction into `out`: each block's registers
/// computed by the instructions' kernels in turn, the extra ones stored.
fn interpret<F: Real>(
    operands: &[Operand<F>],
    program: &[crate::ops::composite::Instr],
    kernels: &[BlockFn<F>],
    out: &mut [F],
    stores: &ExtraStores,
) {
    let chunk = |(ci, out_chunk): (usize, &mut [F]), chunk_len: usize| {
        let mut regs = Registers::new(operands, program, BLOCK.min(out_chunk.len()));
        for (bi, ob) in out_chunk.chunks_mut(BLOCK).enumerate() {
            let at = (ci * chunk_len + bi * BLOCK, ob.len());
            regs.eval_into(operands, program, kernels, at, Some(ob));
            stores.copy(&regs, at);
        }
    };
    for_each_chunk(out, program_cost(program), chunk);
}

/// The stored outputs of a program's extra registers (instructions before the last), filled
/// block by block from the registers.
struct ExtraOutputs<'e, F> {
    registers: &'e [usize],
    buffers: Vec<Vec<F>>,
}

/// Where each block's extra registers go: the buffers' addresses (integers, so that chunks
/// running on rayon's threads can share them; each block writes only its own range).
struct ExtraStores<'e> {
    registers: &'e [usize],
    dests: SmallVec<[usize; 4]>,
}

impl<'e, F: Real> ExtraOutputs<'e, F> {
    /// n-element buffers for `registers` of `program` (with `n_in` inputs).
    fn new(
        n: usize,
        n_in: usize,
        program: &[crate::ops::composite::Instr],
        registers: &'e [usize],
    ) -> Self {
        assert!(
            registers
                .iter()
                .all(|&r| r >= n_in && r + 1 < n_in + program.len()),
            "extra outputs are registers of instructions before the last"
        );
        ExtraOutputs {
            registers,
            buffers: registers.iter().map(|_| alloc_output::<F>(n)).collect(),
        }
    }

    fn stores(&mut self) -> ExtraStores<'e> {
        ExtraStores {
            registers: self.registers,
            dests: self
                .buffers
                .iter_mut()
                .map(|v| v.as_mut_ptr() as usize)
                .collect(),
        }
    }
}

impl ExtraStores<'_> {
    /// Copies the extra registers of the block `start..start + len` that `regs` just evaluated.
    fn copy<F: Real>(&self, regs: &Registers<F>, (start, len): (usize, usize)) {
        for (&r, &dest) in self.registers.iter().zip(&self.dests) {
            let src = &regs.buf[r * regs.width..r * regs.width + len];
            // SAFETY: `dest` is an n-element buffer (of `ExtraOutputs`, which outlives the
            // call's chunks), and the blocks of every chunk write disjoint ranges of it.
            unsafe {
                std::ptr::copy_nonoverlapping(src.as_ptr(), (dest as *mut F).add(start), len)
            };
        }
    }
}

/// Runs a fused program over blocks and sums its results instead of storing them (a fused
/// `Sum` of the elementwise chain: the n-element intermediate is never written). Each block is
/// summed in 8 float64 lanes, then blocks and chunks are added up.
pub fn run_program_sum<F: Real>(
    n: usize,
    operands: &[Operand<F>],
    program: &[crate::ops::composite::Instr],
    kernels: &[BlockFn<F>],
) -> f64 {
    run_program_sum_outputs(n, operands, program, kernels, &[]).0
}

#[inline(always)]
fn block_sum_body<F: Real, const FMA: bool>(v: &[F]) -> f64 {
    crate::ops::reduce::lane_sum(v)
}

dispatched! {
    /// Σ of a block in float64, at the CPU's vector width.
    fn block_sum<F>(v: &[F]) -> f64 => block_sum_body
}

/// [`run_program_sum`] that also stores the values of the registers `extra` (instructions
/// before the last) as outputs: a loss summed and its gradient stored in one pass.
pub fn run_program_sum_outputs<F: Real>(
    n: usize,
    operands: &[Operand<F>],
    program: &[crate::ops::composite::Instr],
    kernels: &[BlockFn<F>],
    extra: &[usize],
) -> (f64, Vec<Vec<F>>) {
    let mut extras = ExtraOutputs::new(n, operands.len(), program, extra);
    let stores = extras.stores();
    if let Some(loss) = SigmoidLoss::find(program, operands, extra) {
        let total = run_sigmoid_loss(n, operands, &loss, stores.dests[0], program_cost(program));
        return (total, extras.buffers);
    }
    let total = interpret_sum(n, operands, program, kernels, &stores);
    (total, extras.buffers)
}

/// [`run_program_sum_outputs`] instruction by instruction: each block's registers computed by
/// the instructions' kernels in turn, summed and stored.
fn interpret_sum<F: Real>(
    n: usize,
    operands: &[Operand<F>],
    program: &[crate::ops::composite::Instr],
    kernels: &[BlockFn<F>],
    stores: &ExtraStores,
) -> f64 {
    let chunk = |start: usize, len: usize| -> f64 {
        let mut regs = Registers::new(operands, program, BLOCK.min(len.max(1)));
        (start..start + len)
            .step_by(BLOCK)
            .map(|at| {
                let blen = BLOCK.min(start + len - at);
                let total = block_sum(regs.eval(operands, program, kernels, (at, blen)));
                stores.copy(&regs, (at, blen));
                total
            })
            .sum()
    };
    sum_over_chunks(n, program_cost(program), chunk)
}

/// Fills `tile` with `pattern` repeated: the pattern once, then the filled part doubled (a
/// few copies, not one per repetition of a short bias).
fn tile_pattern<F: Copy>(tile: &mut [F], pattern: &[F]) {
    let first = pattern.len().min(tile.len());
    tile[..first].copy_from_slice(&pattern[..first]);
    let mut filled = first;
    while filled < tile.len() {
        let run = filled.min(tile.len() - filled);
        tile.copy_within(..run, filled);
        filled += run;
    }
}

/// An operand of a fused loop, read block by block: a short periodic one (a bias row) is tiled
/// once, so that each block reads its window in place instead of copying the pattern's runs.
struct BlockSource<'o, 'a, F: Real> {
    operand: &'o Operand<'a, F>,
    /// The pattern repeated over `BLOCK` + its length (empty when not tiled).
    tile: Vec<F>,
}

impl<'o, 'a, F: Real> BlockSource<'o, 'a, F> {
    fn new(operand: &'o Operand<'a, F>) -> Self {
        let tile = match operand {
            Operand::Periodic(p) if !p.is_empty() && p.len() <= TILE_MAX => {
                let n = BLOCK + p.len();
                let mut tile = take_recycled::<F>(n).unwrap_or_else(|| vec![F::zero(); n]);
                tile_pattern(&mut tile, p);
                tile
            }
            _ => Vec::new(),
        };
        BlockSource { operand, tile }
    }

    /// The operand's values for elements `start..start + len` (len ≤ `BLOCK`), read in place or
    /// written into `buf`.
    #[inline]
    fn block<'b>(&'b self, start: usize, len: usize, buf: &'b mut [F]) -> &'b [F] {
        match self.operand {
            Operand::Periodic(p) if !self.tile.is_empty() => {
                let phase = start % p.len();
                &self.tile[phase..phase + len]
            }
            o => o.block(start, len, buf, &[]),
        }
    }
}

impl<F: Real> Drop for BlockSource<'_, '_, F> {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.tile));
    }
}

/// `k` scratch blocks for a fused loop's chunk, from this thread's pool (not zeroed again at
/// every call); give them back with [`give_back`].
fn scratch_blocks<F: Real>(k: usize) -> Vec<F> {
    take_recycled::<F>(k * BLOCK).unwrap_or_else(|| vec![F::zero(); k * BLOCK])
}

/// Where register `zr` of `program` comes from, for the fused loops: an input, or the sum of
/// two inputs (a bias added to a product). `None` for anything else, and for programs run in
/// place (an `Operand::Dest` input: the fused loops write fresh outputs only).
fn z_source<F: Real>(
    program: &[crate::ops::composite::Instr],
    operands: &[Operand<F>],
    zr: usize,
) -> Option<(usize, Option<usize>)> {
    if operands.iter().any(|o| matches!(o, Operand::Dest)) {
        return None;
    }
    let n_in = operands.len();
    let Some(add) = instr_of(program, n_in, zr) else {
        return (zr < n_in).then_some((zr, None));
    };
    match (add.op, add.args.as_slice()) {
        (ScalarOp::Add, &[a, b]) if a < n_in && b < n_in => Some((a, Some(b))),
        _ => None,
    }
}

/// The instruction that computes register `r` of `program` (with `n_in` inputs), `None` for an
/// input register (or one past the program).
fn instr_of(
    program: &[crate::ops::composite::Instr],
    n_in: usize,
    r: usize,
) -> Option<&crate::ops::composite::Instr> {
    r.checked_sub(n_in).and_then(|i| program.get(i))
}

/// z block by block for a fused loop: one input read as a [`BlockSource`], or the sum of two
/// (by the `Add` instruction's own kernel, so the same values).
struct ZBlocks<'o, 'a, F: Real> {
    a: BlockSource<'o, 'a, F>,
    b: Option<BlockSource<'o, 'a, F>>,
    add: BlockFn<F>,
}

impl<'o, 'a, F: Real> ZBlocks<'o, 'a, F> {
    fn new(operands: &'o [Operand<'a, F>], (a, b): (usize, Option<usize>)) -> Self {
        ZBlocks {
            a: BlockSource::new(&operands[a]),
            b: b.map(|k| BlockSource::new(&operands[k])),
            add: block_fn::<F>(ScalarOp::Add).expect("Add has a float kernel"),
        }
    }

    /// z for elements `start..start + len`, read in place or computed in `scratch` (three
    /// blocks).
    fn block<'b>(&'b self, start: usize, len: usize, scratch: &'b mut [F]) -> &'b [F] {
        let (za, rest) = scratch.split_at_mut(BLOCK);
        let (zb, zs) = rest.split_at_mut(BLOCK);
        let a = self.a.block(start, len, za);
        match &self.b {
            Some(b) => {
                let b = b.block(start, len, zb);
                (self.add)(&mut zs[..len], &[a, b]);
                &zs[..len]
            }
            None => a,
        }
    }
}

/// A fused program that is a sigmoid layer's output σ(z), after its complement σ(−z) = 1 − σ(z)
/// (what the layer's backward pass multiplies by) as a stored register, z one input or the sum
/// of two (a bias added to a product): run as one loop per block into both outputs, with the
/// values of the instruction-by-instruction run (which pairs σ(−z) with a later σ(z): the same
/// kernel on the same z).
#[derive(Debug, PartialEq)]
struct SigmoidLayer {
    /// z as one input, or as the sum of two.
    z: (usize, Option<usize>),
}

impl SigmoidLayer {
    /// The layer program `program` computes, given its operands and stored registers `extra`.
    fn find<F: Real>(
        program: &[crate::ops::composite::Instr],
        operands: &[Operand<F>],
        extra: &[usize],
    ) -> Option<SigmoidLayer> {
        use ScalarOp::*;
        let last = program.last()?;
        let &[other] = extra else {
            return None;
        };
        let other = instr_of(program, operands.len(), other)?;
        let (&[zr], &[zr2]) = (last.args.as_slice(), other.args.as_slice()) else {
            return None;
        };
        if (last.op, other.op) != (Sigmoid, SigmoidComplement) || zr != zr2 {
            return None;
        }
        Some(SigmoidLayer {
            z: z_source(program, operands, zr)?,
        })
    }
}

/// Runs `layer` into `out` (σ(z), its first output) and the `out.len()`-element buffer at
/// address `other` (σ(−z), its stored register), in chunks across rayon's threads as the
/// program (of `cost` per element) would run.
fn run_sigmoid_layer<F: Real>(
    operands: &[Operand<F>],
    layer: &SigmoidLayer,
    out: &mut [F],
    other: usize,
    cost: usize,
) {
    let chunk = |(ci, out_chunk): (usize, &mut [F]), chunk_len: usize| {
        let z_src = ZBlocks::new(operands, layer.z);
        let mut scratch = scratch_blocks::<F>(3);
        for (bi, ob) in out_chunk.chunks_mut(BLOCK).enumerate() {
            let (at, len) = (ci * chunk_len + bi * BLOCK, ob.len());
            let z = z_src.block(at, len, &mut scratch);
            // SAFETY: `other` is an n-element buffer that outlives the call, apart from `out`,
            // and the blocks of every chunk write disjoint ranges of it.
            let ot = unsafe { std::slice::from_raw_parts_mut((other as *mut F).add(at), len) };
            sigmoid_pair_block(ob, ot, z);
        }
        give_back(scratch);
    };
    for_each_chunk(out, cost, chunk);
}

/// A fused program that is the binary crossentropy of σ(z) against t, summed, with its
/// gradient `scale·(σ(z) − t)` stored (a sigmoid output layer's loss and its back-propagation,
/// as `grad` leaves them once the rewrites have fused them): run as one loop over each block
/// instead of one pass per instruction, with the same operations in the same order (so the
/// same values as the instruction-by-instruction run, bit for bit).
#[derive(Debug, PartialEq)]
struct SigmoidLoss<F> {
    /// z as one input, or as the sum of two (a bias added to a product).
    z: (usize, Option<usize>),
    /// The target's input.
    t: usize,
    /// The scalar multiplying σ(z) − t (one when there is none: times one changes no value,
    /// and keeps a branch out of the loop).
    scale: F,
}

impl<F: Real> SigmoidLoss<F> {
    /// The loss program `program` computes, given its operands and stored registers `extra`.
    fn find(
        program: &[crate::ops::composite::Instr],
        operands: &[Operand<F>],
        extra: &[usize],
    ) -> Option<SigmoidLoss<F>> {
        use ScalarOp::*;
        let n_in = operands.len();
        let ins = |r: usize| instr_of(program, n_in, r);
        let is_input = |r: usize| r < n_in;
        let last = program.last()?;
        let (&[zr, t], &[g]) = (last.args.as_slice(), extra) else {
            return None;
        };
        if last.op != SigmoidBinaryCrossentropy || !is_input(t) {
            return None;
        }
        let z = z_source(program, operands, zr)?;
        // The gradient: σ(z) − t, or a scalar input times it.
        let grad = ins(g)?;
        let scalar = |r: usize| match operands.get(r) {
            Some(Operand::Scalar(v)) => Some(*v),
            _ => None,
        };
        let (diff, scale) = match (grad.op, grad.args.as_slice()) {
            (Sub, _) => (g, F::one()),
            (Mul, &[a, b]) if scalar(a).is_some() => (b, scalar(a)?),
            (Mul, &[a, b]) if scalar(b).is_some() => (a, scalar(b)?),
            _ => return None,
        };
        let sub = ins(diff)?;
        let &[s, t2] = sub.args.as_slice() else {
            return None;
        };
        let sig = ins(s)?;
        (sub.op == Sub && t2 == t && sig.op == Sigmoid && sig.args == [zr]).then_some(SigmoidLoss {
            z,
            t,
            scale,
        })
    }
}

/// Runs `loss` over the n elements of its operands: returns Σ of the crossentropy and writes
/// the gradient to the n-element buffer at address `grad` (chunks across rayon's threads, as
/// the program of `cost` per element would be).
fn run_sigmoid_loss<F: Real>(
    n: usize,
    operands: &[Operand<F>],
    loss: &SigmoidLoss<F>,
    grad: usize,
    cost: usize,
) -> f64 {
    let chunk = |start: usize, len: usize| -> f64 {
        let (z_src, t_src) = (
            ZBlocks::new(operands, loss.z),
            BlockSource::new(&operands[loss.t]),
        );
        let mut scratch = scratch_blocks::<F>(5);
        let (zb, rest) = scratch.split_at_mut(3 * BLOCK);
        let (tb, lb) = rest.split_at_mut(BLOCK);
        let mut total = 0.0;
        for at in (start..start + len).step_by(BLOCK) {
            let blen = BLOCK.min(start + len - at);
            let z = z_src.block(at, blen, zb);
            let t = t_src.block(at, blen, tb);
            // SAFETY: `grad` is an n-element buffer that outlives the call, and the blocks of
            // every chunk write disjoint ranges of it.
            let g = unsafe { std::slice::from_raw_parts_mut((grad as *mut F).add(at), blen) };
            total += sigmoid_loss_block(z, t, loss.scale, g, &mut lb[..blen]);
        }
        give_back(scratch);
        total
    };
    sum_over_chunks(n, cost, chunk)
}

/// One block of [`SigmoidLoss`]: the crossentropy of σ(z) against t into `l` (scratch, as
/// long as `g`) and its sum returned, `scale·(σ(z) − t)` into `g`; each value as the program's
/// own kernels compute it (σ and the crossentropy from one e^−|z|, as
/// `sigmoid_crossentropy_body`).
#[inline(always)]
fn sigmoid_loss_body<F: Real, const FMA: bool>(
    z: &[F],
    t: &[F],
    scale: F,
    g: &mut [F],
    l: &mut [F],
) -> f64 {
    let n = g.len();
    let grad = |sig: F, tv: F| scale * (sig - tv);
    let single = F::DTYPE == crate::DType::Float32;
    let mut buf = [MaybeUninit::uninit(); BLOCK];
    if single && FMA && n <= BLOCK && within_f32_range(z) {
        for (((lo, go), &zv), &tv) in l.iter_mut().zip(g.iter_mut()).zip(z).zip(t) {
            let z32 = zv.to_f64() as f32;
            let e = crate::math::exp_f32_neg::<FMA>(-z32.abs());
            let (sig, sp) = crate::math::sigmoid_softplus_f32_from_exp::<FMA>(z32, e);
            *go = grad(F::c(sig as f64), tv);
            *lo = bce_from_softplus_f32::<F, FMA>(zv, tv, sp);
        }
    } else if let Some(zs) = in_exp_range(z, &mut buf) {
        for (((lo, go), &zv), &tv) in l.iter_mut().zip(g.iter_mut()).zip(zs).zip(t) {
            let e = crate::math::exp_core_prec::<FMA>(-zv.abs(), single);
            let (sig, sp) = sigmoid_softplus_from_exp::<FMA>(zv, e, single);
            *go = grad(F::c(sig), tv);
            *lo = bce_from_softplus(zv, tv, sp);
        }
    } else {
        for (((lo, go), &zv), &tv) in l.iter_mut().zip(g.iter_mut()).zip(z).zip(t) {
            *go = grad(F::sigmoid(zv), tv);
            *lo = F::sigmoid_bce(zv, tv);
        }
    }
    crate::ops::reduce::lane_sum(l)
}

dispatched!(
    /// [`sigmoid_loss_body`] at the CPU's vector width.
    fn sigmoid_loss_block<F>(
        z: &[F],
        t: &[F],
        scale: F,
        g: &mut [F],
        l: &mut [F],
    ) -> f64 => sigmoid_loss_body
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::composite::Instr;
    use crate::value::Element;

    /// Threads by work: a σ over a 256×256 hidden layer is split across two threads, an
    /// addition of the same size is not; chunks are whole blocks and cover the output.
    #[test]
    fn loops_split_across_threads_by_their_work() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        pool.install(|| {
            let n = 256 * 256;
            let sigmoid = ScalarOp::Add.cost() + ScalarOp::Sigmoid.cost();
            let len = parallel_chunk_len(n, sigmoid).expect("σ over 65536 elements splits");
            assert!(len.is_multiple_of(BLOCK) && len < n, "chunk of {len}");
            assert_eq!(parallel_chunk_len(n, ScalarOp::Add.cost()), None);
            assert_eq!(parallel_chunk_len(2048, sigmoid), None, "a minibatch layer");
            assert!(parallel_chunk_len(PARALLEL_MIN, 1).is_some());
        });
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        one.install(|| assert_eq!(parallel_chunk_len(1 << 24, 12), None));
    }

    /// `(x + b)·x` with `b` repeated along the leading dims, for patterns that wrap inside a
    /// block, fit a block, straddle blocks, and are too long to tile; on one thread and split
    /// across chunks (sizes above the parallel threshold); stored and summed.
    #[test]
    fn periodic_operands_read_the_right_window_of_their_pattern() {
        let program = [
            Instr {
                op: ScalarOp::Add,
                args: vec![0, 1],
            },
            Instr {
                op: ScalarOp::Mul,
                args: vec![2, 0],
            },
        ];
        let kernels: Vec<BlockFn<f64>> = program
            .iter()
            .map(|i| block_fn::<f64>(i.op).expect("fusable"))
            .collect();
        for &p in &[1usize, 7, 32, 500, 784, 2048, 3001] {
            for &rows in &[1usize, 3, 40, 200] {
                let n = p * rows;
                let x: Vec<f64> = (0..n).map(|i| (i % 97) as f64 * 0.25 - 7.0).collect();
                let b: Vec<f64> = (0..p).map(|j| j as f64 * 0.5 + 1.0).collect();
                let operands = [
                    Operand::Full(Cow::Borrowed(&x[..])),
                    Operand::Periodic(Cow::Borrowed(&b[..])),
                ];
                let want: Vec<f64> = (0..n).map(|i| (x[i] + b[i % p]) * x[i]).collect();
                let got = run_program(n, &operands, &program, &kernels);
                assert_eq!(got, want, "pattern of {p}, {rows} rows");
                // The single-kernel runner (which tiles the pattern once a chunk spans whole
                // blocks), on this thread and on chunks split across two.
                let sums: Vec<f64> = (0..n).map(|i| x[i] + b[i % p]).collect();
                assert_eq!(
                    run_blocks(n, &operands, kernels[0], false),
                    sums,
                    "add, {p}×{rows}"
                );
                let two = rayon::ThreadPoolBuilder::new()
                    .num_threads(2)
                    .build()
                    .expect("pool");
                let split = two.install(|| run_blocks(n, &operands, kernels[0], true));
                assert_eq!(split, sums, "add on two threads, {p}×{rows}");
                let sum = run_program_sum(n, &operands, &program, &kernels);
                let exact: f64 = want.iter().sum();
                assert!(
                    (sum - exact).abs() <= 1e-12 * exact.abs().max(1.0),
                    "sum for pattern of {p}, {rows} rows: {sum} vs {exact}"
                );
            }
        }
    }

    fn instr(op: ScalarOp, args: &[usize]) -> Instr {
        Instr {
            op,
            args: args.to_vec(),
        }
    }

    /// n values of z on every path of the σ kernels: block 0 within ±80 (float32 lanes), block
    /// 1 within exp's range, block 2 all trap values (±0, subnormals, ±80.5, ±709, ±710, ±745,
    /// ±inf, nan), the rest within ±30 with a trap every 97th.
    fn z_on_every_path<F: Real>(n: usize) -> Vec<F> {
        let traps = [
            0.0,
            -0.0,
            1e-40,
            -1e-310,
            80.5,
            -100.0,
            709.0,
            -710.0,
            745.5,
            -746.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            17.0,
        ];
        (0..n)
            .map(|i| {
                let w = ((i * 7919) % 1000) as f64 / 1000.0 - 0.5;
                F::c(match i / BLOCK {
                    0 => w * 120.0,
                    1 => w * 1200.0,
                    2 => traps[i % traps.len()],
                    _ if i % 97 == 0 => traps[i % traps.len()],
                    _ => w * 60.0,
                })
            })
            .collect()
    }

    /// The block kernels of `program`'s instructions.
    fn kernels_of<F: Real>(program: &[Instr]) -> Vec<BlockFn<F>> {
        program
            .iter()
            .map(|i| block_fn::<F>(i.op).expect("fusable"))
            .collect()
    }

    /// Equal bit for bit (any NaN equal to any NaN).
    fn same_value(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// `check::<f64>` and `check::<f32>` on one short and one multi-block length on this
    /// thread, then on a length split across the chunks of two threads.
    fn on_one_and_two_threads(check64: fn(usize), check32: fn(usize)) {
        for n in [1, 5 * BLOCK + 37] {
            check64(n);
            check32(n);
        }
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        two.install(|| {
            assert!(
                parallel_chunk_len(150_001, 4).is_some(),
                "split across threads"
            );
            check64(150_001);
            check32(150_001);
        });
    }

    /// A sigmoid output layer's loss and gradient programs (with and without a bias, tiled or
    /// not, and a scale, the scale on either side) run fused give the instruction-by-instruction run's
    /// values bit for bit, in both dtypes, on blocks that take each path: all within ±80,
    /// within exp's range, and with trap values (±710, ±745, ±inf, nan, subnormals); on one
    /// thread and split across two.
    #[test]
    fn sigmoid_loss_programs_run_fused_with_the_interpreters_values() {
        fn check<F: Real>(n: usize) {
            use ScalarOp::*;
            let z = z_on_every_path::<F>(n);
            // Hard and soft labels.
            let t: Vec<F> = (0..n)
                .map(|i| {
                    F::c(if i % 3 == 0 {
                        (i % 11) as f64 / 10.0
                    } else {
                        (i % 2) as f64
                    })
                })
                .collect();
            // A bias row short enough to be tiled, and one that is not (read run by run).
            let bias: Vec<F> = (0..784).map(|j| F::c((j % 13) as f64 - 6.0)).collect();
            let long_bias: Vec<F> = (0..TILE_MAX + 3)
                .map(|j| F::c((j % 5) as f64 - 2.0))
                .collect();
            let scale = F::c(1.0 / 3.0);
            // (program, extra register, operands): z, t, bias and scale inputs.
            let with_bias = vec![
                instr(Add, &[1, 2]),
                instr(Sigmoid, &[4]),
                instr(Sub, &[5, 3]),
                instr(Mul, &[0, 6]),
                instr(SigmoidBinaryCrossentropy, &[4, 3]),
            ];
            let scale_right = vec![
                instr(Sigmoid, &[1]),
                instr(Sub, &[3, 2]),
                instr(Mul, &[4, 0]),
                instr(SigmoidBinaryCrossentropy, &[1, 2]),
            ];
            let bare = vec![
                instr(Sigmoid, &[0]),
                instr(Sub, &[2, 1]),
                instr(SigmoidBinaryCrossentropy, &[0, 1]),
            ];
            let full = |v: &[F]| Operand::Full(Cow::Owned(v.to_vec()));
            let cases: Vec<(Vec<Instr>, usize, Vec<Operand<F>>)> = vec![
                (
                    with_bias.clone(),
                    7,
                    vec![
                        Operand::Scalar(scale),
                        full(&z),
                        Operand::Periodic(Cow::Owned(bias.clone())),
                        full(&t),
                    ],
                ),
                (
                    with_bias.clone(),
                    7,
                    vec![
                        Operand::Scalar(scale),
                        full(&z),
                        Operand::Periodic(Cow::Owned(long_bias)),
                        full(&t),
                    ],
                ),
                (
                    scale_right,
                    4,
                    vec![Operand::Scalar(scale), full(&z), full(&t)],
                ),
                (bare, 3, vec![full(&z), full(&t)]),
            ];
            for (program, extra, operands) in &cases {
                let what = format!("{:?} n={n} {program:?}", F::DTYPE);
                let extra = [*extra];
                assert!(
                    SigmoidLoss::find(program, operands, &extra).is_some(),
                    "{what}"
                );
                let kernels = kernels_of::<F>(program);
                let (total, grads) =
                    run_program_sum_outputs(n, operands, program, &kernels, &extra);
                let mut reference: ExtraOutputs<F> =
                    ExtraOutputs::new(n, operands.len(), program, &extra);
                let stores = reference.stores();
                let want = interpret_sum(n, operands, program, &kernels, &stores);
                assert!(same_value(total, want), "{what}: sum {total} vs {want}");
                for (i, (g, w)) in grads[0].iter().zip(&reference.buffers[0]).enumerate() {
                    assert!(
                        same_value(Element::to_f64(*g), Element::to_f64(*w)),
                        "{what}: gradient {i} (z = {:?}): {g:?} vs {w:?}",
                        z[i]
                    );
                }
            }
        }
        on_one_and_two_threads(check::<f64>, check::<f32>);
    }

    /// Programs that only look like the sigmoid loss are left to the interpreter: a gradient
    /// against another target, of another σ, scaled by a full operand, or σ itself stored; and
    /// a program run in place.
    #[test]
    fn programs_unlike_the_sigmoid_loss_are_not_fused() {
        use ScalarOp::*;
        let x = [0.5f64; 4];
        let full = || Operand::Full(Cow::Borrowed(&x[..]));
        let ops = [Operand::Scalar(0.5), full(), full(), full()];
        let loss = |sub_t: usize, sig_z: usize| {
            vec![
                instr(Sigmoid, &[sig_z]),
                instr(Sub, &[4, sub_t]),
                instr(Mul, &[0, 5]),
                instr(SigmoidBinaryCrossentropy, &[1, 2]),
            ]
        };
        assert!(SigmoidLoss::find(&loss(2, 1), &ops, &[6]).is_some());
        assert!(
            SigmoidLoss::find(&loss(3, 1), &ops, &[6]).is_none(),
            "other target"
        );
        assert!(
            SigmoidLoss::find(&loss(2, 3), &ops, &[6]).is_none(),
            "other σ"
        );
        assert!(
            SigmoidLoss::find(&loss(2, 1), &ops, &[5]).is_some(),
            "σ(z) − t"
        );
        assert!(SigmoidLoss::find(&loss(2, 1), &ops, &[4]).is_none(), "σ(z)");
        let in_place = [Operand::Scalar(0.5), Operand::Dest, full(), full()];
        assert!(
            SigmoidLoss::find(&loss(2, 1), &in_place, &[6]).is_none(),
            "run in place"
        );
        let unscaled = [full(), full(), full(), full()];
        assert!(
            SigmoidLoss::find(&loss(2, 1), &unscaled, &[6]).is_none(),
            "full scale"
        );
    }

    /// A sigmoid layer's σ(z) and σ(−z) programs (with and without a bias) run fused give the instruction-by-instruction run's values bit for bit, in both
    /// dtypes, on blocks within ±80, within exp's range and with trap values; on one thread and
    /// split across two. Lookalikes (σ of different z, two σ, σ(−z) after σ(z), which the
    /// interpreter does not pair) are left to it.
    #[test]
    fn sigmoid_layer_programs_run_fused_with_the_interpreters_values() {
        fn check<F: Real>(n: usize) {
            use ScalarOp::*;
            let z = z_on_every_path::<F>(n);
            let bias: Vec<F> = (0..32).map(|j| F::c((j % 7) as f64 - 3.0)).collect();
            let full = |v: &[F]| Operand::Full(Cow::Owned(v.to_vec()));
            let cases: Vec<(Vec<Instr>, usize, Vec<Operand<F>>)> = vec![
                (
                    vec![
                        instr(Add, &[0, 1]),
                        instr(SigmoidComplement, &[2]),
                        instr(Sigmoid, &[2]),
                    ],
                    3,
                    vec![full(&z), Operand::Periodic(Cow::Owned(bias.clone()))],
                ),
                (
                    vec![instr(SigmoidComplement, &[0]), instr(Sigmoid, &[0])],
                    1,
                    vec![full(&z)],
                ),
            ];
            for (program, extra, operands) in &cases {
                let what = format!("{:?} n={n} {program:?}", F::DTYPE);
                let extra = [*extra];
                assert!(
                    SigmoidLayer::find(program, operands, &extra).is_some(),
                    "{what}"
                );
                let kernels = kernels_of::<F>(program);
                let (out, others) = run_program_outputs(n, operands, program, &kernels, &extra);
                let mut reference: ExtraOutputs<F> =
                    ExtraOutputs::new(n, operands.len(), program, &extra);
                let stores = reference.stores();
                let mut want = vec![F::zero(); n];
                interpret(operands, program, &kernels, &mut want, &stores);
                let same = |a: F, b: F| same_value(Element::to_f64(a), Element::to_f64(b));
                for i in 0..n {
                    assert!(same(out[i], want[i]), "{what}: output {i} (z = {:?})", z[i]);
                    assert!(
                        same(others[0][i], reference.buffers[0][i]),
                        "{what}: stored register {i} (z = {:?})",
                        z[i]
                    );
                }
            }
        }
        on_one_and_two_threads(check::<f64>, check::<f32>);
        use ScalarOp::*;
        let x = [0.5f64; 4];
        let ops = [
            Operand::Full(Cow::Borrowed(&x[..])),
            Operand::Full(Cow::Borrowed(&x[..])),
        ];
        let two_z = [instr(SigmoidComplement, &[0]), instr(Sigmoid, &[1])];
        assert!(
            SigmoidLayer::find(&two_z, &ops, &[2]).is_none(),
            "σ of two z"
        );
        let two_sigmoids = [instr(Sigmoid, &[0]), instr(Sigmoid, &[0])];
        assert!(
            SigmoidLayer::find(&two_sigmoids, &ops, &[2]).is_none(),
            "σ twice"
        );
    }
}
