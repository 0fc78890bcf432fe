//! The user graph: immutable, shared handles to symbolic variables and the ops that produce them.

use crate::error::{Error, Result};
use crate::ops::Op;
use crate::types::TensorType;
use crate::value::Value;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A symbolic variable: a cheap, clonable handle (`Arc`) to a node of an expression graph.
///
/// Operations on variables never fail at build time in the Rust API: a type error produces an
/// *invalid* variable that carries the error, and everything built from it carries the same
/// error. [`Var::check`], [`crate::function`], [`Var::eval`] and [`crate::grad()`] report it.
#[derive(Clone)]
pub struct Var(pub(crate) Arc<VarNode>);

pub(crate) struct VarNode {
    pub(crate) id: u64,
    pub(crate) ty: TensorType,
    pub(crate) name: RwLock<Option<String>>,
    pub(crate) kind: VarKind,
}

/// A shared variable's storage: a value that lives across calls of compiled functions.
/// The value is behind an `Arc` so that a call reads it without copying.
pub(crate) type SharedCell = Arc<RwLock<Arc<Value>>>;

pub(crate) enum VarKind {
    /// A free input of the graph, given a value when a function is called.
    Input,
    /// A constant; `scalar` marks Theano's non-tensor scalar constants (`Constant{0}`).
    Constant { value: Value, scalar: bool },
    /// A shared variable, an implicit input of every function that reads it.
    Shared(SharedCell),
    /// Output `index` of an op application.
    Output { apply: Arc<Apply>, index: usize },
    /// The result of an invalid operation: the error is reported when the graph is used.
    Invalid(Error),
}

/// One op applied to input variables.
pub struct Apply {
    pub(crate) id: u64,
    pub op: Op,
    pub inputs: Vec<Var>,
    pub(crate) out_types: Vec<TensorType>,
    /// The output variables (weak: a variable owns its node, not the reverse), so that asking
    /// for output k again gives the same variable while it lives.
    outputs: std::sync::Mutex<Vec<std::sync::Weak<VarNode>>>,
}

impl Apply {
    /// Number of outputs of the op application.
    pub fn n_outputs(&self) -> usize {
        self.out_types.len()
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }
}

/// Output `index` of `apply`: the existing variable while one lives, else a new one.
pub(crate) fn output_of(apply: &Arc<Apply>, index: usize) -> Var {
    let mut outs = apply.outputs.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(node) = outs.get(index).and_then(|w| w.upgrade()) {
        return Var(node);
    }
    let v = Var::new(
        apply.out_types[index].clone(),
        None,
        VarKind::Output {
            apply: apply.clone(),
            index,
        },
    );
    if outs.len() <= index {
        outs.resize(index + 1, std::sync::Weak::new());
    }
    outs[index] = Arc::downgrade(&v.0);
    v
}

/// Applies `op` to `inputs`, inferring the output types; an invalid input or a type error gives
/// invalid outputs that carry the error.
pub(crate) fn apply(op: Op, inputs: Vec<Var>) -> Vec<Var> {
    let n_out = op.n_outputs();
    if let Some(err) = inputs.iter().find_map(|v| v.error().cloned()) {
        return (0..n_out).map(|_| Var::invalid(err.clone())).collect();
    }
    let types: Vec<&TensorType> = inputs.iter().map(|v| v.ty()).collect();
    match op.infer(&types) {
        Err(e) => (0..n_out).map(|_| Var::invalid(e.clone())).collect(),
        Ok(out_types) => {
            let n = out_types.len();
            let apply = Arc::new(Apply {
                id: next_id(),
                op,
                inputs,
                out_types,
                outputs: std::sync::Mutex::new(Vec::new()),
            });
            (0..n).map(|index| output_of(&apply, index)).collect()
        }
    }
}

/// Applies a single-output op.
pub(crate) fn apply1(op: Op, inputs: Vec<Var>) -> Var {
    apply(op, inputs).pop().expect("single-output op")
}

impl Var {
    pub(crate) fn new(ty: TensorType, name: Option<String>, kind: VarKind) -> Var {
        Var(Arc::new(VarNode {
            id: next_id(),
            ty,
            name: RwLock::new(name),
            kind,
        }))
    }

    /// A free input variable of the given type.
    pub fn input(ty: TensorType, name: Option<&str>) -> Var {
        Var::new(ty, name.map(str::to_string), VarKind::Input)
    }

    /// A constant holding `value` (its type: the value's dtype, dims of length 1 broadcastable).
    pub fn constant(value: Value, name: Option<&str>) -> Var {
        let ty = TensorType::new(
            value.dtype(),
            value.shape().iter().map(|&n| n == 1).collect::<Vec<_>>(),
        );
        Var::new(
            ty,
            name.map(str::to_string),
            VarKind::Constant {
                value,
                scalar: false,
            },
        )
    }

    /// Theano's non-tensor scalar constant (printed `Constant{0}`), used for indices.
    pub(crate) fn scalar_constant(v: i64) -> Var {
        Var::new(
            TensorType::scalar(crate::DType::Int64),
            None,
            VarKind::Constant {
                value: Value::from(v),
                scalar: true,
            },
        )
    }

    /// An invalid variable that carries `err` (what a failed operation returns).
    pub fn invalid(err: Error) -> Var {
        Var::new(
            TensorType::scalar(crate::DType::Float64),
            None,
            VarKind::Invalid(err),
        )
    }

    /// The static type.
    pub fn ty(&self) -> &TensorType {
        &self.0.ty
    }

    pub fn dtype(&self) -> crate::DType {
        self.0.ty.dtype
    }

    pub fn ndim(&self) -> usize {
        self.0.ty.ndim()
    }

    pub fn broadcastable(&self) -> &[bool] {
        &self.0.ty.broadcastable
    }

    /// The variable's name, if it has one.
    pub fn name(&self) -> Option<String> {
        self.0.name.read().expect("name lock").clone()
    }

    /// Sets the name (as Theano's `var.name = ...`).
    pub fn set_name(&self, name: Option<&str>) {
        *self.0.name.write().expect("name lock") = name.map(str::to_string);
    }

    /// Returns the same variable after naming it.
    pub fn named(self, name: &str) -> Var {
        self.set_name(Some(name));
        self
    }

    /// The error carried by an invalid variable.
    pub fn error(&self) -> Option<&Error> {
        match &self.0.kind {
            VarKind::Invalid(e) => Some(e),
            _ => None,
        }
    }

    /// `Ok(self)` for a valid variable, the carried error otherwise.
    pub fn check(&self) -> Result<&Var> {
        match self.error() {
            Some(e) => Err(e.clone()),
            None => Ok(self),
        }
    }

    /// The op application that produced this variable and the output index.
    pub fn owner(&self) -> Option<(&Arc<Apply>, usize)> {
        match &self.0.kind {
            VarKind::Output { apply, index } => Some((apply, *index)),
            _ => None,
        }
    }

    /// The op that produced this variable, if any.
    pub fn op(&self) -> Option<&Op> {
        self.owner().map(|(a, _)| &a.op)
    }

    /// The inputs of the op that produced this variable (empty for leaves).
    pub fn owner_inputs(&self) -> &[Var] {
        match self.owner() {
            Some((a, _)) => &a.inputs,
            None => &[],
        }
    }

    /// The constant's value, if this is a constant.
    pub fn constant_value(&self) -> Option<&Value> {
        match &self.0.kind {
            VarKind::Constant { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn is_constant(&self) -> bool {
        matches!(self.0.kind, VarKind::Constant { .. })
    }

    pub fn is_input(&self) -> bool {
        matches!(self.0.kind, VarKind::Input)
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.0.kind, VarKind::Shared(_))
    }

    pub(crate) fn shared_cell(&self) -> Option<&SharedCell> {
        match &self.0.kind {
            VarKind::Shared(c) => Some(c),
            _ => None,
        }
    }

    /// A number identifying this variable for the life of the process.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// Theano's `str(var)`: the name, `<TensorType(...)>`, `op.k` or `TensorConstant{...}`.
    pub fn str_repr(&self) -> String {
        if let Some(n) = self.name() {
            return n;
        }
        match &self.0.kind {
            VarKind::Constant { value, scalar } => crate::printing::constant_str(value, *scalar),
            VarKind::Output { apply, index } => format!("{}.{}", apply.op, index),
            VarKind::Invalid(e) => format!("<invalid: {e}>"),
            VarKind::Input | VarKind::Shared(_) => format!("<{}>", self.0.ty),
        }
    }

    /// All variables of the graph below (and including) `outputs`, inputs before users.
    pub fn toposort(outputs: &[&Var]) -> Vec<Var> {
        let mut seen = HashSet::new();
        let mut order = Vec::new();
        // Iterative DFS so deep graphs (long training chains) cannot overflow the stack.
        let mut stack: Vec<(Var, bool)> = outputs
            .iter()
            .rev()
            .map(|v| ((*v).clone(), false))
            .collect();
        while let Some((v, expanded)) = stack.pop() {
            if expanded {
                order.push(v);
                continue;
            }
            if !seen.insert(v.id()) {
                continue;
            }
            stack.push((v.clone(), true));
            for i in v.owner_inputs().iter().rev() {
                if !seen.contains(&i.id()) {
                    stack.push((i.clone(), false));
                }
            }
        }
        order
    }
}

impl PartialEq for Var {
    fn eq(&self, other: &Var) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Var {}

impl Hash for Var {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id.hash(state)
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var({}: {})", self.str_repr(), self.0.ty)
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.str_repr())
    }
}
