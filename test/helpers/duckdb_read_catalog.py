"""Attaches a ferry lake's DuckLake catalog read-only with DuckDB's Python package (a reader ferry
did not write) and prints one JSON object: DuckDB's version, the snapshot read, the data files the
catalog lists for `lake`, and for `lake` and `orders` their columns with DuckDB's types, the Python types of
their values and every row (lake_values.plain). The catalog (`ducklake:…`, it may hold a password) comes
in FERRY_READER_CATALOG. The extensions come from their PyPI wheels, LOADed from the wheel's file:
DuckDB would otherwise download them from its own site (and autoinstall is off: no download)."""
import importlib
import json
import os
import shutil
import tempfile

import duckdb

from lake_values import kinds, plain


def sql_string(s):
    return "'" + s.replace("'", "''") + "'"


def load(con, module, file, name):
    """LOADs the extension `name` from its wheel's file `file`.duckdb_extension. DuckDB finds an
    extension's entry point by the name of the file it loads: the postgres wheel's file is
    postgres.duckdb_extension, its extension postgres_scanner, so it is loaded through a link of
    that name."""
    wheel = os.path.dirname(importlib.import_module(module).__file__)
    path = os.path.join(wheel, "extensions", f"v{duckdb.__version__}", f"{file}.duckdb_extension")
    if file != name:
        link = os.path.join(tempfile.mkdtemp(prefix="ferry-reader-"), f"{name}.duckdb_extension")
        os.symlink(path, link)
        try:
            con.execute(f"LOAD {sql_string(link)}")
        finally:
            shutil.rmtree(os.path.dirname(link))
    else:
        con.execute(f"LOAD {sql_string(path)}")
    return path


target = os.environ["FERRY_READER_CATALOG"]
con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
con.execute("SET TimeZone = 'UTC'")
loaded = {"ducklake": load(con, "duckdb_extension_ducklake", "ducklake", "ducklake")}
if target.startswith("ducklake:postgres:"):
    loaded["postgres"] = load(con, "duckdb_extension_postgres", "postgres", "postgres_scanner")
con.execute(f"ATTACH {sql_string(target)} AS ferry_lake (READ_ONLY)")
con.execute("USE ferry_lake")

out = {
    "duckdb": duckdb.__version__,
    "extensions": loaded,
    "snapshot": con.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('ferry_lake')").fetchone()[0],
    "files": [f for (f,) in con.execute("SELECT data_file FROM ducklake_list_files('ferry_lake', 'lake') ORDER BY 1").fetchall()],
    "tables": {},
}
for table, order in (("lake", "kafka_topic, kafka_partition, kafka_offset"), ("orders", "order_id")):
    rel = con.execute(f"SELECT * FROM {table} ORDER BY {order}")
    columns = [d[0] for d in rel.description]
    rows = rel.fetchall()
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    out["tables"][table] = {
        "columns": [[c, types[c]] for c in columns],
        "kinds": kinds(columns, rows),
        "rows": [[plain(v) for v in row] for row in rows],
    }
print(json.dumps(out))
