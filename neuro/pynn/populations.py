"""Population, PopulationView and Assembly: PyNN's common classes over parameter arrays.

Each population keeps its parameters as arrays in PyNN's names and units
(``_parameters``) and its initial membrane potential (``_v_init``); the spec is made from
them when a run starts. Setting a parameter between runs marks the network changed.
"""

from __future__ import annotations

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from neuro.pynn import simulator
from neuro.pynn.errors import UnsupportedFeature
from neuro.pynn.recording import Recorder


class Assembly(common.Assembly):
    _simulator = simulator


class _Parameters:
    """Parameter access shared by Population and PopulationView (native = PyNN names)."""

    def _get_parameters(self, *names):
        if any(name in self.celltype.computed_parameters() for name in names):
            names = self.celltype.get_native_names()
        else:
            names = self.celltype.get_native_names(*names)
        return self.celltype.reverse_translate(self._get_native_parameters(*names))

    def _get_native_parameters(self, *names):
        values = {}
        for n in names:
            arr = self._root._parameters[n][self._cells]
            values[n] = simplify(arr)
        return ParameterSpace(values, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        for n, value in parameter_space.items():
            try:
                self._root._parameters[n][self._cells] = value
            except ValueError:
                raise errors.InvalidParameterValueError(f"{n} should not be of type {type(value)}") from None
        self._root._check_parameters()
        simulator.state.changed()

    def _set_initial_value_array(self, variable, initial_values):
        values = initial_values.evaluate(simplify=False)
        if variable == "v":
            self._root._v_init[self._cells] = values
        elif np.any(np.asarray(values, dtype=float) != 0.0):
            raise UnsupportedFeature(f"initial {variable}", "synaptic currents start at 0")
        simulator.state.changed()


def _per_cell(value, size: int) -> np.ndarray:
    """One entry per cell (a parameter given once is repeated)."""
    arr = np.array(value)
    if arr.ndim == 0:
        out = np.empty(size, dtype=arr.dtype)
        out[...] = value if arr.dtype == object else arr
        return out
    return arr


class PopulationView(_Parameters, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    @property
    def _root(self):
        return self.grandparent

    @property
    def _cells(self):
        return self.index_in_grandparent(np.arange(self.size))

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(_Parameters, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    @property
    def _root(self):
        return self

    @property
    def _cells(self):
        return slice(None)

    def _create_cells(self):
        if not isinstance(self.celltype, StandardCellType):
            raise UnsupportedFeature(
                type(self.celltype).__name__, "only standard cell types map onto the chip"
            )
        state = simulator.state
        ids = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in ids], dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        ps = self.celltype.native_parameters
        ps.shape = (self.size,)
        ps.evaluate(simplify=False)
        self._parameters = {n: _per_cell(v, self.size) for n, v in ps.as_dict().items()}
        self._v_init = np.full(self.size, np.nan)
        self._check_parameters()
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        state.populations.append(self)
        state.changed()

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _check_parameters(self):
        if "spike_times" in self._parameters:
            for seq in self._parameters["spike_times"]:
                t = np.asarray(seq.value, dtype=float)
                if np.any(t[:-1] > t[1:]):
                    raise errors.InvalidParameterValueError(
                        "Spike times given to SpikeSourceArray must be in increasing order"
                    )
