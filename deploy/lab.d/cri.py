#!/usr/bin/env python3
"""cri.py: a few CRI v1 calls straight to a containerd socket, to check a lab node
without the kubelet (gRPC over curl --http2-prior-knowledge, protobuf by hand).

  cri.py SOCK pull IMAGE          PullImage; prints the image reference
  cri.py SOCK smoke IMAGE         RunPodSandbox + CreateContainer + StartContainer;
                                  prints "SANDBOX_ID CONTAINER_ID POD_IP" and the
                                  time of each call in ms
  cri.py SOCK teardown SANDBOX_ID StopPodSandbox + RemovePodSandbox
  cri.py SOCK pods                ListPodSandbox: "ID STATE NAMESPACE NAME UID" per line
  cri.py SOCK containers          ListContainers: "ID STATE SANDBOX_ID NAME ATTEMPT"
"""
import struct
import subprocess
import sys
import tempfile
import time
import uuid


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, value):
    """A length-delimited field (string, bytes or embedded message)."""
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def vfield(num, n):
    return varint(num << 3) + varint(n)


def decode(buf):
    """Fields of one message: {num: [values]} (bytes for LEN, int for varint)."""
    out, i = {}, 0
    while i < len(buf):
        key, shift = 0, 0
        while True:
            b = buf[i]
            i += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, shift = 0, 0
            while True:
                b = buf[i]
                i += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
        elif wt == 2:
            n, shift = 0, 0
            while True:
                b = buf[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            v = buf[i:i + n]
            i += n
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def call(sock, method, msg):
    with tempfile.NamedTemporaryFile() as req, tempfile.NamedTemporaryFile() as resp:
        req.write(b"\0" + struct.pack(">I", len(msg)) + msg)
        req.flush()
        t0 = time.monotonic()
        hdr = subprocess.run(
            ["curl", "-s", "--http2-prior-knowledge", "--unix-socket", sock,
             "-H", "content-type: application/grpc", "-H", "te: trailers",
             "--data-binary", "@" + req.name, "-D", "-", "-o", resp.name,
             "http://localhost/runtime.v1." + method],
            check=True, capture_output=True, text=True).stdout
        ms = (time.monotonic() - t0) * 1000
        status, message = "0", ""
        for line in hdr.splitlines():
            if line.lower().startswith("grpc-status:"):
                status = line.split(":", 1)[1].strip()
            if line.lower().startswith("grpc-message:"):
                message = line.split(":", 1)[1].strip()
        if status != "0":
            sys.exit("%s: grpc-status %s: %s" % (method, status, message))
        body = open(resp.name, "rb").read()
        return decode(body[5:]) if len(body) >= 5 else {}, ms


def sandbox_config(name, uid):
    meta = field(1, name) + field(2, uid) + field(3, "default")
    return (field(1, meta) + field(2, name) + field(3, "/var/log/pods/default_%s_%s" % (name, uid))
            + field(8, field(1, "/ckube-lab/cri-smoke")))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sock, cmd = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    if cmd == "pods":
        r, _ = call(sock, "RuntimeService/ListPodSandbox", b"")
        states = {0: "SANDBOX_READY", 1: "SANDBOX_NOTREADY"}
        for item in r.get(1, []):
            p = decode(item)
            meta = decode(p[2][0]) if 2 in p else {}
            print(p[1][0].decode(), states.get(p.get(3, [0])[0], "?"),
                  meta.get(3, [b"-"])[0].decode(), meta.get(1, [b"-"])[0].decode(),
                  meta.get(2, [b"-"])[0].decode())
        return
    if cmd == "containers":
        r, _ = call(sock, "RuntimeService/ListContainers", b"")
        states = {0: "CREATED", 1: "RUNNING", 2: "EXITED", 3: "UNKNOWN"}
        for item in r.get(1, []):
            c = decode(item)
            meta = decode(c[3][0]) if 3 in c else {}
            print(c[1][0].decode(), states.get(c.get(6, [0])[0], "?"), c[2][0].decode(),
                  meta.get(1, [b"-"])[0].decode(), meta.get(2, [0])[0])
        return
    if not arg:
        sys.exit(__doc__)
    if cmd == "pull":
        r, ms = call(sock, "ImageService/PullImage", field(1, field(1, arg)))
        print(r[1][0].decode(), "%.0fms" % ms)
    elif cmd == "smoke":
        name, uid = "cri-smoke", str(uuid.uuid4())
        cfg = sandbox_config(name, uid)
        r, ms_pull = call(sock, "ImageService/PullImage", field(1, field(1, arg)))
        r, ms_run = call(sock, "RuntimeService/RunPodSandbox", field(1, cfg))
        sid = r[1][0].decode()
        ccfg = field(1, field(1, "main")) + field(2, field(1, arg)) + field(11, "main/0.log")
        r, ms_create = call(sock, "RuntimeService/CreateContainer",
                            field(1, sid) + field(2, ccfg) + field(3, cfg))
        cid = r[1][0].decode()
        r, ms_start = call(sock, "RuntimeService/StartContainer", field(1, cid))
        r, _ = call(sock, "RuntimeService/PodSandboxStatus", field(1, sid))
        status = decode(r[1][0])
        ip = decode(status[5][0])[1][0].decode() if 5 in status else ""
        print(sid, cid, ip)
        print("PullImage %.0fms RunPodSandbox %.0fms CreateContainer %.0fms StartContainer %.0fms"
              % (ms_pull, ms_run, ms_create, ms_start), file=sys.stderr)
    elif cmd == "teardown":
        call(sock, "RuntimeService/StopPodSandbox", field(1, arg))
        call(sock, "RuntimeService/RemovePodSandbox", field(1, arg))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
