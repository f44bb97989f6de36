"""The Target interface: what the rest of the code may ask of an arithmetic and its chip.

A target is chosen once (:func:`neuro.targets.get_target`), travels with the compiled network
(``compiled.target``) and is asked, never re-tested by name:

* :meth:`Target.check` — can the spec run here (ranges of the arithmetic's registers, the
  chip profile's per-core limits that are known before placement: delays, refractory)?
* :meth:`Target.compile` — spec → flat, engine-ready arrays (draws in the documented order).
* :meth:`Target.place` — compiled network → :class:`~neuro.mapping.Placement` on a chip.
* :meth:`Target.simulator` — the simulator that steps the compiled network.
* :meth:`Target.weights_to_physical` / :meth:`Target.theta_to_physical` — the target's
  registers back to mV, for reports, pictures and homeostasis.
"""

from __future__ import annotations

import numpy as np

from neuro.chips import get_profile


class Target:
    """Base class of every target (see module docstring). Subclasses set :attr:`name`."""

    name: str = ""
    #: True when the arithmetic is integer (bit-exact: two runs of it never drift apart).
    integer: bool = True
    #: True when ``neuro run --checkpoint-every`` / ``--resume`` can save and restore its state
    #: (:mod:`neuro.run_checkpoint` knows the state arrays of the LIF engine's float and Loihi paths).
    checkpoints: bool = False
    #: True when the mapper spreads a neuron's fan-in over several cores (TrueNorth's
    #: splitters), so the spec-level fan-in check does not apply.
    splits_fan_in: bool = False
    #: The compiled kernel whose cache entry tells whether a first run must compile.
    kernel_name: str = "step.run_chunk"
    #: False when the compiled network has no per-projection weights to export (crossbars).
    exports_weights: bool = True
    #: A sentence for energy reports on what counts as an active neuron update.
    active_update_note: str = ""

    def __repr__(self) -> str:
        return f"<target {self.name}>"

    def __reduce__(self):  # pickles (e.g. across MPI ranks) as its registry name
        from neuro.targets import get_target

        return get_target, (self.name,)

    def profile(self, net):
        """The chip profile the spec asks for."""
        return get_profile(net.simulation.chip)

    #: True when synapses can multiply a spike's payload (graded spikes, ``message_bits``).
    graded_spikes: bool = False
    #: v the chip reports at a spike step (probes with ``convention = "chip"``); None: unknown.
    spike_step_v_reading: int | None = None

    def check_messages(self, net) -> None:
        """Refuse graded spikes and chip-convention probes where the target has neither."""
        if not self.graded_spikes:
            for kind, parts in (("inputs", net.inputs), ("projections", net.projections)):
                for i, part in enumerate(parts):
                    if part.message_bits:
                        raise net._err(
                            f"graded spikes (message_bits > 0) need arithmetic 'loihi2', not {self.name!r}",
                            f"{kind}[{i}].message_bits",
                        )
        if self.spike_step_v_reading is None:
            for i, pb in enumerate(net.probes):
                if pb.convention == "chip":
                    raise net._err(
                        f"arithmetic {self.name!r} does not know its chip's probe reading; use "
                        "convention 'model'",
                        f"probes[{i}].convention",
                    )

    def check(self, net) -> None:
        """Raise a located one-line :class:`~neuro.errors.NeuroError` if ``net`` cannot run
        on this target and the chip its simulation section names."""
        raise NotImplementedError

    def compile(self, net, seed: int | None = None):
        raise NotImplementedError

    def place(self, compiled, profile, n_chips: int = 1):
        raise NotImplementedError

    def simulator(self, compiled, **kwargs):
        raise NotImplementedError

    def weights_to_physical(self, compiled, projection: int, weights: np.ndarray) -> np.ndarray:
        """Synaptic weights of ``projection`` (the engine's units) in mV."""
        return np.asarray(weights, dtype=np.float64)

    def theta_to_physical(self, compiled, population: str, theta: np.ndarray) -> np.ndarray:
        """Adaptive thresholds of ``population`` (the engine's units) in mV."""
        return np.asarray(theta, dtype=np.float64)

    def weight_registers(self, compiled, projection: int) -> dict | None:
        """How ``projection``'s engine weights encode registers (``units``, ``register_per_mv``,
        ``weight_exp``), or None when the engine holds them in mV."""
        return None

    def voltage_units(self, compiled, population: int) -> tuple[float, float]:
        """(engine units per mV, mV at engine value 0) of population ``population``'s ``v``."""
        return 1.0, 0.0

    def register_scales(self, compiled, population: int) -> tuple:
        """The unit scales a population's registers were discretized with (empty when the
        engine computes in physical units): state carries over between two compiles only
        where they agree."""
        return ()
