"""Homeostasis done by the host: per-neuron input-weight normalization (sum or Euclidean norm),
periodic threshold decay.

Diehl & Cook rescale, before every training image, each excitatory neuron's incoming
weights so they sum to a target (78 for 784 inputs). On a chip this is a host operation
(the host reads and rewrites synapse memory), so it is counted separately
(``Simulator.host_ops``) and priced as host work by the energy model. The adaptive
threshold (theta) is a neuron register (see :class:`neuro.spec.Population`); when its time
constant is too long for the register's per-step decay (Loihi: a 12-bit fraction per step, so
``tau_theta`` above about 4096 steps rounds to no decay at all), the host can instead decay
it every so often (:func:`decay_thresholds`), as it rewrites weights.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neuro.discretize import wgt_per_mv
from neuro.errors import NeuroError
from neuro.learning.prng import NORMALIZE_STREAM, stochastic_round

THETA_DECAY_BITS = 12  # Loihi decay registers: x keeps (4096 - d) / 4096


@njit(cache=True)
def _decay_registers(theta, keep):
    """``theta = sign(theta) * ((|theta| * keep) >> 12)``: the neuron's own decay arithmetic."""
    flat = theta.ravel()
    for k in range(flat.size):
        x = flat[k]
        flat[k] = (x * keep) >> THETA_DECAY_BITS if x >= 0 else -(((-x) * keep) >> THETA_DECAY_BITS)


def decay_float(theta: np.ndarray, factor: float) -> None:
    """Float thresholds: :math:`\\theta \\leftarrow \\theta f`."""
    theta *= factor


def decay_registers(theta: np.ndarray, factor: float) -> None:
    """Loihi threshold registers: :math:`\\theta \\leftarrow \\mathrm{sign}(\\theta)
    \\lfloor |\\theta| (4096 - d) / 4096 \\rfloor` with :math:`d = \\mathrm{rint}(4096 (1 - f))`,
    the truncating decay of the neuron update applied once (``theta`` is a C-contiguous view)."""
    d = int(np.rint(2**THETA_DECAY_BITS * (1.0 - factor)))
    _decay_registers(theta, 2**THETA_DECAY_BITS - d)


@njit(cache=True)
def _scale(weight, pos, post, n, target):
    """``weight[pos] *= target / column sum`` in one pass each way; sums in ``pos`` order (as
    ``np.bincount`` adds), so the result is that of the numpy formulation bit for bit."""
    sums = np.zeros(n)
    for k in range(pos.size):
        sums[post[k]] += weight[pos[k]]
    for k in range(pos.size):
        s = sums[post[k]]
        if s != 0:
            weight[pos[k]] = weight[pos[k]] * (target / s)


@njit(cache=True)
def _scale_wgt(weight, pos, post, n, target, shift, wlim, key, counter):
    """The same on the mantissas ``Wgt = weight >> shift``: stochastically rounded (the bits of
    :func:`~neuro.learning.prng.stochastic_round` for stream ``NORMALIZE_STREAM + position``
    and ``counter``), clipped to ``[-wlim, wlim]``, stored back as ``Wgt << shift``."""
    sums = np.zeros(n)
    for k in range(pos.size):
        sums[post[k]] += np.int64(weight[pos[k]]) >> shift
    for k in range(pos.size):
        s = sums[post[k]]
        if s != 0:
            wgt = np.int64(weight[pos[k]]) >> shift
            new = stochastic_round(wgt * (target / s), key, NORMALIZE_STREAM + np.uint64(pos[k]), counter)
            weight[pos[k]] = min(max(new, -wlim), wlim) << shift


def _wgt_layout(net, projection: int, target: float) -> tuple[int, float, int]:
    """``(shift, target in Wgt, largest |Wgt|)`` of a Loihi projection: stored weights are
    ``Wgt << shift``; the target (mV) is converted with :func:`neuro.discretize.wgt_per_mv`."""
    proj = net.spec.projections[projection]
    exp = net.weight_exps[projection]
    lsb = wgt_per_mv(proj, net.pop_registers[net.pop_names.index(proj.post)], exp)
    return 6 + exp, float(target * lsb), 2**proj.weight_bits - 1


def scale_columns(
    net, projection: int, pos: np.ndarray, post: np.ndarray, target: float, counter: int
) -> None:
    """Float weights: :math:`w_{ij} \\leftarrow w_{ij}\\, T / \\sum_i w_{ij}` (T in mV;
    ``counter`` unused)."""
    _scale(net.weight, pos, post, net.n_neurons, float(target))


def scale_columns_wgt(
    net, projection: int, pos: np.ndarray, post: np.ndarray, target: float, counter: int
) -> None:
    """Loihi weights: the same on the mantissas ``Wgt`` (T converted to Wgt units with the
    projection's scale, :func:`neuro.discretize.wgt_per_mv`), rounded stochastically and
    clipped to the weight range:

    .. math:: \\mathrm{Wgt}_{ij} \\leftarrow \\mathrm{clip}\\big(\\mathrm{SR}(\\mathrm{Wgt}_{ij}\\,
              T / \\textstyle\\sum_i \\mathrm{Wgt}_{ij})\\big)

    ``SR`` is :func:`~neuro.learning.prng.stochastic_round` under the network's
    ``learning_key``, stream ``NORMALIZE_STREAM + position``, counter ``counter`` (the
    simulator's step). Why not the nearest integer: a scale factor ``f`` near 1 leaves every
    ``Wgt < 0.5 / |1 - f|`` unchanged, so the small weights of pixels a neuron never sees
    (which only the normalization shrinks: they are never depressed, their inputs never
    spike) would stay where they are for ever, and the shrinking would fall on the large
    weights alone. Stochastic rounding shrinks every weight by ``f`` on average, as float
    does (``docs/training.md``: 2.3 points at 100 neurons)."""
    shift, target_wgt, wlim = _wgt_layout(net, projection, target)
    key, count = np.uint64(net.learning_key), np.uint64(counter)
    _scale_wgt(net.weight, pos, post, net.n_neurons, target_wgt, shift, int(wlim), key, count)


@njit(cache=True)
def _scale_l2(weight, pos, post, n, target):
    """``weight[pos] *= target / column L2 norm`` (squares summed in ``pos`` order)."""
    sums = np.zeros(n)
    for k in range(pos.size):
        sums[post[k]] += weight[pos[k]] * weight[pos[k]]
    for k in range(pos.size):
        s = sums[post[k]]
        if s != 0:
            weight[pos[k]] = weight[pos[k]] * (target / np.sqrt(s))


@njit(cache=True)
def _scale_wgt_l2(weight, pos, post, n, target, shift, wlim):
    """The same on the mantissas ``Wgt = weight >> shift`` (norm of the integers), rounded half
    to even, clipped to ``[-wlim, wlim]``, stored back as ``Wgt << shift``."""
    sums = np.zeros(n)
    for k in range(pos.size):
        wgt = np.int64(weight[pos[k]]) >> shift
        sums[post[k]] += wgt * wgt
    for k in range(pos.size):
        s = sums[post[k]]
        if s != 0:
            wgt = np.int64(weight[pos[k]]) >> shift
            new = min(max(np.rint(wgt * (target / np.sqrt(s))), -wlim), wlim)
            weight[pos[k]] = np.int64(new) << shift


def scale_columns_l2(
    net, projection: int, pos: np.ndarray, post: np.ndarray, target: float, counter: int
) -> None:
    """Float weights: :math:`w_{ij} \\leftarrow w_{ij}\\, T / \\sqrt{\\sum_i w_{ij}^2}` (T in mV;
    ``counter`` unused)."""
    _scale_l2(net.weight, pos, post, net.n_neurons, float(target))


def scale_columns_wgt_l2(
    net, projection: int, pos: np.ndarray, post: np.ndarray, target: float, counter: int
) -> None:
    """Loihi weights: the same on the mantissas ``Wgt`` (T converted to Wgt units with the
    projection's scale), rounded to the nearest integer and clipped to the weight range
    (``counter`` unused). Not stochastic as :func:`scale_columns_wgt`: tried for teacher-stdp,
    its one user, it left the test split as it was and took one validation seed below 90 %
    (``docs/models.md``)."""
    shift, target_wgt, wlim = _wgt_layout(net, projection, target)
    _scale_wgt_l2(net.weight, pos, post, net.n_neurons, target_wgt, shift, float(wlim))


def _positions(sim, projection: int) -> np.ndarray:
    for p, pos in enumerate(sim.net.projection_positions()):
        if p == projection:
            return pos
    raise NeuroError(f"no projection {projection}")


def _rewrite_columns(sim, projection, target, positions, post, method) -> int:
    """Apply the target's column ``method`` to ``projection`` and count the host operations."""
    net = sim.net
    pos = _positions(sim, projection) if positions is None else positions
    if post is None:
        post = net.slot[pos].astype(np.int64) % net.n_neurons
    method(net, projection, pos, post, target, sim.step)
    sim.host_ops["weight_normalization"] = sim.host_ops.get("weight_normalization", 0) + int(pos.size)
    return int(pos.size)


def normalize_weights(
    sim, projection: int, target: float, positions: np.ndarray | None = None, post: np.ndarray | None = None
) -> int:
    """Scale each post neuron's incoming weights of ``projection`` to sum to ``target``.

    In float arithmetic :math:`w_{ij} \\leftarrow w_{ij}\\, T / \\sum_i w_{ij}` (target in mV);
    in loihi arithmetic the same on ``Wgt`` (target in mV, converted with the projection's
    scale), rounded stochastically (unbiased: see :func:`scale_columns_wgt`; the bits are keyed
    by the simulator's current step) and clipped to the weight range. Columns summing
    to zero are left alone (the target's ``normalize_columns``: :func:`scale_columns` or
    :func:`scale_columns_wgt`). Returns the number of synapses rewritten (host operations).
    ``positions`` (the projection's CSR positions) and ``post`` (their post neurons) may be
    passed by a caller that normalizes the same projection again and again.
    """
    return _rewrite_columns(sim, projection, target, positions, post, sim.net.target.normalize_columns)


def normalize_weights_l2(
    sim, projection: int, target: float, positions: np.ndarray | None = None, post: np.ndarray | None = None
) -> int:
    """Scale each post neuron's incoming weights of ``projection`` to Euclidean norm ``target``
    (mV): :math:`w_{ij} \\leftarrow w_{ij}\\, T / \\lVert w_{\\cdot j} \\rVert_2`, in loihi
    arithmetic on ``Wgt``, rounded to the nearest integer and clipped (the target's
    ``normalize_columns_l2``). With
    every column at the same norm, a neuron's input drive :math:`\\sum_i x_i w_{ij}` ranks
    the neurons by the cosine between the image and their weights. Otherwise as
    :func:`normalize_weights`."""
    return _rewrite_columns(sim, projection, target, positions, post, sim.net.target.normalize_columns_l2)


def decay_thresholds(sim, neurons: slice, factor: float) -> int:
    """Decay the adaptive thresholds of ``neurons`` once by ``factor`` (0 < f <= 1), as a host
    operation: the target's ``decay_thresholds`` (:func:`decay_float` or
    :func:`decay_registers`). Returns the number of registers rewritten (host operations)."""
    if not 0.0 < factor <= 1.0:
        raise NeuroError(f"threshold decay factor must be in (0, 1], got {factor}")
    theta = sim.state["theta"]
    block = np.ascontiguousarray(theta[:, neurons])
    sim.net.target.decay_thresholds(block, factor)
    theta[:, neurons] = block
    n = int(block.size)
    sim.host_ops["threshold_decay"] = sim.host_ops.get("threshold_decay", 0) + n
    return n
