"""What the command line shows on the terminal (the library itself never prints): a progress
bar, and errors in the library's own words."""

from __future__ import annotations

from typing import TextIO


class ProgressBar:
    """Redraws ``[#######.......]  7/15  name`` in place on ``stream`` as work completes.

    Disabled, it draws nothing, so callers update it unconditionally.
    """

    def __init__(self, total: int, stream: TextIO, enabled: bool, width: int = 30) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 0
        self.width = width
        self._drawn = 0

    def update(self, done: int, label: str = "") -> None:
        """Shows ``done`` of ``total`` finished, the last one named ``label``."""
        if not self.enabled:
            return
        filled = self.width * done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        digits = len(str(self.total))
        line = f"[{bar}] {done:>{digits}}/{self.total}  {label}"
        # Pad over the previous line's tail: labels differ in length.
        self.stream.write("\r" + line.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(line)

    def close(self) -> None:
        """Ends the bar's line so later output starts on a fresh one."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def error_text(error: Exception) -> str:
    """The message of an exception as the library wrote it: an OSError from lusnet keeps it in
    ``strerror`` (``str()`` would prefix ``[Errno 2]``), a KeyError in ``args[0]`` (``str()``
    would quote it)."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
        return f"{text}: {error.filename}" if error.filename else text
    return str(error.args[0]) if error.args else str(error)
