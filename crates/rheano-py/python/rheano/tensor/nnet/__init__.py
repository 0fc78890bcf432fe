"""rheano.tensor.nnet: Theano's neural-network activations and losses."""
import numbers

from ... import _rheano
from ..basic import TensorVariable, _ew, _v, _wrap, _wrap_all, as_tensor_variable, exp, sum as _sum


def sigmoid(x):
    """1 / (1 + exp(-x)), within 2 ULP over the whole range."""
    return _ew("sigmoid", x)


sigmoid_inplace = sigmoid
scalar_sigmoid = sigmoid


def ultra_fast_sigmoid(x):
    """Theano's piecewise approximation of sigmoid (max error 0.0276); gradient y(1-y)."""
    return _ew("ultra_fast_sigmoid", x)


def hard_sigmoid(x):
    """clip(x*0.2 + 0.5, 0, 1), Theano's graph."""
    return _wrap(_rheano.nnet("hard_sigmoid", [_v(x)])[0])


def softplus(x):
    """log(1 + exp(x)), within 2 ULP."""
    return _ew("softplus", x)


def softsign(x):
    """x / (1 + |x|)."""
    return _ew("softsign", x)


def relu(x, alpha=0):
    """max(x, 0); with alpha, x for x > 0 and alpha*x otherwise (alpha a number or a tensor)."""
    if isinstance(alpha, numbers.Number) and not isinstance(alpha, bool) and alpha == 0:
        return _ew("relu", x)
    return _ew("leaky_relu", x, alpha)


def elu(x, alpha=1):
    """x for x > 0, alpha*(exp(x) - 1) otherwise."""
    return _ew("elu", x, alpha)


def selu(x):
    """scale * elu(x, alpha) with the SELU constants."""
    return _ew("selu", x)


def softmax(c, axis=None):
    """Theano's row-wise softmax (a vector becomes a (1, n) row, with a warning); with `axis`,
    the softmax over that axis of a tensor of any rank."""
    if axis is None:
        return _wrap(_rheano.nnet("softmax", [_v(c)])[0])
    return _wrap(_rheano.nnet("softmax_axis", [_v(c)], [int(axis)])[0])


softmax_op = softmax


def logsoftmax(c, axis=None):
    """Row-wise log-softmax (or over `axis`)."""
    if axis is None:
        return _wrap(_rheano.nnet("logsoftmax", [_v(c)])[0])
    return _wrap(_rheano.nnet("logsoftmax_axis", [_v(c)], [int(axis)])[0])


logsoftmax_op = logsoftmax
log_softmax = logsoftmax


def softmax_graph(c):
    """exp(c) / exp(c).sum(axis=-1, keepdims=True), Theano's naive helper."""
    e = exp(c)
    return e / _sum(e, axis=-1, keepdims=True)


def softmax_with_bias(x, b):
    return _wrap(_rheano.nnet("softmax_with_bias", [_v(x), _v(b)])[0])


def softmax_grad(dy, sm):
    return _wrap(_rheano.nnet("softmax_grad", [_v(dy), _v(sm)])[0])


def binary_crossentropy(output, target):
    """-(target*log(output) + (1-target)*log(1-output)); stable when output is sigmoid(z)."""
    return _wrap(_rheano.nnet("binary_crossentropy", [_v(output), _v(target)])[0])


def sigmoid_binary_crossentropy(output, target):
    """Binary crossentropy on logits; gradient sigmoid(output) - target."""
    return _ew("sigmoid_binary_crossentropy", output, target)


def categorical_crossentropy(coding_dist, true_dist):
    """-sum(true*log(coding), axis=-1) for one-hot/soft targets; -log(coding[i, t_i]) for labels."""
    return _wrap(_rheano.nnet("categorical_crossentropy", [_v(coding_dist), _v(true_dist)])[0])


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    return _wrap(_rheano.nnet("crossentropy_categorical_1hot", [_v(coding_dist), _v(true_one_of_n)])[0])


def crossentropy_categorical_1hot_grad(g_y, coding_dist, true_one_of_n):
    return _wrap(_rheano.nnet("crossentropy_categorical_1hot_grad", [_v(g_y), _v(coding_dist), _v(true_one_of_n)])[0])


def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
    return _wrap_all(_rheano.nnet("crossentropy_softmax_argmax_1hot_with_bias", [_v(x), _v(b), _v(y_idx)]))


def crossentropy_softmax_1hot_with_bias(x, b, y_idx):
    return _wrap_all(_rheano.nnet("crossentropy_softmax_1hot_with_bias", [_v(x), _v(b), _v(y_idx)]))


def crossentropy_softmax_1hot(x, y_idx):
    return _wrap_all(_rheano.nnet("crossentropy_softmax_1hot", [_v(x), _v(y_idx)]))


def crossentropy_softmax_max_and_argmax_1hot_with_bias(x, b, y_idx):
    return _wrap_all(_rheano.nnet("crossentropy_softmax_max_and_argmax_1hot_with_bias", [_v(x), _v(b), _v(y_idx)]))


def crossentropy_softmax_max_and_argmax_1hot(x, y_idx):
    return _wrap_all(_rheano.nnet("crossentropy_softmax_max_and_argmax_1hot", [_v(x), _v(y_idx)]))


def crossentropy_softmax_1hot_with_bias_dx(dy, sm, y_idx):
    return _wrap(_rheano.nnet("crossentropy_softmax_1hot_with_bias_dx", [_v(dy), _v(sm), _v(y_idx)])[0])


def confusion_matrix(actual, pred):
    """[confusion matrix (rows actual, columns predicted), sorted distinct labels]."""
    return _wrap_all(_rheano.nnet("confusion_matrix", [_v(actual), _v(pred)]))


def prepend_scalar_to_each_row(val, mat):
    if isinstance(val, numbers.Number):
        return _wrap(_rheano.prepend_scalar_constant_to_each_row(_v(mat), float(val)))
    return _wrap(_rheano.nnet("prepend_scalar_to_each_row", [_v(val), _v(mat)])[0])


def prepend_0_to_each_row(mat):
    return _wrap(_rheano.prepend_scalar_constant_to_each_row(_v(mat), 0.0))


def prepend_1_to_each_row(mat):
    return _wrap(_rheano.prepend_scalar_constant_to_each_row(_v(mat), 1.0))


def h_softmax(x, batch_size, n_outputs, n_classes, n_outputs_per_class, W1, b1, W2, b2, target=None):
    """Two-level hierarchical softmax (Theano's signature)."""
    args = [_v(x), _v(W1), _v(b1), _v(W2), _v(b2)]
    if target is not None:
        args.append(_v(target))
    return _wrap(_rheano.nnet("h_softmax", args, [int(batch_size), int(n_outputs), int(n_classes), int(n_outputs_per_class)])[0])


__all__ = [n for n in dir() if not n.startswith("_")]
