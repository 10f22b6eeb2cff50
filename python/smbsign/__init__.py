"""smbsign: SMB signing analysis for packet captures, from Python.

    >>> import smbsign
    >>> result = smbsign.scan("capture.pcapng", password="LAB\\\\alice:secret")
    >>> for c in result.connections:
    ...     print(c.server, c.dialect, c.server_signing, c.finding_codes)
    >>> smbsign.to_pandas(result)              # one row per connection
    >>> smbsign.to_pandas(result, "findings")  # one row per finding

The scan runs in the Rust library (the same code as the `smbsign` CLI and
its C API), with the GIL released. Results are typed objects whose
fields are those of `smbsign scan --json` and `smbsign hosts --json`;
`to_dict()` gives that JSON back.
"""

from __future__ import annotations

import json
import os
from typing import Iterable, Iterator, List, Optional, Sequence, Union

from . import _native
from ._records import (
    Connection,
    Evidence,
    FileResult,
    Finding,
    Fix,
    Host,
    Peer,
    Record,
    Session,
    TreeConnect,
    Verification,
)
from ._tables import to_arrow, to_pandas

__version__ = _native.version()

__all__ = [
    "scan",
    "scan_many",
    "to_pandas",
    "to_arrow",
    "ScanResult",
    "Connection",
    "Session",
    "Finding",
    "Fix",
    "Evidence",
    "Peer",
    "TreeConnect",
    "Verification",
    "Host",
    "FileResult",
    "Record",
    "SmbsignError",
    "CaptureNotFoundError",
    "CaptureReadError",
    "NotACaptureError",
    "TruncatedCaptureError",
    "CorruptCaptureError",
    "CredentialsError",
    "InternalError",
]

PathLike = Union[str, "os.PathLike[str]"]
Secrets = Union[None, str, Sequence[str]]


class SmbsignError(Exception):
    """Any error smbsign reports. `name` is the input it concerns (a
    path, or the name given to bytes) and `reason` what was wrong, as the
    CLI prints it (`smbsign: NAME: REASON`)."""

    def __init__(self, name: Optional[str], reason: str):
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}" if name else reason)


class CaptureNotFoundError(SmbsignError, FileNotFoundError):
    """The capture file does not exist."""


class CaptureReadError(SmbsignError, OSError):
    """The capture could not be read (permissions, a directory, I/O)."""


class NotACaptureError(SmbsignError, ValueError):
    """The input is empty, or neither pcap nor pcapng (nor gzip of one)."""


class TruncatedCaptureError(SmbsignError):
    """The capture ends inside a record. `result` holds what was read
    before it (a `ScanResult`), as the CLI reports it."""

    def __init__(self, name: Optional[str], reason: str, result: "ScanResult"):
        super().__init__(name, reason)
        self.result = result


class CorruptCaptureError(TruncatedCaptureError):
    """The capture is corrupt after some frames. `result` holds what was
    read before."""


class CredentialsError(SmbsignError, ValueError):
    """A password, NT hash, session key, keytab or credentials file given
    is malformed or unreadable. The message never repeats the secret."""


class ScanResult:
    """What one scan found.

    - `connections`: every SMB connection (`Connection`), in the order the
      CLI prints them;
    - `hosts`: every server and client seen (`Host`), most exposed first,
      as `smbsign hosts` lists them;
    - `relay_targets`: the servers seen not requiring signing, and never
      requiring it (`smbsign hosts --relay-list`);
    - `files`: how each input went (`FileResult`), and `errors`, those
      that failed or stopped early.
    """

    __slots__ = ("_d",)

    def __init__(self, data: dict):
        self._d = data

    @property
    def connections(self) -> List[Connection]:
        return [Connection(c) for c in self._d["connections"]]

    @property
    def hosts(self) -> List[Host]:
        return [Host(h) for h in self._d["hosts"]]

    @property
    def servers(self) -> List[Host]:
        return [Host(h) for h in self._d["hosts"] if h.get("type") == "server"]

    @property
    def clients(self) -> List[Host]:
        return [Host(h) for h in self._d["hosts"] if h.get("type") == "client"]

    @property
    def relay_targets(self) -> List[str]:
        return list(self._d["relay_targets"])

    @property
    def files(self) -> List[FileResult]:
        return [FileResult(f) for f in self._d["files"]]

    @property
    def errors(self) -> List[FileResult]:
        return [FileResult(f) for f in self._d["files"] if f.get("error")]

    @property
    def link_keys(self) -> List[List[str]]:
        """Per connection (in the order of `connections`), the keys
        correlation links it by: each named NTLM logon's proof and server
        challenge ("proof:HEX", "challenge:HEX"). Two connections in
        different captures that share a key may be legs of one relay: scan
        those captures together (`scan_many`) to judge them. Only scans of
        bytes carry them (empty lists otherwise)."""
        keys = self._d.get("link_keys")
        if keys is None:
            return [[] for _ in self._d["connections"]]
        return [list(k) for k in keys]

    @property
    def skipped(self) -> int:
        """Files in the directories given that are not captures."""
        return int(self._d.get("skipped", 0))

    def to_dict(self) -> dict:
        """The whole result as JSON-ready data: `connections` (the CLI's
        `scan --json` lines), `hosts` (its `hosts --json` lines), `files`,
        `relay_targets`, `relay_conflicting`, `skipped`, `walk_errors`."""
        return json.loads(json.dumps(self._d))

    def __iter__(self) -> Iterator[Connection]:
        return iter(self.connections)

    def __len__(self) -> int:
        return len(self._d["connections"])

    def __repr__(self) -> str:
        return (
            f"ScanResult({len(self)} connections, {len(self._d['hosts'])} hosts, "
            f"{len(self._d['files'])} files, {len(self.errors)} errors)"
        )


def _list(value: Secrets, what: str) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    items = [os.fspath(v) for v in value]
    if not all(isinstance(v, str) for v in items):
        raise TypeError(f"{what}: a string or a list of strings")
    return items


def _secrets(password, nt_hash, session_key, keytab, credentials) -> dict:
    files = _list(credentials, "credentials")
    if len(files) > 1:
        raise TypeError("credentials: one credentials file")
    return {
        "passwords": _list(password, "password"),
        "nt_hashes": _list(nt_hash, "nt_hash"),
        "session_keys": _list(session_key, "session_key"),
        "keytabs": _list(keytab, "keytab"),
        "credentials_file": files[0] if files else None,
    }


class InternalError(SmbsignError, RuntimeError):
    """A bug in smbsign (a panic in the library, caught at its boundary)."""


def _native_call(call, *args) -> ScanResult:
    try:
        text = call(*args)
    except ValueError as e:
        raise CredentialsError(None, str(e)) from None
    except RuntimeError as e:
        raise InternalError(None, str(e)) from None
    return ScanResult(json.loads(text))


def _raise_for(result: ScanResult, path: Optional[str]) -> None:
    for f in result._d["files"]:
        kind, reason, name = f.get("error_kind"), f.get("error"), f.get("name")
        if not kind:
            continue
        if kind == "truncated":
            raise TruncatedCaptureError(name, reason, result)
        if kind == "corrupt":
            raise CorruptCaptureError(name, reason, result)
        if kind == "not-a-capture":
            raise NotACaptureError(name, reason)
        if path is not None and not os.path.lexists(path):
            raise CaptureNotFoundError(name, reason)
        raise CaptureReadError(name, reason)
    for e in result._d.get("walk_errors", []):
        raise CaptureReadError(path, e)


def scan(
    source: Union[PathLike, bytes, bytearray, memoryview],
    password: Secrets = None,
    nt_hash: Secrets = None,
    session_key: Secrets = None,
    keytab: Secrets = None,
    credentials: Optional[PathLike] = None,
    *,
    name: Optional[str] = None,
) -> ScanResult:
    """Scan one capture: a pcap or pcapng file (gzip-compressed or not),
    a directory of them, or the capture's bytes.

    Secrets verify signatures and decrypt SMB3 (each a string or a list
    of strings, as the CLI's flags take them):

    - `password`: "USER:PASSWORD" (USER may be "DOMAIN\\\\user");
    - `nt_hash`: "USER:NTHASH" (32 hex digits);
    - `session_key`: "SESSIONID:KEY" (hex, the SMB session key);
    - `keytab`: path of a Kerberos keytab;
    - `credentials`: path of a credentials file (one entry a line).

    `name` names bytes in the reports (default "<bytes>").

    Returns a `ScanResult`. Raises `CaptureNotFoundError`,
    `CaptureReadError`, `NotACaptureError`, `CredentialsError`, and for a
    capture that stops early `TruncatedCaptureError` or
    `CorruptCaptureError`, whose `result` holds what was read.
    """
    secrets = _secrets(password, nt_hash, session_key, keytab, credentials)
    if isinstance(source, (bytes, bytearray, memoryview)):
        result = _native_call(_native.scan_bytes, bytes(source), name, secrets)
        _raise_for(result, None)
        return result
    path = os.fspath(source)
    if not isinstance(path, str):
        raise TypeError("source: a path, or the capture's bytes")
    result = _native_call(_native.scan_paths, [path], 1, secrets)
    if not result._d["files"] and not result._d.get("walk_errors"):
        if not os.path.lexists(path):
            raise CaptureNotFoundError(path, "No such file or directory")
        raise NotACaptureError(path, "no capture to read in the inputs given")
    _raise_for(result, path)
    return result


def scan_many(
    paths: Iterable[PathLike],
    jobs: Optional[int] = None,
    password: Secrets = None,
    nt_hash: Secrets = None,
    session_key: Secrets = None,
    keytab: Secrets = None,
    credentials: Optional[PathLike] = None,
) -> ScanResult:
    """Scan many captures (files, or directories walked for captures),
    `jobs` at a time on threads (default: the cores this process may
    use), with the GIL released. Relays and man-in-the-middle legs are
    found across files; `hosts` and `relay_targets` merge every file.
    Connections come in the CLI's order whatever `jobs` is.

    `paths` may instead be `(name, bytes)` pairs: captures in memory,
    scanned together the same way (the Spark example rescans the captures
    a join paired).

    A file that cannot be read does not stop the others: it is listed in
    `result.errors` (as the CLI reports it on stderr). Secrets as for
    `scan`.
    """
    items = list(paths)
    in_memory = [i for i in items if isinstance(i, tuple)]
    if in_memory and len(in_memory) != len(items):
        raise TypeError("paths: all paths, or all (name, bytes) pairs")
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if jobs < 1:
        raise ValueError("jobs: at least 1")
    secrets = _secrets(password, nt_hash, session_key, keytab, credentials)
    if in_memory:
        pairs = [(str(name), bytes(data)) for name, data in in_memory]
        return _native_call(_native.scan_bytes_many, pairs, int(jobs), secrets)
    return _native_call(_native.scan_paths, [os.fspath(p) for p in items], int(jobs), secrets)
