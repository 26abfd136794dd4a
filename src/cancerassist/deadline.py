"""The deadline of the request being answered, so that work a client no longer waits for stops.

A server answers 504 when a response is late, but the thread computing it cannot be interrupted
from outside: it would go on scoring and embedding for nobody. The deadline travels with the
request's context (``contextvars``, which the thread pool and our embedding thread copy), and the
stages that can stop early call :func:`check_deadline` between steps. Outside a request (CLI,
evaluation, index builds) there is no deadline and the checks cost one lookup.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("cancerassist_deadline", default=None)


class DeadlineExceededError(Exception):
    """The request's time is up: what it was computing is abandoned."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"deadline of {seconds:g} s passed")
        self.seconds = seconds


_budget: ContextVar[float] = ContextVar("cancerassist_budget", default=0.0)


@contextmanager
def deadline_in(seconds: float) -> Iterator[None]:
    """Work started in this block (and in threads it hands its context to) must end within
    ``seconds`` from now."""
    tokens = (_deadline.set(time.monotonic() + seconds), _budget.set(seconds))
    try:
        yield
    finally:
        _budget.reset(tokens[1])
        _deadline.reset(tokens[0])


def time_left() -> float | None:
    """Seconds before the current deadline (negative once passed), or None without one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def check_deadline() -> None:
    """Raise :class:`DeadlineExceededError` if the current request's deadline has passed."""
    left = time_left()
    if left is not None and left <= 0:
        raise DeadlineExceededError(_budget.get())
