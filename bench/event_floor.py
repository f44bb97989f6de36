"""The bare shape of the training loop's inner work, per input synapse event: a floor.

On Diehl & Cook's input layout (784 inputs x 400 neurons, every synapse with its own delay of
0..20 steps into a ring buffer) each input spike's row is delivered and learned in one pass:
``buf[(k + 1 + delay) % R, post] += w`` with the old weight, then ``w = clip(w + a + b * y1[post])``
(Diehl & Cook's pre-spike depression reading the post trace). No tables, no rule engine, no
bookkeeping: what is left of neuro's fused loop (:mod:`neuro.learning.fused`) when everything
but the arithmetic and memory traffic is taken away. Prints the best of ``--repeats`` runs in
ns per event and what 1.34 M events (one training image's presentation, ``bench/train_profile.py``)
cost at that rate, the floor of the presentation on this CPU.

    python bench/event_floor.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

N_IN, N_POST, N_ROWS, SPIKES, EVENTS_PER_IMAGE = 784, 400, 22, 3000, 1.34e6


@njit(cache=False)
def deliver_and_learn(spikes, steps, indptr, slot, delay, weight, buf, y1, a, b, lo, hi):
    n_rows = buf.shape[0]
    for t in range(spikes.shape[0]):
        i, k = spikes[t], steps[t]
        for s in range(indptr[i], indptr[i + 1]):
            q = (k + 1 + delay[s]) % n_rows
            w0 = weight[s]
            buf[q, slot[s]] += w0
            x = w0 + (a + b * y1[slot[s]])
            weight[s] = lo if x < lo else (hi if x > hi else x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    rng = np.random.default_rng(0)
    slot = np.tile(np.arange(N_POST, dtype=np.int32), N_IN)
    delay = rng.integers(0, N_ROWS - 1, N_IN * N_POST).astype(np.uint8)
    indptr = np.arange(N_IN + 1, dtype=np.int64) * N_POST
    weight0 = rng.random(N_IN * N_POST) * 0.3
    y1 = rng.random(N_POST)
    spikes = np.sort(rng.integers(0, N_IN, SPIKES))
    steps = np.sort(rng.integers(0, 700, SPIKES))
    best = np.inf
    for r in range(args.repeats + 1):  # the first call compiles
        weight, buf = weight0.copy(), np.zeros((N_ROWS, N_POST))
        t0 = time.perf_counter()
        deliver_and_learn(spikes, steps, indptr, slot, delay, weight, buf, y1, -6e-4, 0.0, 0.0, 60.0)
        if r:
            best = min(best, time.perf_counter() - t0)
    ns = best / (SPIKES * N_POST) * 1e9
    print(f"bare deliver-and-learn loop: {ns:.2f} ns per input synapse event (best of {args.repeats})")
    print(
        f"one D&C-400 presentation ({EVENTS_PER_IMAGE / 1e6:.2f} M events) at that rate: "
        f"{ns * EVENTS_PER_IMAGE / 1e6:.2f} ms"
    )


if __name__ == "__main__":
    main()
