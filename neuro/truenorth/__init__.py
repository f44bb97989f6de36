"""TrueNorth-style cores: crossbar cores with axon types and the Cassidy et al. (2013) neuron.

Modules: :mod:`~neuro.truenorth.spec` (the network checks; the ``[populations.truenorth]``
table is :class:`neuro.registers.TrueNorthNeuron`), :mod:`~neuro.truenorth.convert` (float
LIF → TrueNorth parameters, with the approximation reported), :mod:`~neuro.truenorth.mapping`
(crossbar placement, axon groups, splitter neurons), :mod:`~neuro.truenorth.compile` (the
engine-ready physical network), :mod:`~neuro.truenorth.engine` (the simulator; kernel in
:mod:`neuro.dynamics.truenorth`) and :mod:`~neuro.truenorth.energy` (what the published
per-event energy covers). Documentation:
``docs/truenorth.md``.
"""
