//! One error type for every user mistake; each variant names the op or input concerned.

/// Errors of graph construction, compilation and execution.
///
/// The variants follow the Python exception types Theano raises, so the Python bindings can map
/// them one to one: `Type` → `TypeError`, `Value` → `ValueError`, and so on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// Wrong types for an op, or a value of the wrong dtype/ndim for an input (TypeError).
    #[error("{op}: {msg}")]
    Type { op: String, msg: String },
    /// Wrong values: shape mismatch, out-of-range index or label (ValueError).
    #[error("{op}: {msg}")]
    Value { op: String, msg: String },
    /// Index out of range at run time (IndexError).
    #[error("{op}: {msg}")]
    Index { op: String, msg: String },
    /// A graph input needed by the outputs was not given to `function` (MissingInputError).
    #[error("{0}")]
    MissingInput(String),
    /// An input given to `function` is not used by the outputs (UnusedInputError).
    #[error("{0}")]
    UnusedInput(String),
    /// `grad` was asked for a variable the cost does not depend on (DisconnectedInputError).
    #[error("{0}")]
    DisconnectedInput(String),
    /// A gradient that is not defined (NullTypeGradError).
    #[error("{0}")]
    NullTypeGrad(String),
    /// An op cannot be differentiated with respect to an input (MethodNotDefined).
    #[error("{0}")]
    NotDifferentiable(String),
}

impl Error {
    pub(crate) fn ty(op: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::Type {
            op: op.into(),
            msg: msg.into(),
        }
    }
    pub(crate) fn value(op: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::Value {
            op: op.into(),
            msg: msg.into(),
        }
    }
    pub(crate) fn index(op: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::Index {
            op: op.into(),
            msg: msg.into(),
        }
    }
}

/// `Result` with rheano's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
