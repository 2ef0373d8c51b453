"""Unified, tamper-evident operation log (R-5.4)."""
