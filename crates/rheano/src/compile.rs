//! `function`: graph → rewrites → schedule → an executable [`Function`].

use crate::error::{Error, Result};
use crate::graph::{SharedCell, Var};
use crate::ops::{NodeTypes, Op};
use crate::rewrite::{self, Mode};
use crate::types::TensorType;
use crate::value::Value;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// What to do with an input that the outputs do not use (Theano's `on_unused_input`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnUnusedInput {
    #[default]
    Raise,
    Warn,
    Ignore,
}

/// Options of [`function_with`], as Theano's keyword arguments.
#[derive(Clone, Default)]
pub struct FunctionOptions {
    /// Shared-variable updates `(shared, new value expression)`, applied after the outputs.
    pub updates: Vec<(Var, Var)>,
    /// Substitutions `(variable, replacement)` made before compiling.
    pub givens: Vec<(Var, Var)>,
    pub on_unused_input: OnUnusedInput,
    /// Accept input values whose dtype cannot be converted without loss.
    pub allow_input_downcast: bool,
    pub mode: Mode,
    /// Opt-in rewrites by name (`local_ultra_fast_sigmoid`, `local_hard_sigmoid`).
    pub including: Vec<String>,
    /// Rewrites or phases to skip, by name.
    pub excluding: Vec<String>,
    /// Record which rewrites fired (see [`Function::explain`]).
    pub explain: bool,
    /// Threads for this function's kernels; `None`: rayon's global pool (`RAYON_NUM_THREADS`,
    /// or one per core).
    pub threads: Option<usize>,
    /// Time every step of every call (Theano's `profile=True`); see [`Function::profile_summary`].
    pub profile: bool,
}

/// A compiled function. Call it with one value per declared input.
pub struct Function {
    inputs: Vec<Var>,
    outputs: Vec<Var>,
    /// The compiled graphs of the updates' new values (shown by debugprint, as Theano does).
    update_outputs: Vec<Var>,
    program: Program,
    shared: Vec<(usize, SharedCell)>,
    updates: Vec<(SharedCell, usize, TensorType)>,
    allow_input_downcast: bool,
    explain: String,
    /// The function's own thread pool (`FunctionOptions::threads`).
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    /// Per-step time and the number of calls, when `FunctionOptions::profile` is set.
    profile: Option<std::sync::Mutex<Profile>>,
}

#[derive(Default)]
struct Profile {
    calls: u64,
    total: std::time::Duration,
    per_step: Vec<std::time::Duration>,
}

struct Step {
    op: Op,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    in_types: Vec<TensorType>,
    out_types: Vec<TensorType>,
    /// Slots whose last reader is this step: freed right after it.
    free_after: Vec<usize>,
    /// The input whose buffer the output overwrites (Theano's in-place `[(0, i)]`).
    overwrite: Option<usize>,
}

struct Program {
    n_slots: usize,
    steps: Vec<Step>,
    constants: Vec<(usize, Value)>,
    input_slots: Vec<usize>,
    output_slots: Vec<usize>,
    /// Apply ids in execution order (for debugprint of the compiled graph).
    topo: HashMap<u64, usize>,
    /// Shared values that a step overwrites with their own update (see [`mark_donations`]).
    donations: Vec<Donation>,
    /// With donations: every cell the call reads or updates, in address order (the order its
    /// locks are taken in), with its slot, whether it is updated, and its donation.
    lock_order: Vec<LockEntry>,
}

struct LockEntry {
    cell: SharedCell,
    slot: Option<usize>,
    updated: bool,
    donation: Option<usize>,
}

/// A shared value whose update is computed in its own buffer (Theano's `Gemm{inplace}` on a
/// weight, `[(0, 0)]` on a bias): the call takes the value out of its cell, the step writes the
/// new value over it, and the cell receives it at the end.
struct Donation {
    /// The slot of the shared value and its index in `Function::shared`.
    slot: usize,
    shared: usize,
    /// The slot of the new value (the overwriting step's output).
    output: usize,
}

/// Compiles `outputs` as a function of `inputs` with default options.
///
/// ```
/// use rheano::prelude::*;
/// use ndarray::array;
/// let [x, y] = T::dvectors(["x", "y"]);
/// let f = function(&[&x, &y], &[&(&x * &y + 1.0)]).unwrap();
/// let r = f.call(&[array![1.0, 2.0].into(), array![3.0, 4.0].into()]).unwrap();
/// assert_eq!(r[0].to_f64_vec(), vec![4.0, 9.0]);
/// ```
pub fn function(inputs: &[&Var], outputs: &[&Var]) -> Result<Function> {
    function_with(inputs, outputs, FunctionOptions::default())
}

/// Replaces variables of the graph below `outputs` by others (used for `givens`).
pub(crate) fn substitute(outputs: &[Var], subs: &HashMap<Var, Var>) -> Vec<Var> {
    if subs.is_empty() {
        return outputs.to_vec();
    }
    let refs: Vec<&Var> = outputs.iter().collect();
    let order = Var::toposort(&refs);
    let mut map: HashMap<Var, Var> = HashMap::new();
    for v in order {
        if let Some(r) = subs.get(&v) {
            map.insert(v, r.clone());
            continue;
        }
        let Some((apply, index)) = v.owner() else {
            continue;
        };
        let new_inputs: Vec<Var> = apply
            .inputs
            .iter()
            .map(|i| map.get(i).cloned().unwrap_or_else(|| i.clone()))
            .collect();
        if new_inputs.iter().zip(&apply.inputs).all(|(a, b)| a == b) {
            continue;
        }
        let outs = crate::graph::apply(apply.op.clone(), new_inputs);
        let new = outs[index].clone();
        if let Some(n) = v.name() {
            new.set_name(Some(&n));
        }
        map.insert(v, new);
    }
    outputs
        .iter()
        .map(|o| map.get(o).cloned().unwrap_or_else(|| o.clone()))
        .collect()
}

/// Compiles with options (updates, givens, unused-input policy, mode).
pub fn function_with(inputs: &[&Var], outputs: &[&Var], opts: FunctionOptions) -> Result<Function> {
    for v in inputs.iter().chain(outputs) {
        v.check()?;
    }
    for (s, u) in opts.updates.iter().chain(&opts.givens) {
        s.check()?;
        u.check()?;
    }
    let mut seen = HashSet::new();
    for v in inputs {
        if v.is_constant() {
            return Err(Error::ty(
                "function",
                format!(
                    "a constant cannot be an input of a function: {}",
                    v.str_repr()
                ),
            ));
        }
        if !seen.insert(v.id()) {
            return Err(Error::ty(
                "function",
                format!("variable {} is used twice in the inputs", v.str_repr()),
            ));
        }
    }
    let mut update_targets = HashSet::new();
    for (s, u) in &opts.updates {
        if !s.is_shared() {
            return Err(Error::ty(
                "function",
                format!(
                    "update target must be a SharedVariable, got {}",
                    s.str_repr()
                ),
            ));
        }
        if !update_targets.insert(s.id()) {
            return Err(Error::value(
                "function",
                format!("shared variable {} has two updates", s.str_repr()),
            ));
        }
        if s.ty() != u.ty() {
            return Err(Error::ty("function", update_type_message(s, u)));
        }
    }
    for (v, r) in &opts.givens {
        if v.ty() != r.ty() {
            return Err(Error::ty(
                "function",
                format!(
                    "givens: the replacement of {} must have its type {}, got {} (cast it, or use the same broadcastable pattern)",
                    v.str_repr(),
                    v.ty(),
                    r.ty()
                ),
            ));
        }
    }

    // Everything computed: the outputs, then the update expressions.
    let mut roots: Vec<Var> = outputs.iter().map(|v| (*v).clone()).collect();
    roots.extend(opts.updates.iter().map(|(_, u)| u.clone()));
    let givens: HashMap<Var, Var> = opts.givens.iter().cloned().collect();
    let roots = substitute(&roots, &givens);
    let cfg = rewrite::RewriteConfig {
        mode: opts.mode.clone(),
        including: opts.including.clone(),
        excluding: opts.excluding.clone(),
    };
    let mut log = rewrite::Log {
        enabled: opts.explain,
        ..Default::default()
    };
    let roots = rewrite::optimize_with(roots, &cfg, &mut log);

    // Walk the graph, stopping at declared inputs.
    let declared: HashMap<u64, usize> = inputs
        .iter()
        .enumerate()
        .map(|(i, v)| (v.id(), i))
        .collect();
    let mut used = vec![false; inputs.len()];
    let mut order: Vec<Var> = Vec::new();
    let mut visited = HashSet::new();
    let mut stack: Vec<(Var, bool)> = roots.iter().rev().map(|v| (v.clone(), false)).collect();
    while let Some((v, expanded)) = stack.pop() {
        if expanded {
            order.push(v);
            continue;
        }
        if !visited.insert(v.id()) {
            continue;
        }
        if let Some(&i) = declared.get(&v.id()) {
            used[i] = true;
            order.push(v);
            continue;
        }
        stack.push((v.clone(), true));
        for i in v.owner_inputs().iter().rev() {
            stack.push((i.clone(), false));
        }
    }
    let order = reductions_after_their_input(order);
    // Missing inputs.
    for v in &order {
        if v.is_input() && !declared.contains_key(&v.id()) {
            let user = order
                .iter()
                .find(|u| u.owner_inputs().iter().any(|i| i == v))
                .map(|u| {
                    let (a, _) = u.owner().expect("has inputs");
                    let args: Vec<String> = a.inputs.iter().map(|i| i.str_repr()).collect();
                    (
                        a.inputs.iter().position(|i| i == v).unwrap_or(0),
                        format!("{}({})", a.op, args.join(", ")),
                    )
                });
            let (pos, user) = user.unwrap_or((0, v.str_repr()));
            return Err(Error::MissingInput(format!(
                "Input {pos} of the graph (indices start from 0), used to compute {user}, was not provided and not given a value: {}. Add it to the inputs of the function, or give it a value with givens.",
                v.str_repr()
            )));
        }
    }
    for (i, u) in used.iter().enumerate() {
        if !u {
            let msg = format!(
                "theano.function was asked to create a function computing outputs given certain inputs, but the provided input variable at index {i} is not part of the computational graph needed to compute the outputs: {}. To make this error a warning, pass on_unused_input='warn' (OnUnusedInput::Warn); to ignore it, OnUnusedInput::Ignore.",
                inputs[i].str_repr()
            );
            match opts.on_unused_input {
                OnUnusedInput::Raise => return Err(Error::UnusedInput(msg)),
                OnUnusedInput::Warn => crate::warn(&msg),
                OnUnusedInput::Ignore => {}
            }
        }
    }

    // Schedule: one slot per variable.
    let mut slot_of: HashMap<u64, usize> = HashMap::new();
    let slot = |v: &Var, slot_of: &mut HashMap<u64, usize>| {
        let n = slot_of.len();
        *slot_of.entry(v.id()).or_insert(n)
    };
    // Unused outputs of multi-output nodes get slots keyed by fresh negative-free ids.
    let mut spare_ids = u64::MAX;
    let input_slots: Vec<usize> = inputs.iter().map(|v| slot(v, &mut slot_of)).collect();
    let mut constants = Vec::new();
    let mut shared = Vec::new();
    let mut steps = Vec::new();
    let mut topo = HashMap::new();
    let mut applied = HashSet::new();
    let out_vars: HashMap<(u64, usize), Var> = order
        .iter()
        .filter_map(|v| v.owner().map(|(a, k)| ((a.id(), k), v.clone())))
        .collect();
    for v in &order {
        if declared.contains_key(&v.id()) {
            continue;
        }
        if let Some(value) = v.constant_value() {
            let s = slot(v, &mut slot_of);
            constants.push((s, value.clone()));
            continue;
        }
        if let Some(cell) = v.shared_cell() {
            let s = slot(v, &mut slot_of);
            shared.push((s, cell.clone()));
            continue;
        }
        let Some((apply, _)) = v.owner() else {
            continue;
        };
        if !applied.insert(apply.id()) {
            continue;
        }
        let ins: Vec<usize> = apply.inputs.iter().map(|i| slot(i, &mut slot_of)).collect();
        // Every output of a multi-output node gets a slot, used or not.
        let outs: Vec<usize> = (0..apply.n_outputs())
            .map(|k| {
                if let Some(o) = out_vars.get(&(apply.id(), k)) {
                    slot(o, &mut slot_of)
                } else {
                    spare_ids -= 1;
                    let n = slot_of.len();
                    *slot_of.entry(spare_ids).or_insert(n)
                }
            })
            .collect();
        topo.insert(apply.id(), steps.len());
        steps.push(Step {
            op: apply.op.clone(),
            inputs: ins,
            outputs: outs,
            in_types: apply.inputs.iter().map(|i| i.ty().clone()).collect(),
            out_types: apply.out_types.clone(),
            free_after: vec![],
            overwrite: None,
        });
    }
    let output_slots: Vec<usize> = roots.iter().map(|v| slot_of[&v.id()]).collect();
    let n_slots = slot_of.len();
    // Free each intermediate after its last reader.
    let keep: HashSet<usize> = output_slots.iter().copied().collect();
    let mut last_use: HashMap<usize, usize> = HashMap::new();
    for (k, s) in steps.iter().enumerate() {
        for &i in &s.inputs {
            last_use.insert(i, k);
        }
    }
    for (s, k) in last_use {
        if !keep.contains(&s) {
            steps[k].free_after.push(s);
        }
    }
    mark_inplace(
        &mut steps,
        opts.mode == Mode::FastRun && !opts.excluding.iter().any(|e| e == "inplace"),
    );
    let n_out = outputs.len();
    let updates = opts
        .updates
        .iter()
        .enumerate()
        .map(|(k, (s, _))| {
            (
                s.shared_cell().expect("checked").clone(),
                n_out + k,
                s.ty().clone(),
            )
        })
        .collect::<Vec<_>>();
    let donations = if opts.mode == Mode::FastRun && !opts.excluding.iter().any(|e| e == "inplace")
    {
        mark_donations(&mut steps, &shared, &updates, &output_slots)
    } else {
        Vec::new()
    };
    Ok(Function {
        inputs: inputs.iter().map(|v| (*v).clone()).collect(),
        outputs: roots[..n_out].to_vec(),
        update_outputs: roots[n_out..].to_vec(),
        program: Program {
            n_slots,
            steps,
            constants,
            input_slots,
            output_slots,
            topo,
            lock_order: lock_order(&shared, &updates, &donations),
            donations,
        },
        shared,
        updates,
        allow_input_downcast: opts.allow_input_downcast,
        explain: log.report(),
        profile: opts.profile.then(Default::default),
        pool: match opts.threads {
            None => None,
            Some(n) => Some(std::sync::Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n.max(1))
                    .build()
                    .map_err(|e| {
                        Error::value("function", format!("cannot start {n} threads: {e}"))
                    })?,
            )),
        },
    })
}

/// The schedule `order` (inputs before their readers) with each reduction moved up to just
/// after the last of its inputs, so that it reads a freshly computed operand while it is still
/// in cache (W5's bias gradients, column sums of the two gradient matrices, ran after the
/// products had evicted them: the 256×256 one 33 → 16 µs per step at one thread). Moving a
/// step that overwrites nothing earlier keeps every dependency: its inputs still come first,
/// and a step that overwrites one of them (decided after scheduling, at its last reader) still
/// comes after it.
fn reductions_after_their_input(order: Vec<Var>) -> Vec<Var> {
    let is_reduction = |v: &Var| matches!(v.op(), Some(Op::Reduce(_)));
    // A value is computed with every output of its node: keyed by the node (or the variable,
    // for inputs, constants and shared values).
    let key = |v: &Var| v.owner().map_or((false, v.id()), |(a, _)| (true, a.id()));
    let mut readers: HashMap<(bool, u64), Vec<usize>> = HashMap::new();
    for (k, v) in order.iter().enumerate() {
        if is_reduction(v) {
            for i in v.owner_inputs() {
                readers.entry(key(i)).or_default().push(k);
            }
        }
    }
    if readers.is_empty() {
        return order;
    }
    let mut placed: HashSet<(bool, u64)> = HashSet::new();
    let mut moved = vec![false; order.len()];
    let mut out = Vec::with_capacity(order.len());
    // Places `v`, then every reduction reading it whose inputs are all placed (and so on).
    let mut pending: Vec<usize> = Vec::new();
    for k in 0..order.len() {
        if moved[k] {
            continue;
        }
        pending.push(k);
        while let Some(j) = pending.pop() {
            let v = &order[j];
            moved[j] = true;
            placed.insert(key(v));
            out.push(v.clone());
            for &r in readers.get(&key(v)).map(Vec::as_slice).unwrap_or(&[]) {
                let ready = order[r]
                    .owner_inputs()
                    .iter()
                    .all(|i| placed.contains(&key(i)));
                if !moved[r] && ready && !pending.contains(&r) {
                    pending.push(r);
                }
            }
        }
    }
    out
}

/// The in-place phase, after scheduling: an elementwise step writes its output over an input
/// when this step is that input's last reader, the input was computed by an earlier step (not a
/// function input, constant or shared value, which the caller owns) and is not an output, it is
/// read once by the step, and it has the output's exact type.
fn mark_inplace(steps: &mut [Step], enabled: bool) {
    if !enabled {
        return;
    }
    let computed: HashSet<usize> = steps.iter().flat_map(|s| s.outputs.clone()).collect();
    for step in steps.iter_mut() {
        if step.outputs.len() != 1 {
            continue;
        }
        let pick = (0..step.inputs.len())
            .find(|&i| computed.contains(&step.inputs[i]) && can_overwrite_last_read(step, i));
        step.overwrite = pick;
    }
}

/// Whether `step` may write its output over input `i`: it is that value's last reader, reads it
/// once, and its op can overwrite that input.
fn can_overwrite_last_read(step: &Step, i: usize) -> bool {
    let s = step.inputs[i];
    step.free_after.contains(&s)
        && step.inputs.iter().filter(|&&x| x == s).count() == 1
        && step
            .op
            .can_overwrite_input(i, &step.in_types[i], &step.out_types[0])
}

/// The updates computed in the old value's buffer: the step that computes shared variable s's
/// update reads s last and once, can overwrite that input, and s is not also returned. That step
/// then overwrites s (instead of an intermediate it may have picked), as Theano's compiled
/// updates do.
fn mark_donations(
    steps: &mut [Step],
    shared: &[(usize, SharedCell)],
    updates: &[(SharedCell, usize, TensorType)],
    output_slots: &[usize],
) -> Vec<Donation> {
    let mut out = Vec::new();
    for (cell, out_pos, _) in updates {
        let new = output_slots[*out_pos];
        if output_slots.iter().filter(|&&s| s == new).count() != 1 {
            continue;
        }
        let Some((k, &(slot, _))) = shared
            .iter()
            .enumerate()
            .find(|(_, (_, c))| std::sync::Arc::ptr_eq(c, cell))
        else {
            continue;
        };
        if output_slots.contains(&slot) {
            continue;
        }
        let Some(step) = steps.iter_mut().find(|st| st.outputs == [new]) else {
            continue;
        };
        let pick = (0..step.inputs.len())
            .find(|&i| step.inputs[i] == slot && can_overwrite_last_read(step, i));
        if let Some(i) = pick {
            step.overwrite = Some(i);
            out.push(Donation {
                slot,
                shared: k,
                output: new,
            });
        }
    }
    out
}

/// The cells a call with donations locks, in address order (see `Program::lock_order`).
fn lock_order(
    shared: &[(usize, SharedCell)],
    updates: &[(SharedCell, usize, TensorType)],
    donations: &[Donation],
) -> Vec<LockEntry> {
    if donations.is_empty() {
        return Vec::new();
    }
    let mut cells: Vec<&SharedCell> = shared
        .iter()
        .map(|(_, c)| c)
        .chain(updates.iter().map(|(c, _, _)| c))
        .collect();
    cells.sort_by_key(|c| std::sync::Arc::as_ptr(c) as usize);
    cells.dedup_by_key(|c| std::sync::Arc::as_ptr(c) as usize);
    cells
        .into_iter()
        .map(|cell| {
            let k = shared
                .iter()
                .position(|(_, c)| std::sync::Arc::ptr_eq(c, cell));
            LockEntry {
                cell: cell.clone(),
                slot: k.map(|k| shared[k].0),
                updated: updates
                    .iter()
                    .any(|(c, _, _)| std::sync::Arc::ptr_eq(c, cell)),
                donation: k.and_then(|k| donations.iter().position(|d| d.shared == k)),
            }
        })
        .collect()
}

/// Theano's message for an update whose type differs from the shared variable's, with the fix.
fn update_type_message(s: &Var, u: &Var) -> String {
    let mut hint = String::new();
    if s.dtype() != u.dtype() {
        hint = format!(
            " The dtypes differ ({} vs {}): cast the update with T::cast(&update, DType::{:?}), or build the graph in {} (floatX), e.g. with float32 constants.",
            s.dtype(),
            u.dtype(),
            s.dtype(),
            s.dtype()
        );
    } else if s.broadcastable() != u.broadcastable() {
        hint = format!(
            " The broadcastable patterns differ ({:?} vs {:?}): use T::unbroadcast / T::addbroadcast on the update, or create the shared variable with the matching broadcastable pattern.",
            s.broadcastable(),
            u.broadcastable()
        );
    }
    format!(
        "An update must have the same type as the original shared variable (shared_var={}, shared_var.type={}, update_val={}, update_val.type={}).{hint}",
        s.str_repr(),
        s.ty(),
        u.str_repr(),
        u.ty()
    )
}

/// Checks and converts a value given for `input` (Theano's `TensorType.filter`).
pub(crate) fn filter_input<'a>(
    input: &Var,
    index: usize,
    value: &'a Value,
    allow_downcast: bool,
) -> Result<Cow<'a, Value>> {
    let ty = input.ty();
    // Named only when there is an error (a call checks every input).
    let who = || {
        format!(
            "function input {index} ({})",
            input.name().unwrap_or_else(|| input.str_repr())
        )
    };
    if value.ndim() != ty.ndim() {
        return Err(Error::ty(
            who(),
            format!(
                "Wrong number of dimensions: expected {}, got {} with shape {:?}.",
                ty.ndim(),
                value.ndim(),
                value.shape()
            ),
        ));
    }
    for (d, (&b, &n)) in ty.broadcastable.iter().zip(value.shape()).enumerate() {
        if b && n != 1 {
            return Err(Error::ty(
                who(),
                format!("Non-unit value on shape on a broadcastable dimension. (dimension {d} has length {n}, the type {ty} requires 1)"),
            ));
        }
    }
    if value.dtype() == ty.dtype {
        return Ok(Cow::Borrowed(value));
    }
    if allow_downcast || value.dtype().can_cast_safely_to(ty.dtype) {
        return Ok(Cow::Owned(value.cast(ty.dtype)));
    }
    Err(Error::ty(
        who(),
        format!(
            "{ty} cannot store a value of dtype {} without risking loss of precision. If you do not mind this loss, you can: 1) explicitly cast your data to {}, or 2) set allow_input_downcast=True when calling function.",
            value.dtype(),
            ty.dtype
        ),
    ))
}

/// What a cell holds while the call that took its value out for an in-place update runs (under
/// the cell's write lock: nobody sees it): an empty value, which allocates nothing.
fn empty_value() -> Value {
    Value::F64(ndarray::ArrayD::zeros(ndarray::IxDyn(&[0])))
}

/// Stores `v` as a cell's value: in the cell's own `Arc` when nothing else holds it (no
/// allocation; the old value's buffer goes back to the pool for the next call's new value,
/// as a training step replaces each parameter with one of the same size), else in a new one.
fn store(cell: &mut std::sync::Arc<Value>, v: Value) {
    match std::sync::Arc::get_mut(cell) {
        Some(slot) => crate::runtime::elemwise::recycle(std::mem::replace(slot, v)),
        None => *cell = std::sync::Arc::new(v),
    }
}

/// A value held during a call: an argument or constant (borrowed), a shared value, or a result.
enum Slot<'a> {
    Borrowed(&'a Value),
    Shared(std::sync::Arc<Value>),
    Owned(Value),
    /// A shared value taken out of its (locked) cell, to be overwritten by its update.
    Donated(Value),
}

impl Slot<'_> {
    fn value(&self) -> &Value {
        match self {
            Slot::Borrowed(v) => v,
            Slot::Shared(v) => v,
            Slot::Owned(v) | Slot::Donated(v) => v,
        }
    }

    fn into_owned(self) -> Value {
        match self {
            Slot::Borrowed(v) => v.clone(),
            Slot::Shared(v) => std::sync::Arc::try_unwrap(v).unwrap_or_else(|a| (*a).clone()),
            Slot::Owned(v) | Slot::Donated(v) => v,
        }
    }
}

impl Function {
    /// The declared inputs.
    pub fn inputs(&self) -> &[Var] {
        &self.inputs
    }

    /// The outputs of the compiled (rewritten) graph.
    pub fn outputs(&self) -> &[Var] {
        &self.outputs
    }

    /// Runs the function: one value per declared input, in order. Returns one value per output,
    /// then applies the updates (computed from the old shared values).
    pub fn call(&self, args: &[Value]) -> Result<Vec<Value>> {
        let refs: Vec<&Value> = args.iter().collect();
        self.call_refs(&refs)
    }

    /// [`call`](Self::call) on borrowed arguments: inputs of the declared dtype are read in
    /// place (with [`BorrowedValue`](crate::value::BorrowedValue), straight from foreign memory).
    pub fn call_refs(&self, args: &[&Value]) -> Result<Vec<Value>> {
        match &self.pool {
            Some(pool) => pool.install(|| self.run(args)),
            None => self.run(args),
        }
    }

    fn run(&self, args: &[&Value]) -> Result<Vec<Value>> {
        if args.len() != self.inputs.len() {
            return Err(Error::ty(
                "function",
                format!(
                    "expected {} arguments ({}), got {}",
                    self.inputs.len(),
                    self.inputs
                        .iter()
                        .map(|v| v.str_repr())
                        .collect::<Vec<_>>()
                        .join(", "),
                    args.len()
                ),
            ));
        }
        let p = &self.program;
        // On the heap: one small allocation, where an inline array of a few dozen slots (each
        // holds a whole `Value`) is a 7 KB block that the call copies (a tenth of a tiny
        // function's call time).
        let mut slots: Vec<Option<Slot>> = (0..p.n_slots).map(|_| None).collect();
        for (k, (v, a)) in self.inputs.iter().zip(args).enumerate() {
            slots[p.input_slots[k]] =
                Some(match filter_input(v, k, a, self.allow_input_downcast)? {
                    Cow::Borrowed(b) => Slot::Borrowed(b),
                    Cow::Owned(o) => Slot::Owned(o),
                });
        }
        for (s, v) in &p.constants {
            slots[*s] = Some(Slot::Borrowed(v));
        }
        // A call that overwrites shared values holds the write locks of every cell it updates
        // from start to end (no reader sees a value being overwritten, and two calls on other
        // threads take turns), taking all its locks in one global order (no deadlock).
        // (cell address, its write guard, whether its value was taken out for a donation)
        type Held<'c> = (
            usize,
            std::sync::RwLockWriteGuard<'c, std::sync::Arc<Value>>,
            bool,
        );
        let mut held: SmallVec<[Held<'_>; 8]> = SmallVec::new();
        if p.donations.is_empty() {
            for (s, cell) in &self.shared {
                let v = cell.read().expect("shared lock").clone();
                slots[*s] = Some(Slot::Shared(v));
            }
        }
        for entry in &p.lock_order {
            if !entry.updated {
                if let Some(s) = entry.slot {
                    let v = entry.cell.read().expect("shared lock").clone();
                    slots[s] = Some(Slot::Shared(v));
                }
                continue;
            }
            let mut guard = entry.cell.write().expect("shared lock");
            let mut taken = false;
            if let Some(s) = entry.slot {
                slots[s] = Some(if entry.donation.is_some() {
                    // Owned outright only if nothing else holds the value.
                    match std::sync::Arc::get_mut(&mut guard) {
                        Some(v) => {
                            taken = true;
                            Slot::Donated(std::mem::replace(v, empty_value()))
                        }
                        None => Slot::Shared(guard.clone()),
                    }
                } else {
                    Slot::Shared(guard.clone())
                });
            }
            held.push((std::sync::Arc::as_ptr(&entry.cell) as usize, guard, taken));
        }
        if let Err(e) = self.run_steps(&mut slots) {
            // A donated value goes back to its cell: as it was if its step did not run, else
            // as that step left it (the update applied, as Theano's in-place updates are).
            for (entry, (_, guard, taken)) in
                p.lock_order.iter().filter(|e| e.updated).zip(&mut held)
            {
                let Some(d) = entry.donation.map(|d| &p.donations[d]).filter(|_| *taken) else {
                    continue;
                };
                match (slots[d.slot].take(), slots[d.output].take()) {
                    (Some(Slot::Donated(v)), _) => store(guard, v),
                    (_, Some(new)) => store(guard, new.into_owned()),
                    // (A step given the value succeeds: see `Op::inplace_ready`.)
                    _ => {}
                }
            }
            return Err(e);
        }
        // Move each output out of its slot (cloning only when one slot is returned twice); the
        // updates' new values (after the outputs) go straight into their shared cells.
        let n_out = p.output_slots.len() - self.updates.len();
        let mut results: Vec<Value> = Vec::with_capacity(n_out);
        for (k, &s) in p.output_slots.iter().enumerate() {
            let again = p.output_slots[k + 1..].contains(&s);
            let v = if again {
                slots[s].as_ref().expect("computed").value().clone()
            } else {
                slots[s].take().expect("computed").into_owned()
            };
            let Some(u) = k.checked_sub(n_out) else {
                results.push(v);
                continue;
            };
            let (cell, at, ty) = &self.updates[u];
            debug_assert_eq!(v.dtype(), ty.dtype);
            debug_assert_eq!(*at, k);
            let key = std::sync::Arc::as_ptr(cell) as usize;
            match held.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, guard, _)) => store(guard, v),
                None => store(&mut cell.write().expect("shared lock"), v),
            }
        }
        Ok(results)
    }

    /// The steps of one call, in order, over `slots` (inputs, constants and shared values
    /// filled in); each step's outputs land in their slots, and intermediates are freed after
    /// their last reader.
    fn run_steps(&self, slots: &mut [Option<Slot<'_>>]) -> Result<()> {
        let p = &self.program;
        // Stands in for an in-place step's destination among its inputs (made once).
        static PLACEHOLDER: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        let placeholder = PLACEHOLDER.get_or_init(empty_value);
        // Clock readings only when profiling.
        let call_start = self.profile.as_ref().map(|_| std::time::Instant::now());
        let mut step_times = Vec::new();
        for step in &p.steps {
            let step_start = self.profile.as_ref().map(|_| std::time::Instant::now());
            // An in-place step takes its destination buffer out of the slot (when it owns one,
            // or holds a shared value donated to its update).
            let dest = step
                .overwrite
                .and_then(|i| match slots[step.inputs[i]].take() {
                    Some(Slot::Owned(v)) => Some((i, v, false)),
                    Some(Slot::Donated(v)) => Some((i, v, true)),
                    other => {
                        slots[step.inputs[i]] = other;
                        None
                    }
                });
            let (outs, kept) = {
                let input = |(i, &s): (usize, &usize)| match &dest {
                    Some((d, _, _)) if *d == i => placeholder,
                    _ => slots[s].as_ref().expect("scheduled before use").value(),
                };
                // Argument lists on the stack for the usual few inputs (no allocation per step).
                let n = step.inputs.len();
                let (mut ins_stack, mut types_stack) = ([placeholder; 8], [&step.out_types[0]; 8]);
                let (ins_heap, types_heap): (Vec<&Value>, Vec<&TensorType>);
                let (ins, in_types): (&[&Value], &[&TensorType]) = if n <= 8 {
                    for (k, v) in step.inputs.iter().enumerate() {
                        ins_stack[k] = input((k, v));
                        types_stack[k] = &step.in_types[k];
                    }
                    (&ins_stack[..n], &types_stack[..n])
                } else {
                    ins_heap = step.inputs.iter().enumerate().map(input).collect();
                    types_heap = step.in_types.iter().collect();
                    (&ins_heap, &types_heap)
                };
                let types = NodeTypes {
                    inputs: in_types,
                    outputs: &step.out_types,
                };
                // A donated shared value is handed over only to a step sure to succeed on it
                // (else it could be lost); otherwise the step reads it and it stays.
                match dest {
                    Some((i, d, donated))
                        if !donated || step.op.inplace_ready(&types, ins, i, &d) =>
                    {
                        (step.op.perform_inplace(&types, ins, i, d), None)
                    }
                    Some((i, d, _)) => {
                        let with = crate::ops::with_input(ins, i, &d);
                        let outs = step.op.perform_outputs(&types, &with);
                        drop(with);
                        (outs, Some((step.inputs[i], d)))
                    }
                    None => (step.op.perform_outputs(&types, ins), None),
                }
            };
            if let Some((s, d)) = kept {
                slots[s] = Some(Slot::Donated(d));
            }
            outs?.for_each(|k, v| slots[step.outputs[k]] = Some(Slot::Owned(v)));
            for &s in &step.free_after {
                if let Some(Slot::Owned(v)) = slots[s].take() {
                    crate::runtime::elemwise::recycle(v);
                }
            }
            if let Some(t) = step_start {
                step_times.push(t.elapsed());
            }
        }
        if let (Some(profile), Some(start)) = (&self.profile, call_start) {
            let mut prof = profile.lock().expect("profile lock");
            prof.calls += 1;
            prof.total += start.elapsed();
            prof.per_step.resize(p.steps.len(), Default::default());
            for (acc, t) in prof.per_step.iter_mut().zip(step_times) {
                *acc += t;
            }
        }
        Ok(())
    }

    /// The rewrites that fired while compiling, each with the pprint of the subgraph before and
    /// after (recorded when `FunctionOptions::explain` is set).
    pub fn explain(&self) -> &str {
        &self.explain
    }

    /// Where the time of the calls so far went, step by step, slowest first (Theano's
    /// `profile.summary()`). Empty unless compiled with `FunctionOptions::profile`.
    ///
    /// ```
    /// use rheano::prelude::*;
    /// let x = T::dvector("x");
    /// let opts = FunctionOptions { profile: true, ..Default::default() };
    /// let f = function_with(&[&x], &[&T::nnet::sigmoid(&x)], opts).unwrap();
    /// f.call(&[ndarray::array![1.0, 2.0].into()]).unwrap();
    /// assert!(f.profile_summary().contains("sigmoid"));
    /// ```
    pub fn profile_summary(&self) -> String {
        let Some(profile) = &self.profile else {
            return String::new();
        };
        let prof = profile.lock().expect("profile lock");
        let calls = prof.calls.max(1) as f64;
        let step_sum: f64 = prof.per_step.iter().map(|d| d.as_secs_f64()).sum();
        let mut out = format!(
            "Function profile: {} calls, {:.3e}s per call, {:.3e}s of it in steps\n\
             <% time> <sum %> <time per call> <#step> <apply>\n",
            prof.calls,
            prof.total.as_secs_f64() / calls,
            step_sum / calls,
        );
        let mut order: Vec<usize> = (0..prof.per_step.len()).collect();
        order.sort_by(|&a, &b| prof.per_step[b].cmp(&prof.per_step[a]));
        let mut cumulative = 0.0;
        for k in order {
            let t = prof.per_step[k].as_secs_f64();
            let share = if step_sum > 0.0 {
                100.0 * t / step_sum
            } else {
                0.0
            };
            cumulative += share;
            let step = &self.program.steps[k];
            let label = match (step.overwrite, &step.op) {
                (Some(i), Op::Gemm { .. }) => step.op.inplace_str(i),
                (Some(i), _) => format!("{}[(0, {i})]", step.op),
                (None, _) => step.op.to_string(),
            };
            out += &format!(
                "{share:6.1}% {cumulative:6.1}% {:10.3e}s {k:5} {label}\n",
                t / calls
            );
        }
        out
    }

    /// Theano's `debugprint` of the compiled graph, each node with its toposort index.
    pub fn debugprint(&self) -> String {
        let refs: Vec<&Var> = self.outputs.iter().chain(&self.update_outputs).collect();
        let p = &self.program;
        let inplace = p
            .topo
            .iter()
            .filter_map(|(&apply, &k)| p.steps[k].overwrite.map(|i| (apply, i)))
            .collect();
        crate::printing::debugprint_scheduled(&refs, p.topo.clone(), inplace)
    }
}

impl Var {
    /// Compiles and runs a one-off function of the given inputs (Theano's `var.eval({x: v})`).
    ///
    /// ```
    /// use rheano::prelude::*;
    /// let x = T::dscalar("x");
    /// let y = (&x * 2.0).eval(&[(&x, 1.5.into())]).unwrap();
    /// assert_eq!(y.to_f64_vec(), vec![3.0]);
    /// ```
    pub fn eval(&self, inputs: &[(&Var, Value)]) -> Result<Value> {
        let vars: Vec<&Var> = inputs.iter().map(|(v, _)| *v).collect();
        let f = function_with(
            &vars,
            &[self],
            FunctionOptions {
                on_unused_input: OnUnusedInput::Ignore,
                ..Default::default()
            },
        )?;
        let args: Vec<Value> = inputs.iter().map(|(_, v)| v.clone()).collect();
        Ok(f.call(&args)?.remove(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    /// In an autoencoder's training step the bias gradients (column sums of the two gradient
    /// matrices) run right after the step that computes their operand, not after the products
    /// that the depth-first order puts in between; the step computes what the unrewritten graph
    /// (`Mode::None`: no fusion, nothing in place) computes.
    #[test]
    fn reductions_run_right_after_their_operand() {
        let m = |r: usize, c: usize, s: usize| {
            Value::from(ndarray::Array2::from_shape_fn((r, c), |(i, j)| {
                (((i * 7 + j * 13 + s) % 17) as f64 / 17.0 - 0.5) * 0.3
            }))
        };
        let xv = Value::from(ndarray::Array2::from_shape_fn((8, 12), |(i, j)| {
            ((i * 3 + j * 5) % 19) as f64 / 19.0
        }));
        let run = |mode: Mode| {
            let w = crate::shared(m(12, 5, 1), "W");
            let v = crate::shared(m(5, 12, 2), "V");
            let b = crate::shared(Value::zeros(DType::Float64, &[5]), "b");
            let c = crate::shared(Value::zeros(DType::Float64, &[12]), "c");
            let x = T::dmatrix("X");
            let h = T::nnet::sigmoid(T::dot(&x, &w) + &b);
            let xr = T::nnet::sigmoid(T::dot(&h, &v) + &c);
            let cost = T::nnet::binary_crossentropy(&xr, &x).mean();
            let params = [&w, &v, &b, &c];
            let updates = crate::sgd(&cost, &params, T::constant(0.1)).unwrap();
            let f = function_with(
                &[&x],
                &[&cost],
                FunctionOptions {
                    updates,
                    mode,
                    ..Default::default()
                },
            )
            .unwrap();
            let mut got: Vec<f64> = (0..3)
                .flat_map(|_| f.call(std::slice::from_ref(&xv)).unwrap()[0].to_f64_vec())
                .collect();
            for p in [w, v, b, c] {
                got.extend(p.get_value().unwrap().to_f64_vec());
            }
            (f, got)
        };
        let (f, got) = run(Mode::FastRun);
        let steps = &f.program.steps;
        let mut sums = 0;
        for (k, s) in steps.iter().enumerate() {
            if matches!(s.op, Op::Reduce(_)) {
                sums += 1;
                assert!(
                    k > 0 && s.inputs.iter().any(|i| steps[k - 1].outputs.contains(i)),
                    "step {k} ({}) does not follow its operand:\n{}",
                    s.op,
                    f.debugprint()
                );
            }
        }
        assert_eq!(sums, 2, "{}", f.debugprint());
        let (_, want) = run(Mode::None);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-13 * w.abs().max(1.0), "{g} vs {w}");
        }
    }
}
