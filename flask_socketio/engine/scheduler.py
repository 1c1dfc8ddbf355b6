"""A deterministic cooperative scheduler with a virtual clock, for in-process tests.

Background tasks, handlers and waits of the in-process transport run as greenlets
that switch only where they would block (``sleep``, an event or queue wait). The
clock moves only when asked (:meth:`VirtualClock.advance`) or when the test itself
blocks waiting for something, so a task that emits every 10 s is tested at once and
in the same order every time.

There is one scheduler per thread: every in-process engine of that thread shares it,
so two SocketIO instances in one test share one clock.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import greenlet

logger = logging.getLogger("flask_socketio.testing")

#: Finished tasks hand their greenlet back to the scheduler for the next task, up to
#: this many idle ones: entering a new greenlet for the first time costs far more
#: (its own Python stack) than switching into a parked one.
MAX_IDLE_WORKERS = 8


class DeadlockError(RuntimeError):
    """The test waits for something that no pending task and no timer can bring."""


class _Wakeup:
    """One pending wake-up of a blocked greenlet; whichever cause fires first wins."""

    __slots__ = ("glet", "done", "value")

    def __init__(self, glet: greenlet.greenlet) -> None:
        self.glet = glet
        self.done = False
        self.value: Any = None


class Task:
    """A background task started with ``start_background_task``."""

    def __init__(self, scheduler: Scheduler, target: Callable[..., Any], args: tuple,
                 kwargs: dict) -> None:
        self._scheduler = scheduler
        self.name = getattr(target, "__qualname__", repr(target))
        self.finished = scheduler.create_event()
        self.exception: BaseException | None = None
        self._target = target
        self._args = args
        self._kwargs = kwargs
        self._cancelled = False
        #: A service task (a queue listener) that is meant to outlive tests.
        self.daemon = False
        #: The worker greenlet running the task; ``None`` until it starts.
        self.greenlet: greenlet.greenlet | None = None

    def _run(self) -> None:
        try:
            self._target(*self._args, **self._kwargs)
        except greenlet.GreenletExit:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported to the test, not lost
            self.exception = exc
            self._scheduler._report_failure(self, exc)
        finally:
            self._scheduler._tasks.discard(self)
            self.finished.set()

    def is_alive(self) -> bool:
        return not self.finished.is_set()

    def join(self, timeout: float | None = None) -> None:
        self.finished.wait(timeout)

    def kill(self) -> None:
        """End the task where it is blocked (it sees ``GreenletExit``)."""
        if self.finished.is_set() or self._cancelled:
            return
        self._cancelled = True
        if self.greenlet is None:  # never started: it is skipped when reached
            self._scheduler._tasks.discard(self)
            self.finished.set()
            return
        self._scheduler._ready.append((self.greenlet, _KILL))
        self._scheduler.run_pending()


class VirtualClock:
    """Time as the in-process server sees it. It moves only when told to."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        """Move time forward, running every timer that falls due, in order."""
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        if self._scheduler.is_task():
            raise RuntimeError("a task cannot move the clock: call socketio.sleep() instead")
        self._scheduler.run_until(lambda: False, timeout=seconds)

    def __repr__(self) -> str:
        return f"<VirtualClock now={self.now:g}s>"


class Scheduler:
    """Runs in-process tasks cooperatively and deterministically."""

    def __init__(self) -> None:
        self.thread_id = threading.get_ident()
        self.clock = VirtualClock(self)
        self._hub = greenlet.greenlet(self._hub_loop)
        self._driver: greenlet.greenlet | None = None
        #: ``(greenlet, value to send it)``, or ``(task, _START)`` for a task to start.
        self._ready: deque[tuple[Any, Any]] = deque()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._tasks: set[Task] = set()
        self._idle: list[greenlet.greenlet] = []
        self.failures: list[tuple[str, BaseException]] = []

    # -- running -----------------------------------------------------------------

    def _hub_loop(self) -> None:
        while True:
            while self._ready:
                glet, value = self._ready.popleft()
                if value is _START:
                    self._start(glet)
                    continue
                if glet.dead:
                    continue
                if value is _KILL:
                    glet.throw(greenlet.GreenletExit)
                else:
                    glet.switch(value)
            glet = value = None  # a parked hub keeps no task (nor its client) alive
            driver, self._driver = self._driver, None
            assert driver is not None
            driver.switch()

    def _start(self, task: Task) -> None:
        if task._cancelled:  # killed before it started
            return
        if self._idle:
            task.greenlet = self._idle.pop()
            task.greenlet.switch(task)
        else:  # greenlet keeps a new greenlet's arguments: hand the task over in a list
            task.greenlet = greenlet.greenlet(self._worker, parent=self._hub)
            task.greenlet.switch([task])

    def _worker(self, handover: list[Task]) -> None:
        """Run tasks one after the other, each as if in a greenlet of its own."""
        task: Task | None = handover.pop()
        while True:
            contextvars.Context().run(task._run)  # a new greenlet's context is empty too
            # A killed task may have left wake-ups aimed at this greenlet: never reuse it.
            if task._cancelled or len(self._idle) >= MAX_IDLE_WORKERS:
                return
            task = None  # an idle worker keeps nothing alive
            self._idle.append(greenlet.getcurrent())
            task = self._hub.switch()

    def is_task(self) -> bool:
        """Is the caller one of this scheduler's greenlets (not the test itself)?"""
        current = greenlet.getcurrent()
        return current is self._hub or current.parent is self._hub

    def run_pending(self) -> None:
        """Run every task that can run now, until all are blocked or finished."""
        if threading.get_ident() != self.thread_id:
            raise RuntimeError("the in-process transport is driven from the thread that made it")
        if self.is_task():
            self._yield()
            return
        if not self._ready:
            return
        self._driver = greenlet.getcurrent()
        self._hub.switch()

    def run_until(self, condition: Callable[[], bool], timeout: float | None) -> bool:
        """Run tasks, moving the clock toward ``timeout``, until ``condition()`` holds.

        Called by the test's own code (never by a task). Returns the last value of
        ``condition()``. Without a timeout, a wait nothing can end is a
        :class:`DeadlockError` instead of a hang.
        """
        deadline = None if timeout is None else self.clock.now + timeout
        while True:
            self.run_pending()
            if condition():
                return True
            due = self._timers[0][0] if self._timers else None
            if due is not None and (deadline is None or due <= deadline):
                self._fire_timers_due(due)
                continue
            if deadline is None:
                raise DeadlockError(
                    "waiting forever: no task can run, no timer is pending and the awaited "
                    "event was not set"
                )
            self.clock.now = max(self.clock.now, deadline)
            self.run_pending()
            return condition()

    def _fire_timers_due(self, when: float) -> None:
        self.clock.now = max(self.clock.now, when)
        while self._timers and self._timers[0][0] <= self.clock.now:
            _, _, fire = heapq.heappop(self._timers)
            fire()

    def _yield(self) -> None:
        wakeup = _Wakeup(greenlet.getcurrent())
        self._wake(wakeup, None)
        self._hub.switch()

    def _wake(self, wakeup: _Wakeup, value: Any) -> None:
        if not wakeup.done:
            wakeup.done = True
            wakeup.value = value
            self._ready.append((wakeup.glet, value))

    def _block(self, wakeup: _Wakeup, timeout: float | None) -> Any:
        """Park the current task until ``wakeup`` fires or ``timeout`` passes."""
        if timeout is None:
            return self._hub.switch()
        timer = self.call_later(timeout, lambda: self._wake(wakeup, _TIMED_OUT))
        try:
            return self._hub.switch()
        finally:
            if wakeup.value is not _TIMED_OUT:  # woken (or killed) first: drop the timer
                self._cancel_timer(timer)

    def call_later(self, delay: float, fire: Callable[[], None]) -> tuple:
        due = self.clock.now + max(delay, 0.0)
        timer = (due, next(self._sequence), fire)
        heapq.heappush(self._timers, timer)
        return timer

    def cancel_timer(self, timer: tuple) -> None:
        """Forget a timer :meth:`call_later` returned (nothing if it already fired)."""
        self._cancel_timer(timer)

    def _cancel_timer(self, timer: tuple) -> None:
        try:
            self._timers.remove(timer)
        except ValueError:
            return
        heapq.heapify(self._timers)

    def _report_failure(self, task: Task, exc: BaseException) -> None:
        self.report_failure(task.name, exc)

    def report_failure(self, source: str, exc: BaseException) -> None:
        """Keep an exception for the test to see, with where it came from."""
        logger.debug("in-process failure in %s: %r", source, exc)
        self.failures.append((source, exc))

    def pop_failures(self) -> list[tuple[str, BaseException]]:
        failures, self.failures = self.failures, []
        return failures

    # -- the async primitives the engine hands to python-socketio -----------------

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Task:
        task = Task(self, target, args, kwargs)
        self._tasks.add(task)
        self._ready.append((task, _START))
        return task

    def sleep(self, seconds: float = 0) -> None:
        if self.is_task():
            wakeup = _Wakeup(greenlet.getcurrent())
            if seconds <= 0:
                self._wake(wakeup, None)
                self._hub.switch()
            else:
                self._block(wakeup, seconds)
        else:
            self.clock.advance(max(seconds, 0))

    def create_event(self) -> Event:
        return Event(self)

    def create_queue(self, *args: Any, **kwargs: Any) -> Queue:
        return Queue(self)

    @property
    def tasks(self) -> list[Task]:
        """Tasks started and not yet finished."""
        return [task for task in self._tasks if task.is_alive()]

    def kill_all(self) -> None:
        """End every pending task and forget every timer (test teardown)."""
        for task in list(self._tasks):
            task.kill()
        self._timers.clear()
        self._ready.clear()


_TIMED_OUT = object()
_KILL = object()
_START = object()


class Event:
    """``threading.Event`` for the scheduler's tasks."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._flag = False
        self._waiters: list[_Wakeup] = []

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        self._flag = True
        waiters, self._waiters = self._waiters, []
        for wakeup in waiters:
            self._scheduler._wake(wakeup, None)

    def clear(self) -> None:
        self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        if not self._scheduler.is_task():
            return self._scheduler.run_until(self.is_set, timeout)
        wakeup = _Wakeup(greenlet.getcurrent())
        self._waiters.append(wakeup)
        self._scheduler._block(wakeup, timeout)
        if wakeup in self._waiters:
            self._waiters.remove(wakeup)
        return self._flag


class Queue:
    """``queue.Queue`` for the scheduler's tasks (unbounded)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._items: deque[Any] = deque()
        self._not_empty = Event(scheduler)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self._items.append(item)
        self._not_empty.set()

    def put_nowait(self, item: Any) -> None:
        self.put(item)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        while not self._items:
            if not block:
                raise queue.Empty
            self._not_empty.clear()
            if not self._not_empty.wait(timeout):
                raise queue.Empty
        return self._items.popleft()

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def join(self) -> None:
        """Nothing tracks task_done here; present for interface parity."""

    def task_done(self) -> None:
        """See :meth:`join`."""


_local = threading.local()


def current_scheduler() -> Scheduler:
    """The scheduler of the calling thread, made on first use."""
    scheduler = getattr(_local, "scheduler", None)
    if scheduler is None:
        scheduler = _local.scheduler = Scheduler()
    return scheduler
