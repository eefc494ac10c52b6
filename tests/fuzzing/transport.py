"""Sending fuzz requests exactly as built: signed by botocore's SigV4Auth for the very bytes of
the request target and body, written to a keep-alive socket with no URL normalization."""

from __future__ import annotations

import contextlib
import http.client
import socket
from urllib.parse import urlsplit

from tests.fuzzing.wire import Answer, Wire
from tests.helpers.auth import sign


class Transport:
    """A keep-alive connection sending signed requests exactly as built."""

    def __init__(self, url: str, key: str, secret: str, region: str, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.netloc = parts.netloc
        self.key = key
        self.secret = secret
        self.region = region
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def signed_headers(self, wire: Wire) -> list[tuple[str, str]]:
        signed = sign(wire.method, f"http://{self.netloc}{wire.target}", body=wire.body, headers=wire.headers,
                      key=self.key, secret=self.secret, region=self.region)
        headers = [("Host", self.netloc)]
        headers += [(k, v) for k, v in signed.items() if k.lower() not in ("host", "content-length")]
        length = wire.declared_length if wire.declared_length is not None else len(wire.body)
        if length or wire.method not in ("GET", "HEAD", "DELETE"):
            headers.append(("Content-Length", str(length)))
        return headers

    def send(self, wire: Wire) -> Answer:
        head = f"{wire.method} {wire.target} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.signed_headers(wire)) + "\r\n"
        data = head.encode("latin-1") + wire.body
        for attempt in range(2):
            reused = self.sock is not None
            if self.sock is None:
                self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock = self.sock
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(data)  # the server may answer (and close) before reading it all
            try:
                response = http.client.HTTPResponse(sock, method=wire.method)
                response.begin()
                body = response.read()
            except TimeoutError:
                self.close()
                return Answer(None, {}, b"", "timeout")
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if reused and attempt == 0 and isinstance(
                    exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                ):
                    continue  # a keep-alive connection the server had closed: retry on a new one
                return Answer(None, {}, b"", repr(exc))
            headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close or wire.declared_length is not None:
                self.close()
            return Answer(response.status, headers, body)
        return Answer(None, {}, b"", "no answer")
