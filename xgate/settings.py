"""The one settings object of xgate.

Everything configurable comes from the environment (prefix ``XGATE_``), a ``.env`` file or the connection
profile (a dotenv file of ``XGATE_CONNECTIONS__*`` lines, which ``xgate sandbox serve`` writes), never
from code: credentials in particular are read here and nowhere else, so they can be rotated without a
release and never need to sit in the repository or in a DAG. The environment wins over the profile,
the profile over ``.env``. The sandbox has settings of its own (``sandbox.settings``).
"""

from __future__ import annotations

import os
import re
import stat
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from xgate.errors import ConfigError


class Connection(BaseModel):
    """Where a department system is and its credentials: ``XGATE_CONNECTIONS__<NAME>__URL``, ``__TOKEN`` ...

    Which credential is used is the source declaration's ``auth``: a token (bearer or API key), a user and
    password (HTTP basic, or an OAuth2 client's id and secret), a client certificate and key (mutual TLS,
    which exchange platforms between departments often require). Secrets stay ``SecretStr``.
    """

    url: str
    token: SecretStr | None = Field(None, description="bearer token or API key")
    username: str | None = Field(None, description="HTTP basic user, or an OAuth2 client id")
    password: SecretStr | None = Field(None, description="HTTP basic password, or an OAuth2 client secret")
    cert: Path | None = Field(None, description="client certificate (PEM) for mutual TLS")
    key: Path | None = Field(None, description="the client certificate's private key (PEM)")
    ca: Path | None = Field(None, description="CA bundle that signed the server's certificate; default the system's")


class ObjectStore(BaseModel):
    """S3-compatible storage for the lake's data files: ``XGATE_S3__ENDPOINT``, ``__REGION``, ``__KEY_ID``,
    ``__SECRET``, ``__URL_STYLE`` (or, inside Airflow, the connection ``xgate_s3``). The key pair stays
    ``SecretStr``: it is handed to DuckDB as a temporary secret and shown nowhere."""

    endpoint: str | None = Field(
        None, description="http(s)://host:port of S3-compatible storage (MinIO, Ceph, a cloud's); default AWS"
    )
    region: str = Field("us-east-1", description="region the bucket is in (signatures name it)")
    key_id: SecretStr | None = Field(None, description="access key id")
    secret: SecretStr | None = Field(None, description="secret access key")
    url_style: Literal["path", "vhost"] = Field(
        "path", description="path: http://host/bucket/key (most self-hosted stores); vhost: http://bucket.host/key"
    )


class Settings(BaseSettings):
    """Typed configuration; one instance per process via :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="XGATE_", env_file=".env", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path(".xgate"), description="Root for everything xgate generates or stores.")

    catalog_url: str | None = Field(
        None,
        description="DuckLake catalog: 'ducklake:<file>' or 'ducklake:postgres:dbname=... host=...'; "
        "default a DuckDB file under the data directory (one writer process at a time)",
    )
    lake_data_path: str | None = Field(
        None,
        description="where the lake's Parquet files are: a folder, or s3://bucket/prefix/ on S3-compatible "
        "storage (see s3); default <data dir>/warehouse/data",
    )
    s3: ObjectStore | None = Field(None, description="the object store of an s3:// lake_data_path")
    sources_dir: Path | None = Field(None, description="folder of source declarations; default: the built-in ones")
    connections: dict[str, Connection] = Field(
        default_factory=dict, description="department systems by connection name (else Airflow's xgate_<name>)"
    )
    profile: Path | None = Field(
        None, description="dotenv file of XGATE_CONNECTIONS__* lines; default <data dir>/connections.env if it exists"
    )
    source_timezone: str = Field(
        "+08:00",
        description="zone of naive times in department systems: an offset (+08:00, +8, UTC+8) or an IANA name "
        "without daylight saving (Asia/Shanghai); kept as its offset",
    )
    http_timeout: float = Field(30.0, gt=0, description="read timeout of one HTTP request, seconds")
    http_retries: int = Field(5, ge=0, description="retries of one page before the extract fails")
    http_backoff: float = Field(0.5, ge=0, description="backoff factor: waits of about 0.5, 1, 2, 4 ... s")
    validation_memory: str = Field(
        "2GB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="memory one batch validation may hold before DuckDB spills to disk (more: faster on big batches)",
    )
    notify_webhook: SecretStr | None = Field(
        None, description="URL that gets a JSON POST when a sync fails or misses its freshness SLA (besides the log)"
    )

    # access layer: users, keys, the read audit and the limits of a read
    users_file: Path | None = Field(None, description="users, roles and how they prove who they are (YAML); "
                                    "default <access dir>/users.yaml")  # fmt: skip
    access_dir: Path | None = Field(None, description="cases, grants and the access key; default <data dir>/access")
    audit_dir: Path | None = Field(
        None, description="the chained read audit; default <data dir>/audit; production: WORM / append-only"
    )
    access_key: SecretStr | None = Field(
        None,
        description="secret behind the audit MACs, subject hashes, grants and sign-in tokens; default "
        "generated into <access dir>/access.key (keep it apart from the audit, and backed up)",
    )
    audit_anchor: str | None = Field(
        None,
        description="where the audit's head is kept outside the log: a file path or postgresql:// URL; "
        "default <access dir>/audit.anchor",
    )
    token: SecretStr | None = Field(None, description="a sign-in token from 'xgate login' (else ~/.config/xgate/token)")
    token_hours: float = Field(12.0, gt=0, le=24 * 30, description="how long a sign-in lasts")
    subject_approval: bool = Field(False, description="case subjects are shown in full only once an admin approves")
    query_timeout: float = Field(30.0, gt=0, description="seconds a read may run before it is interrupted")
    query_memory: str = Field(
        "1GB", pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", description="memory one read may use"
    )
    query_rows: int = Field(1000, ge=1, description="rows a read returns at most (the rest is cut, and said so)")
    query_bytes: int = Field(10_000_000, ge=1000, description="bytes of values a read returns at most")
    collide_rows: int = Field(200_000, ge=1, description="rows of a person list one 'xgate link file' may collide")
    web_user_header: str | None = Field(
        None,
        description="single sign-on for 'xgate web': the request header in which a trusted reverse proxy names the "
        "signed-in user (e.g. X-Remote-User); needs web_proxy_secret",
    )
    web_proxy_secret: SecretStr | None = Field(
        None,
        description="with web_user_header: a secret of 32 characters or more that the proxy sends in the header "
        "X-Xgate-Proxy-Secret; a user header without it is refused (the port is open to every local process)",
    )
    web_searches: int = Field(30, ge=1, description="look-ups one user may start per minute in the web (then 429)")
    name_searches: int = Field(
        50, ge=1, description="searches by name and birth date one user may make in 24 hours (web and CLI together)"
    )
    lake_wait: float = Field(120.0, ge=0, description="seconds to wait while another process holds a file catalog")
    lake_hold: float = Field(
        10.0,
        ge=0,
        description="seconds the access layer keeps the lake open after a look-up, for the next one (a file "
        "catalog is locked against writers meanwhile)",
    )

    @field_validator("source_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return fixed_offset(value)

    @field_validator("access_key", "web_proxy_secret")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < 32:
            raise ValueError("a secret must be at least 32 characters (e.g. 64 hex digits)")
        return key

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @property
    def lake_data(self) -> str:
        """The lake's data path as DuckLake takes it: ``s3://bucket/prefix/`` or a folder, ending in ``/``."""
        path = self.lake_data_path or str(self.warehouse_dir / "data")
        return path if path.endswith("/") else path + "/"

    @property
    def lake_catalog(self) -> str:
        return self.catalog_url or f"ducklake:{(self.warehouse_dir / 'catalog.ducklake').resolve()}"


_settings: Settings | None = None
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def fixed_offset(value: str) -> str:
    """``+08:00`` for an offset in any usual spelling or an IANA zone without daylight saving; else ValueError."""
    text = value.strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return "+00:00"
    if found := _OFFSET.match(text):
        sign, hours, minutes = found.group(1), int(found.group(2)), int(found.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ValueError("an offset is at most ±14:00")
        return f"{sign}{hours:02d}:{minutes:02d}"
    try:
        zone = ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an offset (+08:00) nor a known IANA time zone (Asia/Shanghai)") from None
    year = datetime.now().year
    winter, summer = (datetime(year, month, 1, tzinfo=zone).utcoffset() for month in (1, 7))
    if winter != summer:
        raise ValueError("this zone has daylight saving; give the departments' fixed offset (+08:00)")
    minutes = int(winter.total_seconds() // 60)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


PROFILE = "connections.env"  # the connection profile's name in the data directory


def profile_path(settings: Settings) -> Path:
    return settings.profile or settings.data_dir / PROFILE


class _ServiceSettings(Settings):
    """Settings read from the service account's own file only: through sudo the environment and the working
    directory are the caller's, and a caller who could name the users file, the access folder or the
    audit folder would choose who they are and where their reads are recorded."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return init_settings, dotenv_settings


def service_config() -> Path:
    """The service account's settings file, from the account database (not ``$HOME``, which a caller sets)."""
    import pwd

    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".config" / "xgate" / "xgate.env"


def _safe_folders(path: Path) -> None:
    """Whoever may write a folder on the way to the settings file may put another file in its place: every
    folder up to ``/`` (of the name and of where it leads) must belong to this account or root and be
    writable by its owner alone; a root-owned sticky folder such as ``/tmp`` lets no one rename others'."""
    for folder in dict.fromkeys([*path.parents, *path.resolve().parents]):
        info = folder.stat()
        sticky = info.st_uid == 0 and info.st_mode & stat.S_ISVTX
        if info.st_uid not in (os.getuid(), 0) or (info.st_mode & 0o022 and not sticky):
            raise ConfigError(f"{folder} (on the way to {path.name}) must belong to this account or root and be "
                              "writable by its owner alone")  # fmt: skip


def _through_sudo(**overrides: object) -> Settings:
    """Settings for a process started by ``sudo``: the service account's file alone, which it must own and
    no one else may write; every path in it absolute."""
    path = service_config()
    try:
        info = path.stat()
    except OSError:
        raise ConfigError(
            f"run through sudo, xgate reads its settings only from {path}, which does not exist"
        ) from None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ConfigError(f"{path} must belong to this account and be writable by it alone")
    _safe_folders(path)
    settings = _ServiceSettings(_env_file=path, **overrides)
    relative = [name for name, value in settings if isinstance(value, Path) and not value.is_absolute()]
    if relative:  # the working directory is the caller's
        raise ConfigError(f"{path}: {', '.join(f'XGATE_{n.upper()}' for n in relative)} must be absolute paths")
    profile = profile_path(settings)
    return _ServiceSettings(_env_file=(path, profile), **overrides) if profile.is_file() else settings


def through_sudo() -> bool:
    """Whether sudo started this process: then it acts with the service account's rights for someone else."""
    return bool(os.environ.get("SUDO_USER") or os.environ.get("SUDO_UID"))


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, plus the connection profile when there is one. Run
    through sudo, only the service account's own file counts (:func:`service_config`)."""
    if through_sudo():
        return _through_sudo(**overrides)
    settings = Settings(_env_file=".env", **overrides)
    profile = profile_path(settings)
    return Settings(_env_file=(".env", profile), **overrides) if profile.is_file() else settings


def invalid_setting(exc: ValidationError) -> ConfigError:
    """A bad setting, named with what is wrong and never its value (it may be a secret)."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
    return ConfigError(f"invalid setting: {problems}")


def get_settings() -> Settings:
    """The process-wide settings, read once from the environment; a bad one is a ConfigError (fatal:
    an Airflow task fails at once, the CLI exits 2), never echoing a value."""
    global _settings
    if _settings is None:
        try:
            _settings = load_settings()
        except ValidationError as exc:
            raise invalid_setting(exc) from None
    return _settings


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI change the environment between calls)."""
    global _settings
    _settings = None
