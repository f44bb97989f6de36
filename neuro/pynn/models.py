"""Cell types, synapse types and current sources of the PyNN backend.

Native parameter names are PyNN's own, in PyNN's units (mV, nA, nF, ms, Hz); they are converted
to the spec's units only when the network is translated (:mod:`neuro.pynn.translate`).
Models the chip has no circuit for are present under their PyNN names but raise
:class:`~neuro.pynn.errors.UnsupportedFeature` on construction, naming the reason.
"""

from __future__ import annotations

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, cells, electrodes, receptors, synapses

from neuro.pynn import simulator
from neuro.pynn.errors import UnsupportedFeature


def _identity(*names):
    return build_translations(*[(n, n) for n in names])


# --------------------------------------------------------------------------- cells
class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity(*cells.IF_curr_exp.default_parameters)
    recordable = ["spikes", "v"]


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity("spike_times")


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity("rate", "start", "duration")


def _refused(base, reason: str):
    def __init__(self, *args, **kwargs):
        raise UnsupportedFeature(base.__name__, reason)

    return type(base.__name__, (base,), {"__init__": __init__, "__doc__": f"Not available: {reason}."})


_CONDUCTANCE = "conductance-based synapses; the chip's synapses inject current"
REFUSED_CELLS = {
    "IF_curr_alpha": "alpha-shaped synaptic currents; the chip's currents decay exponentially",
    "IF_curr_delta": "voltage-jump synapses; the chip's synapses feed a decaying current",
    "IF_cond_exp": _CONDUCTANCE,
    "IF_cond_alpha": _CONDUCTANCE,
    "IF_cond_exp_gsfa_grr": _CONDUCTANCE,
    "IF_facets_hardware1": _CONDUCTANCE,
    "HH_cond_exp": "Hodgkin-Huxley channels; the chip's neurons are leaky integrate-and-fire",
    "EIF_cond_alpha_isfa_ista": "exponential spike initiation, adaptation current and " + _CONDUCTANCE,
    "EIF_cond_exp_isfa_ista": "exponential spike initiation, adaptation current and " + _CONDUCTANCE,
    "Izhikevich": "quadratic membrane dynamics with a recovery variable",
    "GIF_cond_exp": "generalized integrate-and-fire dynamics and " + _CONDUCTANCE,
    "SpikeSourcePoissonRefractory": "refractory Poisson inputs; chip Poisson inputs are Bernoulli per step",
    "SpikeSourceGamma": "gamma-process inputs; the chip's random inputs are Poisson",
    "SpikeSourceInhGamma": "gamma-process inputs; the chip's random inputs are Poisson",
    "PointNeuron": "composed multi-receptor neuron models",
    "MultiCompartmentNeuron": "multi-compartment morphologies",
}
_refused_cells = {name: _refused(getattr(cells, name), why) for name, why in REFUSED_CELLS.items()}
for _name in ("LIF", "AdExp"):  # components of PointNeuron
    _refused_cells[_name] = _refused(getattr(cells, _name), "composed multi-receptor neuron models")
for _name in dir(receptors):
    if _name.endswith("PostSynapticResponse") and _name != "StandardPostSynapticResponse":
        _refused_cells[_name] = _refused(getattr(receptors, _name), "composed multi-receptor neuron models")
_refused_cells["AlphaPSR"] = _refused(
    receptors.CondAlphaPostSynapticResponse, "composed multi-receptor neuron models"
)
globals().update(_refused_cells)


# --------------------------------------------------------------------------- synapses
def _minimum_delay(self):
    d = simulator.state.min_delay
    return simulator.state.dt if d == "auto" else d


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity("weight", "delay")
    _get_minimum_delay = _minimum_delay


class STDPMechanism(synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = _identity("weight", "delay", "dendritic_delay_fraction")
    _get_minimum_delay = _minimum_delay

    def __init__(self, timing_dependence=None, weight_dependence=None, voltage_dependence=None, **kwargs):
        if voltage_dependence is not None:
            raise UnsupportedFeature("voltage_dependence", "the learning engine sees spikes and traces only")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence, **kwargs)


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity("tau_plus", "tau_minus", "A_plus", "A_minus")


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _identity("w_min", "w_max")


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _identity("w_min", "w_max")


REFUSED_SYNAPSES = {
    "TsodyksMarkramSynapse": "short-term (Tsodyks-Markram) plasticity",
    "StochasticTsodyksMarkramSynapse": "short-term (Tsodyks-Markram) plasticity",
    "SimpleStochasticSynapse": "stochastic transmission",
    "MultiQuantalSynapse": "stochastic transmission",
    "ElectricalSynapse": "gap junctions",
    "AdditivePotentiationMultiplicativeDepression": "this weight dependence; use Additive or Multiplicative",
    "GutigWeightDependence": "this weight dependence; use Additive or Multiplicative",
    "Vogels2011Rule": "this timing dependence; use SpikePairRule",
}
globals().update({n: _refused(getattr(synapses, n), why) for n, why in REFUSED_SYNAPSES.items()})


# --------------------------------------------------------------------------- current sources
class _CurrentSource:
    """A piecewise-constant current, injected into IF_curr_exp cells.

    ``segments()`` gives ``(start_ms, stop_ms or None, amplitude_nA)`` over the whole run. A
    parameter changed at time ``t > 0`` applies from ``t`` on; earlier times keep the
    values they ran with (``_history``), so the recorded trace is what the neurons received.
    """

    def __init__(self, **parameters):
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_history", [])  # (from_ms, segments) before the last change
        object.__setattr__(self, "cells", [])  # IDs the current flows into
        object.__setattr__(self, "recording", False)
        super().__init__(**parameters)
        ps = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        ps.update(**parameters)
        self.set_native_parameters(self.translate(ps))
        simulator.state.current_sources.append(self)

    def get_native_parameters(self):
        return ParameterSpace(dict(self._params))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        new = {}
        for name, value in parameters.items():
            new[name] = value.value if isinstance(value, Sequence) else value
        t = simulator.state.t
        if self._params and t > 0:
            self._history.append((t, self._own_segments()))
        self._params.update(new)
        self._check()
        simulator.state.changed()

    def _check(self):
        pass

    def inject_into(self, cells_):
        for cell in cells_:
            if not cell.celltype.injectable:
                raise TypeError("Can't inject current into a spike source.")
            if not isinstance(cell.celltype, IF_curr_exp):
                raise UnsupportedFeature(type(cell.celltype).__name__, "not a chip cell type")
        self.cells.extend(cells_)
        simulator.state.changed()

    def record(self):
        self.recording = True

    def _restart(self):
        """After reset(): the run starts again with the current parameters."""
        self._history.clear()

    def segments(self) -> list:
        """``(start, stop, amplitude)`` pieces over the whole run so far and after it."""
        out, t0 = [], 0.0
        for t1, segs in self._history:
            out += _clip(segs, t0, t1)
            t0 = t1
        return out + _clip(self._own_segments(), t0, None)

    def _get_data(self):
        dt, n = simulator.state.dt, simulator.state.steps
        amps = np.zeros(n + 1)
        for a, b, amp in self.segments():
            k0 = int(np.rint(a / dt))
            k1 = n + 1 if b is None else min(int(np.rint(b / dt)), n + 1)
            amps[k0:k1] += amp
        return np.arange(n + 1) * dt, amps


def _clip(segs, t0, t1):
    out = []
    for a, b, amp in segs:
        lo = max(a, t0)
        hi = b if t1 is None else (t1 if b is None else min(b, t1))
        if hi is None or hi > lo:
            out.append((lo, hi, amp))
    return out


class DCSource(_CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = _identity("amplitude", "start", "stop")

    def _own_segments(self):
        p = self._params
        stop = None if p["stop"] is None or p["stop"] >= 1e12 else float(p["stop"])
        return [(float(p["start"]), stop, float(p["amplitude"]))]


class StepCurrentSource(_CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = _identity("amplitudes", "times")

    def _check(self):
        times = np.asarray(self._params["times"], dtype=float)
        amps = np.asarray(self._params["amplitudes"], dtype=float)
        if not (times >= 0.0).all():
            raise ValueError("Step current cannot accept negative timestamps.")
        if not (np.diff(times) > 0.0).all():
            raise ValueError("Step current timestamps should be monotonically increasing.")
        times = self._round_timestamp(times, simulator.state.dt)
        # a time step given twice keeps the last amplitude (as the other PyNN backends do)
        times, index = np.unique(np.flip(times), return_index=True)
        self._params["times"] = times
        self._params["amplitudes"] = np.flip(amps)[index]

    def _own_segments(self):
        t = [float(x) for x in self._params["times"]]
        a = [float(x) for x in self._params["amplitudes"]]
        return [(t[i], t[i + 1] if i + 1 < len(t) else None, a[i]) for i in range(len(t))]


REFUSED_SOURCES = {
    "ACSource": "sinusoidal currents; the chip's bias changes only at set times",
    "NoisyCurrentSource": "noise currents; the chip's bias changes only at set times",
}
globals().update({n: _refused(getattr(electrodes, n), why) for n, why in REFUSED_SOURCES.items()})

SUPPORTED = (
    "IF_curr_exp",
    "SpikeSourceArray",
    "SpikeSourcePoisson",
    "StaticSynapse",
    "STDPMechanism",
    "SpikePairRule",
    "AdditiveWeightDependence",
    "MultiplicativeWeightDependence",
    "DCSource",
    "StepCurrentSource",
)
__all__ = [*SUPPORTED, *_refused_cells, *REFUSED_SYNAPSES, *REFUSED_SOURCES]
