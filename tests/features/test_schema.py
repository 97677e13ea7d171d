"""The contract in code and the README's data-contract tables name the same columns, with the
same required ones (the README says what each means)."""

from __future__ import annotations

import re
from pathlib import Path

from persona_risk.features import schema as s

README = Path(__file__).parents[2] / "README.md"


def readme_tables() -> list[dict[str, str]]:
    """The tables of the README's data-contract section: column name -> its `required` cell."""
    text = README.read_text()
    section = text[text.index("## The data contract"):]
    section = section[:section.index("\n## ", 1)]
    tables, rows = [], {}
    for line in section.splitlines() + [""]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") \
            else None
        if cells and cells[0] not in ("column", "---"):
            for name in re.split(r",\s*", cells[0]):
                rows[name] = cells[2]
        elif not cells and rows:
            tables, rows = [*tables, rows], {}
    return tables


def test_readme_tables_name_the_contract_columns_and_required_ones():
    accounts, events = readme_tables()
    for table, columns in ((accounts, s.ACCOUNT_COLUMNS), (events, s.EVENT_COLUMNS)):
        assert list(table) == s.names(columns)
        assert [name for name, required in table.items() if required == "yes"] == s.required(
            columns)


def test_names_and_required_keep_contract_order():
    assert s.names(s.EVENT_COLUMNS)[:3] == [s.EVENT_ID, s.ACCOUNT_ID, s.TS]
    assert s.required(s.EVENT_COLUMNS) == [s.ACCOUNT_ID, s.TS]
    assert s.required(s.ACCOUNT_COLUMNS) == [s.ACCOUNT_ID, s.CREATED_AT]
