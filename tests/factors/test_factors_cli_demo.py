"""`cecp factors …` commands and the demo end to end (network, factors, estimates)."""

from __future__ import annotations

from sqlalchemy import func, select


def test_demo_loads_network_and_factors(app, db):
    from app.cli import cli
    from app.demo import demo_enterprise_uscc
    from app.factors import library
    from app.factors.models import ElectricityFactor, RegionalNetwork
    from app.orgs.models import Enterprise

    runner = app.test_cli_runner()
    res = runner.invoke(cli, ["demo", "--enterprises", "4", "--months", "12"])
    assert res.exit_code == 0, res.output
    net = db.session.scalars(select(RegionalNetwork)).one()
    assert net.is_demo and len(net.result["nodes"]) == 31
    assert db.session.scalar(select(func.count()).select_from(ElectricityFactor)) >= 1
    ent = db.session.scalar(select(Enterprise).where(Enterprise.uscc == demo_enterprise_uscc()))
    f = library.current(enterprise_id=ent.id)
    assert f is not None and f.n_months == 12
    # the demo body checked the demo enterprise's factor through the real process
    from app.documents.models import Document
    from app.factors.models import FactorCheck

    (chk,) = db.session.scalars(select(FactorCheck).where(FactorCheck.enterprise_id == ent.id))
    assert chk.body_code == "VB-ZJ-001" and chk.document_id
    assert db.session.get(Document, chk.document_id).kind == "factor_check_statement"
    assert f.origin == ("certified" if chk.passed else "computed")
    again = runner.invoke(cli, ["demo", "--enterprises", "4", "--months", "12"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(select(func.count()).select_from(RegionalNetwork)) == 1
    assert db.session.scalar(select(func.count()).select_from(FactorCheck)) == 1


def test_factors_commands(app, db, reference, tmp_path):
    from app.factors.cli import factors_cli

    runner = app.test_cli_runner()
    res = runner.invoke(factors_cli, ["demo"])
    assert res.exit_code == 0, res.output
    assert "MAPE" in res.output and "30 个省份" in res.output
    gen = tmp_path / "g.csv"
    gen.write_text("node,name,source,energy,energy_unit,intensity,intensity_unit\n"
                   "A,甲,coal,100,MWh,0.9,tCO2/MWh\n")
    ex = tmp_path / "e.csv"
    ex.write_text("from,to,energy,energy_unit\nA,B,150,MWh\n")
    res = runner.invoke(factors_cli, ["import", str(gen), str(ex), "--code", "t",
                                      "--title", "测试", "--year", "2021"])
    assert res.exit_code == 1
    assert "节点 A" in res.output and "超过" in res.output and "未写入" in res.output
    ex.write_text("from,to,energy,energy_unit\nA,B,40,MWh\n")
    res = runner.invoke(factors_cli, ["import", str(gen), str(ex), "--code", "t",
                                      "--title", "测试", "--year", "2021"])
    assert res.exit_code == 0, res.output
    assert "2 个节点" in res.output
    res = runner.invoke(factors_cli, ["compute"])
    assert res.exit_code == 0 and "拟合 0 家" in res.output
