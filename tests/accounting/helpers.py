"""Record builders for accounting tests."""


def record(ent, year, month, lines, *, va="1000", gross="3000"):
    return {"uscc": ent.uscc, "year": year, "month": month, "gross_output": gross,
            "value_added": va, "lines": lines}


def elec(mwh, flow="purchased"):
    return {"item": "electricity", "flow": flow, "amount": str(mwh), "unit": "MWh"}
