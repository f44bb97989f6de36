"""Reading a NIR graph: the file, nested graphs flattened, the supported node types.

Nested ``NIRGraph`` nodes are inlined: their nodes are renamed ``outer.inner``; an edge into
the subgraph goes to its ``Input`` nodes, an edge out of it leaves from its ``Output`` nodes
(``sub.name`` addresses one of them), and those inner ``Input``/``Output`` nodes stay as
pass-through nodes. The result is one flat ``{name: node}`` and a list of edges.
"""

from __future__ import annotations

from pathlib import Path

import nir

from neuro.errors import NeuroError
from neuro.nir.neurons import NEURON_FIELDS

#: Linear node types (a sparse matrix each, :mod:`neuro.nir.layers`).
LINEAR_TYPES = ("Affine", "Linear", "Scale", "Flatten", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d")
#: Nodes that pass their input through (a delay shifts it).
PASS_TYPES = ("Input", "Output", "Identity", "Delay")
SUPPORTED = (*NEURON_FIELDS, "Threshold", *LINEAR_TYPES, *PASS_TYPES)


def read_graph(path: str | Path) -> nir.NIRGraph:
    """Read a ``.nir`` file (HDF5, written by ``nir.write``) with a one-line error if it cannot be."""
    path = Path(path)
    if not path.is_file():
        raise NeuroError("NIR file not found", str(path))
    try:
        return nir.read(str(path), type_check=False)  # shapes are checked by the importer
    except Exception as exc:  # h5py/nir raise many kinds; one line names the file
        raise NeuroError(f"not a readable NIR graph: {type(exc).__name__}: {exc}", str(path)) from None


def flatten(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict, list]:
    """``({name: node}, [(src, dst), ...])`` with nested graphs inlined (see module docstring)."""
    nodes: dict = {}
    edges: list = []
    entries: dict = {}  # subgraph name -> its Input node names (flat)
    exits: dict = {}  # subgraph name -> {output name: flat name}
    for name, node in graph.nodes.items():
        flat = f"{prefix}{name}"
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = flatten(node, f"{flat}.")
            nodes.update(sub_nodes)
            edges.extend(sub_edges)
            entries[name] = [f"{flat}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            exits[name] = {k: f"{flat}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Output)}
            continue
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise NeuroError(
                f"node {flat!r}: NIR node type {kind} is not supported (supported: {', '.join(SUPPORTED)})",
                field="type",
            )
        nodes[flat] = node

    def sources(name: str) -> list:
        head, _, tail = name.partition(".")
        if head in exits:
            outs = exits[head]
            if tail:
                if tail not in outs:
                    raise NeuroError(
                        f"edge from {prefix}{name!r}: no Output node {tail!r} in subgraph {head!r}"
                    )
                return [outs[tail]]
            return list(outs.values())
        return [f"{prefix}{name}"]

    def targets(name: str) -> list:
        head, _, tail = name.partition(".")
        if head in entries:
            return [f"{prefix}{head}.{tail}"] if tail else entries[head]
        return [f"{prefix}{name}"]

    for src, dst in graph.edges:
        for s in sources(src):
            for d in targets(dst):
                for end in (s, d):
                    if end not in nodes:
                        raise NeuroError(
                            f"edge ({src!r}, {dst!r}) names an unknown node {end!r}", field="edges"
                        )
                edges.append((s, d))
    return nodes, edges
