//! `rheano accuracy`: the README's accuracy and speed table for the nnet activations.
//!
//! Max ULP per op and dtype against the mpmath fixtures of the test suite, the largest error of
//! Theano's approximations against sigmoid, and the time of each over 10^7 elements.

use ndarray::Array1;
use rheano::prelude::*;
use std::time::Instant;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../rheano/tests/fixtures/", $name, ".txt")),
        )
    };
}

const FIXTURES: [(&str, &str); 14] = [
    fixture!("sigmoid_float64"),
    fixture!("sigmoid_float32"),
    fixture!("softplus_float64"),
    fixture!("softplus_float32"),
    fixture!("softsign_float64"),
    fixture!("softsign_float32"),
    fixture!("elu_float64"),
    fixture!("elu_float32"),
    fixture!("selu_float64"),
    fixture!("selu_float32"),
    fixture!("log_sigmoid_float64"),
    fixture!("log_sigmoid_float32"),
    fixture!("log1m_sigmoid_float64"),
    fixture!("log1m_sigmoid_float32"),
];

fn ulps(a: f64, b: f64, single: bool) -> u64 {
    if a.is_nan() && b.is_nan() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    if single {
        let k = |x: f32| {
            let b = x.to_bits() as i32 as i64;
            if b < 0 {
                i32::MIN as i64 - b
            } else {
                b
            }
        };
        k(a as f32).abs_diff(k(b as f32))
    } else {
        let k = |x: f64| {
            let b = x.to_bits() as i64;
            if b < 0 {
                i64::MIN - b
            } else {
                b
            }
        };
        k(a).abs_diff(k(b))
    }
}

fn build(op: &str, x: &Var) -> Var {
    match op {
        "sigmoid" => T::nnet::sigmoid(x),
        "softplus" => T::nnet::softplus(x),
        "softsign" => T::nnet::softsign(x),
        "elu" => T::nnet::elu(x, 1),
        "selu" => T::cast(T::nnet::selu(x), x.dtype()),
        "log_sigmoid" => T::log(T::nnet::sigmoid(x)),
        "log1m_sigmoid" => T::log(1.0 - T::nnet::sigmoid(x)),
        "ultra_fast_sigmoid" => T::nnet::ultra_fast_sigmoid(x),
        "hard_sigmoid" => T::nnet::hard_sigmoid(x),
        "relu" => T::nnet::relu(x),
        _ => unreachable!("{op}"),
    }
}

fn max_ulp(name: &str, text: &str) -> Result<(String, String, u64, usize)> {
    let (op, dtype) = name.rsplit_once('_').expect("op_dtype");
    let dt = DType::from_name(dtype).expect("dtype");
    let pairs: Vec<(f64, f64)> = text
        .lines()
        .map(|l| {
            let mut it = l
                .split_whitespace()
                .map(|t| t.parse::<f64>().expect("number"));
            (it.next().expect("x"), it.next().expect("y"))
        })
        .collect();
    let x = T::tensor(dt, &[false], "x");
    let f = function(&[&x], &[&build(op, &x)])?;
    let xs: Value = Array1::from(pairs.iter().map(|p| p.0).collect::<Vec<_>>()).into();
    let got = f.call(&[xs.cast(dt)])?.remove(0).to_f64_vec();
    let worst = pairs
        .iter()
        .zip(&got)
        .map(|((_, want), g)| ulps(*g, *want, dt == DType::Float32))
        .max()
        .unwrap_or(0);
    Ok((op.to_string(), dtype.to_string(), worst, pairs.len()))
}

fn time_op(op: &str, dt: DType, n: usize) -> Result<f64> {
    let x = T::tensor(dt, &[false], "x");
    let f = function(&[&x], &[&build(op, &x)])?;
    // W1's data: standard normal × 4, here from a fixed-seed generator.
    let mut s = 0x9E3779B97F4A7C15u64;
    let data: Vec<f64> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 16.0
        })
        .collect();
    let arg = Value::from(Array1::from(data)).cast(dt);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let r = f.call(std::slice::from_ref(&arg))?;
        best = best.min(t.elapsed().as_secs_f64());
        drop(r);
    }
    Ok(best)
}

fn max_error_vs_sigmoid(op: &str) -> Result<(f64, f64)> {
    let x = T::dvector("x");
    let d = T::abs(build(op, &x) - T::nnet::sigmoid(&x));
    let xs: Vec<f64> = (0..=2_400_000).map(|i| -12.0 + i as f64 * 1e-5).collect();
    let f = function(&[&x], &[&d])?;
    let r = f
        .call(&[Array1::from(xs.clone()).into()])?
        .remove(0)
        .to_f64_vec();
    let (i, e) = r.iter().enumerate().fold(
        (0, 0.0),
        |(bi, be), (i, &e)| if e > be { (i, e) } else { (bi, be) },
    );
    Ok((e, xs[i]))
}

/// Prints the markdown tables.
pub fn run(n: usize) -> Result<()> {
    println!("### Accuracy against mpmath (max ULP over the fixtures: trap inputs + sweeps of the whole range)\n");
    println!("| op | float64 max ULP | float32 max ULP | points |");
    println!("|---|---|---|---|");
    for pair in FIXTURES.chunks(2) {
        let a = max_ulp(pair[0].0, pair[0].1)?;
        let b = max_ulp(pair[1].0, pair[1].1)?;
        println!("| {} | {} | {} | {} + {} |", a.0, a.2, b.2, a.3, b.3);
    }
    println!("\n### Sigmoid and its approximations, {n} elements (1 call, best of 5)\n");
    println!("| op | max abs error vs sigmoid (at x) | float64 time | float32 time |");
    println!("|---|---|---|---|");
    for op in ["sigmoid", "ultra_fast_sigmoid", "hard_sigmoid"] {
        let (e, at) = if op == "sigmoid" {
            (0.0, 0.0)
        } else {
            max_error_vs_sigmoid(op)?
        };
        let t64 = time_op(op, DType::Float64, n)?;
        let t32 = time_op(op, DType::Float32, n)?;
        println!(
            "| {op} | {} | {:.1} ms | {:.1} ms |",
            if op == "sigmoid" {
                "0 (≤ 2 ULP of the truth)".to_string()
            } else {
                format!("{e:.4} (x = {at:.3})")
            },
            t64 * 1e3,
            t32 * 1e3
        );
    }
    Ok(())
}
