"""One-line user errors.

Every error a user can cause (a bad spec, a bad option, a bad file) is raised as a
:class:`NeuroError`. The CLI prints its message on one line and exits with status 2.
"""

from __future__ import annotations


class NeuroError(Exception):
    """An error caused by user input, reported on one line with exit status 2.

    Parameters
    ----------
    message : str
        What is wrong and what is allowed.
    source : str, optional
        The file the bad value came from (a spec path, a data file).
    field : str, optional
        The dotted path of the bad field, e.g. ``projections[2].connector.p``.
    """

    def __init__(self, message: str, source: str | None = None, field: str | None = None):
        self.message = message
        self.source = source
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.source:
            parts.append(str(self.source))
        if self.field:
            parts.append(f"field '{self.field}'")
        head = ": ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        return " ".join(text.split())  # always one line

    def at(self, source: str | None = None, field_prefix: str | None = None) -> NeuroError:
        """Return a copy located in ``source`` and under ``field_prefix``."""
        field = self.field
        if field_prefix:
            field = f"{field_prefix}.{field}" if field else field_prefix
        return NeuroError(self.message, source or self.source, field)
