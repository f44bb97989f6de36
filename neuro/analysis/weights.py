"""Pictures of what the chip learned: receptive fields and adaptive thresholds of a trained
Diehl & Cook network (a ``neuro train`` RUNDIR)."""

from __future__ import annotations

import numpy as np

from neuro.analysis.figure import new_figure


def learned_state(rundir) -> dict:
    """Input weights (784, N) in units of w_max, thresholds theta (N, mV), labels (N,)."""
    from neuro.io.checkpoint import load_checkpoint
    from neuro.models.diehl_cook_protocol import read_run

    ckpt, meta = read_run(rundir, labelled=False)
    extra = meta["extra"]
    sim, _ = load_checkpoint(ckpt, learning=False)
    net = sim.net
    p = next(i for i, pr in enumerate(net.spec.projections) if pr.plasticity is not None)
    pos = next(x for i, x in enumerate(net.projection_positions()) if i == p)
    n = net.n_neurons
    exc = net.pop_slice("exc")
    pre = np.repeat(np.arange(net.proj_counts[p].size), net.proj_counts[p])
    post = net.slot[pos].astype(np.int64) % n - exc.start
    w = net.target.weights_to_physical(net, p, net.weight[pos])  # registers back to mV
    theta = net.target.theta_to_physical(net, "exc", sim.state["theta"][0, exc])
    weights = np.zeros((net.proj_counts[p].size, exc.stop - exc.start))
    weights[pre, post] = w
    w_max = net.spec.projections[p].plasticity.w_max
    labels = np.asarray(extra.get("assignments", [-1] * weights.shape[1]))
    return {"weights": weights / w_max, "theta": theta, "labels": labels, "arithmetic": net.arithmetic}


def weights_figure(rundir, max_neurons: int = 400):
    """Grid of 28 x 28 receptive fields (one per excitatory neuron, assigned label on each)
    and the distribution of adaptive thresholds."""
    st = learned_state(rundir)
    w, labels = st["weights"], st["labels"]
    n = min(w.shape[1], max_neurons)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig = new_figure((max(6.0, cols * 0.6), max(4.0, rows * 0.6) + 2.2), dpi=100)
    grid = fig.add_gridspec(2, 1, height_ratios=[rows * 0.6, 2.0], hspace=0.25)
    sub = grid[0].subgridspec(rows, cols, wspace=0.05, hspace=0.25)
    for k in range(n):
        ax = fig.add_subplot(sub[k // cols, k % cols])
        ax.imshow(
            w[:, k].reshape(28, 28), cmap="hot_r", vmin=0, vmax=max(w.max(), 1e-9), interpolation="nearest"
        )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("?" if labels[k] < 0 else str(labels[k]), fontsize=6, pad=1)
    ax = fig.add_subplot(grid[1])
    ax.hist(st["theta"], bins=40, color="tab:blue")
    ax.set_xlabel("adaptive threshold theta (mV)")
    ax.set_ylabel("neurons")
    fig.suptitle(f"receptive fields (input weights / w_max) and thresholds, {st['arithmetic']} arithmetic")
    return fig
