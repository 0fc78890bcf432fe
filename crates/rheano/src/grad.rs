//! Symbolic differentiation: reverse mode over each op's gradient, building new user graphs (so
//! gradients can be differentiated again). Theano's `T.grad` (spec §3, §6.3).

use crate::dtype::float_x;
use crate::error::{Error, Result};
use crate::graph::Var;
use crate::tensor as T;
use crate::types::TensorType;
use crate::value::Value;
use std::collections::{HashMap, HashSet};

/// The gradient an op gives one of its inputs.
#[derive(Clone)]
pub enum InputGrad {
    /// A gradient graph.
    Grad(Var),
    /// The input does not influence the outputs through this op (indices, shapes, comparisons).
    Disconnected,
    /// The gradient is not defined (labels of a crossentropy): Theano's NullType.
    Undefined(String),
}

/// What `grad` does with a `wrt` that the cost does not depend on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DisconnectedInputs {
    #[default]
    Raise,
    Warn,
    Ignore,
}

/// What `grad` returns for a disconnected `wrt` (when not raising).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReturnDisconnected {
    /// `zeros_like(wrt)` (Theano's default).
    #[default]
    Zero,
    /// No gradient (`None`).
    None,
}

/// Options of [`grad_with`], as Theano's keyword arguments.
#[derive(Clone, Default)]
pub struct GradOptions {
    /// Variables treated as constants: gradients stop there.
    pub consider_constant: Vec<Var>,
    /// Gradients given for intermediate variables (the cost may then be `None`).
    pub known_grads: Vec<(Var, Var)>,
    pub disconnected_inputs: DisconnectedInputs,
    pub return_disconnected: ReturnDisconnected,
}

/// Gradients of a scalar `cost` with respect to each of `wrt` (Theano's `T.grad`).
///
/// ```
/// use rheano::prelude::*;
/// let x = T::dscalar("x");
/// let cost = (&x * &x).named("cost");
/// let g = rheano::grad(&cost, &[&x]).unwrap().remove(0);
/// assert_eq!(g.name().as_deref(), Some("(dcost/dx)"));
/// assert_eq!(g.eval(&[(&x, 3.0.into())]).unwrap().to_f64_vec(), vec![6.0]);
/// ```
pub fn grad(cost: &Var, wrt: &[&Var]) -> Result<Vec<Var>> {
    grad_with(Some(cost), wrt, &GradOptions::default()).map(|v| {
        v.into_iter()
            .map(|g| g.expect("zeros by default"))
            .collect()
    })
}

/// `grad` with options; a disconnected `wrt` gives `None` under `ReturnDisconnected::None`.
pub fn grad_with(cost: Option<&Var>, wrt: &[&Var], opts: &GradOptions) -> Result<Vec<Option<Var>>> {
    if let Some(c) = cost {
        c.check()?;
        if c.ndim() != 0 {
            return Err(Error::ty(
                "grad",
                format!("cost must be a scalar, got {}", c.ty()),
            ));
        }
    } else if opts.known_grads.is_empty() {
        return Err(Error::ty("grad", "a cost or known_grads is required"));
    }
    for w in wrt {
        w.check()?;
    }
    let constants: HashSet<u64> = opts.consider_constant.iter().map(|v| v.id()).collect();

    // Seeds: the cost's own gradient and the known gradients.
    let mut seeds: Vec<(Var, Var)> = Vec::new();
    // Differentiate the stabilised graph (same values, stable gradients) unless the caller
    // refers to intermediate variables that the rewrites could replace.
    let stable_cost;
    let cost = match cost {
        Some(c)
            if opts.known_grads.is_empty()
                && opts.consider_constant.is_empty()
                && wrt.iter().all(|w| w.owner().is_none()) =>
        {
            stable_cost = crate::rewrite::stabilize(std::slice::from_ref(c)).remove(0);
            Some(&stable_cost)
        }
        other => other,
    };
    let cost_name = cost.and_then(|c| c.name());
    if let Some(c) = cost {
        let one = T::constant_of(
            1.0,
            if c.dtype().is_float() {
                c.dtype()
            } else {
                float_x()
            },
        );
        seeds.push((c.clone(), T::fill(c, one)));
    }
    for (v, g) in &opts.known_grads {
        v.check()?;
        g.check()?;
        seeds.push((v.clone(), g.clone()));
    }
    let roots: Vec<&Var> = seeds.iter().map(|(v, _)| v).collect();
    let order = Var::toposort(&roots);

    // Which variables depend on some wrt (through non-constant paths).
    let wrt_ids: HashSet<u64> = wrt.iter().map(|v| v.id()).collect();
    let mut depends: HashSet<u64> = HashSet::new();
    for v in &order {
        let through = !constants.contains(&v.id())
            && v.owner_inputs().iter().any(|i| depends.contains(&i.id()));
        if wrt_ids.contains(&v.id()) || through {
            depends.insert(v.id());
        }
    }

    let mut grads: HashMap<u64, Var> = HashMap::new();
    let add = |grads: &mut HashMap<u64, Var>, v: &Var, g: Var| {
        let g = match grads.remove(&v.id()) {
            Some(prev) => prev + g,
            None => g,
        };
        grads.insert(v.id(), g);
    };
    for (v, g) in &seeds {
        add(&mut grads, v, g.clone());
    }
    let mut outputs_of: HashMap<u64, Vec<Var>> = HashMap::new();
    for v in &order {
        if let Some((a, _)) = v.owner() {
            outputs_of.entry(a.id()).or_default().push(v.clone());
        }
    }
    let mut reached: HashSet<u64> = HashSet::new();
    // A node is processed at its earliest output in topological order: by then every consumer
    // of every one of its outputs has passed on its gradient.
    let mut first_output: HashMap<u64, u64> = HashMap::new();
    for v in &order {
        if let Some((a, _)) = v.owner() {
            first_output.entry(a.id()).or_insert(v.id());
        }
    }
    for v in order.iter().rev() {
        let Some((apply, _)) = v.owner() else {
            continue;
        };
        if first_output.get(&apply.id()) != Some(&v.id()) {
            continue;
        }
        if !apply.inputs.iter().any(|i| depends.contains(&i.id())) {
            continue;
        }
        // All outputs of the node, with their accumulated gradients.
        let outputs = outputs_of.get(&apply.id()).cloned().unwrap_or_default();
        let mut g_out: Vec<Option<Var>> = vec![None; apply.n_outputs()];
        let mut out_vars: Vec<Option<Var>> = vec![None; apply.n_outputs()];
        for o in &outputs {
            let (_, k) = o.owner().expect("output");
            out_vars[k] = Some(o.clone());
            if !constants.contains(&o.id()) {
                g_out[k] = grads.get(&o.id()).cloned();
            }
        }
        if g_out.iter().all(Option::is_none) || outputs.iter().all(|o| constants.contains(&o.id()))
        {
            continue;
        }
        let in_grads = apply.op.grad(&apply.inputs, &out_vars, &g_out);
        for ((input, ig), k) in apply.inputs.iter().zip(in_grads).zip(0..) {
            if !depends.contains(&input.id()) || constants.contains(&input.id()) {
                continue;
            }
            match ig {
                InputGrad::Grad(g) => {
                    g.check()?;
                    reached.insert(input.id());
                    add(&mut grads, input, sum_to(g, input.ty()));
                }
                InputGrad::Disconnected => {}
                InputGrad::Undefined(why) => {
                    return Err(Error::NullTypeGrad(format!(
                        "tensor.grad encountered a NaN. This variable is Null because the grad method for input {k} ({}) of the {} op is not implemented: {why}",
                        input.str_repr(),
                        apply.op
                    )));
                }
            }
        }
    }

    let mut out = Vec::with_capacity(wrt.len());
    for w in wrt {
        let connected = grads.contains_key(&w.id())
            || reached.contains(&w.id())
            || seeds.iter().any(|(v, _)| v == *w);
        if !connected {
            let msg = format!(
                "grad method was asked to compute the gradient with respect to a variable that is not part of the computational graph of the cost, or is used only by a non-differentiable operator: {}. If this is intended, pass disconnected_inputs='ignore' or 'warn' (GradOptions {{ disconnected_inputs: DisconnectedInputs::Ignore, .. }}).",
                w.str_repr()
            );
            match opts.disconnected_inputs {
                DisconnectedInputs::Raise => return Err(Error::DisconnectedInput(msg)),
                DisconnectedInputs::Warn => crate::warn(&msg),
                DisconnectedInputs::Ignore => {}
            }
            out.push(match opts.return_disconnected {
                ReturnDisconnected::Zero => Some(float_zeros_like(w)),
                ReturnDisconnected::None => None,
            });
            continue;
        }
        let g = match grads.get(&w.id()) {
            Some(g) => g.clone(),
            None => float_zeros_like(w),
        };
        if let (Some(c), Some(wn)) = (cost_name.clone(), w.name()) {
            g.set_name(Some(&format!("(d{c}/d{wn})")));
        }
        out.push(Some(g));
    }
    Ok(out)
}

/// Plain gradient-descent updates `(p, p − learning_rate·∂cost/∂p)` for `function`'s `updates`
/// (what Theano tutorials write by hand). The rate is cast to each parameter's dtype, so a
/// float32 model stays float32 whatever literal is given.
///
/// ```
/// use rheano::prelude::*;
/// use ndarray::array;
/// let w = rheano::shared(array![1.0, -2.0], "w");
/// let cost = (&w * &w).sum();
/// let updates = rheano::sgd(&cost, &[&w], 0.25).unwrap();
/// let step = rheano::function_with(&[], &[&cost], rheano::FunctionOptions { updates, ..Default::default() }).unwrap();
/// step.call(&[]).unwrap();
/// assert_eq!(w.get_value().unwrap().to_f64_vec(), vec![0.5, -1.0]);
/// ```
pub fn sgd(cost: &Var, params: &[&Var], learning_rate: impl T::IntoVar) -> Result<Vec<(Var, Var)>> {
    let lr = learning_rate.into_var();
    let grads = grad(cost, params)?;
    Ok(params
        .iter()
        .zip(grads)
        .map(|(p, g)| ((*p).clone(), *p - T::cast(&lr, p.dtype()) * g))
        .collect())
}

/// zeros_like(x) in x's dtype if it is a float, else in floatX (gradients are never integer).
fn float_zeros_like(x: &Var) -> Var {
    let d = if x.dtype().is_float() {
        x.dtype()
    } else {
        float_x()
    };
    T::fill(x, T::constant_of(0.0, d))
}

/// Sums a gradient over the dims that broadcasting created, and casts it to the input's dtype.
pub fn sum_to(g: Var, ty: &TensorType) -> Var {
    let mut g = g;
    if g.ndim() == ty.ndim() {
        let axes: Vec<i64> = (0..ty.ndim())
            .filter(|&d| ty.broadcastable[d] && !g.broadcastable()[d])
            .map(|d| d as i64)
            .collect();
        if !axes.is_empty() {
            g = T::sum(&g, axes, true);
        }
    } else if g.ndim() > ty.ndim() {
        let extra = g.ndim() - ty.ndim();
        g = T::sum(&g, (0..extra as i64).collect::<Vec<_>>(), false);
        return sum_to(g, ty);
    }
    if ty.dtype.is_float() && g.dtype() != ty.dtype {
        g = T::cast(&g, ty.dtype);
    }
    g
}

/// Options of [`verify_grad`] (Theano's `theano.gradient.verify_grad`).
#[derive(Clone, Debug)]
pub struct VerifyGradOptions {
    /// Number of random projections tried.
    pub n_tests: usize,
    /// Step of the central differences (computed in float64).
    pub eps: f64,
    /// Tolerances; `None` picks them by dtype (float64: 1e-4, float32: 1e-2).
    pub abs_tol: Option<f64>,
    pub rel_tol: Option<f64>,
    /// Seed of the random projections.
    pub seed: u64,
}

impl Default for VerifyGradOptions {
    fn default() -> Self {
        VerifyGradOptions {
            n_tests: 2,
            eps: 1e-6,
            abs_tol: None,
            rel_tol: None,
            seed: 42,
        }
    }
}

fn xorshift(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// Checks the symbolic gradient of `f` at the point `pt` against central finite differences:
/// cost = Σ f(inputs)·P for a random projection P; the analytic gradient of the cost (in the
/// inputs' dtypes) must match the numeric one (computed in float64).
///
/// ```
/// use rheano::prelude::*;
/// use rheano::grad::{verify_grad, VerifyGradOptions};
/// use ndarray::array;
/// verify_grad(|x| T::nnet::softplus(&x[0]), &[array![-3.0, 0.5, 40.0].into()], &VerifyGradOptions::default()).unwrap();
/// ```
pub fn verify_grad(
    f: impl Fn(&[Var]) -> Var,
    pt: &[Value],
    opts: &VerifyGradOptions,
) -> Result<()> {
    use crate::types::TensorType;
    let mut state = opts.seed.max(1);
    let make = |dtype: Option<crate::DType>| -> Vec<Var> {
        pt.iter()
            .map(|v| {
                Var::input(
                    TensorType::dense(dtype.unwrap_or(v.dtype()), v.ndim()),
                    None,
                )
            })
            .collect()
    };
    if let Some(v) = pt.iter().find(|v| !v.dtype().is_float()) {
        return Err(Error::ty(
            "verify_grad",
            format!("points must be float arrays, got {}", v.dtype()),
        ));
    }
    let inputs = make(None);
    let inputs64 = make(Some(crate::DType::Float64));
    let out = f(&inputs);
    let out64 = f(&inputs64);
    out.check()?;
    let refs: Vec<&Var> = inputs.iter().collect();
    let refs64: Vec<&Var> = inputs64.iter().collect();
    let opts_fn = crate::compile::FunctionOptions {
        on_unused_input: crate::compile::OnUnusedInput::Ignore,
        ..Default::default()
    };
    let shape = crate::compile::function_with(&refs, &[&out], opts_fn.clone())?.call(pt)?[0]
        .shape()
        .to_vec();
    let low = out.dtype() == crate::DType::Float32
        || pt.iter().any(|v| v.dtype() == crate::DType::Float32);
    let abs_tol = opts.abs_tol.unwrap_or(if low { 1e-2 } else { 1e-4 });
    let rel_tol = opts.rel_tol.unwrap_or(if low { 1e-2 } else { 1e-4 });
    for _ in 0..opts.n_tests {
        let n: usize = shape.iter().product();
        let proj: Vec<f64> = (0..n).map(|_| xorshift(&mut state) - 0.5).collect();
        let pv = crate::Value::from(
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), proj).expect("shape"),
        );
        let cost = (&out * T::constant(pv.cast(out.dtype()))).sum();
        let cost64 = (&out64 * T::constant(pv)).sum();
        let grads = grad_with(
            Some(&cost),
            &refs,
            &GradOptions {
                disconnected_inputs: DisconnectedInputs::Ignore,
                ..Default::default()
            },
        )?;
        let grads: Vec<Var> = grads.into_iter().map(|g| g.expect("zeros")).collect();
        let gref: Vec<&Var> = grads.iter().collect();
        let analytic = crate::compile::function_with(&refs, &gref, opts_fn.clone())?.call(pt)?;
        let cf = crate::compile::function_with(&refs64, &[&cost64], opts_fn.clone())?;
        let base: Vec<Value> = pt.iter().map(|v| v.cast(crate::DType::Float64)).collect();
        for (i, a) in analytic.iter().enumerate() {
            let a = a.to_f64_vec();
            let flat = base[i].to_f64_vec();
            for j in 0..flat.len() {
                let at = |d: f64| -> Result<f64> {
                    let mut args = base.clone();
                    let mut v = flat.clone();
                    v[j] += d;
                    args[i] = crate::Value::from(
                        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(base[i].shape()), v)
                            .expect("shape"),
                    );
                    Ok(cf.call(&args)?[0].to_f64_vec()[0])
                };
                let num = (at(opts.eps)? - at(-opts.eps)?) / (2.0 * opts.eps);
                let abs_err = (a[j] - num).abs();
                let rel_err = abs_err / (a[j].abs() + num.abs()).max(1e-300);
                if !(abs_err <= abs_tol || rel_err <= rel_tol) {
                    return Err(Error::value(
                        "verify_grad",
                        format!("gradient mismatch of {} for input {i} at flat index {j}: analytic {} vs numeric {num} (abs err {abs_err:e}, rel err {rel_err:e})", crate::pprint(&out), a[j]),
                    ));
                }
            }
        }
    }
    Ok(())
}
