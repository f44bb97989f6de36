"""neuro: an emulator of spiking neuromorphic chips (Loihi- and TrueNorth-style).

The data path: :mod:`neuro.spec` (network as data) → :mod:`neuro.connectivity` (synapses)
→ :mod:`neuro.mapping` (cores of a :mod:`neuro.chips` profile) → :mod:`neuro.discretize`
(Loihi registers) → :mod:`neuro.engine` (vectorized, event-driven stepping with
:mod:`neuro.dynamics`) → :mod:`neuro.io.sonata` (spikes.h5).
"""

__version__ = "0.1.0"
