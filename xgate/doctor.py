"""``xgate doctor``: check a profile before it is used, one line per part, each problem named.

The parts a deployment stands on: the lake's catalog (opened read-only: reachable, and which snapshot),
its data path (a small file written and read back: the bucket or folder takes writes with these
credentials), Airflow's metadata database (migrated to this Airflow's heads), and the Celery workers
(answering a ping on the broker). The last two are checked when configured, by Airflow's own variables
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` and ``AIRFLOW__CELERY__BROKER_URL``. No line carries a password,
token or key: URLs are shown without their password, errors through :func:`warehouse.storage.shown`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from xgate.errors import XgateError
from xgate.settings import Settings

METADATA = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
BROKER = "AIRFLOW__CELERY__BROKER_URL"


@dataclass
class Finding:
    part: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<4}  {self.part}: {self.detail}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL (a broker's): kombu knows how to hide its password
        from kombu.utils.url import maybe_sanitize_url

        return maybe_sanitize_url(url)


def check_catalog(settings: Settings) -> Finding:
    """Open the catalog read-only, without the data files: is it there, and at which snapshot."""
    from warehouse import lake, storage

    catalog = storage.shown(settings, settings.lake_catalog)
    file = settings.lake_catalog.removeprefix("ducklake:")
    if not settings.lake_catalog.startswith("ducklake:postgres:") and not Path(file).exists():
        return Finding("catalog", True, f"{catalog}: no lake yet (the first sync creates it)")
    try:
        con = lake.connect(settings, files=False)
    except XgateError as exc:
        if "creating a new DuckLake is explicitly disabled" in str(exc):
            return Finding("catalog", True, f"{catalog} reachable: no lake yet (the first sync creates it)")
        return Finding("catalog", False, str(exc))
    try:
        snapshot = con.execute(f"FROM {lake.LAKE}.current_snapshot()").fetchone()[0]
    finally:
        con.close()
    return Finding("catalog", True, f"{catalog} reachable, at snapshot {snapshot}")


def check_storage(settings: Settings) -> Finding:
    from warehouse import storage

    try:
        storage.probe(settings)
    except XgateError as exc:
        return Finding("storage", False, str(exc))
    return Finding("storage", True, f"{settings.lake_data} takes writes")


def check_metadata(url: str) -> Finding:
    """Airflow's own check: the database's migration heads are this Airflow's (``airflow db migrate`` done)."""
    shown = _without_password(url)
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # this process's lines are the findings
    try:
        from airflow.utils.db import check_migrations

        check_migrations(timeout=1)
    except ModuleNotFoundError as exc:
        return Finding(
            "airflow metadata",
            False,
            f"{shown} cannot be checked: no module {exc.name!r} (set AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC "
            "to the same postgresql+psycopg URL)",
        )
    except TimeoutError:
        return Finding("airflow metadata", False, f"{shown} is not migrated to this Airflow: run 'airflow db migrate'")
    except Exception as exc:  # unreachable, refused, not a database Airflow knows: name it, first line only
        return Finding("airflow metadata", False, f"{shown} cannot be checked: {_hide(_first_line(exc), url)}")
    return Finding("airflow metadata", True, f"{shown} migrated")


def check_workers(url: str, timeout: float = 3.0) -> Finding:
    """Ping every Celery worker on the broker; none answering is a problem."""
    from celery import Celery

    shown = _without_password(url)
    app = Celery("xgate_doctor", broker=url, set_as_current=False)
    app.conf.broker_connection_timeout = timeout
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        replies = app.control.ping(timeout=timeout)
    except Exception as exc:  # the broker is down or refuses
        return Finding("workers", False, f"broker {shown} unreachable: {_hide(_first_line(exc), url)}")
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return Finding("workers", False, f"no Celery worker answered on {shown} within {timeout:g} s")
    return Finding("workers", True, f"{len(names)} alive on {shown} ({', '.join(names)})")


def _hide(text: str, url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
    except Exception:
        from kombu.utils.url import url_to_parts

        password = url_to_parts(url).password
    return text.replace(password, "***") if password else text


def doctor(settings: Settings) -> list[Finding]:
    findings = [check_catalog(settings), check_storage(settings)]
    if os.environ.get(METADATA):
        findings.append(check_metadata(os.environ[METADATA]))
    if os.environ.get(BROKER):
        findings.append(check_workers(os.environ[BROKER]))
    return findings


def command() -> None:
    """Check this profile before use: the lake's catalog and storage, Airflow's metadata database and the
    Celery workers (when configured). One line per part; exit 1 if any has a problem."""
    import typer
    from rich.console import Console

    from xgate.settings import get_settings

    findings = doctor(get_settings())
    out = Console(highlight=False, soft_wrap=True)
    for finding in findings:
        out.print(finding.line(), style=None if finding.ok else "bold red", markup=False)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)
