"""End-to-end tests start their own servers: no shared fixtures here (and no prefect_test_harness)."""
