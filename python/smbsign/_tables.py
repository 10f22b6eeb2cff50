"""smbsign's results as tables: one row per connection, finding, session
or host, with typed columns (pandas nullable dtypes, or an Arrow schema).

The column lists here are the one place the tables are defined: `to_pandas`,
`to_arrow` and the Spark example (`examples/spark/`) all read them.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

# Column types: "string", "int64", "bool", "list<string>", "list<int64>",
# "json" (nested values kept as JSON text).
CONNECTION_COLUMNS: List[Tuple[str, str]] = [
    ("file", "string"),
    ("client", "string"),
    ("server", "string"),
    ("first_frame", "int64"),
    ("last_frame", "int64"),
    ("dialect", "string"),
    ("server_security_mode", "int64"),
    ("client_security_mode", "int64"),
    ("offered_dialects", "list<string>"),
    ("offered_smb1", "bool"),
    ("server_signing", "string"),
    ("client_signing", "string"),
    ("signing_algorithm", "string"),
    ("cipher", "string"),
    ("signed_messages", "int64"),
    ("unsigned_messages", "int64"),
    ("requests", "int64"),
    ("responses", "int64"),
    ("encrypted_messages", "int64"),
    ("encryption_offered", "bool"),
    ("compressed_messages", "int64"),
    ("unsigned_while_required", "int64"),
    ("verified_messages", "int64"),
    ("forged_messages", "int64"),
    ("no_key_messages", "int64"),
    ("unverifiable_messages", "int64"),
    ("forged_frames", "list<int64>"),
    ("decrypted_messages", "int64"),
    ("bad_tag_messages", "int64"),
    ("gap_bytes", "int64"),
    ("decode_errors", "int64"),
    ("closed", "bool"),
    ("server_names", "list<string>"),
    ("server_os", "json"),
    ("client_os", "json"),
    ("sessions", "int64"),
    ("users", "list<string>"),
    ("finding_codes", "list<string>"),
    ("worst_severity", "string"),
]

# A finding's connection is named by these, as in the connections table.
KEY_COLUMNS: List[Tuple[str, str]] = [
    ("file", "string"),
    ("client", "string"),
    ("server", "string"),
    ("first_frame", "int64"),
]

FINDING_COLUMNS: List[Tuple[str, str]] = KEY_COLUMNS + [
    ("code", "string"),
    ("severity", "string"),
    ("message", "string"),
    ("remediation", "string"),
    ("frames", "list<int64>"),
    ("fix_client", "string"),
    ("fix_server", "string"),
    ("evidence", "json"),
    ("peer", "json"),
]

SESSION_COLUMNS: List[Tuple[str, str]] = KEY_COLUMNS + [
    ("session_id", "string"),
    ("user", "string"),
    ("mechanism", "string"),
    ("guest", "bool"),
    ("anonymous", "bool"),
    ("encrypted", "bool"),
    ("established", "bool"),
    ("signing_required", "bool"),
    ("verified", "int64"),
    ("forged", "int64"),
    ("unsigned_while_required", "int64"),
    ("no_key", "int64"),
    ("forged_frames", "list<int64>"),
]

HOST_COLUMNS: List[Tuple[str, str]] = [
    ("type", "string"),
    ("address", "string"),
    ("signing", "string"),
    ("os", "string"),
    ("os_version", "string"),
    ("connections", "int64"),
    ("sessions", "int64"),
    ("sessions_signed", "int64"),
    ("sessions_unsigned", "int64"),
    ("signed_messages", "int64"),
    ("unsigned_messages", "int64"),
    ("ntlmv1", "bool"),
    ("smb1_offered", "bool"),
    ("relay_target", "bool"),
    ("findings", "json"),
    ("signing_observed", "json"),
]

TABLES = {
    "connections": CONNECTION_COLUMNS,
    "findings": FINDING_COLUMNS,
    "sessions": SESSION_COLUMNS,
    "hosts": HOST_COLUMNS,
}

_SEVERITY_ORDER = {"info": 0, "warning": 1, "error": 2}


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value, sort_keys=True)


def connection_row(c: Dict[str, Any]) -> Dict[str, Any]:
    row = {name: c.get(name) for name, _ in CONNECTION_COLUMNS}
    sessions = c.get("sessions", [])
    findings = c.get("findings", [])
    row["sessions"] = len(sessions)
    row["users"] = sorted({s["user"] for s in sessions if s.get("user")})
    row["finding_codes"] = [f["code"] for f in findings]
    worst = max((f["severity"] for f in findings), key=_SEVERITY_ORDER.get, default=None)
    row["worst_severity"] = worst
    row["server_os"] = _json(c.get("server_os"))
    row["client_os"] = _json(c.get("client_os"))
    return row


def _key(c: Dict[str, Any]) -> Dict[str, Any]:
    return {name: c.get(name) for name, _ in KEY_COLUMNS}


def finding_rows(c: Dict[str, Any]) -> List[Dict[str, Any]]:
    rows = []
    for f in c.get("findings", []):
        fixes = {x["side"]: x["setting"] for x in f.get("fixes", [])}
        row = _key(c)
        row.update(
            code=f["code"],
            severity=f["severity"],
            message=f["message"],
            remediation=f.get("remediation"),
            frames=f.get("frames", []),
            fix_client=fixes.get("client"),
            fix_server=fixes.get("server"),
            evidence=_json(f.get("evidence")),
            peer=_json(f.get("peer")),
        )
        rows.append(row)
    return rows


def session_rows(c: Dict[str, Any]) -> List[Dict[str, Any]]:
    rows = []
    for s in c.get("sessions", []):
        row = _key(c)
        row.update({name: s.get(name) for name, _ in SESSION_COLUMNS[len(KEY_COLUMNS):]})
        rows.append(row)
    return rows


def host_row(h: Dict[str, Any], relay_targets: set) -> Dict[str, Any]:
    row = {name: h.get(name) for name, _ in HOST_COLUMNS}
    row["relay_target"] = h.get("type") == "server" and h.get("address") in relay_targets
    row["findings"] = _json(h.get("findings"))
    row["signing_observed"] = _json(h.get("signing_observed"))
    return row


def rows(data: Dict[str, Any], table: str) -> List[Dict[str, Any]]:
    """The rows of `table` from a result's `to_dict()` (or the native
    JSON): "connections", "findings", "sessions" or "hosts"."""
    if table not in TABLES:
        raise ValueError(f"table: one of {', '.join(TABLES)}, not {table!r}")
    conns = data["connections"]
    if table == "connections":
        return [connection_row(c) for c in conns]
    if table == "findings":
        return [r for c in conns for r in finding_rows(c)]
    if table == "sessions":
        return [r for c in conns for r in session_rows(c)]
    targets = set(data.get("relay_targets", []))
    return [host_row(h, targets) for h in data["hosts"]]


def _data(result: Any) -> Dict[str, Any]:
    data = getattr(result, "_d", None)
    if data is None:
        raise TypeError("a ScanResult from smbsign.scan or smbsign.scan_many")
    return data


def arrow_schema(table: str):
    """The Arrow schema of `table`."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "json": pa.string(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "list<string>": pa.list_(pa.string()),
        "list<int64>": pa.list_(pa.int64()),
    }
    return pa.schema([(name, types[kind]) for name, kind in TABLES[table]])


def spark_schema(table: str) -> str:
    """The Spark SQL DDL schema of `table` (for mapInArrow/mapInPandas)."""
    types = {
        "string": "string",
        "json": "string",
        "int64": "bigint",
        "bool": "boolean",
        "list<string>": "array<string>",
        "list<int64>": "array<bigint>",
    }
    return ", ".join(f"`{name}` {types[kind]}" for name, kind in TABLES[table])


def to_arrow(result: Any, table: str = "connections"):
    """`table` of `result` as a `pyarrow.Table` ("connections" by default,
    or "findings", "sessions", "hosts"), typed by `arrow_schema(table)`.
    Needs pyarrow (`pip install smbsign[arrow]`)."""
    import pyarrow as pa

    return pa.Table.from_pylist(rows(_data(result), table), schema=arrow_schema(table))


def to_pandas(result: Any, table: str = "connections"):
    """`table` of `result` as a `pandas.DataFrame` ("connections" by
    default: one row per connection; "findings": one per finding, with
    its connection's file, client, server and first frame; "sessions";
    "hosts"). Columns are typed with pandas' nullable dtypes (`string`,
    `Int64`, `boolean`); lists stay lists. Needs pandas
    (`pip install smbsign[pandas]`)."""
    import pandas as pd

    spec = TABLES[table] if table in TABLES else None
    data = rows(_data(result), table)
    frame = pd.DataFrame.from_records(data, columns=[n for n, _ in spec])
    dtypes = {"string": "string", "json": "string", "int64": "Int64", "bool": "boolean"}
    return frame.astype({n: dtypes[k] for n, k in spec if k in dtypes})
