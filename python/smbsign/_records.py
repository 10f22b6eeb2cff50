"""Typed views of smbsign's results.

Each object wraps the JSON object the CLI prints for it (`smbsign scan
--json`, `smbsign hosts --json`): its attributes are that object's fields,
nested objects come back typed, and `to_dict()` gives the JSON object
itself, field for field. Fields added by later versions show up as
attributes without a new release of these classes.
"""

from __future__ import annotations

import copy
from typing import Any, Dict


class Record:
    """A typed view of one JSON object of smbsign's output."""

    __slots__ = ("_d",)
    #: Fields holding nested objects: name -> class (lists are mapped).
    _nested: Dict[str, type] = {}

    def __init__(self, data: Dict[str, Any]):
        self._d = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            value = self._d[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r} "
                f"(fields: {', '.join(self._d)})"
            ) from None
        kind = self._nested.get(name)
        if kind is None or value is None:
            return value
        if isinstance(value, list):
            return [kind(v) for v in value]
        return kind(value)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._d))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._d == other._d  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        keys = [k for k in self._repr_keys if k in self._d]
        inner = ", ".join(f"{k}={self._d[k]!r}" for k in keys)
        return f"{type(self).__name__}({inner})"

    _repr_keys: tuple = ()

    def to_dict(self) -> Dict[str, Any]:
        """This object as the CLI's JSON has it (a deep copy)."""
        return copy.deepcopy(self._d)


class Fix(Record):
    """The setting to change on one side (`side`: "client" or "server"),
    as one sentence (`setting`) and one part per place (`parts`)."""

    __slots__ = ()
    _repr_keys = ("side", "setting")


class Evidence(Record):
    """One compared value: `field`, what was `seen`, what was `expected`."""

    __slots__ = ()
    _repr_keys = ("field", "seen", "expected")


class Peer(Record):
    """The other connection of a cross-connection finding (a relay's
    other leg): `role`, `file`, `client`, `server`, `frame`."""

    __slots__ = ()
    _repr_keys = ("role", "client", "server")


class Finding(Record):
    """A finding: `code`, `severity` ("info", "warning", "error"),
    `message`, `remediation`, `fixes`, `frames`, `evidence`, `peer`."""

    __slots__ = ()
    _nested = {"fixes": Fix, "evidence": Evidence, "peer": Peer}
    _repr_keys = ("code", "severity", "frames")


class Session(Record):
    """One SMB session: `session_id`, `user`, `mechanism`, `guest`,
    `anonymous`, `encrypted`, `signing_required`, its verification
    (`verified`, `forged`, `no_key`, `forged_frames`), `key`, and Kerberos
    facts (`kerberos`)."""

    __slots__ = ()
    _repr_keys = ("session_id", "user", "mechanism")


class TreeConnect(Record):
    """A TREE_CONNECT: `path`, `frame`, `share_type`, …"""

    __slots__ = ()
    _repr_keys = ("path", "frame")


class Verification(Record):
    """A connection's verification tallies: `signed_messages`,
    `verified_messages`, `forged_messages`, `no_key_messages`,
    `unverifiable_messages`, `unsigned_while_required`, `forged_frames`,
    `decrypted_messages`, `bad_tag_messages`, `bad_tag_frames`."""

    __slots__ = ()
    _repr_keys = ("verified_messages", "forged_messages", "no_key_messages")

    FIELDS = (
        "signed_messages",
        "unsigned_messages",
        "verified_messages",
        "forged_messages",
        "no_key_messages",
        "unverifiable_messages",
        "unsigned_while_required",
        "forged_frames",
        "decrypted_messages",
        "bad_tag_messages",
        "bad_tag_frames",
    )


class Connection(Record):
    """One SMB connection, as `smbsign scan --json` reports it: `file`,
    `client`, `server`, `dialect`, `server_signing`, `client_signing`,
    `signing_algorithm`, `cipher`, message counts, `sessions`, `findings`,
    `tree_connects`, `server_os`, … ; `verification` gathers the
    verification tallies."""

    __slots__ = ()
    _nested = {"sessions": Session, "findings": Finding, "tree_connects": TreeConnect}
    _repr_keys = ("client", "server", "dialect", "server_signing")

    @property
    def verification(self) -> Verification:
        return Verification({k: self._d[k] for k in Verification.FIELDS if k in self._d})

    @property
    def finding_codes(self) -> list:
        return [f["code"] for f in self._d.get("findings", [])]


class Host(Record):
    """One server or client over every capture scanned (`type`: "server"
    or "client"), as `smbsign hosts --json` reports it: `address`,
    `signing`, `signing_observed`, `dialects`, `os`, `findings`,
    `worst_finding`, … A server's `relay_target` says whether it belongs
    on the relay-target list."""

    __slots__ = ()
    _repr_keys = ("type", "address", "signing")


class FileResult(Record):
    """How one input went: `name`, `stats` (frames, bytes, …), `error`
    (None, or why reading stopped or failed) and `error_kind` (None,
    "io", "not-a-capture", "truncated", "corrupt")."""

    __slots__ = ()
    _repr_keys = ("name", "error")
