"""Checking deliveries against the contract: the Great Expectations suites (``validator``), the
rules over several columns or reference data (``rules``), values that cannot be meant
(``plausibility``), the offline Data Docs (``data_docs``) and ``envkpi check`` for plants
(``checking``)."""
