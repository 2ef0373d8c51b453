"""Tests of the DB-free workflow engine layer (app.workflow.engine)."""
