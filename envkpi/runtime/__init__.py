"""How a run is executed, apart from what it computes: worker interpreters (``workers``) and the
crash tests' fault points (``faults``)."""
