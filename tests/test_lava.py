"""Cross-check of the ``loihi2`` target against Lava 0.10 itself (marker ``lava``).

Lava needs Python 3.10: the test runs ``tests/lava/run_lava.py`` with the interpreter named by
``NEURO_LAVA_PYTHON`` (or ``/tmp/lava310/bin/python``) and is skipped where none has
``lava-nc`` installed. Random networks cover MIXED, EXCITATORY and INHIBITORY weight
matrices, negative and positive weight exponents, several Dense processes into one LIF,
graded payloads and per-neuron biases; u, v and the spikes must agree on every step.
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from neuro.spec import Network
from tests.conftest import simulate

pytestmark = pytest.mark.lava
HERE = Path(__file__).resolve().parent
LAVA_PYTHON = os.environ.get("NEURO_LAVA_PYTHON", "/tmp/lava310/bin/python")


def _lava_available() -> bool:
    if not Path(LAVA_PYTHON).exists():
        return False
    return subprocess.run([LAVA_PYTHON, "-c", "import lava.proc.lif"], capture_output=True).returncode == 0


def random_case(seed: int, steps: int = 40, n: int = 6) -> dict:
    rng = np.random.default_rng(seed)
    projections = []
    for kind, exp, bits in (("mixed", -2, 0), ("exc", 1, 0), ("inh", 0, 0), ("mixed", -1, 8)):
        pre = int(rng.integers(2, 5))
        w = rng.integers(-255, 256, size=(n, pre))
        w = np.abs(w) if kind == "exc" else -np.abs(w) if kind == "inh" else w
        w[rng.random(w.shape) < 0.2] = 0
        spikes = rng.random((pre, steps)) < 0.3
        data = spikes * (rng.integers(1, 128, size=spikes.shape) * rng.choice([-1, 1], size=spikes.shape))
        data = data if bits else spikes.astype(np.int64)
        projections.append(
            {"weights": w.tolist(), "weight_exp": exp, "num_message_bits": bits, "data": data.tolist()}
        )
    return {
        "steps": steps,
        "du": int(rng.integers(0, 4096)),
        "dv": int(rng.integers(0, 4096)),
        "vth": int(rng.integers(20, 400)),
        "bias_mant": rng.integers(-300, 300, size=n).tolist(),
        "bias_exp": rng.integers(0, 4, size=n).tolist(),
        "projections": projections,
    }


def emulator_net(case: dict) -> Network:
    inputs, projections = [], []
    for i, pr in enumerate(case["projections"]):
        data = np.array(pr["data"])
        name = f"in{i}"
        inp = {
            "name": name,
            "kind": "spike_times",
            "times": [np.flatnonzero(ch).astype(float).tolist() for ch in data],
        }
        if pr["num_message_bits"]:
            inp.update(message_bits=8, payloads=[ch[ch != 0].tolist() for ch in data])
        inputs.append(inp)
        projections.append(
            {
                "pre": name,
                "post": "a",
                "connector": {"type": "matrix", "values": np.array(pr["weights"]).T.tolist()},
                "weight": 1,
                "weight_exp": pr["weight_exp"],
                "message_bits": pr["num_message_bits"],
            }
        )
    n = len(case["bias_mant"])
    return Network.from_dict(
        {
            "simulation": {
                "dt": 1.0,
                "steps": case["steps"],
                "seed": 0,
                "arithmetic": "loihi2",
                "chip": "loihi2",
            },
            "populations": [
                {
                    "name": "a",
                    "size": n,
                    "loihi": {
                        "decay_u": case["du"],
                        "decay_v": case["dv"],
                        "vth_mant": case["vth"],
                        "bias_mant": case["bias_mant"],
                        "bias_exp": case["bias_exp"],
                    },
                }
            ],
            "inputs": inputs,
            "projections": projections,
        }
    )


@pytest.mark.skipif(not _lava_available(), reason="no Python 3.10 interpreter with lava-nc 0.10")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_loihi2_equals_lava_bit_accurate(seed):
    case = random_case(seed)
    out = subprocess.run(
        [LAVA_PYTHON, str(HERE / "lava" / "run_lava.py")],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lava = json.loads(out.stdout.strip().splitlines()[-1])
    n = len(case["bias_mant"])
    r = simulate(emulator_net(case), probe=list(range(n)))
    assert r.i[:, 0, :].astype(np.int64).tolist() == lava["u"]
    assert r.v[:, 0, :].astype(np.int64).tolist() == lava["v"]
    spikes = np.zeros((case["steps"], n), dtype=np.int64)
    spikes[r.steps, r.neuron] = 1
    assert spikes.tolist() == lava["s"]


@pytest.mark.skipif(not _lava_available(), reason="no Python 3.10 interpreter with lava-nc 0.10")
def test_int32_activation_and_fold_equal_lava():
    """1100 synapses 255 << 7 into one LIF: Lava's int32 wrap of a << 6 and its repeated folds of u."""
    n = 1100
    case = {
        "steps": 6,
        "du": 0,
        "dv": 0,
        "vth": 100,
        "bias_mant": [0],
        "bias_exp": [0],
        "projections": [
            {"weights": [[255] * n], "weight_exp": 7, "num_message_bits": 0, "data": [[0, 0, 1, 0, 0, 0]] * n}
        ],
    }
    out = subprocess.run(
        [LAVA_PYTHON, str(HERE / "lava" / "run_lava.py")],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lava = json.loads(out.stdout.strip().splitlines()[-1])
    r = simulate(emulator_net(case), probe=[0])
    assert r.i[:, 0, :].astype(np.int64).tolist() == lava["u"]
    assert r.v[:, 0, :].astype(np.int64).tolist() == lava["v"]
