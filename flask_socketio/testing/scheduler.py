"""A deterministic cooperative scheduler with a virtual clock, for in-process tests.

Background tasks, handlers and waits of the in-process transport run as greenlets
that switch only where they would block (``sleep``, an event or queue wait). The
clock moves only when asked (:meth:`VirtualClock.advance`) or when the test itself
blocks waiting for something, so a task that emits every 10 s is tested at once and
in the same order every time.

A scheduler belongs to the greenlet that made it (its *home*: the test's own code,
normally the thread's main greenlet) and to its task greenlets; nothing else may drive
it. Ownership is decided per greenlet, never by thread id, so it holds under gevent's
or eventlet's monkey-patching too. Every in-process engine driven from one home shares
its scheduler, so two SocketIO instances in one test share one clock; the pytest
plugin retires it at the end of each test (:func:`retire_scheduler`), so the next
test starts with no task, no timer and ``clock.now == 0``.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import logging
import queue
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import greenlet

logger = logging.getLogger("flask_socketio.testing")

#: Finished tasks hand their greenlet back to the scheduler for the next task, up to
#: this many idle ones: entering a new greenlet for the first time costs far more
#: (its own Python stack) than switching into a parked one.
MAX_IDLE_WORKERS = 8
#: Cancelled timers are left in the heap (skipped when they come due) until there
#: are more than this many and they are most of it; then they are swept out at once.
MAX_CANCELLED_TIMERS = 64

#: Yields with ``sleep(0)`` in a row, while nothing was woken, started, finished or
#: sent, after which a task is taken to be busy-waiting (see :class:`BusyLoopError`).
SPIN_LIMIT = 100_000


class DeadlockError(RuntimeError):
    """The test waits for something that no pending task and no timer can bring."""


class BusyLoopError(RuntimeError):
    """A task keeps yielding with ``sleep(0)`` while nothing else can happen.

    On the virtual clock time moves only when the test advances it, so a loop that
    waits for time to pass (or for another thread) by sleeping 0 would never end.
    """


class _Wakeup:
    """One pending wake-up of a blocked greenlet; whichever cause fires first wins."""

    __slots__ = ("glet", "done", "value")

    def __init__(self, glet: greenlet.greenlet) -> None:
        self.glet = glet
        self.done = False
        self.value: Any = None


class _Hub(greenlet.greenlet):
    """The greenlet that runs a scheduler's tasks; it knows its scheduler."""

    def __init__(self, run: Callable[[], None], scheduler: Scheduler) -> None:
        super().__init__(run)
        self.scheduler = scheduler


class Task:
    """A background task started with ``start_background_task``."""

    __slots__ = ("_scheduler", "_target", "_args", "_kwargs", "_cancelled", "_done",
                 "_finished", "exception", "daemon", "greenlet")

    def __init__(self, scheduler: Scheduler, target: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self._scheduler = scheduler
        self._target = target
        self._args = args
        self._kwargs = kwargs
        self._cancelled = False
        self._done = False
        #: The event a ``join()`` waits on; made only if one does.
        self._finished: Event | None = None
        self.exception: BaseException | None = None
        #: A service task (a queue listener) that is meant to outlive tests.
        self.daemon = False
        #: The worker greenlet running the task; ``None`` until it starts.
        self.greenlet: greenlet.greenlet | None = None

    @property
    def name(self) -> str:
        target = self._target
        return getattr(target, "__qualname__", None) or repr(target)

    @property
    def finished(self) -> Event:
        """Set when the task has ended."""
        if self._finished is None:
            self._finished = self._scheduler.create_event()
            if self._done:
                self._finished.set()
        return self._finished

    def run_instead(self, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """From inside this task: go on as a task of ``target(*args)`` (its name in
        reports and failures included), as if that one had been started next."""
        self._target, self._args, self._kwargs = target, args, {}
        self._scheduler._spins = 0
        target(*args)

    def _end(self) -> None:
        scheduler = self._scheduler
        scheduler._tasks.discard(self)
        scheduler._spins = 0
        self._done = True
        if self._finished is not None:
            self._finished.set()

    def is_alive(self) -> bool:
        return not self._done

    def join(self, timeout: float | None = None) -> None:
        if not self._done:
            self.finished.wait(timeout)

    def kill(self) -> None:
        """End the task where it is blocked (it sees ``GreenletExit``)."""
        if self._done or self._cancelled:
            return
        self._cancelled = True
        if self.greenlet is None:  # never started: it is skipped when reached
            self._end()
            return
        self._scheduler._ready.append((self.greenlet, _KILL))
        self._scheduler.run_pending()


class Timer:
    """A call the virtual clock makes when it reaches :attr:`due` (what
    :meth:`Scheduler.call_later` and :meth:`Scheduler.arm` return): :meth:`cancel`
    prevents it.

    The timer itself is the entry of the scheduler's heap, ordered by due time, then
    by the order timers were armed: one object per timer, and cancelling one costs
    no search of the heap (it is skipped when it comes due, see
    :data:`MAX_CANCELLED_TIMERS`), so arming one per connection and cancelling it
    at once is cheap. Made by :meth:`Scheduler.arm` only, which sets every field
    (no ``__init__``: a Python call less per timer).
    """

    __slots__ = ("due", "sequence", "target", "args", "starts_task", "_scheduler")

    due: float
    #: Timers due at the same time fire in this order (the order they were armed).
    sequence: int
    #: What it calls, with :attr:`args`; ``None`` once it ran or was cancelled.
    target: Callable[..., object] | None
    args: tuple[Any, ...]
    #: Is ``target(*args)`` started as a task (else called by whoever moves the clock)?
    starts_task: bool
    _scheduler: Scheduler

    def __lt__(self, other: Timer) -> bool:
        return self.due < other.due or (self.due == other.due and self.sequence < other.sequence)

    @property
    def pending(self) -> bool:
        """Is the call still to come (neither made nor cancelled)?"""
        return self.target is not None

    def cancel(self) -> None:
        """Prevent the call: nothing if it was made or cancelled already."""
        if self.target is None:
            return
        self.target = None
        self.args = ()
        scheduler = self._scheduler
        timers = scheduler._timers
        if timers[-1] is self:  # the last one armed (often the only one): a heap
            timers.pop()  # without its last item is still a heap
            return
        scheduler._cancelled += 1  # left where it is, skipped when it comes due
        if scheduler._cancelled > MAX_CANCELLED_TIMERS and scheduler._cancelled * 2 > len(timers):
            scheduler._sweep_cancelled()


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

    def __init__(self, home: greenlet.greenlet | None = None) -> None:
        home = home if home is not None else greenlet.getcurrent()
        #: The greenlet that drives this scheduler (the test's code), weakly held.
        self._home = weakref.ref(home)
        #: Set by :meth:`retire`: the scheduler of a test that has ended.
        self.retired = False
        self.clock = VirtualClock(self)
        self._hub = _Hub(self._hub_loop, self)
        self._driver: greenlet.greenlet | None = None
        #: Is the hub parked where it waits for the next ``run_pending`` (its loop done)?
        #: Then a task can go from the test's code to a worker and back without it.
        self._hub_parked = False
        #: ``(greenlet, value to send it)``, or ``(task, _START)`` for a task to start.
        self._ready: deque[tuple[Any, Any]] = deque()
        #: The timers armed, a heap; cancelled ones (:attr:`_cancelled` of them) too.
        self._timers: list[Timer] = []
        self._cancelled = 0
        self._sequence = itertools.count()
        self._tasks: set[Task] = set()
        self._idle: list[greenlet.greenlet] = []
        self._spins = 0
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
            self._hub_parked = True
            driver.switch()
            self._hub_parked = False

    def _start(self, task: Task) -> None:
        self._spins = 0
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
        me = greenlet.getcurrent()
        idle = self._idle
        # ``while True``: CPython 3.11 specializes a loop's code only at an unconditional
        # backward jump (or a call), and this frame is entered once per worker; with
        # ``while task is not None`` it would run unspecialized forever, every attribute
        # access the slow way.
        while True:
            if task is None:  # resumed with nothing to run: the worker ends
                return
            try:  # in a context of its own: a new greenlet's context is empty too
                if task._kwargs:
                    contextvars.Context().run(task._target, *task._args, **task._kwargs)
                else:
                    contextvars.Context().run(task._target, *task._args)
            except greenlet.GreenletExit:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported to the test, not lost
                task.exception = exc
                self._report_failure(task, exc)
            task._end()
            # A killed task may have left wake-ups aimed at this greenlet: never reuse it.
            if task._cancelled or len(idle) >= MAX_IDLE_WORKERS:
                return
            task = None  # an idle worker keeps nothing alive
            idle.append(me)
            driver = self._driver
            if self._hub_parked and driver is not None and not self._ready:
                # started by run_pending itself, and nothing else to run: straight back
                self._driver = None
                task = driver.switch()
            else:
                task = self._hub.switch()

    def is_task(self) -> bool:
        """Is the caller one of this scheduler's greenlets (not the test itself)?"""
        current = greenlet.getcurrent()
        return current is self._hub or current.parent is self._hub

    @property
    def home(self) -> greenlet.greenlet | None:
        """The greenlet that drives this scheduler (``None`` once it has ended)."""
        return self._home()

    def owns(self, glet: greenlet.greenlet | None = None) -> bool:
        """Does ``glet`` (the caller by default) run on this scheduler: its home or a task?"""
        current = glet if glet is not None else greenlet.getcurrent()
        hub = self._hub  # a task's first: the usual caller (a handler's emit)
        return current.parent is hub or current is self._home() or current is hub

    def has_ready(self) -> bool:
        """Is any task waiting to start or to resume?"""
        return bool(self._ready)

    def run_pending(self) -> None:
        """Run every task that can run now, until all are blocked or finished."""
        current = greenlet.getcurrent()
        if current is self._home():  # the test's code: the usual caller
            ready = self._ready
            if ready:
                self._driver = current
                idle = self._idle
                if len(ready) == 1 and idle and self._hub_parked:
                    task, value = ready[0]
                    if value is _START and not task._cancelled:
                        # One task to start and a worker idle: the worker runs it and
                        # comes back here if that is all (see _worker), as the hub would
                        # have it.
                        ready.clear()
                        self._start(task)
                        return
                self._hub.switch()
            return
        if current is self._hub or current.parent is self._hub:  # a task
            self._yield()
            return
        raise RuntimeError("the in-process transport is driven from the greenlet (the "
                           "test's code, in the thread) that made it; this is another "
                           "thread or greenlet")

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
            due = self._next_due()
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

    def _next_due(self) -> float | None:
        """When the next timer is due (cancelled ones at the head of the heap dropped)."""
        timers = self._timers
        while timers:
            head = timers[0]
            if head.target is not None:
                return head.due
            heapq.heappop(timers)
            self._cancelled -= 1
        return None

    def _fire_timers_due(self, when: float) -> None:
        self._spins = 0
        clock = self.clock
        clock.now = max(clock.now, when)
        timers = self._timers
        while timers and timers[0].due <= clock.now:
            timer = heapq.heappop(timers)
            target, args = timer.target, timer.args
            if target is None:  # cancelled
                self._cancelled -= 1
                continue
            timer.target, timer.args = None, ()
            if timer.starts_task:
                self.start_background_task(target, *args)
            else:
                target(*args)

    def _sweep_cancelled(self) -> None:
        """Drop the cancelled timers from the heap (in place: a caller may hold it)."""
        timers = self._timers
        timers[:] = [timer for timer in timers if timer.target is not None]
        heapq.heapify(timers)
        self._cancelled = 0

    @property
    def timer_count(self) -> int:
        """Timers armed that are still to fire (not fired, not cancelled)."""
        return len(self._timers) - self._cancelled

    def _yield(self) -> None:
        wakeup = _Wakeup(greenlet.getcurrent())
        self._wake(wakeup, None)
        self._hub.switch()

    def _wake(self, wakeup: _Wakeup, value: Any) -> None:
        self._spins = 0  # something was set, put or timed out: progress
        if not wakeup.done:
            wakeup.done = True
            wakeup.value = value
            self._ready.append((wakeup.glet, value))

    def _block(self, wakeup: _Wakeup, timeout: float | None) -> Any:
        """Park the current task until ``wakeup`` fires or ``timeout`` passes."""
        if timeout is None:
            return self._hub.switch()
        timer = self.arm(timeout, self._wake, (wakeup, _TIMED_OUT))
        try:
            return self._hub.switch()
        finally:
            if wakeup.value is not _TIMED_OUT:  # woken (or killed) first: drop the timer
                timer.cancel()

    def call_later(self, delay: float, target: Callable[..., object], *args: Any) -> Timer:
        """Call ``target(*args)`` once the clock has moved ``delay`` seconds on, in
        whatever greenlet moves it (the test's code, or the hub); timers due at the
        same time fire in the order they were armed."""
        return self.arm(delay, target, args)

    def arm(self, delay: float, target: Callable[..., object], args: tuple[Any, ...] = (),
            starts_task: bool = False) -> Timer:
        """:meth:`call_later` with the arguments as a tuple; with ``starts_task``,
        ``target(*args)`` is started as a task when the timer fires."""
        timer = Timer()
        timer._scheduler = self
        timer.due = self.clock.now + (delay if delay > 0 else 0.0)
        timer.sequence = next(self._sequence)
        timer.target = target
        timer.args = args
        timer.starts_task = starts_task
        heapq.heappush(self._timers, timer)
        return timer

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
            current = greenlet.getcurrent()
            wakeup = _Wakeup(current)
            if seconds <= 0:
                self._spin_check(current)
                self._ready.append((current, None))
                wakeup.done = True
                self._hub.switch()
            else:
                self._block(wakeup, seconds)
        else:
            self.clock.advance(max(seconds, 0))

    def note_progress(self) -> None:
        """Something observable happened (a packet was sent): not a busy loop."""
        self._spins = 0

    def _spin_check(self, current: greenlet.greenlet) -> None:
        """Count a bare ``sleep(0)``; too many in a row, with no other progress, is a
        busy loop that the virtual clock would never end."""
        self._spins += 1
        if self._spins < SPIN_LIMIT:
            return
        self._spins = 0
        name = next((task.name for task in self._tasks if task.greenlet is current), "a task")
        raise BusyLoopError(
            f"{name} called sleep(0) {SPIN_LIMIT} times in a row while nothing else could "
            f"happen: a busy loop. On the virtual clock time moves only when the test "
            f"advances it, so waiting for time (or for another thread) by sleeping 0 never "
            f"ends; sleep for a positive time or wait on an event instead")

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
        for timer in self._timers:  # a handle cancelled later finds it done
            timer.target, timer.args = None, ()
        self._timers.clear()
        self._cancelled = 0
        self._ready.clear()

    def _end_greenlets(self) -> None:
        """End the idle workers and the hub: parked, each would stay alive with its
        stack for as long as anything refers to this scheduler (an engine of a
        module-level app, say), one set per test."""
        current = greenlet.getcurrent()
        for glet in [*self._idle, self._hub]:
            if glet is current or glet.dead or not glet:  # running, ended, never started
                continue
            try:
                glet.parent = current  # the ended greenlet comes back here, to us
            except ValueError:  # one of our own ancestors: it ends with us
                continue
            glet.throw(greenlet.GreenletExit)
        self._idle.clear()

    def retire(self) -> list[Task]:
        """Run what is pending, then kill everything and mark this scheduler as ended;
        engines bound to it move to their home's next scheduler. Returns the
        non-service tasks that were still alive (blocked, or sleeping)."""
        if self.owns():
            self.run_pending()
        left = [task for task in self.tasks if not task.daemon]
        self.kill_all()
        self._end_greenlets()
        self.retired = True
        for source, exc in self.pop_failures():  # nobody is left to raise them
            logger.error("exception in %s, at the end of the test", source, exc_info=exc)
        return left


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


#: Each home greenlet's scheduler; a greenlet that ends takes its scheduler with it.
_schedulers: weakref.WeakKeyDictionary[greenlet.greenlet, Scheduler] = weakref.WeakKeyDictionary()


def current_scheduler() -> Scheduler:
    """The caller's scheduler: its own if it is a task, else the one this greenlet
    drives (made on first use, so each thread's test code has its own)."""
    current = greenlet.getcurrent()
    scheduler = _schedulers.get(current)
    if scheduler is not None:
        return scheduler
    hub = current if isinstance(current, _Hub) else current.parent
    if isinstance(hub, _Hub):
        return hub.scheduler
    scheduler = _schedulers[current] = Scheduler(current)
    return scheduler


def retire_scheduler() -> list[Task]:
    """End the calling greenlet's scheduler (the end of a test): kill its tasks, drop
    its timers. The next :func:`current_scheduler` makes a fresh one, at time 0.

    Returns the tasks that were still alive, services (``daemon``) excepted.
    """
    scheduler = _schedulers.pop(greenlet.getcurrent(), None)
    return [] if scheduler is None else scheduler.retire()
