//! The rewrite stage of the pipeline: graph → rewritten graph, before scheduling.
//!
//! A rewrite is a small function that looks at one variable (and the nodes below it) and returns
//! an equivalent replacement, or nothing. Rewrites are grouped in phases run in Theano's order;
//! each phase sweeps the graph bottom-up until nothing fires (with a bound on the sweeps).
//!
//! The stabilize phase holds the numerically dangerous patterns (spec §4.2, §4.3):
//! `log(sigmoid(x)) → -softplus(-x)`, `log(1 - sigmoid(x)) → -softplus(x)`,
//! `log(1 + exp(x)) → softplus(x)`, `log(softmax(x)) → logsoftmax(x)`, and
//! `crossentropy_categorical_1hot(softmax(x), y)` → the fused softmax + crossentropy op.
//! Unlike Theano, stabilize runs in FAST_COMPILE too: stable numbers do not depend on the mode.

use crate::error::Result;
use crate::graph::{apply, Var};
use crate::ops::{Elemwise, NnetOp, Op, ScalarOp};
use crate::tensor as T;
use std::collections::HashMap;

/// Which rewrites run (Theano's compilation modes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// All phases (the default).
    #[default]
    FastRun,
    /// Merge, canonicalize and stabilize.
    FastCompile,
    /// No rewrite at all (debugging, differential tests).
    None,
}

/// A named local rewrite.
pub struct Rewrite {
    pub name: &'static str,
    pub apply: fn(&Var) -> Option<Var>,
}

/// A named phase of rewrites.
pub struct Phase {
    pub name: &'static str,
    pub rewrites: Vec<Rewrite>,
}

/// The phases a mode runs, in order.
pub fn phases(mode: &Mode) -> Vec<Phase> {
    match mode {
        Mode::None => vec![],
        Mode::FastCompile | Mode::FastRun => vec![Phase {
            name: "stabilize",
            rewrites: stabilize_rewrites(),
        }],
    }
}

/// Runs the phases of `mode` over the graph of `outputs`.
pub fn optimize(outputs: Vec<Var>, mode: &Mode) -> Result<Vec<Var>> {
    let mut outputs = outputs;
    for phase in phases(mode) {
        outputs = run_phase(&outputs, &phase.rewrites);
    }
    Ok(outputs)
}

/// The stabilize phase alone: used by `grad` so that gradients are taken of the stable graph
/// (the gradient of `log(sigmoid(z))` is then `sigmoid(-z)`, finite for any z).
pub fn stabilize(outputs: &[Var]) -> Vec<Var> {
    run_phase(outputs, &stabilize_rewrites())
}

/// Applies `rewrites` bottom-up over the graph until a sweep changes nothing (at most 10 sweeps).
pub fn run_phase(outputs: &[Var], rewrites: &[Rewrite]) -> Vec<Var> {
    let mut outputs = outputs.to_vec();
    for _ in 0..10 {
        let (new, changed) = sweep(&outputs, rewrites);
        outputs = new;
        if !changed {
            break;
        }
    }
    outputs
}

fn sweep(outputs: &[Var], rewrites: &[Rewrite]) -> (Vec<Var>, bool) {
    let refs: Vec<&Var> = outputs.iter().collect();
    let order = Var::toposort(&refs);
    let mut map: HashMap<u64, Var> = HashMap::new();
    let mut rebuilt: HashMap<u64, Vec<Var>> = HashMap::new();
    let mut changed = false;
    for v in order {
        let Some((apply_node, index)) = v.owner() else {
            continue;
        };
        let new_inputs: Vec<Var> = apply_node
            .inputs
            .iter()
            .map(|i| map.get(&i.id()).cloned().unwrap_or_else(|| i.clone()))
            .collect();
        let mut cur = if new_inputs
            .iter()
            .zip(&apply_node.inputs)
            .all(|(a, b)| a == b)
        {
            v.clone()
        } else {
            let outs = rebuilt
                .entry(apply_node.id())
                .or_insert_with(|| apply(apply_node.op.clone(), new_inputs));
            let n = outs[index].clone();
            if let Some(name) = v.name() {
                n.set_name(Some(&name));
            }
            n
        };
        for _ in 0..8 {
            let mut fired = false;
            for r in rewrites {
                if let Some(new) = (r.apply)(&cur) {
                    if let Some(new) = same_type(&cur, new) {
                        cur = new;
                        fired = true;
                        changed = true;
                    }
                }
            }
            if !fired {
                break;
            }
        }
        if cur != v {
            map.insert(v.id(), cur);
        }
    }
    let outs = outputs
        .iter()
        .map(|o| map.get(&o.id()).cloned().unwrap_or_else(|| o.clone()))
        .collect();
    (outs, changed)
}

/// A replacement must keep the type: cast the dtype back if needed, refuse other differences.
fn same_type(old: &Var, new: Var) -> Option<Var> {
    if new.error().is_some() || new.broadcastable() != old.broadcastable() {
        return None;
    }
    let new = if new.dtype() != old.dtype() {
        T::cast(&new, old.dtype())
    } else {
        new
    };
    if let Some(n) = old.name() {
        if new.name().is_none() && !new.is_constant() {
            new.set_name(Some(&n));
        }
    }
    Some(new)
}

/// The scalar op of an elementwise variable and its inputs.
pub fn elemwise_parts(v: &Var) -> Option<(ScalarOp, &[Var])> {
    match v.op()? {
        Op::Elemwise(Elemwise { scalar, .. }) => Some((*scalar, v.owner_inputs())),
        _ => None,
    }
}

/// The value of a constant whose elements are all equal, looking through broadcasting
/// dimshuffles (`1.0` padded to a vector is still 1.0).
pub fn scalar_constant_value(v: &Var) -> Option<f64> {
    if let Some(c) = v.constant_value() {
        let vals = c.to_f64_vec();
        let first = *vals.first()?;
        return vals.iter().all(|&x| x == first).then_some(first);
    }
    match v.op()? {
        Op::DimShuffle(_) => scalar_constant_value(&v.owner_inputs()[0]),
        Op::Elemwise(Elemwise {
            scalar: ScalarOp::Cast(_),
            ..
        }) => scalar_constant_value(&v.owner_inputs()[0]),
        _ => None,
    }
}

fn is(v: &Var, op: ScalarOp) -> Option<&[Var]> {
    match elemwise_parts(v) {
        Some((s, ins)) if s == op => Some(ins),
        _ => None,
    }
}

fn stabilize_rewrites() -> Vec<Rewrite> {
    vec![
        Rewrite {
            name: "logsigm_to_softplus",
            apply: logsigm_to_softplus,
        },
        Rewrite {
            name: "log1msigm_to_softplus",
            apply: log1msigm_to_softplus,
        },
        Rewrite {
            name: "log1pexp_to_softplus",
            apply: log1pexp_to_softplus,
        },
        Rewrite {
            name: "local_logsoftmax",
            apply: local_logsoftmax,
        },
        Rewrite {
            name: "crossentropy_to_crossentropy_with_softmax",
            apply: crossentropy_with_softmax,
        },
    ]
}

/// log(sigmoid(x)) → −softplus(−x).
fn logsigm_to_softplus(v: &Var) -> Option<Var> {
    let arg = &is(v, ScalarOp::Log)?[0];
    let x = &is(arg, ScalarOp::Sigmoid)?[0];
    Some(-T::nnet::softplus(-x))
}

/// log(1 − sigmoid(x)) → −softplus(x); log1p(−sigmoid(x)) → −softplus(x).
fn log1msigm_to_softplus(v: &Var) -> Option<Var> {
    if let Some(ins) = is(v, ScalarOp::Log) {
        let sub = is(&ins[0], ScalarOp::Sub)?;
        if scalar_constant_value(&sub[0]) != Some(1.0) {
            return None;
        }
        let x = &is(&sub[1], ScalarOp::Sigmoid)?[0];
        return Some(-T::nnet::softplus(x));
    }
    let ins = is(v, ScalarOp::Log1p)?;
    let n = &is(&ins[0], ScalarOp::Neg)?[0];
    let x = &is(n, ScalarOp::Sigmoid)?[0];
    Some(-T::nnet::softplus(x))
}

/// log(1 + exp(x)) and log1p(exp(x)) → softplus(x).
fn log1pexp_to_softplus(v: &Var) -> Option<Var> {
    if let Some(ins) = is(v, ScalarOp::Log) {
        let add = is(&ins[0], ScalarOp::Add)?;
        if add.len() != 2 {
            return None;
        }
        let (c, e) = if scalar_constant_value(&add[0]) == Some(1.0) {
            (&add[0], &add[1])
        } else {
            (&add[1], &add[0])
        };
        if scalar_constant_value(c) != Some(1.0) {
            return None;
        }
        let x = &is(e, ScalarOp::Exp)?[0];
        return Some(T::nnet::softplus(x));
    }
    let ins = is(v, ScalarOp::Log1p)?;
    let x = &is(&ins[0], ScalarOp::Exp)?[0];
    Some(T::nnet::softplus(x))
}

/// log(softmax(x)) → logsoftmax(x), for Theano's row-wise op and for any axis.
fn local_logsoftmax(v: &Var) -> Option<Var> {
    let arg = &is(v, ScalarOp::Log)?[0];
    match arg.op()? {
        Op::Nnet(NnetOp::Softmax { axis }) => {
            let x = arg.owner_inputs()[0].clone();
            Some(crate::graph::apply1(
                Op::Nnet(NnetOp::LogSoftmax { axis: *axis }),
                vec![x],
            ))
        }
        _ => None,
    }
}

/// crossentropy_categorical_1hot(softmax(x), y) → the fused op's nll (bias zero).
fn crossentropy_with_softmax(v: &Var) -> Option<Var> {
    if v.op()? != &Op::Nnet(NnetOp::CrossentropyCategorical1Hot) {
        return None;
    }
    let (sm, y) = (&v.owner_inputs()[0], &v.owner_inputs()[1]);
    match sm.op()? {
        Op::Nnet(NnetOp::Softmax { axis: None }) | Op::Nnet(NnetOp::Softmax { axis: Some(1) }) => {
            let x = &sm.owner_inputs()[0];
            Some(T::nnet::crossentropy_softmax_1hot(x, y).0)
        }
        Op::Nnet(NnetOp::SoftmaxWithBias) => {
            let (x, b) = (&sm.owner_inputs()[0], &sm.owner_inputs()[1]);
            Some(T::nnet::crossentropy_softmax_1hot_with_bias(x, b, y).0)
        }
        _ => None,
    }
}
