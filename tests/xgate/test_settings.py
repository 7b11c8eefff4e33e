"""One settings object: the paths derived from the data directory follow it, in a copy too."""

from __future__ import annotations

from pathlib import Path

from xgate.settings import Settings


def test_derived_paths_follow_a_copied_data_dir(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "a")
    assert first.warehouse_dir == tmp_path / "a" / "warehouse"  # read once, as a long-lived process does
    copy = first.model_copy(update={"data_dir": tmp_path / "b"})
    assert (copy.warehouse_dir, copy.staging_dir) == (tmp_path / "b" / "warehouse", tmp_path / "b" / "staging")
    assert copy.lake_catalog == f"ducklake:{(tmp_path / 'b' / 'warehouse' / 'catalog.ducklake').resolve()}"
