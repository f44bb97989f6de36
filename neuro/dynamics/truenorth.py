"""TrueNorth arithmetic: the neuron of Cassidy et al. (2013), integer, tick by tick.

Symbols (per neuron ``j``; ``neuro/chips.py`` has the ranges): ``V`` membrane
potential, ``s^G`` the weight for axon type ``G`` (0..3), ``b^G`` stochastic-synapse flag,
``lambda`` leak, ``epsilon`` leak reversal, ``c`` stochastic leak, ``alpha`` threshold, ``M``
threshold mask, ``beta`` negative threshold, ``kappa`` negative saturation (1) or reset (0),
``gamma`` reset mode (0 value, 1 linear, 2 none), ``R`` reset value. ``rho`` are 8-bit
pseudo-random numbers (uniform on 0..255), ``eta`` the threshold's random offset.

Per tick ``t``, in this order (Cassidy 2013):

1. **Synaptic integration.** ``A_i(t)`` = 1 when axon ``i`` delivers a spike this tick,
   ``w_ij`` the crossbar bit, ``G_i`` the axon's type::

       V += sum_i A_i(t) w_ij * ( s^{G_i}                     if b^{G_i} = 0
                                  sign(s^{G_i}) [|s^{G_i}| > rho_i]   if b^{G_i} = 1 )

   i.e. a stochastic synapse adds ``sign(s)`` with probability ``|s| / 256`` (one draw per
   synaptic event).
2. **Leak.** ``Omega = 1`` (``epsilon = 0``) or ``sign(V)`` (``epsilon = 1``, leak reversal)::

       V += Omega * ( lambda                            if c = 0
                      sign(lambda) [|lambda| > rho]      if c = 1 )

   With leak reversal and ``lambda < 0`` the leak pulls ``V`` toward 0; a leak that would
   carry ``V`` across 0 stops at 0 (no "ringing"; NeMo's reading of IBM's neuron reference [code]).
3. **Saturation.** ``V`` is clipped to the 20-bit register ``[-2**19, 2**19 - 1]`` [A];
   clips are counted (``overflow_v``).
4. **Threshold, fire, reset.** ``eta = rho_T & M`` (``rho_T`` 64 random bits; 0 when
   ``M = 0``)::

       if V >= alpha + eta:           spike;  V = R (gamma 0) | V - (alpha + eta) (1) | V (2)
       elif kappa = 1 and V < -beta:  V = -beta
       elif kappa = 0 and V < -(beta + eta):
                                      V = -R (gamma 0) | V + (beta + eta) (1) | V (2)

A spike at tick ``t`` reaches its axon at tick ``t + D`` (delay ``D`` 1..15): the ring buffer
row ``(t + 1 + (D - 1)) % rows`` (``neuro.dynamics.routing``). The buffer holds, per neuron and
axon type, the number of spikes arriving (``slot = type * n + neuron``, every synapse adds 1),
so deterministic types integrate ``count * s`` and stochastic ones draw once per event.
Splitter neurons are relays with fixed parameters; :func:`run_truenorth` fires them from a
queue (same result as updating them).

**Random numbers** come from the counter-based generator of :mod:`neuro.learning.prng`
(SplitMix64 finalizer): ``bits = random_bits(key, stream, t)`` with ``key`` one 64-bit draw
from the run's seeded generator and ``stream = (b * n + j) * 2048 + slot``, where ``b`` is the
batch element, ``j`` the neuron (physical index; each neuron sits on one core, so this is that
core's generator for that neuron) and ``slot`` the purpose: 0 leak, 1 threshold,
``2 + 256 G + e`` the ``e``-th synaptic event of type ``G`` this tick. ``rho = bits & 255``.
Draws therefore do not depend on evaluation order, chunking or placement, and a run is
reproduced exactly by its seed. (The chip's own per-core LFSR sequence is not public; the
distribution is the same, the bits are not.)
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from neuro.chips import TRUENORTH_V_RANGE
from neuro.dynamics.routing import deliver, deliver_inputs
from neuro.learning.prng import random_bits

V_MIN, V_MAX = TRUENORTH_V_RANGE  # 20-bit signed, saturating
SLOT_LEAK = 0
SLOT_THRESHOLD = 1
SLOT_SYNAPSE = 2
SLOTS = 2048  # 2 + 4 * 256 purposes fit in 11 bits


@njit(cache=True, inline="always")
def prn(key, b, n, j, slot, t):
    """64 pseudo-random bits for (batch element, neuron, purpose) at tick ``t``."""
    return random_bits(key, np.uint64((b * n + j) * SLOTS + slot), np.uint64(t))


@njit(cache=True, inline="always")
def rho8(key, b, n, j, slot, t):
    """Uniform 0..255."""
    return np.int64(prn(key, b, n, j, slot, t) & np.uint64(255))


#: Per-neuron parameters of the update, by name (built from ``TrueNorthNetwork.params``).
TrueNorthParams = namedtuple(
    "TrueNorthParams",
    (
        "weights",
        "stoch_syn",
        "leak",
        "leak_rev",
        "stoch_leak",
        "alpha",
        "mask",
        "beta",
        "kappa",
        "gamma",
        "reset",
    ),
)


@njit(cache=True, inline="always")
def update(q, v, syn, fired, params, key, b, t):
    """One tick of every neuron of batch element ``b`` (see module docstring). ``q`` is this
    tick's ring-buffer row (cleared as it is read); ``syn[j]`` receives the synaptic input
    integrated this tick. Returns the number of saturations."""
    w, stoch_syn, leak, leak_rev = params.weights, params.stoch_syn, params.leak, params.leak_rev
    stoch_leak, alpha, mask, beta = params.stoch_leak, params.alpha, params.mask, params.beta
    kappa, gamma, reset = params.kappa, params.gamma, params.reset
    n = v.shape[0]
    ov = 0
    for j in range(n):
        x = np.int64(v[j])
        s_in = np.int64(0)
        for g in range(4):
            c = np.int64(q[g * n + j])
            if c != 0:
                q[g * n + j] = 0
                wt = w[j, g]
                if (stoch_syn[j] >> g) & 1:
                    a = abs(wt)
                    sg = 1 if wt > 0 else -1
                    for e in range(c):
                        if a > rho8(key, b, n, j, SLOT_SYNAPSE + 256 * g + e, t):
                            s_in += sg
                else:
                    s_in += c * wt
        x += s_in
        lam = leak[j]
        if lam != 0:
            om = 1
            if leak_rev[j]:
                om = 1 if x > 0 else (-1 if x < 0 else 0)
            if om != 0:
                if stoch_leak[j]:
                    dl = 0
                    if abs(lam) > rho8(key, b, n, j, SLOT_LEAK, t):
                        dl = om if lam > 0 else -om
                else:
                    dl = om * lam
                nx = x + dl
                if leak_rev[j] and ((x > 0 and nx < 0) or (x < 0 and nx > 0)):
                    nx = 0
                x = nx
        if x > V_MAX:
            x = V_MAX
            ov += 1
        elif x < V_MIN:
            x = V_MIN
            ov += 1
        eta = np.int64(0)
        if mask[j] != 0:
            eta = np.int64(prn(key, b, n, j, SLOT_THRESHOLD, t) & np.uint64(mask[j]))
        th = alpha[j] + eta
        spk = x >= th
        if spk:
            gm = gamma[j]
            if gm == 0:
                x = reset[j]
            elif gm == 1:
                x = x - th
        elif kappa[j]:
            if x < -beta[j]:
                x = -beta[j]
        else:
            nb = beta[j] + eta
            if x < -nb:
                gm = gamma[j]
                if gm == 0:
                    x = -reset[j]
                elif gm == 1:
                    x = x + nb
        v[j] = x
        syn[j] = s_in
        fired[j] = spk
    return ov


@njit(cache=True, inline="always")
def route(src, b, k, n_rows, csr, buf, queue, qlen):
    """Send a spike of physical source ``src`` at tick ``k``: into the ring buffer, or — for a
    source that feeds a splitter block — onto the queue of splitters that fire at ``k + 1``."""
    indptr, slot, weight, delay, feeds = csr
    if feeds[src]:
        nq = (k + 1) % 2
        for s in range(indptr[src], indptr[src + 1]):
            queue[nq, b, qlen[nq, b]] = slot[s]
            qlen[nq, b] += 1
    else:
        deliver(src, b, k, n_rows, indptr, slot, weight, delay, buf)


@njit(cache=True)
def run_truenorth(k0, n_steps, state, params, csr, io, key, overflow):
    """Advance ``n_steps`` ticks from ``k0``; return (ticks done, spikes written).

    Splitter neurons (weight 1 on type 0, threshold 1, reset 0, no leak, one feeding axon)
    fire exactly in the tick their single input arrives, one tick after their feeder fired,
    and their potential is back at 0 after every tick; they are therefore simulated as a
    queue of the splitters that fire in the next tick rather than updated one by one (the
    result is the same; ``neuron_updates`` still counts them). Spikes of every physical source
    are counted in ``spike_count``; only the network's own neurons' spikes are written to the
    output arrays. Arguments are grouped as in :func:`neuro.dynamics.step.run_chunk`.
    """
    buf, v, syn, queue, qlen = state
    in_ptr, in_src, out_step, out_b, out_src, probe_idx, probe_v, probe_i, spike_count = io
    indptr, slot, weight, delay, feeds = csr
    n_rows, n_batch = buf.shape[0], buf.shape[1]
    n = v.shape[1]
    cap = out_step.shape[0]
    n_out = 0
    fired = np.zeros(n, dtype=np.bool_)
    for jj in range(n_steps):
        k = k0 + jj
        if n_out + n_batch * n > cap:
            return jj, n_out
        row = k % n_rows
        cq = k % 2
        for b in range(n_batch):
            overflow[0] += update(buf[row, b], v[b], syn[b], fired, params, key, b, k)
            # splitters whose input arrives in this tick fire now (after the row of this tick
            # is consumed: a delay of n_rows ticks writes into it)
            for t in range(qlen[cq, b]):
                sp = n + queue[cq, b, t]
                spike_count[sp] += 1
                route(sp, b, k, n_rows, csr, buf, queue, qlen)
            qlen[cq, b] = 0
            for i in range(n):
                if fired[i]:
                    spike_count[i] += 1
                    route(i, b, k, n_rows, csr, buf, queue, qlen)
                    out_step[n_out] = k
                    out_b[n_out] = b
                    out_src[n_out] = i
                    n_out += 1
            for p in range(probe_idx.shape[0]):
                probe_v[jj, b, p] = v[b, probe_idx[p]]
                probe_i[jj, b, p] = syn[b, probe_idx[p]]
        deliver_inputs(k, jj, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count)
    return n_steps, n_out


def new_state(n_batch: int, n: int, n_splitters: int, n_rows: int, v_init: np.ndarray) -> dict:
    """Fresh state: ring buffer of spike counts per (neuron, axon type), potentials, the
    synaptic input of the last tick, and the queues of splitters firing in the current and
    the next tick (indexed by tick parity)."""
    return {
        "buf": np.zeros((n_rows, n_batch, 4 * n), dtype=np.int32),
        "v": np.tile(np.asarray(v_init, dtype=np.int64), (n_batch, 1)),
        "syn": np.zeros((n_batch, n), dtype=np.int64),
        "queue": np.zeros((2, n_batch, max(1, n_splitters)), dtype=np.int32),
        "qlen": np.zeros((2, n_batch), dtype=np.int64),
    }
