"""What the current-based LIF targets (``float``, ``loihi``) share: checks against the chip
profile, the compile step (:func:`neuro.network.build_network` with the target's
discretization), placement on cores (:func:`neuro.mapping.place_cores`) and the one
:class:`~neuro.engine.Simulator`, which asks the target for its state, kernel parameters and
learning tables.

A subclass provides the arithmetic: ``discretize_population``, ``discretize_weights``,
``weight_dtype``, ``params``, ``initial_state`` (compile time); ``new_state``,
``kernel_params``, ``build_tables``, ``probe_dtype``, ``bias_with_currents``,
``extra_counters`` (run time).
"""

from __future__ import annotations

import math

from neuro.engine import Simulator
from neuro.mapping import place_cores
from neuro.network import build_network
from neuro.spec import max_delay_ms
from neuro.targets import entry
from neuro.targets.base import Target

ENGINE_MAX_DELAY_STEPS = 255  # the ring buffer's delay field is uint8


class LifTarget(Target):
    """Base of the LIF targets (see module docstring)."""

    #: Longest delay the arithmetic itself can hold (steps) when the chip sets no limit: the
    #: engine's ring buffer, or a synapse's delay field (Loihi's 62) whatever the chip profile.
    max_delay_steps: int = ENGINE_MAX_DELAY_STEPS

    # ------------------------------------------------------------------ checks
    def check(self, net) -> None:
        err = net._err
        sim = net.simulation
        chips = entry(self.name).chips
        if sim.chip not in chips:
            raise err(
                f"chip {sim.chip!r} does not run arithmetic {self.name!r} (it runs on: {', '.join(chips)})",
                "simulation.chip",
            )
        for i, p in enumerate(net.populations):
            if p.truenorth is not None:
                raise err(
                    f"population {p.name!r} is given as TrueNorth neuron parameters; run it with "
                    "arithmetic 'truenorth'",
                    f"populations[{i}].truenorth",
                )
        pops = {p.name: p for p in net.populations}
        for i, inp in enumerate(net.inputs):
            if inp.kind == "current" and not pops[inp.target].leak:
                raise err(
                    f"population {inp.target!r} has no leak; a current input would set its leak target",
                    f"inputs[{i}].target",
                )
        for i, pr in enumerate(net.projections):
            if pr.axon_type is not None:
                raise err("axon types exist only in arithmetic 'truenorth'", f"projections[{i}].axon_type")
        self._check_delays(net, self.profile(net))
        self.check_messages(net)
        self.check_populations(net)

    def _check_delays(self, net, profile) -> None:
        """Delays within the chip's limit (or the arithmetic's own when the chip has none)."""
        limit = profile.max_delay_steps if profile.max_delay_steps is not None else self.max_delay_steps
        who = f"{profile.name} chip" if profile.max_delay_steps is not None else f"arithmetic {self.name!r}"
        dt = net.simulation.dt
        for i, pr in enumerate(net.projections):
            hi, where = max_delay_ms(pr)
            if not math.isfinite(hi):
                if profile.max_delay_steps is None and limit >= ENGINE_MAX_DELAY_STEPS:
                    continue  # drawn delays are checked when they are built
                raise net._err(
                    f"delay distribution is unbounded; the {who} allows 0..{limit} steps "
                    "(clip it with 'high')",
                    f"projections[{i}].{where}",
                )
            if round(hi / dt) > limit:
                raise net._err(
                    f"delay {hi} ms is {round(hi / dt)} steps; the {who} allows 0..{limit}",
                    f"projections[{i}].{where}",
                )

    def check_populations(self, net) -> None:
        """Arithmetic-specific population checks (registers that exist, ranges)."""

    # ------------------------------------------------------------------ the seam
    def compile(self, net, seed: int | None = None):
        self.check(net)
        return build_network(net, self, seed)

    def place(self, compiled, profile, n_chips: int = 1):
        return place_cores(compiled, profile, n_chips)

    def simulator(self, compiled, **kwargs):
        return Simulator(compiled, **kwargs)

    # ------------------------------------------------------------------ defaults for a float-like target
    def discretize_population(self, pop, dt, bias, v_init, where):
        return None

    def discretize_weights(self, proj, weight, registers, where):
        return weight, None

    def extra_counters(self, overflow) -> dict:
        return {}

    def synapse_channel(self, net, i: int, post) -> int:
        """Ring-buffer channel of projection ``i``: 1 for the ``inh`` current of a
        dual-current population, else 0 (``slot = channel * N + target``)."""
        return 1 if (net.projections[i].receptor == "inh" and post.dual_current) else 0

    def n_channels(self, compiled) -> int:
        """Ring-buffer channels of a compiled network."""
        return 2 if compiled.dual.any() else 1
