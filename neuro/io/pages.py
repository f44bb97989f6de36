"""Small pages for short-lived output arrays.

numpy asks Linux for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every array of
4 MiB or more. Where the kernel's THP ``defrag`` setting is ``madvise`` (a common default,
``/sys/kernel/mm/transparent_hugepage/defrag``), the first touch of such an array can stall in
direct memory compaction: writing a chunk of a full chip's spikes (1.57 M spikes, a few arrays
of 12.5 MB sorted and split by population) took ~0.45 s on the first chunk of a run with huge
pages and ~0.07 s without them, on the 2-core VM of docs/benchmarks.md. The step loop's own
long-lived arrays keep huge pages (there they pay off: fewer TLB misses per synapse); the
output path's temporaries, allocated and freed once per chunk, are made with small pages.

numpy has no public switch for this; ``_set_madvise_hugepage`` (numpy >= 1.20, the one that
the ``NUMPY_MADVISE_HUGEPAGE`` environment variable sets at import) is used where present, and
the context does nothing where it is not. It is process-wide: enter it from one thread at a
time (the thread that writes the output).
"""

from __future__ import annotations

from contextlib import contextmanager

try:
    from numpy._core.multiarray import _set_madvise_hugepage
except ImportError:  # numpy 1.x keeps it under numpy.core; or a numpy without it
    try:
        from numpy.core.multiarray import _set_madvise_hugepage
    except ImportError:
        _set_madvise_hugepage = None


@contextmanager
def small_pages():
    """numpy arrays allocated inside the block are not advised to use huge pages."""
    if _set_madvise_hugepage is None:
        yield
        return
    before = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(before)
