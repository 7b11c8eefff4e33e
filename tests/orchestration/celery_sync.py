"""A Celery app whose one task syncs a source through the stages the Airflow tasks run (:mod:`warehouse.sync`).

Airflow's CeleryExecutor hands each task to a Celery worker the same way: the message is acknowledged
only when the task has finished (``acks_late``) and a worker process that dies mid-task sends it back
to the queue (``reject_on_worker_lost``), so another worker runs it again. The test starts two workers
of this app on Redis; each attempt is written to a file, so the test sees which worker ran what.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import Celery

app = Celery("xgate_sync_test", broker=os.environ["XGATE_TEST_BROKER"], backend=os.environ["XGATE_TEST_BROKER"])
app.conf.update(
    task_default_queue=os.environ["XGATE_TEST_QUEUE"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_track_started=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(bind=True, name="xgate.sync")
def sync_source(self, source: str) -> dict:
    from warehouse.sync import sync
    from xgate.settings import get_settings

    with Path(os.environ["XGATE_TEST_ATTEMPTS"]).open("a") as attempts:
        attempts.write(f"{source} {self.request.hostname} {os.getpid()}\n")
    started = time.time()
    results = sync(get_settings(), source)
    return {
        "source": source,
        "worker": self.request.hostname,
        "started": started,
        "ended": time.time(),
        "streams": [r.as_dict() for r in results],
    }
