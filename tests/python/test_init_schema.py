"""init-schema.sql read by PostgreSQL's own parser (pglast = libpg_query 15, the server version of
the postgresql-15 image): every statement parses, the tables load_schema.sh counts and every
table a statement uses are created before use, and the inserts give `equipment` rows."""

from __future__ import annotations

import re

from pglast import ast, enums, parse_sql
from pglast.visitors import Visitor

from conftest import script

SQL = script("postgresql", "init-schema.sql").read_text()
LOADER = script("postgresql", "load_schema.sh").read_text()


class Tables(Visitor):
    """The names of every table a statement mentions."""

    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def visit_RangeVar(self, ancestors, node):
        self.names.append(node.relname)


def tables_of(node) -> list[str]:
    v = Tables()
    v(node)
    return v.names


def statements():
    return [raw.stmt for raw in parse_sql(SQL)]


def created() -> dict[str, ast.CreateStmt]:
    return {s.relation.relname: s for s in statements() if isinstance(s, ast.CreateStmt)}


def count_query() -> str:
    m = re.search(r"-tAc '([^']+)'", LOADER)
    assert m, "load_schema.sh has no `psql -tAc '...'` count query"
    return m.group(1)


def test_every_statement_parses():
    stmts = statements()
    assert len(stmts) >= 4
    assert {type(s).__name__ for s in stmts} <= {"CreateStmt", "InsertStmt"}


def test_tables_of_the_count_query_are_created():
    (query,) = [raw.stmt for raw in parse_sql(count_query())]
    needed = set(tables_of(query))
    assert needed == {"equipment"}
    assert needed <= set(created())


def test_every_table_is_created_before_use():
    seen: set[str] = set()
    for s in statements():
        if isinstance(s, ast.CreateStmt):
            name = s.relation.relname
            for col in s.tableElts:
                for c in col.constraints or ():
                    if c.contype == enums.ConstrType.CONSTR_FOREIGN:
                        assert c.pktable.relname in seen | {name}, f"{name} references {c.pktable.relname}"
            seen.add(name)
        else:
            missing = set(tables_of(s)) - seen
            assert not missing, f"statement uses {missing} before it is created"


def required_columns(create: ast.CreateStmt) -> set[str]:
    """NOT NULL columns without a default (a SERIAL has one)."""
    out = set()
    for col in create.tableElts:
        kinds = {c.contype for c in col.constraints or ()}
        serial = col.typeName.names[-1].sval.lower() in ("serial", "bigserial", "smallserial")
        not_null = kinds & {enums.ConstrType.CONSTR_NOTNULL, enums.ConstrType.CONSTR_PRIMARY}
        if not_null and enums.ConstrType.CONSTR_DEFAULT not in kinds and not serial:
            out.add(col.colname)
    return out


def test_inserts_give_equipment_rows_with_every_required_column():
    tables = created()
    rows = {}
    for s in statements():
        if not isinstance(s, ast.InsertStmt):
            continue
        name = s.relation.relname
        table = tables[name]
        columns = [t.name for t in s.cols]
        assert set(columns) <= {c.colname for c in table.tableElts}, f"INSERT INTO {name}: unknown column"
        assert required_columns(table) <= set(columns), f"INSERT INTO {name} leaves a NOT NULL column out"
        select = s.selectStmt
        if select.valuesLists:
            for values in select.valuesLists:
                assert len(values) == len(columns)
            rows[name] = rows.get(name, 0) + len(select.valuesLists)
        else:
            assert len(select.targetList) == len(columns)
            rows[name] = rows.get(name, 0) + 1
    assert rows.get("equipment", 0) > 0
    assert rows.get("calibration_log", 0) > 0
