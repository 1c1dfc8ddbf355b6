"""The reference server as an oracle: every scenario of the corpus, on each of its
transports, gives the same transcript on Node's socket.io 4.x and on ours, except the
differences the scenario declares deliberate (each also listed in docs/compat.rst)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from typing import Any

import pytest

from .scenarios import SCENARIOS, Scenario
from .servers import oracle_servers
from .wire import WIRES, Wire

#: A bound on one scenario on one server (the longest waits about 3 s).
SCENARIO_TIMEOUT = 15


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    with oracle_servers() as urls:
        yield urls


def run_scenario(scenario: Scenario, transport: str, base_url: str) -> list[Any]:
    wire: Wire = WIRES[transport](base_url)
    try:
        scenario.run(wire)
    finally:
        wire.close()
    return wire.transcript


def run_on_both(scenario: Scenario, transport: str,
                servers: dict[str, str]) -> tuple[list[Any], list[Any]]:
    """The reference's transcript and ours, the two runs side by side."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        reference = pool.submit(run_scenario, scenario, transport, servers["reference"])
        ours = pool.submit(run_scenario, scenario, transport, servers["ours"])
        return reference.result(SCENARIO_TIMEOUT), ours.result(SCENARIO_TIMEOUT)


def side_by_side(reference: list[Any], ours: list[Any]) -> str:
    lines = []
    for index in range(max(len(reference), len(ours))):
        left = repr(reference[index]) if index < len(reference) else "-"
        right = repr(ours[index]) if index < len(ours) else "-"
        mark = "  " if left == right else "!="
        lines.append(f"{mark} {left[:90]:<90} | {right[:90]}")
    return "\n".join(["   reference" + " " * 80 + "| ours", *lines])


CASES = [pytest.param(scenario, transport, id=f"{scenario.name}-{transport}")
         for scenario in SCENARIOS.values() for transport in scenario.transports]


@pytest.mark.parametrize(("scenario", "transport"), CASES)
def test_same_as_the_reference(servers: dict[str, str], scenario: Scenario,
                               transport: str) -> None:
    reference, ours = run_on_both(scenario, transport, servers)
    expected, applied = scenario.expected_from(reference, transport)
    assert ours == expected, (
        f"{scenario.name} over {transport} differs from the reference "
        f"(deliberate differences applied: {[d.reason[:40] for d in applied]}):\n"
        + side_by_side(expected, ours))
    declared = [d for d in scenario.deliberate if transport in d.transports]
    unused = [d for d in declared if d not in applied]
    assert not unused, (f"declared deliberate but not seen (the difference is gone?): "
                        f"{unused}\n" + side_by_side(reference, ours))
