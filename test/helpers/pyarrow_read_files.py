"""Reads a ferry lake's Parquet data files as a reader of raw files would (pyarrow, no catalog) and
prints one JSON object. The argument is the lake table's folder (<data path>/main/lake); its files
are date=YYYY-MM-DD/*.parquet. Printed: each file (path, its folder's date, the distinct `date`
values inside it, rows); the schema of the files read together, the Python types of the values and
every row (lake_values.plain) by partition and offset; and what pq.read_table makes of the whole
folder: by default (hive partitioning, inferred: it takes the folder's date for a string), with no
partitioning (the files hold `date`), and with the folder's `date` declared date32."""
import glob
import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from lake_values import kinds, plain

folder = sys.argv[1]
paths = sorted(glob.glob(os.path.join(folder, "date=*", "*.parquet")))
files = []
for p in paths:
    t = ds.dataset(p, format="parquet").to_table()
    files.append({
        "path": p,
        "folder_date": os.path.basename(os.path.dirname(p))[len("date="):],
        "dates": sorted(plain(d) for d in pc.unique(t.column("date")).to_pylist()),
        "rows": t.num_rows,
    })

table = ds.dataset(paths, format="parquet").to_table().sort_by([("kafka_topic", "ascending"), ("kafka_partition", "ascending"), ("kafka_offset", "ascending")])
columns = table.schema.names
rows = [[r[c] for c in columns] for r in table.to_pylist()]


def whole_folder(**options):
    try:
        t = pq.read_table(folder, **options)
        return {"types": {f.name: str(f.type) for f in t.schema}, "rows": t.num_rows}
    except Exception as e:  # what a reader meets: reported, not hidden
        return {"error": f"{type(e).__name__}: {e}"}


print(json.dumps({
    "pyarrow": pa.__version__,
    "files": files,
    "types": {f.name: str(f.type) for f in table.schema},
    "kinds": kinds(columns, rows),
    "columns": columns,
    "rows": [[plain(v) for v in row] for row in rows],
    "read_table": whole_folder(),
    "read_table_unpartitioned": whole_folder(partitioning=None),
    "read_table_date32": whole_folder(partitioning=ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")),
}))
