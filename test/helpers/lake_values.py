"""Values of the lake as the lake-reader helpers print them (JSON): the same text whichever reader
read them, so a test compares readers row by row. Decimals and dates as text, timestamps in UTC
with microseconds ("2026-03-01T10:11:12.123456Z"); a timestamp without a time zone is an error (the
lake's timestamps are instants)."""
import datetime
import decimal

UTC_MICROS = "%Y-%m-%dT%H:%M:%S.%fZ"


def plain(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            raise ValueError(f"a timestamp without a time zone: {v!r}")
        return v.astimezone(datetime.timezone.utc).strftime(UTC_MICROS)
    if isinstance(v, datetime.date):
        return v.isoformat()
    raise TypeError(f"no plain form for {type(v).__name__}: {v!r}")


def kind(v):
    """The Python type a reader handed out ("datetime(tz)" for an aware timestamp)."""
    if isinstance(v, datetime.datetime):
        return "datetime(tz)" if v.tzinfo is not None else "datetime"
    return type(v).__name__


def kinds(columns, rows):
    """For each column, the Python types of its non-null values."""
    out = {c: set() for c in columns}
    for row in rows:
        for c, v in zip(columns, row):
            if v is not None:
                out[c].add(kind(v))
    return {c: sorted(k) for c, k in out.items()}
