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
use crate::fgraph::FunctionGraph;
use crate::graph::{apply, Var};
use crate::ops::{Elemwise, NnetOp, Op, ScalarOp};
use crate::tensor as T;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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

/// A pass over the whole graph (merge, fusion), editing it through `FunctionGraph::replace`.
pub type GlobalPass = fn(&mut FunctionGraph);

/// A named phase of rewrites: local rewrites run to a fixed point, or a global pass.
pub struct Phase {
    pub name: &'static str,
    pub rewrites: Vec<Rewrite>,
    pub global: Option<GlobalPass>,
}

/// Which rewrites run: the mode's phases, plus opt-in rewrites by name, minus excluded ones.
#[derive(Clone, Debug, Default)]
pub struct RewriteConfig {
    pub mode: Mode,
    /// Opt-in rewrites to add (`local_ultra_fast_sigmoid`, `local_hard_sigmoid`).
    pub including: Vec<String>,
    /// Rewrites or phases to skip, by name.
    pub excluding: Vec<String>,
}

/// What fired: (rewrite name, pprint before, pprint after).
#[derive(Clone, Debug, Default)]
pub struct Log {
    pub entries: Vec<(String, String, String)>,
    pub enabled: bool,
}

impl Log {
    pub(crate) fn record(&mut self, name: &str, before: &Var, after: &Var) {
        if self.enabled {
            self.entries.push((
                name.to_string(),
                crate::pprint(before),
                crate::pprint(after),
            ));
        }
    }

    /// The explain report: one paragraph per rewrite that fired.
    pub fn report(&self) -> String {
        let mut s = String::new();
        for (name, before, after) in &self.entries {
            s.push_str(&format!("{name}:\n  before: {before}\n  after:  {after}\n"));
        }
        s
    }
}

/// The phases a configuration runs, in Theano's order: merge → canonicalize (constant folding)
/// → stabilize → specialize (opt-in approximations) → fusion.
pub fn phases(cfg: &RewriteConfig) -> Vec<Phase> {
    let fast_run = cfg.mode == Mode::FastRun;
    let mut out = match cfg.mode {
        Mode::None => vec![],
        Mode::FastCompile | Mode::FastRun => vec![
            Phase {
                name: "merge",
                rewrites: vec![],
                global: Some(merge),
            },
            Phase {
                name: "canonicalize",
                rewrites: canonicalize_rewrites(),
                global: None,
            },
            Phase {
                name: "stabilize",
                rewrites: stabilize_rewrites(),
                global: None,
            },
        ],
    };
    let mut specialize = Vec::new();
    if fast_run {
        specialize.push(Rewrite {
            name: "local_dot22",
            apply: local_dot22,
        });
        specialize.extend(specialize_rewrites());
    }
    for name in &cfg.including {
        match name.as_str() {
            "local_ultra_fast_sigmoid" => specialize.push(Rewrite {
                name: "local_ultra_fast_sigmoid",
                apply: local_ultra_fast_sigmoid,
            }),
            "local_hard_sigmoid" => specialize.push(Rewrite {
                name: "local_hard_sigmoid",
                apply: local_hard_sigmoid,
            }),
            _ => {}
        }
    }
    if !specialize.is_empty() && cfg.mode != Mode::None {
        out.push(Phase {
            name: "specialize",
            rewrites: specialize,
            global: None,
        });
    }
    if fast_run {
        out.push(Phase {
            name: "local_crossentropy_outputs_unused",
            rewrites: vec![],
            global: Some(crossentropy_outputs_unused),
        });
        out.push(Phase {
            name: "local_gemm",
            rewrites: vec![],
            global: Some(gemm_pass),
        });
        out.push(Phase {
            name: "local_dot22_crossentropy_grad",
            rewrites: vec![],
            global: Some(dot22_crossentropy_grad),
        });
        out.push(Phase {
            name: "merge2",
            rewrites: vec![],
            global: Some(merge),
        });
        out.push(Phase {
            name: "elemwise_fusion",
            rewrites: vec![],
            global: Some(fuse),
        });
        out.push(Phase {
            name: "sigmoid_complement_sharing",
            rewrites: vec![],
            global: Some(share_sigmoid_complements),
        });
        out.push(Phase {
            name: "loss_gradient_fusion",
            rewrites: vec![],
            global: Some(fuse_loss_with_gradient),
        });
    }
    for p in &mut out {
        p.rewrites
            .retain(|r| !cfg.excluding.iter().any(|e| e == r.name));
    }
    out.retain(|p| !cfg.excluding.iter().any(|e| e == p.name));
    out
}

/// Runs the phases of `mode` over the graph of `outputs`.
pub fn optimize(outputs: Vec<Var>, mode: &Mode) -> Result<Vec<Var>> {
    let cfg = RewriteConfig {
        mode: mode.clone(),
        ..Default::default()
    };
    Ok(optimize_with(outputs, &cfg, &mut Log::default()))
}

/// Runs the configured phases, recording what fired in `log` when it is enabled.
pub fn optimize_with(outputs: Vec<Var>, cfg: &RewriteConfig, log: &mut Log) -> Vec<Var> {
    let mut fg = FunctionGraph::with_log(&outputs, std::mem::take(log));
    for phase in phases(cfg) {
        match phase.global {
            Some(g) => g(&mut fg),
            None => run_phase_on(&mut fg, &phase.rewrites),
        }
    }
    let (outputs, done) = fg.into_parts();
    *log = done;
    outputs
}

/// The stabilize phase alone: used by `grad` so that gradients are taken of the stable graph
/// (the gradient of `log(sigmoid(z))` is then `sigmoid(-z)`, finite for any z).
pub fn stabilize(outputs: &[Var]) -> Vec<Var> {
    run_phase(outputs, &stabilize_rewrites())
}

/// Applies `rewrites` to the graph of `outputs` until nothing fires; returns the new outputs.
pub fn run_phase(outputs: &[Var], rewrites: &[Rewrite]) -> Vec<Var> {
    let mut fg = FunctionGraph::new(outputs);
    run_phase_on(&mut fg, rewrites);
    fg.into_parts().0
}

/// Sweeps over the graph in topological order, trying each rewrite at each node (and again on
/// what replaced it), until a sweep changes nothing: at most `MAX_SWEEPS` sweeps and
/// `MAX_ROUNDS_PER_NODE` rounds at one node, so that rewrites undoing each other cannot loop.
pub fn run_phase_on(fg: &mut FunctionGraph, rewrites: &[Rewrite]) {
    const MAX_SWEEPS: usize = 16;
    const MAX_ROUNDS_PER_NODE: usize = 8;
    for _ in 0..MAX_SWEEPS {
        let mut changed = false;
        let mut visited = HashSet::new();
        for v in fg.toposort() {
            let mut cur = fg.current(&v);
            if cur.owner().is_none() || !visited.insert(cur.id()) {
                continue;
            }
            for _ in 0..MAX_ROUNDS_PER_NODE {
                let mut fired = false;
                for r in rewrites {
                    let Some(new) = (r.apply)(&cur).and_then(|n| same_type(&cur, n)) else {
                        continue;
                    };
                    if fg.replace(&cur, new.clone(), r.name).is_ok() {
                        cur = fg.current(&new);
                        fired = true;
                        changed = true;
                        if cur.owner().is_none() {
                            break;
                        }
                    }
                }
                if !fired || cur.owner().is_none() {
                    break;
                }
            }
        }
        if !changed {
            break;
        }
    }
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

/// Canonical forms (spec §4.3): constant folding, −(−x) → x, x ** 1 → x, x ** 0 → 1,
/// x − x → 0, and subtraction written with a negation: x − (−y) → x + y, x + (−y) → x − y.
fn canonicalize_rewrites() -> Vec<Rewrite> {
    vec![
        Rewrite {
            name: "local_useless_crossentropy_softmax_1hot_with_bias_dx_alloc",
            apply: local_useless_dx_alloc,
        },
        Rewrite {
            name: "constant_folding",
            apply: constant_folding,
        },
        Rewrite {
            name: "local_neg_neg",
            apply: local_neg_neg,
        },
        Rewrite {
            name: "local_pow_canonicalize",
            apply: local_pow_canonicalize,
        },
        Rewrite {
            name: "local_sub_self",
            apply: local_sub_self,
        },
        Rewrite {
            name: "local_sub_neg",
            apply: local_sub_neg,
        },
        Rewrite {
            name: "local_reduce_broadcastable",
            apply: local_reduce_broadcastable,
        },
        Rewrite {
            name: "local_dimshuffle_lift",
            apply: local_dimshuffle_lift,
        },
        Rewrite {
            name: "local_shape_to_shape_i",
            apply: local_shape_to_shape_i,
        },
        Rewrite {
            name: "local_shape_of_elemwise",
            apply: local_shape_of_elemwise,
        },
        Rewrite {
            name: "local_fill_sink",
            apply: local_fill_sink,
        },
        Rewrite {
            name: "local_useless_fill",
            apply: local_useless_fill,
        },
    ]
}

/// shape(f(a, b, ...)) → shape(a) for an elementwise f and an input with the output's
/// broadcastable pattern (it has the output's shape): a mean's divisor then no longer keeps the
/// elementwise result alive, and the sum before it can fuse with it. The same for
/// `Shape_i{k}`.
fn local_shape_of_elemwise(v: &Var) -> Option<Var> {
    let x = &v.owner_inputs().first()?.clone();
    let source = match v.op()? {
        Op::Shape | Op::ShapeI(_) => same_shape_as(x)?,
        _ => return None,
    };
    Some(crate::graph::apply1(v.op()?.clone(), vec![source]))
}

/// A variable with the same shape as `x`, computed earlier (or an input), if one is known.
fn same_shape_as(x: &Var) -> Option<Var> {
    // A crossentropy's per-row outputs have the labels' shape (the op checks that they match
    // the rows): the gradient of a mean then needs no forward pass for its 1/n.
    if let Some(Op::Nnet(NnetOp::CrossentropyCategorical1Hot))
    | Some(Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias)) = x.op()
    {
        let (_, index) = x.owner()?;
        let labels = x.owner_inputs().last()?.clone();
        return (index != 1 && labels.ndim() == 1 && x.ndim() == 1).then_some(labels);
    }
    // m[arange(y.shape[0]), y] has the labels' shape (a mean over it divides by len(y)).
    if x.op() == Some(&Op::AdvancedSubtensor) {
        let [m, rows, y] = x.owner_inputs() else {
            return None;
        };
        return (m.ndim() == 2 && y.ndim() == 1 && is_arange_of_len(rows, y)).then(|| y.clone());
    }
    if !matches!(x.op(), Some(Op::Elemwise(_)) | Some(Op::Composite(_))) {
        return None;
    }
    x.owner_inputs()
        .iter()
        .find(|i| i.ndim() == x.ndim() && i.broadcastable() == x.broadcastable())
        .cloned()
}

/// Shape(x)[k] → Shape_i{k}(x) for a constant k (Theano's `local_shape_to_shape_i`): one
/// scalar step instead of a vector and its indexing, and a scalar that fuses with what follows
/// (`inv(cast(n))` of a mean's gradient).
fn local_shape_to_shape_i(v: &Var) -> Option<Var> {
    let Op::Subtensor(sub) = v.op()? else {
        return None;
    };
    let [shape, index] = v.owner_inputs() else {
        return None;
    };
    if !matches!(sub.entries[..], [crate::ops::subtensor::IdxEntry::Index(_)]) {
        return None;
    }
    // cast(Shape(x))[k] (a mean's divisor) → cast(Shape_i{k}(x)).
    let (shape, cast) = match elemwise_parts(shape) {
        Some((ScalarOp::Cast(d), [inner])) => (inner, Some(d)),
        _ => (shape, None),
    };
    if shape.op()? != &Op::Shape {
        return None;
    }
    let x = &shape.owner_inputs()[0];
    let k = scalar_constant_value(index)?;
    let nd = x.ndim() as f64;
    if k.fract() != 0.0 || k < -nd || k >= nd {
        return None;
    }
    let k = if k < 0.0 { k + nd } else { k } as usize;
    let n = crate::graph::apply1(Op::ShapeI(k), vec![x.clone()]);
    same_type(v, cast.map_or(n.clone(), |d| T::cast(&n, d)))
}

/// Two dimshuffles in a row become one, and a dimshuffle that keeps every dim in order is x.
fn local_dimshuffle_lift(v: &Var) -> Option<Var> {
    let Op::DimShuffle(outer) = v.op()? else {
        return None;
    };
    let x = &v.owner_inputs()[0];
    let identity = |order: &[Option<usize>], ndim: usize| {
        order.len() == ndim && order.iter().enumerate().all(|(i, o)| *o == Some(i))
    };
    if identity(&outer.new_order, x.ndim()) {
        return Some(x.clone());
    }
    let Some(Op::DimShuffle(inner)) = x.op() else {
        return None;
    };
    let order: Vec<Option<usize>> = outer
        .new_order
        .iter()
        .map(|o| o.and_then(|j| inner.new_order[j]))
        .collect();
    let base = &x.owner_inputs()[0];
    if identity(&order, base.ndim()) {
        return Some(base.clone());
    }
    Some(T::dimshuffle(base, &order))
}

/// A sum, product, max or min over axes that are all broadcastable (length 1) only drops them:
/// a dimshuffle (the double sums of bias gradients become one).
fn local_reduce_broadcastable(v: &Var) -> Option<Var> {
    let Op::Reduce(r) = v.op()? else {
        return None;
    };
    let x = &v.owner_inputs()[0];
    let axes: Vec<usize> = r.axis.clone().unwrap_or_else(|| (0..x.ndim()).collect());
    if axes.is_empty() || !axes.iter().all(|&a| x.broadcastable()[a]) {
        return None;
    }
    let keep: Vec<Option<usize>> = (0..x.ndim())
        .filter(|d| !axes.contains(d))
        .map(Some)
        .collect();
    Some(T::dimshuffle(x, &keep))
}

/// f(fill(x, y)) → fill(x, f(y)) for a unary elementwise f: the broadcast moves outward, so
/// that a node reading it can drop it (`local_useless_fill`). Gradients are full of these
/// (`fill(cost, 1.0)` seeds every backward pass).
fn local_fill_sink(v: &Var) -> Option<Var> {
    let (op, ins) = elemwise_parts(v)?;
    if ins.len() != 1 || matches!(op, ScalarOp::Second) {
        return None;
    }
    let fill = is(&ins[0], ScalarOp::Second)?;
    let (x, y) = (&fill[0], &fill[1]);
    let fy = crate::graph::apply1(v.op()?.clone(), vec![y.clone()]);
    Some(T::fill(x, &fy))
}

/// A fill read by an elementwise node whose other inputs already fix every dimension that the
/// fill's shape template `x` fixes: the node reads the filled value `y` directly, and `x` (often
/// a whole forward pass, only there for its shape) is no longer needed.
fn local_useless_fill(v: &Var) -> Option<Var> {
    let (op, ins) = elemwise_parts(v)?;
    // fill(x, y) whose result has y's own type (x adds no dims, e.g. both scalars) is y.
    if let (ScalarOp::Second, [_, y]) = (op, ins) {
        let same = y.dtype() == v.dtype() && y.broadcastable() == v.broadcastable();
        return same.then(|| y.clone());
    }
    if ins.len() < 2 {
        return None;
    }
    for (k, input) in ins.iter().enumerate() {
        let Some(fill) = is(input, ScalarOp::Second) else {
            continue;
        };
        let (x, y) = (&fill[0], &fill[1]);
        if y.dtype() != input.dtype() || y.ndim() != input.ndim() {
            continue;
        }
        let covered = (0..x.ndim()).all(|d| {
            x.broadcastable()[d]
                || ins
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != k && !o.broadcastable()[d])
        });
        if covered {
            let mut new_ins = ins.to_vec();
            new_ins[k] = y.clone();
            return Some(crate::graph::apply1(v.op()?.clone(), new_ins));
        }
    }
    None
}

/// Specialisations for speed (Theano's specialize): x ** 2 → sqr, x ** 0.5 → sqrt,
/// x ** −1 → inv, x ** −0.5 → inv(sqrt), x · x → sqr, 1 / x → inv, −(−a / b) → a / b.
fn specialize_rewrites() -> Vec<Rewrite> {
    vec![
        Rewrite {
            name: "local_softmax_with_bias",
            apply: local_softmax_with_bias,
        },
        Rewrite {
            name: "local_pow_specialize",
            apply: local_pow_specialize,
        },
        Rewrite {
            name: "local_mul_to_sqr",
            apply: local_mul_to_sqr,
        },
        Rewrite {
            name: "local_div_to_inv",
            apply: local_div_to_inv,
        },
        Rewrite {
            name: "local_neg_div_neg",
            apply: local_neg_div_neg,
        },
    ]
}

/// −(−x) → x.
fn local_neg_neg(v: &Var) -> Option<Var> {
    let inner = &is(v, ScalarOp::Neg)?[0];
    Some(is(inner, ScalarOp::Neg)?[0].clone())
}

/// The exponent of `x ** e` when `e` is a constant: (x, e).
fn pow_parts(v: &Var) -> Option<(Var, f64)> {
    let ins = is(v, ScalarOp::Pow)?;
    if !v.dtype().is_float() || ins[0].dtype() != v.dtype() {
        return None;
    }
    Some((ins[0].clone(), scalar_constant_value(&ins[1])?))
}

/// x ** 1 → x; x ** 0 → 1 (numpy's 0 ** 0 = nan ** 0 = 1). The exponent must not widen x.
fn local_pow_canonicalize(v: &Var) -> Option<Var> {
    let (x, e) = pow_parts(v)?;
    if x.broadcastable() != v.broadcastable() {
        return None;
    }
    match e {
        1.0 => Some(x),
        0.0 => Some(T::ones_like(&x)),
        _ => None,
    }
}

/// x − x → 0 (where x is finite; ±inf and nan gave nan).
fn local_sub_self(v: &Var) -> Option<Var> {
    let ins = is(v, ScalarOp::Sub)?;
    (ins[0] == ins[1]).then(|| T::zeros_like(&ins[0]))
}

/// x − (−y) → x + y; x + (−y) → x − y; (−x) + y → y − x (each exact).
fn local_sub_neg(v: &Var) -> Option<Var> {
    if let Some(ins) = is(v, ScalarOp::Sub) {
        let y = &is(&ins[1], ScalarOp::Neg)?[0];
        return Some(T::add(&ins[0], y));
    }
    let ins = is(v, ScalarOp::Add)?;
    if ins.len() != 2 {
        return None;
    }
    if let Some(y) = is(&ins[1], ScalarOp::Neg) {
        return Some(T::sub(&ins[0], &y[0]));
    }
    let x = &is(&ins[0], ScalarOp::Neg)?[0];
    Some(T::sub(&ins[1], x))
}

/// x ** 2 → sqr(x), x ** 0.5 → sqrt(x), x ** −1 → inv(x), x ** −0.5 → inv(sqrt(x)).
fn local_pow_specialize(v: &Var) -> Option<Var> {
    let (x, e) = pow_parts(v)?;
    if x.broadcastable() != v.broadcastable() {
        return None;
    }
    match e {
        2.0 => Some(T::sqr(&x)),
        0.5 => Some(T::sqrt(&x)),
        -1.0 => Some(T::inv(&x)),
        -0.5 => Some(T::inv(T::sqrt(&x))),
        _ => None,
    }
}

/// x · x → sqr(x).
fn local_mul_to_sqr(v: &Var) -> Option<Var> {
    let ins = is(v, ScalarOp::Mul)?;
    (ins.len() == 2 && ins[0] == ins[1]).then(|| T::sqr(&ins[0]))
}

/// 1 / x → inv(x).
fn local_div_to_inv(v: &Var) -> Option<Var> {
    let ins = is(v, ScalarOp::TrueDiv)?;
    if !v.dtype().is_float()
        || ins[1].dtype() != v.dtype()
        || ins[1].broadcastable() != v.broadcastable()
    {
        return None;
    }
    (scalar_constant_value(&ins[0]) == Some(1.0)).then(|| T::inv(&ins[1]))
}

/// sum(−nll) → −sum(nll) for a crossentropy's nll (the negation case of Theano's
/// `local_sum_prod_mul_by_scalar`, kept to the negation that
/// `local_advanced_indexing_crossentropy_onehot` leaves): it then meets the one outside
/// (`-mean(-nll)`) and both go. Other negations under a sum stay for the patterns that read
/// them (the binary crossentropy's).
fn local_sum_neg(v: &Var) -> Option<Var> {
    let Op::Reduce(r) = v.op()? else {
        return None;
    };
    if r.kind != crate::ops::reduce::ReduceKind::Sum {
        return None;
    }
    let x = &is(&v.owner_inputs()[0], ScalarOp::Neg)?[0];
    if !matches!(
        x.op()?,
        Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias)
            | Op::Nnet(NnetOp::CrossentropyCategorical1Hot)
    ) {
        return None;
    }
    same_type(
        v,
        -crate::graph::apply1(Op::Reduce(r.clone()), vec![x.clone()]),
    )
}

/// −(−a / b) → a / b.
fn local_neg_div_neg(v: &Var) -> Option<Var> {
    let div = &is(v, ScalarOp::Neg)?[0];
    let ins = is(div, ScalarOp::TrueDiv)?;
    let a = &is(&ins[0], ScalarOp::Neg)?[0];
    Some(T::true_div(a, &ins[1]))
}

fn stabilize_rewrites() -> Vec<Rewrite> {
    vec![
        // Stabilisations create double negations (log σ(−z) → −softplus(−(−z))).
        Rewrite {
            name: "local_neg_neg",
            apply: local_neg_neg,
        },
        Rewrite {
            name: "local_sigmoid_binary_crossentropy",
            apply: local_sigmoid_binary_crossentropy,
        },
        Rewrite {
            name: "local_1msigmoid",
            apply: local_1msigmoid,
        },
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
            name: "local_log1p",
            apply: local_log1p,
        },
        Rewrite {
            name: "local_expm1",
            apply: local_expm1,
        },
        Rewrite {
            name: "softmax_simplifier",
            apply: softmax_simplifier,
        },
        Rewrite {
            name: "local_logsoftmax",
            apply: local_logsoftmax,
        },
        Rewrite {
            name: "local_logsoftmax_lift",
            apply: logsoftmax_through_structure,
        },
        Rewrite {
            name: "local_sum_prod_mul_by_scalar",
            apply: local_sum_neg,
        },
        Rewrite {
            name: "local_advanced_indexing_crossentropy_onehot",
            apply: advanced_indexing_crossentropy_onehot,
        },
        Rewrite {
            name: "local_log_softmax_from_logsumexp",
            apply: log_softmax_from_logsumexp,
        },
        Rewrite {
            name: "local_log_sum_exp",
            apply: local_log_sum_exp,
        },
        Rewrite {
            name: "local_argmax_pushdown",
            apply: argmax_pushdown,
        },
        Rewrite {
            name: "crossentropy_softmax_dense",
            apply: crossentropy_softmax_dense,
        },
        Rewrite {
            name: "crossentropy_to_crossentropy_with_softmax",
            apply: crossentropy_with_softmax,
        },
    ]
}

/// binary_crossentropy(sigmoid(z), t) → sigmoid_binary_crossentropy(z, t): once the logs are
/// stabilised the graph reads −(t·(−softplus(−z)) + (1 − t)·(−softplus(z))), two softplus per
/// element; the fused op computes softplus(−|z|) + z·((z > 0) − t), one, and its gradient is
/// the single expression σ(z) − t.
fn local_sigmoid_binary_crossentropy(v: &Var) -> Option<Var> {
    let sum = &is(v, ScalarOp::Neg)?[0];
    let terms = is(sum, ScalarOp::Add)?;
    if terms.len() != 2 {
        return None;
    }
    // t · (−softplus(−z)): (t, z)
    let first = |m: &Var| -> Option<(Var, Var)> {
        let f = is(m, ScalarOp::Mul)?;
        if f.len() != 2 {
            return None;
        }
        for (t, l) in [(&f[0], &f[1]), (&f[1], &f[0])] {
            let sp = is(l, ScalarOp::Neg).and_then(|n| is(&n[0], ScalarOp::Softplus));
            if let Some(z) = sp.and_then(|sp| is(&sp[0], ScalarOp::Neg)) {
                return Some((t.clone(), z[0].clone()));
            }
        }
        None
    };
    // (1 − t) · (−softplus(z)): (t, z)
    let second = |m: &Var| -> Option<(Var, Var)> {
        let f = is(m, ScalarOp::Mul)?;
        if f.len() != 2 {
            return None;
        }
        for (w, l) in [(&f[0], &f[1]), (&f[1], &f[0])] {
            let one_minus = is(w, ScalarOp::Sub)?;
            if scalar_constant_value(&one_minus[0]) != Some(1.0) {
                continue;
            }
            if let Some(sp) = is(l, ScalarOp::Neg).and_then(|n| is(&n[0], ScalarOp::Softplus)) {
                return Some((one_minus[1].clone(), sp[0].clone()));
            }
        }
        None
    };
    for (a, b) in [(&terms[0], &terms[1]), (&terms[1], &terms[0])] {
        if let (Some((t1, z1)), Some((t2, z2))) = (first(a), second(b)) {
            if t1 == t2 && z1 == z2 && z1.dtype().is_float() {
                return Some(T::nnet::sigmoid_binary_crossentropy(&z1, &t1));
            }
        }
    }
    None
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

/// CrossentropySoftmax1HotWithBiasDx(fill(nll, dz), sm, y) → Dx(dz, sm, y): the op broadcasts
/// a one-element dz itself (and checks a full one against the rows), so the gradient no longer
/// keeps the forward crossentropy alive only for its shape.
fn local_useless_dx_alloc(v: &Var) -> Option<Var> {
    if v.op()? != &Op::Nnet(NnetOp::CrossentropySoftmax1HotWithBiasDx) {
        return None;
    }
    let ins = v.owner_inputs();
    let (ScalarOp::Second, [_, dz]) = elemwise_parts(&ins[0])? else {
        return None;
    };
    if dz.ndim() != 1 || dz.dtype() != ins[0].dtype() {
        return None;
    }
    Some(T::nnet::crossentropy_softmax_1hot_with_bias_dx(
        dz, &ins[1], &ins[2],
    ))
}

/// A fused softmax + crossentropy node of which only the softmax is read (a training step
/// that returns no cost) → SoftmaxWithBias, which skips the per-row logs and label checks (the
/// gradient op still checks the labels), as Theano's graph has it.
fn crossentropy_outputs_unused(fg: &mut FunctionGraph) {
    for v in fg.toposort() {
        let v = fg.current(&v);
        let Some((node, 1)) = v.owner() else {
            continue;
        };
        if node.op != Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias) {
            continue;
        }
        let node = node.clone();
        let read = |fg: &mut FunctionGraph, k: usize| {
            let out = crate::graph::output_of(&node, k);
            fg.contains(&out)
        };
        if read(fg, 0) || read(fg, 2) {
            continue;
        }
        let ins = v.owner_inputs();
        let new = T::nnet::softmax_with_bias(&ins[0], &ins[1]);
        let _ = fg.replace(&v, new, "local_crossentropy_outputs_unused");
    }
    // graph_merge_softmax_with_crossentropy_softmax: a SoftmaxWithBias(x, b) next to a fused
    // node on the same (x, b) reads that node's softmax output instead of computing it again
    // (a step that returns the cost and its gradient).
    let mut fused: HashMap<(u64, u64), Var> = HashMap::new();
    for v in fg.toposort() {
        let v = fg.current(&v);
        if let Some((node, _)) = v.owner() {
            if node.op == Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias) {
                let ins = v.owner_inputs();
                fused
                    .entry((ins[0].id(), ins[1].id()))
                    .or_insert_with(|| crate::graph::output_of(node, 1));
            }
        }
    }
    if fused.is_empty() {
        return;
    }
    for v in fg.toposort() {
        let v = fg.current(&v);
        if v.op() != Some(&Op::Nnet(NnetOp::SoftmaxWithBias)) {
            continue;
        }
        let ins = v.owner_inputs();
        if let Some(sm) = fused.get(&(ins[0].id(), ins[1].id())) {
            let sm = fg.current(sm);
            let _ = fg.replace(&v, sm, "graph_merge_softmax_with_crossentropy_softmax");
        }
    }
}

/// The weight gradient of a softmax-regression layer, `Dot22{TN}(X, dx)` with
/// `dx = CrossentropySoftmax1HotWithBiasDx(dz, sm, y)` and `sm` the softmax output of
/// `CrossentropySoftmaxArgmax1HotWithBias(Dot22(X, W), b, y)` (or `SoftmaxWithBias(Dot22(X, W),
/// b)`), together with those nodes → one
/// `Dot22CrossentropySoftmaxGrad(X, W, b, y, dz)` whose outputs stand for all of them: both
/// products and the softmax in one pass over X (see `ops::linear_xent`). Runs after the GEMM
/// pass, which takes the products that feed an update (`W - lr·Xᵀ·dx`) first.
fn dot22_crossentropy_grad(fg: &mut FunctionGraph) {
    const REASON: &str = "local_dot22_crossentropy_grad";
    for v in fg.toposort() {
        let v = fg.current(&v);
        if v.op()
            != Some(&Op::Dot22 {
                trans_a: true,
                trans_b: false,
            })
        {
            continue;
        }
        let ins = v.owner_inputs();
        let (x, dx) = (&ins[0], &ins[1]);
        if dx.op() != Some(&Op::Nnet(NnetOp::CrossentropySoftmax1HotWithBiasDx)) {
            continue;
        }
        let dx_ins = dx.owner_inputs();
        let (dz, sm, y) = (&dx_ins[0], &dx_ins[1], &dx_ins[2]);
        // The softmax of the fused crossentropy node (a step that returns the cost), or a
        // SoftmaxWithBias (one that does not).
        let Some((node, out_index)) = sm.owner() else {
            continue;
        };
        let node = node.clone();
        let fused_costs = match (&node.op, out_index) {
            (Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias), 1) => {
                if node.inputs[2].id() != y.id() {
                    continue;
                }
                true
            }
            (Op::Nnet(NnetOp::SoftmaxWithBias), 0) => false,
            _ => continue,
        };
        let (logits, b) = (&node.inputs[0], &node.inputs[1]);
        if logits.op()
            != Some(&Op::Dot22 {
                trans_a: false,
                trans_b: false,
            })
            || logits.owner_inputs()[0].id() != x.id()
        {
            continue;
        }
        let w = &logits.owner_inputs()[1];
        if ![w, b, dz].iter().all(|t| t.dtype() == x.dtype()) || dz.ndim() > 1 {
            continue;
        }
        let outs = apply(
            Op::Nnet(NnetOp::Dot22CrossentropySoftmaxGrad),
            vec![x.clone(), w.clone(), b.clone(), y.clone(), dz.clone()],
        );
        if outs.iter().any(|o| o.error().is_some()) {
            continue;
        }
        if fused_costs {
            for (k, new) in outs.iter().take(3).enumerate() {
                let old = crate::graph::output_of(&node, k);
                if fg.contains(&old) {
                    let _ = fg.replace(&old, new.clone(), REASON);
                }
            }
        } else {
            let sm = fg.current(sm);
            let _ = fg.replace(&sm, outs[1].clone(), REASON);
        }
        let dx = fg.current(dx);
        let _ = fg.replace(&dx, outs[3].clone(), REASON);
        let v = fg.current(&v);
        let _ = fg.replace(&v, outs[4].clone(), REASON);
    }
}

/// `A + b` with A a float matrix of the sum's type and b a vector broadcast along the rows (as
/// `DimShuffle{x,0}(b)`): (A, b).
fn split_row_bias(x: &Var) -> Option<(Var, Var)> {
    let (ScalarOp::Add, [p, q]) = elemwise_parts(x)? else {
        return None;
    };
    let row_vector = |t: &Var| match t.op()? {
        Op::DimShuffle(d) if d.new_order == [None, Some(0)] => {
            let b = &t.owner_inputs()[0];
            (b.ndim() == 1 && b.dtype() == x.dtype()).then(|| b.clone())
        }
        _ => None,
    };
    let matrix = |t: &Var| x.ndim() == 2 && t.ty() == x.ty();
    match (row_vector(q), row_vector(p)) {
        (Some(b), _) if matrix(p) => Some((p.clone(), b)),
        (_, Some(b)) if matrix(q) => Some((q.clone(), b)),
        _ => None,
    }
}

/// Softmax(A + row-broadcast b) → SoftmaxWithBias(A, b) (specialize, after the log-softmax and
/// crossentropy forms of stabilize have seen the plain softmax).
fn local_softmax_with_bias(v: &Var) -> Option<Var> {
    match v.op()? {
        Op::Nnet(NnetOp::Softmax { axis: None }) | Op::Nnet(NnetOp::Softmax { axis: Some(1) }) => {
            let (a, b) = split_row_bias(&v.owner_inputs()[0])?;
            Some(T::nnet::softmax_with_bias(a, b))
        }
        _ => None,
    }
}

/// crossentropy_categorical_1hot(softmax(x), y) → the fused op's nll (with the bias when x is
/// `A + row-broadcast b`, else a zero bias).
fn crossentropy_with_softmax(v: &Var) -> Option<Var> {
    if v.op()? != &Op::Nnet(NnetOp::CrossentropyCategorical1Hot) {
        return None;
    }
    let (sm, y) = (&v.owner_inputs()[0], &v.owner_inputs()[1]);
    match sm.op()? {
        Op::Nnet(NnetOp::Softmax { axis: None }) | Op::Nnet(NnetOp::Softmax { axis: Some(1) }) => {
            let x = &sm.owner_inputs()[0];
            Some(match split_row_bias(x) {
                Some((a, b)) => T::nnet::crossentropy_softmax_1hot_with_bias(a, b, y).0,
                None => T::nnet::crossentropy_softmax_1hot(x, y).0,
            })
        }
        Op::Nnet(NnetOp::SoftmaxWithBias) => {
            let (x, b) = (&sm.owner_inputs()[0], &sm.owner_inputs()[1]);
            Some(T::nnet::crossentropy_softmax_1hot_with_bias(x, b, y).0)
        }
        _ => None,
    }
}

/// log(softmax(x))[arange(y.shape[0]), y] → −CSA1HWB(x, b or 0, y).nll (spec §4.2; the form
/// of the deeplearning.net tutorials, `-T.mean(T.log(p)[T.arange(y.shape[0]), y])`). By the
/// time it runs, `log(softmax(x)[rows, y])` has become the same LogSoftmax indexing. In the
/// stabilize phase (Theano: specialize), so that `grad` differentiates the fused op: the
/// gradient is then CrossentropySoftmax1HotWithBiasDx, which is what Theano's
/// `local_advanced_indexing_crossentropy_onehot_grad` makes of the indexing's gradient.
fn advanced_indexing_crossentropy_onehot(v: &Var) -> Option<Var> {
    if v.op()? != &Op::AdvancedSubtensor {
        return None;
    }
    let [lsm, rows, y] = v.owner_inputs() else {
        return None;
    };
    if !matches!(
        lsm.op()?,
        Op::Nnet(NnetOp::LogSoftmax { axis: None })
            | Op::Nnet(NnetOp::LogSoftmax { axis: Some(1) })
    ) {
        return None;
    }
    let x = &lsm.owner_inputs()[0];
    if x.ndim() != 2 || y.ndim() != 1 || !y.dtype().is_discrete() || !is_arange_of_len(rows, y) {
        return None;
    }
    let nll = match split_row_bias(x) {
        Some((a, b)) => T::nnet::crossentropy_softmax_1hot_with_bias(a, b, y).0,
        None => T::nnet::crossentropy_softmax_1hot(x, y).0,
    };
    Some(-nll)
}

/// Whether `rows` is `arange(0, y.shape[0], 1)`: one row index per label, each row once.
fn is_arange_of_len(rows: &Var, y: &Var) -> bool {
    let Some(Op::ARange(_)) = rows.op() else {
        return false;
    };
    let [start, stop, step] = rows.owner_inputs() else {
        return false;
    };
    if scalar_constant_value(start) != Some(0.0) || scalar_constant_value(step) != Some(1.0) {
        return false;
    }
    // y.shape[0]: Shape_i{0}(y), or Subtensor{int64}(Shape(y), 0) before canonicalize.
    if stop.op() == Some(&Op::ShapeI(0)) {
        return stop.owner_inputs()[0].id() == y.id();
    }
    let Some(Op::Subtensor(sub)) = stop.op() else {
        return false;
    };
    let [shape, index] = stop.owner_inputs() else {
        return false;
    };
    matches!(sub.entries[..], [crate::ops::subtensor::IdxEntry::Index(_)])
        && shape.op() == Some(&Op::Shape)
        && shape.owner_inputs()[0].id() == y.id()
        && scalar_constant_value(index) == Some(0.0)
}

/// Rebuilds the graph bottom-up, calling `f` on each rebuilt variable (a global pass helper).
fn rebuild(outputs: &[Var], mut f: impl FnMut(&Var, Var) -> Var) -> Vec<Var> {
    let refs: Vec<&Var> = outputs.iter().collect();
    let order = Var::toposort(&refs);
    let mut map: HashMap<u64, Var> = HashMap::new();
    let mut rebuilt: HashMap<u64, Vec<Var>> = HashMap::new();
    for v in order {
        let cur = match v.owner() {
            None => v.clone(),
            Some((node, index)) => {
                let new_inputs: Vec<Var> = node
                    .inputs
                    .iter()
                    .map(|i| map.get(&i.id()).cloned().unwrap_or_else(|| i.clone()))
                    .collect();
                if new_inputs.iter().zip(&node.inputs).all(|(a, b)| a == b) {
                    v.clone()
                } else {
                    let outs = rebuilt
                        .entry(node.id())
                        .or_insert_with(|| apply(node.op.clone(), new_inputs));
                    let n = outs[index].clone();
                    if let Some(name) = v.name() {
                        n.set_name(Some(&name));
                    }
                    n
                }
            }
        };
        let new = f(&v, cur);
        if new != v {
            map.insert(v.id(), new);
        }
    }
    outputs
        .iter()
        .map(|o| map.get(&o.id()).cloned().unwrap_or_else(|| o.clone()))
        .collect()
}

/// Common-subexpression merge: equal constants and equal (op, inputs) nodes become one.
fn merge(fg: &mut FunctionGraph) {
    let mut seen: HashMap<String, Var> = HashMap::new();
    for v in fg.toposort() {
        let v = fg.current(&v);
        let key = if let Some(c) = v.constant_value() {
            if c.len() > 64 {
                continue;
            }
            format!(
                "const {:?} {:?} {:?}",
                v.ty(),
                c.shape(),
                c.to_f64_vec()
                    .iter()
                    .map(|x| x.to_bits())
                    .collect::<Vec<_>>()
            )
        } else if let Some((node, _)) = v.owner() {
            // One key per node: every output of a duplicate node maps to the same output of
            // the node kept (a multi-output op applied twice computes once).
            let ids: Vec<u64> = node.inputs.iter().map(|i| i.id()).collect();
            format!("{:?} {:?}", node.op, ids)
        } else {
            continue;
        };
        match seen.get(&key) {
            Some(existing) => {
                let same = match (existing.owner(), v.owner()) {
                    (Some((kept, _)), Some((node, index))) => {
                        (!Arc::ptr_eq(kept, node)).then(|| crate::graph::output_of(kept, index))
                    }
                    _ => (existing.ty() == v.ty() && *existing != v).then(|| existing.clone()),
                };
                if let Some(same) = same.filter(|s| s.ty() == v.ty()) {
                    let record = v.owner().is_some();
                    let _ = fg.replace_with(&v, same, "merge", record);
                }
            }
            None => {
                seen.insert(key, v);
            }
        }
    }
}

/// Evaluates nodes whose inputs are all constants (small results only).
fn constant_folding(v: &Var) -> Option<Var> {
    let (node, _) = v.owner()?;
    if node.n_outputs() != 1
        || node.inputs.is_empty()
        || !node.inputs.iter().all(|i| i.is_constant())
    {
        return None;
    }
    let vals: Vec<&crate::Value> = node
        .inputs
        .iter()
        .map(|i| i.constant_value().expect("constant"))
        .collect();
    if vals.iter().map(|x| x.len()).sum::<usize>() > 4096 {
        return None;
    }
    let in_types: Vec<&crate::TensorType> = node.inputs.iter().map(|i| i.ty()).collect();
    let types = crate::ops::NodeTypes {
        inputs: &in_types,
        outputs: &node.out_types,
    };
    let out = node.op.perform(&types, &vals).ok()?.pop()?;
    if out.len() > 4096 {
        return None;
    }
    let c = Var::constant(out, None);
    // A constant's broadcastable pattern comes from its shape; keep the node's type.
    if c.ty() != v.ty() {
        return None;
    }
    Some(c)
}

/// Opt-in: sigmoid(x) → ultra_fast_sigmoid(x) (after stabilize, so log(sigmoid) is already safe).
fn local_ultra_fast_sigmoid(v: &Var) -> Option<Var> {
    let x = &is(v, ScalarOp::Sigmoid)?[0];
    Some(T::nnet::ultra_fast_sigmoid(x))
}

/// Opt-in: sigmoid(x) → hard_sigmoid(x).
fn local_hard_sigmoid(v: &Var) -> Option<Var> {
    let x = &is(v, ScalarOp::Sigmoid)?[0];
    Some(T::nnet::hard_sigmoid(x))
}

/// Whether a variable is an elementwise result that can join a fused program.
fn fusable(v: &Var) -> bool {
    if !v.dtype().is_float() {
        return false;
    }
    match v.op() {
        Some(Op::Elemwise(e)) => crate::runtime::elemwise::block_fn::<f64>(e.scalar).is_some(),
        // A program with several outputs stays whole.
        Some(Op::Composite(c)) => c.extra_outputs.is_empty(),
        _ => false,
    }
}

/// Whether an elementwise result read by several nodes is cheaper to recompute inside each fused
/// program than to materialise: a few arithmetic ops over values that are not themselves fused
/// (re-reading `z` beats writing and re-reading `−z` or `1 − t`).
fn cheap_to_repeat(v: &Var) -> bool {
    fn go(v: &Var, budget: &mut usize) -> bool {
        if !fusable(v) {
            return true;
        }
        let Some((op, ins)) = elemwise_parts(v) else {
            return false;
        };
        let arithmetic = matches!(
            op,
            ScalarOp::Neg | ScalarOp::Add | ScalarOp::Sub | ScalarOp::Mul | ScalarOp::Abs
        );
        if !arithmetic || *budget == 0 {
            return false;
        }
        *budget -= 1;
        ins.iter().all(|i| go(i, budget))
    }
    fusable(v) && go(v, &mut 3)
}

/// Elementwise fusion: maximal chains of elementwise ops (each intermediate read only once)
/// become one `Composite` node run in a single pass over the data.
fn fuse(fg: &mut FunctionGraph) {
    let outputs = fg.outputs().to_vec();
    let fused = fuse_outputs(&outputs, &mut fg.log);
    for (old, new) in outputs.iter().zip(fused) {
        let _ = fg.replace_with(old, new, "elemwise_fusion", false);
    }
    fuse_sums(fg);
}

/// A trailing reduction where it pays: the sum over all elements of a fused program (or of one
/// elementwise op) that nothing else reads becomes one node that never stores the n-element
/// intermediate (a loss's `mean` over a batch reads its inputs once).
fn fuse_sums(fg: &mut FunctionGraph) {
    for v in fg.toposort() {
        let v = fg.current(&v);
        let Some(Op::Reduce(r)) = v.op() else {
            continue;
        };
        let x = v.owner_inputs()[0].clone();
        let all = r.axis.as_ref().is_none_or(|a| a.len() == x.ndim());
        if r.kind != crate::ops::ReduceKind::Sum
            || r.acc_dtype != crate::DType::Float64
            || !all
            || x.ndim() == 0
            || !fusable(&x)
            || fg.clients(&x).len() != 1
        {
            continue;
        }
        let Some(comp) = as_program(&x) else {
            continue;
        };
        let new = crate::graph::apply1(Op::CompositeSum(comp), x.owner_inputs().to_vec());
        if let Some(new) = same_type(&v, new) {
            let _ = fg.replace(&v, new, "local_sum_fusion");
        }
    }
}

fn fuse_outputs(outputs: &[Var], log: &mut Log) -> Vec<Var> {
    use crate::ops::composite::{Composite, Instr};
    let refs: Vec<&Var> = outputs.iter().collect();
    let mut clients: HashMap<u64, usize> = HashMap::new();
    for v in Var::toposort(&refs) {
        for i in v.owner_inputs() {
            *clients.entry(i.id()).or_default() += 1;
        }
    }
    for o in outputs {
        *clients.entry(o.id()).or_default() += 1;
    }
    // Clients are counted on the original graph; map rebuilt variables back to originals.
    let mut origin: HashMap<u64, u64> = HashMap::new();
    enum Reg {
        Ext(usize),
        Tmp(usize),
    }
    rebuild(outputs, |orig, cur| {
        origin.insert(cur.id(), orig.id());
        if !fusable(&cur) {
            return cur;
        }
        let dtype = cur.dtype();
        let single = |v: &Var, origin: &HashMap<u64, u64>| {
            let id = origin.get(&v.id()).copied().unwrap_or(v.id());
            clients.get(&id).copied().unwrap_or(0) == 1
        };
        let mut ext: Vec<Var> = Vec::new();
        let mut prog: Vec<(ScalarOp, Vec<Reg>)> = Vec::new();
        fn add(
            v: &Var,
            root: bool,
            dtype: crate::DType,
            ext: &mut Vec<Var>,
            prog: &mut Vec<(ScalarOp, Vec<Reg>)>,
            ok: &dyn Fn(&Var) -> bool,
        ) -> Reg {
            let absorb = root || (fusable(v) && v.dtype() == dtype && ok(v));
            if absorb {
                match v.op() {
                    Some(Op::Elemwise(e)) => {
                        let args: Vec<Reg> = v
                            .owner_inputs()
                            .iter()
                            .map(|i| add(i, false, dtype, ext, prog, ok))
                            .collect();
                        prog.push((e.scalar, args));
                        return Reg::Tmp(prog.len() - 1);
                    }
                    Some(Op::Composite(c)) => {
                        let ins: Vec<Reg> = v
                            .owner_inputs()
                            .iter()
                            .map(|i| add(i, false, dtype, ext, prog, ok))
                            .collect();
                        let base = prog.len();
                        for instr in &c.program {
                            let args = instr
                                .args
                                .iter()
                                .map(|&a| {
                                    if a < c.n_inputs {
                                        match &ins[a] {
                                            Reg::Ext(k) => Reg::Ext(*k),
                                            Reg::Tmp(t) => Reg::Tmp(*t),
                                        }
                                    } else {
                                        Reg::Tmp(base + a - c.n_inputs)
                                    }
                                })
                                .collect();
                            prog.push((instr.op, args));
                        }
                        return Reg::Tmp(prog.len() - 1);
                    }
                    _ => {}
                }
            }
            let k = match ext.iter().position(|e| e == v) {
                Some(k) => k,
                None => {
                    ext.push(v.clone());
                    ext.len() - 1
                }
            };
            Reg::Ext(k)
        }
        let ok = |v: &Var| single(v, &origin) || cheap_to_repeat(v);
        add(&cur, true, dtype, &mut ext, &mut prog, &ok);
        if prog.len() < 2 {
            return cur;
        }
        let n_in = ext.len();
        let program = prog
            .into_iter()
            .map(|(op, args)| Instr {
                op,
                args: args
                    .into_iter()
                    .map(|r| match r {
                        Reg::Ext(k) => k,
                        Reg::Tmp(t) => n_in + t,
                    })
                    .collect(),
            })
            .collect();
        let comp = Composite {
            n_inputs: n_in,
            program,
            dtype,
            extra_outputs: Vec::new(),
        };
        let fused = crate::graph::apply1(Op::Composite(comp), ext);
        if fused.error().is_some() || fused.ty() != cur.ty() {
            return cur;
        }
        if let Some(n) = cur.name() {
            fused.set_name(Some(&n));
        }
        log.record("elemwise_fusion", &cur, &fused);
        origin.insert(fused.id(), orig.id());
        fused
    })
}

/// The fused program that computes `v` (over `v`'s inputs): a single-output `Composite`'s
/// own, or a one-instruction program for a fusable elementwise op.
fn as_program(v: &Var) -> Option<crate::ops::composite::Composite> {
    use crate::ops::composite::{Composite, Instr};
    match v.op()? {
        Op::Composite(c) if c.extra_outputs.is_empty() => Some(c.clone()),
        Op::Elemwise(e) if fusable(v) => Some(Composite {
            n_inputs: v.owner_inputs().len(),
            program: vec![Instr {
                op: e.scalar,
                args: (0..v.owner_inputs().len()).collect(),
            }],
            dtype: v.dtype(),
            extra_outputs: Vec::new(),
        }),
        _ => None,
    }
}

/// A structural key of register `r` of program `c` over the graph variables `inputs`: equal
/// keys compute the same values.
fn register_key(c: &crate::ops::composite::Composite, inputs: &[Var], r: usize) -> String {
    if r < c.n_inputs {
        return format!("#{}", inputs[r].id());
    }
    let ins = &c.program[r - c.n_inputs];
    let args: Vec<String> = ins
        .args
        .iter()
        .map(|&a| register_key(c, inputs, a))
        .collect();
    format!("{:?}({})", ins.op, args.join(","))
}

/// Marks the inputs that register `r` of `c` reads.
fn inputs_read(c: &crate::ops::composite::Composite, r: usize, used: &mut [bool]) {
    if r < c.n_inputs {
        used[r] = true;
    } else {
        for &a in &c.program[r - c.n_inputs].args {
            inputs_read(c, a, used);
        }
    }
}

/// A program without the instructions its result does not need and without the inputs no
/// instruction reads.
fn compact(
    n_inputs: usize,
    program: &[crate::ops::composite::Instr],
    inputs: &[Var],
    dtype: crate::DType,
) -> (crate::ops::composite::Composite, Vec<Var>) {
    use crate::ops::composite::{Composite, Instr};
    let total = n_inputs + program.len();
    let mut live = vec![false; total];
    live[total - 1] = true;
    for (t, ins) in program.iter().enumerate().rev() {
        if live[n_inputs + t] {
            for &a in &ins.args {
                live[a] = true;
            }
        }
    }
    let mut map = vec![usize::MAX; total];
    let mut kept_inputs = Vec::new();
    for i in (0..n_inputs).filter(|&i| live[i]) {
        map[i] = kept_inputs.len();
        kept_inputs.push(inputs[i].clone());
    }
    let mut kept = Vec::new();
    for (t, ins) in program.iter().enumerate() {
        if live[n_inputs + t] {
            map[n_inputs + t] = kept_inputs.len() + kept.len();
            kept.push(Instr {
                op: ins.op,
                args: ins.args.iter().map(|&a| map[a]).collect(),
            });
        }
    }
    let comp = Composite {
        n_inputs: kept_inputs.len(),
        program: kept,
        dtype,
        extra_outputs: Vec::new(),
    };
    (comp, kept_inputs)
}

/// σ(x) and σ(−x) of the same x in two fused programs (a sigmoid layer and its gradient,
/// σ'(x) = σ(x)·σ(−x), which keeps its accuracy where σ(x) rounds to 1): the program that
/// computes σ(x) also returns σ(−x), from the same e^−|x| in the same pass, and the other
/// program reads that instead of computing a second exponential and quotient per element.
fn share_sigmoid_complements(fg: &mut FunctionGraph) {
    let topo = fg.toposort();
    // The σ's of programs whose loop has the shape of σ's argument (every input feeds it):
    // the argument's key → (node, instruction).
    let mut sigmoids: HashMap<String, (Var, usize)> = HashMap::new();
    for v in &topo {
        let Some(c) = as_program(v) else { continue };
        for (j, ins) in c.program.iter().enumerate() {
            if ins.op != ScalarOp::Sigmoid {
                continue;
            }
            let mut used = vec![false; c.n_inputs];
            inputs_read(&c, ins.args[0], &mut used);
            if used.iter().all(|&u| u) {
                let key = register_key(&c, v.owner_inputs(), ins.args[0]);
                sigmoids.entry(key).or_insert((v.clone(), j));
            }
        }
    }
    // The programs with σ(−y) for such a y: (reader, its σ instruction, the node, its σ).
    let mut uses: Vec<(Var, usize, Var, usize)> = Vec::new();
    for v in &topo {
        let Some(Op::Composite(c)) = v.op() else {
            continue;
        };
        if !c.extra_outputs.is_empty() || uses.iter().any(|u| u.2 == *v) {
            continue;
        }
        let found = c.program.iter().enumerate().find_map(|(k, ins)| {
            let neg = ins.args[0].checked_sub(c.n_inputs)?;
            let neg = &c.program[neg];
            if ins.op != ScalarOp::Sigmoid || neg.op != ScalarOp::Neg {
                return None;
            }
            let key = register_key(c, v.owner_inputs(), neg.args[0]);
            let (node, j) = sigmoids.get(&key)?;
            let ok = node != v
                && node.dtype() == v.dtype()
                && !crate::fgraph::reads(node, v)
                && !uses.iter().any(|u| u.0 == *node);
            ok.then(|| (k, node.clone(), *j))
        });
        if let Some((k, node, j)) = found {
            uses.push((v.clone(), k, node, j));
        }
    }
    // One new program per σ node (its first shared σ), read by every program that matched it;
    // the σ node is replaced once a reader takes its second output.
    let mut shared: HashMap<u64, (usize, Vec<Var>, bool)> = HashMap::new();
    for (reader, k, node, j) in uses {
        let entry = shared
            .entry(node.id())
            .or_insert_with(|| (j, with_complement(&node, j), false));
        if entry.0 != j || entry.1.iter().any(|o| o.error().is_some()) {
            continue;
        }
        let Some(new) = reading_complement(&reader, k, entry.1[1].clone()) else {
            continue;
        };
        if new.ty() != reader.ty() {
            continue;
        }
        if !entry.2 {
            if fg
                .replace(&node, entry.1[0].clone(), "sigmoid_complement_sharing")
                .is_err()
            {
                continue;
            }
            entry.2 = true;
        }
        let _ = fg.replace(&reader, new, "sigmoid_complement_sharing");
    }
}

/// A summed loss and an elementwise result over the same loop that share work — the
/// crossentropy of a sigmoid output, summed, and its gradient σ(z) − t — become one program
/// that sums the one and stores the other in one pass: their common subexpressions are
/// computed once (z + b), and σ(z) and the crossentropy of σ(z) from one exponential.
fn fuse_loss_with_gradient(fg: &mut FunctionGraph) {
    let topo = fg.toposort();
    let mut taken: HashSet<u64> = HashSet::new();
    for s in &topo {
        let Some(Op::CompositeSum(cs)) = s.op() else {
            continue;
        };
        if !cs.extra_outputs.is_empty() {
            continue;
        }
        let crossentropies: Vec<String> = cs
            .program
            .iter()
            .filter(|i| i.op == ScalarOp::SigmoidBinaryCrossentropy)
            .map(|i| register_key(cs, s.owner_inputs(), i.args[0]))
            .collect();
        if crossentropies.is_empty() {
            continue;
        }
        let partner = topo.iter().find(|g| {
            let Some(Op::Composite(cg)) = g.op() else {
                return false;
            };
            cg.extra_outputs.is_empty()
                && g.dtype() == s.dtype()
                && !taken.contains(&g.id())
                && cg.program.iter().any(|i| {
                    i.op == ScalarOp::Sigmoid
                        && crossentropies.contains(&register_key(cg, g.owner_inputs(), i.args[0]))
                })
                && same_loop(s, g)
                && !crate::fgraph::reads(g, s)
                && !crate::fgraph::reads(s, g)
        });
        let Some(g) = partner.cloned() else {
            continue;
        };
        let Some((merged, inputs)) = merge_programs(&g, s) else {
            continue;
        };
        let outs = apply(Op::CompositeSum(merged), inputs);
        if outs[0].ty() != s.ty() || outs[1].ty() != g.ty() {
            continue;
        }
        if fg
            .replace(s, outs[0].clone(), "loss_gradient_fusion")
            .is_ok()
            && fg
                .replace(&g, outs[1].clone(), "loss_gradient_fusion")
                .is_ok()
        {
            taken.insert(g.id());
        }
    }
}

/// Whether two fused programs run over the same shape at every call: they read a common input
/// with no broadcastable dimension (whose shape every other input must then match or
/// broadcast to).
fn same_loop(a: &Var, b: &Var) -> bool {
    let rank = a.owner_inputs().first().map(|v| v.ndim());
    a.owner_inputs().iter().any(|v| {
        Some(v.ndim()) == rank
            && v.broadcastable().iter().all(|&d| !d)
            && b.owner_inputs().contains(v)
            && b.owner_inputs().first().map(|w| w.ndim()) == rank
    })
}

/// One program computing `g`'s result (a composite) and `s`'s (a summed composite), common
/// instructions once: `s`'s result last, `g`'s as the extra output; with its inputs.
fn merge_programs(g: &Var, s: &Var) -> Option<(crate::ops::composite::Composite, Vec<Var>)> {
    use crate::ops::composite::{Composite, Instr};
    let (Some(Op::Composite(cg)), Some(Op::CompositeSum(cs))) = (g.op(), s.op()) else {
        return None;
    };
    let mut inputs: Vec<Var> = g.owner_inputs().to_vec();
    for v in s.owner_inputs() {
        if !inputs.contains(v) {
            inputs.push(v.clone());
        }
    }
    let n_in = inputs.len();
    let mut program: Vec<Instr> = Vec::new();
    let mut known: HashMap<(ScalarOp, Vec<usize>), usize> = HashMap::new();
    let mut results = Vec::new();
    for (v, c) in [(g, cg), (s, cs)] {
        let mut map: Vec<usize> = v
            .owner_inputs()
            .iter()
            .map(|i| inputs.iter().position(|w| w == i).expect("collected"))
            .collect();
        for ins in &c.program {
            let args: Vec<usize> = ins.args.iter().map(|&a| map[a]).collect();
            let reg = *known.entry((ins.op, args.clone())).or_insert_with(|| {
                program.push(Instr { op: ins.op, args });
                n_in + program.len() - 1
            });
            map.push(reg);
        }
        results.push(*map.last()?);
    }
    let last = n_in + program.len() - 1;
    if results[1] != last || results[0] >= last {
        return None;
    }
    let merged = Composite {
        n_inputs: n_in,
        program,
        dtype: cs.dtype,
        extra_outputs: vec![results[0]],
    };
    Some((merged, inputs))
}

/// `program` with every argument register `a` renamed `rename(a)`.
fn remapped(
    program: &[crate::ops::composite::Instr],
    rename: impl Fn(usize) -> usize,
) -> Vec<crate::ops::composite::Instr> {
    program
        .iter()
        .map(|ins| crate::ops::composite::Instr {
            op: ins.op,
            args: ins.args.iter().map(|&a| rename(a)).collect(),
        })
        .collect()
}

/// The program of `node` with σ(−x) computed next to its σ(x) (instruction `j`) and returned
/// as a second output: `[σ program's result, σ(−x)]`.
fn with_complement(node: &Var, j: usize) -> Vec<Var> {
    use crate::ops::composite::Instr;
    let mut c = as_program(node).expect("collected as a program");
    let n_in = c.n_inputs;
    // σ(−x) goes just before σ(x) (the kernels run the two as one pass): later registers move
    // up by one.
    let mut program = remapped(&c.program, |a| if a >= n_in + j { a + 1 } else { a });
    let x = c.program[j].args[0];
    program.insert(
        j,
        Instr {
            op: ScalarOp::SigmoidComplement,
            args: vec![x],
        },
    );
    c.program = program;
    c.extra_outputs = vec![n_in + j];
    apply(Op::Composite(c), node.owner_inputs().to_vec())
}

/// `reader` (a composite) with its σ(−y) (instruction `k`) read from `complement` instead of
/// computed; `None` when the reader is not a composite.
fn reading_complement(reader: &Var, k: usize, complement: Var) -> Option<Var> {
    let Some(Op::Composite(c)) = reader.op() else {
        return None;
    };
    let n_in = c.n_inputs;
    let sig = n_in + k;
    if sig + 1 == n_in + c.program.len() {
        // The reader's result is σ(−y) itself.
        return Some(complement);
    }
    // σ(−y) becomes a new last input; instruction registers move up by one (the σ itself
    // stays as a dead instruction until the program is compacted).
    let program = remapped(&c.program, |a| match a {
        a if a < n_in => a,
        a if a == sig => n_in,
        a => a + 1,
    });
    let mut inputs = reader.owner_inputs().to_vec();
    inputs.push(complement);
    let (comp, inputs) = compact(n_in + 1, &program, &inputs, c.dtype);
    Some(crate::graph::apply1(Op::Composite(comp), inputs))
}

/// 1 − sigmoid(x) → sigmoid(−x) (PyTensor's local_1msigmoid): no cancellation for large x.
fn local_1msigmoid(v: &Var) -> Option<Var> {
    let sub = is(v, ScalarOp::Sub)?;
    if scalar_constant_value(&sub[0]) != Some(1.0) {
        return None;
    }
    let x = &is(&sub[1], ScalarOp::Sigmoid)?[0];
    Some(T::nnet::sigmoid(-x))
}

/// log(1 + x) → log1p(x).
fn local_log1p(v: &Var) -> Option<Var> {
    let ins = is(v, ScalarOp::Log)?;
    let add = is(&ins[0], ScalarOp::Add)?;
    if add.len() != 2 {
        return None;
    }
    let other = if scalar_constant_value(&add[0]) == Some(1.0) {
        &add[1]
    } else if scalar_constant_value(&add[1]) == Some(1.0) {
        &add[0]
    } else {
        return None;
    };
    Some(T::log1p(other))
}

/// exp(x) − 1 → expm1(x).
fn local_expm1(v: &Var) -> Option<Var> {
    let sub = is(v, ScalarOp::Sub)?;
    if scalar_constant_value(&sub[1]) != Some(1.0) {
        return None;
    }
    let x = &is(&sub[0], ScalarOp::Exp)?[0];
    Some(T::expm1(x))
}

/// The axis of `sum(e, axis=a, keepdims=True)` when `v` is exactly that, and the summed `e`.
fn keepdims_sum(v: &Var) -> Option<(usize, Var)> {
    let inner = match v.op()? {
        Op::DimShuffle(_) => &v.owner_inputs()[0],
        _ => return None,
    };
    match inner.op()? {
        Op::Reduce(crate::ops::Reduce {
            kind: crate::ops::ReduceKind::Sum,
            axis: Some(a),
            ..
        }) if a.len() == 1 && v.ndim() == inner.owner_inputs()[0].ndim() => {
            Some((a[0], inner.owner_inputs()[0].clone()))
        }
        _ => None,
    }
}

fn softmax_on(x: &Var, axis: usize, log: bool) -> Var {
    let op = if log {
        NnetOp::LogSoftmax { axis: Some(axis) }
    } else {
        NnetOp::Softmax { axis: Some(axis) }
    };
    crate::graph::apply1(Op::Nnet(op), vec![x.clone()])
}

/// exp(x) / sum(exp(x), axis, keepdims) → softmax over that axis.
fn softmax_simplifier(v: &Var) -> Option<Var> {
    let div = is(v, ScalarOp::TrueDiv)?;
    let x = &is(&div[0], ScalarOp::Exp)?[0];
    let (axis, summed) = keepdims_sum(&div[1])?;
    (summed == div[0]).then(|| softmax_on(x, axis, false))
}

/// x − log(sum(exp(x), axis, keepdims)) → log_softmax over that axis.
fn log_softmax_from_logsumexp(v: &Var) -> Option<Var> {
    let sub = is(v, ScalarOp::Sub)?;
    let lg = &is(&sub[1], ScalarOp::Log)?[0];
    let (axis, summed) = keepdims_sum(lg)?;
    let x = &is(&summed, ScalarOp::Exp)?[0];
    (x == &sub[0]).then(|| softmax_on(x, axis, true))
}

/// log(sum(exp(x), axis)) → max + log(sum(exp(x − max), axis)): no overflow for large x.
fn local_log_sum_exp(v: &Var) -> Option<Var> {
    let arg = &is(v, ScalarOp::Log)?[0];
    let (axes, e) = match arg.op()? {
        Op::Reduce(crate::ops::Reduce {
            kind: crate::ops::ReduceKind::Sum,
            axis,
            ..
        }) => (axis.clone(), arg.owner_inputs()[0].clone()),
        _ => return None,
    };
    let x = is(&e, ScalarOp::Exp)?[0].clone();
    // Already shifted by this rewrite (x − max): leave it, or it would fire forever.
    if let Some(sub) = is(&x, ScalarOp::Sub) {
        if is(&sub[1], ScalarOp::Switch).is_some() {
            return None;
        }
    }
    let axes: Vec<i64> = axes
        .unwrap_or_else(|| (0..x.ndim()).collect())
        .into_iter()
        .map(|a| a as i64)
        .collect();
    let m = T::max(&x, axes.clone(), true);
    // Rows that are all −inf keep −inf rather than NaN.
    let safe = T::switch(T::eq(&m, f64::NEG_INFINITY), T::zeros_like(&m), &m);
    let m_out = T::max(&x, axes.clone(), false);
    let safe_out = T::switch(
        T::eq(&m_out, f64::NEG_INFINITY),
        T::zeros_like(&m_out),
        &m_out,
    );
    Some(safe_out + T::log(T::sum(&T::exp(&x - &safe), axes, false)))
}

/// argmax(f(x)) → argmax(x) for monotonic elementwise f, and for softmax over the same axis.
fn argmax_pushdown(v: &Var) -> Option<Var> {
    let (node, index) = v.owner()?;
    let Op::MaxAndArgmax(m) = &node.op else {
        return None;
    };
    if index != 1 {
        return None;
    }
    let inner = &node.inputs[0];
    let x = match inner.op()? {
        Op::Elemwise(e)
            if matches!(
                e.scalar,
                ScalarOp::Sigmoid
                    | ScalarOp::Softplus
                    | ScalarOp::Exp
                    | ScalarOp::Log
                    | ScalarOp::Tanh
            ) =>
        {
            inner.owner_inputs()[0].clone()
        }
        Op::Nnet(NnetOp::Softmax { axis }) | Op::Nnet(NnetOp::LogSoftmax { axis })
            if m.axis == vec![axis.unwrap_or(1)] =>
        {
            inner.owner_inputs()[0].clone()
        }
        _ => return None,
    };
    if x.ndim() != inner.ndim() {
        return None;
    }
    let axes: Vec<i64> = m.axis.iter().map(|&a| a as i64).collect();
    Some(T::argmax(&x, axes, false))
}

/// −sum(Y ⊙ log_softmax(x), axis=1) → one fused op, for one-hot or soft target matrices.
fn crossentropy_softmax_dense(v: &Var) -> Option<Var> {
    let s = &is(v, ScalarOp::Neg)?[0];
    let (mul, axis) = match s.op()? {
        Op::Reduce(crate::ops::Reduce {
            kind: crate::ops::ReduceKind::Sum,
            axis: Some(a),
            ..
        }) if a.len() == 1 => (s.owner_inputs()[0].clone(), a[0]),
        _ => return None,
    };
    let f = is(&mul, ScalarOp::Mul)?;
    if f.len() != 2 {
        return None;
    }
    let is_lsm = |u: &Var| matches!(u.op(), Some(Op::Nnet(NnetOp::LogSoftmax { axis: ax })) if ax.unwrap_or(1) == axis && axis == 1 && u.ndim() == 2);
    let (y, lsm) = if is_lsm(&f[1]) {
        (&f[0], &f[1])
    } else if is_lsm(&f[0]) {
        (&f[1], &f[0])
    } else {
        return None;
    };
    if y.ndim() != 2 || y.broadcastable() != lsm.broadcastable() {
        return None;
    }
    let x = &lsm.owner_inputs()[0];
    Some(crate::graph::apply1(
        Op::Nnet(NnetOp::CrossentropySoftmaxDense),
        vec![x.clone(), y.clone()],
    ))
}

/// dot of matrices → Dot22, reading transposed operands (`W.T`) in place instead of copying.
fn local_dot22(v: &Var) -> Option<Var> {
    if v.op()? != &Op::Dot {
        return None;
    }
    let (a, b) = (&v.owner_inputs()[0], &v.owner_inputs()[1]);
    if a.ndim() != 2
        || b.ndim() != 2
        || !v.dtype().is_float()
        || a.dtype() != v.dtype()
        || b.dtype() != v.dtype()
    {
        return None;
    }
    let untranspose = |x: &Var| -> (Var, bool) {
        match x.op() {
            Some(Op::DimShuffle(d)) if d.new_order == vec![Some(1), Some(0)] => {
                (x.owner_inputs()[0].clone(), true)
            }
            _ => (x.clone(), false),
        }
    };
    let (a0, ta) = untranspose(a);
    let (b0, tb) = untranspose(b);
    Some(crate::graph::apply1(
        Op::Dot22 {
            trans_a: ta,
            trans_b: tb,
        },
        vec![a0, b0],
    ))
}

/// dot + add → Gemm / Gemv (Theano's blas rewrites, extended to broadcast terms): `z + A·B`,
/// `z − A·B` and `z ± s·(A·B)` for a scalar `s` become one `Gemm(z, ±s, A, B, 1)`, so the
/// bias add or the SGD step happens in the product's pass over the output. Only products read
/// by nothing else are taken (a shared product would be computed twice).
fn gemm_pass(fg: &mut FunctionGraph) {
    for v in fg.toposort() {
        let v = fg.current(&v);
        if let Some(new) = gemm_candidate(fg, &v).and_then(|n| same_type(&v, n)) {
            let _ = fg.replace(&v, new, "local_gemm");
        }
    }
}

fn gemm_candidate(fg: &mut FunctionGraph, v: &Var) -> Option<Var> {
    let (op, ins) = elemwise_parts(v)?;
    if !v.dtype().is_float() || v.ndim() == 0 || v.ndim() > 2 {
        return None;
    }
    let ins = ins.to_vec();
    let (k, sign, (alpha, a, b, ta, tb)) = match op {
        ScalarOp::Add => ins
            .iter()
            .enumerate()
            .find_map(|(k, t)| scaled_product(fg, t, v).map(|p| (k, 1.0, p)))?,
        ScalarOp::Sub => (1, -1.0, scaled_product(fg, &ins[1], v)?),
        _ => return None,
    };
    // The product must have the output's shape: a term cannot widen a broadcast product.
    if ins[k].broadcastable() != v.broadcastable() {
        return None;
    }
    let rest: Vec<Var> = ins
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != k)
        .map(|(_, t)| t.clone())
        .collect();
    // As Theano: only terms of the product's own type join it. A broadcast bias (`dot(x, W) +
    // b`) stays outside, where fusion folds it into the elementwise consumer (the activation)
    // instead of the GEMM first copying it into every row.
    if rest.iter().any(|t| t.broadcastable() != v.broadcastable()) {
        return None;
    }
    let z = match rest.len() {
        1 => rest[0].clone(),
        _ => crate::graph::apply1(Op::Elemwise(Elemwise::user(ScalarOp::Add)), rest),
    };
    if z.dtype() != v.dtype() || z.ndim() != v.ndim() {
        return None;
    }
    let alpha = match (
        sign < 0.0,
        alpha.constant_value().and_then(|c| c.scalar_f64()),
    ) {
        (false, _) => alpha,
        (true, Some(c)) => T::constant(crate::Value::from(-c).cast(v.dtype())),
        (true, None) => T::neg(&alpha),
    };
    let one = T::constant(crate::Value::from(1.0).cast(v.dtype()));
    Some(crate::graph::apply1(
        Op::Gemm {
            trans_a: ta,
            trans_b: tb,
        },
        vec![z, alpha, a, b, one],
    ))
}

/// A matrix product (optionally times a scalar) of `v`'s dtype read only by `v`:
/// (alpha, A, B, A transposed, B transposed).
fn scaled_product(fg: &mut FunctionGraph, t: &Var, v: &Var) -> Option<(Var, Var, Var, bool, bool)> {
    let product = |fg: &mut FunctionGraph, p: &Var| -> Option<(Var, Var, bool, bool)> {
        if p.dtype() != v.dtype() || fg.clients(p).len() != 1 {
            return None;
        }
        let ins = p.owner_inputs();
        match p.op()? {
            Op::Dot22 { trans_a, trans_b } => {
                Some((ins[0].clone(), ins[1].clone(), *trans_a, *trans_b))
            }
            Op::Dot if ins[0].ndim() == 2 && ins[1].ndim() == 1 => {
                let a = &ins[0];
                let b = &ins[1];
                if a.dtype() != v.dtype() || b.dtype() != v.dtype() {
                    return None;
                }
                match a.op() {
                    Some(Op::DimShuffle(d)) if d.new_order == vec![Some(1), Some(0)] => {
                        Some((a.owner_inputs()[0].clone(), b.clone(), true, false))
                    }
                    _ => Some((a.clone(), b.clone(), false, false)),
                }
            }
            _ => None,
        }
    };
    if let Some((a, b, ta, tb)) = product(fg, t) {
        let one = T::constant(crate::Value::from(1.0).cast(v.dtype()));
        return Some((one, a, b, ta, tb));
    }
    let (op, ins) = elemwise_parts(t)?;
    if op != ScalarOp::Mul || ins.len() != 2 || fg.clients(t).len() != 1 {
        return None;
    }
    let ins = ins.to_vec();
    for (p, s) in [(&ins[0], &ins[1]), (&ins[1], &ins[0])] {
        let Some(alpha) = scalar_of(s, v.dtype()) else {
            continue;
        };
        if let Some((a, b, ta, tb)) = product(fg, p) {
            return Some((alpha, a, b, ta, tb));
        }
    }
    None
}

/// `s` as a 0-d variable of `dtype` when it is one value broadcast: a constant whose elements
/// are all equal, or a dimshuffle of a 0-d variable.
fn scalar_of(s: &Var, dtype: crate::DType) -> Option<Var> {
    if let Some(c) = scalar_constant_value(s) {
        return Some(T::constant(crate::Value::from(c).cast(dtype)));
    }
    match s.op()? {
        Op::DimShuffle(d) if d.new_order.iter().all(|o| o.is_none()) => {
            let x = &s.owner_inputs()[0];
            (x.ndim() == 0 && x.dtype() == dtype).then(|| x.clone())
        }
        _ => None,
    }
}

/// log(f(softmax(x), ...)) → f(log_softmax(x), ...) for structural f (indexing, dimshuffle,
/// reshape): Theano missed these, so `log(softmax(x)[arange(n), y])` and reshaped or transposed
/// softmax outputs stayed unstable (a user ask). The structural op only moves values.
fn logsoftmax_through_structure(v: &Var) -> Option<Var> {
    let s = &is(v, ScalarOp::Log)?[0];
    let (node, index) = s.owner()?;
    let structural = matches!(
        node.op,
        Op::Subtensor(_)
            | Op::AdvancedSubtensor1
            | Op::AdvancedSubtensor
            | Op::DimShuffle(_)
            | Op::Reshape(_)
    );
    if !structural || node.n_outputs() != 1 || index != 0 {
        return None;
    }
    let inner = &node.inputs[0];
    let lsm = match inner.op()? {
        Op::Nnet(NnetOp::Softmax { axis }) => crate::graph::apply1(
            Op::Nnet(NnetOp::LogSoftmax { axis: *axis }),
            vec![inner.owner_inputs()[0].clone()],
        ),
        _ => return None,
    };
    let mut inputs = node.inputs.clone();
    inputs[0] = lsm;
    Some(crate::graph::apply1(node.op.clone(), inputs))
}
