"""The one error this backend adds: a PyNN feature the emulated chip has no circuit for."""

from __future__ import annotations

from neuro.errors import NeuroError


class UnsupportedFeature(NeuroError, NotImplementedError):
    """A PyNN model or option that the chip cannot run, named with the reason (one line).

    It is a :class:`~neuro.errors.NeuroError` (one line, exit status 2 from the CLI) and a
    :class:`NotImplementedError`, which is what PyNN's own backends raise for models they lack.
    """

    def __init__(self, feature: str, reason: str):
        self.feature, self.reason = feature, reason
        super().__init__(f"{feature}: not available on the emulated chip ({reason})")
