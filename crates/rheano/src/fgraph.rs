//! The rewrite engine's view of a graph: its outputs, an index of who reads each variable, and
//! one entry point, [`FunctionGraph::replace`], through which every rewrite changes the graph.
//!
//! User graphs are immutable (`Var` is a shared handle), so replacing `old` by `new` means
//! rebuilding the nodes that read `old`, and the nodes that read those. That rebuild is lazy:
//! `replace` records the substitution, and a node is rebuilt when it is next looked at
//! ([`FunctionGraph::current`]) or when the whole graph is needed ([`FunctionGraph::outputs`],
//! [`FunctionGraph::clients`]). A pass that walks the graph in topological order therefore
//! rebuilds each node at most once, however many rewrites fire below it, and compiling stays
//! linear in the size of the graph.

use crate::error::{Error, Result};
use crate::graph::{apply, Var};
use crate::rewrite::Log;
use std::collections::{HashMap, HashSet};

/// A reader of a variable: input `position` of the node that computes `reader`, or output `k`
/// of the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Client {
    Node { reader: Var, position: usize },
    Output(usize),
}

/// An indexed graph that rewrites edit through [`replace`](FunctionGraph::replace).
///
/// ```
/// use rheano::prelude::*;
/// use rheano::fgraph::FunctionGraph;
/// let x = T::dvector("x");
/// let e = T::exp(&x);
/// let y = T::log(&e) + &e;
/// let mut fg = FunctionGraph::new(&[y]);
/// assert_eq!(fg.clients(&e).len(), 2);
/// fg.replace(&e, T::sqrt(&x), "example").unwrap();
/// assert_eq!(pprint(&fg.outputs()[0]), "(log(sqrt(x)) + sqrt(x))");
/// assert!(fg.clients(&e).is_empty());
/// ```
pub struct FunctionGraph {
    outputs: Vec<Var>,
    /// Replaced or rebuilt variable id → what stands for it now (follow the chain).
    forward: HashMap<u64, Var>,
    /// Old node id → its rebuilt outputs, so that every output of a node maps to one new node.
    rebuilt: HashMap<u64, Vec<Var>>,
    /// Readers of every variable of the graph; rebuilt on demand after a change.
    index: Option<HashMap<u64, Vec<Client>>>,
    /// What fired, when recording is on (`Log::enabled`).
    pub log: Log,
}

impl FunctionGraph {
    /// The graph below `outputs`.
    pub fn new(outputs: &[Var]) -> FunctionGraph {
        FunctionGraph {
            outputs: outputs.to_vec(),
            forward: HashMap::new(),
            rebuilt: HashMap::new(),
            index: None,
            log: Log::default(),
        }
    }

    /// Like [`new`](Self::new), recording the rewrites that fire in `log`.
    pub fn with_log(outputs: &[Var], log: Log) -> FunctionGraph {
        let mut fg = FunctionGraph::new(outputs);
        fg.log = log;
        fg
    }

    /// The graph's outputs, with every replacement applied.
    pub fn outputs(&mut self) -> &[Var] {
        self.flush();
        &self.outputs
    }

    /// Takes the outputs (every replacement applied) and the log out of the graph.
    pub fn into_parts(mut self) -> (Vec<Var>, Log) {
        self.flush();
        (self.outputs, self.log)
    }

    /// Who reads `v` now (empty for a variable that is not in the graph).
    pub fn clients(&mut self, v: &Var) -> &[Client] {
        self.flush();
        let index = self.index.get_or_insert_with(|| build_index(&self.outputs));
        index.get(&v.id()).map_or(&[], Vec::as_slice)
    }

    /// Whether `v` is part of the graph now.
    pub fn contains(&mut self, v: &Var) -> bool {
        self.flush();
        let index = self.index.get_or_insert_with(|| build_index(&self.outputs));
        index.contains_key(&v.id())
    }

    /// Every variable of the graph, inputs before the nodes that read them.
    pub fn toposort(&mut self) -> Vec<Var> {
        self.flush();
        let refs: Vec<&Var> = self.outputs.iter().collect();
        Var::toposort(&refs)
    }

    /// The variable that stands for `v` now: what replaced it, or `v`'s node rebuilt on the
    /// current versions of its inputs. Looks one node deep: walking a toposort in order (inputs
    /// first) keeps every node current.
    pub fn current(&mut self, v: &Var) -> Var {
        let v = self.chase(v);
        let Some((node, index)) = v.owner() else {
            return v;
        };
        if let Some(outs) = self.rebuilt.get(&node.id()) {
            // Another output of a node already rebuilt: it forwards to the same new node.
            let new = outs[index].clone();
            self.forward.insert(v.id(), new.clone());
            return self.chase(&new);
        }
        let inputs: Vec<Var> = node.inputs.iter().map(|i| self.chase(i)).collect();
        if inputs.iter().zip(&node.inputs).all(|(a, b)| a == b) {
            return v;
        }
        let fresh = apply(node.op.clone(), inputs);
        if let Some(name) = v.name() {
            fresh[index].set_name(Some(&name));
        }
        self.rebuilt.insert(node.id(), fresh.clone());
        let new = fresh[index].clone();
        self.forward.insert(v.id(), new.clone());
        new
    }

    /// Replaces `old` by `new` everywhere in the graph, for the rewrite named `reason` (recorded
    /// in the log). The types must be equal, and `new` must not read `old`.
    pub fn replace(&mut self, old: &Var, new: Var, reason: &str) -> Result<()> {
        self.replace_with(old, new, reason, true)
    }

    /// [`replace`](Self::replace), recording it in the log only when `record` is set.
    pub(crate) fn replace_with(
        &mut self,
        old: &Var,
        new: Var,
        reason: &str,
        record: bool,
    ) -> Result<()> {
        if old.ty() != new.ty() {
            return Err(Error::ty(
                format!("rewrite {reason}"),
                format!(
                    "cannot replace {} of type {} by {} of type {}",
                    old.str_repr(),
                    old.ty(),
                    new.str_repr(),
                    new.ty()
                ),
            ));
        }
        if let Some(e) = new.error() {
            return Err(e.clone());
        }
        let old = self.chase(old);
        let new = self.chase(&new);
        if old == new {
            return Ok(());
        }
        if reads(&new, &old) {
            return Err(Error::value(
                format!("rewrite {reason}"),
                format!(
                    "the replacement of {} reads it: that would make a cycle",
                    old.str_repr()
                ),
            ));
        }
        if record {
            self.log.record(reason, &old, &new);
        }
        self.forward.insert(old.id(), new);
        self.index = None;
        Ok(())
    }

    /// Follows the replacement chain of `v`.
    fn chase(&self, v: &Var) -> Var {
        let mut cur = v.clone();
        while let Some(next) = self.forward.get(&cur.id()) {
            cur = next.clone();
        }
        cur
    }

    /// Applies every pending replacement: rebuilds, in topological order, each node one of whose
    /// inputs changed.
    fn flush(&mut self) {
        if self.index.is_some() {
            return;
        }
        let refs: Vec<&Var> = self.outputs.iter().collect();
        for v in Var::toposort(&refs) {
            self.current(&v);
        }
        self.outputs = self.outputs.iter().map(|o| self.chase(o)).collect();
        self.index = Some(build_index(&self.outputs));
    }

    /// Checks the index against one built afresh from the outputs (for tests).
    pub fn check_index(&mut self) -> std::result::Result<(), String> {
        self.flush();
        let fresh = build_index(&self.outputs);
        let mine = self.index.as_ref().expect("flushed");
        let describe = |m: &HashMap<u64, Vec<Client>>| {
            let mut v: Vec<(u64, Vec<String>)> = m
                .iter()
                .map(|(k, c)| {
                    let mut c: Vec<String> = c.iter().map(|x| format!("{x:?}")).collect();
                    c.sort();
                    (*k, c)
                })
                .collect();
            v.sort();
            v
        };
        if describe(mine) != describe(&fresh) {
            return Err("the clients index differs from a fresh one".into());
        }
        for v in Var::toposort(&self.outputs.iter().collect::<Vec<_>>()) {
            if self.forward.contains_key(&v.id()) {
                return Err(format!(
                    "{} was replaced but is still in the graph",
                    v.str_repr()
                ));
            }
        }
        Ok(())
    }
}

/// The readers of every variable below `outputs` (leaves and unread variables map to []).
fn build_index(outputs: &[Var]) -> HashMap<u64, Vec<Client>> {
    let refs: Vec<&Var> = outputs.iter().collect();
    let mut index: HashMap<u64, Vec<Client>> = HashMap::new();
    let mut nodes = HashSet::new();
    for v in Var::toposort(&refs) {
        index.entry(v.id()).or_default();
        let Some((node, _)) = v.owner() else { continue };
        if nodes.insert(node.id()) {
            for (position, i) in node.inputs.iter().enumerate() {
                index.entry(i.id()).or_default().push(Client::Node {
                    reader: v.clone(),
                    position,
                });
            }
        }
    }
    for (k, o) in outputs.iter().enumerate() {
        index.entry(o.id()).or_default().push(Client::Output(k));
    }
    index
}

/// Whether `new` reads `old`. Only variables created after `old` can read it, and ids grow, so
/// the walk stops at older ones.
pub(crate) fn reads(new: &Var, old: &Var) -> bool {
    let mut stack = vec![new.clone()];
    let mut seen = HashSet::new();
    while let Some(v) = stack.pop() {
        if v == *old {
            return true;
        }
        if v.id() <= old.id() || !seen.insert(v.id()) {
            continue;
        }
        stack.extend(v.owner_inputs().iter().cloned());
    }
    false
}
