"""Regional pages: networks, flow map, nodal intensities with fuel split, comparison with
the official provincial factors, a try-it-yourself simulation; the estimates page."""

from __future__ import annotations

import json

from flask import abort, render_template, request
from flask_security import auth_required

from app.extensions import db
from app.factors import regional
from app.factors.flow import NetworkError
from app.factors.models import RegionalNetwork
from app.factors.network import simulate
from app.factors.views import bp

EXAMPLE = {
    "nodes": [
        {"id": "A", "generation": [{"source": "coal", "mwh": 100, "intensity": 0.9}]},
        {"id": "B", "generation": [{"source": "non_fossil", "mwh": 50, "intensity": 0}]},
        {"id": "C", "generation": [{"source": "gas", "mwh": 20, "intensity": 0.4}]},
    ],
    "flows": [{"from": "A", "to": "B", "mwh": 40}, {"from": "B", "to": "C", "mwh": 30}],
}


@bp.route("/factors/regional")
@auth_required("session")
def regional_index():
    return render_template("factors/regional_index.html", networks=regional.get_all())


@bp.route("/factors/regional/<int:network_id>")
@auth_required("session")
def network(network_id: int):
    net = db.session.get(RegionalNetwork, network_id) or abort(404)
    return render_template("factors/network.html", net=net,
                           compare=regional.compare_official(net))


@bp.route("/factors/regional/simulate", methods=["GET", "POST"])
@auth_required("session")
def simulate_page():
    """Any signed-in user: paste a network (JSON) or upload the two CSV files; nothing is
    stored and no tenant data is read."""
    text = json.dumps(EXAMPLE, ensure_ascii=False, indent=1)
    result, errors = None, None
    if request.method == "POST":
        try:
            gen = request.files.get("generation")
            if gen and gen.filename:
                ex = request.files.get("exchange")
                payload, names = regional.payload_from_rows(
                    regional._rows_csv(gen.read()),
                    regional._rows_csv(ex.read()) if ex and ex.filename else [])
                try:
                    result = simulate(payload)
                except NetworkError as exc:
                    raise regional._row_errors(payload, exc) from None
                for node in result["nodes"]:
                    node["name"] = names.get(node["id"], node["id"])
            else:
                text = request.form.get("network", "")
                try:
                    payload = json.loads(text)
                except ValueError as exc:
                    raise NetworkError({"network": f"不是有效的 JSON：{exc}"}) from None
                result = simulate(payload)
        except NetworkError as exc:
            errors = exc.fields
    return render_template("factors/simulate.html", text=text, result=result,
                           errors=errors), (422 if errors else 200)
