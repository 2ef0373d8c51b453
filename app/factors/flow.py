"""Carbon emission flow in a power network (周天睿, 康重庆 等, 电力系统自动化 2012).

Nodes are regions; generators inject energy with a carbon intensity; branches carry energy
between nodes. Every node mixes what flows into it (imports + own generation), so the
consumption-side intensity of all nodes solves one sparse linear system

    (P_N − P_Bᵀ) E_N = P_Gᵀ E_G

with P_B[i, j] ≥ 0 the energy from node i into node j, P_N the diagonal of each node's total
inflow, P_G[k, j] the energy of generator k injected at node j and E_G its intensity. The
per-source split solves the same factorised system with one right-hand side per source.
Pure numpy / scipy.sparse: no Python loops over nodes or branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import splu

#: intensity units we accept and the factor that turns "intensity × MWh" into tonnes
INTENSITY_UNITS = {"tCO2/MWh": 1.0, "kgCO2/kWh": 1.0, "gCO2/kWh": 1e-3, "kgCO2/MWh": 1e-3}
ENERGY_UNIT = "MWh"
#: relative tolerance of the balance checks
REL_TOL = 1e-9


class NetworkError(ValueError):
    """Bad network input; `fields` maps the offending path (node / row) to a message."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


@dataclass
class Network:
    """A network in arrays. Generators and flows refer to nodes by index."""

    node_ids: list[str]
    sources: list[str]
    gen_node: np.ndarray          # (G,) int node index of each generator
    gen_source: np.ndarray        # (G,) int index into `sources`
    gen_mwh: np.ndarray           # (G,) float
    gen_intensity: np.ndarray     # (G,) float, in `intensity_unit`
    flow_from: np.ndarray         # (F,) int
    flow_to: np.ndarray           # (F,) int
    flow_mwh: np.ndarray          # (F,) float
    intensity_unit: str = "tCO2/MWh"
    gen_fuel: np.ndarray | None = None   # (G,) t fuel per MWh generated (NaN: unknown)

    @property
    def n(self) -> int:
        return len(self.node_ids)


@dataclass
class FlowResult:
    node_ids: list[str]
    sources: list[str]
    intensity_unit: str
    inflow_mwh: np.ndarray        # generation + imports
    generation_mwh: np.ndarray
    imports_mwh: np.ndarray
    exports_mwh: np.ndarray
    consumption_mwh: np.ndarray
    intensity: np.ndarray         # NaN where a node has no inflow (no value, not zero)
    by_source: np.ndarray         # (N, S) parts of the intensity by generating source
    emissions_t: np.ndarray       # consumption × intensity, in tonnes
    generated_t: np.ndarray       # carbon emitted by each node's own generators, tonnes
    branch_from: np.ndarray
    branch_to: np.ndarray
    branch_mwh: np.ndarray
    branch_carbon_t: np.ndarray   # E_N(from) × P_B[from, to]
    fuel_per_mwh: np.ndarray | None = None   # (N, S) t fuel per MWh consumed
    warnings: list[str] = field(default_factory=list)

    @property
    def balance(self) -> dict:
        generated = float(self.generated_t.sum())
        consumed = float(np.nansum(self.emissions_t))
        gen = float(self.generation_mwh.sum())
        cons = float(self.consumption_mwh.sum())
        scale = max(abs(generated), 1.0)
        return {"generation_mwh": gen, "consumption_mwh": cons,
                "generated_emissions_t": generated, "consumed_emissions_t": consumed,
                "difference_t": consumed - generated,
                "conserved": abs(consumed - generated) <= 1e-6 * scale}


def _check_arrays(net: Network) -> None:
    errors: dict[str, str] = {}
    if net.intensity_unit not in INTENSITY_UNITS:
        errors["intensity_unit"] = (f"不支持的强度单位 {net.intensity_unit}；可用："
                                    + "、".join(INTENSITY_UNITS))
    for name, arr in (("generation.mwh", net.gen_mwh), ("generation.intensity",
                                                          net.gen_intensity),
                      ("flows.mwh", net.flow_mwh)):
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
        if bad.size:
            kind, attr = name.split(".")
            errors[f"{kind}[{int(bad[0])}].{attr}"] = "必须是非负的有限数"
    loops = np.flatnonzero(net.flow_from == net.flow_to)
    if loops.size:
        errors[f"flows[{int(loops[0])}]"] = (f"节点 {net.node_ids[net.flow_from[loops[0]]]} "
                                             "不能向自身输电")
    if errors:
        raise NetworkError(errors)


def solve(net: Network) -> FlowResult:
    """Nodal intensities, their split by source, branch carbon flows and the balance."""
    _check_arrays(net)
    n, s = net.n, len(net.sources)
    gen_by_node_source = sp.coo_matrix((net.gen_mwh, (net.gen_node, net.gen_source)),
                                       shape=(n, s)).toarray()
    carbon_by_node_source = sp.coo_matrix(
        (net.gen_mwh * net.gen_intensity, (net.gen_node, net.gen_source)),
        shape=(n, s)).toarray()
    generation = gen_by_node_source.sum(axis=1)
    pb = sp.coo_matrix((net.flow_mwh, (net.flow_from, net.flow_to)), shape=(n, n)).tocsr()
    imports = np.asarray(pb.sum(axis=0)).ravel()
    exports = np.asarray(pb.sum(axis=1)).ravel()
    inflow = generation + imports
    consumption = inflow - exports
    scale = np.maximum(inflow, 1.0)

    errors: dict[str, str] = {}
    over = np.flatnonzero(consumption < -REL_TOL * scale)
    for i in over[:5]:
        errors[f"nodes[{int(i)}]"] = (
            f"节点 {net.node_ids[i]} 外送 {exports[i]:,.3f} MWh 超过其流入（发电+受入）"
            f" {inflow[i]:,.3f} MWh")
    if errors:
        raise NetworkError(errors)
    consumption = np.where(np.abs(consumption) <= REL_TOL * scale, 0.0, consumption)

    live = inflow > 0
    # Nodes fed only by a loop that no generator reaches have no defined intensity.
    gens = np.flatnonzero(generation > 0)
    carrying = net.flow_mwh > 0
    rows = np.concatenate([net.flow_from[carrying], np.full(gens.size, n)])
    cols = np.concatenate([net.flow_to[carrying], gens])
    graph = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n + 1, n + 1))
    order = csgraph.breadth_first_order(graph, n, directed=True, return_predecessors=False)
    reached = np.zeros(n + 1, bool)
    reached[order] = True
    reached = reached[:n]
    orphan = np.flatnonzero(live & ~reached)
    if orphan.size:
        names = "、".join(net.node_ids[i] for i in orphan[:10])
        raise NetworkError({f"nodes[{int(orphan[0])}]": (
            f"节点 {names} 的受入电量只来自没有电源的环路，无法确定其碳强度")})

    idx = np.flatnonzero(live)
    m = idx.size
    intensity = np.full(n, np.nan)
    by_source = np.full((n, s), np.nan)
    fuel = None
    if m:
        sub = pb[idx][:, idx]
        a = (sp.diags(inflow[idx]) - sub.T).tocsc()
        # A is column diagonally dominant (each node's inflow ≥ its exports, checked
        # above), so pivoting on the diagonal is stable; a minimum-degree ordering on
        # A + Aᵀ keeps the fill-in of meshed networks about half of COLAMD's.
        lu = splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
        parts = lu.solve(np.ascontiguousarray(carbon_by_node_source[idx]))
        by_source[idx] = parts.reshape(m, s)
        intensity[idx] = by_source[idx].sum(axis=1)
        if net.gen_fuel is not None:
            fuel_rhs = sp.coo_matrix((net.gen_mwh * np.nan_to_num(net.gen_fuel),
                                      (net.gen_node, net.gen_source)), shape=(n, s)).toarray()
            fuel = np.full((n, s), np.nan)
            fuel[idx] = lu.solve(np.ascontiguousarray(fuel_rhs[idx])).reshape(m, s)
            unknown = sp.coo_matrix((np.isnan(net.gen_fuel).astype(float) * net.gen_mwh,
                                     (net.gen_node, net.gen_source)),
                                    shape=(n, s)).toarray().sum(axis=0) > 0
            fuel[:, unknown] = np.nan
    to_t = INTENSITY_UNITS[net.intensity_unit]
    emissions = np.where(live, consumption * np.nan_to_num(intensity) * to_t, 0.0)
    coo = pb.tocoo()
    branch_carbon = np.nan_to_num(intensity)[coo.row] * coo.data * to_t
    warnings = []
    if (~live).any():
        warnings.append("无发电也无受入的节点没有碳强度（留空）："
                        + "、".join(net.node_ids[i] for i in np.flatnonzero(~live)[:20]))
    return FlowResult(
        node_ids=net.node_ids, sources=net.sources, intensity_unit=net.intensity_unit,
        inflow_mwh=inflow, generation_mwh=generation, imports_mwh=imports,
        exports_mwh=exports, consumption_mwh=consumption, intensity=intensity,
        by_source=by_source, emissions_t=emissions,
        generated_t=carbon_by_node_source.sum(axis=1) * to_t,
        branch_from=coo.row, branch_to=coo.col, branch_mwh=coo.data,
        branch_carbon_t=branch_carbon, fuel_per_mwh=fuel, warnings=warnings)
