"""One sync of a source: extract -> validate -> land -> commit, stream by stream.

The one path for a sync, whoever starts it (``xgate sync``, an Airflow task): each stage takes the
batch id and returns one, and the connector's checkpoint moves only after the lake has committed.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors import commit, extract
from contracts import validate_batch
from warehouse import lake
from warehouse.land import land
from warehouse.model import publish
from xgate.settings import Settings


@dataclass
class StreamSync:
    source: str
    stream: str
    batch_id: str
    extracted: int
    passed: int
    quarantined: int
    landed: int
    held: str


def sync(settings: Settings, source: str, stream: str | None = None, mode: str = "incremental") -> list[StreamSync]:
    done = []
    for batch in extract(settings, source, stream, mode):
        if batch.rows == 0:  # nothing new: nothing to check or land
            commit(settings, batch.batch_id)
            done.append(StreamSync(source, batch.stream, batch.batch_id, 0, 0, 0, 0, ""))
            continue
        outcome = validate_batch(settings, batch.batch_id)
        con = lake.connect(settings)
        try:
            landed = land(con, settings, outcome)
            publish(con)
        finally:
            con.close()
        commit(settings, batch.batch_id)
        done.append(
            StreamSync(
                source,
                batch.stream,
                batch.batch_id,
                batch.rows,
                outcome.rows_passed,
                outcome.rows_quarantined,
                landed.rows_landed,
                outcome.held,
            )
        )
    return done
