"""Enterprise and output-value kinds on the one staging path: `cecp import`, the file API,
Chinese errors naming row and column, all-or-nothing, idempotent, scoped."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.refdata.uscc import make_uscc


def _count(model, *where):
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_import_help_lists_only_kinds_that_exist(app):
    from app.cli import cli
    from app.importers import IMPORTERS

    out = app.test_cli_runner().invoke(cli, ["import", "--help"])
    assert out.exit_code == 0
    listed = out.output.split("KIND:")[1].split("Options:")[0]  # click wraps the line
    kinds = {k.strip() for k in listed.replace("\n", " ").split(",")}
    assert (
        kinds
        == set(IMPORTERS)
        == {"countries", "energy", "enterprises", "meters", "outputs", "readings", "settlements"}
    )


def test_cli_enterprises_all_or_nothing_and_idempotent(app, energy_ref, tmp_path):
    from app.audit.models import AuditRecord
    from app.cli import cli
    from app.orgs.models import Enterprise

    a, b = make_uscc("91330522MA3100001"), make_uscc("91330522MA3100002")
    good = (
        "统一社会信用代码,企业名称,行政区划代码,行业代码,企业规模,重点控排企业\n"
        f"{a},甲水泥有限公司,330522,3011,规上,是\n{b},乙玻璃有限公司,330522,3041,,否\n"
    )
    bad = good + f"{a[:-1]}0,丙公司,330522,,,\n{make_uscc('91330522MA3100004')},丁公司,999999,,,x\n"
    runner = app.test_cli_runner()
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    out = runner.invoke(cli, ["import", "enterprises", str(tmp_path / "bad.csv")])
    assert out.exit_code == 1
    assert "第 4 行 统一社会信用代码（uscc）: 统一社会信用代码校验位错误" in out.output
    assert "第 5 行 行政区划代码（region_code）: 未知的行政区划代码“999999”" in out.output
    assert "第 5 行 重点控排企业（key_emitter）" in out.output
    assert _count(Enterprise) == 0  # the two good rows were not written either
    (tmp_path / "good.csv").write_text(good, encoding="utf-8")
    out = runner.invoke(cli, ["import", "enterprises", str(tmp_path / "good.csv")])
    assert out.exit_code == 0, out.output
    ent = energy_ref.session.scalar(select(Enterprise).where(Enterprise.uscc == a))
    assert (ent.name, ent.industry_code, ent.scale, ent.key_emitter) == (
        "甲水泥有限公司",
        "3011",
        "规上",
        True,
    )
    audits = _count(AuditRecord, AuditRecord.action == "enterprise.import")
    out = runner.invoke(cli, ["import", "enterprises", str(tmp_path / "good.csv")])
    assert out.exit_code == 0 and _count(Enterprise) == 2
    assert _count(AuditRecord, AuditRecord.action == "enterprise.import") == audits
    # a changed name updates in place (natural key), audited
    (tmp_path / "good.csv").write_text(
        good.replace("乙玻璃有限公司", "乙玻璃股份有限公司"), encoding="utf-8"
    )
    assert runner.invoke(cli, ["import", "enterprises", str(tmp_path / "good.csv")]).exit_code == 0
    assert _count(Enterprise) == 2 and _count(Enterprise, Enterprise.name == "乙玻璃股份有限公司")
    assert _count(AuditRecord, AuditRecord.action == "enterprise.import") == audits + 1


def test_enterprises_by_file_api_need_the_permission_and_the_region(client, make_ent, make_client):
    from app.exchange.models import ExchangeBatch
    from app.extensions import db
    from app.orgs.models import Enterprise

    outside = make_ent(7, region="330102")  # 杭州: not the client's region
    body = (
        "uscc,name,region_code\n"
        f"{make_uscc('91330522MA3200001')},新企业,330522\n"
        f"{make_uscc('91330102MA3200002')},外地企业,330102\n"
        f"{outside.uscc},改名,330522\n"
    ).encode()

    def post(h, mode="partial"):
        return client.post(
            "/api/v1/exchange/files",
            headers=h,
            data={"kind": "enterprises", "mode": mode, "file": (io.BytesIO(body), "e.csv")},
        )

    plain = make_client("erp", regions=["330500"])
    r = post(plain)
    assert r.status_code == 422 and "权限" in r.get_json()["error"]["fields"]["kind"]
    h = make_client(
        "registry", regions=["330500"], permissions=["enterprises.write", "enterprise.read"]
    )
    r = post(h)
    assert r.status_code == 202, r.get_json()
    st = client.get(r.get_json()["status_url"], headers=h).get_json()
    assert (st["status"], st["accepted"], st["rejected"]) == ("partial", 1, 2), st
    errors = {e["row"]: e["fields"] for e in st["errors"]}
    assert errors[2] == {"region_code": "该行政区划不在您的数据范围内"}
    assert errors[3] == {"uscc": "该统一社会信用代码的企业已存在且不在您的数据范围内"}
    db.session.expire_all()
    assert db.session.get(Enterprise, outside.id).name == "交换企业7"
    assert _count(Enterprise, Enterprise.name == "新企业") == 1
    assert db.session.get(ExchangeBatch, st["id"]).kind == "enterprises"


def _record(ent, month: int, va: str = "1000"):
    from app.energy import records
    from app.extensions import db
    from app.identity.scope import DataScope

    rec = records.create_many(
        items=[
            {
                "uscc": ent.uscc,
                "year": 2026,
                "month": month,
                "gross_output": "3000",
                "value_added": va,
                "lines": [
                    {"flow": "purchased", "item": "electricity", "amount": "100", "unit": "MWh"}
                ],
            }
        ],
        scope=DataScope(all=True),
        source="form",
    )[0]
    db.session.commit()
    return rec


def test_output_values_update_the_month_and_its_account(app, make_ent, tmp_path):
    from decimal import Decimal

    from app.accounting.models import CarbonAccount
    from app.cli import cli
    from app.energy.models import EnergyRecord
    from app.extensions import db

    ent = make_ent(1)
    rec = _record(ent, 9)
    runner = app.test_cli_runner()
    path = tmp_path / "o.csv"
    path.write_text(
        "统一社会信用代码,年份,月份,工业总产值,工业增加值\n"
        f"{ent.uscc},2026,9,3600,1200\n"
        f"{ent.uscc},2026,8,1,1\n"  # no record for August
        f"{ent.uscc},2026,9,,-5\n"  # negative; duplicate month
        f"{ent.uscc},2026,13,1,1\n",
        encoding="utf-8",
    )
    out = runner.invoke(cli, ["import", "outputs", str(path)])
    assert out.exit_code == 1
    assert "第 3 行 月份（month）: 该月尚无月度能源数据" in out.output
    assert "第 4 行 工业增加值（value_added）: 工业增加值不能为负数" in out.output
    assert "第 5 行 月份（month）: 月份应在 1 至 12 之间" in out.output
    db.session.expire_all()
    assert db.session.get(EnergyRecord, rec.id).value_added == Decimal("1000")
    path.write_text(f"uscc,year,month,value_added\n{ent.uscc},2026,9,1200\n", encoding="utf-8")
    assert runner.invoke(cli, ["import", "outputs", str(path)]).exit_code == 0
    db.session.expire_all()
    rec = db.session.get(EnergyRecord, rec.id)
    # a blank column keeps the stored figure; the lines are untouched; the account follows
    assert (rec.gross_output, rec.value_added, rec.revision) == (
        Decimal("3000"),
        Decimal("1200"),
        2,
    )
    assert [(ln.item, ln.amount) for ln in rec.lines] == [("electricity", Decimal("100"))]
    acc = db.session.scalar(
        select(CarbonAccount).where(
            CarbonAccount.enterprise_id == ent.id,
            CarbonAccount.period == 202609,
            CarbonAccount.is_current.is_(True),
        )
    )
    assert acc.value_added == Decimal("1200")
    # the same file again changes nothing (no new revision)
    assert runner.invoke(cli, ["import", "outputs", str(path)]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(EnergyRecord, rec.id).revision == 2


def test_output_values_of_another_enterprise_are_refused(client, make_ent, make_client):
    from app.energy.models import EnergyRecord
    from app.extensions import db

    mine, theirs = make_ent(1), make_ent(2)
    _record(mine, 9)
    rec = _record(theirs, 9)
    h = make_client("erp", enterprises=[mine.uscc])
    body = f"uscc,year,month,value_added\n{theirs.uscc},2026,9,1\n".encode()
    r = client.post(
        "/api/v1/exchange/files",
        headers=h,
        data={"kind": "outputs", "mode": "all", "file": (io.BytesIO(body), "o.csv")},
    )
    st = client.get(r.get_json()["status_url"], headers=h).get_json()
    assert st["status"] == "rejected"
    assert "不在您的数据范围内" in st["errors"][0]["fields"]["uscc"]
    db.session.expire_all()
    assert db.session.get(EnergyRecord, rec.id).value_added == 1000
