"""How a run is executed, apart from what it computes: the ingest's read-ahead (``read_ahead``),
worker interpreters (``workers``), the process's memory settings (``memory``), the benchmark's
phase timers (``timing``, off unless switched on), the crash tests' fault points (``faults``),
atomic file writing (``files``) and the engines' versions for code fingerprints (``fingerprint``)."""
