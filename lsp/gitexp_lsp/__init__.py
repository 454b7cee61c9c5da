"""`gitexp lsp`: the language server the editor extension talks to (protocol: lsp/PROTOCOL.md).

It serves the runs of each workspace folder's repository through `gitexp/...` requests and
gives sweep files diagnostics, hover, completion, code lenses and symbols. It only calls the
`gitexp` library; pygls is imported when the server starts, not when gitexp does.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from gitexp.errors import GitexpError


def parse_tcp(address: str) -> tuple[str, int]:
    """`HOST:PORT` for `--tcp`, refused unless HOST is a loopback address (the server has no auth)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise GitexpError(f"--tcp {address!r}: expected HOST:PORT, e.g. 127.0.0.1:2087")
    host = host.strip("[]") or "127.0.0.1"
    try:
        resolved = socket.getaddrinfo(host, None)
    except OSError:
        raise GitexpError(f"--tcp {address!r}: cannot resolve {host!r}") from None
    if not all(ipaddress.ip_address(info[4][0]).is_loopback for info in resolved):
        raise GitexpError(f"--tcp {address!r}: only loopback addresses are allowed",
                          hint="the server has no authentication; use 127.0.0.1")
    return host, int(port)


def main(tcp: str | None = None) -> None:
    """Serve over stdio, or over loopback TCP when `tcp` is `HOST:PORT`. Logs go to stderr."""
    address = parse_tcp(tcp) if tcp else None
    logging.basicConfig(level=logging.WARNING, format="gitexp-lsp %(levelname)s %(name)s: %(message)s")
    from gitexp_lsp.server import create_server

    server = create_server()
    if address:
        server.start_tcp(*address)
    else:
        server.start_io()
