//! `rheano._rheano`: the native core of the Python package. The Python layer (`python/rheano`)
//! gives it Theano's API; this module exposes graph building, compiled functions, gradients and
//! printing, and maps every error to the Python exception Theano raises.

use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use rheano::grad::{InputGrad, VerifyGradOptions};
use rheano::ops::ScalarOp;
use rheano::tensor::{self as TT, Bound as IdxBound, Idx};
use rheano::value::BorrowedValue;
use rheano::{DType, Error, Value, Var};
use rheano::{
    DisconnectedInputs, FunctionOptions, GradOptions, Mode, OnUnusedInput, ReturnDisconnected,
};

create_exception!(
    _rheano,
    MissingInputError,
    PyException,
    "A graph input was not given to function."
);
create_exception!(
    _rheano,
    UnusedInputError,
    PyException,
    "An input of function is not used by its outputs."
);
create_exception!(
    _rheano,
    DisconnectedInputError,
    PyValueError,
    "grad was asked for a variable the cost does not depend on."
);
create_exception!(
    _rheano,
    NullTypeGradError,
    PyTypeError,
    "A gradient is not defined."
);
create_exception!(
    _rheano,
    MethodNotDefined,
    PyException,
    "An op has no gradient for an input."
);

/// Maps rheano's errors to the exception types Theano raises.
fn err(e: rheano::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Type { .. } => PyTypeError::new_err(msg),
        Error::Value { .. } => PyValueError::new_err(msg),
        Error::Index { .. } => PyIndexError::new_err(msg),
        Error::MissingInput(_) => MissingInputError::new_err(msg),
        Error::UnusedInput(_) => UnusedInputError::new_err(msg),
        Error::DisconnectedInput(_) => DisconnectedInputError::new_err(msg),
        Error::NullTypeGrad(_) => NullTypeGradError::new_err(msg),
        Error::NotDifferentiable(_) => MethodNotDefined::new_err(msg),
    }
}

/// A symbolic variable (wrapped by `rheano.tensor.TensorVariable`).
#[pyclass(name = "Var", module = "rheano._rheano", frozen, from_py_object)]
#[derive(Clone)]
struct PyVar {
    v: Var,
}

/// Raises the error of an invalid variable at once (Theano raises when the graph is built).
fn checked(v: Var) -> PyResult<PyVar> {
    v.check().map_err(err)?;
    Ok(PyVar { v })
}

fn dtype_of(name: &str) -> PyResult<DType> {
    DType::from_name(name).ok_or_else(|| PyTypeError::new_err(format!("unsupported dtype {name:?}: rheano has bool, int8, int16, int32, int64, uint8, float32, float64")))
}

#[pymethods]
impl PyVar {
    #[getter]
    fn dtype(&self) -> &'static str {
        self.v.dtype().name()
    }
    #[getter]
    fn broadcastable(&self) -> Vec<bool> {
        self.v.broadcastable().to_vec()
    }
    #[getter]
    fn ndim(&self) -> usize {
        self.v.ndim()
    }
    #[getter]
    fn name(&self) -> Option<String> {
        self.v.name()
    }
    #[setter]
    fn set_name(&self, name: Option<String>) {
        self.v.set_name(name.as_deref());
    }
    #[getter]
    fn id(&self) -> u64 {
        self.v.id()
    }
    #[getter]
    fn type_str(&self) -> String {
        self.v.ty().to_string()
    }
    #[getter]
    fn is_shared(&self) -> bool {
        self.v.is_shared()
    }
    #[getter]
    fn is_constant(&self) -> bool {
        self.v.is_constant()
    }
    #[getter]
    fn is_input(&self) -> bool {
        self.v.is_input()
    }
    /// `str(op)` of the owner, or None for leaves.
    #[getter]
    fn owner_op(&self) -> Option<String> {
        self.v.op().map(|o| o.to_string())
    }
    /// The owner's inputs.
    fn owner_inputs(&self) -> Vec<PyVar> {
        self.v
            .owner_inputs()
            .iter()
            .map(|v| PyVar { v: v.clone() })
            .collect()
    }
    /// The value of a constant.
    fn constant_value(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.v.constant_value().map(|v| to_py(py, v.clone()))
    }
    fn __str__(&self) -> String {
        self.v.str_repr()
    }
    fn same(&self, other: &PyVar) -> bool {
        self.v == other.v
    }
}

/// A numpy array (any supported dtype) as a `Value` (a copy).
fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    Ok(match input_value(obj)? {
        Arg::Owned(v) => v,
        Arg::Borrowed(v, _) => (*v).clone(),
    })
}

/// Anything that must stay alive while a borrowed argument is read (numpy's read-only borrow).
trait KeepAlive {}
impl<T> KeepAlive for T {}

/// A function argument: read in place from the numpy buffer when it is C-contiguous and
/// aligned, copied otherwise.
enum Arg<'py> {
    Owned(Value),
    Borrowed(BorrowedValue, #[allow(dead_code)] Box<dyn KeepAlive + 'py>),
}

impl Arg<'_> {
    fn value(&self) -> &Value {
        match self {
            Arg::Owned(v) => v,
            Arg::Borrowed(v, _) => v,
        }
    }
}

fn input_value<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Arg<'py>> {
    macro_rules! try_dtype {
        ($t:ty) => {
            if let Ok(a) = obj.cast::<PyArrayDyn<$t>>() {
                let guard = a
                    .try_readonly()
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                let ptr = a.data() as *const $t;
                let in_place = a.is_c_contiguous()
                    && !ptr.is_null()
                    && (ptr as usize) % std::mem::align_of::<$t>() == 0;
                if in_place {
                    // SAFETY: C-contiguous, aligned, initialised numpy data, kept alive and
                    // read-borrowed by `guard` for as long as the argument lives.
                    let v = unsafe { BorrowedValue::from_raw(ptr, a.shape()) };
                    return Ok(Arg::Borrowed(v, Box::new(guard)));
                }
                return Ok(Arg::Owned(Value::from(guard.as_array().to_owned())));
            }
        };
    }
    try_dtype!(f64);
    try_dtype!(f32);
    try_dtype!(i64);
    try_dtype!(i32);
    try_dtype!(i8);
    try_dtype!(i16);
    try_dtype!(u8);
    if let Ok(a) = obj.cast::<PyArrayDyn<bool>>() {
        // Copied: a numpy bool byte is not guaranteed to be 0 or 1, as Rust's bool must be.
        return Ok(Arg::Owned(Value::from(a.readonly().as_array().to_owned())));
    }
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        return Err(PyTypeError::new_err(format!(
            "arrays of dtype {} are not supported: rheano has bool, int8, int16, int32, int64, uint8, float32, float64",
            a.dtype()
        )));
    }
    Err(PyTypeError::new_err(format!(
        "expected a numpy array, got {}",
        obj.get_type().name()?
    )))
}

/// Whether a function call reads `array` in place (no copy): C-contiguous, aligned, not bool.
#[pyfunction]
fn _reads_in_place(array: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(matches!(input_value(array)?, Arg::Borrowed(..)))
}

fn to_py(py: Python<'_>, v: Value) -> Py<PyAny> {
    match v {
        Value::Bool(a) => a.into_pyarray(py).into_any().unbind(),
        Value::I8(a) => a.into_pyarray(py).into_any().unbind(),
        Value::I16(a) => a.into_pyarray(py).into_any().unbind(),
        Value::I32(a) => a.into_pyarray(py).into_any().unbind(),
        Value::I64(a) => a.into_pyarray(py).into_any().unbind(),
        Value::U8(a) => a.into_pyarray(py).into_any().unbind(),
        Value::F32(a) => a.into_pyarray(py).into_any().unbind(),
        Value::F64(a) => a.into_pyarray(py).into_any().unbind(),
    }
}

fn vars(v: &[PyVar]) -> Vec<Var> {
    v.iter().map(|p| p.v.clone()).collect()
}

#[pyfunction]
#[pyo3(signature = (dtype, broadcastable, name=None))]
fn tensor(dtype: &str, broadcastable: Vec<bool>, name: Option<String>) -> PyResult<PyVar> {
    Ok(PyVar {
        v: TT::tensor(dtype_of(dtype)?, &broadcastable, name.as_deref()),
    })
}

#[pyfunction]
#[pyo3(signature = (value, name=None))]
fn constant(value: &Bound<'_, PyAny>, name: Option<String>) -> PyResult<PyVar> {
    let v = TT::constant(to_value(value)?);
    if let Some(n) = name {
        v.set_name(Some(&n));
    }
    Ok(PyVar { v })
}

fn scalar_op(name: &str) -> PyResult<ScalarOp> {
    use ScalarOp::*;
    Ok(match name {
        "add" => Add,
        "sub" => Sub,
        "mul" => Mul,
        "true_div" => TrueDiv,
        "int_div" => IntDiv,
        "mod" => Mod,
        "neg" => Neg,
        "pow" => Pow,
        "abs" => Abs,
        "sgn" => Sgn,
        "exp" => Exp,
        "log" => Log,
        "log1p" => Log1p,
        "expm1" => Expm1,
        "sqrt" => Sqrt,
        "sqr" => Sqr,
        "tanh" => Tanh,
        "sin" => Sin,
        "cos" => Cos,
        "maximum" => Maximum,
        "minimum" => Minimum,
        "inv" => Inv,
        "gt" => Gt,
        "lt" => Lt,
        "ge" => Ge,
        "le" => Le,
        "eq" => Eq,
        "neq" => Neq,
        "and" => And,
        "or" => Or,
        "invert" => Invert,
        "switch" => Switch,
        "clip" => Clip,
        "fill" => Second,
        "sigmoid" => Sigmoid,
        "softplus" => Softplus,
        "ultra_fast_sigmoid" => UltraFastSigmoid,
        "softsign" => Softsign,
        "relu" => Relu,
        "leaky_relu" => LeakyRelu,
        "elu" => Elu,
        "selu" => Selu,
        "sigmoid_binary_crossentropy" => SigmoidBinaryCrossentropy,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown elementwise op {other:?}"
            )))
        }
    })
}

/// An elementwise op by Theano's name.
#[pyfunction]
fn elemwise(name: &str, args: Vec<PyVar>) -> PyResult<PyVar> {
    let op = scalar_op(name)?;
    let mut e = rheano::ops::Elemwise::user(op);
    if op == ScalarOp::SigmoidBinaryCrossentropy {
        e.name = Some("sigmoid_binary_crossentropy{inline=True}".into());
    }
    checked(TT::elemwise(e, vars(&args)))
}

#[pyfunction]
fn cast(x: PyVar, dtype: &str) -> PyResult<PyVar> {
    checked(TT::cast(&x.v, dtype_of(dtype)?))
}

/// sum, prod, mean, max, min, argmax, argmin.
#[pyfunction]
#[pyo3(signature = (kind, x, axis=None, keepdims=false))]
fn reduce(kind: &str, x: PyVar, axis: Option<Vec<i64>>, keepdims: bool) -> PyResult<PyVar> {
    let axes = TT::Axes(axis);
    let v = &x.v;
    checked(match kind {
        "sum" => TT::sum(v, axes, keepdims),
        "prod" => TT::prod(v, axes, keepdims),
        "mean" => TT::mean(v, axes, keepdims),
        "max" => TT::max(v, axes, keepdims),
        "min" => TT::min(v, axes, keepdims),
        "argmax" => TT::argmax(v, axes, keepdims),
        "argmin" => TT::argmin(v, axes, keepdims),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown reduction {other:?}"
            )))
        }
    })
}

#[pyfunction]
fn dot(a: PyVar, b: PyVar) -> PyResult<PyVar> {
    checked(TT::dot(&a.v, &b.v))
}

#[pyfunction]
fn dimshuffle(x: PyVar, order: Vec<Option<usize>>) -> PyResult<PyVar> {
    checked(TT::dimshuffle(&x.v, &order))
}

#[pyfunction]
fn reshape(x: PyVar, shape: PyVar, ndim: usize) -> PyResult<PyVar> {
    checked(TT::reshape_var(&x.v, &shape.v, ndim))
}

#[pyfunction]
fn reshape_const(x: PyVar, shape: Vec<i64>) -> PyResult<PyVar> {
    checked(TT::reshape(&x.v, &shape))
}

#[pyfunction]
fn flatten(x: PyVar, ndim: usize) -> PyResult<PyVar> {
    checked(TT::flatten(&x.v, ndim))
}

#[pyfunction]
fn shape(x: PyVar) -> PyResult<PyVar> {
    checked(TT::shape(&x.v))
}

fn bound(obj: &Bound<'_, PyAny>) -> PyResult<Option<IdxBound>> {
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(v) = obj.extract::<PyVar>() {
        return Ok(Some(IdxBound::Var(v.v)));
    }
    Ok(Some(IdxBound::Const(obj.extract::<i64>()?)))
}

/// `x[entries]`; each entry is ("at", bound), ("slice", start, stop, step) or ("array", var).
#[pyfunction]
fn index(x: PyVar, entries: Vec<Bound<'_, PyTuple>>) -> PyResult<PyVar> {
    let mut idx = Vec::new();
    for e in entries {
        let kind: String = e.get_item(0)?.extract()?;
        idx.push(match kind.as_str() {
            "at" => Idx::At(
                bound(&e.get_item(1)?)?
                    .ok_or_else(|| PyIndexError::new_err("None is not an index"))?,
            ),
            "slice" => Idx::Slice(
                bound(&e.get_item(1)?)?,
                bound(&e.get_item(2)?)?,
                bound(&e.get_item(3)?)?,
            ),
            "array" => Idx::Array(e.get_item(1)?.extract::<PyVar>()?.v),
            other => return Err(PyValueError::new_err(format!("unknown index kind {other}"))),
        });
    }
    checked(TT::index(&x.v, &idx))
}

#[pyfunction]
fn arange(start: PyVar, stop: PyVar, step: PyVar, dtype: Option<&str>) -> PyResult<PyVar> {
    let v = TT::arange(&start.v, &stop.v, &step.v);
    match dtype {
        Some(d) if dtype_of(d)? != v.dtype() => checked(TT::cast(&v, dtype_of(d)?)),
        _ => checked(v),
    }
}

#[pyfunction]
fn alloc(value: PyVar, shape: Vec<PyVar>) -> PyResult<PyVar> {
    checked(TT::alloc(&value.v, vars(&shape)))
}

#[pyfunction]
fn concatenate(tensors: Vec<PyVar>, axis: i64) -> PyResult<PyVar> {
    checked(TT::concatenate(&vars(&tensors), axis))
}

#[pyfunction]
fn stack(tensors: Vec<PyVar>, axis: i64) -> PyResult<PyVar> {
    checked(TT::stack(&vars(&tensors), axis))
}

/// The nnet functions that are not elementwise; every result comes back as a list.
#[pyfunction]
#[pyo3(signature = (name, args, ints=vec![]))]
fn nnet(name: &str, args: Vec<PyVar>, ints: Vec<i64>) -> PyResult<Vec<PyVar>> {
    use rheano::tensor::nnet as N;
    let a = vars(&args);
    let one = |v: Var| vec![v];
    let out: Vec<Var> = match name {
        "softmax" => one(N::softmax(&a[0])),
        "logsoftmax" => one(N::logsoftmax(&a[0])),
        "softmax_axis" => one(N::softmax_axis(&a[0], ints.first().copied())),
        "logsoftmax_axis" => one(N::logsoftmax_axis(&a[0], ints.first().copied())),
        "softmax_with_bias" => one(N::softmax_with_bias(&a[0], &a[1])),
        "softmax_grad" => one(N::softmax_grad(&a[0], &a[1])),
        "hard_sigmoid" => one(N::hard_sigmoid(&a[0])),
        "binary_crossentropy" => one(N::binary_crossentropy(&a[0], &a[1])),
        "categorical_crossentropy" => one(N::categorical_crossentropy(&a[0], &a[1])),
        "crossentropy_categorical_1hot" => one(N::crossentropy_categorical_1hot(&a[0], &a[1])),
        "crossentropy_categorical_1hot_grad" => {
            one(N::crossentropy_categorical_1hot_grad(&a[0], &a[1], &a[2]))
        }
        "crossentropy_softmax_argmax_1hot_with_bias" => {
            let (n, s, m) = N::crossentropy_softmax_argmax_1hot_with_bias(&a[0], &a[1], &a[2]);
            vec![n, s, m]
        }
        "crossentropy_softmax_1hot_with_bias" => {
            let (n, s) = N::crossentropy_softmax_1hot_with_bias(&a[0], &a[1], &a[2]);
            vec![n, s]
        }
        "crossentropy_softmax_1hot" => {
            let (n, s) = N::crossentropy_softmax_1hot(&a[0], &a[1]);
            vec![n, s]
        }
        "crossentropy_softmax_max_and_argmax_1hot_with_bias" => {
            let (n, s, m, i) =
                N::crossentropy_softmax_max_and_argmax_1hot_with_bias(&a[0], &a[1], &a[2]);
            vec![n, s, m, i]
        }
        "crossentropy_softmax_max_and_argmax_1hot" => {
            let (n, s, m, i) = N::crossentropy_softmax_max_and_argmax_1hot(&a[0], &a[1]);
            vec![n, s, m, i]
        }
        "crossentropy_softmax_1hot_with_bias_dx" => one(N::crossentropy_softmax_1hot_with_bias_dx(
            &a[0], &a[1], &a[2],
        )),
        "confusion_matrix" => {
            let (c, o) = N::confusion_matrix(&a[0], &a[1]);
            vec![c, o]
        }
        "prepend_scalar_to_each_row" => one(N::prepend_scalar_to_each_row(&a[0], &a[1])),
        "h_softmax" => {
            let target = a.get(5);
            one(N::h_softmax(
                &a[0], ints[0], ints[1], ints[2], ints[3], &a[1], &a[2], &a[3], &a[4], target,
            ))
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown nnet function {other:?}"
            )))
        }
    };
    out.into_iter().map(checked).collect()
}

#[pyfunction]
fn prepend_scalar_constant_to_each_row(mat: PyVar, val: f64) -> PyResult<PyVar> {
    checked(rheano::tensor::nnet::prepend_scalar_constant_to_each_row(
        &mat.v, val,
    ))
}

#[pyfunction]
#[pyo3(signature = (value, name=None, broadcastable=None))]
fn shared(
    value: &Bound<'_, PyAny>,
    name: Option<String>,
    broadcastable: Option<Vec<bool>>,
) -> PyResult<PyVar> {
    let v = to_value(value)?;
    let n = name.clone().unwrap_or_default();
    let var = match broadcastable {
        Some(b) => rheano::shared_broadcastable(v, &n, &b).map_err(err)?,
        None => rheano::shared(v, &n),
    };
    if name.is_none() {
        var.set_name(None);
    }
    Ok(PyVar { v: var })
}

#[pyfunction]
fn get_value(py: Python<'_>, v: PyVar) -> PyResult<Py<PyAny>> {
    Ok(to_py(py, v.v.get_value().map_err(err)?))
}

#[pyfunction]
fn set_value(v: PyVar, value: &Bound<'_, PyAny>) -> PyResult<()> {
    v.v.set_value(to_value(value)?).map_err(err)
}

/// A compiled function (wrapped by `rheano.compile.Function`).
#[pyclass(name = "Function", module = "rheano._rheano", frozen)]
struct PyFunction {
    f: rheano::Function,
}

#[pymethods]
impl PyFunction {
    /// Runs the function on numpy arrays (converted by the Python layer); the GIL is released
    /// while it runs, so several Python threads may call it.
    fn __call__(&self, py: Python<'_>, args: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<Py<PyAny>>> {
        let inputs = self.f.inputs();
        let args = args
            .iter()
            .enumerate()
            .map(|(k, a)| {
                input_value(a).map_err(|e| match (inputs.get(k), a.cast::<PyUntypedArray>()) {
                    (Some(v), Ok(arr)) => PyTypeError::new_err(format!(
                        "function input {k} ({}): {} cannot store a value of dtype {} (rheano has bool, int8, int16, int32, int64, uint8, float32, float64)",
                        v.name().unwrap_or_else(|| v.str_repr()),
                        v.ty(),
                        arr.dtype()
                    )),
                    _ => e,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let values: Vec<&Value> = args.iter().map(Arg::value).collect();
        let out = py.detach(|| self.f.call_refs(&values)).map_err(err)?;
        Ok(out.into_iter().map(|v| to_py(py, v)).collect())
    }

    fn debugprint(&self) -> String {
        self.f.debugprint()
    }

    fn profile_summary(&self) -> String {
        self.f.profile_summary()
    }

    fn output_vars(&self) -> Vec<PyVar> {
        self.f
            .outputs()
            .iter()
            .map(|v| PyVar { v: v.clone() })
            .collect()
    }
}

#[pyfunction]
#[pyo3(signature = (inputs, outputs, updates, givens, on_unused_input, allow_input_downcast, mode, including=vec![], excluding=vec![], threads=None, profile=false))]
#[allow(clippy::too_many_arguments)]
fn compile(
    inputs: Vec<PyVar>,
    outputs: Vec<PyVar>,
    updates: Vec<(PyVar, PyVar)>,
    givens: Vec<(PyVar, PyVar)>,
    on_unused_input: &str,
    allow_input_downcast: bool,
    mode: &str,
    including: Vec<String>,
    excluding: Vec<String>,
    threads: Option<usize>,
    profile: bool,
) -> PyResult<PyFunction> {
    let opts = FunctionOptions {
        updates: updates.into_iter().map(|(a, b)| (a.v, b.v)).collect(),
        givens: givens.into_iter().map(|(a, b)| (a.v, b.v)).collect(),
        on_unused_input: match on_unused_input {
            "raise" => OnUnusedInput::Raise,
            "warn" => OnUnusedInput::Warn,
            "ignore" => OnUnusedInput::Ignore,
            o => {
                return Err(PyValueError::new_err(format!(
                    "on_unused_input must be 'raise', 'warn' or 'ignore', got {o:?}"
                )))
            }
        },
        allow_input_downcast,
        mode: match mode {
            "FAST_RUN" => Mode::FastRun,
            "FAST_COMPILE" => Mode::FastCompile,
            "NONE" => Mode::None,
            o => {
                return Err(PyValueError::new_err(format!(
                    "mode must be 'FAST_RUN', 'FAST_COMPILE' or None-like, got {o:?}"
                )))
            }
        },
        threads,
        including,
        excluding,
        explain: false,
        profile,
    };
    let i = vars(&inputs);
    let o = vars(&outputs);
    let ir: Vec<&Var> = i.iter().collect();
    let or: Vec<&Var> = o.iter().collect();
    Ok(PyFunction {
        f: rheano::function_with(&ir, &or, opts).map_err(err)?,
    })
}

#[pyfunction]
#[pyo3(signature = (cost, wrt, consider_constant, known_grads, disconnected_inputs, return_disconnected))]
fn grad(
    cost: Option<PyVar>,
    wrt: Vec<PyVar>,
    consider_constant: Vec<PyVar>,
    known_grads: Vec<(PyVar, PyVar)>,
    disconnected_inputs: &str,
    return_disconnected: &str,
) -> PyResult<Vec<Option<PyVar>>> {
    let opts = GradOptions {
        consider_constant: vars(&consider_constant),
        known_grads: known_grads.into_iter().map(|(a, b)| (a.v, b.v)).collect(),
        disconnected_inputs: match disconnected_inputs {
            "raise" => DisconnectedInputs::Raise,
            "warn" => DisconnectedInputs::Warn,
            "ignore" => DisconnectedInputs::Ignore,
            o => {
                return Err(PyValueError::new_err(format!(
                    "disconnected_inputs must be 'raise', 'warn' or 'ignore', got {o:?}"
                )))
            }
        },
        return_disconnected: match return_disconnected {
            "zero" => ReturnDisconnected::Zero,
            _ => ReturnDisconnected::None,
        },
    };
    let w = vars(&wrt);
    let wr: Vec<&Var> = w.iter().collect();
    let out = rheano::grad_with(cost.as_ref().map(|c| &c.v), &wr, &opts).map_err(err)?;
    Ok(out.into_iter().map(|g| g.map(|v| PyVar { v })).collect())
}

/// verify_grad with `fun` taking and returning `Var`s (the Python layer wraps them).
#[pyfunction]
#[pyo3(signature = (fun, pt, n_tests, eps, abs_tol, rel_tol, seed))]
#[allow(clippy::too_many_arguments)]
fn verify_grad(
    py: Python<'_>,
    fun: Py<PyAny>,
    pt: Vec<Bound<'_, PyAny>>,
    n_tests: usize,
    eps: f64,
    abs_tol: Option<f64>,
    rel_tol: Option<f64>,
    seed: u64,
) -> PyResult<()> {
    let values = pt.iter().map(to_value).collect::<PyResult<Vec<_>>>()?;
    let mut py_err: Option<PyErr> = None;
    let err_cell = std::cell::RefCell::new(&mut py_err);
    let f = |inputs: &[Var]| -> Var {
        let args: Vec<PyVar> = inputs.iter().map(|v| PyVar { v: v.clone() }).collect();
        match fun
            .call1(py, (args,))
            .and_then(|r| r.extract::<PyVar>(py).map_err(PyErr::from))
        {
            Ok(v) => v.v,
            Err(e) => {
                let msg = e.to_string();
                **err_cell.borrow_mut() = Some(e);
                Var::invalid(Error::Value {
                    op: "verify_grad".into(),
                    msg,
                })
            }
        }
    };
    let opts = VerifyGradOptions {
        n_tests,
        eps,
        abs_tol,
        rel_tol,
        seed,
    };
    let r = rheano::grad::verify_grad(f, &values, &opts);
    if let Some(e) = py_err {
        return Err(e);
    }
    r.map_err(|e| match e {
        Error::Value { msg, .. } => PyValueError::new_err(msg),
        other => err(other),
    })
}

#[pyfunction]
fn pprint(v: PyVar) -> String {
    rheano::pprint(&v.v)
}

#[pyfunction]
#[pyo3(signature = (outputs, print_type=false, ids="CHAR", stop_on_name=false, depth=None))]
fn debugprint(
    outputs: Vec<PyVar>,
    print_type: bool,
    ids: &str,
    stop_on_name: bool,
    depth: Option<usize>,
) -> PyResult<String> {
    use rheano::printing::IdStyle;
    let opts = rheano::DebugPrintOptions {
        print_type,
        stop_on_name,
        depth,
        ids: match ids {
            "CHAR" => IdStyle::Char,
            "int" => IdStyle::Int,
            "" => IdStyle::None,
            o => {
                return Err(PyValueError::new_err(format!(
                    "ids must be 'CHAR', 'int' or '', got {o:?}"
                )))
            }
        },
    };
    let v = vars(&outputs);
    let r: Vec<&Var> = v.iter().collect();
    Ok(rheano::debugprint_with(&r, &opts))
}

#[pyfunction]
fn set_float_x(name: &str) -> PyResult<()> {
    rheano::set_float_x(dtype_of(name)?).map_err(err)
}

#[pyfunction]
fn float_x() -> &'static str {
    rheano::float_x().name()
}

/// Routes rheano's warnings to Python's `warnings.warn(msg, UserWarning)`.
fn install_warning_hook() {
    rheano::set_warning_hook(|msg| {
        Python::attach(|py| {
            if let Ok(w) = py.import("warnings") {
                let _ = w.call_method1("warn", (msg.to_string(),));
            }
        })
    });
}

/// Which inputs an op's gradient leaves disconnected (used by tests of the Python layer).
#[pyfunction]
fn grad_is_defined(v: PyVar) -> bool {
    match v.v.owner() {
        None => true,
        Some((apply, _)) => {
            let outs: Vec<Option<Var>> =
                (0..apply.n_outputs()).map(|_| Some(v.v.clone())).collect();
            let g: Vec<Option<Var>> = (0..apply.n_outputs())
                .map(|_| Some(TT::ones_like(&v.v)))
                .collect();
            !apply
                .op
                .grad(&apply.inputs, &outs, &g)
                .iter()
                .any(|x| matches!(x, InputGrad::Undefined(_)))
        }
    }
}

/// Outputs of repeated calls reuse freed blocks (see `rheano::alloc`); numpy arrays returned to
/// Python own Rust buffers, so their frees come back here too.
#[global_allocator]
static ALLOC: rheano::alloc::Recycling = rheano::alloc::Recycling::new();

#[pymodule]
fn _rheano(m: &Bound<'_, PyModule>) -> PyResult<()> {
    install_warning_hook();
    rheano::alloc::set_limit_from_env();
    let py = m.py();
    m.add_class::<PyVar>()?;
    m.add_class::<PyFunction>()?;
    m.add("MissingInputError", py.get_type::<MissingInputError>())?;
    m.add("UnusedInputError", py.get_type::<UnusedInputError>())?;
    m.add(
        "DisconnectedInputError",
        py.get_type::<DisconnectedInputError>(),
    )?;
    m.add("NullTypeGradError", py.get_type::<NullTypeGradError>())?;
    m.add("MethodNotDefined", py.get_type::<MethodNotDefined>())?;
    m.add_function(wrap_pyfunction!(tensor, m)?)?;
    m.add_function(wrap_pyfunction!(constant, m)?)?;
    m.add_function(wrap_pyfunction!(elemwise, m)?)?;
    m.add_function(wrap_pyfunction!(cast, m)?)?;
    m.add_function(wrap_pyfunction!(reduce, m)?)?;
    m.add_function(wrap_pyfunction!(dot, m)?)?;
    m.add_function(wrap_pyfunction!(dimshuffle, m)?)?;
    m.add_function(wrap_pyfunction!(reshape, m)?)?;
    m.add_function(wrap_pyfunction!(reshape_const, m)?)?;
    m.add_function(wrap_pyfunction!(flatten, m)?)?;
    m.add_function(wrap_pyfunction!(shape, m)?)?;
    m.add_function(wrap_pyfunction!(index, m)?)?;
    m.add_function(wrap_pyfunction!(arange, m)?)?;
    m.add_function(wrap_pyfunction!(alloc, m)?)?;
    m.add_function(wrap_pyfunction!(concatenate, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(nnet, m)?)?;
    m.add_function(wrap_pyfunction!(prepend_scalar_constant_to_each_row, m)?)?;
    m.add_function(wrap_pyfunction!(shared, m)?)?;
    m.add_function(wrap_pyfunction!(get_value, m)?)?;
    m.add_function(wrap_pyfunction!(_reads_in_place, m)?)?;
    m.add_function(wrap_pyfunction!(set_value, m)?)?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(grad, m)?)?;
    m.add_function(wrap_pyfunction!(verify_grad, m)?)?;
    m.add_function(wrap_pyfunction!(pprint, m)?)?;
    m.add_function(wrap_pyfunction!(debugprint, m)?)?;
    m.add_function(wrap_pyfunction!(set_float_x, m)?)?;
    m.add_function(wrap_pyfunction!(float_x, m)?)?;
    m.add_function(wrap_pyfunction!(grad_is_defined, m)?)?;
    let _ = PyList::empty(py);
    Ok(())
}
