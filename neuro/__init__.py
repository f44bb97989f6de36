"""neuro: an emulator of spiking neuromorphic chips (Loihi- and TrueNorth-style).

The data path: :mod:`neuro.spec` (network as data) → :mod:`neuro.connectivity` (synapses)
→ :mod:`neuro.mapping` (cores of a :mod:`neuro.chips` profile) → :mod:`neuro.discretize`
(Loihi registers) → :mod:`neuro.engine` (vectorized, event-driven stepping with
:mod:`neuro.dynamics`) → :mod:`neuro.io.sonata` (spikes.h5).
"""

import hashlib
import os
from pathlib import Path

__version__ = "0.1.0"


def _numba_cache_dir() -> None:
    """Key numba's on-disk cache by the engine's sources.

    numba invalidates a cached kernel only when its own file changes, not when an inlined
    helper in another module does; keying the cache directory by a hash of every kernel
    source makes a stale kernel impossible. Set ``NUMBA_CACHE_DIR`` to override.
    """
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    here = Path(__file__).parent
    digest = hashlib.sha1()
    for sub in ("dynamics", "learning", "parallel"):
        for f in sorted((here / sub).glob("*.py")):
            digest.update(f.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    target = base / "neuro" / "numba" / f"{__version__}-{digest.hexdigest()[:12]}"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: keep numba's default (next to the sources)
        return
    os.environ["NUMBA_CACHE_DIR"] = str(target)


_numba_cache_dir()
