//! Shared variables: values that live across calls of compiled functions (spec §6.2).

use crate::error::{Error, Result};
use crate::graph::{Var, VarKind};
use crate::types::TensorType;
use crate::value::Value;
use std::sync::{Arc, RwLock};

/// A shared variable holding a copy of `value`, all dims non-broadcastable (Theano's
/// `theano.shared`). It is an implicit input of every function that reads it; functions update it
/// through their `updates`.
///
/// ```
/// use rheano::prelude::*;
/// use ndarray::array;
/// let w = rheano::shared(array![1.0, 2.0], "w");
/// let f = rheano::function_with(&[], &[&w.sum()], rheano::FunctionOptions {
///     updates: vec![(w.clone(), &w * 2.0)],
///     ..Default::default()
/// }).unwrap();
/// assert_eq!(f.call(&[]).unwrap()[0].to_f64_vec(), vec![3.0]);   // old value
/// assert_eq!(w.get_value().unwrap().to_f64_vec(), vec![2.0, 4.0]); // then updated
/// ```
pub fn shared(value: impl Into<Value>, name: &str) -> Var {
    let v = value.into();
    let ty = TensorType::dense(v.dtype(), v.ndim());
    shared_typed(v, ty, Some(name))
}

/// A shared variable with an explicit broadcastable pattern (Theano's `broadcastable=`).
pub fn shared_broadcastable(
    value: impl Into<Value>,
    name: &str,
    broadcastable: &[bool],
) -> Result<Var> {
    let v = value.into();
    let ty = TensorType::new(v.dtype(), broadcastable.to_vec());
    check_value(&ty, &v, name)?;
    Ok(shared_typed(v, ty, Some(name)))
}

fn shared_typed(v: Value, ty: TensorType, name: Option<&str>) -> Var {
    Var::new(
        ty,
        name.map(str::to_string),
        VarKind::Shared(Arc::new(RwLock::new(Arc::new(v)))),
    )
}

fn check_value(ty: &TensorType, v: &Value, name: &str) -> Result<()> {
    let who = format!("shared variable {name}");
    if v.ndim() != ty.ndim() {
        return Err(Error::ty(
            who,
            format!(
                "Wrong number of dimensions: expected {}, got {} with shape {:?}.",
                ty.ndim(),
                v.ndim(),
                v.shape()
            ),
        ));
    }
    for (d, (&b, &n)) in ty.broadcastable.iter().zip(v.shape()).enumerate() {
        if b && n != 1 {
            return Err(Error::ty(
                who,
                format!(
                    "Non-unit value on shape on a broadcastable dimension ({d} has length {n})."
                ),
            ));
        }
    }
    Ok(())
}

impl Var {
    /// A copy of a shared variable's value (`get_value()`); an error for other variables.
    pub fn get_value(&self) -> Result<Value> {
        let cell = self.shared_cell().ok_or_else(|| {
            Error::ty(
                "get_value",
                format!("{} is not a shared variable", self.str_repr()),
            )
        })?;
        Ok(cell.read().expect("shared lock").as_ref().clone())
    }

    /// Replaces a shared variable's value by a copy of `value` (`set_value`). The ndim must
    /// match; the dtype must convert without loss (float32 into float64 is accepted and cast,
    /// float64 into float32 is refused); the shape may change.
    pub fn set_value(&self, value: impl Into<Value>) -> Result<()> {
        let name = self.name().unwrap_or_else(|| self.str_repr());
        let cell = self
            .shared_cell()
            .ok_or_else(|| Error::ty("set_value", format!("{name} is not a shared variable")))?;
        let v: Value = value.into();
        check_value(self.ty(), &v, &name)?;
        if v.dtype() != self.dtype() && !v.dtype().can_cast_safely_to(self.dtype()) {
            return Err(Error::ty(
                format!("shared variable {name}"),
                format!(
                    "{} cannot store a value of dtype {} without risking loss of precision: cast it to {} first",
                    self.ty(),
                    v.dtype(),
                    self.dtype()
                ),
            ));
        }
        *cell.write().expect("shared lock") = Arc::new(v.cast(self.dtype()));
        Ok(())
    }
}
