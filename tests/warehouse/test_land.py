"""Landing honours the stream's declared write mode: merge (newest per key), append (every row), replace
(the batch is the table)."""

from __future__ import annotations

import sqlalchemy as sa
import yaml

from connectors.declarations import SOURCES_DIR
from sandbox import dbload
from warehouse import lake
from warehouse.sync import sync
from xgate.settings import Connection, Settings


def deaths_in_lake(settings: Settings) -> int:
    con = lake.connect(settings, read_only=True)
    try:
        return con.execute("SELECT count(*) FROM raw.civil_deaths").fetchone()[0]
    finally:
        con.close()


def test_merge_append_and_replace(own_sandbox, tmp_path) -> None:
    dbload.load(own_sandbox, "sqlite", ("civil",))
    url = own_sandbox.sqlite_url("civil")
    lakes, first = {}, {}
    for mode in ("merge", "append", "replace"):
        civil = yaml.safe_load((SOURCES_DIR / "civil.yaml").read_text(encoding="utf-8"))
        civil["streams"] = [s | {"write_mode": mode} for s in civil["streams"] if s["name"] == "deaths"]
        (tmp_path / mode).mkdir()
        (tmp_path / mode / "civil.yaml").write_text(yaml.safe_dump(civil, allow_unicode=True), encoding="utf-8")
        lakes[mode] = Settings(
            data_dir=tmp_path / f"lake-{mode}", sources_dir=tmp_path / mode, connections={"civil": Connection(url=url)}
        )
        [first[mode]] = sync(lakes[mode], "civil")
        assert first[mode].landed == first[mode].passed == deaths_in_lake(lakes[mode]) > 0
    engine = sa.create_engine(url)
    with engine.begin() as con:  # the department deletes a record: only a full snapshot can tell
        gone = con.execute(sa.text("SELECT death_id FROM deaths ORDER BY death_id LIMIT 1")).scalar_one()
        con.execute(sa.text("DELETE FROM deaths WHERE death_id = :id"), {"id": gone})
    engine.dispose()
    again = {mode: sync(settings, "civil", mode="full")[0] for mode, settings in lakes.items()}
    assert again["merge"].landed == 0 and deaths_in_lake(lakes["merge"]) == first["merge"].passed  # nothing newer
    assert deaths_in_lake(lakes["append"]) == first["append"].passed + again["append"].passed  # every row, again
    assert deaths_in_lake(lakes["replace"]) == again["replace"].passed == first["replace"].passed - 1  # deletion shows
