"""Benchmarks of the envkpi pipeline at the scale of a large manufacturing group.

- ``benchmarks.generate``: deterministic, contract-conformant landing folders at scale
  (thousands of plants, years of monthly history), as many monthly files or as a few large
  consolidated exports, plus "one more month" for the nightly increment;
- ``benchmarks.bare_duckdb``: the lower bound, bare DuckDB ``read_csv`` and one SQL statement;
- ``benchmarks.plain_pandas``: what a team would write with pandas alone (both report through
  ``benchmarks.method``);
- ``benchmarks.run``: the harness behind ``make bench``; writes ``docs/benchmarks.md``.

Generated data goes to ``/tmp/envkpi-bench`` (or a folder given by an option), never into the
repository.
"""
