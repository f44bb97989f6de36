"""Energy accounting: exact operation ledgers of the emulated chip, technology profiles that
price them, and a trained ANN baseline to compare against (``neuro energy``).

* :mod:`neuro.energy.ledger`: integer event counts per population and per core, derived
  from per-source spike counts, the connectivity and the placement;
* :mod:`neuro.energy.profile` and :mod:`neuro.energy.price`: per-event energies (data files
  in ``profiles/``, each constant with its source and a [P]/[S]/[U] tag) applied to a ledger;
* :mod:`neuro.energy.ann`: an MLP trained with scikit-learn on the same data, its operation
  and memory-access counts and their price;
* :mod:`neuro.energy.measure`: the SNN ledger of a frozen evaluation run of a training RUNDIR;
* :mod:`neuro.energy.compare`: ``neuro energy``'s comparison (NeuroBench names);
  :mod:`neuro.energy.report` its table and JSON, :mod:`neuro.energy.chart` its figure.

See ``docs/energy.md``.
"""
