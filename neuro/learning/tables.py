"""Flat learning tables for the engine: which synapses learn, by which terms, with which traces.

For every plastic projection ("rule" ``r``) the tables hold its row segments (the CSR
positions of its synapses for each source: pre-spike terms walk these), its columns (for each
post neuron the positions and sources of its synapses: post-spike terms walk these), the
terms of its sum of products, its trace parameters and trace state. Everything is a numpy
array so the step kernels can use it; :func:`empty_tables` gives the tables of a network
without learning.

Trace slots: ``0: x1, 1: x2`` (per source), ``2: y1, 3: y2, 4: y3`` (per neuron). Factor
order in ``t_pow``: ``x1, x2, y1, y2, y3, w, r``.

Global ids (:data:`GLOBAL_IDS`): tables built for a worker's sub-network carry, per synapse,
source and neuron, its position or index in the whole network (:meth:`LearningTables.set_global_ids`),
which keys the random bits of Loihi's stochastic rounding (:mod:`neuro.learning.prng`); a network
stepped whole has none, and the kernels then use the identity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuro.discretize import wgt_per_mv
from neuro.errors import NeuroError
from neuro.network import CompiledNetwork
from neuro.plasticity import TRACES

DECAY_TABLE_LEN = 4096
TRACE_MAX = 127  # 7-bit traces [code: Lava constants.py]
ACC_FRAC_BITS = (
    7  # fraction bits of the learning accumulator below the weight LSB [code: nengo-loihi LEARN_FRAC]
)
ACC_BITS = 15  # accumulator width, plus sign [code: Lava constants.py]
MANT_RANGE = (-8, 7)  # 4-bit signed scale mantissa [code: Lava product_series.py]
EXP_RANGE = (-7, 8)  # scale exponent [code: Lava product_series.py]
REWARD_FRAC_BITS = 7  # reward register: signed 8-bit, value r_int / 128 (our choice)
#: per synapse (CSR position), source and neuron of a sub-network: its whole-network index
GLOBAL_IDS = ("syn_gid", "src_gid", "nrn_gid")


@dataclass
class LearningTables:
    """Arrays of all plastic projections (see module docstring); ``pack`` feeds the kernel."""

    arrays: dict
    rules: list  # (projection index, Plasticity)

    @property
    def n_rules(self) -> int:
        return len(self.rules)

    def pack(self, kind):
        """The arrays as the namedtuple ``kind`` the kernels take (fields by name; a global id
        the tables do not carry is None, the identity)."""
        arr = self.arrays
        return kind(**{name: arr.get(name) if name in GLOBAL_IDS else arr[name] for name in kind._fields})

    def set_global_ids(self, syn_gid: np.ndarray, src_gid: np.ndarray, nrn_gid: np.ndarray) -> None:
        """Tables of a sub-network: the whole network's CSR position of each synapse, index of
        each source and of each neuron (int64, one per synapse, source, neuron)."""
        for name, ids in zip(GLOBAL_IDS, (syn_gid, src_gid, nrn_gid), strict=True):
            self.arrays[name] = np.ascontiguousarray(ids, dtype=np.int64)


def _topology(net: CompiledNetwork, plastic: list[int]) -> dict:
    n, n_src = net.n_neurons, net.n_sources
    r_n = len(plastic)
    seg_start = np.zeros((r_n, n_src), dtype=np.int64)
    seg_len = np.zeros((r_n, n_src), dtype=np.int64)
    col_ptr = np.zeros((r_n, n + 1), dtype=np.int64)
    cols_pos, cols_src, base = [], [], 0
    r_src = np.zeros((r_n, 2), dtype=np.int64)
    r_post = np.zeros((r_n, 2), dtype=np.int64)
    positions = {}
    for p, pos in enumerate(net.projection_positions()):
        if p in plastic:
            positions[p] = pos
    for r, p in enumerate(plastic):
        s0, s1, p0, p1, nsyn = net.proj_ranges[p]
        cnt = net.proj_counts[p]
        pos = positions[p]
        r_src[r] = (s0, s1)
        r_post[r] = (p0, p1)
        starts = np.cumsum(cnt) - cnt
        seg_len[r, s0:s1] = cnt
        seg_start[r, s0:s1] = np.where(cnt > 0, pos[np.minimum(starts, max(nsyn - 1, 0))] if nsyn else 0, 0)
        src = np.repeat(np.arange(s0, s1, dtype=np.int64), cnt)
        tgt = net.slot[pos].astype(np.int64) % n
        order = np.argsort(tgt, kind="stable")
        cols_pos.append(pos[order])
        cols_src.append(src[order])
        col_ptr[r, 1:] = base + np.cumsum(np.bincount(tgt, minlength=n))
        col_ptr[r, 0] = base
        base += nsyn
    return {
        "r_src": r_src,
        "r_post": r_post,
        "seg_start": seg_start,
        "seg_len": seg_len,
        "col_ptr": col_ptr,
        "col_pos": _cat(cols_pos),
        "col_src": _cat(cols_src),
    }


def _cat(xs: list) -> np.ndarray:
    return np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, dtype=np.int64)


def _terms(rules, tm: int):
    r_n = len(rules)
    t_coef = np.zeros((r_n, tm))
    t_dep = np.zeros((r_n, tm), dtype=np.int64)
    t_pow = np.zeros((r_n, tm, 7), dtype=np.int64)
    n_terms = np.zeros(r_n, dtype=np.int64)
    for r, (_p, pl) in enumerate(rules):
        n_terms[r] = len(pl.terms)
        for t, term in enumerate(pl.terms):
            t_coef[r, t] = term.coef
            t_dep[r, t] = 0 if term.dependency == "x0" else 1
            t_pow[r, t] = term.factors
    return t_coef, t_dep, t_pow, n_terms


def _needed(t_dep, t_pow, n_terms) -> np.ndarray:
    """need[r, dep, f] = 1 when a term of rule r with dependency dep (0: x0, 1: y0) uses factor f."""
    need = np.zeros((t_pow.shape[0], 2, 7), dtype=np.int64)
    for r in range(t_pow.shape[0]):
        for t in range(n_terms[r]):
            need[r, t_dep[r, t]] |= t_pow[r, t] > 0
    return need


def _linear(t_dep, t_pow, n_terms) -> np.ndarray:
    """lin[r, dep] = 1 when every term of rule r with dependency dep is, in its per-synapse
    factors, one of ``1, z, w, z*w`` for a single trace z of the other side (x1/x2 for
    y0-terms, y1/y2/y3 for x0-terms): then dw of a synapse is
    ``(A0 + sum_z A_z z) + (B0 + sum_z B_z z) * w`` with per-event A, B (the kernels' fast path)."""
    lin = np.zeros((t_pow.shape[0], 2), dtype=np.int64)
    var = {0: (2, 3, 4), 1: (0, 1)}  # per-synapse traces of each dependency
    for r in range(t_pow.shape[0]):
        ok = [True, True]
        for t in range(n_terms[r]):
            d, pw = t_dep[r, t], t_pow[r, t]
            ok[d] &= bool(pw[5] <= 1 and sum(pw[f] for f in var[d]) <= 1)
        lin[r] = ok
    return lin


def _trace_params(rules):
    r_n = len(rules)
    tau = np.ones((r_n, 5))
    impulse = np.zeros((r_n, 5))
    mode_set = np.zeros((r_n, 5), dtype=np.int64)
    for r, (_p, pl) in enumerate(rules):
        for name, tr in pl.traces.items():
            k = TRACES.index(name)
            tau[r, k], impulse[r, k], mode_set[r, k] = tr.tau, tr.impulse, tr.mode == "set"
    return tau, impulse, mode_set


def plastic_projections(net: CompiledNetwork, enabled: bool = True) -> list:
    """(projection index, Plasticity) of every plastic projection (none if not ``enabled``)."""
    if not enabled:
        return []
    return [(i, p.plasticity) for i, p in enumerate(net.spec.projections) if p.plasticity is not None]


def build_float_tables(net: CompiledNetwork, enabled: bool = True) -> LearningTables:
    """Tables for float arithmetic: coefficients in mV, traces decayed lazily and exactly."""
    rules = plastic_projections(net, enabled)
    arr = _topology(net, [p for p, _ in rules])
    tm = max([len(pl.terms) for _, pl in rules], default=1)
    arr["t_coef"], arr["t_dep"], arr["t_pow"], arr["n_terms"] = _terms(rules, tm)
    tau, impulse, mode_set = _trace_params(rules)
    tau_steps = tau / net.dt
    arr["tr_impulse"], arr["tr_set"] = impulse, mode_set
    arr["tr_tau_steps"] = tau_steps
    arr["decay_tab"] = np.exp(-np.arange(DECAY_TABLE_LEN)[None, None, :] / tau_steps[:, :, None])
    arr["w_min"] = np.array([pl.w_min for _, pl in rules], dtype=np.float64)
    arr["w_max"] = np.array([pl.w_max for _, pl in rules], dtype=np.float64)
    r_n, n_src, n = len(rules), net.n_sources, net.n_neurons
    arr["x"] = np.zeros((r_n, 2, n_src))
    arr["x_last"] = np.zeros((r_n, n_src), dtype=np.int64)
    arr["y"] = np.zeros((r_n, 3, n))
    arr["y_last"] = np.zeros((r_n, n), dtype=np.int64)
    arr["reward"] = np.zeros(1)
    arr["counts"] = np.zeros(2, dtype=np.int64)
    arr["need"] = _needed(arr["t_dep"], arr["t_pow"], arr["n_terms"])
    arr["lin"] = _linear(arr["t_dep"], arr["t_pow"], arr["n_terms"])
    arr["scratch"] = np.zeros(tm)  # per-event constants of the general path
    arr["y_now"] = np.zeros((r_n, 3, n))  # post traces decayed to step y_stamp (read by pre events)
    arr["y_stamp"] = np.full((r_n, n), -1, dtype=np.int64)
    return LearningTables(arr, rules)


def to_mant_exp(c: float, where: str) -> tuple[int, int]:
    """Nearest ``m * 2**e`` with m in [-8, 7], e in [-7, 8] (smallest e that fits)."""
    if c == 0:
        return 0, 0
    for e in range(EXP_RANGE[0], EXP_RANGE[1] + 1):
        m = int(np.rint(c / 2.0**e))
        if MANT_RANGE[0] <= m <= MANT_RANGE[1]:
            if m == 0:
                raise NeuroError(
                    f"coefficient {c:g} is below Loihi's smallest scale 2^-7 x 1 (in weight LSBs)",
                    field=where,
                )
            return m, e
    raise NeuroError(f"coefficient {c:g} exceeds Loihi's largest scale 7 x 2^8 (in weight LSBs)", field=where)


def trace_kappa(tr) -> float:
    """Integer trace units per float trace unit: an impulse maps to 127 (``set``) or 64 (``add``)."""
    if tr.impulse == 0:
        return 1.0
    return (TRACE_MAX if tr.mode == "set" else 64) / tr.impulse


def build_loihi_tables(net: CompiledNetwork, enabled: bool = True) -> LearningTables:
    """Tables for loihi arithmetic: 7-bit traces, mantissa/exponent scales, Wgt weights."""
    rules = plastic_projections(net, enabled)
    arr = _topology(net, [p for p, _ in rules])
    tm = max([len(pl.terms) for _, pl in rules], default=1)
    coef, arr["t_dep"], arr["t_pow"], arr["n_terms"] = _terms(rules, tm)
    r_n = len(rules)
    t_mant = np.zeros((r_n, tm), dtype=np.int64)
    t_exp = np.zeros((r_n, tm), dtype=np.int64)
    impulse = np.zeros((r_n, 5))
    decay = np.ones((r_n, 5))
    mode_set = np.zeros((r_n, 5), dtype=np.int64)
    shift = np.zeros(r_n, dtype=np.int64)
    wbits = np.zeros(r_n, dtype=np.int64)
    w_min = np.zeros(r_n, dtype=np.int64)
    w_max = np.zeros(r_n, dtype=np.int64)
    epoch = np.ones(r_n, dtype=np.int64)
    spec = net.spec
    pop_index = {pop.name: i for i, pop in enumerate(spec.populations)}
    for r, (p, pl) in enumerate(rules):
        proj = spec.projections[p]
        where = f"projections[{p}].plasticity"
        e_w = net.weight_exps[p]
        shift[r] = 6 + e_w
        wbits[r] = proj.weight_bits
        wlim = 2**proj.weight_bits - 1
        epoch[r] = pl.epoch
        raw = proj.weight_exp is not None
        post = net.pop_registers[pop_index[proj.post]]  # by the spec's order: a sub-network has it too
        lsb = wgt_per_mv(proj, post, e_w)  # Wgt per mV
        lo, hi = (pl.w_min, pl.w_max) if raw else (pl.w_min * lsb, pl.w_max * lsb)
        w_min[r] = int(np.clip(np.ceil(lo - 1e-9), -wlim, wlim))
        w_max[r] = int(np.clip(np.floor(hi + 1e-9), -wlim, wlim))
        kappa = {}
        for name, tr in pl.traces.items():
            k = TRACES.index(name)
            kappa[name] = 1.0 if raw else trace_kappa(tr)
            impulse[r, k] = tr.impulse * kappa[name]
            if impulse[r, k] > TRACE_MAX:
                raise NeuroError(
                    f"trace {name} impulse {impulse[r, k]:g} exceeds {TRACE_MAX}", spec.source, where
                )
            decay[r, k] = math.exp(-pl.epoch * net.dt / tr.tau)
            mode_set[r, k] = tr.mode == "set"
        for t, term in enumerate(pl.terms):
            c = term.coef
            if not raw:
                # dw in Wgt LSBs from fixed-point factors: trace = int/128 (float trace = int/kappa),
                # w = Wgt/2^bits (float w = Wgt/lsb), r = r_int/128 (float r).
                c = c * lsb
                for name in ("x1", "x2", "y1", "y2", "y3"):
                    if term.power(name):
                        c *= (128.0 / kappa[name]) ** term.power(name)
                c *= (2.0**proj.weight_bits / lsb) ** term.power("w")
            try:
                t_mant[r, t], t_exp[r, t] = to_mant_exp(c, f"{where}.terms[{t}]")
            except NeuroError as exc:
                raise exc.at(spec.source) from None
            if raw and t_mant[r, t] * 2.0 ** t_exp[r, t] != term.coef:
                raise NeuroError(
                    f"coefficient {term.coef:g} of term {t + 1} is not m*2^e with m in -8..7, e in -7..8",
                    spec.source,
                    f"{where}.rule",
                )
    arr.update(
        t_mant=t_mant,
        t_exp=t_exp,
        tr_impulse=impulse,
        tr_decay=decay,
        tr_set=mode_set,
        w_shift=shift,
        w_bits=wbits,
        w_min=w_min,
        w_max=w_max,
        epoch=epoch,
    )
    n_src, n = net.n_sources, net.n_neurons
    arr["x"] = np.zeros((r_n, 2, n_src), dtype=np.int64)
    arr["y"] = np.zeros((r_n, 3, n), dtype=np.int64)
    arr["x_flag"] = np.zeros((r_n, n_src), dtype=np.int64)
    arr["y_flag"] = np.zeros((r_n, n), dtype=np.int64)
    arr["x_list"] = np.zeros((r_n, n_src), dtype=np.int64)
    arr["y_list"] = np.zeros((r_n, n), dtype=np.int64)
    arr["n_list"] = np.zeros((r_n, 2), dtype=np.int64)
    arr["key"] = np.array([net.learning_key], dtype=np.uint64)
    arr["reward"] = np.zeros(1, dtype=np.int64)
    arr["counts"] = np.zeros(2, dtype=np.int64)
    arr["lin"] = _linear(arr["t_dep"], arr["t_pow"], arr["n_terms"])
    arr["scratch"] = np.zeros((4, tm), dtype=np.int64)  # per-event F, trace, w power, shift
    arr["wbuf"] = np.zeros(int(np.diff(arr["col_ptr"], axis=1).max(initial=0)), dtype=np.int64)  # a column
    return LearningTables(arr, rules)
