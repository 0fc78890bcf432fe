//! The seed of rheano: a Theano notebook, written with rheano's Rust API.
//! Builds the seed's expressions, prints them as Theano does, and evaluates the autoencoder cost.

use ndarray::array;
use rheano::prelude::*;

fn main() -> Result<()> {
    let [x, _y, b] = T::dvectors(["x", "y", "b"]);
    let w = T::dmatrix("W");
    let out = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
    println!("{}", pprint(&out));
    let out = T::nnet::softplus(&(T::dot(&w, &x) + &b));
    println!("{}", pprint(&out));
    let out = T::nnet::softmax(&(T::dot(&w, &x) + &b));
    println!("{}", pprint(&out));

    let [x, _y, b, c] = T::dvectors(["x", "y", "b", "c"]);
    let (w, v) = (T::dmatrix("W"), T::dmatrix("V"));
    let h = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
    let x_recons = T::nnet::sigmoid(&(T::dot(&v, &h) + &c));
    let recon_cost = T::nnet::binary_crossentropy(&x_recons, &x).mean();
    println!("{}", pprint(&recon_cost));

    let f = function(&[&w, &x, &b, &v, &c], &[&recon_cost])?;
    let w_val = array![[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]];
    let cost = f.call(&[
        w_val.clone().into(),
        array![0.2, 0.9].into(),
        array![0.01, -0.02, 0.03].into(),
        w_val.t().to_owned().into(),
        array![0.05, -0.05].into(),
    ])?;
    println!("recon_cost = {}", cost[0].to_f64_vec()[0]);
    Ok(())
}
