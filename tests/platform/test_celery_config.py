"""The Celery settings that keep work from being lost or duplicated."""

import pytest
from django.conf import settings

from exchange.celery import app
from exchange.tasks_base import GuardedTask


def test_reliability_settings() -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_visibility_timeout_outlasts_the_longest_task() -> None:
    # Redis redelivers unacknowledged messages after this; shorter than a task may run would
    # start a healthy long task twice.
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert timeout == settings.CELERY_VISIBILITY_TIMEOUT
    assert timeout > app.conf.task_time_limit
    assert app.conf.result_backend_transport_options["visibility_timeout"] == timeout


def test_the_suite_runs_on_a_real_broker() -> None:
    assert app.conf.broker_url.startswith("redis://")


ran: list[int] = []
poisoned: list[int] = []


@app.task(base=GuardedTask, bind=True, name="tests.count_runs")
def count_runs(self: GuardedTask, job: int) -> str:
    ran.append(job)
    return "done"


def _poison(self: GuardedTask, job: int) -> None:
    poisoned.append(job)


count_runs.on_poison = _poison.__get__(count_runs)


@pytest.mark.django_db
def test_redelivery_cap_ends_a_poison_message(settings) -> None:
    settings.CELERY_MAX_REDELIVERIES = 2
    ran.clear()
    poisoned.clear()
    # The same task id delivered again and again, as after repeated worker crashes.
    for _ in range(5):
        count_runs.apply(args=[7], task_id="poison-id")
    assert ran == [7, 7, 7]  # first delivery + 2 redeliveries
    assert poisoned == [7, 7]
    count_runs.apply(args=[8], task_id="healthy-id")
    assert ran[-1] == 8


@pytest.mark.django_db
def test_tasks_are_enqueued_only_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    sent: list[tuple] = []
    monkeypatch.setattr(count_runs, "apply_async", lambda *a, **k: sent.append((a, k)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        count_runs.delay_on_commit(1)
        assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [((), {"args": (1,), "kwargs": {}})] or len(sent) == 1


def test_the_embedded_broker_keeps_every_folder_under_var() -> None:
    """`make run`'s folder broker must not litter the working directory (kombu's pidbox default
    is ./control)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    code = (
        "import django, json; django.setup();"
        "from django.conf import settings; from exchange.celery import app;"
        "print(json.dumps({'var': str(settings.VAR_DIR),"
        " 'opts': app.conf.broker_transport_options}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "exchange.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    folders = {k: v for k, v in found["opts"].items() if k.endswith("folder") or "folder_" in k}
    assert set(folders) >= {
        "data_folder_in",
        "data_folder_out",
        "processed_folder",
        "control_folder",
    }
    for name, folder in folders.items():
        assert Path(folder).is_relative_to(found["var"]), name
