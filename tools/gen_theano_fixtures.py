#!/usr/bin/env python3
"""Records the expected results of tools/theano_programs.py with Theano 1.0.5 itself.

    python3.11 -m venv theano-venv
    theano-venv/bin/pip install numpy==1.23.5 scipy==1.9.3 six theano==1.0.5
    THEANO_FLAGS='blas.ldflags=' theano-venv/bin/python tools/gen_theano_fixtures.py

Writes crates/rheano-py/tests/fixtures/theano_1_0_5.json. The dtype table is recorded under
floatX=float64 and floatX=float32 (one subprocess each, since floatX is fixed at import).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "crates", "rheano-py", "tests", "fixtures", "theano_1_0_5.json")


def run_dtypes(floatx):
    code = "import sys, json; sys.path.insert(0, %r); import theano, theano_programs; print(json.dumps(theano_programs.dtypes(theano)))" % HERE
    env = dict(os.environ, THEANO_FLAGS="blas.ldflags=,floatX=%s" % floatx)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    sys.path.insert(0, HERE)
    import warnings
    warnings.simplefilter("ignore")
    import theano
    import theano_programs
    result = {"theano_version": theano.__version__}
    for name, prog in theano_programs.PROGRAMS.items():
        result[name] = prog(theano)
    result["dtypes_float64"] = run_dtypes("float64")
    result["dtypes_float32"] = run_dtypes("float32")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
