"""Background work through a transactional outbox handed to rq (or run in-process)."""
