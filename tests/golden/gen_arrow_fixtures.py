#!/usr/bin/env python3
"""Small Arrow IPC stream files for tests/test_source_tasks.cpp (io/arrow_ipc.h), written by
pyarrow (the reference implementation of the format). Usage: python3 tests/golden/gen_arrow_fixtures.py

  two_batches.arrow    utf8 / int64 / large_utf8 / list<utf8> / struct<int32> columns, two batches
                       (3 + 2 rows), schema metadata {"huggingface": ...}, non-ASCII text, an empty string
  legacy_format.arrow  the same table in the pre-0.15 framing (no 0xFFFFFFFF continuation markers)
  with_null.arrow      a utf8 column with a null in row 1
  dictionary.arrow     a dictionary-encoded string column
  compressed.arrow     LZ4-frame compressed buffers
  empty.arrow          the schema and one batch of 0 rows
"""
import os

import pyarrow as pa
import pyarrow.ipc as ipc

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "arrow")
os.makedirs(OUT, exist_ok=True)

schema = pa.schema(
    [
        pa.field("a", pa.string()),
        pa.field("n", pa.int64()),
        pa.field("b", pa.large_string()),
        pa.field("l", pa.list_(pa.string())),
        pa.field("s", pa.struct([pa.field("x", pa.int32())])),
    ],
    metadata={"huggingface": '{"info": {"features": {"a": {"dtype": "string"}}}}'},
)
batches = [
    pa.record_batch(
        [
            pa.array(["alpha", "", "caf\u00e9 \u2013 \u4e2d"]),
            pa.array([1, 2, 3], pa.int64()),
            pa.array(["x", "yy", "zzz"], pa.large_string()),
            pa.array([["p"], [], ["q", "r"]], pa.list_(pa.string())),
            pa.array([{"x": 1}, {"x": 2}, {"x": 3}], pa.struct([pa.field("x", pa.int32())])),
        ],
        schema=schema,
    ),
    pa.record_batch(
        [
            pa.array(["delta", "epsilon"]),
            pa.array([4, 5], pa.int64()),
            pa.array(["w", ""], pa.large_string()),
            pa.array([["s"], ["t"]], pa.list_(pa.string())),
            pa.array([{"x": 4}, {"x": 5}], pa.struct([pa.field("x", pa.int32())])),
        ],
        schema=schema,
    ),
]


def write(name, schema, batches, **options):
    with open(os.path.join(OUT, name), "wb") as f:
        with ipc.new_stream(f, schema, options=ipc.IpcWriteOptions(**options)) as w:
            for b in batches:
                w.write_batch(b)
    # Check what was written reads back with pyarrow.
    t = ipc.open_stream(open(os.path.join(OUT, name), "rb")).read_all()
    print(name, os.path.getsize(os.path.join(OUT, name)), "bytes", t.num_rows, "rows")


write("two_batches.arrow", schema, batches)
write("legacy_format.arrow", schema, batches, use_legacy_format=True)
s1 = pa.schema([pa.field("a", pa.string())])
write("with_null.arrow", s1, [pa.record_batch([pa.array(["x", None, "z"])], schema=s1)])
d = pa.array(["u", "v", "u"]).dictionary_encode()
s2 = pa.schema([pa.field("a", d.type)])
write("dictionary.arrow", s2, [pa.record_batch([d], schema=s2)])
write("compressed.arrow", s1, [pa.record_batch([pa.array(["x" * 100, "y" * 100])], schema=s1)], compression="lz4")
write("empty.arrow", s1, [pa.record_batch([pa.array([], pa.string())], schema=s1)])
