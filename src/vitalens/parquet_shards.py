"""Parquet output as a folder of shards (`part-00000.parquet`, ...), for `vitalens predict --format parquet`.

Why shards rather than one file: a Parquet file is readable only once its footer is written, so one
file would be lost whole by a crash hours into an archive. Each shard is written under a temporary
name and renamed into place, so a shard is either complete or absent, and a resumed run keeps every
complete shard and goes on numbering after them. The cells are the CSV's (text, blank as null), so the
three formats hold the same rows; cast columns on reading. pyarrow is imported only when Parquet is asked for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROWS_PER_SHARD = 256
PATTERN = "part-*.parquet"


def read_shards(folder: Path) -> list[dict[str, Any]]:
    """Every row of the complete shards in `folder`, in shard order (a shard that cannot be read is removed)."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for shard in sorted(Path(folder).glob(PATTERN)):
        try:
            table = pq.read_table(shard)
        except (OSError, ValueError):  # not a complete Parquet file: its photos are scored again
            shard.unlink()
            continue
        rows += [{k: ("" if v is None else v) for k, v in row.items()} for row in table.to_pylist()]
    return rows


class ShardWriter:
    def __init__(self, folder: Path, fieldnames: list[str], rows_per_shard: int = ROWS_PER_SHARD):
        import pyarrow as pa

        self.folder, self.rows_per_shard = Path(folder), rows_per_shard
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema = pa.schema([(name, pa.string()) for name in fieldnames])
        self.buffer: list[dict[str, Any]] = []
        self.next_index = 1 + max((int(p.stem.split("-")[1]) for p in self.folder.glob(PATTERN)), default=-1)

    def write(self, row: dict[str, Any]) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= self.rows_per_shard:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as the next shard (atomically: a temporary name, then a rename)."""
        if not self.buffer:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {name: [None if row.get(name, "") == "" else str(row[name]) for row in self.buffer] for name in self.schema.names}
        target = self.folder / f"part-{self.next_index:05d}.parquet"
        temporary = target.with_suffix(".parquet.tmp")
        pq.write_table(pa.table(columns, schema=self.schema), temporary)
        os.replace(temporary, target)
        self.next_index += 1
        self.buffer = []
