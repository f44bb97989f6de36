"""SIGINT / SIGTERM as a flag that a long loop checks at its next safe point (``neuro train``
between images, ``neuro run`` at a chunk boundary), where it checkpoints and stops; a second
signal stops at once."""

from __future__ import annotations

import signal
import sys


class StopFlag:
    """Context manager: while inside, SIGINT / SIGTERM set :attr:`stop` and print that the loop
    stops ``when`` (e.g. "after the image in flight"); a second signal raises KeyboardInterrupt."""

    def __init__(self, when: str):
        self.when = when
        self.stop = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.stop:  # second signal: give up at once
            raise KeyboardInterrupt
        self.stop = True
        sys.stderr.write(f"\nstopping {self.when} (checkpointing)...\n")

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
