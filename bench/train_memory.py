"""Memory over a training epoch: resident set size every 250 images while training Diehl & Cook.

The engine keeps no per-step history (spikes are counted per image, probes are off), so the
resident set size should stay flat after the first images.

    python bench/train_memory.py [--neurons 400] [--images 2000]
"""

from __future__ import annotations

import argparse
import os

import numpy as np


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    from neuro.datasets import load_dataset
    from neuro.engine import Simulator
    from neuro.inputs import ScheduledInputs
    from neuro.models.diehl_cook import DiehlCookConfig, build_network
    from neuro.network import compile_network
    from neuro.train import Presenter

    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--images", type=int, default=2000)
    args = ap.parse_args()
    cfg = DiehlCookConfig(n_neurons=args.neurons)
    sim = Simulator(compile_network(build_network(cfg, "float", 0)), inputs=ScheduledInputs())
    pres = Presenter(sim, cfg)
    data = load_dataset("embedded", "train")
    samples = []
    for i in range(args.images):
        pres.train_image(data.images[i % len(data)])
        if (i + 1) % 250 == 0:
            samples.append(rss_mib())
            print(f"after {i + 1:5d} images: RSS {samples[-1]:7.1f} MiB", flush=True)
    growth = samples[-1] - samples[0]
    print(
        f"growth from image 250 to {args.images}: {growth:+.1f} MiB "
        f"({np.ptp(samples):.1f} MiB peak-to-peak over {len(samples)} samples)"
    )


if __name__ == "__main__":
    main()
