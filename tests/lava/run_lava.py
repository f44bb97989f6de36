"""Run a small network in Lava 0.10's bit-accurate CPU models and print its trace as JSON.

Run with a Python 3.10 interpreter that has ``lava-nc`` 0.10 (tests/test_lava.py starts it):
reads the network (JSON on stdin: steps, du, dv, vth, bias_mant, bias_exp, and per projection
its dense weights (post x pre), weight_exp, num_message_bits and input data (pre x steps)),
writes {"u": [[...]], "v": [[...]], "s": [[...]]} (steps x neurons) to stdout.
"""

import json
import sys

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor

spec = json.load(sys.stdin)
steps = spec["steps"]
n = len(spec["bias_mant"])
lif = LIF(
    shape=(n,),
    du=spec["du"],
    dv=spec["dv"],
    vth=spec["vth"],
    bias_mant=np.array(spec["bias_mant"]),
    bias_exp=np.array(spec["bias_exp"]),
)
keep = []
for pr in spec["projections"]:
    data = np.array(pr["data"], dtype=np.int32)
    src = RingBuffer(data=data)
    dense = Dense(
        weights=np.array(pr["weights"]), weight_exp=pr["weight_exp"], num_message_bits=pr["num_message_bits"]
    )
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    keep += [src, dense]
monitors = {}
for var in ("u", "v"):
    m = Monitor()
    m.probe(getattr(lif, var), steps)
    monitors[var] = m
ms = Monitor()
ms.probe(lif.s_out, steps)
monitors["s"] = ms
lif.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
out = {}
for key, m in monitors.items():
    data = m.get_data()
    proc = next(iter(data))
    arr = next(iter(data[proc].values()))
    out[key] = np.asarray(arr).reshape(steps, n).astype(np.int64).tolist()
lif.stop()
print(json.dumps(out))
