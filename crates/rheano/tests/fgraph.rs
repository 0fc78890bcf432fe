//! The rewrite engine's indexed graph: replace keeps outputs and the clients index right.

use rheano::fgraph::{Client, FunctionGraph};
use rheano::prelude::*;

mod common;

#[test]
fn replace_rebuilds_every_reader_and_keeps_the_index() {
    let x = T::dvector("x");
    let e = T::exp(&x);
    let l = T::log(&e);
    let y = &l + &e;
    let z = T::sum(&(&y * &l), None, false);
    let mut fg = FunctionGraph::new(&[y.clone(), z.clone(), y.clone()]);
    assert_eq!(fg.clients(&e).len(), 2);
    assert_eq!(fg.clients(&l).len(), 2);
    assert_eq!(fg.clients(&y).len(), 3); // the mul, and outputs 0 and 2
    assert!(fg.clients(&y).contains(&Client::Output(2)));
    fg.replace(&e, T::sqrt(&x), "test").unwrap();
    fg.check_index().unwrap();
    let outs = fg.outputs().to_vec();
    assert_eq!(pprint(&outs[0]), "(log(sqrt(x)) + sqrt(x))");
    assert_eq!(outs[0], outs[2]);
    assert_eq!(
        pprint(&fg.outputs()[1]),
        "Sum{acc_dtype=float64}(((log(sqrt(x)) + sqrt(x)) * log(sqrt(x))))"
    );
    assert!(!fg.contains(&e) && !fg.contains(&l) && !fg.contains(&y));
    // The old variables forward to what stands for them now.
    assert_eq!(fg.current(&y), outs[0]);
    // Replacing an output directly.
    let out0 = fg.outputs()[0].clone();
    fg.replace(&out0, T::abs(&x), "test").unwrap();
    fg.check_index().unwrap();
    assert_eq!(pprint(&fg.outputs()[2]), "|x|");
    assert_eq!(
        pprint(&fg.outputs()[1]),
        "Sum{acc_dtype=float64}((|x| * log(sqrt(x))))"
    );
}

#[test]
fn replace_refuses_other_types_and_cycles() {
    let x = T::dvector("x");
    let e = T::exp(&x);
    let y = T::log(&e);
    let mut fg = FunctionGraph::new(&[y]);
    let err = fg.replace(&e, T::fvector("f"), "bad").unwrap_err();
    assert!(err.to_string().contains("rewrite bad"), "{err}");
    let err = fg.replace(&e, T::sqrt(&e), "cycle").unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
    fg.check_index().unwrap();
}

/// Random chains of replacements on random elementwise graphs: the index always matches one
/// built afresh, and the outputs compute what the substituted graph computes.
#[test]
fn random_replacements_keep_the_index_consistent() {
    let mut seed = 12345u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..200 {
        let x = T::dvector("x");
        let y = T::dvector("y");
        let mut pool = vec![x.clone(), y.clone()];
        for _ in 0..12 {
            let a = pool[next(pool.len())].clone();
            let b = pool[next(pool.len())].clone();
            pool.push(match next(4) {
                0 => &a + &b,
                1 => &a * &b,
                2 => T::tanh(&a),
                _ => T::maximum(&a, &b),
            });
        }
        let outs = vec![pool[pool.len() - 1].clone(), pool[pool.len() - 3].clone()];
        let mut fg = FunctionGraph::new(&outs);
        for _ in 0..5 {
            let order = fg.toposort();
            let inner: Vec<&Var> = order.iter().filter(|v| v.owner().is_some()).collect();
            if inner.is_empty() {
                break;
            }
            let old = inner[next(inner.len())].clone();
            let leaf = if next(2) == 0 { &x } else { &y };
            let new = T::sin(&(&old.owner_inputs()[0] - leaf));
            fg.replace(&old, new, "random").unwrap();
            fg.check_index().unwrap();
        }
    }
}

/// Both outputs of a multi-output node follow it when it is rebuilt, and merge makes two
/// applications of one multi-output op (max and argmax of the same x) one node.
#[test]
fn multi_output_nodes_are_rebuilt_and_merged_as_one() {
    let x = T::dmatrix("x");
    let e = T::sin(&x); // not monotonic: argmax is not pushed below it
    let m = T::max(&e, 1, false);
    let a = T::argmax(&e, 1, false);
    let mut fg = FunctionGraph::new(&[m.clone(), a.clone()]);
    fg.replace(&e, T::tanh(&x), "test").unwrap();
    fg.check_index().unwrap();
    let outs = fg.outputs().to_vec();
    let (n0, _) = outs[0].owner().unwrap();
    let (n1, _) = outs[1].owner().unwrap();
    assert!(std::sync::Arc::ptr_eq(n0, n1) || n0.inputs == n1.inputs);
    // Compiled: one MaxAndArgmax node computes both.
    let f = function(&[&x], &[&m, &a]).unwrap();
    let dp = f.debugprint();
    let nodes = common::node_ids(&dp, "MaxAndArgmax");
    assert_eq!(nodes.len(), 1, "{dp}");
    let r = f
        .call(&[ndarray::array![[1.0, 3.0], [2.0, -1.0]].into_dyn().into()])
        .unwrap();
    assert_eq!(r[0].to_f64_vec(), vec![1f64.sin(), 2f64.sin()]);
    assert_eq!(r[1].to_i64_vec(), vec![0, 0]);
}
