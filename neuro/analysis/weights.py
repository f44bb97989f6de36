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
    """Grid of 28 x 28 receptive fields (one per excitatory neuron, assigned label on each),
    a colour bar of the weight scale, and the distribution of adaptive thresholds."""
    st = learned_state(rundir)
    w, labels = st["weights"], st["labels"]
    n = min(w.shape[1], max_neurons)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    cell = 0.8  # inches per receptive field: labels at 8 pt stay legible
    width = max(7.0, cols * cell + 1.5)
    fig = new_figure((width, rows * cell + 3.4), dpi=100)
    grid = fig.add_gridspec(
        2, 2, height_ratios=[rows * cell, 2.0], width_ratios=[cols * cell, 0.25], hspace=0.3, wspace=0.05
    )
    sub = grid[0, 0].subgridspec(rows, cols, wspace=0.05, hspace=0.35)
    vmax = max(float(w.max(initial=0)), 1e-9)
    image = None
    for k in range(n):
        ax = fig.add_subplot(sub[k // cols, k % cols])
        image = ax.imshow(w[:, k].reshape(28, 28), cmap="hot_r", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("?" if labels[k] < 0 else str(labels[k]), fontsize=8, pad=1.5)
    if image is not None:
        fig.colorbar(image, cax=fig.add_subplot(grid[0, 1]), label="weight / w_max")
    ax = fig.add_subplot(grid[1, :])
    ax.hist(st["theta"], bins=40, color="tab:blue")
    ax.set_xlabel("adaptive threshold theta (mV)")
    ax.set_ylabel("neurons")
    fig.suptitle(
        f"receptive fields of {n} neurons (label above each; ? = never fired)\n"
        f"input weights / w_max and thresholds, {st['arithmetic']} arithmetic",
        fontsize=10,
    )
    return fig
