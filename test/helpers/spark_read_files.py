"""Reads ferry lakes' Parquet data files with Spark 3.5 (PySpark, local[1], a reader ferry did not
write) and prints one JSON object. Arguments: lake table folders (<data path>/main/lake), each read
as Spark reads a partitioned Parquet folder, `spark.read.parquet(folder)`, in one Spark session
bound to 127.0.0.1. Printed per folder: the schema (name, Spark's type, nullable) and every row by partition and offset, formatted by Spark itself in UTC: decimals and dates as text,
timestamps "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'" (as lake_values.plain prints them). The files hold
`date` and so do their folders (date=YYYY-MM-DD): the schema shows what Spark makes of both."""
import json
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.types import DateType, DecimalType, TimestampType

started = time.monotonic()
spark = (
    SparkSession.builder.master("local[1]")
    .appName("ferry-lake-reader")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.shuffle.partitions", "1")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
session_seconds = time.monotonic() - started


def text(field):
    name = f"`{field.name}`"
    if isinstance(field.dataType, TimestampType):
        return f"date_format({name}, \"yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'\") AS {name}"
    if isinstance(field.dataType, (DecimalType, DateType)):
        return f"CAST({name} AS STRING) AS {name}"
    return name


out = {"spark": spark.version, "session_seconds": session_seconds, "folders": {}}
for folder in sys.argv[1:]:
    t = time.monotonic()
    df = spark.read.parquet(folder)
    rows = df.selectExpr(*[text(f) for f in df.schema.fields]).orderBy("kafka_topic", "kafka_partition", "kafka_offset").collect()
    out["folders"][folder] = {
        "schema": [[f.name, f.dataType.simpleString(), f.nullable] for f in df.schema.fields],
        "rows": [list(r) for r in rows],
        "seconds": time.monotonic() - t,
    }
spark.stop()
print(json.dumps(out))
