"""rheano.tensor: Theano's `theano.tensor` on rheano."""
from .basic import *  # noqa: F401,F403
from .basic import (TensorConstant, TensorType, TensorVariable, AsTensorError, as_tensor_variable,  # noqa: F401
                    constant, abs_, sum, max, min, pow, abs)
from . import nnet  # noqa: F401
from ..gradient import grad  # noqa: F401,E402

_tensor_py_operators = TensorVariable
