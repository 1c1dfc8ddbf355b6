"""The deterministic scheduler under the in-process transport, on a fresh instance each test."""

from __future__ import annotations

import queue
import threading

import pytest

from flask_socketio.testing.scheduler import DeadlockError, Scheduler, current_scheduler


@pytest.fixture
def scheduler():
    scheduler = Scheduler()
    yield scheduler
    scheduler.retire()  # ends its hub and workers too


def test_tasks_run_in_the_order_they_were_started(scheduler):
    order = []
    for name in "abc":
        scheduler.start_background_task(order.append, name)
    assert order == []  # nothing runs until the test lets it
    scheduler.run_pending()
    assert order == ["a", "b", "c"]
    assert scheduler.tasks == []


def test_sleep_zero_yields_to_the_other_tasks(scheduler):
    order = []

    def worker(name):
        for step in range(2):
            order.append((name, step))
            scheduler.sleep(0)

    scheduler.start_background_task(worker, "a")
    scheduler.start_background_task(worker, "b")
    scheduler.run_pending()
    assert order == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]


def test_sleep_wakes_on_the_virtual_clock(scheduler):
    woke = []

    def sleeper(seconds):
        scheduler.sleep(seconds)
        woke.append((seconds, scheduler.clock.now))

    scheduler.start_background_task(sleeper, 5)
    scheduler.start_background_task(sleeper, 2)
    scheduler.run_pending()
    scheduler.clock.advance(10)
    assert woke == [(2, 2.0), (5, 5.0)]
    assert scheduler.clock.now == 10.0


def test_sleep_in_the_test_itself_advances_the_clock(scheduler):
    scheduler.sleep(4)
    assert scheduler.clock.now == 4.0


def test_event_wakes_its_waiters(scheduler):
    event = scheduler.create_event()
    seen = []

    def waiter():
        seen.append(event.wait())

    scheduler.start_background_task(waiter)
    scheduler.run_pending()
    assert seen == [] and not event.is_set()
    event.set()
    scheduler.run_pending()
    assert seen == [True]
    event.clear()
    assert not event.is_set()


def test_event_wait_times_out_on_the_virtual_clock(scheduler):
    event = scheduler.create_event()
    seen = []
    scheduler.start_background_task(lambda: seen.append(event.wait(3)))
    scheduler.run_pending()
    scheduler.clock.advance(2.9)
    assert seen == []
    scheduler.clock.advance(0.1)
    assert seen == [False]


def test_event_wait_in_the_test_runs_tasks_until_set(scheduler):
    event = scheduler.create_event()

    def setter():
        scheduler.sleep(7)
        event.set()

    scheduler.start_background_task(setter)
    assert event.wait(10) is True
    assert scheduler.clock.now == 7.0
    assert scheduler.create_event().wait(1) is False
    assert scheduler.clock.now == 8.0


def test_a_wait_nothing_can_end_is_a_deadlock_error_not_a_hang(scheduler):
    with pytest.raises(DeadlockError, match="waiting forever"):
        scheduler.create_event().wait()


def test_a_wait_woken_early_leaves_no_timer_behind(scheduler):
    event = scheduler.create_event()
    scheduler.start_background_task(event.wait, 60)
    scheduler.run_pending()
    event.set()
    scheduler.run_pending()
    assert scheduler.tasks == []
    # a stale 60 s timer would make this wait jump the clock before failing
    with pytest.raises(DeadlockError):
        scheduler.create_event().wait()
    assert scheduler.clock.now == 0.0


def test_a_killed_sleeper_leaves_no_timer_behind(scheduler):
    task = scheduler.start_background_task(scheduler.sleep, 100)
    scheduler.run_pending()
    task.kill()
    assert not task.is_alive()
    with pytest.raises(DeadlockError):
        scheduler.create_event().wait()
    assert scheduler.clock.now == 0.0


def test_kill_before_the_task_started(scheduler):
    ran = []
    task = scheduler.start_background_task(ran.append, 1)
    task.kill()
    scheduler.run_pending()
    assert ran == [] and not task.is_alive()


def test_killed_task_sees_greenlet_exit_and_cleans_up(scheduler):
    cleaned = []

    def worker():
        try:
            scheduler.sleep(10)
        finally:
            cleaned.append(True)

    task = scheduler.start_background_task(worker)
    scheduler.run_pending()
    task.kill()
    assert cleaned == [True]
    assert scheduler.pop_failures() == []


def test_queue_get_put_and_timeouts(scheduler):
    items = scheduler.create_queue()
    got = []

    def consumer():
        got.append(items.get())
        try:
            items.get(timeout=2)
        except queue.Empty:
            got.append("empty")

    scheduler.start_background_task(consumer)
    scheduler.run_pending()
    assert items.empty()
    items.put("first")
    scheduler.run_pending()
    scheduler.clock.advance(2)
    assert got == ["first", "empty"]
    items.put_nowait(1)
    assert items.qsize() == 1 and items.get_nowait() == 1
    with pytest.raises(queue.Empty):
        items.get_nowait()


def test_task_exceptions_are_kept_with_their_source(scheduler):
    def failing():
        raise KeyError("lost?")

    task = scheduler.start_background_task(failing)
    scheduler.run_pending()
    failures = scheduler.pop_failures()
    assert [(source, type(exc)) for source, exc in failures] == [
        (failing.__qualname__, KeyError)]
    assert isinstance(task.exception, KeyError)
    assert scheduler.pop_failures() == []


def test_kill_all_ends_tasks_and_forgets_timers(scheduler):
    tasks = [scheduler.start_background_task(scheduler.sleep, 5) for _ in range(3)]
    scheduler.run_pending()
    scheduler.kill_all()
    assert not any(task.is_alive() for task in tasks)
    assert scheduler.tasks == []
    with pytest.raises(DeadlockError):
        scheduler.create_event().wait()


def test_driving_from_another_thread_is_an_error(scheduler):
    errors = []

    def drive():
        try:
            scheduler.run_pending()
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=drive)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "driven from the greenlet" in errors[0]


def test_driving_from_another_greenlet_of_the_same_thread_is_an_error(scheduler):
    # Ownership is per greenlet: a gevent greenlet of the test's thread (or any
    # greenlet under monkey-patching, where thread ids are greenlet ids) is foreign.
    import greenlet

    with pytest.raises(RuntimeError, match="driven from the greenlet"):
        greenlet.greenlet(scheduler.run_pending).switch()


def test_one_scheduler_per_thread():
    mine = current_scheduler()
    assert current_scheduler() is mine
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(current_scheduler()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_a_retired_scheduler_leaves_no_greenlet_of_its_own_alive():
    import greenlet

    scheduler = Scheduler()
    ran_in: list[greenlet.greenlet] = []

    def finishes() -> None:
        ran_in.append(greenlet.getcurrent())  # then parked as an idle worker

    def sleeps() -> None:
        ran_in.append(greenlet.getcurrent())
        scheduler.sleep(60)

    scheduler.start_background_task(finishes)
    scheduler.start_background_task(sleeps)
    scheduler.run_pending()
    assert len(ran_in) == 2 and not any(glet.dead for glet in ran_in)
    hub = ran_in[0].parent
    assert not hub.dead

    left = scheduler.retire()

    assert [task.is_alive() for task in left] == [False]  # the sleeper, killed
    assert all(glet.dead for glet in ran_in) and hub.dead


# -- timers ---------------------------------------------------------------------------


def test_cancelled_timers_never_fire_wherever_they_are_in_the_heap(scheduler):
    fired = []
    timers = [scheduler.call_later(delay, fired.append, delay)
              for delay in (3, 1, 4, 1.5, 5, 9, 2, 6)]
    for timer in (timers[1], timers[3], timers[-1]):  # the head, one inside, the last
        timer.cancel()
        assert not timer.pending
    assert scheduler.timer_count == 5
    scheduler.clock.advance(10)
    assert fired == [2, 3, 4, 5, 9]
    assert scheduler.timer_count == 0 and not any(timer.pending for timer in timers)


def test_cancelling_a_timer_that_fired_is_harmless(scheduler):
    fired = []
    first = scheduler.call_later(1, fired.append, "first")
    scheduler.clock.advance(1)
    later = scheduler.call_later(1, fired.append, "later")  # now the last one armed
    first.cancel()
    first.cancel()
    assert later.pending and scheduler.timer_count == 1
    scheduler.clock.advance(5)
    assert fired == ["first", "later"]


def test_timers_due_together_fire_in_the_order_they_were_armed(scheduler):
    fired = []
    timers = [scheduler.call_later(5 if number % 2 else 3, fired.append, number)
              for number in range(300)]
    for timer in timers[::3]:  # (more than MAX_CANCELLED_TIMERS, and not the last)
        timer.cancel()
    kept = [number for number in range(300) if number % 3]
    scheduler.clock.advance(4)
    assert fired == [number for number in kept if number % 2 == 0]
    scheduler.clock.advance(1)
    assert fired[len(fired) - len(kept) // 2:] == [number for number in kept if number % 2]
    assert fired == sorted(kept, key=lambda number: (number % 2, number))


def test_cancelled_timers_do_not_pile_up_in_the_heap(scheduler):
    from flask_socketio.testing.scheduler import MAX_CANCELLED_TIMERS

    fired = []
    scheduler.call_later(100, fired.append, "kept")
    for _ in range(1000):  # a connection's timer, cancelled behind another one armed
        first = scheduler.call_later(45, fired.append, "cancelled")
        second = scheduler.call_later(45, fired.append, "cancelled too")
        first.cancel()  # not the last: left behind, until they are most of the heap
        second.cancel()  # the last one: gone at once
        assert len(scheduler._timers) <= MAX_CANCELLED_TIMERS + 2
    assert scheduler.timer_count == 1
    scheduler.clock.advance(100)
    assert fired == ["kept"]


def test_a_wait_with_only_cancelled_timers_left_is_a_deadlock_at_the_same_time(scheduler):
    first = scheduler.call_later(10, print, "never")
    second = scheduler.call_later(20, print, "never")
    first.cancel()  # not the last: left at the head of the heap
    second.cancel()
    assert len(scheduler._timers) == 1 and scheduler.timer_count == 0
    with pytest.raises(DeadlockError):
        scheduler.create_event().wait()
    assert scheduler.clock.now == 0.0  # not moved to a cancelled timer's time


def test_a_timer_fires_in_a_task_only_when_asked(scheduler):
    where = []
    scheduler.arm(1, lambda: where.append(scheduler.is_task()))
    scheduler.arm(1, lambda: where.append(scheduler.is_task()), starts_task=True)
    scheduler.clock.advance(1)
    assert where == [False, True]


def test_a_retired_schedulers_timers_are_gone_and_cancel_harmlessly():
    fired = []
    old = Scheduler()
    timer = old.call_later(5, fired.append, "old")
    old.call_later(1, fired.append, "old too")
    old.retire()
    assert old.timer_count == 0 and not timer.pending
    new = Scheduler()
    mine = new.call_later(5, fired.append, "new")
    timer.cancel()  # an old handle: touches nothing of the next scheduler's
    assert mine.pending and new.timer_count == 1
    new.clock.advance(10)
    assert fired == ["new"] and new.clock.now == 10
    new.retire()
