"""Resources of a spec in closed form, checked before any synapse is built.

Building the synapses of a large spec costs memory and time in proportion to their number
(an all-to-all projection of 6,000 neurons is 36 million synapses, ~3 GiB while compiled and
mapped), so the chip's limits and the machine's memory are checked from the spec alone,
before :func:`neuro.network.compile_network`:

* **Synapses per projection** :math:`S`: ``all_to_all`` :math:`n_{pre} n_{post}` (minus the
  :math:`\\min(n_{pre}, n_{post})` diagonal pairs when they are excluded), ``one_to_one``
  :math:`n_{pre}`, ``fixed_probability`` :math:`p\\,n_{pre} n_{post}` (expected), ``list`` its
  rows, ``matrix`` its nonzero entries (a ``.npy`` matrix: at most :math:`n_{pre} n_{post}`).
* **Input axons of a core holding one neuron** of population :math:`P`: every distinct source
  that reaches the neuron needs an axon, so
  :math:`A_{min}(P) = \\sum_{Q \\to P} f_{Q \\to P}` over source populations :math:`Q` (the
  largest fan-in among projections from :math:`Q`: :math:`n_{pre}` for all-to-all, 1 for
  one-to-one, :math:`p\\,n_{pre} - 6\\sqrt{p(1-p)n_{pre}}` for fixed-probability, a lower
  bound). If :math:`A_{min}(P)` exceeds the chip's input axons per core, no placement exists.
* **Cores**: :math:`\\lceil n_P / C \\rceil` per population (at least one compartment per
  neuron, :math:`C` per core) and at least :math:`\\lceil \\sum S\\,b_{min} / M \\rceil` for
  synapse memory (:math:`b_{min}` = weight bits + 6 index bits, :math:`M` bits per core);
  more than the chips have is refused.
* **Memory**: :math:`B_0 + \\beta \\sum S + \\gamma \\max S` bytes: :math:`\\beta` =
  :data:`BYTES_PER_SYNAPSE` stays for every synapse (weights, targets, delays and their
  per-core tables), :math:`\\gamma` = :data:`BYTES_PER_BUILT_SYNAPSE` is transient while the
  largest projection is generated and counted by the mapper, :math:`B_0` =
  :data:`BASE_BYTES`. Measured peaks of ``neuro run``: 74-80 bytes per synapse for one
  all-to-all or fixed-probability projection of 2,000-3,000 neurons (:math:`\\beta + \\gamma`
  = 88), 2.39 GiB for the 131 M synapses of ``bench/full_chip.py`` in 16,384 projections
  (estimate 3.1 GiB). More than the machine has available is refused with the estimate;
  ``NEURO_NO_MEMORY_CHECK=1`` skips the check.

These are necessary conditions (the mapper's exact count still decides); they refuse the
hopeless cases in milliseconds instead of minutes and gigabytes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro import targets
from neuro.errors import NeuroError
from neuro.values import read_npy_header

BYTES_PER_SYNAPSE = 24
BYTES_PER_BUILT_SYNAPSE = 64
BASE_BYTES = 200 << 20
INDEX_BITS_MIN = 6
OVERRIDE_ENV = "NEURO_NO_MEMORY_CHECK"


@dataclass(frozen=True)
class Resources:
    """Closed-form counts of a spec.

    Attributes
    ----------
    synapses : list of int
        Synapses (expected, or an upper bound for ``.npy`` matrices) per projection.
    min_input_axons : dict
        Population name -> input axons a core holding one of its neurons needs at least.
    min_cores : int
        Cores the network needs at least on the chip profile (0 when unbounded).
    memory_bytes : int
        Estimated peak memory of compiling, mapping and running the spec.
    """

    synapses: list
    min_input_axons: dict
    min_cores: int
    memory_bytes: int

    @property
    def total_synapses(self) -> int:
        return int(sum(self.synapses))


def _npy_shape(path) -> tuple:
    """Shape stored in a ``.npy`` header (nothing else is read)."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            shape, _, _ = read_npy_header(fh, version)  # header only
        return tuple(int(s) for s in shape)
    except (OSError, ValueError, TypeError, SyntaxError):
        return ()  # unreadable: the loader reports it with its own message


def projection_synapses(net, index: int) -> tuple[int, float]:
    """``(synapses, fan-in per post neuron)`` of projection ``index`` in closed form."""
    proj = net.projections[index]
    n_pre, n_post = net.source_size(proj.pre), net.source_size(proj.post)
    c = proj.connector
    diag = ((proj.pre == proj.post) and not c.allow_self) or c.skip_diagonal
    if c.type == "all_to_all":
        return n_pre * n_post - (min(n_pre, n_post) if diag else 0), float(n_pre - (1 if diag else 0))
    if c.type == "one_to_one":
        return n_pre, 1.0
    if c.type == "fixed_probability":
        p = float(c.p)
        total = p * n_pre * n_post
        fan_in = max(0.0, p * n_pre - 6.0 * math.sqrt(p * (1 - p) * n_pre))
        return int(math.ceil(total)), fan_in
    if c.type == "list":
        rows = len(c.pairs) if c.pairs is not None else (_npy_shape(c.file) or (0,))[0]
        return int(rows), 0.0
    if c.values is not None:
        nz = sum(1 for r in c.values for x in r if x != 0)
        return nz, 0.0
    return n_pre * n_post, 0.0  # .npy matrix: nonzeros unknown without reading it


def count_resources(net, profile) -> Resources:
    """Closed-form :class:`Resources` of ``net`` on chip ``profile`` (see module docstring)."""
    synapses, fan_in = [], {}
    for i, proj in enumerate(net.projections):
        s, f = projection_synapses(net, i)
        synapses.append(s)
        if any(p.name == proj.post for p in net.populations):
            per_src = fan_in.setdefault(proj.post, {})
            per_src[proj.pre] = max(per_src.get(proj.pre, 0.0), f)
    min_axons = {post: int(math.floor(sum(d.values()))) for post, d in fan_in.items()}
    cores = 0
    cap = profile.compartments_per_core
    if cap is not None:
        cores = sum(-(-p.size // cap) for p in net.populations)  # >= 1 compartment per neuron
    mem_bits = profile.synapse_memory_bits_per_core
    if mem_bits is not None:
        bits = sum(
            s * (proj.weight_bits + INDEX_BITS_MIN) for s, proj in zip(synapses, net.projections, strict=True)
        )
        cores = max(cores, -(-bits // mem_bits))
    memory = (
        BASE_BYTES
        + BYTES_PER_SYNAPSE * int(sum(synapses))
        + BYTES_PER_BUILT_SYNAPSE * max(synapses, default=0)
    )
    return Resources(synapses, min_axons, int(cores), int(memory))


def available_memory() -> int | None:
    """Bytes this process may still use: ``MemAvailable`` and the cgroup limit (None if unknown)."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            if limit != "max" and int(limit) < 1 << 60:
                found.append(int(limit) - int(Path(usage_file).read_text().strip()))
            break
        except (OSError, ValueError):
            continue
    return min(found) if found else None


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def check_resources(net, profile, n_chips: int = 1, available: int | None = None) -> Resources:
    """Refuse ``net`` before building it when it cannot fit ``profile`` or this machine's memory.

    Parameters
    ----------
    net : neuro.spec.Network
    profile : neuro.chips.ChipProfile
    n_chips : int
    available : int, optional
        Bytes available (default: :func:`available_memory`).
    """
    res = count_resources(net, profile)
    src = net.source
    splits = targets.get_target(net.simulation.arithmetic).splits_fan_in  # e.g. TrueNorth's splitters
    limit = profile.input_axons_per_core
    if limit is not None and not splits:
        for name, axons in res.min_input_axons.items():
            if axons > limit:
                raise NeuroError(
                    f"population {name!r} does not fit a {profile.name} core even one neuron per core: "
                    f"each neuron receives from {axons} sources, input axons per core limit {limit} "
                    "(counted from the spec, before building synapses)",
                    src,
                    "populations",
                )
    if profile.cores_per_chip is not None and not splits:
        have = n_chips * profile.cores_per_chip
        if res.min_cores > have:
            raise NeuroError(
                f"network needs at least {res.min_cores} cores but {n_chips} {profile.name} chip(s) have "
                f"{have} (counted from the spec; use --chips {-(-res.min_cores // profile.cores_per_chip)} "
                "or more)",
                src,
                "simulation.chips",
            )
    if os.environ.get(OVERRIDE_ENV, "") not in ("", "0"):
        return res
    avail = available_memory() if available is None else available
    if avail is not None and res.memory_bytes > avail:
        raise NeuroError(
            f"needs about {_gib(res.memory_bytes)} of memory ({res.total_synapses:,} synapses) but "
            f"{_gib(avail)} are available; make the network smaller, or set {OVERRIDE_ENV}=1 to try anyway",
            src,
        )
    return res
