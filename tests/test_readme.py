"""Every command the README shows runs, in order, as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sandbox import store
from sandbox.servers import apis
from sandbox.settings import SandboxSettings
from tests.conftest import free_port

README = Path(__file__).parents[1] / "README.md"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("xgate ")]


@pytest.mark.timeout(900)  # some fifty commands, each a fresh process (about 4 s of imports on 2 cores)
def test_readme_xgate_commands_run(tmp_path: Path) -> None:
    commands = readme_commands()
    assert any("sandbox generate" in c for c in commands)
    data = tmp_path / ".xgate"  # the default data directory, as a reader running the README has it
    env = (
        os.environ
        | {"XGATE_DATA_DIR": str(data), "XDG_CONFIG_HOME": str(tmp_path / "config")}  # where login keeps its token
        | {f"XGATE_SANDBOX_PORTS__{name.upper()}": str(free_port()) for name in apis()}
    )
    try:
        for command in commands:
            args = shlex.split(command)[1:]
            if "export.parquet" in args:  # the department export the README validates
                export = store.visible(SandboxSettings(data_dir=data), "telecom.subscribers")
                pq.write_table(export, tmp_path / "export.parquet")
            result = subprocess.run(
                [sys.executable, "-m", "xgate", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,
            )
            allowed = (0, 1) if args[0] == "validate" else (0,)  # validate exits 1 when rows would be quarantined
            assert result.returncode in allowed, f"{command}: {result.stderr}"
        for path in (data / "warehouse", data / "audit", data / "access", data / "state"):
            readable = [p for p in path.rglob("*") if p.stat().st_mode & 0o077]
            assert not readable, f"open to other accounts: {readable[:3]}"
    finally:
        subprocess.run([sys.executable, "-m", "xgate", "sandbox", "stop"], env=env, capture_output=True, timeout=60)
