//! `rheano bench`: the workloads of bench/WORKLOADS.md run on rheano, with the data that
//! bench/peers.py wrote as .npy files, the same repetition rules, and the same JSON records.

use ndarray::{Array1, ArrayD, IxDyn};
use rheano::prelude::*;
use rheano::{function_with, FunctionOptions};
use std::time::Instant;

/// Reads a little-endian, C-order .npy file of float64 or int64 (what numpy.save writes).
fn read_npy(path: &str) -> std::result::Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format!("{path}: not a .npy file"));
    }
    let (hlen, start) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = String::from_utf8_lossy(&bytes[start..start + hlen]).to_string();
    if header.contains("'fortran_order': True") {
        return Err(format!("{path}: Fortran order is not supported"));
    }
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or("no shape")?;
    let shape: Vec<usize> = shape_txt
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap_or(0))
        .collect();
    let data = &bytes[start + hlen..];
    let n: usize = shape.iter().product();
    if header.contains("'<f8'") {
        let v: Vec<f64> = data
            .chunks_exact(8)
            .take(n)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8")))
            .collect();
        Ok(Value::from(
            ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| e.to_string())?,
        ))
    } else if header.contains("'<i8'") {
        let v: Vec<i64> = data
            .chunks_exact(8)
            .take(n)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8")))
            .collect();
        Ok(Value::from(
            ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| e.to_string())?,
        ))
    } else {
        Err(format!("{path}: unsupported dtype in {header}"))
    }
}

struct Rules {
    warmup: usize,
    min_runs: usize,
    min_time: f64,
}

fn measure(mut f: impl FnMut() -> Result<()>, r: &Rules) -> Result<Vec<f64>> {
    for _ in 0..r.warmup {
        f()?;
    }
    let start = Instant::now();
    let mut times = Vec::new();
    loop {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
        let el = start.elapsed().as_secs_f64();
        if (times.len() >= r.min_runs && el >= r.min_time)
            || times.len() >= 200
            || (el >= 30.0 && times.len() >= 3)
        {
            return Ok(times);
        }
    }
}

fn json_num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:e}"),
        _ => "null".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn rec(
    workload: &str,
    case: &str,
    dtype: DType,
    threads: usize,
    times: &[f64],
    bytes: Option<f64>,
    flops: Option<f64>,
    err: Option<f64>,
    extra: &str,
) -> String {
    let mut s = times.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let median = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    let list = times
        .iter()
        .map(|t| format!("{t:e}"))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "{{\"workload\":\"{workload}\",\"case\":\"{case}\",\"peer\":\"rheano\",\"dtype\":\"{dtype}\",\"threads\":{threads},\"n_runs\":{},\"times\":[{list}],\"min_s\":{:e},\"median_s\":{median:e},\"bytes\":{},\"flops\":{},\"max_abs_err\":{},\"note\":\"\",\"reference_only\":false{extra}}}",
        times.len(),
        s[0],
        json_num(bytes),
        json_num(flops),
        json_num(err)
    )
}

fn max_err(a: &Value, b: &[f64]) -> f64 {
    a.to_f64_vec()
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Runs the workloads and writes the JSON records to `out`.
pub fn run(data: &str, out: &str, threads: usize, quick: bool) -> Result<()> {
    let load = |name: &str| {
        read_npy(&format!("{data}/{name}.npy")).map_err(|e| Error::Value {
            op: "bench".into(),
            msg: e,
        })
    };
    let rules = if quick {
        Rules {
            warmup: 2,
            min_runs: 3,
            min_time: 0.3,
        }
    } else {
        Rules {
            warmup: 2,
            min_runs: 7,
            min_time: 1.0,
        }
    };
    let mut recs: Vec<String> = Vec::new();
    // RHEANO_BENCH_ONLY=W1,W5 runs a subset (for quick comparisons while tuning).
    let only = std::env::var("RHEANO_BENCH_ONLY").ok();
    let want = |w: &str| only.as_ref().is_none_or(|o| o.split(',').any(|x| x == w));
    for dt in [DType::Float64, DType::Float32] {
        // W1
        if want("W1") {
            let x64 = load("w1_x")?;
            let x = x64.cast(dt);
            let xr = x.cast(DType::Float64).to_f64_vec();
            let n = xr.len() as f64;
            let v = T::tensor(dt, &[false], "x");
            type Act<'a> = (&'a str, Var, fn(f64) -> f64);
            let acts: Vec<Act> = vec![
                ("sigmoid", T::nnet::sigmoid(&v), |x| {
                    1.0 / (1.0 + (-x).exp())
                }),
                ("softplus", T::nnet::softplus(&v), |x| {
                    if x > 0.0 {
                        x + (-x).exp().ln_1p()
                    } else {
                        x.exp().ln_1p()
                    }
                }),
                ("relu", T::nnet::relu(&v), |x| x.max(0.0)),
                ("ultra_fast_sigmoid", T::nnet::ultra_fast_sigmoid(&v), |x| {
                    <f64 as rheano::math::Real>::ultra_fast_sigmoid(x)
                }),
                ("hard_sigmoid", T::nnet::hard_sigmoid(&v), |x| {
                    (0.2 * x + 0.5).clamp(0.0, 1.0)
                }),
            ];
            for (name, out_v, reff) in acts {
                let f = function(&[&v], &[&out_v])?;
                let first = f.call(std::slice::from_ref(&x))?.remove(0);
                let want: Vec<f64> = xr.iter().map(|&a| reff(a)).collect();
                let err = max_err(&first, &want);
                drop(first);
                let times = measure(|| f.call(std::slice::from_ref(&x)).map(|_| ()), &rules)?;
                recs.push(rec(
                    "W1",
                    name,
                    dt,
                    threads,
                    &times,
                    Some(2.0 * n * dt.size_bytes() as f64),
                    None,
                    Some(err),
                    "",
                ));
            }
        }
        // W2
        if want("W2") {
            let m = load("w2_x")?.cast(dt);
            let mv = T::tensor(dt, &[false, false], "m");
            for (name, o) in [
                ("softmax", T::nnet::softmax(&mv)),
                ("log_softmax", T::nnet::logsoftmax(&mv)),
            ] {
                let f = function(&[&mv], &[&o])?;
                let times = measure(|| f.call(std::slice::from_ref(&m)).map(|_| ()), &rules)?;
                recs.push(rec(
                    "W2",
                    name,
                    dt,
                    threads,
                    &times,
                    Some(2.0 * m.len() as f64 * dt.size_bytes() as f64),
                    None,
                    None,
                    "",
                ));
            }
        }
        // W3
        if want("W3") {
            let z = load("w3_z")?.cast(dt);
            let t = load("w3_t")?.cast(dt);
            let (zv, tv) = (T::tensor(dt, &[false], "z"), T::tensor(dt, &[false], "t"));
            let cost = T::nnet::binary_crossentropy(T::nnet::sigmoid(&zv), &tv).mean();
            let g = rheano::grad(&cost, &[&zv])?.remove(0);
            let nz = z.len() as f64 * dt.size_bytes() as f64;
            for (name, outs, bytes) in [
                ("bce_forward", vec![cost.clone()], 2.0 * nz),
                ("bce_forward+grad", vec![cost.clone(), g], 3.0 * nz),
            ] {
                let refs: Vec<&Var> = outs.iter().collect();
                let f = function(&[&zv, &tv], &refs)?;
                let args = [z.clone(), t.clone()];
                let times = measure(|| f.call(&args).map(|_| ()), &rules)?;
                recs.push(rec(
                    "W3",
                    name,
                    dt,
                    threads,
                    &times,
                    Some(bytes),
                    None,
                    None,
                    "",
                ));
            }
        }
        // W4
        if want("W4") {
            let (xw, ww, yw) = (
                load("w4_X")?.cast(dt),
                load("w4_W")?.cast(dt),
                load("w4_y")?,
            );
            let bw = Value::zeros(dt, &[10]);
            let (xv, wv, bv, yv) = (
                T::tensor(dt, &[false, false], "X"),
                T::tensor(dt, &[false, false], "W"),
                T::tensor(dt, &[false], "b"),
                T::lvector("y"),
            );
            let cost =
                T::nnet::categorical_crossentropy(T::nnet::softmax(T::dot(&xv, &wv) + &bv), &yv)
                    .mean();
            let gs = rheano::grad(&cost, &[&wv, &bv])?;
            let f = function(&[&xv, &wv, &bv, &yv], &[&cost, &gs[0], &gs[1]])?;
            let args = [xw.clone(), ww, bw, yw];
            let times = measure(|| f.call(&args).map(|_| ()), &rules)?;
            recs.push(rec(
                "W4",
                "cce_softmax_forward+grad",
                dt,
                threads,
                &times,
                Some(xw.len() as f64 * dt.size_bytes() as f64),
                Some(4.0 * 4096.0 * 784.0 * 10.0),
                None,
                "",
            ));
        }
        // W5
        if want("W5") {
            let x5 = load("w5_X")?.cast(dt);
            let w = shared(load("w5_W")?.cast(dt), "W");
            let vv = shared(load("w5_V")?.cast(dt), "V");
            let b = shared(Value::zeros(dt, &[256]), "b");
            let c = shared(Value::zeros(dt, &[784]), "c");
            let xs = T::tensor(dt, &[false, false], "X");
            let h = T::nnet::sigmoid(T::dot(&xs, &w) + &b);
            let xr5 = T::nnet::sigmoid(T::dot(&h, &vv) + &c);
            let cost = T::nnet::binary_crossentropy(&xr5, &xs).mean();
            let params = [&w, &vv, &b, &c];
            let updates = rheano::sgd(&cost, &params, T::constant_of(0.1, dt))?;
            let f = function_with(
                &[&xs],
                &[&cost],
                FunctionOptions {
                    updates,
                    ..Default::default()
                },
            )?;
            let r5 = Rules {
                warmup: 5,
                min_runs: if quick { 5 } else { 30 },
                min_time: rules.min_time,
            };
            let times = measure(|| f.call(std::slice::from_ref(&x5)).map(|_| ()), &r5)?;
            recs.push(rec(
                "W5",
                "autoencoder_step",
                dt,
                threads,
                &times,
                None,
                Some(513.8e6),
                None,
                "",
            ));
        }
        // W7
        if want("W7") {
            if let (Ok(xtr), Ok(ytr), Ok(xte), Ok(yte), Ok(w1), Ok(w2), Ok(perms)) = (
                load("w7_Xtr"),
                load("w7_ytr"),
                load("w7_Xte"),
                load("w7_yte"),
                load("w7_W1"),
                load("w7_W2"),
                load("w7_perms"),
            ) {
                let (times, accs) = w7(dt, &xtr, &ytr, &xte, &yte, &w1, &w2, &perms)?;
                let acc = accs
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                recs.push(rec(
                    "W7",
                    "mlp_digits",
                    dt,
                    threads,
                    &times,
                    None,
                    None,
                    None,
                    &format!(",\"test_accuracy\":[{acc}],\"steps\":2300,\"epochs\":100"),
                ));
            }
        }
    }
    let text = format!(
        "{{\"meta\":{{\"threads\":{threads}}},\"results\":[{}]}}",
        recs.join(",")
    );
    std::fs::write(out, text).map_err(|e| Error::Value {
        op: "bench".into(),
        msg: e.to_string(),
    })?;
    println!("wrote {out}");
    Ok(())
}

/// W7: the 64-32-10 MLP, 100 epochs of minibatches of 64 in the given permutation order.
#[allow(clippy::too_many_arguments)]
fn w7(
    dt: DType,
    xtr: &Value,
    ytr: &Value,
    xte: &Value,
    yte: &Value,
    w1: &Value,
    w2: &Value,
    perms: &Value,
) -> Result<(Vec<f64>, Vec<f64>)> {
    // The training inputs in the run's dtype once, as the peers hold them; each step slices its
    // minibatch from them.
    let xtr = xtr.cast(dt);
    let ytr = ytr.clone().into_array::<i64>()?;
    let perms = perms
        .clone()
        .into_array::<i64>()?
        .into_dimensionality::<ndarray::Ix2>()
        .expect("2-d");
    let mut times = Vec::new();
    let mut accs = Vec::new();
    for _ in 0..5 {
        let p1 = shared(w1.cast(dt), "W1");
        let b1 = shared(Value::zeros(dt, &[32]), "b1");
        let p2 = shared(w2.cast(dt), "W2");
        let b2 = shared(Value::zeros(dt, &[10]), "b2");
        let x = T::tensor(dt, &[false, false], "x");
        let y = T::lvector("y");
        let h = T::nnet::sigmoid(T::dot(&x, &p1) + &b1);
        let logits = T::dot(&h, &p2) + &b2;
        let cost = T::nnet::categorical_crossentropy(T::nnet::softmax(&logits), &y).mean();
        let params = [&p1, &b1, &p2, &b2];
        let updates = rheano::sgd(&cost, &params, T::constant_of(0.1, dt))?;
        let step = function_with(
            &[&x, &y],
            &[],
            FunctionOptions {
                updates,
                ..Default::default()
            },
        )?;
        let predict = function(&[&x], &[&T::argmax(&logits, 1, false)])?;
        let t = Instant::now();
        for perm in perms.rows() {
            let idx: Vec<usize> = perm.iter().map(|&i| i as usize).collect();
            for chunk in idx.chunks(64) {
                let xb = xtr.take_rows(chunk)?;
                let yb: Array1<i64> = chunk.iter().map(|&i| ytr[[i]]).collect();
                step.call(&[xb, yb.into()])?;
            }
        }
        times.push(t.elapsed().as_secs_f64());
        let pred = predict.call(&[xte.cast(dt)])?.remove(0).to_i64_vec();
        let truth = yte.to_i64_vec();
        accs.push(
            pred.iter().zip(&truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64,
        );
    }
    Ok((times, accs))
}
