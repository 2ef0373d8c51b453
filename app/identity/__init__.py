"""Identity: users, roles, permissions, data scopes and login methods (R-5.1..5.3)."""
