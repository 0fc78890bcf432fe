//! The training demos, written with rheano's symbolic API (grad, shared, updates, givens).

use crate::{data, plots};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array1, Array2, Axis};
use rheano::prelude::*;
use rheano::{function_with, FunctionOptions};
use std::time::Instant;

/// Settings of a training run.
pub struct Settings {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub out_dir: String,
}

fn bar(epochs: usize) -> ProgressBar {
    let pb = ProgressBar::new(epochs as u64);
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} epochs  {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    pb
}

/// Runs `epochs` passes of `step(batch index)` with a progress bar showing the running loss;
/// returns the loss of every step.
fn epochs(
    step: &rheano::Function,
    n_batches: usize,
    epochs: usize,
    name: &'static str,
) -> Result<Vec<f64>> {
    let pb = bar(epochs);
    pb.set_prefix(name);
    let mut losses = Vec::new();
    for _ in 0..epochs {
        let mut total = 0.0;
        for i in 0..n_batches {
            let l = step.call(&[(i as i64).into()])?[0].to_f64_vec()[0];
            total += l;
            losses.push(l);
        }
        pb.set_message(format!("loss {:.4}", total / n_batches as f64));
        pb.inc(1);
    }
    pb.finish();
    Ok(losses)
}

/// The minibatch `[i·batch, (i+1)·batch)` of a shared matrix, for `givens`.
fn batch_of(data: &Var, i: &Var, batch: i64) -> Var {
    let start = i * batch;
    let stop = (i + 1) * batch;
    data.get(&[T::Idx::Slice(
        Some((&start).into()),
        Some((&stop).into()),
        None,
    )])
}

/// Trains the 64-32-10 MLP (sigmoid hidden layer, softmax output, categorical crossentropy,
/// minibatch SGD) on the embedded digits; prints the cost, test accuracy and confusion matrix;
/// writes the loss curve.
pub fn mlp(s: &Settings) -> Result<f64> {
    let t0 = Instant::now();
    let d = data::load();
    let (n_in, n_hidden, n_out) = (64, 32, 10);
    let w1 = shared(data::glorot(n_in, n_hidden, 1), "W1");
    let b1 = shared(Array1::<f64>::zeros(n_hidden), "b1");
    let w2 = shared(data::glorot(n_hidden, n_out, 2), "W2");
    let b2 = shared(Array1::<f64>::zeros(n_out), "b2");

    let x = T::dmatrix("x");
    let y = T::lvector("y");
    let h = T::nnet::sigmoid(T::dot(&x, &w1) + &b1);
    let p = T::nnet::softmax(T::dot(&h, &w2) + &b2);
    let cost = T::nnet::categorical_crossentropy(&p, &y)
        .mean()
        .named("cost");
    println!("cost = {}", pprint(&cost));

    let params = [&w1, &b1, &w2, &b2];
    let updates = rheano::sgd(&cost, &params, s.lr)?;
    // The training data lives in shared variables; each call takes one minibatch index.
    let train_x = shared(d.train_x.clone(), "train_x");
    let train_y = shared(d.train_y.clone(), "train_y");
    let index = T::lscalar("index");
    let bs = s.batch as i64;
    let step = function_with(
        &[&index],
        &[&cost],
        FunctionOptions {
            updates,
            givens: vec![
                (x.clone(), batch_of(&train_x, &index, bs)),
                (y.clone(), batch_of(&train_y, &index, bs)),
            ],
            ..Default::default()
        },
    )?;
    let predict = function(&[&x], &[&T::argmax(&p, 1, false)])?;

    let losses = epochs(&step, d.train_x.nrows() / s.batch, s.epochs, "mlp")?;

    let pred = predict.call(&[d.test_x.clone().into()])?.remove(0);
    let pred_v = pred.to_i64_vec();
    let correct = pred_v
        .iter()
        .zip(d.test_y.iter())
        .filter(|(a, b)| a == b)
        .count();
    let acc = correct as f64 / pred_v.len() as f64;
    println!(
        "test accuracy: {:.2}% ({correct}/{})",
        acc * 100.0,
        pred_v.len()
    );

    let (actual, predicted) = (T::lvector("actual"), T::lvector("predicted"));
    let (conf, order) = T::nnet::confusion_matrix(&actual, &predicted);
    let cm = function(&[&actual, &predicted], &[&conf, &order])?
        .call(&[d.test_y.clone().into(), pred])?;
    println!("confusion matrix (rows: actual, columns: predicted):");
    let labels = cm[1].to_i64_vec();
    let m = cm[0].clone().into_array::<i64>()?;
    print!("     ");
    for l in &labels {
        print!("{l:>4}");
    }
    println!();
    for (r, row) in m.axis_iter(Axis(0)).enumerate() {
        print!("{:>4} ", labels[r]);
        for v in row {
            print!("{v:>4}");
        }
        println!();
    }
    let path = format!("{}/loss_curve.png", s.out_dir);
    plots::loss_curve(
        &path,
        "MLP 64-32-10 on digits: training loss per minibatch",
        &losses,
    )
    .map_err(|e| Error::Value {
        op: "plot".into(),
        msg: e.to_string(),
    })?;
    println!("wrote {path}");
    println!("done in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(acc)
}

/// Trains the seed's autoencoder: h = sigmoid(W x + b), x_recons = sigmoid(V h + c),
/// cost = binary_crossentropy(x_recons, x).mean(); writes digits beside reconstructions.
pub fn autoencoder(s: &Settings) -> Result<f64> {
    let t0 = Instant::now();
    let d = data::load();
    let n_hidden = 32;
    // Row-vector form of the seed's column form: one example per row.
    let w = shared(data::glorot(64, n_hidden, 3), "W");
    let b = shared(Array1::<f64>::zeros(n_hidden), "b");
    let v = shared(data::glorot(n_hidden, 64, 4), "V");
    let c = shared(Array1::<f64>::zeros(64), "c");
    let x = T::dmatrix("x");
    let h = T::nnet::sigmoid(T::dot(&x, &w) + &b);
    let x_recons = T::nnet::sigmoid(T::dot(&h, &v) + &c);
    let cost = T::nnet::binary_crossentropy(&x_recons, &x)
        .mean()
        .named("recon_cost");
    println!("recon_cost = {}", pprint(&cost));
    let params = [&w, &b, &v, &c];
    let updates = rheano::sgd(&cost, &params, s.lr)?;
    let train_x = shared(d.train_x.clone(), "train_x");
    let index = T::lscalar("index");
    let step = function_with(
        &[&index],
        &[&cost],
        FunctionOptions {
            updates,
            givens: vec![(x.clone(), batch_of(&train_x, &index, s.batch as i64))],
            ..Default::default()
        },
    )?;
    let losses = epochs(&step, d.train_x.nrows() / s.batch, s.epochs, "autoencoder")?;
    let recon = function(&[&x], &[&x_recons, &cost])?;
    let sample: Array2<f64> = d.test_x.slice(ndarray::s![..10, ..]).to_owned();
    let r = recon.call(&[d.test_x.clone().into()])?;
    let test_cost = r[1].to_f64_vec()[0];
    println!("test reconstruction cost: {test_cost:.4}");
    let all = r[0].clone().into_array::<f64>()?;
    let originals: Vec<Vec<f64>> = sample.rows().into_iter().map(|r| r.to_vec()).collect();
    let recons: Vec<Vec<f64>> = (0..10)
        .map(|i| all.index_axis(Axis(0), i).iter().copied().collect())
        .collect();
    let path = format!("{}/reconstructions.png", s.out_dir);
    plots::digits_pairs(&path, &originals, &recons).map_err(|e| Error::Value {
        op: "plot".into(),
        msg: e.to_string(),
    })?;
    println!("wrote {path}");
    let path = format!("{}/autoencoder_loss.png", s.out_dir);
    plots::loss_curve(
        &path,
        "autoencoder 64-32-64: reconstruction loss per minibatch",
        &losses,
    )
    .map_err(|e| Error::Value {
        op: "plot".into(),
        msg: e.to_string(),
    })?;
    println!("wrote {path}");
    println!("done in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(test_cost)
}

/// The seed's picture: sigmoid, ultra_fast_sigmoid and hard_sigmoid over [-6, 6], and their
/// errors against sigmoid.
pub fn sigmoids(out_dir: &str) -> Result<()> {
    let xs: Vec<f64> = (0..=1200).map(|i| -6.0 + i as f64 * 0.01).collect();
    let x = T::dvector("x");
    let s = T::nnet::sigmoid(&x);
    let u = T::nnet::ultra_fast_sigmoid(&x);
    let h = T::nnet::hard_sigmoid(&x);
    let f = function(&[&x], &[&s, &u, &h, &T::abs(&u - &s), &T::abs(&h - &s)])?;
    let r = f.call(&[Array1::from(xs.clone()).into()])?;
    let v: Vec<Vec<f64>> = r.iter().map(|a| a.to_f64_vec()).collect();
    let path = format!("{out_dir}/sigmoids.png");
    plots::curves_and_errors(
        &path,
        &xs,
        &[
            ("sigmoid", v[0].clone()),
            ("ultra_fast_sigmoid", v[1].clone()),
            ("hard_sigmoid", v[2].clone()),
        ],
        &[
            ("|ultra_fast_sigmoid - sigmoid|", v[3].clone()),
            ("|hard_sigmoid - sigmoid|", v[4].clone()),
        ],
    )
    .map_err(|e| Error::Value {
        op: "plot".into(),
        msg: e.to_string(),
    })?;
    let max = |e: &[f64]| e.iter().cloned().fold(0.0, f64::max);
    println!(
        "max |ultra_fast_sigmoid - sigmoid| on [-6, 6] = {:.4}",
        max(&v[3])
    );
    println!(
        "max |hard_sigmoid - sigmoid| on [-6, 6] = {:.4}",
        max(&v[4])
    );
    println!("wrote {path}");
    Ok(())
}
