//! Accuracy of the nnet activations against the mathematical functions (fixtures computed with
//! mpmath by `tools/gen_fixtures.py`, correctly rounded to each dtype). Bounds: 2 ULP for the
//! activations, exact where the true value rounds to 0, 1 or x; softmax rows within
//! 4 + |x − rowmax| ULP; the crossentropy of softmax from logits within 4 ULP.

use ndarray::Array1;
use rheano::prelude::*;

/// Distance in units in the last place between two floats of the same dtype (0 for two NaNs).
fn ulps64(a: f64, b: f64) -> u64 {
    if a.is_nan() && b.is_nan() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    let key = |x: f64| {
        let b = x.to_bits() as i64;
        if b < 0 {
            i64::MIN - b
        } else {
            b
        }
    };
    key(a).abs_diff(key(b))
}

fn ulps32(a: f32, b: f32) -> u64 {
    if a.is_nan() && b.is_nan() {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    let key = |x: f32| {
        let b = x.to_bits() as i32 as i64;
        if b < 0 {
            i32::MIN as i64 - b
        } else {
            b
        }
    };
    key(a).abs_diff(key(b))
}

fn load(name: &str) -> Vec<(f64, f64)> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|t| t.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect()
}

fn build(name: &str, x: &Var) -> Var {
    match name {
        "sigmoid" => T::nnet::sigmoid(x),
        "softplus" => T::nnet::softplus(x),
        "softsign" => T::nnet::softsign(x),
        "elu" => T::nnet::elu(x, 1),
        "selu" => T::cast(T::nnet::selu(x), x.dtype()),
        "log_sigmoid" => T::log(T::nnet::sigmoid(x)),
        "log1m_sigmoid" => T::log(1.0 - T::nnet::sigmoid(x)),
        _ => unreachable!(),
    }
}

const FUNCS: [&str; 7] = [
    "sigmoid",
    "softplus",
    "softsign",
    "elu",
    "selu",
    "log_sigmoid",
    "log1m_sigmoid",
];

/// Checks every fixture point, once all together (blocks with trap values take the scalar
/// path) and once only the points in the vector kernels' range (blocks that take the fast path).
fn check(name: &str, dtype: DType, max_ulp: u64) -> u64 {
    let all = load(&format!("{name}_{dtype}.txt"));
    let in_range: Vec<(f64, f64)> = all.iter().copied().filter(|p| p.0.abs() <= 700.0).collect();
    check_points(name, dtype, max_ulp, &all).max(check_points(name, dtype, max_ulp, &in_range))
}

fn check_points(name: &str, dtype: DType, max_ulp: u64, fx: &[(f64, f64)]) -> u64 {
    let x = T::tensor(dtype, &[false], "x");
    let f = function(&[&x], &[&build(name, &x)]).unwrap();
    let xs: Vec<f64> = fx.iter().map(|p| p.0).collect();
    let arg: Value = Array1::from(xs.clone()).into();
    let out = f.call(&[arg.cast(dtype)]).unwrap().remove(0);
    assert_eq!(out.dtype(), dtype, "{name}");
    let got = out.to_f64_vec();
    let mut worst = 0;
    for ((x, want), g) in fx.iter().zip(&got) {
        let u = if dtype == DType::Float64 {
            ulps64(*g, *want)
        } else {
            ulps32(*g as f32, *want as f32)
        };
        let exact_required = *want == 0.0 || want.abs() == 1.0 || want == x;
        if exact_required {
            assert!(
                g == want || (g.is_nan() && want.is_nan()),
                "{name} {dtype}: f({x}) = {g}, exactly {want} expected"
            );
        }
        assert!(
            u <= max_ulp,
            "{name} {dtype}: f({x:e}) = {g:e}, truth {want:e}: {u} ULP"
        );
        worst = worst.max(u);
    }
    worst
}

#[test]
fn activations_within_2_ulp_float64() {
    for name in FUNCS {
        check(name, DType::Float64, 2);
    }
}

#[test]
fn activations_within_2_ulp_float32() {
    for name in FUNCS {
        check(name, DType::Float32, 2);
    }
}

/// σ(x) and σ(−x) from one pass (a sigmoid layer and its gradient's σ(−x), computed by one
/// program after the rewrite `sigmoid_complement_sharing`): both within 2 ULP of the fixtures,
/// on every fixture point and on those in the vector kernels' range, in both dtypes.
#[test]
fn sigmoid_and_its_complement_from_one_pass_within_2_ulp() {
    for dtype in [DType::Float64, DType::Float32] {
        let x = T::tensor(dtype, &[false], "x");
        let one = T::tensor(dtype, &[false], "one");
        let h = T::nnet::sigmoid(&x);
        let c = T::nnet::sigmoid(-&x) * &one;
        let f = function(&[&x, &one], &[&h, &c]).unwrap();
        assert!(
            f.debugprint()
                .contains("scalar_sigmoid(i0), scalar_sigmoid((-i0))}}.1"),
            "one program computes both:\n{}",
            f.debugprint()
        );
        let all = load(&format!("sigmoid_{dtype}.txt"));
        let in_range: Vec<(f64, f64)> =
            all.iter().copied().filter(|p| p.0.abs() <= 700.0).collect();
        for fx in [&all, &in_range] {
            let xs: Vec<f64> = fx.iter().map(|p| p.0).collect();
            let ones: Value = Array1::from(vec![1.0; xs.len()]).into();
            // σ(x) from output 0 at x, and from output 1 (σ(−(−x))) at −x.
            for (out, sign) in [(0, 1.0), (1, -1.0)] {
                let arg: Value =
                    Array1::from(xs.iter().map(|x| sign * x).collect::<Vec<_>>()).into();
                let got = f.call(&[arg.cast(dtype), ones.cast(dtype)]).unwrap()[out].to_f64_vec();
                for ((x, want), g) in fx.iter().zip(&got) {
                    let u = if dtype == DType::Float64 {
                        ulps64(*g, *want)
                    } else {
                        ulps32(*g as f32, *want as f32)
                    };
                    assert!(
                        u <= 2,
                        "output {out} {dtype} at {x:e}: {g:e}, truth {want:e}: {u} ULP"
                    );
                    if *want == 0.0 || *want == 1.0 {
                        assert_eq!(*g, *want, "output {out} {dtype} at {x:e}");
                    }
                }
            }
        }
    }
}

/// A summed crossentropy of σ(z) and σ(z) itself (a loss and its gradient's σ(z) − t) from one
/// pass: one program, one e^−|z| and one division shared by σ and log1p. With t = 0 the
/// crossentropy is softplus(z), with t = 1 softplus(−z), so both are checked against the mpmath
/// fixtures of σ and softplus: within 2 ULP (σ exact where the truth is 0 or 1), point by point
/// (one-element calls: the sum is the element) and over whole vectors (σ), in both dtypes.
#[test]
fn sigmoid_and_its_crossentropy_from_one_pass_within_2_ulp() {
    let ulps = |dtype: DType, g: f64, w: f64| {
        if dtype == DType::Float64 {
            ulps64(g, w)
        } else {
            ulps32(g as f32, w as f32)
        }
    };
    let vector = |xs: Vec<f64>, dtype: DType| Value::from(Array1::from(xs)).cast(dtype);
    for dtype in [DType::Float64, DType::Float32] {
        let z = T::tensor(dtype, &[false], "z");
        let t = T::tensor(dtype, &[false], "t");
        let one = T::tensor(dtype, &[false], "one");
        let loss = T::nnet::sigmoid_binary_crossentropy(&z, &t).sum();
        let s = T::nnet::sigmoid(&z) * &one;
        let f = function(&[&z, &t, &one], &[&loss, &s]).unwrap();
        let graph = f.debugprint();
        assert!(
            !graph.contains("Elemwise")
                && graph.contains("Sum{Composite{sigmoid_binary_crossentropy(i0, ")
                && graph.contains("scalar_sigmoid(i0)"),
            "one program computes both:\n{graph}"
        );
        let sig = load(&format!("sigmoid_{dtype}.txt"));
        let sp: std::collections::HashMap<u64, f64> = load(&format!("softplus_{dtype}.txt"))
            .into_iter()
            .map(|(x, y)| (x.to_bits(), y))
            .collect();
        let check_sigmoid = |x: f64, g: f64, want: f64| {
            assert!(
                ulps(dtype, g, want) <= 2,
                "σ {dtype} at {x:e}: {g:e}, truth {want:e}"
            );
            if want == 0.0 || want == 1.0 {
                assert_eq!(g, want, "σ {dtype} at {x:e}");
            }
        };
        // One-element calls: the summed crossentropy is the element's.
        let call1 = |x: f64, label: f64| {
            f.call(&[
                vector(vec![x], dtype),
                vector(vec![label], dtype),
                vector(vec![1.0], dtype),
            ])
            .unwrap()
        };
        let mut checked = 0;
        for &(x, want) in &sig {
            for (label, sign) in [(0.0, 1.0), (1.0, -1.0)] {
                let out = call1(x, label);
                check_sigmoid(x, out[1].to_f64_vec()[0], want);
                // The crossentropy at t = label is softplus(sign·x).
                if let Some(&w) = sp.get(&(sign * x).to_bits()) {
                    let g = out[0].to_f64_vec()[0];
                    assert!(
                        ulps(dtype, g, w) <= 2 || (g.is_nan() && w.is_nan()),
                        "crossentropy {dtype} at {x:e}, t = {label}: {g:e}, truth {w:e}"
                    );
                    checked += 1;
                }
            }
        }
        // The fixtures share their grid, where x and −x both appear for most points.
        assert!(checked >= sig.len(), "{checked} of {}", 2 * sig.len());
        // Random points with soft labels (float32: the kernel's float32 lanes), against the
        // float64 formulas (themselves within 2 float64 ULP of the truth).
        if dtype == DType::Float32 {
            let mut uniform = uniform_from(0xc0ffee);
            for i in 0..20_000 {
                let mag = if i % 2 == 0 {
                    80.0 * uniform()
                } else {
                    2f64.powf(-30.0 + 36.5 * uniform())
                };
                let x = (if i % 4 < 2 { mag } else { -mag }) as f32 as f64;
                let label = uniform() as f32 as f64;
                let out = call1(x, label);
                let e = (-x.abs()).exp();
                let sig_want = if x >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                let pos = if x > 0.0 { 1.0 } else { 0.0 };
                let bce_want = e.ln_1p() + x * (pos - label);
                for (what, g, w) in [
                    ("σ", out[1].to_f64_vec()[0], sig_want),
                    ("crossentropy", out[0].to_f64_vec()[0], bce_want),
                ] {
                    let w32 = w as f32;
                    let ulp = (f32::from_bits(w32.to_bits() + 1) - w32) as f64;
                    assert!(
                        (g - w).abs() <= 2.0 * ulp,
                        "{what} float32 at {x:e} (t = {label}): {g:e} vs {w:e}"
                    );
                }
            }
        }
        let in_range: Vec<(f64, f64)> =
            sig.iter().copied().filter(|p| p.0.abs() <= 700.0).collect();
        for fx in [&sig, &in_range] {
            let xs: Vec<f64> = fx.iter().map(|p| p.0).collect();
            let n = xs.len();
            let out = f
                .call(&[
                    vector(xs, dtype),
                    vector(vec![0.5; n], dtype),
                    vector(vec![1.0; n], dtype),
                ])
                .unwrap();
            for (&(x, want), g) in fx.iter().zip(out[1].to_f64_vec()) {
                check_sigmoid(x, g, want);
            }
        }
    }
}

/// float32 sigmoid, softplus and the binary crossentropy of a sigmoid (computed in float32
/// lanes where the CPU has FMA) on 400,000 pseudo-random points, uniform in [−80, 80] and
/// log-uniform in magnitude from 2⁻³⁰ to 2⁶·⁵: within 2 ULP of a float64 reference (itself within
/// 2 float64 ULP of the truth).
#[test]
fn float32_lanes_random_points_within_2_ulp() {
    let mut uniform = uniform_from(0x5eed_u64);
    let xs: Vec<f32> = (0..400_000)
        .map(|i| {
            let u = uniform();
            let mag = if i % 4 < 2 {
                80.0 * u
            } else {
                2f64.powf(-30.0 + 36.5 * u)
            };
            (if i % 2 == 0 { mag } else { -mag }) as f32
        })
        .collect();
    // Targets 0, ½ and 1, and uniform in [0, 1] (soft labels: 1 − t rounds).
    let ts: Vec<f32> = (0..xs.len())
        .map(|i| match i % 4 {
            3 => uniform() as f32,
            k => k as f32 * 0.5,
        })
        .collect();
    let x = T::fvector("x");
    let t = T::fvector("t");
    let softplus64 = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let sigmoid64 = |x: f64| {
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            x.exp() / (1.0 + x.exp())
        }
    };
    type Reference = Box<dyn Fn(f64, f64) -> f64>;
    let cases: Vec<(&str, Var, Reference)> = vec![
        (
            "sigmoid",
            T::nnet::sigmoid(&x),
            Box::new(move |x, _| sigmoid64(x)),
        ),
        (
            "softplus",
            T::nnet::softplus(&x),
            Box::new(move |x, _| softplus64(x)),
        ),
        (
            "sigmoid_binary_crossentropy",
            T::nnet::sigmoid_binary_crossentropy(&x, &t),
            // softplus(−|x|) + x·((x > 0) − t) = −(t·log σ(x) + (1 − t)·log(1 − σ(x)))
            Box::new(move |x, t| softplus64(-x.abs()) + x * (if x > 0.0 { 1.0 } else { 0.0 } - t)),
        ),
    ];
    for (name, out, reference) in cases {
        let f = function_with(
            &[&x, &t],
            &[&out],
            FunctionOptions {
                on_unused_input: OnUnusedInput::Ignore,
                ..Default::default()
            },
        )
        .unwrap();
        let got = f
            .call(&[
                Array1::from(xs.clone()).into(),
                Array1::from(ts.clone()).into(),
            ])
            .unwrap()[0]
            .to_f64_vec();
        for ((&x, &t), g) in xs.iter().zip(&ts).zip(got) {
            let want = reference(x as f64, t as f64);
            let w = want as f32;
            let ulp = (f32::from_bits(w.to_bits() + 1) - w) as f64;
            assert!(
                (g - want).abs() <= 2.0 * ulp,
                "{name} float32 at {x:e} (t = {t}): {g:e} vs {want:e}"
            );
        }
    }
}

#[test]
fn named_edge_values() {
    let x = T::dvector("x");
    let ev = |v: Var, xs: &[f64]| {
        v.eval(&[(&x, Array1::from(xs.to_vec()).into())])
            .unwrap()
            .to_f64_vec()
    };
    assert_eq!(
        ev(T::nnet::sigmoid(&x), &[40.0, 20.0, -800.0]),
        vec![1.0, 0.9999999979388463, 0.0]
    );
    assert_eq!(
        ev(T::nnet::softplus(&x), &[800.0, 17.0]),
        vec![800.0, 17.000000041399375]
    );
    assert_eq!(ev(T::log(T::nnet::sigmoid(&x)), &[-800.0]), vec![-800.0]);
    assert_eq!(
        ev(
            T::nnet::relu(&x),
            &[f64::NEG_INFINITY, f64::INFINITY, -1.0, 2.0]
        ),
        vec![0.0, f64::INFINITY, 0.0, 2.0]
    );
    assert!(ev(T::nnet::relu(&x), &[f64::NAN])[0].is_nan());
    assert_eq!(
        ev(T::nnet::relu_alpha(&x, 0.1), &[-1000.0, 3.0]),
        vec![-100.0, 3.0]
    );
    assert_eq!(
        ev(T::nnet::softsign(&x), &[f64::INFINITY, f64::NEG_INFINITY]),
        vec![1.0, -1.0]
    );
    assert_eq!(ev(T::nnet::elu(&x, 1), &[f64::NEG_INFINITY]), vec![-1.0]);
    assert_eq!(
        ev(T::nnet::selu(&x), &[f64::NEG_INFINITY]),
        vec![-1.7580993408473768]
    );
    // The crossentropy of σ(z) at z = ±inf: 0 when the label is on the saturated side (the
    // limit; Theano's formula gives inf·0 = NaN), +inf otherwise, in both dtypes.
    for dtype in [DType::Float64, DType::Float32] {
        let z = T::tensor(dtype, &[false], "z");
        let t = T::tensor(dtype, &[false], "t");
        let f = function(&[&z, &t], &[&T::nnet::sigmoid_binary_crossentropy(&z, &t)]).unwrap();
        let (inf, ninf) = (f64::INFINITY, f64::NEG_INFINITY);
        let zs = vec![inf, inf, inf, ninf, ninf, ninf];
        let ts = vec![1.0, 0.0, 0.5, 0.0, 1.0, 0.5];
        let got = f
            .call(&[
                Value::from(Array1::from(zs)).cast(dtype),
                Value::from(Array1::from(ts)).cast(dtype),
            ])
            .unwrap()[0]
            .to_f64_vec();
        assert_eq!(got, vec![0.0, inf, inf, 0.0, inf, inf], "{dtype}");
    }
}

#[test]
fn theano_approximations_exactly() {
    let x = T::dvector("x");
    let ev = |v: Var, xs: &[f64]| {
        v.eval(&[(&x, Array1::from(xs.to_vec()).into())])
            .unwrap()
            .to_f64_vec()
    };
    let ufs = ev(
        T::nnet::ultra_fast_sigmoid(&x),
        &[-1.0, 0.0, 1.0, 5.0, 10.0, -10.0, f64::NAN, f64::INFINITY],
    );
    assert_eq!(
        ufs,
        vec![
            0.25,
            0.5,
            0.75,
            0.9860570531734361,
            0.997527376843365,
            0.00247262315663499,
            0.00247262315663499,
            0.997527376843365
        ]
    );
    let hs = ev(T::nnet::hard_sigmoid(&x), &[-1.0, 0.0, 1.0, -2.5, 3.0]);
    assert_eq!(hs, vec![0.3, 0.5, 0.7, 0.0, 1.0]);
    assert!(ev(T::nnet::hard_sigmoid(&x), &[f64::NAN])[0].is_nan());
    // float32: computed in float32, as Theano's C code does.
    let f = T::fvector("f");
    let r = T::nnet::ultra_fast_sigmoid(&f)
        .eval(&[(&f, Array1::from(vec![-10.0f32]).into())])
        .unwrap();
    assert_eq!(r.into_array::<f32>().unwrap()[[0]], 0.0024726093f32);
    assert_eq!(T::nnet::hard_sigmoid(&f).dtype(), DType::Float32);
    assert_eq!(
        pprint(&T::nnet::hard_sigmoid(&x)),
        "clip(((x * TensorConstant{0.2}) + TensorConstant{0.5}), TensorConstant{0}, TensorConstant{1})"
    );
}

/// The largest error of ultra_fast_sigmoid against sigmoid, as documented: 0.0276.
#[test]
fn ultra_fast_sigmoid_max_error() {
    let x = T::dvector("x");
    let xs: Vec<f64> = (0..=24000).map(|i| -12.0 + i as f64 * 0.001).collect();
    let d = T::abs(T::nnet::ultra_fast_sigmoid(&x) - T::nnet::sigmoid(&x)).max();
    let e = d
        .eval(&[(&x, Array1::from(xs).into())])
        .unwrap()
        .to_f64_vec()[0];
    assert!((e - 0.0276).abs() < 0.0005, "max error {e}");
}

/// A reproducible stream of uniform numbers in [0, 1) (a 64-bit LCG's top 53 bits).
fn uniform_from(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn parse_row(s: &str) -> Vec<f64> {
    s.split_whitespace().map(|t| t.parse().unwrap()).collect()
}

fn check_softmax(dtype: DType) {
    let path = format!(
        "{}/tests/fixtures/softmax_{dtype}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let m = T::tensor(dtype, &[false, false], "m");
    let y = T::lvector("y");
    let sm = function(&[&m], &[&T::nnet::softmax(&m), &T::nnet::logsoftmax(&m)]).unwrap();
    // SoftmaxWithBias with a zero bias: the same values (its own kernel adds the bias).
    let b = T::tensor(dtype, &[false], "b");
    let swb = function(&[&m, &b], &[&T::nnet::softmax_with_bias(&m, &b)]).unwrap();
    // categorical_crossentropy(softmax(x), y): the stabilised (fused) form in the default mode.
    let cce = function(
        &[&m, &y],
        &[&T::nnet::categorical_crossentropy(T::nnet::softmax(&m), &y)],
    )
    .unwrap();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('|').collect();
        let row = parse_row(parts[0]);
        let (want_sm, want_lsm) = (parse_row(parts[1]), parse_row(parts[2]));
        let tail = parse_row(parts[3]);
        let (label, want_nll) = (tail[0] as i64, tail[1]);
        let n = row.len();
        let arg =
            Value::from(ndarray::Array2::from_shape_vec((1, n), row.clone()).unwrap()).cast(dtype);
        let r = sm.call(std::slice::from_ref(&arg)).unwrap();
        let (gs, gl) = (r[0].to_f64_vec(), r[1].to_f64_vec());
        let zero_bias = Value::zeros(dtype, &[n]);
        let gb = swb.call(&[arg.clone(), zero_bias]).unwrap()[0].to_f64_vec();
        let rmax = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let ulp = |a: f64, b: f64| {
            if dtype == DType::Float64 {
                ulps64(a, b)
            } else {
                ulps32(a as f32, b as f32)
            }
        };
        for j in 0..n {
            let bound = 4 + ((row[j] - rmax).abs().min(1e6)) as u64;
            assert!(
                ulp(gs[j], want_sm[j]) <= bound,
                "softmax {dtype} {row:?}[{j}] = {} vs {}",
                gs[j],
                want_sm[j]
            );
            assert!(
                ulp(gb[j], want_sm[j]) <= bound,
                "softmax_with_bias {dtype} {row:?}[{j}] = {} vs {}",
                gb[j],
                want_sm[j]
            );
            assert!(
                ulp(gl[j], want_lsm[j]) <= bound,
                "logsoftmax {dtype} {row:?}[{j}] = {} vs {}",
                gl[j],
                want_lsm[j]
            );
        }
        if row.iter().all(|v| v.is_finite()) {
            let nll = cce.call(&[arg, ndarray::arr1(&[label]).into()]).unwrap()[0].to_f64_vec()[0];
            assert!(nll.is_finite());
            assert!(
                ulp(nll, want_nll) <= 4,
                "cce {dtype} {row:?} label {label}: {nll} vs {want_nll}"
            );
        }
    }
}

#[test]
fn softmax_rows_float64() {
    check_softmax(DType::Float64);
}

#[test]
fn softmax_rows_float32() {
    check_softmax(DType::Float32);
}

/// float32 softmax, log-softmax and the fused crossentropy of rows of many lengths (the short-row
/// kernel below 32, the row kernel above), pseudo-random entries spread over up to ±40 around
/// 0: within 1 ULP of the float64 result of the same float32 inputs (itself within a few
/// float64 ULP of the truth).
#[test]
fn float32_softmax_rows_within_1_ulp() {
    let mut uniform = uniform_from(0xfeed_u64);
    let m32 = T::fmatrix("m");
    let m64 = T::dmatrix("m");
    let y = T::lvector("y");
    let outs = |m: &Var| {
        vec![
            T::nnet::softmax(m),
            T::nnet::logsoftmax(m),
            T::nnet::categorical_crossentropy(T::nnet::softmax(m), &y),
        ]
    };
    let (o32, o64) = (outs(&m32), outs(&m64));
    let f32f = function(&[&m32, &y], &o32.iter().collect::<Vec<_>>()).unwrap();
    let f64f = function(&[&m64, &y], &o64.iter().collect::<Vec<_>>()).unwrap();
    for (rows, cols, spread) in [
        (200, 1000, 8.0),
        (300, 40, 80.0),
        (100, 33, 2.0),
        (500, 10, 30.0),
        (64, 3, 80.0),
    ] {
        let data: Vec<f32> = (0..rows * cols)
            .map(|_| ((uniform() - 0.5) * spread) as f32)
            .collect();
        let labels: Vec<i64> = (0..rows).map(|i| (i * 7 % cols) as i64).collect();
        let x32: Value = ndarray::Array2::from_shape_vec((rows, cols), data.clone())
            .unwrap()
            .into_dyn()
            .into();
        let x64: Value =
            ndarray::Array2::from_shape_vec((rows, cols), data.iter().map(|&v| v as f64).collect())
                .unwrap()
                .into_dyn()
                .into();
        let yv: Value = ndarray::Array1::from(labels).into();
        let got = f32f.call(&[x32, yv.clone()]).unwrap();
        let want = f64f.call(&[x64, yv]).unwrap();
        for (k, name) in ["softmax", "log_softmax", "crossentropy"]
            .iter()
            .enumerate()
        {
            let worst = got[k]
                .to_f64_vec()
                .iter()
                .zip(want[k].to_f64_vec())
                .map(|(&g, w)| ulps32(g as f32, w as f32))
                .max()
                .unwrap();
            eprintln!("{name} float32 {rows}×{cols}: {worst} ULP");
            assert!(worst <= 1, "{name} float32 {rows}×{cols}: {worst} ULP");
        }
    }
}

/// SoftmaxWithBias (whose short-row kernel adds the bias as it loads the rows) equals, bit for
/// bit, the softmax of the sum computed apart, over groups of rows with a partial last group
/// and trap rows among ordinary ones (±inf, nan, entries beyond exp's range of the max, which
/// the kernel hands to the general one), in both dtypes and several row lengths.
#[test]
fn softmax_with_bias_is_the_softmax_of_the_sum() {
    let mut uniform = uniform_from(0x5eed_u64);
    for dtype in [DType::Float64, DType::Float32] {
        let x = T::tensor(dtype, &[false, false], "x");
        let b = T::tensor(dtype, &[false], "b");
        let swb = function(&[&x, &b], &[&T::nnet::softmax_with_bias(&x, &b)]).unwrap();
        let sum = function(&[&x, &b], &[&(&x + &b)]).unwrap();
        let sm = function(&[&x], &[&T::nnet::softmax(&x)]).unwrap();
        for (rows, cols) in [(13, 10), (8, 3), (21, 31), (5, 1)] {
            let mut data: Vec<f64> = (0..rows * cols).map(|_| (uniform() - 0.5) * 60.0).collect();
            let traps = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -800.0, 900.0];
            for (k, &t) in traps.iter().enumerate() {
                let r = (3 * k + 1) % rows;
                data[r * cols + (k % cols)] = t;
            }
            let bias: Vec<f64> = (0..cols).map(|_| (uniform() - 0.5) * 10.0).collect();
            let xv = Value::from(ndarray::Array2::from_shape_vec((rows, cols), data).unwrap())
                .cast(dtype);
            let bv = Value::from(ndarray::Array1::from(bias)).cast(dtype);
            let got = swb.call(&[xv.clone(), bv.clone()]).unwrap()[0].to_f64_vec();
            let summed = sum.call(&[xv, bv]).unwrap().remove(0);
            let want = sm.call(&[summed]).unwrap()[0].to_f64_vec();
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                    "{dtype} {rows}×{cols} [{i}]: {g} vs {w}"
                );
            }
        }
    }
}

/// Long rows (the vector row kernel) whose max is tied, and rows whose other terms are tiny next
/// to the max (log-softmax of the max entry is −log1p(rest), ~1e-22 here): softmax and
/// log_softmax within 4 ULP (float64; the reference's own libm exp adds its error) and 2 ULP
/// (float32) of a reference that sums the other terms apart from the first max.
#[test]
fn long_rows_with_tied_or_dominant_max() {
    let cols = 40;
    let rows: Vec<Vec<f64>> = vec![
        (0..cols)
            .map(|j| if j < 3 { 2.0 } else { -(j as f64) * 0.5 })
            .collect(),
        (0..cols)
            .map(|j| {
                if j % 7 == 0 {
                    1.5
                } else {
                    (j % 5) as f64 * 0.25
                }
            })
            .collect(),
        (0..cols)
            .map(|j| if j == 17 { 0.0 } else { -50.0 - j as f64 })
            .collect(),
        (0..cols)
            .map(|j| if j == 0 || j == 39 { 3.0 } else { -60.0 })
            .collect(),
    ];
    for dtype in [DType::Float64, DType::Float32] {
        let x = T::tensor(dtype, &[false, false], "x");
        let f = function(&[&x], &[&T::nnet::softmax(&x), &T::nnet::logsoftmax(&x)]).unwrap();
        let flat: Vec<f64> = rows.concat();
        let arg: Value = ndarray::Array2::from_shape_vec((rows.len(), cols), flat)
            .unwrap()
            .into_dyn()
            .into();
        let out = f.call(&[arg.cast(dtype)]).unwrap();
        let (sm, lsm) = (out[0].to_f64_vec(), out[1].to_f64_vec());
        for (r, row) in rows.iter().enumerate() {
            let row: Vec<f64> = row
                .iter()
                .map(|&v| {
                    if dtype == DType::Float32 {
                        v as f32 as f64
                    } else {
                        v
                    }
                })
                .collect();
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let first = row.iter().position(|&v| v == m).unwrap();
            let rest: f64 = row
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != first)
                .map(|(_, &v)| (v - m).exp())
                .sum();
            for (j, &v) in row.iter().enumerate() {
                let want_sm = (v - m).exp() / (1.0 + rest);
                let want_lsm = (v - m) - rest.ln_1p();
                let (g_sm, g_lsm) = (sm[r * cols + j], lsm[r * cols + j]);
                let u = |g: f64, w: f64| {
                    if dtype == DType::Float64 {
                        ulps64(g, w)
                    } else {
                        ulps32(g as f32, w as f32)
                    }
                };
                let tol = if dtype == DType::Float64 { 4 } else { 2 };
                assert!(
                    u(g_sm, want_sm) <= tol,
                    "softmax {dtype} row {r}[{j}]: {g_sm:e} vs {want_sm:e}"
                );
                assert!(
                    u(g_lsm, want_lsm) <= tol,
                    "log_softmax {dtype} row {r}[{j}]: {g_lsm:e} vs {want_lsm:e}"
                );
            }
        }
    }
}
