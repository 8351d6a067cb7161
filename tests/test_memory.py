"""runtime.memory: rows handed to DuckDB inside the run's transaction are not kept to its commit."""

import duckdb
import pyarrow as pa

from envkpi.runtime.memory import scanned_once

ROWS = 4_000_000  # int64 values: 8 bytes each, 32,000,000 bytes of Arrow memory


def test_rows_scanned_in_an_open_transaction_are_freed_before_the_commit_and_all_arrive():
    connection = duckdb.connect()
    connection.execute("create table raw (n bigint, label varchar)")
    connection.execute("begin")
    before = pa.total_allocated_bytes()
    rows = pa.table({"n": pa.array(range(ROWS), pa.int64()), "label": pa.nulls(ROWS, pa.string())})
    assert pa.total_allocated_bytes() - before >= ROWS * 8
    connection.register("incoming", scanned_once(rows))
    connection.execute("insert into raw select * from incoming")
    connection.unregister("incoming")
    del rows
    # Without the reader, DuckDB keeps the registered table alive until the commit (ROWS * 8 bytes).
    assert pa.total_allocated_bytes() - before < ROWS * 8
    count, total = connection.execute("select count(*), sum(n) from raw").fetchone()
    connection.execute("commit")
    assert (count, total) == (ROWS, ROWS * (ROWS - 1) // 2)  # 0 + 1 + ... + (ROWS - 1)


def test_a_reader_of_some_columns_gives_those_columns_of_every_batch_in_order():
    rows = pa.concat_tables(
        [pa.table({"a": ["x", "y"], "b": [1, 2], "c": [0.5, 0.25]}), pa.table({"a": ["z"], "b": [3], "c": [1.0]})]
    )
    read = scanned_once(rows, ["b", "a"]).read_all()
    assert read.column_names == ["b", "a"]
    assert read.to_pydict() == {"b": [1, 2, 3], "a": ["x", "y", "z"]}
