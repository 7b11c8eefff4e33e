"""The sandbox's own settings, apart from xgate's: the gateway never reads them, the sandbox never needs
the gateway's. Environment prefix ``XGATE_SANDBOX_`` (the data directory is xgate's ``XGATE_DATA_DIR``,
so ``xgate sandbox serve`` and ``xgate sync`` meet in one folder by default).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="XGATE_SANDBOX_", env_file=".env", env_nested_delimiter="__", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        Path(".xgate"), validation_alias="XGATE_DATA_DIR", description="the sandbox is <data_dir>/sandbox"
    )
    host: str = "127.0.0.1"
    ports: dict[str, int] = Field(
        default_factory=dict, description="port per API (telecom, health, ...); unset ones use the API's default"
    )
    token: SecretStr | None = Field(
        None, description="bearer token the APIs accept; generated into the sandbox if unset"
    )
    rate_limit: float = Field(200.0, gt=0, description="requests per second per client")
    pg_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:5432/xgate",
        description="server for department databases; each department gets <database>_<department>",
    )
    mysql_url: str = "mysql+pymysql://root@127.0.0.1:3306/xgate"

    @property
    def root(self) -> Path:
        return self.data_dir / "sandbox"

    def sqlite_url(self, department: str) -> str:
        return f"sqlite:///{(self.root / f'{department}.db').resolve()}"
