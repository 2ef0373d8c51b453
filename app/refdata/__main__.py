"""``python -m app.refdata``: check the data files against manifest.json, or record a change.

Why: after a reviewed edit of a data file the manifest entry must be updated in the
same change; this saves computing the SHA-256 by hand.

    python -m app.refdata                                   # verify and list
    python -m app.refdata update factors.csv 1.1 2026-12-01 # after editing factors.csv
"""

from __future__ import annotations

import sys

from app.refdata.manifest import update_entry, verify_manifest


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "update":
        print(update_entry(argv[1], argv[2], argv[3]))
        return 0
    if argv:
        print(__doc__)
        return 2
    for item in verify_manifest().values():
        print(f"{item.file:24} {item.version:8} {item.as_of}  ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
