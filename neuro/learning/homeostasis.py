"""Homeostasis that is not a neuron register: per-neuron input-weight normalization.

Diehl & Cook rescale, before every training image, each excitatory neuron's incoming
weights so they sum to a target (78 for 784 inputs). On a chip this is a host operation
(the host reads and rewrites synapse memory), so it is counted separately
(``Simulator.host_ops``) and priced as host work by the energy model. The adaptive
threshold (theta) is a neuron register: see :class:`neuro.spec.Population`.
"""

from __future__ import annotations

import numpy as np

from neuro.discretize import wgt_per_mv
from neuro.errors import NeuroError


def scale_columns(net, projection: int, pos: np.ndarray, post: np.ndarray, target: float) -> None:
    """Float weights: :math:`w_{ij} \\leftarrow w_{ij}\\, T / \\sum_i w_{ij}` (T in mV)."""
    n = net.n_neurons
    w = net.weight[pos]
    sums = np.bincount(post, weights=w, minlength=n)
    scale = np.divide(target, sums, out=np.ones_like(sums), where=sums != 0)
    net.weight[pos] = w * scale[post]


def scale_columns_wgt(net, projection: int, pos: np.ndarray, post: np.ndarray, target: float) -> None:
    """Loihi weights: the same on the mantissas ``Wgt`` (T converted to Wgt units with the
    projection's scale, :func:`neuro.discretize.wgt_per_mv`), rounded to the nearest integer
    and clipped to the weight range."""
    n = net.n_neurons
    proj = net.spec.projections[projection]
    shift = 6 + net.weight_exps[projection]
    lsb = wgt_per_mv(proj, net.pop_registers[net.pop_names.index(proj.post)], net.weight_exps[projection])
    wgt = net.weight[pos].astype(np.int64) >> shift
    sums = np.bincount(post, weights=wgt, minlength=n)
    scale = np.divide(target * lsb, sums, out=np.ones_like(sums), where=sums != 0)
    wlim = 2**proj.weight_bits - 1
    new = np.clip(np.rint(wgt * scale[post]), -wlim, wlim).astype(np.int64)
    net.weight[pos] = (new << shift).astype(net.weight.dtype)


def _positions(sim, projection: int) -> np.ndarray:
    for p, pos in enumerate(sim.net.projection_positions()):
        if p == projection:
            return pos
    raise NeuroError(f"no projection {projection}")


def normalize_weights(sim, projection: int, target: float, positions: np.ndarray | None = None) -> int:
    """Scale each post neuron's incoming weights of ``projection`` to sum to ``target``.

    In float arithmetic :math:`w_{ij} \\leftarrow w_{ij}\\, T / \\sum_i w_{ij}` (target in mV);
    in loihi arithmetic the same on ``Wgt`` (target in mV, converted with the projection's
    scale), rounded to the nearest integer and clipped to the weight range. Columns summing
    to zero are left alone (the target's ``normalize_columns``: :func:`scale_columns` or
    :func:`scale_columns_wgt`). Returns the number of synapses rewritten (host operations).
    """
    net = sim.net
    pos = _positions(sim, projection) if positions is None else positions
    post = net.slot[pos].astype(np.int64) % net.n_neurons
    net.target.normalize_columns(net, projection, pos, post, target)
    sim.host_ops["weight_normalization"] = sim.host_ops.get("weight_normalization", 0) + int(pos.size)
    return int(pos.size)
