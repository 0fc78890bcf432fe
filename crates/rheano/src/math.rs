//! Scalar math shared by every kernel: the nnet activations in forms that are accurate over the
//! whole range (spec §0.1), and numpy's semantics for max/min/mod on floats.

use crate::value::Element;
use num_traits::Float;

/// A per-thread list of reusable buffers.
pub type RecycledBuffers<T> = std::thread::LocalKey<std::cell::RefCell<Vec<Vec<T>>>>;

/// A float element type (f32 or f64) with the scalar functions rheano's kernels need.
pub trait Real: Float + Element {
    /// Converts a float64 constant to this type (rounding for f32).
    fn c(v: f64) -> Self;

    /// This thread's buffers of freed intermediates of this type, for the next output of the
    /// same length (see `runtime::elemwise::recycle`).
    fn recycled() -> &'static RecycledBuffers<Self>;

    /// The slice itself when this type is f64 (kernels then read it without a converted copy).
    fn as_f64s(xs: &[Self]) -> Option<&[f64]>;

    /// σ(x) = 1 / (1 + e^−x), within 2 ULP over the whole range, no early cut-offs.
    fn sigmoid(x: Self) -> Self;
    /// log(1 + e^x), within 2 ULP, exactly x where the answer rounds to x.
    fn softplus(x: Self) -> Self;

    /// Theano's piecewise approximation of σ (spec §2.2), computed in this dtype.
    fn ultra_fast_sigmoid(x: Self) -> Self {
        let t = Self::c(0.5) * x;
        let a = t.abs();
        // Every piece is computed and one is selected, so the loop vectorises without branches.
        let near = Self::c(1.5) * a / (Self::one() + a);
        let mid = Self::c(0.935409070603099) + Self::c(0.0458812946797165) * (a - Self::c(1.7));
        let far = Self::c(0.99505475368673);
        // NaN fails both tests and lands on `far`, with the negative sign below (Theano).
        let z = if a < Self::c(1.7) {
            near
        } else if a < Self::c(3.0) {
            mid
        } else {
            far
        };
        let z = if t >= Self::zero() { z } else { -z };
        Self::c(0.5) * (z + Self::one())
    }

    /// max(x, 0), NaN passes through.
    fn relu(x: Self) -> Self {
        // Non-short-circuit `|`: a select, not a branch (random signs would mispredict).
        #[allow(clippy::eq_op)]
        let keep = (x > Self::zero()) | (x != x);
        if keep {
            x
        } else {
            Self::zero()
        }
    }

    /// x for x > 0, alpha·x for x < 0 (one rounding), 0 at 0.
    fn leaky_relu(x: Self, alpha: Self) -> Self {
        if x > Self::zero() {
            x
        } else if x < Self::zero() {
            alpha * x
        } else if x.is_nan() {
            x
        } else {
            Self::zero()
        }
    }

    /// x for x > 0, alpha·(e^x − 1) otherwise.
    fn elu(x: Self, alpha: Self) -> Self;

    /// SELU: scale·x for x > 0, scale·alpha·(e^x − 1) otherwise.
    fn selu(x: Self) -> Self;

    /// softplus(−|z|) + z·((z > 0) − t), Theano's sigmoid_binary_crossentropy.
    fn sigmoid_bce(z: Self, t: Self) -> Self {
        let pos = if z > Self::zero() {
            Self::one()
        } else {
            Self::zero()
        };
        // At z = ±inf with the label on the saturated side the loss is 0 (its limit), not
        // inf·0 = NaN as Theano's formula gives.
        let d = pos - t;
        let linear = if d == Self::zero() { d } else { z * d };
        Self::softplus(-z.abs()) + linear
    }

    /// x / (1 + |x|), with the limits ±1 at ±inf.
    fn softsign(x: Self) -> Self {
        if x.is_infinite() {
            x.signum()
        } else {
            x / (Self::one() + x.abs())
        }
    }

    /// numpy's `maximum`: NaN propagates.
    fn nan_max(a: Self, b: Self) -> Self {
        if a.is_nan() || b.is_nan() {
            Self::nan()
        } else if a >= b {
            a
        } else {
            b
        }
    }

    /// numpy's `minimum`: NaN propagates.
    fn nan_min(a: Self, b: Self) -> Self {
        if a.is_nan() || b.is_nan() {
            Self::nan()
        } else if a <= b {
            a
        } else {
            b
        }
    }

    /// clip(x, lo, hi) as Theano's scalar Clip: NaN passes through.
    fn clip(x: Self, lo: Self, hi: Self) -> Self {
        // Two selects (NaN fails both tests and passes through).
        let y = if x < lo { lo } else { x };
        if y > hi {
            hi
        } else {
            y
        }
    }

    /// Python's float modulo (the result has the sign of the divisor).
    fn py_mod(a: Self, b: Self) -> Self {
        let r = a % b;
        if r != Self::zero() && ((r < Self::zero()) != (b < Self::zero())) {
            r + b
        } else if r == Self::zero() {
            Self::zero().copysign(b)
        } else {
            r
        }
    }

    /// Python's float floor division.
    fn floor_div(a: Self, b: Self) -> Self {
        if b == Self::zero() {
            return a / b;
        }
        let m = a % b;
        let mut div = (a - m) / b;
        if m != Self::zero() && ((b < Self::zero()) != (m < Self::zero())) {
            div = div - Self::one();
        }
        if div != Self::zero() {
            let f = div.floor();
            if div - f > Self::c(0.5) {
                f + Self::one()
            } else {
                f
            }
        } else {
            Self::zero().copysign(a / b)
        }
    }
}

/// e^x for |x| ≤ 708 (normal results), written so that loops over it vectorise: Cody–Waite
/// reduction x = k·ln2 + r with |r| ≤ ln2/2, a polynomial of degree 11 for e^r (within
/// 2⁻⁵⁵·⁸), and 2^k assembled from its bits. About 1 ULP; callers fall back to libm
/// outside the range.
#[inline(always)]
pub fn exp_core(x: f64) -> f64 {
    exp_core_with::<false>(x)
}

/// `a·b + c`, fused (one rounding) when the kernel is compiled for FMA.
#[inline(always)]
pub fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The polynomial with coefficients `c` (highest degree first) at `x`, by Horner's rule in
/// [`madd`] steps (the loop unrolls: `c` is a constant array where the kernels call it).
#[inline(always)]
pub fn horner<const FMA: bool>(c: &[f64], x: f64) -> f64 {
    c[1..].iter().fold(c[0], |acc, &ci| madd::<FMA>(acc, x, ci))
}

/// The polynomial with coefficients `c` (highest degree first) at `x`, by Estrin's scheme:
/// neighbouring coefficients paired with x, those pairs with x², then x⁴, … The same sum as
/// [`horner`] (rounded differently, by a few units in its last place) with a dependency chain
/// of ⌈log₂ N⌉ + 1 steps instead of N − 1, so that more loop iterations overlap (measured
/// 2–3% faster on the float64 crossentropy kernels).
#[inline(always)]
pub fn estrin<const FMA: bool, const N: usize>(c: &[f64; N], x: f64) -> f64 {
    let mut a = [0.0f64; N];
    for (ai, &ci) in a.iter_mut().zip(c.iter().rev()) {
        *ai = ci;
    }
    let (mut len, mut p) = (N, x);
    while len > 1 {
        let half = len.div_ceil(2);
        for i in 0..half {
            a[i] = if 2 * i + 1 < len {
                madd::<FMA>(a[2 * i + 1], p, a[2 * i])
            } else {
                a[2 * i]
            };
        }
        len = half;
        p *= p;
    }
    a[0]
}

/// [`madd`] for either float type (generic kernels).
#[inline(always)]
pub fn madd_real<F: Real, const FMA: bool>(a: F, b: F, c: F) -> F {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// [`exp_core`], with the polynomial in fused multiply-adds when `FMA` (kernels compiled for
/// AVX2/AVX-512 pick that version at run time).
#[inline(always)]
pub fn exp_core_with<const FMA: bool>(x: f64) -> f64 {
    exp_core_prec::<FMA>(x, false)
}

/// [`exp_core_with`]; `single` asks only for float32 accuracy (a polynomial of degree 7:
/// within 2⁻³² relative, far below a float32 ULP, in 4 fewer steps). `single` is a
/// constant where the kernels call it, so the unused branch folds away.
#[inline(always)]
pub fn exp_core_prec<const FMA: bool>(x: f64, single: bool) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // Round to the nearest integer by adding 1.5·2⁵²: no call to round(), so the loop
    // vectorises on any x86-64; the integer k sits in the low bits of `t`.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let t = madd::<FMA>(x, INV_LN2, MAGIC);
    let k = t - MAGIC;
    let ki = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    // k·LN2_HI is exact (LN2_HI ends in zero bits), so the fused forms round as the plain ones.
    let r = madd::<FMA>(-k, LN2_LO, madd::<FMA>(-k, LN2_HI, x));
    // Horner from the top: the small terms first, then 1 + r + r²·q for accuracy.
    let q = if single {
        // Its Chebyshev fit of degree 5: e^r within 2⁻³²·¹ relative (float32 needs 2⁻²⁴).
        const Q: [f64; 6] = [
            1.989_098_086_975_032_7e-4,
            1.393_364_103_198_670_1e-3,
            8.333_310_934_448_869e-3,
            4.166_646_500_604_005e-2,
            1.666_666_668_161_425_6e-1,
            5.000_000_013_457_727e-1,
        ];
        horner::<FMA>(&Q, r)
    } else {
        // q(r) ≈ (e^r − 1 − r)/r² on |r| ≤ ln2/2 by its Chebyshev fit of degree 9 (mpmath's
        // chebyfit; e^r within 2⁻⁵⁵·⁸ relative, as the Taylor series to degree 13 in two
        // fewer steps).
        const Q: [f64; 10] = [
            2.510_037_583_256_123_4e-8,
            2.762_007_587_998_336_7e-7,
            2.755_726_848_031_002_4e-6,
            2.480_152_132_236_869_2e-5,
            1.984_126_986_304_054_5e-4,
            1.388_888_891_719_671_9e-3,
            8.333_333_333_330_065e-3,
            4.166_666_666_662_416_4e-2,
            1.666_666_666_666_666_9e-1,
            5.000_000_000_000_001e-1,
        ];
        estrin::<FMA, 10>(&Q, r)
    };
    let er = 1.0 + madd::<FMA>(r * r, q, r);
    let scale = f64::from_bits(((ki + 1023) as u64) << 52);
    er * scale
}

/// `a·b + c` in float32, fused when the kernel is compiled for FMA.
#[inline(always)]
pub fn madd32<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// e^a for a in [−87, 0] in float32 arithmetic (16 lanes per AVX-512 vector): a = k·ln2 + r
/// with the two-part ln2, the Taylor polynomial of e^r to degree 7 (truncation < 0.05 ULP), and
/// 2^k from its bits. About 0.6 ULP.
#[inline(always)]
pub fn exp_f32_neg<const FMA: bool>(a: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4; // exact in 10 bits: k·LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer
    let t = madd32::<FMA>(a, std::f32::consts::LOG2_E, MAGIC);
    let k = t - MAGIC;
    let ki = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = madd32::<FMA>(-k, LN2_LO, madd32::<FMA>(-k, LN2_HI, a));
    let mut q = 1.0 / 5_040.0;
    q = madd32::<FMA>(q, r, 1.0 / 720.0);
    q = madd32::<FMA>(q, r, 1.0 / 120.0);
    q = madd32::<FMA>(q, r, 1.0 / 24.0);
    q = madd32::<FMA>(q, r, 1.0 / 6.0);
    q = madd32::<FMA>(q, r, 0.5);
    let er = 1.0 + madd32::<FMA>(r * r, q, r);
    er * f32::from_bits(((ki + 127) as u32) << 23)
}

/// σ(x) for |x| ≤ 80 in float32 arithmetic: e = e^−|x|, then num/(1 + e) (num = 1 or e) with
/// the rounding errors of 1 + e and of the quotient corrected (Fast2Sum and an FMA residual),
/// so the result carries little more than e's own error.
#[inline(always)]
pub fn sigmoid_f32<const FMA: bool>(x: f32) -> f32 {
    sigmoid_f32_from_exp::<FMA>(x, exp_f32_neg::<FMA>(-x.abs()))
}

/// [`sigmoid_f32`] given e = e^−|x|.
#[inline(always)]
pub fn sigmoid_f32_from_exp<const FMA: bool>(x: f32, e: f32) -> f32 {
    let num = if x >= 0.0 { 1.0 } else { e };
    let d = 1.0 + e;
    let dl = (1.0 - d) + e; // 1 + e = d + dl exactly (|1| ≥ |e|)
    let inv = 1.0 / d;
    corrected_quotient_f32::<FMA>(num, d, dl, inv)
}

/// (σ(x), σ(−x)) from one e^−|x|: each as [`sigmoid_f32`] computes it for x and for −x.
#[inline(always)]
pub fn sigmoid_pair_f32<const FMA: bool>(x: f32) -> (f32, f32) {
    let e = exp_f32_neg::<FMA>(-x.abs());
    let d = 1.0 + e;
    let dl = (1.0 - d) + e;
    let inv = 1.0 / d;
    (
        corrected_quotient_f32::<FMA>(if x >= 0.0 { 1.0 } else { e }, d, dl, inv),
        corrected_quotient_f32::<FMA>(if x <= 0.0 { 1.0 } else { e }, d, dl, inv),
    )
}

/// (σ(x), softplus(−|x|)) from e = e^−|x| with one division: σ's 1 + e is log1p's 1 + u, and
/// the part of e lost in it is the low word `dl` σ's quotient corrects for.
#[inline(always)]
pub fn sigmoid_softplus_f32_from_exp<const FMA: bool>(x: f32, e: f32) -> (f32, f32) {
    let num = if x >= 0.0 { 1.0 } else { e };
    let d = 1.0 + e;
    let dl = (1.0 - d) + e; // 1 + e = d + dl exactly (|1| ≥ |e|)
    let inv = 1.0 / d;
    (
        corrected_quotient_f32::<FMA>(num, d, dl, inv),
        log1p_f32_from_sum::<FMA>(d, dl * inv),
    )
}

/// num/(d + dl) from inv ≈ 1/d: the quotient with its residual folded back in (FMA).
#[inline(always)]
fn corrected_quotient_f32<const FMA: bool>(num: f32, d: f32, dl: f32, inv: f32) -> f32 {
    let q = num * inv;
    // num/(d + dl) ≈ q + (num − q·d − q·dl)/d
    let r = madd32::<FMA>(-q, d, num);
    madd32::<FMA>(r - q * dl, inv, q)
}

/// log(1 + u) for u in [0, 1] in float32 arithmetic: y = 1 + u scaled into [√½, √2), log y =
/// 2·atanh(s) with s = (y − 1)/(y + 1) (series to s⁹, truncation < 0.05 ULP), plus the rounding
/// error of 1 + u folded back in. About 1 ULP.
#[inline(always)]
pub fn log1p_f32_unit<const FMA: bool>(u: f32) -> f32 {
    let y = 1.0 + u;
    log1p_f32_from_sum::<FMA>(y, (u - (y - 1.0)) / y)
}

/// [`log1p_f32_unit`] of u given y = 1 + u (rounded) and c = (u − (y − 1))/y, the part of u
/// lost in y relative to y (a few correct bits suffice; a caller that also divides by 1 + u
/// shares its reciprocal).
#[inline(always)]
pub fn log1p_f32_from_sum<const FMA: bool>(y: f32, c: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let big = y > std::f32::consts::SQRT_2;
    let k = if big { 1.0 } else { 0.0 };
    let ym = if big { y * 0.5 } else { y };
    let f = ym - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r = 2.0 / 9.0;
    r = madd32::<FMA>(r, z, 2.0 / 7.0);
    r = madd32::<FMA>(r, z, 2.0 / 5.0);
    r = madd32::<FMA>(r, z, 2.0 / 3.0);
    r *= z;
    let hfsq = 0.5 * f * f;
    let lym = f - (hfsq - s * (hfsq + r));
    madd32::<FMA>(k, LN2_HI, lym + madd32::<FMA>(k, LN2_LO, c))
}

/// log(1 + u) for u in [0, 1], written so that loops over it vectorise: y = 1 + u scaled into
/// [√½, √2) (k = 0 or 1), log y = 2·atanh(s) with s = (y − 1)/(y + 1) (|s| ≤ 0.172, the
/// series by a minimax polynomial in s²), plus the rounding error of 1 + u folded back in.
/// About 1 ULP.
#[inline(always)]
pub fn log1p_core(u: f64) -> f64 {
    log1p_core_with::<false>(u)
}

/// [`log1p_core`], with the series in fused multiply-adds when `FMA`.
#[inline(always)]
pub fn log1p_core_with<const FMA: bool>(u: f64) -> f64 {
    log1p_core_prec::<FMA>(u, false)
}

/// [`log1p_core_with`]; `single` asks only for float32 accuracy: the series stops at s⁹
/// (truncation < 2⁻³⁵ relative).
#[inline(always)]
pub fn log1p_core_prec<const FMA: bool>(u: f64, single: bool) -> f64 {
    let y = 1.0 + u;
    // The part of u lost when forming y, relative to y: log1p(u) ≈ log(y) + c (all of it when
    // u < 2⁻⁵³, so float32 needs it too).
    log1p_from_sum::<FMA>(y, (u - (y - 1.0)) / y, single)
}

/// [`log1p_core_prec`] of u given y = 1 + u (rounded) and c = (u − (y − 1))/y, the part of u
/// lost in y relative to y (c needs only a few correct bits: it is below half an ULP of the
/// result). A caller that also divides by 1 + u (σ) shares its reciprocal for c.
#[inline(always)]
pub fn log1p_from_sum<const FMA: bool>(y: f64, c: f64, single: bool) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let big = y > std::f64::consts::SQRT_2;
    let k = if big { 1.0 } else { 0.0 };
    let ym = if big { y * 0.5 } else { y };
    // s = (ym − 1)/(ym + 1), with ym − 1 exact (Sterbenz) in both branches.
    let f = ym - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    // R = 2z/3 + 2z²/5 + … so that log(1 + f) = f − (hfsq − s·(hfsq + R)) (fdlibm's split: the
    // leading term f is exact).
    let r = if single {
        // The series: 2z/3 + 2z²/5 + 2z³/7 + 2z⁴/9.
        let mut r = 2.0 / 9.0;
        for c in [7.0, 5.0, 3.0] {
            r = madd::<FMA>(r, z, 2.0 / c);
        }
        r
    } else {
        // fdlibm's minimax fit of the series (Lp7..Lp1, within 2⁻⁵⁸·⁴⁵ on |s| ≤ 0.1716): the
        // series to s²¹ in three fewer steps.
        const LP: [f64; 7] = [
            1.479_819_860_511_658_6e-1,
            1.531_383_769_920_937_3e-1,
            1.818_357_216_161_805e-1,
            2.222_219_843_214_978_4e-1,
            2.857_142_874_366_239e-1,
            3.999_999_999_940_942e-1,
            6.666_666_666_666_735e-1,
        ];
        estrin::<FMA, 7>(&LP, z)
    } * z;
    let hfsq = 0.5 * f * f;
    let lym = f - (hfsq - s * (hfsq + r));
    k * LN2_HI + (lym + (k * LN2_LO + c))
}

/// Fills `out[i] = f(e^{a[i]}, a[i])`-style loops fast: true when every input is in the range
/// where [`exp_core`] is exact to about 1 ULP.
#[inline]
pub fn exp_core_ok(xs: &[f64]) -> bool {
    xs.iter().fold(true, |ok, &x| ok & (x.abs() <= 708.0))
}

impl Real for f64 {
    fn recycled() -> &'static RecycledBuffers<f64> {
        thread_local! {
            static POOL: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        &POOL
    }

    #[inline(always)]
    fn as_f64s(xs: &[f64]) -> Option<&[f64]> {
        Some(xs)
    }

    #[inline(always)]
    fn c(v: f64) -> f64 {
        v
    }

    #[inline]
    fn sigmoid(x: f64) -> f64 {
        // For x ≥ 0, e^−x ≤ 1 and 1/(1+e) is well conditioned; for x < 0, e/(1+e) keeps the
        // relative accuracy of e^x down to the subnormal range.
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    }

    #[inline]
    fn softplus(x: f64) -> f64 {
        if x > 0.0 {
            x + (-x).exp().ln_1p()
        } else {
            x.exp().ln_1p()
        }
    }

    #[inline]
    fn elu(x: f64, alpha: f64) -> f64 {
        if x > 0.0 {
            x
        } else {
            alpha * x.exp_m1()
        }
    }

    #[inline]
    fn selu(x: f64) -> f64 {
        if x > 0.0 {
            SELU_SCALE * x
        } else {
            SELU_SCALE_ALPHA * x.exp_m1()
        }
    }
}

/// SELU's constants (Klambauer et al. 2017), as Theano writes them.
pub const SELU_ALPHA: f64 = 1.6732632423543772848170429916717;
pub const SELU_SCALE: f64 = 1.0507009873554804934193349852946;
/// scale·alpha, correctly rounded (so the negative branch rounds once less).
const SELU_SCALE_ALPHA: f64 = 1.7580993408473768;

impl Real for f32 {
    fn recycled() -> &'static RecycledBuffers<f32> {
        thread_local! {
            static POOL: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        &POOL
    }

    #[inline(always)]
    fn as_f64s(_: &[f32]) -> Option<&[f64]> {
        None
    }

    #[inline(always)]
    fn c(v: f64) -> f32 {
        v as f32
    }

    // float32 is computed in float64 and rounded once: well within 1 ULP of float32.
    #[inline]
    fn sigmoid(x: f32) -> f32 {
        f64::sigmoid(x as f64) as f32
    }

    #[inline]
    fn softplus(x: f32) -> f32 {
        f64::softplus(x as f64) as f32
    }

    #[inline]
    fn elu(x: f32, alpha: f32) -> f32 {
        f64::elu(x as f64, alpha as f64) as f32
    }

    #[inline]
    fn selu(x: f32) -> f32 {
        f64::selu(x as f64) as f32
    }

    #[inline]
    fn sigmoid_bce(z: f32, t: f32) -> f32 {
        f64::sigmoid_bce(z as f64, t as f64) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorisable exp stays within 1 ULP of libm's (itself < 1 ULP) over its range.
    #[test]
    fn exp_core_matches_libm() {
        let mut worst = 0u64;
        let n = 200_000;
        // Both forms the kernels compile (plain and fused multiply-adds), over the range and
        // densely around 0 (where the reduced argument is the input itself).
        let check = |x: f64, worst: &mut u64| {
            let b = x.exp();
            for a in [exp_core_with::<false>(x), exp_core_with::<true>(x)] {
                *worst = (*worst).max(a.to_bits().abs_diff(b.to_bits()));
            }
        };
        for i in 0..=n {
            check(-708.0 + 1416.0 * i as f64 / n as f64, &mut worst);
            check(-1.0 + 2.0 * i as f64 / n as f64, &mut worst);
        }
        for &x in &[0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 1.0, 700.0, -700.0] {
            check(x, &mut worst);
        }
        assert!(worst <= 1, "max {worst} ULP");
    }

    /// The vectorisable log1p stays within 1 ULP of libm's on [0, 1].
    #[test]
    fn log1p_core_matches_libm() {
        let mut worst = 0u64;
        let n = 200_000;
        for i in 0..=n {
            for u in [
                i as f64 / n as f64,
                (i as f64 / n as f64).powi(8),
                1e-300 * i as f64,
            ] {
                // Both forms the kernels compile (plain and fused multiply-adds).
                let b = u.ln_1p();
                for a in [log1p_core_with::<false>(u), log1p_core_with::<true>(u)] {
                    worst = worst.max(a.to_bits().abs_diff(b.to_bits()));
                }
            }
        }
        assert!(worst <= 1, "max {worst} ULP");
    }
}
