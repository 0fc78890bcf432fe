//! Rust operators on variables: `+ - * / %` and unary `-`, with numbers typed as Theano types
//! Python literals (see [`super::IntoVar`]). On the left of an operator a float literal is an
//! `f64` (Python float); write `T::constant(2.0f32) * x` for a float32 constant there.

use super::{add, mod_, mul, neg, sub, true_div, IntoVar};
use crate::graph::Var;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

macro_rules! var_ops {
    ($($trait:ident $method:ident $f:ident;)*) => {$(
        impl<R: IntoVar> $trait<R> for Var {
            type Output = Var;
            fn $method(self, rhs: R) -> Var {
                $f(self, rhs)
            }
        }
        impl<R: IntoVar> $trait<R> for &Var {
            type Output = Var;
            fn $method(self, rhs: R) -> Var {
                $f(self, rhs)
            }
        }
        impl $trait<Var> for f64 {
            type Output = Var;
            fn $method(self, rhs: Var) -> Var {
                $f(self, rhs)
            }
        }
        impl $trait<&Var> for f64 {
            type Output = Var;
            fn $method(self, rhs: &Var) -> Var {
                $f(self, rhs)
            }
        }
        impl $trait<Var> for i32 {
            type Output = Var;
            fn $method(self, rhs: Var) -> Var {
                $f(self, rhs)
            }
        }
        impl $trait<&Var> for i32 {
            type Output = Var;
            fn $method(self, rhs: &Var) -> Var {
                $f(self, rhs)
            }
        }
        impl $trait<Var> for i64 {
            type Output = Var;
            fn $method(self, rhs: Var) -> Var {
                $f(self, rhs)
            }
        }
        impl $trait<&Var> for i64 {
            type Output = Var;
            fn $method(self, rhs: &Var) -> Var {
                $f(self, rhs)
            }
        }
    )*};
}

var_ops! {
    Add add add;
    Sub sub sub;
    Mul mul mul;
    Div div true_div;
    Rem rem mod_;
}

impl Neg for Var {
    type Output = Var;
    fn neg(self) -> Var {
        neg(self)
    }
}

impl Neg for &Var {
    type Output = Var;
    fn neg(self) -> Var {
        neg(self)
    }
}
