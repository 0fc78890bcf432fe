//! The rewrite stage of the pipeline: graph → rewritten graph, before scheduling.
//!
//! Phases run in Theano's order (merge → canonicalize → stabilize → specialize → fusion →
//! inplace). This stage currently holds no rewrite: the kernels themselves are the numerically
//! stable forms, so every mode computes the same accurate values.

use crate::error::Result;
use crate::graph::Var;

/// Which rewrites run (Theano's compilation modes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// All phases (the default).
    #[default]
    FastRun,
    /// merge + canonicalize + stabilize.
    FastCompile,
    /// No rewrite at all (debugging, differential tests).
    None,
}

/// A named phase of rewrites.
struct Phase {
    #[allow(dead_code)]
    name: &'static str,
    rewrites: Vec<fn(&[Var]) -> Option<Vec<Var>>>,
}

fn phases(mode: &Mode) -> Vec<Phase> {
    match mode {
        Mode::None => vec![],
        Mode::FastCompile | Mode::FastRun => vec![Phase {
            name: "canonicalize",
            rewrites: vec![],
        }],
    }
}

/// Runs the phases of `mode` over the graph of `outputs`, each to a fixed point.
pub fn optimize(outputs: Vec<Var>, mode: &Mode) -> Result<Vec<Var>> {
    let mut outputs = outputs;
    for phase in phases(mode) {
        // A phase stops at a fixed point, or after a bounded number of sweeps.
        for _ in 0..100 {
            let mut changed = false;
            for r in &phase.rewrites {
                if let Some(new) = r(&outputs) {
                    outputs = new;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
    Ok(outputs)
}
