"""Carbon emission flow: the hand-checkable case, conservation on random networks, the
isolated-node and single-importer properties, and bad input naming the node or row."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.factors.flow import Network, NetworkError, solve
from app.factors.network import simulate

HAND = {
    "nodes": [
        {"id": "A", "generation": [{"source": "coal", "mwh": 100, "intensity": 0.9}]},
        {"id": "B", "generation": [{"source": "hydro", "mwh": 50, "intensity": 0}]},
        {"id": "C", "generation": [{"source": "gas", "mwh": 20, "intensity": 0.4}]},
    ],
    "flows": [{"from": "A", "to": "B", "mwh": 40}, {"from": "B", "to": "C", "mwh": 30}],
}


def test_hand_checkable_case():
    out = simulate(HAND)
    n = {x["id"]: x for x in out["nodes"]}
    assert n["A"]["intensity"] == pytest.approx(0.9)
    assert n["B"]["intensity"] == pytest.approx(0.4)
    assert n["C"]["intensity"] == pytest.approx(0.4)
    assert n["C"]["by_source"]["coal"] == pytest.approx(0.24)
    assert n["C"]["by_source"]["gas"] == pytest.approx(0.16)
    assert n["C"]["by_source"]["hydro"] == pytest.approx(0.0)
    assert n["B"]["by_source"]["coal"] == pytest.approx(0.4)
    assert [n[k]["consumption_mwh"] for k in "ABC"] == pytest.approx([60, 60, 50])
    assert [n[k]["emissions_t"] for k in "ABC"] == pytest.approx([54, 24, 20])
    bal = out["balance"]
    assert bal["consumed_emissions_t"] == pytest.approx(98)
    assert bal["generated_emissions_t"] == pytest.approx(98)
    assert bal["conserved"] is True
    carbon = {(b["from"], b["to"]): b["carbon_t"] for b in out["branches"]}
    assert carbon == pytest.approx({("A", "B"): 36.0, ("B", "C"): 12.0})


def test_fuel_per_mwh_split_and_units_kept():
    body = {**HAND, "intensity_unit": "kgCO2/kWh"}
    body["nodes"] = [dict(HAND["nodes"][0], generation=[
        {"source": "coal", "mwh": 100, "intensity": 0.9, "fuel_t_per_mwh": 0.3}])]
    body["nodes"] += HAND["nodes"][1:]
    out = simulate(body)
    c = {x["id"]: x for x in out["nodes"]}["C"]
    assert out["intensity_unit"] == "kgCO2/kWh"
    assert c["intensity"] == pytest.approx(0.4)
    # 30 MWh of C's 50 came from A (via B), 40 % of which is coal: 0.3 × 0.4 × 0.6
    assert c["fuel_t_per_mwh"]["coal"] == pytest.approx(0.08)
    assert c["fuel_t_per_mwh"]["gas"] is None  # not given: unknown, not zero


def _random_network(seed: int, n: int, density: float) -> Network:
    rng = np.random.default_rng(seed)
    g = rng.integers(1, 3 * n + 1)
    gen_node = rng.integers(0, n, g)
    gen_mwh = rng.uniform(0, 100, g)
    # flows in both directions (loops included), capped below so no node over-exports
    m = max(1, int(density * n * n))
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = a != b
    a, b = a[keep], b[keep]
    flows = rng.uniform(0, 1, a.size)
    net = Network(node_ids=[f"n{i}" for i in range(n)], sources=["coal", "gas", "hydro"],
                  gen_node=gen_node, gen_source=rng.integers(0, 3, g), gen_mwh=gen_mwh,
                  gen_intensity=rng.uniform(0, 1.2, g), flow_from=a, flow_to=b,
                  flow_mwh=flows)
    # scale flows so each node exports at most 90 % of its own generation
    gen = np.bincount(gen_node, gen_mwh, n)
    out = np.bincount(a, flows, n)
    ratio = np.where(out > 0, 0.9 * gen / np.where(out > 0, out, 1), 0)
    net.flow_mwh = flows * ratio[a]
    return net


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40),
       density=st.floats(0.0, 0.5))
def test_conservation_on_random_networks(seed, n, density):
    res = solve(_random_network(seed, n, density))
    bal = res.balance
    assert bal["consumed_emissions_t"] == pytest.approx(bal["generated_emissions_t"],
                                                        rel=1e-9, abs=1e-9)
    assert bal["conserved"]
    live = res.inflow_mwh > 0
    # the parts by source add up to the intensity; no intensity above the dirtiest source
    assert np.allclose(np.nansum(res.by_source[live], axis=1), res.intensity[live])
    assert (res.intensity[live] <= 1.2 + 1e-9).all() and (res.intensity[live] >= -1e-12).all()
    # each node: carbon in = carbon out (own generation + imports = exports + consumption)
    carbon_in = res.generated_t + np.bincount(res.branch_to, res.branch_carbon_t, len(live))
    carbon_out = np.nan_to_num(res.emissions_t) + np.bincount(res.branch_from,
                                                              res.branch_carbon_t, len(live))
    assert np.allclose(carbon_in, carbon_out, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 30), density=st.floats(0.0, 0.3))
def test_own_mix_and_single_importer_properties(seed, n, density):
    net = _random_network(seed, n, density)
    # give some nodes no generation at all, fed by exactly one other node
    rng = np.random.default_rng(seed)
    importers = rng.choice(n, size=max(1, n // 5), replace=False)
    keep = ~np.isin(net.gen_node, importers)
    net.gen_node, net.gen_source = net.gen_node[keep], net.gen_source[keep]
    net.gen_mwh, net.gen_intensity = net.gen_mwh[keep], net.gen_intensity[keep]
    flows = ~np.isin(net.flow_from, importers) & ~np.isin(net.flow_to, importers)
    net.flow_from, net.flow_to = net.flow_from[flows], net.flow_to[flows]
    net.flow_mwh = net.flow_mwh[flows]
    supplier = rng.integers(0, n, importers.size)
    ok = ~np.isin(supplier, importers) & (np.bincount(net.gen_node, net.gen_mwh, n)[supplier] > 0)
    net.flow_from = np.concatenate([net.flow_from, supplier[ok]])
    net.flow_to = np.concatenate([net.flow_to, importers[ok]])
    # a small share of the supplier's generation, so that nobody over-exports
    gen = np.bincount(net.gen_node, net.gen_mwh, n)
    net.flow_mwh = np.concatenate([net.flow_mwh * 0.5, 0.05 * gen[supplier[ok]]])
    res = solve(net)
    own = np.bincount(net.gen_node, net.gen_mwh * net.gen_intensity, n)
    no_imports = (res.imports_mwh == 0) & (res.generation_mwh > 0)
    assert np.allclose(res.intensity[no_imports], own[no_imports] / gen[no_imports])
    assert np.allclose(res.intensity[importers[ok]], res.intensity[supplier[ok]])
    assert np.allclose(res.by_source[importers[ok]], res.by_source[supplier[ok]])


def test_node_without_imports_has_its_own_mix():
    out = simulate({"nodes": [
        {"id": "X", "generation": [{"source": "coal", "mwh": 30, "intensity": 1.0},
                                   {"source": "wind", "mwh": 70, "intensity": 0}]},
        {"id": "Y", "generation": [{"source": "gas", "mwh": 10, "intensity": 0.5}]}],
        "flows": [{"from": "X", "to": "Y", "mwh": 20}]})
    x = out["nodes"][0]
    assert x["intensity"] == pytest.approx(0.3)
    assert x["by_source"] == pytest.approx({"coal": 0.3, "wind": 0.0, "gas": 0.0})


def test_single_importer_takes_the_exporters_intensity():
    out = simulate({"nodes": [
        {"id": "P", "generation": [{"source": "coal", "mwh": 500, "intensity": 0.85},
                                   {"source": "hydro", "mwh": 500, "intensity": 0}]},
        {"id": "Q", "generation": []}],
        "flows": [{"from": "P", "to": "Q", "mwh": 123.4}]})
    p, q = out["nodes"]
    assert q["intensity"] == pytest.approx(p["intensity"]) == pytest.approx(0.425)
    assert q["by_source"] == pytest.approx(p["by_source"])


def test_isolated_node_has_no_intensity_not_zero():
    out = simulate({"nodes": [{"id": "lonely"},
                              {"id": "A", "generation": [{"source": "coal", "mwh": 1,
                                                          "intensity": 1}]}], "flows": []})
    lonely = out["nodes"][0]
    assert lonely["intensity"] is None and lonely["emissions_t"] is None
    assert "lonely" in out["warnings"][0]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"nodes": [{"id": "A"}, {"id": "B"}], "flows": [{"from": "A", "to": "B", "mwh": -5}]},
     "flows[0].mwh", "负"),
    ({"nodes": [{"id": "A", "generation": [{"source": "coal", "mwh": -1, "intensity": 1}]}]},
     "nodes[0].generation[0].mwh", "负"),
    ({"nodes": [{"id": "A"}, {"id": "B"}], "flows": [{"from": "A", "to": "Z", "mwh": 1}]},
     "flows[0].to", "Z"),
    ({"nodes": [{"id": "A", "consumption_mwh": 10}]}, "nodes[0].consumption_mwh", "A"),
    ({"nodes": [{"id": "A", "generation": [{"source": "coal", "mwh": 5, "intensity": 1}]},
                {"id": "B"}], "flows": [{"from": "A", "to": "B", "mwh": 9}]},
     "nodes[0]", "超过"),
    ({"nodes": [{"id": "A", "generation": [
        {"source": "coal", "mwh": 5, "intensity": 900, "intensity_unit": "gCO2/kWh"}]},
                {"id": "B", "generation": [
        {"source": "gas", "mwh": 5, "intensity": 0.4, "intensity_unit": "tCO2/MWh"}]}]},
     "nodes[1].generation[0].intensity_unit", "单位不一致"),
    ({"nodes": [{"id": "A", "generation": [{"source": "coal", "mwh": 5, "intensity": 1,
                                            "energy_unit": "MW"}]}]},
     "nodes[0].generation[0].energy_unit", "MW"),
    ({"nodes": [{"id": "A"}, {"id": "A"}]}, "nodes[1].id", "重复"),
    ({"nodes": [{"id": "A"}, {"id": "B"}, {"id": "G", "generation": [
        {"source": "coal", "mwh": 5, "intensity": 1}]}],
      "flows": [{"from": "A", "to": "B", "mwh": 1}, {"from": "B", "to": "A", "mwh": 1}]},
     "nodes[0]", "环路"),
    ({"nodes": [{"id": "A", "generation": [{"source": "coal", "mwh": "abc",
                                            "intensity": 1}]}]},
     "nodes[0].generation[0].mwh", "数值"),
])
def test_bad_input_names_the_node_or_row(body, field, words):
    with pytest.raises(NetworkError) as exc:
        simulate(body)
    assert field in exc.value.fields, exc.value.fields
    assert words in exc.value.fields[field]


def test_stated_consumption_must_balance():
    body = {**HAND, "nodes": [dict(HAND["nodes"][0], consumption_mwh=61)] + HAND["nodes"][1:]}
    with pytest.raises(NetworkError) as exc:
        simulate(body)
    assert "不平衡" in exc.value.fields["nodes[0].consumption_mwh"]
    body["nodes"][0]["consumption_mwh"] = 60
    assert simulate(body)["balance"]["conserved"]


def test_energy_units_are_converted_to_mwh():
    out = simulate({"nodes": [
        {"id": "A", "generation": [{"source": "coal", "mwh": 0.1, "energy_unit": "GWh",
                                    "intensity": 0.9}]},
        {"id": "B"}], "flows": [{"from": "A", "to": "B", "mwh": 40000, "energy_unit": "kWh"}]})
    assert out["nodes"][1]["consumption_mwh"] == pytest.approx(40)
    assert out["nodes"][1]["emissions_t"] == pytest.approx(36)
