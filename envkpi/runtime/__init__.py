"""How a run is executed, apart from what it computes: the ingest's read-ahead (``read_ahead``),
worker interpreters (``workers``), the process's memory settings (``memory``), the benchmark's
phase timers (``timing``, off unless switched on) and the crash tests' fault points (``faults``)."""
