"""Speed goals, measured by one command: `.venv/bin/python -m benchmarks`."""

import os as _os

# The benchmarks run on scratch PostgreSQL databases, where the platform never generates
# secrets (app.config): throwaway values for them, unless set.
for _var, _value in (("CECP_SECRET_KEY", "bench-secret-key-" + "5" * 47),
                     ("CECP_MASTER_KEY", "00112233445566778899aabbccddeeff"),
                     ("CECP_PASSWORD_SALT", "bench-password-salt-0123456789abcd"),
                     ("CECP_TOTP_SECRET", "bench-totp-secret-" + "7" * 46)):
    _os.environ.setdefault(_var, _value)
