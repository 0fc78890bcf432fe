//! Kernels that reach the machine's limits; ops call into them from `perform`.

pub mod elemwise;
