"""theano.printing: pprint and debugprint."""
import sys

from . import _rheano
from .tensor.basic import TensorVariable, as_tensor_variable


def pprint(var):
    """Theano's pretty printer; it never fails."""
    if isinstance(var, (list, tuple)):
        return "\n".join(pprint(v) for v in var)
    return _rheano.pprint(as_tensor_variable(var)._v)


pp = pprint


def debugprint(obj, depth=-1, print_type=False, file=None, ids="CHAR", stop_on_name=False, done=None,
               print_storage=False, print_clients=False, used_ids=None):
    """Theano's debugprint of a variable, a list of variables or a compiled function.
    file='str' returns the text; otherwise it is printed (to `file` or stdout)."""
    from .compile import Function
    if isinstance(obj, Function):
        text = obj.debugprint()
    else:
        objs = obj if isinstance(obj, (list, tuple)) else [obj]
        vs = [as_tensor_variable(o)._v for o in objs]
        text = _rheano.debugprint(vs, bool(print_type), ids, bool(stop_on_name), None if depth is None or depth < 0 else int(depth))
    if file == "str":
        return text
    out = file or sys.stdout
    out.write(text)
    return out


__all__ = ["pprint", "pp", "debugprint", "TensorVariable"]
