"""Speed goals, measured by one command: `.venv/bin/python -m benchmarks`."""
