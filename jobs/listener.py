"""PostgreSQL LISTEN: wake idle workers the moment an operation is queued.

Enqueueing commits with ``NOTIFY`` (see ``UnitOfWork.commit``); a worker
blocked here claims the row a few milliseconds later instead of waiting for
its poll interval. Losing the connection only costs latency: the workers
keep polling.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy.engine import make_url

from iam_service.adapters.queue_store import NOTIFY_CHANNEL
from jobs.worker import Wakeup

log = logging.getLogger(__name__)


def libpq_dsn(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def start_listener(
    sqlalchemy_url: str, wakeup: Wakeup, stop: threading.Event
) -> threading.Thread:
    thread = threading.Thread(
        target=_listen,
        args=(libpq_dsn(sqlalchemy_url), wakeup, stop),
        name="queue-listener",
        daemon=True,
    )
    thread.start()
    return thread


def _listen(dsn: str, wakeup: Wakeup, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                while not stop.is_set():
                    for _ in connection.notifies(timeout=1.0, stop_after=1):
                        wakeup.notify()
        except psycopg.Error as error:
            log.warning("queue listener lost its connection (%s); reconnecting", error)
            stop.wait(2.0)
