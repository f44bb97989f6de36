"""Where a Diehl & Cook training image goes: host normalization, Poisson draws, the presentation
(700 steps with learning on) and the rest period, timed around ``Presenter.train_image``'s calls;
then the presentation's learning and delivery kernels alone on the same input spikes (1.3 M
input synapse events per image), the two in one pass as training runs them
(:mod:`neuro.learning.fused`), and the per-step learning cost without spikes. Run from a
checkout with ``PYTHONPATH=.`` to profile that checkout's ``neuro``.

    PYTHONPATH=. python bench/train_profile.py [--arithmetic float|loihi] [--neurons 400] [--images 40]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

import neuro.dynamics.floating  # noqa: F401  (registers the float kernels)
import neuro.dynamics.loihi  # noqa: F401  (registers the loihi kernels)
from neuro.datasets import load_dataset
from neuro.dynamics.routing import deliver_inputs
from neuro.dynamics.step import apply_learning, learn_inputs
from neuro.engine import Simulator
from neuro.inputs import ScheduledInputs, to_csr
from neuro.models.diehl_cook_protocol import make_config
from neuro.models.registry import model_kind
from neuro.network import compile_network


@njit
def _learn_loop(lrn, in_ptr, in_src, n, slot, weight, out_src):
    for k in range(in_ptr.size - 1):
        apply_learning(lrn, k, n, out_src, 0, 0, in_src, in_ptr[k], in_ptr[k + 1], slot, weight)


@njit
def _deliver_loop(in_ptr, in_src, indptr, slot, weight, delay, buf, spike_count):
    for k in range(in_ptr.size - 1):
        deliver_inputs(k, k, 1, in_ptr, in_src, buf.shape[0], indptr, slot, weight, delay, buf, spike_count)


@njit
def _fused_loop(lrn, in_ptr, in_src, n, indptr, slot, weight, delay, buf, spike_count, out_src):
    for k in range(in_ptr.size - 1):
        nr = buf.shape[0]
        if not learn_inputs(lrn, k, k, n, in_ptr, in_src, nr, indptr, slot, weight, delay, buf, spike_count):
            return False  # refused (Loihi arithmetic has no one-pass path: training runs two passes)
        apply_learning(lrn, k, n, out_src, 0, 0, in_src, in_ptr[k + 1], in_ptr[k + 1], slot, weight)
    return True


def _simulator(arithmetic: str, n: int):
    kind = model_kind("diehl-cook")
    cfg = make_config(n, {}, "paper", kind.name)
    sim = Simulator(compile_network(kind.build_network(cfg, arithmetic, 0)), inputs=ScheduledInputs())
    return sim, kind.make_presenter(sim, cfg), cfg


def phases(arithmetic: str, n: int, k: int) -> None:
    sim, pr, cfg = _simulator(arithmetic, n)
    ds = load_dataset("embedded", "train")
    t = dict.fromkeys(("normalization", "draw", "presentation", "rest"), 0.0)

    def timed(fn, key):
        def wrap(*a, **kw):
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            t[key(a, kw) if callable(key) else key] += time.perf_counter() - t0
            return out

        return wrap

    pr.draw = timed(pr.draw, "draw")
    pr.normalize = timed(pr.normalize, "normalization")
    sim.run = timed(sim.run, lambda a, kw: "presentation" if "on_spikes" in kw else "rest")
    pr.train_image(ds.images[0])  # compiles
    t.update(dict.fromkeys(t, 0.0))
    t0 = time.perf_counter()
    for i in range(1, k + 1):
        pr.train_image(ds.images[i])
    wall = time.perf_counter() - t0
    t["presentation"] -= t["draw"]  # drawn inside the presentation's counts()
    print(f"{arithmetic}, {n} neurons: {k / wall:.1f} images/s, {1e3 * wall / k:.2f} ms/image")
    for key, val in t.items():
        print(f"  {key:14} {1e3 * val / k:7.3f} ms/image  {100 * val / wall:5.1f} %")
    z = np.zeros(2, dtype=np.int64)
    e = np.zeros(0, dtype=np.int64)
    pv = np.zeros((0, 1, 0), dtype=sim.probe_dtype)
    sim._kernel(sim.step, 0, z, e, pv, pv)
    t0 = time.perf_counter()
    for _ in range(200):
        sim._kernel(sim.step, 0, z, e, pv, pv)
    print(f"  kernel dispatch (a call of 0 steps): {1e6 * (time.perf_counter() - t0) / 200:.1f} us")


def kernels(arithmetic: str, n: int, images: int = 10) -> None:
    sim, pr, cfg = _simulator(arithmetic, n)
    net = sim.net
    ds = load_dataset("embedded", "train")
    st, b, c = pr.draw(ds.images[1 : images + 1], np.full(images, 2.0), np.random.default_rng(1))
    steps = cfg.present_steps
    rows = b * steps + st
    order = np.lexsort((c, rows))
    in_ptr, in_src = to_csr([rows[order]], [c[order] + pr.pixels0], images * steps)
    lrn = sim.tables.pack(sim.target.tables_type)
    sim2 = _simulator(arithmetic, n)[0]  # fresh tables for the one-pass run
    lrn2 = sim2.tables.pack(sim2.target.tables_type)
    none = np.zeros(0, dtype=np.int32)
    w = net.weight.copy()
    buf = sim.state["buf"].copy()
    sc = np.zeros(net.n_sources, dtype=np.int64)
    for _ in range(2):  # the first compiles
        t0 = time.perf_counter()
        _learn_loop(lrn, in_ptr, in_src, net.n_neurons, net.slot, w, none)
        tl = time.perf_counter() - t0
        t0 = time.perf_counter()
        _deliver_loop(in_ptr, in_src, net.indptr, net.slot, w, net.delay, buf, sc)
        td = time.perf_counter() - t0
    w2 = net.weight.copy()
    buf2 = sim.state["buf"].copy()
    for _ in range(2):  # the first compiles
        t0 = time.perf_counter()
        args = (in_ptr, in_src, net.n_neurons, net.indptr, net.slot, w2, net.delay, buf2, sc, none)
        fused = _fused_loop(lrn2, *args)
        tf = time.perf_counter() - t0
    same = np.array_equal(w, w2)  # (the delivery loop above ran after learning: its buffer differs)
    events = int(np.diff(net.indptr)[in_src].sum())
    print(f"  presentation kernels alone, {events / images / 1e6:.2f} M input synapse events/image:")
    print(f"    learning {1e3 * tl / images:.3f} ms/image ({1e9 * tl / events:.2f} ns/event)")
    print(f"    delivery {1e3 * td / images:.3f} ms/image ({1e9 * td / events:.2f} ns/event)")
    if fused:
        print(
            f"    both in one pass (as training runs them) {1e3 * tf / images:.3f} ms/image "
            f"({1e9 * tf / events:.2f} ns/event; learned weights {'identical' if same else 'DIFFER'})"
        )
    else:
        print(f"    no one-pass path in {arithmetic} arithmetic: training runs the two passes above")
    idle = np.zeros(images * steps + 1, dtype=np.int64)
    t0 = time.perf_counter()
    _learn_loop(lrn, idle, in_src[:0], net.n_neurons, net.slot, w, none)
    print(
        f"    learning without spikes: {1e3 * (time.perf_counter() - t0) / images:.3f} ms per {steps} steps"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arithmetic", default="float", choices=["float", "loihi"])
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--images", type=int, default=40)
    args = ap.parse_args()
    phases(args.arithmetic, args.neurons, args.images)
    kernels(args.arithmetic, args.neurons)


if __name__ == "__main__":
    main()
