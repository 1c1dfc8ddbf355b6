"""The scheduler reuses finished tasks' greenlets; each task still runs as if alone."""

from __future__ import annotations

import contextvars
import gc
import weakref

import pytest

from flask_socketio.testing.scheduler import MAX_IDLE_WORKERS, Scheduler

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR")


@pytest.fixture
def scheduler():
    scheduler = Scheduler()
    yield scheduler
    scheduler.retire()  # ends its hub and workers too


def test_a_finished_task_hands_its_greenlet_to_the_next(scheduler):
    seen = []
    task = scheduler.start_background_task(lambda: seen.append("a"))
    scheduler.run_pending()
    worker = task.greenlet
    later = scheduler.start_background_task(lambda: seen.append("b"))
    scheduler.run_pending()
    assert seen == ["a", "b"]
    assert later.greenlet is worker
    assert not task.is_alive() and not later.is_alive()


def test_each_task_starts_with_an_empty_context(scheduler):
    seen = []

    def setter():
        VAR.set("left behind")

    def reader():
        seen.append(VAR.get("unset"))

    scheduler.start_background_task(setter)
    scheduler.run_pending()
    scheduler.start_background_task(reader)
    scheduler.run_pending()
    assert seen == ["unset"]


def test_a_killed_task_greenlet_is_not_reused(scheduler):
    event = scheduler.create_event()
    seen = []

    def waiter():
        event.wait()
        seen.append("woken")  # never: it is killed while waiting

    blocked = scheduler.start_background_task(waiter)
    scheduler.run_pending()
    blocked.kill()
    assert not blocked.is_alive() and blocked.greenlet.dead
    # The killed waiter's wake-up is still registered with the event; a later task
    # must not be resumed by it.
    later = scheduler.start_background_task(lambda: seen.append("later"))
    scheduler.run_pending()
    assert later.greenlet is not blocked.greenlet
    event.set()
    scheduler.run_pending()
    assert seen == ["later"]


def test_a_task_killed_before_it_starts_never_runs(scheduler):
    seen = []
    task = scheduler.start_background_task(seen.append, "x")
    task.kill()
    scheduler.run_pending()
    assert seen == [] and not task.is_alive() and task.greenlet is None


def test_blocked_tasks_each_get_their_own_greenlet(scheduler):
    event = scheduler.create_event()
    order = []

    def waiter(name):
        event.wait()
        order.append(name)

    tasks = [scheduler.start_background_task(waiter, name) for name in "abc"]
    scheduler.run_pending()
    assert len({task.greenlet for task in tasks}) == 3
    event.set()
    scheduler.run_pending()
    assert order == ["a", "b", "c"]


def test_idle_greenlets_are_bounded_and_keep_nothing_alive(scheduler):
    event = scheduler.create_event()

    class Target:
        def __call__(self):
            event.wait()

    targets = [Target() for _ in range(MAX_IDLE_WORKERS + 5)]
    refs = [weakref.ref(target) for target in targets]
    for target in targets:
        scheduler.start_background_task(target)
    scheduler.run_pending()
    event.set()
    scheduler.run_pending()
    assert scheduler.tasks == []
    assert len(scheduler._idle) == MAX_IDLE_WORKERS
    del targets, target
    gc.collect()
    assert [ref() for ref in refs] == [None] * len(refs)


def test_an_exception_does_not_cost_the_greenlet(scheduler):
    def fail():
        raise ValueError("boom")

    failing = scheduler.start_background_task(fail)
    scheduler.run_pending()
    assert isinstance(failing.exception, ValueError)
    assert [source for source, _ in scheduler.pop_failures()] == [failing.name]
    later = scheduler.start_background_task(lambda: None)
    scheduler.run_pending()
    assert later.greenlet is failing.greenlet
