"""Where the lake's Parquet files live: a local folder, or a bucket on S3-compatible storage.

The object store's endpoint, region and key pair come from the settings (``XGATE_S3__*``) or, inside
Airflow, from the connection ``xgate_s3`` (login: key id, password: secret, extra: ``endpoint_url``,
``region_name``, ``url_style``), never from the repository. DuckDB reaches the store through its
httpfs extension, loaded from its pip package like the others; the key pair is handed over as a
temporary secret scoped to the bucket, and no message built here carries it.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from contracts.sql import literal
from xgate import errors
from xgate.errors import ConfigError, SourceRefused, SourceUnavailable, XgateError
from xgate.settings import ObjectStore, Settings

MIN_MASKED = 6  # a shorter key is no real one (a test's "k"): cutting it out of every word would garble the line
SECRET = "lake_s3"  # the temporary DuckDB secret that holds the key pair
REFUSED = ("403", "401", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NoSuchBucket")


def is_remote(settings: Settings) -> bool:
    return settings.lake_data.startswith("s3://")


def bucket(settings: Settings) -> str:
    return settings.lake_data.removeprefix("s3://").split("/", 1)[0]


def object_store(settings: Settings) -> ObjectStore:
    """The store of an ``s3://`` data path: the settings' own, else the Airflow connection ``xgate_s3``."""
    from connectors.connections import airflow_connection

    if settings.s3 is not None and settings.s3.key_id is not None:
        return settings.s3
    found = airflow_connection("xgate_s3")
    if found is not None:
        extra = found.extra_dejson
        return ObjectStore(
            endpoint=extra.get("endpoint_url") or (settings.s3.endpoint if settings.s3 else None),
            region=extra.get("region_name") or (settings.s3.region if settings.s3 else "us-east-1"),
            key_id=found.login,
            secret=found.password,
            url_style=extra.get("url_style", "path"),
        )
    raise ConfigError(
        f"the lake's data path is s3://{bucket(settings)}/... but no credentials are configured: set "
        "XGATE_S3__KEY_ID and XGATE_S3__SECRET (and XGATE_S3__ENDPOINT, XGATE_S3__REGION), or an Airflow "
        "connection xgate_s3"
    )


def attach_secret(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Give ``con`` the key pair for the lake's bucket (a temporary secret: it lives with the connection)."""
    store = object_store(settings)
    options = {
        "KEY_ID": store.key_id.get_secret_value() if store.key_id else "",
        "SECRET": store.secret.get_secret_value() if store.secret else "",
        "REGION": store.region,
        "URL_STYLE": store.url_style,
        "SCOPE": f"s3://{bucket(settings)}",
    }
    use_ssl = "true"
    if store.endpoint:
        parts = urlsplit(store.endpoint if "://" in store.endpoint else f"https://{store.endpoint}")
        options["ENDPOINT"] = parts.netloc
        use_ssl = "true" if parts.scheme == "https" else "false"
    listed = ", ".join(f"{name} {literal(value)}" for name, value in options.items())
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET {SECRET} (TYPE s3, {listed}, USE_SSL {use_ssl})")


def shown(settings: Settings, text: str) -> str:
    """``text`` as it may be shown: the key pair cut out wherever it appears, and every other secret
    :func:`xgate.errors.shown` knows."""
    text = errors.shown(text)
    stores = [settings.s3] if settings.s3 else []
    if is_remote(settings):
        with contextlib.suppress(ConfigError):
            stores.append(object_store(settings))
    for store in stores:
        for secret in (store.key_id, store.secret):
            if secret is not None and len(secret.get_secret_value()) >= MIN_MASKED:
                text = text.replace(secret.get_secret_value(), "***")
    return re.sub(r"(Credential=)[^/\s,]+", r"\1***", text)


def failed(settings: Settings, exc: Exception, doing: str = "written") -> XgateError:
    """An object-store fault as one line naming the data path: credentials or bucket refused (fatal: someone
    must fix them), or the store unreachable (retriable)."""
    first = shown(settings, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    where = settings.lake_data
    status = getattr(exc, "status_code", None)
    if status in (401, 403, 404) or any(word in str(exc) for word in REFUSED):
        return SourceRefused(f"warehouse storage {where} refused: {first} (check the bucket and its credentials)")
    return SourceUnavailable(f"warehouse storage {where} cannot be {doing}: {first}")


PROBE = "_xgate_doctor.csv"  # the one object `xgate doctor` writes at the data path (rewritten, never more)


def probe(settings: Settings) -> None:
    """Write a small file at the data path and read it back: the store takes writes with these credentials."""
    from xgate import duck

    remote = is_remote(settings)
    con = duck.connect(extensions=("httpfs",) if remote else ())
    try:
        if remote:
            attach_secret(con, settings)
        else:
            Path(settings.lake_data).mkdir(parents=True, exist_ok=True)
        target = literal(settings.lake_data + PROBE)
        con.execute(f"COPY (SELECT 'xgate doctor' AS probe) TO {target} (FORMAT csv, HEADER)")
        if con.execute(f"SELECT probe FROM read_csv({target})").fetchone() != ("xgate doctor",):
            raise SourceUnavailable(f"warehouse storage {settings.lake_data} did not return what was written")
    except (duckdb.Error, OSError) as exc:
        raise failed(settings, exc) from None
    finally:
        con.close()
