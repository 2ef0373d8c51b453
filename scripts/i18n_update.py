"""Refresh the English catalogue: pybabel extraction of _() / gettext calls in app/ and the
templates, plus the Chinese string constants of the label modules (app.i18n.LABEL_MODULES),
which app.i18n.finalize translates when a page prints them.

    .venv/bin/python scripts/i18n_update.py      # then fill every empty msgstr in messages.po
"""

from __future__ import annotations

import ast
import glob
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
CJK = re.compile(r"[\u4e00-\u9fff]")


def label_constants(path: str) -> dict[str, int]:
    """Chinese str constants of a module, docstrings and f-string parts excluded."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)):
            skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    return {n.value: n.lineno for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in skip and CJK.search(n.value)}


def data_labels(path: str, longest: int = 30) -> list[str]:
    """Short Chinese strings of a JSON reference file (labels, not notes or citations)."""
    import json

    def walk(node):
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            for item in node:
                yield from walk(item)
        elif isinstance(node, str) and CJK.search(node) and len(node) <= longest:
            yield node

    with open(path, encoding="utf-8") as fh:
        return sorted(set(walk(json.load(fh))))


def main() -> None:
    from babel.messages.pofile import read_po, write_po

    from app.i18n import LABEL_DATA, LABEL_MODULES

    pybabel = os.path.join(os.path.dirname(sys.executable), "pybabel")
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "messages.pot")
        subprocess.run([pybabel, "-q", "extract", "-F", "babel.cfg", "-k", "lazy_gettext",
                        "-k", "Msg",
                        "-o", pot, "."], cwd=ROOT, check=True)
        with open(pot, "rb") as fh:
            catalog = read_po(fh)
        for pattern in LABEL_MODULES:
            for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
                rel = os.path.relpath(path, ROOT)
                for text, line in label_constants(path).items():
                    if text not in catalog:
                        # no python-format flag: finalize() looks the text up as is
                        catalog.add(text, locations=[(rel, line)])
        for rel in LABEL_DATA:
            for text in data_labels(os.path.join(ROOT, rel)):
                if text not in catalog:
                    catalog.add(text, locations=[(rel, 0)])
        with open(pot, "wb") as fh:
            write_po(fh, catalog)
        subprocess.run([pybabel, "-q", "update", "-i", pot, "-d", "app/translations", "-l",
                        "en", "--no-fuzzy-matching", "--ignore-obsolete"], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
