"""rheano: Theano's API on a symbolic tensor compiler written in Rust.

    import rheano as theano
    from rheano import tensor as T
"""
from . import _rheano  # noqa: F401
from .configparser import config  # noqa: F401
from . import tensor  # noqa: F401
from .compile import In, Mode, FAST_COMPILE, FAST_RUN, SharedVariable, function, shared  # noqa: F401
from .compile import MissingInputError, UnusedInputError  # noqa: F401
from . import gradient, printing  # noqa: F401
from .gradient import grad  # noqa: F401
from .printing import pp, pprint  # noqa: F401

__version__ = "0.1.0"
