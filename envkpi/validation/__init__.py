"""Checking deliveries against the contract: the Great Expectations suites (``validator``), the
rules over several columns or reference data (``rules``), values that cannot be meant
(``plausibility``), what a file is checked against, so that a rejected file is checked again
only when that changes (``check_basis``) and the offline Data Docs (``data_docs``). ``envkpi
check`` for plants composes these with the ingest, as a run does: ``envkpi/checking.py``."""
