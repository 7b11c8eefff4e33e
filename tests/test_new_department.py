"""A fifth department, 人社 (social security), is new files in three folders and syncs end to end.

Its two systems are as unlike the first four as real ones are: an insured register behind an API key
with numbered pages and nested records, and pension payments behind OAuth2 client credentials with
pages linked by a ``Link`` header. Nothing in the core names them; the README's "Adding a source"
shows these very files.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import requests

from connectors.staging import read_batch
from sandbox import store
from sandbox.servers import apis
from warehouse import lake
from warehouse.sync import sync
from xgate.settings import PROFILE, load_settings

ROOT = Path(__file__).parents[1]
NAMED = re.compile(r"\bsocial\b(?! credit)", re.IGNORECASE)  # not "unified social credit code"
FILES = [
    "connectors/sources/social.yaml",
    "connectors/sources/social_pensions.yaml",
    "contracts/datasets/social.insured.yaml",
    "contracts/datasets/social.pensions.yaml",
    "sandbox/departments/social.py",
    "sandbox/servers/social.py",
    "sandbox/servers/social_pensions.py",
]


def test_the_department_is_new_files_in_three_folders_and_nothing_else() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    knowing = sorted(
        name
        for name in listed
        if not name.startswith(("tests/", "docs/"))
        and name != "README.md"
        and (ROOT / name).is_file()
        and NAMED.search((ROOT / name).read_text(encoding="utf-8", errors="ignore"))
    )
    assert knowing == FILES  # every file that knows the department: its own, in the three folders
    assert all(name.startswith(("connectors/sources/", "contracts/datasets/", "sandbox/")) for name in knowing)


def test_the_readme_shows_exactly_these_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Adding a source") :]
    section = section[: section.index("\n## ")]
    for name in FILES:
        assert name in section, name
    shown = [textwrap.dedent(block).strip() for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.S)]
    for declaration in FILES[:2]:
        assert (ROOT / declaration).read_text(encoding="utf-8").strip() in shown, declaration


def test_it_syncs_end_to_end(sandbox_settings, token, tmp_path) -> None:
    settings = load_settings(data_dir=tmp_path / "xgate", profile=sandbox_settings.data_dir / PROFILE)
    tokens_before = _served(sandbox_settings, token, "social_pensions").get("token", 0)
    results = sync(settings, "social") + sync(settings, "social_pensions")
    for result, dataset in zip(results, ("social.insured", "social.pensions")):
        truth = store.visible(sandbox_settings, dataset)
        assert result.extracted == truth.num_rows > 0, dataset
        assert result.extracted == result.passed + result.quarantined and result.landed == result.passed
    assert _served(sandbox_settings, token, "social_pensions")["token"] == tokens_before + 1  # one token, reused
    staged = {r["insured_id"]: r for r in read_batch(settings, results[0].batch_id).to_pylist()}
    for row in store.visible(sandbox_settings, "social.insured").to_pylist()[:300]:
        got = staged[row["insured_id"]]  # the nested record, flattened by the declared paths
        assert (got["id_number"], got["scheme"], got["employer_code"]) == (
            row["id_number"],
            row["scheme"],
            row["employer_code"],
        )
    con = lake.connect(settings, read_only=True)
    try:
        typed = con.execute("SELECT count(*), count(updated_at), min(since) FROM conformed.social_insured").fetchone()
    finally:
        con.close()
    assert typed[0] == typed[1] == results[0].passed and typed[2] is not None
    again = sync(settings, "social") + sync(settings, "social_pensions")
    assert [r.extracted for r in again] == [0, 0]


def _served(sandbox_settings, token: str, api: str) -> dict[str, int]:
    base = apis()[api].url(sandbox_settings)
    return requests.get(f"{base}/_sandbox/stats", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
