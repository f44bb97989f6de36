"""Projection: PyNN's connectors fill arrays of (pre, post, weight nA, delay ms) connections.

Every PyNN connector works unchanged: it calls :meth:`Projection._convergent_connect` with
the indices and the weights/delays it drew (random distributions through PyNN's own seeded
``RandomDistribution``/``NumpyRNG``). The spec is made from these arrays
(:mod:`neuro.pynn.translate`): the connectivity is explicit, so it is exactly PyNN's.
Weights learned by STDP are read back from the engine before they are reported.
"""

from __future__ import annotations

import numpy as np
from pyNN import common
from pyNN.core import is_listlike
from pyNN.space import Space

from neuro.pynn import simulator
from neuro.pynn.errors import UnsupportedFeature
from neuro.pynn.models import IF_curr_exp, StaticSynapse, STDPMechanism

CONNECTION_ATTRIBUTES = ("weight", "delay")


class Connection(common.Connection):
    """One connection, read and written through its projection's arrays."""

    def __init__(self, projection, index):
        self._prj, self._i = projection, index

    presynaptic_index = property(lambda self: int(self._prj._arrays()["pre"][self._i]))
    postsynaptic_index = property(lambda self: int(self._prj._arrays()["post"][self._i]))

    def _get(name):
        def get(self):
            return float(self._prj._arrays()[name][self._i])

        def set_(self, value):
            self._prj._arrays()[name][self._i] = value
            simulator.state.changed()

        return property(get, set_)

    weight = _get("weight")
    delay = _get("delay")

    def as_tuple(self, *names):
        return tuple(getattr(self, n) for n in names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(
        self,
        presynaptic_population,
        postsynaptic_population,
        connector,
        synapse_type=None,
        source=None,
        receptor_type=None,
        space=None,
        label=None,
    ):
        common.Projection.__init__(
            self,
            presynaptic_population,
            postsynaptic_population,
            connector,
            synapse_type,
            source,
            receptor_type,
            Space() if space is None else space,
            label,
        )
        if not isinstance(self.synapse_type, StaticSynapse | STDPMechanism):
            raise UnsupportedFeature(type(self.synapse_type).__name__, "not a chip synapse type")
        for cell in (self.post.all_cells[0],) if self.post.size else ():
            if not isinstance(cell.celltype, IF_curr_exp):
                raise UnsupportedFeature(type(cell.celltype).__name__, "not a chip cell type")
        if self.receptor_type not in ("excitatory", "inhibitory"):
            raise UnsupportedFeature(f"receptor_type {self.receptor_type!r}", "the chip has exc and inh only")
        self._chunks = []
        self._conn = None
        connector.connect(self)
        simulator.state.projections.append(self)
        simulator.state.changed()

    # ------------------------------------------------------------------ storage
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None, **params):
        if location_selector is not None:
            raise UnsupportedFeature("location_selector", "point neurons only")
        pre = np.asarray(presynaptic_indices, dtype=np.int64).ravel()
        n = pre.size
        chunk = {"pre": pre, "post": np.full(n, int(postsynaptic_index), dtype=np.int64)}
        for name in CONNECTION_ATTRIBUTES:
            v = params.get(name, 0.0)
            chunk[name] = np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy() if n else np.zeros(0)
        self._chunks.append(chunk)
        self._conn = None

    def _arrays(self) -> dict:
        """Connections as arrays ``pre``, ``post`` (indices in ``self.pre``/``self.post``),
        ``weight`` (nA) and ``delay`` (ms), in creation order; learned weights up to date."""
        session = simulator.state.session
        if session is not None:
            session.sync_weights()
        return self._built()

    def _built(self) -> dict:
        """The connection arrays as stored (no read-back from the engine)."""
        if self._conn is None:
            keys = ("pre", "post", *CONNECTION_ATTRIBUTES)
            if self._chunks:
                self._conn = {k: np.concatenate([c[k] for c in self._chunks]) for k in keys}
            else:
                self._conn = {k: np.zeros(0, np.int64 if k in ("pre", "post") else np.float64) for k in keys}
            self._chunks = [self._conn]
        return self._conn

    def __len__(self):
        return int(self._arrays()["pre"].size)

    @property
    def connections(self):
        return [Connection(self, i) for i in range(len(self))]

    def __getitem__(self, i):
        return Connection(self, i)

    # ------------------------------------------------------------------ PyNN hooks
    def _value(self, name):
        a = self._arrays()
        if name in ("presynaptic_index", "postsynaptic_index"):
            return a["pre" if name.startswith("pre") else "post"].astype(float)
        if name in a:
            return a[name]
        value = self.synapse_type.native_parameters[name]  # a parameter of the STDP rule
        value.shape = (1,)
        value = value.evaluate(simplify=True)
        if is_listlike(value):
            raise UnsupportedFeature(f"per-connection {name}", "STDP parameters are set per projection")
        return np.full(len(self), float(value))

    def _get_attributes_as_list(self, names):
        cols = [self._value(n) for n in names]
        return list(zip(*[c.tolist() for c in cols], strict=True)) if cols else []

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        op = common.Projection.MULTI_SYNAPSE_OPERATIONS[multiple_synapses]
        a = self._arrays()
        out = []
        flat = a["pre"] * self.post.size + a["post"]
        multiple = np.unique(flat).size != flat.size
        for name in names:
            name = name[:-1] if name.endswith("s") and name[:-1] in a else name
            values = self._value(name)
            arr = np.full((self.pre.size, self.post.size), np.nan)
            if not multiple:
                arr[a["pre"], a["post"]] = values
            else:  # several connections between one pair: combine them as asked
                seen = np.zeros(arr.shape, dtype=bool)
                for i, j, v in zip(a["pre"], a["post"], values, strict=True):
                    arr[i, j] = op(arr[i, j], v) if seen[i, j] else v
                    seen[i, j] = True
            out.append(arr)
        return out

    def _set_attributes(self, parameter_space):
        a = self._arrays()
        parameter_space.evaluate(simplify=False)
        for name, value in parameter_space.items():
            if name not in a:
                raise UnsupportedFeature(
                    f"setting {name} per connection", "STDP parameters are set per projection"
                )
            a[name] = np.asarray(value, dtype=np.float64)[a["pre"], a["post"]]
        simulator.state.changed()
