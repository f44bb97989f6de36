"""Cross-check against Brian2: translate a spec into an equivalent Brian2 network and compare spikes.

* :mod:`neuro.verify.layout`: the compiled network back in per-projection / per-input terms;
* :mod:`neuro.verify.brian2_float`, :mod:`neuro.verify.brian2_loihi`: one population as a
  Brian2 model, in each arithmetic (written from the documented semantics, not from
  :mod:`neuro.dynamics`);
* :mod:`neuro.verify.brian2_net`: wires groups, synapses and inputs and runs Brian2;
* :mod:`neuro.verify.brian2_plastic`: networks that learn (plastic projections, adaptive
  thresholds) in Brian2's own STDP formulation, float arithmetic;
* :mod:`neuro.verify.learning_compare`: learned weights and thresholds of both runs, compared;
* :mod:`neuro.verify.compare`: runs both and decides whether they agree (:func:`verify`).

Brian2 is imported only when a comparison runs.
"""

from neuro.verify.compare import PopulationComparison, VerifyReport, verify

__all__ = ["PopulationComparison", "VerifyReport", "verify"]
