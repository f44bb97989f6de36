"""The ``truenorth`` target: TrueNorth crossbar cores (:mod:`neuro.truenorth`).

Compiling converts LIF populations to TrueNorth neurons (or takes native TrueNorth neuron
parameters), assigns axon types and places the network on 256 x 256 crossbar cores with
splitter neurons for fan-out (placement is part of the compile step, so :meth:`place` checks
the placement against the chip count); the simulator steps it tick by tick
(:mod:`neuro.dynamics.truenorth`). Weights and thresholds are integers of the neuron's own
units: there is no further conversion to mV.
"""

from __future__ import annotations

from neuro.spec import NEURON_SWITCHES
from neuro.targets import entry
from neuro.targets.base import Target
from neuro.truenorth.compile import compile_truenorth
from neuro.truenorth.engine import TrueNorthSimulator
from neuro.truenorth.spec import check_truenorth


class TrueNorthTarget(Target):
    name = "truenorth"
    exports_weights = False
    splits_fan_in = True
    kernel_name = "truenorth.run_truenorth"

    def check(self, net) -> None:
        chips = entry(self.name).chips
        if net.simulation.chip not in chips:
            raise net._err(
                f"arithmetic {self.name!r} runs on chip {', '.join(map(repr, chips))}, "
                f"got {net.simulation.chip!r}",
                "simulation.chip",
            )
        self.check_messages(net)
        for i, p in enumerate(net.populations):
            for key, default in NEURON_SWITCHES.items():
                if getattr(p, key) != default:
                    raise net._err(
                        f"TrueNorth neurons have no {key} = {str(not default).lower()} (NIR neuron models "
                        "run in arithmetic 'float' or 'loihi')",
                        f"populations[{i}].{key}",
                    )
        check_truenorth(net)

    def compile(self, net, seed: int | None = None):
        self.check(net)
        return compile_truenorth(net, self, seed)

    def place(self, compiled, profile, n_chips: int = 1):
        return compiled.placement_on(profile, n_chips)

    def simulator(self, compiled, **kwargs):
        return TrueNorthSimulator(compiled, **kwargs)
