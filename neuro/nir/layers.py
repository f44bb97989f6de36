"""NIR's linear nodes as sparse matrices: ``y = x @ A + b`` on C-ordered flattened tensors.

Every node that is a linear map of its input — ``Affine``, ``Linear``, ``Scale``, ``Flatten``,
``Conv1d``, ``Conv2d`` (stride, padding, dilation, groups), ``SumPool2d``, ``AvgPool2d`` — becomes
a ``scipy.sparse`` matrix ``A`` of shape ``(n_in, n_out)`` (row: input element, column: output
element, both in C order of the node's tensor shape) and a bias vector ``b`` of ``n_out``.
A convolution is written out synapse by synapse: every output element gets its own copy of the
kernel weights it uses (the weights are shared in the graph, not in the matrix). Padding pads
with zeros (those taps are absent); ``'same'`` pads ``d (k - 1)`` in total, the smaller half
first (PyTorch); ``AvgPool2d`` divides by the full kernel area (PyTorch's
``count_include_pad=True``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neuro.errors import NeuroError


class LinearMap:
    """``A`` (n_in × n_out, CSR), ``b`` (n_out,), and the output tensor shape."""

    def __init__(self, matrix, bias, out_shape):
        self.matrix = sp.csr_matrix(matrix)
        self.bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        self.out_shape = tuple(int(x) for x in out_shape)


def _pair(v, name: str, field: str, n: int) -> tuple:
    a = np.atleast_1d(np.asarray(v)).astype(np.int64).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, n)
    if a.size != n:
        raise NeuroError(f"node {name!r}: {field} must have {n} values, got {a.size}", field=field)
    return tuple(int(x) for x in a)


def _padding(padding, name: str, n: int, kernel: tuple, dilation: tuple) -> tuple:
    """(low, high) padding per spatial axis."""
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in range(n))
        if padding == "same":
            tot = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            return tuple((t // 2, t - t // 2) for t in tot)
        raise NeuroError(f"node {name!r}: padding must be 'same', 'valid' or integers, got {padding!r}")
    p = _pair(padding, name, "padding", n)
    return tuple((x, x) for x in p)


def _window_map(in_shape, name, kernel, stride, pad, dilation, n_spatial):
    """For every output position and kernel tap: (output flat spatial index, input flat spatial
    index, tap flat index), only the taps that land inside the input."""
    in_sp = tuple(in_shape)
    out_sp = []
    for size, k, s, (lo, hi), d in zip(in_sp, kernel, stride, pad, dilation, strict=True):
        o = (size + lo + hi - d * (k - 1) - 1) // s + 1
        if o < 1:
            raise NeuroError(f"node {name!r}: kernel larger than the padded input {in_sp}")
        out_sp.append(o)
    out_idx = np.indices(out_sp).reshape(n_spatial, -1)  # (n_spatial, n_out_pos)
    tap_idx = np.indices(kernel).reshape(n_spatial, -1)  # (n_spatial, n_taps)
    pos = []
    for ax in range(n_spatial):
        pos.append(
            out_idx[ax][:, None] * stride[ax] - pad[ax][0] + tap_idx[ax][None, :] * dilation[ax]
        )  # (n_out_pos, n_taps)
    inside = np.ones(pos[0].shape, dtype=bool)
    for ax in range(n_spatial):
        inside &= (pos[ax] >= 0) & (pos[ax] < in_sp[ax])
    in_flat = np.ravel_multi_index(tuple(np.where(inside, p, 0) for p in pos), in_sp)
    o, t = np.nonzero(inside)
    return tuple(out_sp), o, in_flat[o, t], t


def conv_map(node, name: str, in_shape: tuple, n_spatial: int) -> LinearMap:
    """A ``Conv1d``/``Conv2d`` node on an input of shape ``(C_in, *spatial)``."""
    w = np.asarray(node.weight, dtype=np.float64)
    if w.ndim != n_spatial + 2:
        raise NeuroError(f"node {name!r}: weight must have {n_spatial + 2} dimensions, got {w.ndim}")
    c_out, c_in_g = w.shape[:2]
    kernel = tuple(int(k) for k in w.shape[2:])
    groups = int(node.groups)
    if len(in_shape) != n_spatial + 1:
        raise NeuroError(
            f"node {name!r}: input of shape {tuple(in_shape)} is not (channels, {n_spatial} axes)"
        )
    c_in = int(in_shape[0])
    if groups < 1 or c_in % groups or c_out % groups or c_in // groups != c_in_g:
        raise NeuroError(
            f"node {name!r}: groups={groups} does not fit {c_in} input and {c_out} output channels "
            f"with weight {w.shape}",
            field="groups",
        )
    stride = _pair(node.stride, name, "stride", n_spatial)
    dilation = _pair(node.dilation, name, "dilation", n_spatial)
    pad = _padding(node.padding, name, n_spatial, kernel, dilation)
    spatial = tuple(int(x) for x in in_shape[1:])
    out_sp, o_pos, i_pos, tap = _window_map(spatial, name, kernel, stride, pad, dilation, n_spatial)
    n_in_sp, n_out_sp = int(np.prod(spatial)), int(np.prod(out_sp))
    w_flat = w.reshape(c_out, c_in_g, -1)
    per_group = c_out // groups
    rows, cols, vals = [], [], []
    for co in range(c_out):
        g = co // per_group
        for cig in range(c_in_g):
            ci = g * c_in_g + cig
            vals_t = w_flat[co, cig, tap]
            keep = vals_t != 0
            rows.append(ci * n_in_sp + i_pos[keep])
            cols.append(co * n_out_sp + o_pos[keep])
            vals.append(vals_t[keep])
    a = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(c_in * n_in_sp, c_out * n_out_sp),
    )
    b = np.zeros(c_out) if node.bias is None else np.asarray(node.bias, dtype=np.float64).reshape(-1)
    if b.size == 1 and c_out > 1:
        b = np.full(c_out, float(b[0]))
    if b.size != c_out:
        raise NeuroError(f"node {name!r}: bias has {b.size} values for {c_out} channels", field="bias")
    return LinearMap(a, np.repeat(b, n_out_sp), (c_out, *out_sp))


def pool_map(node, name: str, in_shape: tuple, average: bool) -> LinearMap:
    """A ``SumPool2d``/``AvgPool2d`` node on an input of shape ``(C, H, W)``."""
    if len(in_shape) != 3:
        raise NeuroError(f"node {name!r}: input of shape {tuple(in_shape)} is not (channels, height, width)")
    kernel = _pair(node.kernel_size, name, "kernel_size", 2)
    stride = _pair(node.stride, name, "stride", 2)
    pad = _padding(node.padding, name, 2, kernel, (1, 1))
    c = int(in_shape[0])
    spatial = tuple(int(x) for x in in_shape[1:])
    out_sp, o_pos, i_pos, _ = _window_map(spatial, name, kernel, stride, pad, (1, 1), 2)
    n_in_sp, n_out_sp = int(np.prod(spatial)), int(np.prod(out_sp))
    value = 1.0 / (kernel[0] * kernel[1]) if average else 1.0
    ch = np.arange(c)[:, None]
    rows = (ch * n_in_sp + i_pos[None, :]).ravel()
    cols = (ch * n_out_sp + o_pos[None, :]).ravel()
    a = sp.coo_matrix((np.full(rows.size, value), (rows, cols)), shape=(c * n_in_sp, c * n_out_sp))
    return LinearMap(a, np.zeros(c * n_out_sp), (c, *out_sp))


def dense_map(weight, bias, name: str, in_shape: tuple) -> LinearMap:
    """``Linear``/``Affine``: ``y = W x (+ b)`` with ``W`` of shape (out, in)."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 2:
        raise NeuroError(
            f"node {name!r}: only 2-D weights are supported, got shape {w.shape}", field="weight"
        )
    n_in = int(np.prod(in_shape))
    if w.shape[1] != n_in:
        raise NeuroError(
            f"node {name!r}: weight of shape {w.shape} does not take an input of {n_in} values",
            field="weight",
        )
    b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    if b.size != w.shape[0]:
        raise NeuroError(f"node {name!r}: bias has {b.size} values for {w.shape[0]} outputs", field="bias")
    return LinearMap(sp.csr_matrix(w.T), b, (w.shape[0],))


def scale_map(scale, name: str, in_shape: tuple) -> LinearMap:
    s = np.asarray(scale, dtype=np.float64).reshape(-1)
    n = int(np.prod(in_shape))
    if s.size == 1:
        s = np.full(n, s[0])
    if s.size != n:
        raise NeuroError(f"node {name!r}: scale has {s.size} values for an input of {n}", field="scale")
    return LinearMap(sp.diags(s), np.zeros(n), in_shape)


def flatten_map(node, name: str, in_shape: tuple) -> LinearMap:
    """C-order flattening keeps the element order: the identity with a new shape."""
    shape = tuple(int(x) for x in in_shape)
    nd = len(shape)
    start, end = int(node.start_dim), int(node.end_dim)
    start, end = start % nd if nd else 0, end % nd if nd else 0
    if start > end:
        raise NeuroError(f"node {name!r}: start_dim {node.start_dim} is after end_dim {node.end_dim}")
    out = (*shape[:start], int(np.prod(shape[start : end + 1])), *shape[end + 1 :])
    n = int(np.prod(shape))
    return LinearMap(sp.identity(n, format="csr"), np.zeros(n), out)
