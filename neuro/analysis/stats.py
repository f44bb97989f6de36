r"""Spike-train statistics of one population, accumulated chunk by chunk.

Notation: a population of :math:`n` neurons observed over the window
:math:`[t_0, t_1)`, :math:`T = t_1 - t_0`; :math:`c_i` is the spike count of neuron
:math:`i` in the window. Variances are population variances (``ddof = 0``).

* mean rate :math:`\bar r = \sum_i c_i / (n T)`, max rate :math:`\max_i c_i / T` (Hz, T in s);
* silent fraction: share of the :math:`n` neurons with :math:`c_i = 0`;
* CV of inter-spike intervals: for every neuron with :math:`c_i \ge 3` (two or more ISIs),
  :math:`\mathrm{CV}_i = \mathrm{std}(\mathrm{ISI}_i) / \mathrm{mean}(\mathrm{ISI}_i)`, averaged
  over those neurons;
* Fano factor of the population count: the window is cut into :math:`K = \lfloor T / b_F \rfloor`
  full bins of width :math:`b_F` (100 ms by default; a partial last bin is left out), and
  :math:`F = \mathrm{Var}_k(S_k) / \mathrm{E}_k(S_k)` with :math:`S_k` the population's spikes in
  bin :math:`k` (1 for a Poisson population, 0 for a perfectly regular count);
* synchrony, Golomb's :math:`\chi` (Golomb 2007, Scholarpedia 2(1):1347) on spike counts in
  :math:`K = \lfloor T / b_\chi \rfloor` bins of width :math:`b_\chi` (10 ms by default), over
  the :math:`n_a` neurons that spike in those bins: with :math:`x_{ik}` the count of neuron
  :math:`i` in bin :math:`k` and :math:`S_k = \sum_i x_{ik}`,

  .. math:: \chi^2 = \frac{\mathrm{Var}_k(S_k / n_a)}{\frac{1}{n_a}\sum_i \mathrm{Var}_k(x_{ik})}
            = \frac{\mathrm{Var}_k(S_k)}{n_a \sum_i \mathrm{Var}_k(x_{ik})}

  :math:`\chi = 1` when all neurons fire in the same bins, :math:`\chi \approx 1/\sqrt{n_a}` when
  they fire independently.

Streaming needs each neuron's spikes in time order across the stream (true for files sorted
``by_time`` or ``by_id``); :class:`TrainAccumulator` reports when that does not hold and
:func:`accumulate` then sorts the spikes in blocks of whole neurons of bounded size.
"""

from __future__ import annotations

import numpy as np

from neuro.errors import NeuroError

FANO_BIN_MS = 100.0
SYNC_BIN_MS = 10.0


def _bincount(idx, n, weights=None):
    return np.bincount(idx, weights=weights, minlength=n)[:n]


class TrainAccumulator:
    """Sufficient statistics of a population's spike trains, updated chunk by chunk.

    Parameters
    ----------
    n : int
        Neurons (node ids ``0 .. n-1``; ids must be below ``n``).
    t0, t1 : float
        Window in ms; spikes passed in must lie in it.
    fano_bin_ms, sync_bin_ms : float
        Bin widths of the Fano factor and of the synchrony measure.
    """

    def __init__(self, n, t0, t1, fano_bin_ms=FANO_BIN_MS, sync_bin_ms=SYNC_BIN_MS):
        self.n, self.t0, self.t1 = int(n), float(t0), float(t1)
        self.fano_bin, self.sync_bin = float(fano_bin_ms), float(sync_bin_ms)
        T = self.t1 - self.t0
        self.k_fano = int(np.floor(T / self.fano_bin + 1e-9))
        self.k_sync = int(np.floor(T / self.sync_bin + 1e-9))
        n = self.n
        self.count = np.zeros(n, np.int64)
        self.last = np.full(n, np.nan)
        self.isi_n = np.zeros(n, np.int64)
        self.isi_sum = np.zeros(n)
        self.isi_sq = np.zeros(n)
        self.fano_counts = np.zeros(self.k_fano, np.int64)
        self.sync_counts = np.zeros(self.k_sync, np.int64)
        self.sync_n = np.zeros(n, np.int64)  # spikes of neuron i inside the K sync bins
        self.sync_sq = np.zeros(n, np.int64)  # sum_k x_ik^2 over closed (neuron, bin) cells
        self.open_bin = np.full(n, -1, np.int64)
        self.open_cnt = np.zeros(n, np.int64)

    def update(self, ids: np.ndarray, ts: np.ndarray) -> bool:
        """Add a chunk of spikes; return False (and change nothing) if some neuron's spikes
        are out of time order with respect to what was already added."""
        if not ids.size:
            return True
        order = np.argsort(ids, kind="stable")
        ids, ts = ids[order], ts[order]
        if ids[0] < 0 or ids[-1] >= self.n:
            bad = int(ids[0] if ids[0] < 0 else ids[-1])
            raise NeuroError(f"node id {bad} out of range: the population has {self.n} neurons")
        same = ids[1:] == ids[:-1]
        first = np.concatenate([[True], ~same])
        lastm = np.concatenate([~same, [True]])
        fid = ids[first]
        prev = self.last[fid]
        if np.any(ts[1:][same] < ts[:-1][same]) or np.any(ts[first] < prev):
            return False
        n = self.n
        # inter-spike intervals: within the chunk, and from each neuron's previous spike
        has = ~np.isnan(prev)
        isi = np.concatenate([ts[1:][same] - ts[:-1][same], ts[first][has] - prev[has]])
        own = np.concatenate([ids[1:][same], fid[has]])
        self.isi_n += _bincount(own, n)
        self.isi_sum += _bincount(own, n, isi)
        self.isi_sq += _bincount(own, n, isi * isi)
        self.last[fid] = ts[lastm]
        self.count += _bincount(ids, n)
        # population counts per bin
        rel = ts - self.t0
        if self.k_fano:
            b = np.floor(rel / self.fano_bin).astype(np.int64)
            ok = b < self.k_fano
            self.fano_counts += _bincount(b[ok], self.k_fano)
        if self.k_sync:
            b = np.floor(rel / self.sync_bin).astype(np.int64)
            ok = b < self.k_sync
            self.sync_counts += _bincount(b[ok], self.k_sync)
            self._cells(ids[ok], b[ok])
        return True

    def _cells(self, ids, bins) -> None:
        """Accumulate sum_k x_ik^2 from (neuron, bin) pairs sorted by neuron then bin."""
        if not ids.size:
            return
        n = self.n
        self.sync_n += _bincount(ids, n)
        new = np.concatenate([[True], (ids[1:] != ids[:-1]) | (bins[1:] != bins[:-1])])
        starts = np.flatnonzero(new)
        cid, cb = ids[starts], bins[starts]
        cc = np.diff(np.concatenate([starts, [ids.size]]))
        first = np.concatenate([[True], cid[1:] != cid[:-1]])
        last = np.concatenate([cid[1:] != cid[:-1], [True]])
        f_id = cid[first]
        cont = cb[first] == self.open_bin[f_id]  # continues the neuron's open cell
        cc[np.flatnonzero(first)[cont]] += self.open_cnt[f_id[cont]]
        closed = f_id[~cont]
        self.sync_sq[closed] += self.open_cnt[closed] ** 2
        inner = ~last
        self.sync_sq += _bincount(cid[inner], n, cc[inner] ** 2).astype(np.int64)
        self.open_bin[cid[last]] = cb[last]
        self.open_cnt[cid[last]] = cc[last]

    def result(self) -> dict:
        """Statistics as a dict of plain numbers (``None`` where undefined)."""
        n, T_s = self.n, (self.t1 - self.t0) / 1000.0
        total = int(self.count.sum())
        sq = self.sync_sq + self.open_cnt**2
        cv, n_cv = cv_isi(self.isi_n, self.isi_sum, self.isi_sq)
        return {
            "neurons": n,
            "spikes": total,
            "duration_ms": self.t1 - self.t0,
            "mean_rate_hz": total / (n * T_s) if n and T_s > 0 else None,
            "max_rate_hz": float(self.count.max()) / T_s if n and T_s > 0 else None,
            "silent_fraction": float(np.mean(self.count == 0)) if n else None,
            "cv_isi_mean": cv,
            "cv_isi_neurons": n_cv,
            "fano_factor": fano_factor(self.fano_counts),
            "fano_bins": self.k_fano,
            "synchrony_chi": golomb_chi(self.sync_counts, self.sync_n, sq),
            "synchrony_bins": self.k_sync,
        }


def cv_isi(isi_n, isi_sum, isi_sq) -> tuple[float | None, int]:
    r"""Mean coefficient of variation of ISIs over neurons with two or more ISIs.

    From per-neuron ISI count :math:`m_i`, sum and sum of squares:
    :math:`\mu_i = \Sigma_i / m_i`, :math:`\sigma_i^2 = \Sigma^{(2)}_i / m_i - \mu_i^2`,
    :math:`\mathrm{CV}_i = \sigma_i / \mu_i`. Returns ``(mean CV or None, neurons used)``.
    """
    isi_n = np.asarray(isi_n)
    use = isi_n >= 2
    if not use.any():
        return None, 0
    m = isi_n[use].astype(np.float64)
    mu = np.asarray(isi_sum)[use] / m
    var = np.maximum(np.asarray(isi_sq)[use] / m - mu * mu, 0.0)
    pos = mu > 0
    cv = np.where(pos, np.sqrt(var) / np.where(pos, mu, 1.0), 0.0)
    return float(cv.mean()), int(use.sum())


def fano_factor(counts) -> float | None:
    r""":math:`F = \mathrm{Var}(S_k) / \mathrm{E}(S_k)` of binned counts.

    ``None`` for fewer than 2 bins or no spikes.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.size < 2 or c.mean() == 0:
        return None
    return float(c.var() / c.mean())


def golomb_chi(pop_counts, neuron_counts, neuron_sq) -> float | None:
    r"""Golomb's synchrony :math:`\chi` from binned counts.

    Parameters
    ----------
    pop_counts : array (K,)
        :math:`S_k`, the population's spikes per bin.
    neuron_counts : array (n,)
        :math:`\sum_k x_{ik}`, spikes of each neuron inside the K bins.
    neuron_sq : array (n,)
        :math:`\sum_k x_{ik}^2`.

    Returns
    -------
    float or None
        :math:`\chi = \sqrt{\mathrm{Var}_k(S_k) / (n_a \sum_i \mathrm{Var}_k(x_{ik}))}` over the
        :math:`n_a` neurons with spikes in the bins; ``None`` with fewer than 2 bins or no
        spikes.
    """
    S = np.asarray(pop_counts, dtype=np.float64)
    K = S.size
    x1 = np.asarray(neuron_counts, dtype=np.float64)
    x2 = np.asarray(neuron_sq, dtype=np.float64)
    active = x1 > 0
    n_a = int(active.sum())
    if K < 2 or n_a == 0:
        return None
    var_i = np.maximum(x2[active] / K - (x1[active] / K) ** 2, 0.0)
    denom = n_a * var_i.sum()
    if denom <= 0:
        return None
    return float(np.sqrt(S.var() / denom))


SORT_BUDGET = 1 << 20  # spikes sorted in memory at a time when a file is not in time order


def accumulate(
    chunks, n, t0, t1, fano_bin_ms=FANO_BIN_MS, sync_bin_ms=SYNC_BIN_MS, budget: int = SORT_BUDGET
) -> TrainAccumulator:
    """Accumulate a population from a re-iterable source of ``(ids, ts)`` chunks.

    ``chunks`` is a callable returning a fresh iterator. It is streamed once. If some
    neuron's spikes turn out not to be in time order (a file sorted neither by time nor by
    id), the spikes are instead counted per neuron, the neurons are cut into blocks of at
    most ``budget`` spikes (a single busier neuron makes a block of its own), and each block
    is read again, sorted in memory and accumulated: memory stays bounded, at the cost of one
    pass over the window per block. Call :meth:`TrainAccumulator.result` for the statistics.
    """
    acc = TrainAccumulator(n, t0, t1, fano_bin_ms, sync_bin_ms)
    for ids, ts in chunks():
        if not acc.update(ids, ts):
            break
    else:
        return acc
    counts = np.zeros(n, np.int64)
    for ids, _ in chunks():
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            bad = int(ids.min() if ids.min() < 0 else ids.max())
            raise NeuroError(f"node id {bad} out of range: the population has {n} neurons")
        counts += np.bincount(ids, minlength=n)
    cum = np.cumsum(counts)
    edges = [0]
    while edges[-1] < n:
        a = edges[-1]
        base = cum[a - 1] if a else 0
        edges.append(min(n, max(a + 1, int(np.searchsorted(cum, base + budget, side="right")))))
    acc = TrainAccumulator(n, t0, t1, fano_bin_ms, sync_bin_ms)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if cum[b - 1] - (cum[a - 1] if a else 0) == 0:
            continue
        parts = [(ids[m], ts[m]) for ids, ts in chunks() for m in [(ids >= a) & (ids < b)] if m.any()]
        ids = np.concatenate([p[0] for p in parts])
        ts = np.concatenate([p[1] for p in parts])
        del parts
        order = np.lexsort((ids, ts))
        acc.update(ids[order], ts[order])
    return acc
