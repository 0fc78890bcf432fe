//! The gradient of every op but the elementwise ones (those are in `elemwise.rs`), spec §3.

use super::{NnetOp, Op, ReduceKind};
use crate::grad::InputGrad::{self, Disconnected, Grad, Undefined};
use crate::graph::{apply1, Var};
use crate::tensor::{self as T, Idx};

impl Op {
    /// Gradients of each input given the gradients of the outputs (`None`: output unused).
    /// `outputs` holds this node's output variables where the graph has them.
    pub fn grad(
        &self,
        x: &[Var],
        outputs: &[Option<Var>],
        g_out: &[Option<Var>],
    ) -> Vec<InputGrad> {
        let g = || g_out[0].clone().expect("single-output op with a gradient");
        let out = || outputs[0].clone().expect("output in the graph");
        match self {
            Op::Elemwise(e) => e.grad(x, &out(), &g()),
            Op::DimShuffle(d) => {
                let g = g();
                // Sum over the inserted dims, then put the kept dims back in input order.
                let inserted: Vec<i64> = d
                    .new_order
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.is_none())
                    .map(|(i, _)| i as i64)
                    .collect();
                let kept: Vec<usize> = d.new_order.iter().flatten().copied().collect();
                let g = if inserted.is_empty() {
                    g
                } else {
                    T::sum(&g, inserted, false)
                };
                let order: Vec<Option<usize>> = (0..x[0].ndim())
                    .map(|dim| kept.iter().position(|&k| k == dim))
                    .collect();
                vec![Grad(T::dimshuffle(&g, &order))]
            }
            Op::Reduce(r) => {
                let x0 = &x[0];
                let axes: Vec<usize> = r.axis.clone().unwrap_or_else(|| (0..x0.ndim()).collect());
                let mut order = Vec::new();
                let mut k = 0;
                for d in 0..x0.ndim() {
                    if axes.contains(&d) {
                        order.push(None);
                    } else {
                        order.push(Some(k));
                        k += 1;
                    }
                }
                let gk = T::dimshuffle(&g(), &order);
                match r.kind {
                    ReduceKind::Sum => vec![Grad(T::fill(x0, gk))],
                    ReduceKind::Prod => {
                        let pk = T::dimshuffle(&out(), &order);
                        vec![Grad(T::fill(x0, gk) * pk / x0)]
                    }
                    ReduceKind::Maximum | ReduceKind::Minimum => {
                        let ok = T::dimshuffle(&out(), &order);
                        vec![Grad(gk * T::cast(T::eq(&ok, x0), x0.dtype()))]
                    }
                }
            }
            Op::MaxAndArgmax(m) => {
                let Some(gm) = g_out[0].clone() else {
                    return vec![Disconnected];
                };
                let x0 = &x[0];
                let mut order = Vec::new();
                let mut k = 0;
                for d in 0..x0.ndim() {
                    if m.axis.contains(&d) {
                        order.push(None);
                    } else {
                        order.push(Some(k));
                        k += 1;
                    }
                }
                let mx = outputs[0].clone().unwrap_or_else(|| {
                    T::max(
                        x0,
                        m.axis.iter().map(|&a| a as i64).collect::<Vec<_>>(),
                        false,
                    )
                });
                let gk = T::dimshuffle(&gm, &order);
                let mk = T::dimshuffle(&mx, &order);
                vec![Grad(gk * T::cast(T::eq(&mk, x0), x0.dtype()))]
            }
            Op::Dot => {
                let (a, b, g) = (&x[0], &x[1], g());
                match (a.ndim(), b.ndim()) {
                    (1, 1) => vec![Grad(&g * b), Grad(&g * a)],
                    (2, 1) => vec![Grad(T::dot(g.dimshuffle(&[Some(0), None]), b.dimshuffle(&[None, Some(0)]))), Grad(T::dot(a.t(), &g))],
                    (1, 2) => vec![Grad(T::dot(b, &g)), Grad(T::dot(a.dimshuffle(&[Some(0), None]), g.dimshuffle(&[None, Some(0)])))],
                    (2, 2) => vec![Grad(T::dot(&g, b.t())), Grad(T::dot(a.t(), &g))],
                    (na, 2) => {
                        // a (..., k) · b (k, n): flatten a's leading dims.
                        let a2 = T::flatten(a, 2.min(na));
                        let a2 = if na > 2 { T::reshape_var(a, &T::concatenate(&[T::constant(ndarray::arr1(&[-1i64])), T::shape(a).get(&[Idx::range(Some(-1), None, None)])], 0), 2) } else { a2 };
                        let g2 = T::reshape_var(&g, &T::concatenate(&[T::constant(ndarray::arr1(&[-1i64])), T::shape(b).get(&[Idx::range(Some(-1), None, None)])], 0), 2);
                        let ga = T::reshape_var(&T::dot(&g2, b.t()), &T::shape(a), na);
                        vec![Grad(ga), Grad(T::dot(a2.t(), &g2))]
                    }
                    _ => vec![
                        Undefined(format!("dot of tensors of ranks {} and {} is differentiable only for a second operand of rank ≤ 2", a.ndim(), b.ndim())),
                        Undefined("see above".into()),
                    ],
                }
            }
            Op::Shape | Op::ShapeI(_) | Op::ARange(_) => vec![Disconnected; x.len()],
            Op::Reshape(_) => vec![
                Grad(T::reshape_var(&g(), &T::shape(&x[0]), x[0].ndim())),
                Disconnected,
            ],
            Op::Subtensor(s) => {
                let mut inputs = vec![T::zeros_like(&x[0]), g()];
                inputs.extend_from_slice(&x[1..]);
                let mut r = vec![Grad(apply1(Op::IncSubtensor(s.clone()), inputs))];
                r.extend(x[1..].iter().map(|_| Disconnected));
                r
            }
            Op::AdvancedSubtensor1 | Op::AdvancedSubtensor => {
                let mut inputs = vec![T::zeros_like(&x[0]), g()];
                inputs.extend_from_slice(&x[1..]);
                let mut r = vec![Grad(apply1(Op::AdvancedIncSubtensor, inputs))];
                r.extend(x[1..].iter().map(|_| Disconnected));
                r
            }
            Op::IncSubtensor(s) => {
                let g = g();
                let mut sel = vec![g.clone()];
                sel.extend_from_slice(&x[2..]);
                let gy = apply1(Op::Subtensor(s.clone()), sel);
                let mut r = vec![Grad(g), Grad(gy)];
                r.extend(x[2..].iter().map(|_| Disconnected));
                r
            }
            Op::AdvancedIncSubtensor => {
                let g = g();
                let idx: Vec<Idx> = x[2..].iter().map(Idx::array).collect();
                let gy = T::index(&g, &idx);
                let mut r = vec![Grad(g), Grad(gy)];
                r.extend(x[2..].iter().map(|_| Disconnected));
                r
            }
            Op::Alloc(_) => {
                let mut r = vec![Grad(g())];
                r.extend(x[1..].iter().map(|_| Disconnected));
                r
            }
            Op::Join(axis) => {
                let g = g();
                let mut r = vec![Disconnected];
                let mut start = T::constant(0i64);
                for t in &x[1..] {
                    let len = T::shape(t).at(*axis as i64);
                    let stop = &start + &len;
                    let mut entries: Vec<Idx> = (0..*axis).map(|_| Idx::all()).collect();
                    entries.push(Idx::Slice(
                        Some((&start).into()),
                        Some((&stop).into()),
                        None,
                    ));
                    r.push(Grad(T::index(&g, &entries)));
                    start = stop;
                }
                r
            }
            Op::Nnet(n) => n.grad(x, outputs, g_out),
            Op::Dot22 { trans_a, trans_b } => {
                let (a, b, g) = (&x[0], &x[1], g());
                let la = if *trans_a { a.t() } else { a.clone() };
                let lb = if *trans_b { b.t() } else { b.clone() };
                let ga = T::dot(&g, lb.t());
                let gb = T::dot(la.t(), &g);
                vec![
                    Grad(if *trans_a { ga.t() } else { ga }),
                    Grad(if *trans_b { gb.t() } else { gb }),
                ]
            }
            Op::Gemm { trans_a, trans_b } => {
                let (z, alpha, a, b, beta, g) = (&x[0], &x[1], &x[2], &x[3], &x[4], g());
                let la = if *trans_a { a.t() } else { a.clone() };
                let lb = if *trans_b { b.t() } else { b.clone() };
                let product = T::dot(&la, &lb);
                let ga = if lb.ndim() == 1 {
                    T::dot(g.dimshuffle(&[Some(0), None]), lb.dimshuffle(&[None, Some(0)]))
                } else {
                    T::dot(&g, lb.t())
                } * alpha;
                let gb = T::dot(la.t(), &g) * alpha;
                vec![
                    Grad(crate::grad::sum_to(&g * beta, z.ty())),
                    Grad(T::sum(&(&g * &product), None, false)),
                    Grad(if *trans_a { ga.t() } else { ga }),
                    Grad(if *trans_b { gb.t() } else { gb }),
                    Grad(T::sum(&(&g * z), None, false)),
                ]
            }
            Op::Composite(_) | Op::CompositeSum(_) => x
                .iter()
                .map(|_| Undefined("fused Composite nodes exist only in compiled graphs; differentiate the graph before compiling".into()))
                .collect(),
        }
    }
}

impl NnetOp {
    fn grad(&self, x: &[Var], outputs: &[Option<Var>], g_out: &[Option<Var>]) -> Vec<InputGrad> {
        use NnetOp::*;
        let g = || g_out[0].clone().expect("gradient");
        let out = || outputs[0].clone().expect("output");
        let labels =
            || Undefined("the gradient with respect to integer labels is not defined".into());
        match self {
            Softmax { axis } => vec![Grad(apply1(
                Op::Nnet(SoftmaxGrad { axis: *axis }),
                vec![g(), out()],
            ))],
            LogSoftmax { axis } => {
                let ax = axis.unwrap_or(1) as i64;
                let sm = apply1(Op::Nnet(Softmax { axis: *axis }), vec![x[0].clone()]);
                vec![Grad(g() - T::sum(&g(), ax, true) * sm)]
            }
            SoftmaxWithBias => {
                let dx = apply1(Op::Nnet(SoftmaxGrad { axis: None }), vec![g(), out()]);
                vec![Grad(dx.clone()), Grad(T::sum(&dx, 0, false))]
            }
            SoftmaxGrad { axis } => {
                let ax = axis.unwrap_or(1) as i64;
                let (dy, sm, g) = (&x[0], &x[1], g());
                let s = T::sum(&(dy * sm), ax, true);
                let gs = T::sum(&(&g * sm), ax, true);
                let g_dy = apply1(
                    Op::Nnet(SoftmaxGrad { axis: *axis }),
                    vec![g.clone(), sm.clone()],
                );
                let g_sm = &g * dy - &g * &s - dy * gs;
                vec![Grad(g_dy), Grad(g_sm)]
            }
            CrossentropyCategorical1Hot => vec![
                Grad(T::nnet::crossentropy_categorical_1hot_grad(
                    g(),
                    &x[0],
                    &x[1],
                )),
                labels(),
            ],
            CrossentropyCategorical1HotGrad => {
                // out[i, t_i] = −g_i / p[i, t_i]: wrt g: −G[i, t_i] / p[i, t_i]; wrt p: G·g/p² there.
                let (gy, p, t) = (&x[0], &x[1], &x[2]);
                let gg = g();
                let rows = T::arange_to(T::shape(t).at(0));
                let at = |m: &Var| T::index(m, &[Idx::array(&rows), Idx::array(t)]);
                let pt = at(p);
                let g_gy = -(at(&gg) / &pt);
                let val = at(&gg) * gy / T::sqr(&pt);
                let g_p = apply1(
                    Op::AdvancedIncSubtensor,
                    vec![T::zeros_like(p), val, rows.clone(), t.clone()],
                );
                vec![Grad(g_gy), Grad(g_p), labels()]
            }
            CrossentropySoftmaxArgmax1HotWithBias => {
                let (xx, b, y) = (&x[0], &x[1], &x[2]);
                // The op's own softmax output: the same node applied again, which merge makes
                // one with the forward node (no second softmax pass).
                let sm = outputs[1].clone().unwrap_or_else(|| {
                    crate::graph::apply(
                        Op::Nnet(CrossentropySoftmaxArgmax1HotWithBias),
                        vec![xx.clone(), b.clone(), y.clone()],
                    )
                    .swap_remove(1)
                });
                let mut dx: Option<Var> = None;
                if let Some(gn) = &g_out[0] {
                    dx = Some(T::nnet::crossentropy_softmax_1hot_with_bias_dx(gn, &sm, y));
                }
                if let Some(gs) = &g_out[1] {
                    let d = apply1(
                        Op::Nnet(SoftmaxGrad { axis: None }),
                        vec![gs.clone(), sm.clone()],
                    );
                    dx = Some(match dx {
                        Some(a) => a + d,
                        None => d,
                    });
                }
                match dx {
                    Some(dx) => vec![Grad(dx.clone()), Grad(T::sum(&dx, 0, false)), Disconnected],
                    None => vec![Disconnected, Disconnected, Disconnected],
                }
            }
            CrossentropySoftmax1HotWithBiasDx => {
                let (dy, sm, y) = (&x[0], &x[1], &x[2]);
                let gg = g();
                let rows = T::arange_to(T::shape(y).at(0));
                let picked = T::index(&gg, &[Idx::array(&rows), Idx::array(y)]);
                let g_dy = T::sum(&(&gg * sm), 1, false) - picked;
                let g_dy = if dy.ndim() == 0 { g_dy.sum() } else { g_dy };
                let dyc = if dy.ndim() == 0 {
                    dy.clone()
                } else {
                    dy.dimshuffle(&[Some(0), None])
                };
                vec![Grad(g_dy), Grad(&gg * dyc), labels()]
            }
            PrependScalarConstant(_) => vec![Grad(T::index(
                &g(),
                &[Idx::all(), Idx::range(Some(1), None, None)],
            ))],
            PrependScalar => {
                let g = g();
                let col = T::index(&g, &[Idx::all(), Idx::at(0)]);
                // Theano returns the column itself (a vector for a scalar); the sum is the gradient.
                vec![
                    Grad(col.sum()),
                    Grad(T::index(&g, &[Idx::all(), Idx::range(Some(1), None, None)])),
                ]
            }
            ConfusionMatrix => vec![Disconnected, Disconnected],
            Dot22CrossentropySoftmaxGrad => x
                .iter()
                .map(|_| Undefined("Dot22CrossentropySoftmaxGrad exists only in compiled graphs (it computes a gradient); differentiate the graph before compiling".into()))
                .collect(),
            CrossentropySoftmaxDense => {
                // nll_i = −Σ_j Y_ij x_ij + (Σ_j Y_ij)·lse_i: d/dx = g·(rowsum(Y)·softmax(x) − Y), d/dY = −g·log_softmax(x).
                let (xx, y, g) = (&x[0], &x[1], g().dimshuffle(&[Some(0), None]));
                let sm = apply1(Op::Nnet(Softmax { axis: Some(1) }), vec![xx.clone()]);
                let lsm = apply1(Op::Nnet(LogSoftmax { axis: Some(1) }), vec![xx.clone()]);
                vec![Grad(&g * (T::sum(y, 1, true) * sm - y)), Grad(-(&g * lsm))]
            }
        }
    }
}
