"""Real-valued input for a graph's ``Input`` node: currents held over each step.

``X[k]`` (any real values) is the value of the ``Input`` node during the step in which it
acts, step ``k + 1 + delay`` (the same latency as a spike); through the linear nodes it
becomes a current ``I_k = M^T X[k]`` into each neuron node it reaches. Into a node without a
synaptic filter and with a leak (``LIF``, ``LI``) a current held for one step is exactly a
bias for that step (:math:`\\tau dv/dt = (v_{leak} - v) + R I_k`), so each step's currents
become spec ``current`` inputs of amplitude ``r I_k`` (mV) that last one step — integrated
exactly in float arithmetic, and added to the bias register (rounded) in loihi arithmetic.
Currents into other node types (a synaptic filter, no leak) are refused with one line.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from neuro.errors import NeuroError
from neuro.spec import Input, Value


def with_currents(gi, net, x: np.ndarray, source: str | None = None):
    """``net`` (built by ``gi``, a :class:`neuro.nir.importer.GraphImport`) with its one
    ``Input`` node driven by the real values ``x`` (steps, *input_shape) as held currents."""
    if len(gi.inputs) != 1:
        raise NeuroError(f"the graph has {len(gi.inputs)} Input nodes; --input feeds exactly one", source)
    ((in_node, iname),) = gi.inputs.items()
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise NeuroError("input must hold finite numbers", source)
    n_in = int(np.prod(gi.input_shape(in_node)))
    flat = x.reshape(x.shape[0], -1) if x.ndim else x.reshape(1, 1)
    if flat.shape[1] != n_in:
        raise NeuroError(
            f"input has {flat.shape[1]} values per step but Input node {iname!r} has {n_in}", source
        )
    steps = flat.shape[0]
    dt = net.simulation.dt
    currents = []
    for node, nn in gi.neurons.items():
        terms = (
            {k: m for k, m in gi.incoming(node).terms.items() if k[0] == in_node} if gi.preds[node] else {}
        )
        if not terms:
            continue
        if nn.filtered or nn.kind in ("IF", "I"):
            raise NeuroError(
                f"real-valued input into {nn.kind} node {node!r} is not supported (held currents enter "
                "LIF and LI exactly; encode the input as spikes for this node)",
                source,
            )
        for (_, delay, _), m in terms.items():
            amp = (flat @ m) * nn.bias_gain  # (steps, n) mV of bias while the step's current flows
            for g in nn.groups:
                a = amp[:, g.index]
                for k in np.flatnonzero(np.any(a != 0, axis=1)):
                    start = (k + 1 + delay) * dt
                    currents.append(
                        Input(
                            name=f"{iname}_{g.name}_{len(currents)}",
                            kind="current",
                            target=g.name,
                            amplitude=Value("array", array=a[k].copy()),
                            start=start,
                            stop=start + dt,
                        )
                    )
    kept_inputs = tuple(s for s in net.inputs if s.name != iname)
    kept_projections = tuple(p for p in net.projections if p.pre != iname)
    out = replace(net, inputs=(*kept_inputs, *currents), projections=kept_projections)
    return out.with_simulation(steps=steps)
