"""NIR graph → spec (:class:`neuro.spec.Network`).

Sources are the graph's ``Input`` nodes without incoming edges (spike inputs) and its neuron
nodes (populations, :mod:`neuro.nir.neurons`). Every path from a source through linear nodes
(:mod:`neuro.nir.layers`) and ``Delay`` nodes to a neuron node composes into one sparse
matrix per (source, delay); paths that meet add up. Each matrix becomes projections with a
``list`` connector (``[pre, post, weight]`` rows in a ``.npy`` file), split by sign into an
``exc`` and an ``inh`` projection and by the populations a node was split into; biases reaching
a neuron node become its ``bias`` (or ``input_bias`` behind a synaptic filter). Recurrent edges
are edges back into a neuron node; a cycle of linear nodes alone has no state and is refused.
Every edge from a source to a neuron node adds the engine's one step of latency (a spike of
step ``k`` acts in step ``k + 1 + delay``). ``Output`` nodes name the recorded populations;
non-spiking ones (LI, CubaLI, I) are probed (``v``), since their state is the output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from neuro.errors import NeuroError
from neuro.nir import layers
from neuro.nir.graph import LINEAR_TYPES, flatten
from neuro.nir.neurons import NEURON_FIELDS, neuron_node, neuron_shape
from neuro.nir.sidecar import SIDECAR_FIELDS
from neuro.spec import Connector, Input, Network, Population, Probe, Projection, Simulation
from neuro.values import Value

#: Milliseconds per graph time unit for ``time_unit``.
TIME_UNITS = {"s": 1000.0, "ms": 1.0}


@dataclass
class Signal:
    """What flows out of a node: ``{(source, delay_steps): matrix (n_source × n)}``, a constant
    ``bias`` (n,) and the tensor shape."""

    terms: dict
    bias: np.ndarray
    shape: tuple


def _pop_name(name: str, used: set) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "node"
    if base[0].isdigit():
        base = f"n{base}"
    out, k = base, 1
    while out in used:
        out, k = f"{base}_{k}", k + 1
    used.add(out)
    return out


def _add(a: Signal | None, b: Signal, where: str) -> Signal:
    if a is None:
        return Signal(dict(b.terms), b.bias.copy(), b.shape)
    if int(np.prod(a.shape)) != int(np.prod(b.shape)):
        raise NeuroError(f"node {where!r}: inputs of shapes {a.shape} and {b.shape} cannot be summed")
    terms = dict(a.terms)
    for k, m in b.terms.items():
        terms[k] = terms[k] + m if k in terms else m
    return Signal(terms, a.bias + b.bias, a.shape)


class GraphImport:
    """One import (see module docstring); ``network(...)`` builds the spec."""

    def __init__(self, graph, dt: float, unit_ms: float):
        self.dt, self.unit_ms = float(dt), float(unit_ms)
        self.nodes, self.edges = flatten(graph)
        self.preds: dict = {n: [] for n in self.nodes}
        for s, d in self.edges:
            self.preds[d].append(s)
        used: set = set()
        self.inputs = {}  # source Input node -> spec input name
        self.neurons = {}  # neuron node -> NeuronNode
        self.alias = self._thresholds()  # Threshold node -> the non-spiking node it reads
        read_by = {v: k for k, v in self.alias.items()}
        for name, node in self.nodes.items():
            kind = type(node).__name__
            if kind == "Input" and not self.preds[name]:
                self.inputs[name] = _pop_name(name, used)
            elif kind in NEURON_FIELDS:
                thr = None
                if name in read_by:
                    t = self.nodes[read_by[name]]
                    n = int(np.prod(neuron_shape(node)))
                    thr = np.broadcast_to(np.asarray(t.threshold, dtype=np.float64).reshape(-1), (n,)).copy()
                self.neurons[name] = neuron_node(
                    node, name, _pop_name(name, used), self.dt, self.unit_ms, threshold=thr
                )
                for g in self.neurons[name].groups[1:]:
                    used.add(g.name)
        if not self.inputs and not self.neurons:
            raise NeuroError("the graph has no Input and no neuron node")
        if not self.neurons:
            raise NeuroError("the graph has no neuron node (LIF, CubaLIF, IF, LI, CubaLI or I)")
        self._memo: dict = {}
        self._busy: set = set()

    def _thresholds(self) -> dict:
        """``{Threshold node: the LI/CubaLI/I node whose v it reads}`` (see neuro.nir.neurons)."""
        out = {}
        for name, node in self.nodes.items():
            if type(node).__name__ != "Threshold":
                continue
            preds = self.preds[name]
            src = self.nodes[preds[0]] if len(preds) == 1 else None
            if type(src).__name__ not in ("LI", "CubaLI", "I"):
                raise NeuroError(
                    f"node {name!r}: Threshold is supported only directly after one LI, CubaLI or I node "
                    "(it reads that node's voltage); on a weighted spike train it has no counterpart",
                    field="type",
                )
            if preds[0] in out.values():
                raise NeuroError(f"node {name!r}: a second Threshold on node {preds[0]!r}", field="type")
            t = np.asarray(node.threshold, dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(t)) or t.size not in (1, int(np.prod(neuron_shape(src)))):
                raise NeuroError(
                    f"node {name!r}: threshold must be finite, one per neuron", field="threshold"
                )
            out[name] = preds[0]
        return out

    # ------------------------------------------------------------------ signals
    def input_shape(self, name: str) -> tuple:
        shape = self.nodes[name].input_type["input"]
        if shape is None:
            raise NeuroError(f"Input node {name!r} has no shape", field="shape")
        return tuple(int(x) for x in np.atleast_1d(shape))

    def signal(self, name: str) -> Signal:
        """The signal leaving node ``name``."""
        if name in self.alias:  # a Threshold's spikes are its node's
            return self.signal(self.alias[name])
        if name in self.inputs or name in self.neurons:
            shape = self.input_shape(name) if name in self.inputs else self.neurons[name].shape
            n = int(np.prod(shape))
            return Signal({(name, 0, None): sp.identity(n, format="csr")}, np.zeros(n), shape)
        if name in self._memo:
            return self._memo[name]
        if name in self._busy:
            raise NeuroError(f"node {name!r} is on a cycle without a neuron node (no state to carry it)")
        self._busy.add(name)
        sig = self.incoming(name)
        out = self._apply(name, self.nodes[name], sig)
        self._busy.discard(name)
        self._memo[name] = out
        return out

    def incoming(self, name: str) -> Signal:
        sig = None
        for p in self.preds[name]:
            sig = _add(sig, self.signal(p), name)
        if sig is None:
            raise NeuroError(f"node {name!r} ({type(self.nodes[name]).__name__}) has no input edge")
        return sig

    def _apply(self, name: str, node, sig: Signal) -> Signal:
        kind = type(node).__name__
        if kind in ("Input", "Output", "Identity"):
            return sig
        if kind == "Delay":
            return self._delay(name, node, sig)
        shape = sig.shape
        if kind == "Affine":
            lm = layers.dense_map(node.weight, node.bias, name, shape)
        elif kind == "Linear":
            lm = layers.dense_map(node.weight, None, name, shape)
        elif kind == "Scale":
            lm = layers.scale_map(node.scale, name, shape)
        elif kind == "Flatten":
            lm = layers.flatten_map(node, name, shape)
        elif kind in ("Conv1d", "Conv2d"):
            lm = layers.conv_map(node, name, shape, 1 if kind == "Conv1d" else 2)
        elif kind in ("SumPool2d", "AvgPool2d"):
            lm = layers.pool_map(node, name, shape, kind == "AvgPool2d")
        else:  # pragma: no cover - SUPPORTED and this dispatch list the same types
            raise NeuroError(f"node {name!r}: {kind} is not a linear node")
        assert kind in LINEAR_TYPES
        a = lm.matrix
        receptor = _metadata(node).get("neuro_receptor")  # set by neuro's exporter for dual currents
        terms: dict = {}
        for (src, d, rec), m in sig.terms.items():
            key = (src, d, receptor or rec)
            terms[key] = terms[key] + m @ a if key in terms else m @ a
        return Signal({k: m.tocsr() for k, m in terms.items()}, sig.bias @ a + lm.bias, lm.out_shape)

    def _delay(self, name: str, node, sig: Signal) -> Signal:
        n = int(np.prod(sig.shape))
        d = np.asarray(node.delay, dtype=np.float64).reshape(-1)
        if d.size == 1:
            d = np.full(n, d[0])
        if d.size != n:
            raise NeuroError(f"node {name!r}: delay has {d.size} values for {n} elements", field="delay")
        steps = d * self.unit_ms / self.dt
        k = np.rint(steps)
        if np.any(np.abs(steps - k) > 1e-6 * np.maximum(1.0, steps)) or np.any(k < 0):
            raise NeuroError(
                f"node {name!r}: delays must be non-negative multiples of dt ({self.dt} ms), got "
                f"{d[np.argmax(np.abs(steps - k))]:g} graph time units",
                field="delay",
            )
        k = k.astype(np.int64)  # a delayed constant is the same constant: the bias passes as it is
        terms: dict = {}
        for (src, d0, rec), m in sig.terms.items():
            for dv in np.unique(k):
                cols = sp.diags((k == dv).astype(np.float64))
                part = (m @ cols).tocsr()
                part.eliminate_zeros()
                key = (src, d0 + int(dv), rec)
                terms[key] = terms[key] + part if key in terms else part
        return Signal(terms, sig.bias, sig.shape)

    # ------------------------------------------------------------------ spec
    def network(
        self, weights_dir: Path, name: str = "nir", steps: int = 0, seed: int | None = None
    ) -> Network:
        """The spec; the connectivity of each projection is written to ``weights_dir/<name>.npy``."""
        weights_dir = Path(weights_dir)
        weights_dir.mkdir(parents=True, exist_ok=True)
        sources = {}  # node -> [(spec name, indices into the node's flat elements)]
        for node, iname in self.inputs.items():
            sources[node] = [(iname, np.arange(int(np.prod(self.input_shape(node)))))]
        for node, nn in self.neurons.items():
            sources[node] = [(g.name, g.index) for g in nn.groups]
        populations, projections, used = [], [], set()
        for node, nn in self.neurons.items():
            sig = self.incoming(node) if self.preds[node] else None
            n = int(np.prod(nn.shape))
            if sig is not None and int(np.prod(sig.shape)) != n:
                raise NeuroError(f"node {node!r}: input has {int(np.prod(sig.shape))} values for {n} neurons")
            const = np.zeros(n) if sig is None else sig.bias
            bias = nn.base_bias + (0.0 if nn.filtered else nn.bias_gain * const)
            input_bias = nn.bias_gain * const if nn.filtered else None
            sidecar = _sidecar(self.nodes[node], node)
            for g in nn.groups:
                kw = dict(g.fields)
                kw["bias"] = _value(bias[g.index], weights_dir, f"{g.name}.bias", used)
                if input_bias is not None and np.any(input_bias[g.index] != 0):
                    kw["input_bias"] = _value(input_bias[g.index], weights_dir, f"{g.name}.input_bias", used)
                for key, val in sidecar.items():  # neuro's own fields, where NIR has none
                    kw[key] = (
                        np.asarray(val, dtype=np.float64)[g.index].tolist() if isinstance(val, list) else val
                    )
                populations.append(Population(name=g.name, size=int(g.index.size), **kw))
            if sig is None:
                continue
            for (src, delay, rec), m in sorted(
                sig.terms.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))
            ):
                m = (m @ sp.diags(nn.gain)).tocsc()
                for pre, rows in sources[src]:
                    m_rows = m[rows, :].tocsc()
                    for g in nn.groups:
                        sub = m_rows[:, g.index].tocoo()
                        if rec is None:  # mixed signs: an excitatory and an inhibitory projection
                            parts = (("exc", sub.data > 0), ("inh", sub.data < 0))
                        else:
                            parts = ((rec, sub.data != 0),)
                        for receptor, keep in parts:
                            if not keep.any():
                                continue
                            label = f"{pre}_to_{g.name}" + ("" if receptor == "exc" else "_inh")
                            label += f"_d{delay}" if delay else ""
                            fname = _file_name(label, used)
                            triplets = np.stack([sub.row[keep], sub.col[keep], sub.data[keep]], axis=1)
                            order = np.lexsort((triplets[:, 1], triplets[:, 0]))
                            np.save(weights_dir / fname, triplets[order].astype(np.float64))
                            projections.append(
                                Projection(
                                    pre=pre,
                                    post=g.name,
                                    name=label,
                                    connector=Connector(type="list", file=str(weights_dir / fname)),
                                    delay=Value("constant", delay * self.dt),
                                    receptor=receptor,
                                )
                            )
        inputs = [
            Input(name=iname, kind="external", size=int(np.prod(self.input_shape(node))))
            for node, iname in self.inputs.items()
        ]
        probes = self._probes()
        sim = Simulation(dt=self.dt, steps=steps, seed=seed)
        return Network(
            populations=tuple(populations),
            projections=tuple(projections),
            inputs=tuple(inputs),
            probes=probes,
            simulation=sim,
            name=name,
        )

    def _probes(self) -> tuple:
        """``v`` of the non-spiking neuron nodes that feed an ``Output`` node."""
        probes = []
        for name, node in self.nodes.items():
            if type(node).__name__ != "Output":
                continue
            for src in self._output_sources(name, set()):
                nn = self.neurons[src]
                if nn.kind in ("LI", "CubaLI", "I"):
                    probes.extend(Probe(population=g.name, variables=("v",)) for g in nn.groups)
        seen, out = set(), []
        for p in probes:
            if p.population not in seen:
                seen.add(p.population)
                out.append(p)
        return tuple(out)

    def _output_sources(self, name: str, seen: set) -> list:
        out = []
        for p in self.preds[name]:
            p = self.alias.get(p, p)
            if p in self.neurons:
                out.append(p)
            elif p in self.inputs or p in seen:
                continue
            elif type(self.nodes[p]).__name__ in ("Output", "Identity", "Delay", "Input"):
                seen.add(p)
                out.extend(self._output_sources(p, seen))
            else:
                raise NeuroError(
                    f"Output node {name!r} is fed by the linear node {p!r}: a weighted spike train is not "
                    "a state the emulator records; end the graph with a neuron node (e.g. LI as a readout)"
                )
        return out

    def input_nodes(self) -> dict:
        """``{spec input name: shape}`` of the graph's inputs."""
        return {iname: self.input_shape(node) for node, iname in self.inputs.items()}


def _metadata(node) -> dict:
    md = getattr(node, "metadata", None) or {}
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in md.items()}


def _sidecar(node, name: str) -> dict:
    """The spec fields neuro's exporter kept in ``metadata["neuro"]`` (``docs/nir.md``)."""
    raw = _metadata(node).get("neuro")
    if raw is None:
        return {}
    try:
        d = json.loads(raw if isinstance(raw, str) else str(raw))
    except ValueError:
        raise NeuroError(f"node {name!r}: metadata 'neuro' is not JSON", field="metadata") from None
    if not isinstance(d, dict) or set(d) - set(SIDECAR_FIELDS):
        raise NeuroError(f"node {name!r}: metadata 'neuro' holds unknown fields", field="metadata")
    return d


def _value(a: np.ndarray, directory: Path, label: str, used: set) -> Value:
    """A constant, or an array saved to ``directory`` (so the spec refers to a ``.npy``)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size and np.all(a == a[0]):
        return Value("constant", float(a[0]))
    path = directory / _file_name(label, used)
    np.save(path, a)
    return Value("array", array=a, path=str(path))


def _file_name(label: str, used: set) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", label.replace("->", "-to-"))
    out, k = f"{base}.npy", 1
    while out in used:
        out, k = f"{base}_{k}.npy", k + 1
    used.add(out)
    return out
