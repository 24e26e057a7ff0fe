"""Reads a ferry lake on S3 with pyarrow's own S3 filesystem (a reader ferry did not write) and
prints one JSON object: the row count, the schema's types, and the (partition, offset) pairs."""
import json
import sys

import pyarrow.dataset as ds
import pyarrow.fs as pafs

endpoint, access_key, secret_key, path = sys.argv[1:5]
scheme, host = endpoint.split("://", 1)
fs = pafs.S3FileSystem(access_key=access_key, secret_key=secret_key, endpoint_override=host, scheme=scheme, region="us-east-1")
# The filesystem backend of the test server lists folders as objects too: read the Parquet files.
files = [f.path for f in fs.get_file_info(pafs.FileSelector(path, recursive=True)) if f.type == pafs.FileType.File and f.path.endswith(".parquet")]
# No hive partitioning: each file holds its `date` (DuckLake writes it), which pyarrow's inference
# of the folders' date=… as a string would clash with ("Unable to merge: Field date …").
dataset = ds.dataset(files, filesystem=fs, format="parquet")
table = dataset.to_table()
print(json.dumps({
    "rows": table.num_rows,
    "types": {f.name: str(f.type) for f in table.schema},
    "offsets": [[p, o] for p, o in zip(table.column("kafka_partition").to_pylist(), table.column("kafka_offset").to_pylist())],
    "order_ids": table.column("order_id").to_pylist(),
}))
