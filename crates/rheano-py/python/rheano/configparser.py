"""rheano.config: Theano's configuration object (floatX, mode), read from RHEANO_FLAGS/THEANO_FLAGS."""
import os

from . import _rheano


class Config:
    """Process-wide settings. ``config.floatX`` is the dtype of unprefixed constructors."""

    def __init__(self):
        self.mode = "Mode"
        self.compute_test_value = "off"
        self.cast_policy = "custom"
        for var in ("THEANO_FLAGS", "RHEANO_FLAGS"):
            for item in os.environ.get(var, "").split(","):
                key, _, value = item.partition("=")
                if key.strip() == "floatX" and value.strip():
                    self.floatX = value.strip()

    @property
    def floatX(self):
        return _rheano.float_x()

    @floatX.setter
    def floatX(self, value):
        if value not in ("float32", "float64"):
            raise ValueError("config.floatX must be 'float32' or 'float64', got %r" % (value,))
        _rheano.set_float_x(value)


config = Config()
