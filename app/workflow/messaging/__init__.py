"""Messages from outside: ``POST /api/v1/messages`` correlates a named message with the
instance waiting for it, or starts a process whose start event is that message."""
