"""Inspection of spike files: statistics, rasters (image and terminal) and core-mesh heat maps.

Modules (matplotlib is imported only inside the plotting functions):

* :mod:`~neuro.analysis.source`: open a ``spikes.h5`` (ours or any SONATA file), resolve time
  windows and neuron ranges, stream spikes chunk by chunk;
* :mod:`~neuro.analysis.stats`: rate, silence, ISI CV, Fano factor, Golomb's synchrony;
* :mod:`~neuro.analysis.summary`: the ``neuro inspect`` report (per population, per core, run);
* :mod:`~neuro.analysis.binning`: streamed 2-D histograms and rate histograms for rasters;
* :mod:`~neuro.analysis.raster`: :func:`~neuro.analysis.raster.raster_figure`;
* :mod:`~neuro.analysis.terminal`: :func:`~neuro.analysis.terminal.terminal_raster`;
* :mod:`~neuro.analysis.cores`: :func:`~neuro.analysis.cores.cores_figure`;
* :mod:`~neuro.analysis.figure`: Agg figures and saving them.
"""
