"""Public institutions (6.5.3)."""
