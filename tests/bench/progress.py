"""A progress bar per step, redrawn in place on a terminal (one final line in a log file)."""

from __future__ import annotations

import sys
import threading
import time


class Progress:
    """`  relay  [##########..........]  25000/50000  3.1s  8,012/s  publishing`"""

    def __init__(self, label: str, total: float, *, unit: str = "", width: int = 24) -> None:
        self.label, self.total, self.unit, self.width = label, max(float(total), 1e-9), unit, width
        self.done = 0.0
        self.note = ""
        self.started = time.monotonic()
        # Redrawn in place only from the main thread: bars of phases running beside it
        # (`bench --quick`) print their final line only.
        self._tty = sys.stdout.isatty() and threading.current_thread() is threading.main_thread()
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._closed = False
        self._draw(force=True)

    def update(self, done: float, note: str | None = None) -> None:
        with self._lock:
            self.done = min(float(done), self.total)
            if note is not None:
                self.note = note
        self._draw()

    def advance(self, n: float = 1) -> None:
        self.update(self.done + n)

    def _line(self) -> str:
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.started
        if self.unit == "s":
            count = f"{self.done:5.1f}/{self.total:.0f}s"
        else:
            count = f"{int(self.done):>7,}/{int(self.total):,}"
        show_rate = self.unit != "s" and self.total > 1 and elapsed > 0.5
        rate = f"  {self.done / elapsed:,.0f}/s" if show_rate else ""
        note = f"  {self.note}" if self.note else ""
        return f"  {self.label:<28} [{bar}] {count}  {elapsed:5.1f}s{rate}{note}"

    def _draw(self, force: bool = False) -> None:
        if not self._tty or self._closed:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        sys.stdout.write("\r" + self._line()[:160].ljust(100))
        sys.stdout.flush()

    def finish(self, note: str | None = None) -> None:
        if self._closed:
            return
        if note is not None:
            self.note = note
        self.done = self.total if self.unit != "s" else self.done
        line = self._line()[:160]
        self._closed = True
        sys.stdout.write(("\r" + line.ljust(100) if self._tty else line) + "\n")
        sys.stdout.flush()


def say(message: str) -> None:
    print(message, flush=True)
