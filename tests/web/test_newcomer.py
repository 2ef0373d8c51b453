"""The newcomer's path: the project runs and tests from a clone with nothing beside it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_reads_outside_the_project():
    """No file under app/, tests/, scripts/, benchmarks/ or the two scripts names the
    workspace folder beside the checkout (a user's clone has none)."""
    name = "sha" + "red"  # spelt apart so that this test does not match itself
    pattern = re.compile(rf"(\.\./{name}|/work/{name}|\"{name}\"\s*/|'{name}'\s*/)")
    offenders = []
    files = [ROOT / "run.sh", ROOT / "test.sh"]
    for folder in ("app", "tests", "scripts", "benchmarks", "tools"):
        files += [p for p in (ROOT / folder).rglob("*")
                  if p.is_file() and p.suffix in {".py", ".sh", ".js", ".html", ".toml", ""}]
    for path in files:
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if pattern.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_country_data_set_is_shipped_with_source_and_licence():
    from app.monitoring.countries import CDIAC_FILE

    assert CDIAC_FILE.is_relative_to(ROOT / "app")
    with CDIAC_FILE.open(encoding="utf-8") as fh:
        assert fh.readline().startswith("Year,Country,Total")
    readme = (CDIAC_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "PDDL" in readme and "Hefner" in readme and CDIAC_FILE.name in readme
    run_sh = (ROOT / "run.sh").read_text(encoding="utf-8")
    assert "app/monitoring/data/" + CDIAC_FILE.name in run_sh
    assert "gunicorn" in run_sh and "--dev" in run_sh


def test_import_help_lists_only_existing_kinds(app):
    from app.cli import cli
    from app.importers import IMPORTERS

    result = CliRunner().invoke(cli, ["import", "--help"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "KIND:" in ln)
    listed = {k.strip() for k in line.split("KIND:")[1].split(",")}
    assert listed == set(IMPORTERS) and {"energy", "countries"} <= listed
    bad = CliRunner().invoke(cli, ["import", "regions", str(ROOT / "README.md")])
    assert bad.exit_code != 0 and "未知导入类型" in bad.output


def test_benchmark_runner_refuses_an_unknown_only():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nosuch"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown --only nosuch" in proc.stderr and "foundation" in proc.stderr


def test_docs_exist_and_readme_links_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/architecture.md", "docs/development.md"):
        assert (ROOT / doc).is_file() and doc in readme
    dev = (ROOT / "docs/development.md").read_text(encoding="utf-8")
    for topic in ("ruff check", "make-migration.sh", "pytest", "benchmarks"):
        assert topic in dev


def test_factor_library_is_paged_and_searchable(client, make_user, reference):
    from app.energy import service as energy
    from tests.conftest import login

    energy.load_reference()
    reference.session.commit()
    login(client, make_user("enterprise"))
    first = client.get("/energy/factors?status=").get_data(as_text=True)
    assert 'id="factor-pages"' in first and "第 1 / " in first
    second = client.get("/energy/factors?status=&page=2").get_data(as_text=True)
    assert "第 2 / " in second and 'aria-current="page">2<' in second
    found = client.get("/energy/factors?q=clinker").get_data(as_text=True)
    assert "process_clinker_ipcc" in found and "共 1 条" in found
    assert "电网平均排放因子" in first  # kinds in words
    assert client.get("/energy/factors?page=abc").status_code == 200  # bad input: no 500


def test_the_address_run_sh_and_readme_give_is_the_sign_in_page(client):
    printed = re.search(r"Platform: http://\$HOST:\$PORT(/\S*)\"",
                        (ROOT / "run.sh").read_text(encoding="utf-8")).group(1)
    readme = re.search(r"\*\*http://127\.0\.0\.1:5000(/\S*)\*\*",
                       (ROOT / "README.md").read_text(encoding="utf-8")).group(1)
    assert printed == readme
    page = client.get(printed)
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
