"""A minimal FastCGI client (responder role, one request per connection),
to drive a FastCGI worker without a web server (stdlib only).

    import fcgiclient
    st, headers, body, err = fcgiclient.request(
        "/path/to.sock", fcgiclient.params("POST", body, "application/json"),
        body)

See the FastCGI specification 1.0: records of an 8-byte header (version,
type, request id, content length, padding length, reserved) and up to
65535 bytes of content.
"""
import socket
import struct

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, \
    STDERR = 1, 2, 3, 4, 5, 6, 7
RESPONDER = 1
REQUEST_ID = 1
HEADER = struct.Struct(">BBHHBx")
END_BODY = struct.Struct(">IB3x")


def record(rtype, content=b"", rid=REQUEST_ID):
    """One record, padded to a multiple of 8 bytes."""
    pad = -len(content) % 8
    return HEADER.pack(VERSION, rtype, rid, len(content), pad) + content + \
        b"\0" * pad


def stream(rtype, data):
    """data as records of rtype, then the empty record ending the stream."""
    out = []
    for i in range(0, len(data), 65535):
        out.append(record(rtype, data[i:i + 65535]))
    out.append(record(rtype))
    return b"".join(out)


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    """Name-value pairs: lengths in 1 byte (< 128) or 4 (high bit set)."""
    out = []
    for k, v in params.items():
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out.append(_length(len(k)) + _length(len(v)) + k + v)
    return b"".join(out)


def params(method="POST", body=b"", ctype="application/json",
           remote="127.0.0.1", length=None, extra=None):
    """CGI/1.1 parameters as a web server would send them."""
    p = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
         "REQUEST_METHOD": method, "SCRIPT_NAME": "/smshook",
         "REQUEST_URI": "/smshook", "REMOTE_ADDR": remote,
         "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80"}
    if ctype is not None:
        p["CONTENT_TYPE"] = ctype
    if length is None and body:
        length = len(body)
    if length is not None:
        p["CONTENT_LENGTH"] = str(length)
    p.update(extra or {})
    return p


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("FastCGI connection closed mid-record "
                                  "(%d of %d bytes)" % (len(buf), n))
        buf += chunk
    return buf


def parse_response(out):
    """CGI response (Status header, headers, body) -> (status, headers,
    body); status 200 when the worker sends no Status header."""
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    status = 200
    for line in head.split(b"\r\n"):
        k, _, v = line.decode("latin-1").partition(":")
        v = v.strip()
        if k.lower() == "status":
            status = int(v.split()[0])
        headers[k.lower()] = v
    return status, headers, body


def request(address, prm, body=b"", timeout=30, family=socket.AF_UNIX):
    """Send one request; returns (status, headers, body, stderr bytes).
    Raises ConnectionError if the worker closes without FCGI_END_REQUEST
    or ends it with a protocol status other than FCGI_REQUEST_COMPLETE."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
        msg = record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, 0)) + \
            stream(PARAMS, encode_params(prm)) + stream(STDIN, body)
        try:
            sock.sendall(msg)
        except (BrokenPipeError, ConnectionResetError):
            pass    # answered before reading everything (413): read it
        out, err = [], []
        while True:
            ver, rtype, rid, clen, plen = HEADER.unpack(
                _recv_exact(sock, HEADER.size))
            content = _recv_exact(sock, clen + plen)[:clen]
            if ver != VERSION or rid != REQUEST_ID:
                raise ConnectionError("bad record: version %d id %d"
                                      % (ver, rid))
            if rtype == STDOUT:
                out.append(content)
            elif rtype == STDERR:
                err.append(content)
            elif rtype == END_REQUEST:
                app, proto = END_BODY.unpack(content)
                if proto != 0:
                    raise ConnectionError("protocol status %d" % proto)
                break
            else:
                raise ConnectionError("unexpected record type %d" % rtype)
        st, hd, rb = parse_response(b"".join(out))
        return st, hd, rb, b"".join(err)
    finally:
        sock.close()
