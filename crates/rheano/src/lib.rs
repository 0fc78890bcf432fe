//! # rheano
//!
//! A symbolic tensor compiler in the spirit of Theano, with Theano's neural-network module `nnet`.
//! Describe a computation as a typed expression graph, print it as Theano does, and compile it
//! into a function.
//!
//! ```
//! use rheano::prelude::*;
//! use ndarray::array;
//!
//! let [x, b] = T::dvectors(["x", "b"]);
//! let w = T::dmatrix("W");
//! let out = T::nnet::sigmoid(&(T::dot(&w, &x) + &b));
//! assert_eq!(pprint(&out), r"sigmoid(((W \dot x) + b))");
//!
//! let f = function(&[&w, &x, &b], &[&out]).unwrap();
//! let r = f
//!     .call(&[array![[1.0, 0.0], [0.0, 1.0]].into(), array![0.0, 0.0].into(), array![0.0, 0.0].into()])
//!     .unwrap();
//! assert_eq!(r[0].to_f64_vec(), vec![0.5, 0.5]);
//! ```

// `Var` is a key in maps: its hash and equality use only its immutable id, not the name lock.
#![allow(clippy::mutable_key_type)]

#[macro_use]
mod macros;

pub mod alloc;
pub mod compile;
pub mod dtype;
pub mod error;
pub mod fgraph;
pub mod grad;
pub mod graph;
pub mod math;
pub mod ops;
pub mod printing;
pub mod rewrite;
pub mod runtime;
pub mod shared;
pub mod tensor;
pub mod types;
pub mod value;

pub use compile::{function, function_with, Function, FunctionOptions, OnUnusedInput};
pub use dtype::{float_x, set_float_x, DType};
pub use error::{Error, Result};
pub use grad::{grad, grad_with, sgd, DisconnectedInputs, GradOptions, ReturnDisconnected};
pub use graph::Var;
pub use printing::{debugprint, debugprint_with, pprint, DebugPrintOptions};
pub use rewrite::Mode;
pub use shared::{shared, shared_broadcastable};
pub use types::TensorType;
pub use value::Value;

use std::sync::RwLock;

type WarnHook = Box<dyn Fn(&str) + Send + Sync>;
static WARN_HOOK: RwLock<Option<WarnHook>> = RwLock::new(None);

/// Emits a user warning (Theano's `UserWarning`): to stderr, or to the hook set by
/// [`set_warning_hook`] (the Python bindings route them to `warnings.warn`).
pub fn warn(msg: &str) {
    match WARN_HOOK.read().ok().as_deref() {
        Some(Some(hook)) => hook(msg),
        _ => eprintln!("UserWarning: {msg}"),
    }
}

/// Routes warnings to `hook` instead of stderr.
pub fn set_warning_hook(hook: impl Fn(&str) + Send + Sync + 'static) {
    if let Ok(mut h) = WARN_HOOK.write() {
        *h = Some(Box::new(hook));
    }
}

/// Everything a user needs: `T` (constructors, ops, `T::nnet`), `function`, `pprint`, ...
pub mod prelude {
    pub use crate::compile::{function, function_with, Function, FunctionOptions, OnUnusedInput};
    pub use crate::dtype::DType;
    pub use crate::grad::{grad, grad_with, GradOptions};
    pub use crate::graph::Var;
    pub use crate::printing::{debugprint, pprint};
    pub use crate::shared::shared;
    pub use crate::tensor as T;
    pub use crate::value::Value;
    pub use crate::{Error, Result};
}
