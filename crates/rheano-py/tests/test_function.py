"""Function options: profiling."""
import io

import numpy as np

import rheano as theano
import rheano.tensor as T


def test_profile_summary_names_the_steps():
    x = T.dvector("x")
    f = theano.function([x], T.nnet.sigmoid(x) * 2, profile=True)
    f(np.arange(5.0))
    assert f.profile is not None
    buf = io.StringIO()
    f.profile.summary(file=buf)
    text = buf.getvalue()
    assert "1 calls" in text and "Composite" in text
    g = theano.function([x], x + 1)
    assert g.profile is None
