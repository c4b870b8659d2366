"""Benchmark harness comparing web frameworks (FastAPI vs Express) with stated methods.

Kept import-light on purpose: Locust worker processes import `harness.loadgen.plugin`,
and anything imported here would load into every gevent-patched load generator.
"""

__version__ = "0.1.0"
