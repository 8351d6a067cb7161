"""Prefect flows that compose the envkpi library; the domain logic lives in ``envkpi/``, not here."""
