"""Text built or stored by services, shown in the reader's language (issue 12): a Msg is the
Chinese string everywhere but on an English page; a stored text written from a known msgid is
recognised and translated with its parameters; data names stay as entered (or show their
official English name); API errors carry message_en beside the Chinese message."""

from __future__ import annotations

import json


def _in(app, lang: str):
    return app.test_request_context(f"/?lang={lang}")


def test_msg_is_chinese_and_translates_on_an_english_page(app):
    from app.i18n import Msg, Named, Seq, translate

    heading = Msg("分能源品种（%(period)s）", period=Msg("%(year)s年", year=2025))
    assert heading == "分能源品种（2025年）"  # exports, audit and API see the Chinese
    assert json.loads(json.dumps({"t": heading}))["t"] == "分能源品种（2025年）"
    with _in(app, "zh_CN"):
        app.preprocess_request()
        assert translate(heading) == "分能源品种（2025年）"
    with _in(app, "en"):
        app.preprocess_request()
        assert translate(heading) == "By energy type (2025)"
        assert translate(Named("钢铁", "Iron and steel")) == "Iron and steel"
        assert translate(Named("某某企业")) == "某某企业"
        assert translate("某某企业") == "某某企业"  # a data name matches no msgid
        assert translate(Seq(["外购电力", "某某"])) == "Purchased electricity; 某某"


def test_stored_texts_are_recognised_by_their_msgids(app):
    from app.analytics.anomalies import reason_text
    from app.i18n import Msg, translate
    from app.trading.origins import ONGRID, derivation_text

    stored = str(Msg(ONGRID, meter="M-1", start="2025-01", end="2025-12", n=12))
    reason = ("自2025年3月起，剔除季节因素后的月排放水平由约 1,200.00 t 变为约 1,700.00 t"
              "（+41.7%，阈值 ±30%）")
    note = "报告期内没有电力系统同步的用电数据，未核对用电量"
    with _in(app, "zh_CN"):
        app.preprocess_request()
        assert derivation_text(stored) == stored and reason_text(reason) == reason
    with _in(app, "en"):
        app.preprocess_request()
        assert derivation_text(stored) == ("Electricity fed to the grid, meter M-1: sum of the "
                                           "monthly totals of 12 months, 2025-01 to 2025-12")
        assert reason_text(reason).startswith("From 3/2025 on, the seasonally adjusted")
        assert "+41.7%" in reason_text(reason)
        assert translate(note).startswith("No electricity data synchronised")
        # a list of data stays as entered
        assert translate("结算单、检定证书") == "结算单、检定证书"


def test_api_errors_carry_the_english_message(app):
    from app.api import error_body
    from app.i18n import Msg

    with _in(app, "zh_CN"):
        app.preprocess_request()
        body = error_body(404)["error"]
        assert body["message"] == "资源不存在或不在您的数据范围内"
        assert body["message_en"] == "Not found or outside your data scope"
        body = error_body(422, "数据校验失败", "invalid",
                          {"year": Msg("%(label)s必须是数字", label="年份"), "x": "某某"})["error"]
        assert body["message"] == "数据校验失败" and body["message_en"] == "Validation failed"
        assert body["fields"]["year"] == "年份必须是数字"
        assert body["fields_en"]["year"] == "Year must be a number"
        assert body["fields_en"]["x"] == "某某"
