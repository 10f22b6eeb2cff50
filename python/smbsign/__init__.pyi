"""Type stubs of smbsign: the fields of each result object are those of
`smbsign scan --json` and `smbsign hosts --json`."""

import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

__version__: str

PathLike = Union[str, os.PathLike[str]]
Secrets = Union[None, str, Sequence[str]]

class Record:
    def to_dict(self) -> Dict[str, Any]: ...
    def __getattr__(self, name: str) -> Any: ...


class Fix(Record):
    side: str  # "client" or "server"
    setting: str
    scope: Optional[str]
    parts: List[Dict[str, str]]

class Evidence(Record):
    field: str
    seen: str
    expected: str

class Peer(Record):
    role: str
    file: Optional[str]
    client: str
    server: str
    first_frame: Optional[int]
    frame: Optional[int]

class Finding(Record):
    code: str
    severity: str  # "info", "warning", "error"
    message: str
    remediation: Optional[str]
    fixes: List[Fix]
    frames: List[int]
    evidence: List[Evidence]
    peer: Optional[Peer]

class Session(Record):
    session_id: str
    user: Optional[str]
    mechanism: Optional[str]
    service_principal: Optional[str]
    guest: bool
    anonymous: bool
    encrypted: bool
    established: bool
    signing_required: bool
    verified: int
    forged: int
    unsigned_while_required: int
    no_key: int
    forged_frames: List[int]
    key: Optional[Dict[str, Any]]
    ntlm_mic_valid: Optional[bool]
    kerberos: Optional[Dict[str, Any]]

class TreeConnect(Record):
    path: str
    frame: int
    response_frame: Optional[int]
    share_type: Optional[str]

class Verification(Record):
    signed_messages: int
    unsigned_messages: int
    verified_messages: int
    forged_messages: int
    no_key_messages: int
    unverifiable_messages: int
    unsigned_while_required: int
    forged_frames: List[int]
    decrypted_messages: int
    bad_tag_messages: int
    bad_tag_frames: List[int]

class Connection(Record):
    file: Optional[str]
    client: str
    server: str
    first_frame: Optional[int]
    last_frame: Optional[int]
    dialect: Optional[str]
    server_security_mode: Optional[int]
    client_security_mode: Optional[int]
    offered_dialects: List[str]
    offered_smb1: bool
    server_signing: Optional[str]  # "disabled", "enabled", "required"
    client_signing: Optional[str]
    signing_algorithm: Optional[str]
    cipher: Optional[str]
    signed_messages: int
    unsigned_messages: int
    requests: int
    responses: int
    encrypted_messages: int
    encryption_offered: bool
    compressed_messages: int
    unsigned_while_required: int
    sessions: List[Session]
    findings: List[Finding]
    tree_connects: List[TreeConnect]
    gap_bytes: int
    decode_errors: int
    closed: bool
    verified_messages: int
    forged_messages: int
    no_key_messages: int
    forged_frames: List[int]
    server_names: List[str]
    server_os: Optional[Dict[str, str]]
    client_os: Optional[Dict[str, str]]
    @property
    def verification(self) -> Verification: ...
    @property
    def finding_codes(self) -> List[str]: ...

class Host(Record):
    type: str  # "server" or "client"
    address: str
    signing: str
    signing_observed: Dict[str, int]
    os: Optional[str]
    os_version: Optional[str]
    connections: int
    sessions: int
    findings: Dict[str, int]

class FileResult(Record):
    name: str
    stats: Optional[Dict[str, int]]
    error: Optional[str]
    error_kind: Optional[str]  # "io", "not-a-capture", "truncated", "corrupt"

class ScanResult:
    @property
    def connections(self) -> List[Connection]: ...
    @property
    def hosts(self) -> List[Host]: ...
    @property
    def servers(self) -> List[Host]: ...
    @property
    def clients(self) -> List[Host]: ...
    @property
    def relay_targets(self) -> List[str]: ...
    @property
    def files(self) -> List[FileResult]: ...
    @property
    def errors(self) -> List[FileResult]: ...
    @property
    def link_keys(self) -> List[List[str]]: ...
    @property
    def skipped(self) -> int: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def __iter__(self) -> Iterator[Connection]: ...
    def __len__(self) -> int: ...

class SmbsignError(Exception):
    name: Optional[str]
    reason: str

class CaptureNotFoundError(SmbsignError, FileNotFoundError): ...
class CaptureReadError(SmbsignError, OSError): ...
class NotACaptureError(SmbsignError, ValueError): ...

class TruncatedCaptureError(SmbsignError):
    result: ScanResult

class CorruptCaptureError(TruncatedCaptureError): ...
class CredentialsError(SmbsignError, ValueError): ...
class InternalError(SmbsignError, RuntimeError): ...

def scan(
    source: Union[PathLike, bytes, bytearray, memoryview],
    password: Secrets = ...,
    nt_hash: Secrets = ...,
    session_key: Secrets = ...,
    keytab: Secrets = ...,
    credentials: Optional[PathLike] = ...,
    *,
    name: Optional[str] = ...,
) -> ScanResult: ...
def scan_many(
    paths: Iterable[Union[PathLike, Tuple[str, bytes]]],
    jobs: Optional[int] = ...,
    password: Secrets = ...,
    nt_hash: Secrets = ...,
    session_key: Secrets = ...,
    keytab: Secrets = ...,
    credentials: Optional[PathLike] = ...,
) -> ScanResult: ...
def to_pandas(result: ScanResult, table: str = ...) -> Any: ...
def to_arrow(result: ScanResult, table: str = ...) -> Any: ...
