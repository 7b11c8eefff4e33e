from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from stdnum.cn import ric, uscc

from sandbox import geography, store
from sandbox.departments import DATASETS
from sandbox.manifest import read_manifest
from tests.conftest import make_settings


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("token", "state.json")
    }


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first, second, other = (make_settings(tmp_path / n) for n in ("a", "b", "c"))
    heard: list[str] = []
    store.generate(first, 800, 11, step=heard.append)
    store.generate(second, 800, 11)
    store.generate(other, 800, 12)
    a, b = _digest(store.paths(first).root), _digest(store.paths(second).root)
    assert len(a) > len(DATASETS)  # parquet, manifest, csv and xlsx drops all compared
    assert a == b
    assert a != _digest(store.paths(other).root)
    assert heard[0] == "generating 800 people" and heard[-1] == "writing the ground-truth manifest"  # the progress
    written = [h for h in heard if re.fullmatch(rf"writing [a-z_.]+ \(\d+ of {len(DATASETS)}, [\d,]+ rows\)", h)]
    assert len(written) == len(DATASETS)


def test_clean_ids_are_valid_and_local(sandbox_settings) -> None:
    residents = store.visible(sandbox_settings, "civil.residents").to_pylist()
    manifest = read_manifest(store.paths(sandbox_settings).manifest)
    planted = {r["key"] for a in manifest["anomalies"] for r in a["records"] if r["dataset"] == "civil.residents"}
    clean = [r for r in residents if r["resident_id"] not in planted]
    assert clean and all(ric.is_valid(r["id_number"]) for r in clean)
    assert all(ric.get_birth_date(r["id_number"]) == r["birth_date"] for r in clean)
    assert all((int(r["id_number"][16]) % 2 == 1) == (r["sex"] == "男") for r in clean)
    local = sum(r["id_number"].startswith(geography.PREFECTURE_CODE) for r in clean) / len(clean)
    assert 0.7 < local < 0.9
    assert {r["address_code"][:6] for r in residents} <= {c.code for c in geography.COUNTIES}
    assert all(r["address"].startswith("四川省攀枝花市") for r in residents)


def test_units_have_valid_credit_codes(sandbox_settings) -> None:
    owners = store.visible(sandbox_settings, "housing.properties").to_pylist()
    units = [o["owner_id"] for o in owners if o["owner_type"] == "单位"]
    assert units and all(uscc.is_valid(u) for u in units)


def test_generate_refuses_bad_count(tmp_path: Path) -> None:
    from xgate.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 1"):
        store.generate(make_settings(tmp_path), 0, 1)


def test_times_follow_the_generation_day(sandbox_settings) -> None:
    """Freshness in a demo is real: the newest record of wave 0 is a day or two old when generated."""
    from datetime import UTC, datetime, timedelta

    newest = max(store.visible(sandbox_settings, "telecom.subscribers")["updated_at"].to_pylist())
    age = datetime.now(UTC).replace(tzinfo=None) - newest
    assert timedelta(0) < age < timedelta(days=3)
    births = store.visible(sandbox_settings, "civil.residents").to_pylist()[:50]
    assert all(ric.get_birth_date(r["id_number"]) == r["birth_date"] for r in births if ric.is_valid(r["id_number"]))
