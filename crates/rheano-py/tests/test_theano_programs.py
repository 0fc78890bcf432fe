"""Realistic Theano programs (tools/theano_programs.py) run on rheano; the expected numbers were
recorded from Theano 1.0.5 itself (tools/gen_theano_fixtures.py) and must match to 1e-6."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rheano
import theano_programs

REL = 1e-6


def close(got, want, rel=REL):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape
    assert np.allclose(got, want, rtol=rel, atol=1e-12), (got, want)


def test_logistic_regression(theano_fixtures):
    r = theano_programs.logistic_regression(rheano)
    e = theano_fixtures["logistic_regression"]
    close(r["losses"], e["losses"])
    close(r["W_sum"], e["W_sum"])
    close(r["b"], e["b"])
    assert r["accuracy"] == e["accuracy"]


def test_mlp(theano_fixtures):
    r = theano_programs.mlp(rheano)
    e = theano_fixtures["mlp"]
    close(r["losses"], e["losses"])
    close([r["W2_sum"], r["b1_sum"]], [e["W2_sum"], e["b1_sum"]])
    assert r["accuracy"] == e["accuracy"]


def test_autoencoder(theano_fixtures):
    r = theano_programs.autoencoder(rheano)
    e = theano_fixtures["autoencoder"]
    assert r["pprint"] == e["pprint"]
    for g, w in zip(r["values"], e["values"]):
        close(g, w, 1e-12)


def test_nnet_gradients(theano_fixtures):
    r = theano_programs.nnet_gradients(rheano)
    e = theano_fixtures["nnet_gradients"]
    assert set(r) == set(e)
    for name in e:
        close(r[name]["value"], e[name]["value"])
        close(r[name]["grad"], e[name]["grad"])


def test_error_types(theano_fixtures):
    assert theano_programs.errors(rheano) == theano_fixtures["errors"]


def test_dtypes_float64(theano_fixtures):
    assert theano_programs.dtypes(rheano) == theano_fixtures["dtypes_float64"]


def test_dtypes_float32(theano_fixtures):
    code = "import json, rheano, theano_programs; print(json.dumps(theano_programs.dtypes(rheano)))"
    env = dict(os.environ, RHEANO_FLAGS="floatX=float32", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == theano_fixtures["dtypes_float32"]
