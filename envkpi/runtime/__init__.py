"""How a run is executed, apart from what it computes: worker interpreters (``workers``), the
process's memory settings (``memory``) and the crash tests' fault points (``faults``)."""
