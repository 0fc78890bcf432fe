//! Printing graphs exactly as Theano does: `pprint` (spec §5.1) and `debugprint` (spec §5.2).

pub mod numpy_fmt;

use crate::graph::Var;
use crate::ops::{Elemwise, IdxEntry, Op, ScalarOp};
use crate::value::Value;
use std::collections::{HashMap, HashSet};

/// `TensorConstant{...}` / `Constant{...}` text of a constant (spec §1.6).
pub fn constant_str(value: &Value, scalar: bool) -> String {
    if scalar {
        return format!("Constant{{{}}}", value.numpy_str());
    }
    if value.ndim() > 0 && !value.is_empty() {
        let first = with_value!(value, a => {
            let f = *a.iter().next().expect("non-empty");
            if a.iter().all(|&x| x == f) { Some(Value::from(ndarray::arr0(f))) } else { None }
        });
        if let Some(f) = first {
            let shape: Vec<String> = value.shape().iter().map(|n| n.to_string()).collect();
            let shape = if shape.len() == 1 {
                format!("({},)", shape[0])
            } else {
                format!("({})", shape.join(", "))
            };
            return format!("TensorConstant{{{shape} of {}}}", f.numpy_str());
        }
    }
    let s = value.numpy_str();
    let chars: Vec<char> = s.chars().collect();
    let s = if chars.len() > 20 {
        let head: String = chars[..10].iter().collect();
        let tail: String = chars[chars.len() - 10..].iter().collect();
        format!("{head}..{tail}")
    } else {
        s
    };
    format!("TensorConstant{{{s}}}")
}

fn leaf_str(v: &Var) -> String {
    match v.name() {
        Some(n) => match n.as_str() {
            "alpha" | "beta" | "gamma" | "delta" | "epsilon" => format!("\\{n}"),
            _ => n,
        },
        None => v.str_repr(),
    }
}

/// Theano's pretty printer: every operator application parenthesised, `\dot`, function printers
/// in lower case, and `Op(args)` for ops without a printer. It never fails.
///
/// ```
/// use rheano::prelude::*;
/// let [x, b] = T::dvectors(["x", "b"]);
/// let w = T::dmatrix("W");
/// let out = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
/// assert_eq!(pprint(&out), r"sigmoid(((W \dot x) + b))");
/// ```
pub fn pprint(v: &Var) -> String {
    let Some((apply, _)) = v.owner() else {
        return leaf_str(v);
    };
    let args = &apply.inputs;
    let p = |i: usize| pprint(&args[i]);
    let all = || args.iter().map(pprint).collect::<Vec<_>>().join(", ");
    match &apply.op {
        Op::Elemwise(Elemwise { scalar, .. }) => match scalar {
            ScalarOp::Neg => format!("(-{})", p(0)),
            s if s.operator().is_some() => {
                let sym = format!(" {} ", s.operator().expect("operator"));
                format!(
                    "({})",
                    args.iter().map(pprint).collect::<Vec<_>>().join(&sym)
                )
            }
            ScalarOp::Abs => format!("|{}|", p(0)),
            ScalarOp::Cast(d) => format!("{}({})", d, p(0)),
            ScalarOp::Second => format!("fill({})", all()),
            s => format!("{}({})", s.symbol(), all()),
        },
        Op::Dot => format!("({} \\dot {})", p(0), p(1)),
        Op::DimShuffle(d) => {
            let mut order: &[Option<usize>] = &d.new_order;
            while let Some((None, rest)) = order.split_first() {
                order = rest;
            }
            let nd = args[0].ndim();
            let identity: Vec<Option<usize>> = (0..nd).map(Some).collect();
            let reversed: Vec<Option<usize>> = (0..nd).rev().map(Some).collect();
            if order == identity.as_slice() {
                p(0)
            } else if order == reversed.as_slice() {
                format!("{}.T", p(0))
            } else {
                let items: Vec<String> = order
                    .iter()
                    .map(|o| o.map(|d| d.to_string()).unwrap_or_else(|| "x".into()))
                    .collect();
                format!("DimShuffle{{{}}}({})", items.join(", "), p(0))
            }
        }
        Op::Subtensor(s) => {
            let mut k = 1;
            let mut items = Vec::new();
            for e in &s.entries {
                match e {
                    IdxEntry::Index(_) => {
                        items.push(p(k));
                        k += 1;
                    }
                    IdxEntry::Slice { start, stop, step } => {
                        let mut bound = |b: &Option<crate::DType>| match b {
                            Some(d) => {
                                k += 1;
                                d.name().to_string()
                            }
                            None => String::new(),
                        };
                        let (a, b, c) = (bound(start), bound(stop), bound(step));
                        let c = if c.is_empty() { c } else { format!(":{c}") };
                        items.push(format!("{a}:{b}{c}"));
                    }
                }
            }
            format!("{}[{}]", p(0), items.join(", "))
        }
        Op::Alloc(_) => format!("alloc({})", all()),
        Op::Join(_) => format!("join({})", all()),
        op => format!("{op}({})", all()),
    }
}

/// Options of [`debugprint_with`], as Theano's keyword arguments.
#[derive(Clone, Debug, Default)]
pub struct DebugPrintOptions {
    /// Insert ` <TensorType(...)>` after each id.
    pub print_type: bool,
    /// Do not descend below named variables.
    pub stop_on_name: bool,
    /// Limit the number of levels printed (`None`: all).
    pub depth: Option<usize>,
    /// Id style: `Char` (A, B, …, Z, BA, …), `Int` (0, 1, …) or `None` (empty).
    pub ids: IdStyle,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdStyle {
    #[default]
    Char,
    Int,
    None,
}

/// Theano's `char_from_number`: base 26 with A = 0 (…, Z, BA, BB, …).
pub fn char_id(mut n: usize) -> String {
    if n == 0 {
        return "A".into();
    }
    let mut s = Vec::new();
    while n != 0 {
        s.push((b'A' + (n % 26) as u8) as char);
        n /= 26;
    }
    s.iter().rev().collect()
}

/// `debugprint` of one or several variables with Theano's default options.
///
/// ```
/// use rheano::prelude::*;
/// let [x, b] = T::dvectors(["x", "b"]);
/// let w = T::dmatrix("W");
/// let out = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
/// assert_eq!(debugprint(&[&out]).lines().next(), Some("sigmoid [id A] ''   "));
/// ```
pub fn debugprint(outputs: &[&Var]) -> String {
    debugprint_with(outputs, &DebugPrintOptions::default())
}

/// `debugprint` with options.
pub fn debugprint_with(outputs: &[&Var], opts: &DebugPrintOptions) -> String {
    let mut p = DebugPrinter {
        opts,
        ids: HashMap::new(),
        done: HashSet::new(),
        inplace: HashMap::new(),
        topo: None,
        out: String::new(),
    };
    for v in outputs {
        p.print(v, "", "", 0);
    }
    p.out
}

/// `debugprint` of a graph that is scheduled: lines end with each node's toposort index.
/// Nodes in `inplace` (apply id → overwritten input) print with Theano's `[(0, i)]`.
pub(crate) fn debugprint_scheduled(
    outputs: &[&Var],
    topo: HashMap<u64, usize>,
    inplace: HashMap<u64, usize>,
) -> String {
    let opts = DebugPrintOptions::default();
    let mut p = DebugPrinter {
        opts: &opts,
        ids: HashMap::new(),
        done: HashSet::new(),
        inplace,
        topo: Some(topo),
        out: String::new(),
    };
    for v in outputs {
        p.print(v, "", "", 0);
    }
    p.out
}

struct DebugPrinter<'a> {
    opts: &'a DebugPrintOptions,
    /// Ids by apply id (for op outputs) or by variable id (for leaves).
    ids: HashMap<(bool, u64), String>,
    done: HashSet<u64>,
    inplace: HashMap<u64, usize>,
    topo: Option<HashMap<u64, usize>>,
    out: String,
}

impl DebugPrinter<'_> {
    fn id(&mut self, key: (bool, u64)) -> String {
        let n = self.ids.len();
        let style = self.opts.ids;
        let id = self.ids.entry(key).or_insert_with(|| match style {
            IdStyle::Char => char_id(n),
            IdStyle::Int => n.to_string(),
            IdStyle::None => String::new(),
        });
        if id.is_empty() {
            String::new()
        } else {
            format!("[id {id}]")
        }
    }

    fn print(&mut self, v: &Var, prefix: &str, prefix_child: &str, depth: usize) {
        if self.opts.depth.is_some_and(|d| depth >= d) {
            return;
        }
        let type_str = if self.opts.print_type {
            format!(" <{}>", v.ty())
        } else {
            String::new()
        };
        match v.owner() {
            Some((apply, index)) => {
                let id = self.id((true, apply.id()));
                let out_idx = if apply.n_outputs() > 1 {
                    format!(".{index}")
                } else {
                    String::new()
                };
                let topo = match &self.topo {
                    Some(t) => t
                        .get(&apply.id())
                        .map(|i| i.to_string())
                        .unwrap_or_default(),
                    None => String::new(),
                };
                let name = v.name().unwrap_or_default();
                let mut op = match self.inplace.get(&apply.id()) {
                    Some(&i) => apply.op.inplace_str(i),
                    None => apply.op.to_string(),
                };
                if matches!(apply.op, crate::ops::Op::Gemm { .. }) && apply.inputs[3].ndim() == 1 {
                    op = op.replacen("Gemm", "Gemv", 1);
                }
                self.out.push_str(&format!(
                    "{prefix}{op}{out_idx} {id}{type_str} '{name}'   {topo}\n"
                ));
                let stop = self.opts.stop_on_name && v.name().is_some() && depth > 0;
                if self.done.insert(apply.id()) && !stop {
                    let n = apply.inputs.len();
                    for (k, i) in apply.inputs.iter().enumerate() {
                        let child_prefix = format!("{prefix_child} |");
                        let grandchild = if k + 1 == n {
                            format!("{prefix_child}  ")
                        } else {
                            format!("{prefix_child} |")
                        };
                        self.print(i, &child_prefix, &grandchild, depth + 1);
                    }
                }
            }
            None => {
                let id = self.id((false, v.id()));
                let sep = if id.is_empty() { "" } else { " " };
                self.out
                    .push_str(&format!("{prefix}{}{sep}{id}{type_str}\n", v.str_repr()));
            }
        }
    }
}
