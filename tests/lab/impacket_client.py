#!/usr/bin/env python3
"""A second real client for the lab: impacket's SMBConnection logs on,
lists the share and reads a file. Usage:
  impacket_client.py HOST PORT DIALECT USER PASSWORD SHARE
DIALECT is smb1, smb2.0.2, smb2.1, smb3 (impacket's highest)."""
import sys
from io import BytesIO

from impacket.smbconnection import SMBConnection, SMB_DIALECT
from impacket.smb3structs import SMB2_DIALECT_002, SMB2_DIALECT_21, SMB2_DIALECT_30

host, port, dialect, user, password, share = sys.argv[1:7]
preferred = {
    "smb1": SMB_DIALECT,
    "smb2.0.2": SMB2_DIALECT_002,
    "smb2.1": SMB2_DIALECT_21,
    "smb3": SMB2_DIALECT_30,
}[dialect]
conn = SMBConnection(host, host, sess_port=int(port), preferredDialect=preferred)
conn.login(user, password)
for f in conn.listPath(share, "*"):
    print(f.get_longname())
buf = BytesIO()
conn.getFile(share, "hello.txt", buf.write)
print("read", len(buf.getvalue()), "bytes")
conn.logoff()
