"""``wait_for``: one wait for both test clients, in-process (on the virtual clock) and
live (in real time), so that one test body runs both ways."""

from __future__ import annotations

from typing import Any

from .records import ReceivedEvent
from .state import NO_CHECK, ClientState, expected_args


def wanted_args(event: str, args: tuple[Any, ...]) -> Any:
    """What the received events' arguments must match: anything without ``args``."""
    return expected_args(event, args) if args else NO_CHECK


def check_count(count: int) -> None:
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive number of events, not {count!r}")


def has_arrived(state: ClientState, event: str, namespace: Any, expected: Any,
                count: int) -> bool:
    """Are ``count`` matching events waiting to be read?"""
    return len(state._matching(event, namespace, expected)) >= count


def take_arrived(state: ClientState, event: str, namespace: Any, expected: Any,
                 count: int, within: float, clock: str) -> list[ReceivedEvent]:
    """Take (and forget) the first ``count`` matching events, or raise
    ``TimeoutError`` saying how many arrived within ``within`` seconds of ``clock``."""
    __tracebackhide__ = True
    found = state._matching(event, namespace, expected)
    if len(found) < count:
        raise TimeoutError(
            f"waited for {count} {event!r} event(s) for {within:g}s ({clock}); "
            f"{len(found)} arrived\n"
            + state._nothing_matched(event, namespace, expected))
    taken = found[:count]
    state._received = [record for record in state._received
                       if not any(record is each for each in taken)]
    return taken
