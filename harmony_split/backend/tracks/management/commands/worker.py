"""``manage.py worker``: one separation worker process.

It runs the configured task backend's worker (the database queue's ``db_worker`` loop, or with ``REDIS_URL`` an
RQ ``SimpleWorker``: jobs in the worker's own process, so the loaded models stay in memory), plus a thread that
beats every ``HARMONY_HEARTBEAT_SECONDS``, sweeps jobs of dead workers, and runs ``cleanup`` once a day.
Ctrl-C or SIGTERM hands the running job back to the queue at its next block, then exits. Workers run at a lower
CPU priority (``HARMONY_WORKER_NICE``), so that API requests stay quick on a machine they share. TensorFlow loads
at start-up, quietly (``Utils.import_tensorflow``), so the first job neither waits for it nor prints its chatter.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS

from harmony_split.backend.tracks import jobs
from Utils import import_tensorflow

logger = logging.getLogger(__name__)

DAY = 24 * 3600.0


def _housekeeping(stop: threading.Event) -> None:
    last_cleanup = 0.0
    while not stop.is_set():
        try:
            close_old_connections()
            jobs.beat()
            jobs.sweep()
            if time.monotonic() - last_cleanup > DAY or not last_cleanup:
                call_command("cleanup")
                last_cleanup = time.monotonic()
        except Exception:  # noqa: BLE001 -- a busy database now and then must not end the heartbeat
            logger.exception("worker housekeeping failed; retrying")
        stop.wait(settings.HARMONY_HEARTBEAT_SECONDS)
    connection.close()


def _db_worker() -> None:
    from django.utils.crypto import get_random_string
    from django_tasks_db.management.commands.db_worker import Worker

    class HandingBackWorker(Worker):
        def shutdown(self, signum, frame) -> None:  # noqa: ANN001
            jobs.request_stop()
            super().shutdown(signum, frame)

    worker = HandingBackWorker(queue_names=["default"], interval=0.5, batch=False,
                               backend_name=DEFAULT_TASK_BACKEND_ALIAS, startup_delay=False, max_tasks=None,
                               worker_id=get_random_string(32), excluded_queue_names=[])
    worker.configure_signals()
    worker.run()


def _rq_worker() -> None:
    from django_rq.workers import get_worker
    from rq import SimpleWorker

    class HandingBackWorker(SimpleWorker):
        def request_stop(self, signum, frame) -> None:  # noqa: ANN001
            jobs.request_stop()
            super().request_stop(signum, frame)

    get_worker("default", job_class="django_tasks_rq.Job", worker_class=HandingBackWorker).work()


class Command(BaseCommand):
    help = "Run one separation worker (heartbeat, sweep of dead workers' jobs, daily cleanup)."

    def handle(self, *args: object, **options: object) -> None:
        logging.getLogger("harmony_split").setLevel(logging.INFO)
        os.nice(settings.HARMONY_WORKER_NICE)  # separation yields the CPU to the web server's requests
        import_tensorflow()  # now, as the CLIs do: without TensorFlow's native start-up lines at the first job
        jobs.beat()
        requeued = jobs.sweep()  # a worker that starts picks up what a dead one left
        self.stdout.write(f"worker {jobs.worker_id()} started ({'RQ' if settings.REDIS_URL else 'database'} "
                          f"queue); {requeued} stale job(s) swept", ending="\n")
        self.stdout.flush()
        stop = threading.Event()
        beater = threading.Thread(target=_housekeeping, args=(stop,), name="heartbeat", daemon=True)
        beater.start()
        try:
            _rq_worker() if settings.REDIS_URL else _db_worker()
        finally:
            stop.set()
