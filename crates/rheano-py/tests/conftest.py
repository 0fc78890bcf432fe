import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))


@pytest.fixture(scope="session")
def theano_fixtures():
    with open(os.path.join(HERE, "fixtures", "theano_1_0_5.json")) as f:
        return json.load(f)
