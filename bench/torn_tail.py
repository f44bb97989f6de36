"""How often does ``kill -9`` of a spike writer leave a file that h5py cannot read completely?

Starts the writer of ``tests/test_torn_tail.py`` (the ``SpikeWriter`` that ``neuro run``
uses) ``--kills`` times, kills it with SIGKILL after a random number of flushes plus a random
delay (mostly in the middle of a write or a flush), and tries to read every dataset of the file
completely with h5py and the spikes with neuro's reader (which stops at the committed length
of the last completed flush). Prints the counts and the first errors.

    python bench/torn_tail.py [--kills 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_torn_tail as writer  # noqa: E402  (the test's writer process and kill helper)

from neuro.analysis.source import SpikeSource  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    h5_bad, neuro_bad, errors = 0, 0, []
    for _ in range(args.kills):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "spikes.h5"
            writer.kill_writer(path, rng.randint(2, 12), rng.uniform(0.0, 0.03))
            try:
                with h5py.File(path, "r") as f:
                    f.visititems(lambda _n, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
            except Exception as e:  # noqa: BLE001  (any failure to read counts)
                h5_bad += 1
                errors.append(f"h5py: {e}")
            try:
                with SpikeSource(path) as src:
                    for pop in writer.POPS:
                        for _chunk in src.chunks(pop):
                            pass
            except Exception as e:  # noqa: BLE001
                neuro_bad += 1
                errors.append(f"neuro: {e}")
    print(
        f"{args.kills} kills: h5py could not read {h5_bad} files completely; "
        f"neuro's reader failed on {neuro_bad}"
    )
    for e in errors[:5]:
        print("  " + e[:160])


if __name__ == "__main__":
    main()
