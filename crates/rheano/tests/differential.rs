//! Differential property test: random well-typed graphs compiled with every rewrite (FAST_RUN)
//! and with none (NONE) give equal results within dtype tolerances wherever the NONE result is
//! finite, and so do their gradients (with respect to the first input, plus the summed graph).
//! 10,000 graphs per run; `RHEANO_DIFF_GRAPHS=N` runs N (and `RHEANO_DIFF_SEED` moves
//! the seeds) for longer searches. Any failure found becomes a regression case below.
//!
//! "Finite" is taken strictly: a case is skipped where any intermediate of the NONE graph is
//! inf or NaN (a naive graph can overflow and still end finite, e.g. sigmoid(−inf) = 0). And the
//! naive graph's own rounding error is allowed for: the same graph is run in float32 and float64,
//! the gap between the two measures how ill-conditioned the naive form is (log(1 − sigmoid(x))
//! at x = 30 loses most of its digits), and the stabilised FAST_RUN result must be at least as
//! close to the float64 reference as the naive float32 one.

use ndarray::ArrayD;
use rheano::prelude::*;
use rheano::{function_with, FunctionOptions, Mode};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Case {
    inputs: Vec<Var>,
    values: Vec<Value>,
    out: Var,
}

/// A random leaf: one of the graph's inputs (matrix, vector, row, col or scalar) or a constant.
fn leaf(r: &mut Rng, pool: &[Var]) -> Var {
    if r.below(6) == 0 {
        return T::constant_of([0.5, 2.0, -1.0, 3.0][r.below(4)], pool[0].dtype());
    }
    pool[r.below(pool.len())].clone()
}

fn build(r: &mut Rng, pool: &[Var], depth: usize) -> Var {
    if depth == 0 {
        return leaf(r, pool);
    }
    let a = build(r, pool, depth - 1);
    match r.below(30) {
        0 => &a + &build(r, pool, depth - 1),
        1 => &a - &build(r, pool, depth - 1),
        2 => &a * &build(r, pool, depth - 1),
        3 => &a / (T::abs(build(r, pool, depth - 1)) + 1.0),
        4 => T::maximum(&a, build(r, pool, depth - 1)),
        5 => T::exp(T::clip(&a, -30.0, 30.0)),
        6 => T::tanh(&a),
        7 => T::nnet::sigmoid(&a),
        8 => T::nnet::softplus(&a),
        9 => T::nnet::relu(&a),
        10 => T::nnet::softsign(&a),
        11 => T::log(T::nnet::sigmoid(&a)),
        12 => T::log(1.0 - T::nnet::sigmoid(&a)),
        13 => T::log1p(T::exp(T::clip(&a, -50.0, 50.0))),
        14 => T::nnet::binary_crossentropy(
            T::nnet::sigmoid(&a),
            T::nnet::sigmoid(build(r, pool, depth - 1)),
        ),
        15 => -(&a),
        16 => T::sqr(&a) * 0.5,
        17 if a.ndim() == 2 => T::nnet::softmax(&a),
        18 if a.ndim() == 2 => T::log(T::nnet::softmax(&a)),
        19 if a.ndim() == 2 => T::sum(&a, 1, true) + &a,
        20 if a.ndim() == 2 => T::max(&a, 0, false) + &build(r, pool, depth - 1),
        21 if a.ndim() == 2 => a.t().t() * 2.0,
        22 if a.ndim() >= 1 => a.mean() + &a,
        23 if a.ndim() == 2 => T::dot(&a, a.t()) * 0.125,
        24 if a.ndim() == 2 => {
            let e = T::exp(T::clip(&a, -30.0, 30.0));
            &e / T::sum(&e, 1, true)
        }
        25 if a.ndim() == 2 => &a - T::log(T::sum(&T::exp(T::clip(&a, -30.0, 30.0)), 1, true)),
        26 => T::log(T::exp(T::clip(&a, -30.0, 30.0)).sum()) + &a,
        // argmax(softmax(x)) → argmax(x) is exact, but softmax can round distinct logits to equal
        // probabilities (found by this test: seeds 1228, 47162 with squashed inputs), so the
        // naive argmax picks another tie. Compare on raw inputs, where ties do not occur.
        27 if a.ndim() == 2 => {
            T::cast(T::argmax(&T::nnet::softmax(&pool[0]), 1, false), a.dtype())
                + T::sum(&a, 1, false)
        }
        28 => T::log(1.0 + T::abs(&a)) + (T::exp(T::clip(&a, -30.0, 30.0)) - 1.0),
        _ => T::nnet::ultra_fast_sigmoid(&a) + T::nnet::hard_sigmoid(&a),
    }
}

/// Wraps `x` in a pattern of the algebraic and blas rewrites (powers, negations, differences,
/// reciprocals, dot + bias), drawing from its own generator so that the base graph of a seed
/// stays what it was when the regression seeds were found.
fn algebra(r: &mut Rng, x: Var, pool: &[Var]) -> Var {
    let y = leaf(r, pool);
    match r.below(14) {
        0 => T::pow(&x, T::constant_of(2.0, x.dtype())),
        1 => T::pow(T::abs(&x) + 0.5, T::constant_of(0.5, x.dtype())),
        2 => T::pow(T::abs(&x) + 1.0, T::constant_of(-1.0, x.dtype())),
        3 => T::pow(T::abs(&x) + 1.0, T::constant_of(-0.5, x.dtype())),
        4 => {
            T::pow(&x, T::constant_of(1.0, x.dtype())) + T::pow(&y, T::constant_of(0.0, x.dtype()))
        }
        5 => &x * &x,
        6 => 1.0 / (T::abs(&x) + 1.0),
        7 => -(-(&x)),
        8 => -(-(&x) / (T::abs(&y) + 1.0)),
        9 => T::sub(&x, &x) + &y,
        10 => &x - (-(&y)),
        11 => &x + (-(&y)),
        12 if x.ndim() == 2 => T::dot(&x, x.t()) + &y,
        13 if x.ndim() == 2 => &y - 0.5 * T::dot(x.t(), &x),
        _ => (-(&x)) + &y,
    }
}

/// A random graph (under an algebraic or blas pattern with `wrap`), or (`gradient`) the gradient
/// of that graph's sum with respect to its first input.
fn random_case_full(seed: u64, force: Option<DType>, wrap: bool, gradient: bool) -> Case {
    let mut r = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let drawn = if r.below(2) == 0 {
        DType::Float64
    } else {
        DType::Float32
    };
    let dtype = force.unwrap_or(drawn);
    let (m, n) = (1 + r.below(4), 1 + r.below(4));
    let kinds: [(&[bool], Vec<usize>); 5] = [
        (&[false, false], vec![m, n]),
        (&[false], vec![n]),
        (&[true, false], vec![1, n]),
        (&[false, true], vec![m, 1]),
        (&[], vec![]),
    ];
    let n_inputs = 1 + r.below(3);
    let mut inputs = Vec::new();
    let mut values = Vec::new();
    // The first input is a matrix so that matrix ops appear often.
    for k in 0..n_inputs {
        let (b, shape) = &kinds[if k == 0 { 0 } else { r.below(5) }];
        inputs.push(T::tensor(dtype, b, format!("v{k}").as_str()));
        let scale = if r.below(8) == 0 { 1000.0 } else { 6.0 };
        let len: usize = shape.iter().product();
        // Values are float32 numbers, so both precisions see the same inputs.
        let data: Vec<f64> = (0..len)
            .map(|_| ((r.unit() - 0.5) * 2.0 * scale) as f32 as f64)
            .collect();
        values.push(
            Value::from(ArrayD::from_shape_vec(ndarray::IxDyn(shape), data).unwrap()).cast(dtype),
        );
    }
    let depth = 1 + r.below(4);
    let mut out = build(&mut r, &inputs, depth);
    if wrap {
        let mut r2 = Rng(seed.wrapping_mul(0xD1B54A32D192ED03) | 1);
        out = algebra(&mut r2, out, &inputs);
    }
    if gradient && out.check().is_ok() && out.dtype().is_float() {
        // The gradient of the summed graph with respect to its first input (a matrix): the
        // backward pass's fused programs (a sigmoid's σ(−x), a loss and its gradient in one
        // pass) against NONE.
        // Plus the sum itself, so that a loss and its gradient are computed side by side.
        let total = out.sum();
        out = match rheano::grad(&total, &[&inputs[0]]) {
            Ok(mut g) => g.remove(0) + total,
            Err(e) => Var::invalid(e),
        };
    }
    Case {
        inputs,
        values,
        out,
    }
}

fn tolerance(dtype: DType) -> f64 {
    if dtype == DType::Float32 {
        2e-3
    } else {
        1e-7
    }
}

fn opts(mode: Mode) -> FunctionOptions {
    FunctionOptions {
        mode,
        on_unused_input: rheano::OnUnusedInput::Ignore,
        ..Default::default()
    }
}

/// The NONE result, or `None` when the naive graph errs or leaves the finite range anywhere.
fn naive(case: &Case) -> Result<Option<Vec<f64>>, String> {
    let ins: Vec<&Var> = case.inputs.iter().collect();
    let all: Vec<Var> = Var::toposort(&[&case.out])
        .into_iter()
        .filter(|v| v.owner().is_some())
        .collect();
    let refs: Vec<&Var> = all.iter().collect();
    let f = function_with(&ins, &refs, opts(Mode::None)).map_err(|e| format!("compile: {e}"))?;
    let Ok(vals) = f.call(&case.values) else {
        return Ok(None);
    };
    if vals
        .iter()
        .any(|v| v.dtype().is_float() && v.to_f64_vec().iter().any(|x| !x.is_finite()))
    {
        return Ok(None);
    }
    Ok(Some(vals.last().expect("output").to_f64_vec()))
}

fn check(seed: u64) -> Result<(), String> {
    check_with(seed, false)
}

fn check_with(seed: u64, wrap: bool) -> Result<(), String> {
    check_full(seed, wrap, false)
}

fn check_full(seed: u64, wrap: bool, gradient: bool) -> Result<(), String> {
    let case = random_case_full(seed, None, wrap, gradient);
    if case.out.check().is_err() {
        return Ok(()); // an ill-typed combination: nothing to compare
    }
    let ins: Vec<&Var> = case.inputs.iter().collect();
    let fast = function_with(&ins, &[&case.out], opts(Mode::FastRun))
        .map_err(|e| format!("compile: {e}"))?;
    let fast_out = fast.call(&case.values);
    let Some(none) = naive(&case)? else {
        return Ok(());
    };
    let fast_out = fast_out
        .map_err(|e| format!("FAST_RUN failed where NONE ran: {e}"))?
        .remove(0);
    if !case.out.dtype().is_float() {
        return if fast_out.to_f64_vec() == none {
            Ok(())
        } else {
            Err(format!("integer results differ\n{}", pprint(&case.out)))
        };
    }
    let (Some(n32), Some(n64)) = (
        naive(&random_case_full(
            seed,
            Some(DType::Float32),
            wrap,
            gradient,
        ))?,
        naive(&random_case_full(
            seed,
            Some(DType::Float64),
            wrap,
            gradient,
        ))?,
    ) else {
        return Ok(());
    };
    // The precision the graph computes in is its inputs' (a float64 literal may upcast the end).
    let dtype = case.inputs[0].dtype();
    let got = fast_out.to_f64_vec();
    if got.len() != none.len() {
        return Err(format!(
            "shapes differ: {:?} vs {} values",
            fast_out.shape(),
            none.len()
        ));
    }
    for k in 0..got.len() {
        // How far the naive form strays in float32, scaled to this dtype's precision.
        let gap = (n32[k] - n64[k]).abs();
        if dtype == DType::Float64 && gap > 1e-2 * (n64[k].abs() + 1e-300) {
            // The naive form lost its digits in float32 (e.g. log(1 + 1e-13) → 0): its float64
            // value cannot serve as the reference either (found by this test: seed 94645).
            continue;
        }
        let slack = if dtype == DType::Float32 {
            2.0 * gap
        } else {
            16.0 * gap * 2f64.powi(-29)
        };
        let reference = if dtype == DType::Float32 {
            n64[k]
        } else {
            none[k]
        };
        let allowed = tolerance(dtype) * (1.0 + reference.abs()) + slack;
        let ok = (got[k] - reference).abs() <= allowed;
        if !ok {
            return Err(format!(
                "FAST_RUN {} vs reference {reference} (NONE {}, allowed {allowed:e}) at {k}\n{}\ninputs: {:?}",
                got[k],
                none[k],
                pprint(&case.out),
                case.values
            ));
        }
    }
    Ok(())
}

#[test]
fn fast_run_equals_no_rewrites_on_random_graphs() {
    let n: u64 = std::env::var("RHEANO_DIFF_GRAPHS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let base: u64 = std::env::var("RHEANO_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut failures = Vec::new();
    for seed in base..base + n {
        if let Err(e) = check(seed) {
            failures.push(format!("seed {seed}: {e}"));
        }
        // The same graph under an algebraic or blas pattern.
        if let Err(e) = check_with(seed, true) {
            failures.push(format!("seed {seed} (wrapped): {e}"));
        }
        // Its gradient.
        if let Err(e) = check_full(seed, false, true) {
            failures.push(format!("seed {seed} (gradient): {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} graphs differ:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n")
    );
}

/// Seeds on which earlier versions of this test (or of the rewrites) disagreed: naive graphs that
/// overflowed and ended finite (142, 395), lost digits (175, 905, 45221, 74727, 94645), argmax
/// ties after softmax rounding (1228, 14110, 47162, 55771, 55934), a Gemm that took a product
/// broadcast to a wider term (693, 5703, 6579, 11404).
#[test]
fn regressions() {
    for seed in [
        142, 175, 395, 401, 402, 693, 905, 1228, 1285, 1347, 1650, 1867, 5703, 6579, 11404, 14110,
        45221, 47162, 55771, 55934, 74727, 94645, 109993,
    ] {
        check(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
}
