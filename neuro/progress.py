"""Progress on stderr for long commands: rates and ETAs from recent progress, quiet in files and pipes.

* The rate is measured over the last :data:`WINDOW_S` seconds of progress, from the first
  completed unit on — never from process start, so the time spent compiling kernels or
  loading data does not make the first minutes' ETA wrong:
  :math:`r = (d_{now} - d_{then}) / (t_{now} - t_{then})` with ``then`` the oldest sample
  younger than the window, and ETA :math:`= (N - d_{now}) / r`.
* On a terminal the line is redrawn in place (``\\r``) at most every :data:`TTY_EVERY_S`
  seconds; when stderr is a file or a pipe, a full line is written every
  :data:`PIPE_EVERY_S` seconds (and at the end), so a log does not fill with thousands of
  carriage-return updates.
* :func:`compile_notice` says, before the first run on a cold numba cache, that kernels are
  being compiled and how long that takes.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from pathlib import Path

from neuro import targets

WINDOW_S = 20.0
TTY_EVERY_S = 0.5
PIPE_EVERY_S = 10.0


class Progress:
    """A progress line for ``total`` units of work.

    Parameters
    ----------
    total : int
    unit : str
        What is counted (``"steps"``, ``"images"``).
    enabled : bool
    start : int
        Units already done (a resumed run).
    after_s : float
        Show nothing before this many seconds have passed.
    stream : file, optional
        Default ``sys.stderr``; its ``isatty()`` picks in-place or line-per-interval output.
    clock : callable, optional
        Monotonic seconds (for tests).
    """

    def __init__(self, total, unit, enabled=True, start=0, after_s=0.0, stream=None, clock=time.perf_counter):
        self.total, self.unit, self.enabled = int(total), unit, enabled
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self.tty = False
        self.clock = clock
        self.t0 = clock()
        self.after_s = after_s
        self.samples: deque = deque()
        self.start = start
        self.last_shown = -float("inf")
        self.shown = False
        self.finished_shown = False

    def rate(self) -> float:
        """Units per second over the recent window (0 before two samples)."""
        if len(self.samples) < 2:
            return 0.0
        (t_old, d_old), (t_new, d_new) = self.samples[0], self.samples[-1]
        return (d_new - d_old) / (t_new - t_old) if t_new > t_old else 0.0

    def line(self, done: int, extra: str = "") -> str:
        rate = self.rate()
        pct = 100 * done / max(self.total, 1)
        head = f"{done}/{self.total} {self.unit} ({pct:.0f}%)"
        if rate <= 0:  # one sample so far: no rate to report yet
            return f"{head}{extra}"
        rate_text = f"{rate:,.1f} {self.unit}/s" if rate < 100 else f"{rate:,.0f} {self.unit}/s"
        return f"{head}, {rate_text}, ETA {(self.total - done) / rate:.0f} s{extra}"

    def __call__(self, done: int, extra: str = "") -> None:
        if not self.enabled:
            return
        now = self.clock()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW_S:
            self.samples.popleft()
        finished = done >= self.total
        every = TTY_EVERY_S if self.tty else PIPE_EVERY_S
        if now - self.t0 < self.after_s and not self.shown:
            return
        if now - self.last_shown < every and not (finished and not self.finished_shown):
            return  # the final line is shown once, however often the total is reported again
        self.finished_shown = self.finished_shown or finished
        self.last_shown = now
        text = self.line(done, extra)
        self.stream.write(f"\r{text} " if self.tty else f"{text}\n")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.enabled and self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def kernels_cached(arithmetic: str) -> bool | None:
    """Whether numba's cache holds compiled kernels of ``arithmetic`` (None if it cannot tell)."""
    cache = os.environ.get("NUMBA_CACHE_DIR")
    name = targets.get_target(arithmetic).kernel_name if arithmetic in targets.names() else None
    if not cache or not name or not Path(cache).is_dir():
        return None
    try:
        return any(True for _ in Path(cache).glob(f"*/{name}-*.nbi"))
    except OSError:
        return None


def compile_notice(arithmetic: str) -> str | None:
    """One line for a cold cache: kernels are compiled once (then loaded in about a second)."""
    if kernels_cached(arithmetic) is not False:
        return None
    return (
        f"compiling the {arithmetic} simulation kernels (first run only, typically 5-60 s; "
        f"cached in {os.environ.get('NUMBA_CACHE_DIR')})"
    )
