//! `rheano compile-time`: W6 of bench/WORKLOADS.md for rheano — the seed's autoencoder training
//! step (784-256-784: forward, four gradients, four updates) from graph to callable function.

use ndarray::{Array1, Array2};
use rheano::prelude::*;
use rheano::{function_with, FunctionOptions};
use std::time::Instant;

fn step_function() -> Result<(f64, f64, rheano::Function)> {
    let t0 = Instant::now();
    let x = T::dmatrix("X");
    let w = shared(Array2::<f64>::zeros((784, 256)), "W");
    let v = shared(Array2::<f64>::zeros((256, 784)), "V");
    let b = shared(Array1::<f64>::zeros(256), "b");
    let c = shared(Array1::<f64>::zeros(784), "c");
    let h = T::nnet::sigmoid(T::dot(&x, &w) + &b);
    let xr = T::nnet::sigmoid(T::dot(&h, &v) + &c);
    let cost = T::nnet::binary_crossentropy(&xr, &x).mean();
    let params = [&w, &v, &b, &c];
    let updates = rheano::sgd(&cost, &params, 0.1)?;
    let build = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let f = function_with(
        &[&x],
        &[&cost],
        FunctionOptions {
            updates,
            ..Default::default()
        },
    )?;
    Ok((build, t1.elapsed().as_secs_f64(), f))
}

/// Prints the graph-building and compile times, cold (first in the process) and warm.
pub fn run() -> Result<()> {
    let (b0, c0, f) = step_function()?;
    let mut warm = (f64::INFINITY, f64::INFINITY);
    for _ in 0..20 {
        let (b, c, _) = step_function()?;
        warm = (warm.0.min(b), warm.1.min(c));
    }
    // One call, to show the function is callable.
    let x = Array2::<f64>::from_elem((256, 784), 0.5);
    let cost = f.call(&[x.into()])?[0].to_f64_vec()[0];
    println!("W6, the autoencoder step 784-256-784 (forward, 4 gradients, 4 updates):");
    println!("| | build graph + grad | function(...) | total |");
    println!("|---|---|---|---|");
    println!(
        "| cold (first in process) | {:.2} ms | {:.2} ms | {:.2} ms |",
        b0 * 1e3,
        c0 * 1e3,
        (b0 + c0) * 1e3
    );
    println!(
        "| warm (best of 20) | {:.2} ms | {:.2} ms | {:.2} ms |",
        warm.0 * 1e3,
        warm.1 * 1e3,
        (warm.0 + warm.1) * 1e3
    );
    println!("(first call's cost with zero weights: {cost:.6})");
    Ok(())
}
