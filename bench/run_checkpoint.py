"""Cost of ``neuro run --checkpoint-every``: size and write time of one checkpoint (docs/scaling.md).

A 10,800-neuron, ~3.5 M-synapse network on 8 Loihi chips (tests/test_mpi.py's SPEC, 4x the
populations), with static weights and with two plastic projections (every weight stored), in one
process and on 2 threads; a checkpoint after every chunk (``checkpoint_every=0``), stopped after
2500 steps. Prints one row per case. Run: ``python bench/run_checkpoint.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neuro import run_checkpoint  # noqa: E402
from neuro.run import run_spec  # noqa: E402
from neuro.spec import load_spec  # noqa: E402
from tests.test_mpi import PLASTIC, SPEC  # noqa: E402


def main() -> None:
    spec = (
        SPEC.replace("size = 1500", "size = 6000")
        .replace("size = 900", "size = 3600")
        .replace("steps = 200", "steps = 3000")
        .replace("neurons = [0, 5, 899]", "neurons = [0, 5, 3599]")
        .replace('chip = "loihi"', 'chip = "loihi"\nchips = 8')
    )
    times = []
    real = run_checkpoint.save

    def timed(path, st, meta):
        t = time.perf_counter()
        out = real(path, st, meta)
        times.append(time.perf_counter() - t)
        return out

    run_checkpoint.save = timed
    tmp = Path(tempfile.mkdtemp(prefix="ckpt-bench-"))
    try:
        for name, text in (("static weights", spec), ("2 plastic projections", spec + PLASTIC)):
            path = tmp / "net.toml"
            path.write_text(text)
            net = load_spec(path)
            for threads in (1, 2):
                times.clear()
                out = tmp / f"o{len(name)}{threads}"
                try:
                    run_spec(net, out, progress=False, threads=threads, checkpoint_every=0, stop_after=2500)
                except KeyboardInterrupt:
                    pass
                size = os.path.getsize(out / run_checkpoint.CHECKPOINT) / 2**20
                mean = 1000 * sum(times) / len(times)
                print(
                    f"{name:22s} threads={threads}: {len(times)} checkpoints, {size:.1f} MiB, {mean:.0f} ms"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
