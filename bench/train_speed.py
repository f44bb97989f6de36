"""Diehl & Cook training throughput: neuro vs Brian2 on the same network, plus batched evaluation.

The network is neuro's current-based Diehl & Cook model (``models/diehl_cook.py``; 784
Poisson inputs -> N exc <-> N inh, dt 0.5 ms, 350 ms + 150 ms per image, input weights
normalized before every image, the trace rule with delays 0-10 ms). Brian2 runs the same
equations in runtime mode (cython by default; the first run compiles for about a minute,
reported separately) with event-driven STDP synapses and the same normalization done on the
host between images. Both train on the first K images of the embedded training split; the
script prints images/s of each and the ratio. Then neuro's batched evaluation speed (reruns
included; ``bench/eval_speed.py`` compares it with whole-batch reruns). Last, the cold start:
a fresh process with an empty kernel cache (its own ``NUMBA_CACHE_DIR``) trains one image and
labels one, in each arithmetic; its wall time is mostly compiling the kernels (``--no-cold``
skips it).

    python bench/train_speed.py [--neurons 400] [--images 40] [--brian2-target cython|numpy] [--no-cold]

From a checkout, ``PYTHONPATH=. python bench/train_speed.py ...`` times that checkout's ``neuro``
(without it, the installed one).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

BRIAN2 = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from brian2 import *
from neuro.datasets import load_dataset
from neuro.models.diehl_cook import DiehlCookConfig
n, k, target = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
prefs.codegen.target = target
c = DiehlCookConfig(n_neurons=n)
g = c.input_gain
defaultclock.dt = c.dt * ms
imgs = load_dataset("embedded", "train").images[:k + 1]
inp = PoissonGroup(784, rates=np.zeros(784) * Hz)
exc = NeuronGroup(n, '''dv/dt = (-(v - v_rest) + Ie + Ii) / tau_m : 1 (unless refractory)
dIe/dt = -Ie / tau_e : 1
dIi/dt = -Ii / tau_i : 1
dtheta/dt = -theta / tau_th : 1''', threshold="v > v_th + theta", reset="v = v_reset; theta += th_plus",
    refractory=c.exc_refractory * ms, method="exact",
    namespace=dict(v_rest=c.exc_v_rest, tau_m=c.exc_tau_mem * ms, tau_e=c.exc_tau_syn * ms,
                   tau_i=c.exc_tau_syn_inh * ms, tau_th=c.tau_theta * ms, v_th=c.exc_v_threshold,
                   v_reset=c.exc_v_reset, th_plus=c.theta_plus))
inh = NeuronGroup(n, '''dv/dt = (-(v - v_rest) + Ie) / tau_m : 1 (unless refractory)
dIe/dt = -Ie / tau_e : 1''', threshold="v > v_th", reset="v = v_reset", refractory=c.inh_refractory * ms,
    method="exact", namespace=dict(v_rest=c.inh_v_rest, tau_m=c.inh_tau_mem * ms, tau_e=c.inh_tau_syn * ms,
                                   v_th=c.inh_v_threshold, v_reset=c.inh_v_reset))
exc.v, inh.v = c.exc_v_rest, c.inh_v_rest
xe = Synapses(inp, exc, '''w : 1
dpre/dt = -pre / tau_pre : 1 (event-driven)
dpost1/dt = -post1 / tau_p1 : 1 (event-driven)
dpost2/dt = -post2 / tau_p2 : 1 (event-driven)''',
    on_pre="Ie_post += w; pre = 1.; w = clip(w - nu_pre * post1, 0, wmax)",
    on_post="w = clip(w + nu_post * pre * post2, 0, wmax); post1 = 1.; post2 = 1.",
    namespace=dict(tau_pre=c.tau_pre * ms, tau_p1=c.tau_post1 * ms, tau_p2=c.tau_post2 * ms,
                   nu_pre=c.nu_pre * g, nu_post=c.nu_post * g, wmax=c.w_max * g))
xe.connect()
xe.w = "(rand() * 0.3 + 0.003) * %r" % g
xe.delay = "rand() * %r * ms" % c.delay_max
ei = Synapses(exc, inh, on_pre="Ie_post += %r" % c.w_exc_inh)
ei.connect(j="i")
ie = Synapses(inh, exc, on_pre="Ii_post += %r" % c.w_inh_exc)
ie.connect(condition="i != j")
mon = SpikeMonitor(exc, record=False)
net = Network(inp, exc, inh, xe, ei, ie, mon)
def show(img):
    wm = np.asarray(xe.w[:]).reshape(784, n)
    xe.w[:] = (wm * (c.norm_target * g / wm.sum(axis=0))).ravel()
    intensity = c.intensity
    while True:
        before = mon.num_spikes
        inp.rates = img * intensity / 8.0 * Hz
        net.run(c.present_ms * ms)
        inp.rates = 0 * Hz
        net.run(c.rest_ms * ms)
        if mon.num_spikes - before >= c.min_spikes or intensity + 1 > c.max_intensity:
            return
        intensity += 1
t1 = time.perf_counter()
show(imgs[0])  # includes code generation and compilation
t2 = time.perf_counter()
for img in imgs[1:]:
    show(img)
t3 = time.perf_counter()
import brian2
print(json.dumps({"tool": f"Brian2 {brian2.__version__} ({target})", "setup_s": t1 - t0,
                  "first_image_s": t2 - t1,
                  "images_per_s": k / (t3 - t2), "spikes_per_image": mon.num_spikes / (k + 1)}))
"""


COLD = r"""
import sys, tempfile, time
t0 = time.perf_counter()
import neuro
from neuro.train import train
with tempfile.TemporaryDirectory() as tmp:
    train(f"{tmp}/run", n_neurons=int(sys.argv[1]), images=1, arithmetic=sys.argv[2], seed=0,
          label_images=1, progress=False)
print(time.perf_counter() - t0, neuro.__file__)
"""


def cold_start(n: int, arithmetic: str) -> float:
    """Wall seconds of a fresh process that trains and labels one image on an empty kernel cache."""
    import neuro

    # the child imports the neuro this process imported (not one in its working directory)
    home = os.path.dirname(os.path.dirname(os.path.abspath(neuro.__file__)))
    path = os.pathsep.join(p for p in (home, os.environ.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", COLD, str(n), arithmetic],
            capture_output=True,
            text=True,
            cwd=cache,
            env={**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": path},
        )
        if out.returncode != 0:
            sys.exit(out.stderr[-3000:])
        wall = time.perf_counter() - t0
    child = out.stdout.split()[-1]
    if os.path.abspath(child) != os.path.abspath(neuro.__file__):
        sys.exit(f"the cold-start process imported {child}, not {neuro.__file__}")
    return wall


def run_neuro(n: int, k: int, arithmetic: str) -> dict:
    from neuro.train import train

    with tempfile.TemporaryDirectory() as tmp:
        # one untimed image first: the kernels are compiled (or loaded) before the timed run
        warm = dict(n_neurons=n, images=1, arithmetic=arithmetic, seed=0, label_images=1, progress=False)
        train(f"{tmp}/warm", **warm)
        t0 = time.perf_counter()
        s = train(
            f"{tmp}/run", n_neurons=n, images=k, arithmetic=arithmetic, seed=0, label_images=1, progress=False
        )
        return {
            "tool": f"neuro ({arithmetic})",
            "images_per_s": s["images_per_second"],
            "spikes_per_image": s["spikes_per_image"],
            "whole_s": time.perf_counter() - t0,
        }


def eval_speed(n: int, batch: int, images: int) -> dict:
    from neuro.evaluate import evaluate
    from neuro.train import train

    with tempfile.TemporaryDirectory() as tmp:
        train(f"{tmp}/run", n_neurons=n, images=20, seed=0, label_images=50, progress=False)
        r = evaluate(f"{tmp}/run", batch=batch, images=images, progress=False, write=False)
        return {
            "images_per_s": r["images_per_second"],
            "batch": batch,
            "images": images,
            "reruns": r["reruns"],
            "rounds": r["rounds"],
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--brian2-target", default="cython", choices=["cython", "numpy"])
    ap.add_argument("--brian2-images", type=int, default=10)
    ap.add_argument("--eval-images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-start (empty kernel cache) line")
    args = ap.parse_args()
    rows = [run_neuro(args.neurons, args.images, "float"), run_neuro(args.neurons, args.images, "loihi")]
    out = subprocess.run(
        [sys.executable, "-c", BRIAN2, str(args.neurons), str(args.brian2_images), args.brian2_target],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(out.stderr[-3000:])
    b2 = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"Diehl & Cook, {args.neurons} excitatory neurons, dt 0.5 ms, 350 + 150 ms per image")
    for r in rows:
        print(
            f"  {r['tool']:28} {r['images_per_s']:8.1f} images/s  "
            f"({r['spikes_per_image']:.1f} exc spikes/image, {args.images} images)"
        )
    print(
        f"  {b2['tool']:28} {b2['images_per_s']:8.2f} images/s  "
        f"({b2['spikes_per_image']:.1f} exc spikes/image, {args.brian2_images} images after a first image of "
        f"{b2['first_image_s']:.0f} s incl. compiling)"
    )
    print(
        f"ratio neuro (float) / Brian2: {rows[0]['images_per_s'] / b2['images_per_s']:.1f}x; "
        f"neuro (loihi) / Brian2: {rows[1]['images_per_s'] / b2['images_per_s']:.1f}x"
    )
    ev = eval_speed(args.neurons, args.batch, args.eval_images)
    print(
        f"batched evaluation (frozen, batch {ev['batch']}, continuous): {ev['images_per_s']:.0f} images/s "
        f"over {ev['images']} images, {ev['reruns']} reruns included ({ev['rounds']} rounds; "
        f"whole-batch reruns side by side: bench/eval_speed.py)"
    )
    if not args.no_cold:
        cold = {a: cold_start(args.neurons, a) for a in ("float", "loihi")}
        print(
            f"cold start (empty kernel cache; a process that trains and labels 1 image): "
            f"float {cold['float']:.1f} s, loihi {cold['loihi']:.1f} s; Brian2's first image "
            f"{b2['first_image_s']:.0f} s incl. compiling"
        )


if __name__ == "__main__":
    main()
