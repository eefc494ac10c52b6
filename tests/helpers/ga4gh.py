"""What an htsget client does with a ticket, for the GA4GH tests."""

from __future__ import annotations

import base64
from typing import Any

import requests


def ticket_data(ticket: dict[str, Any]) -> tuple[bytes, int]:
    """The concatenated data of a ticket's URLs, as the spec says a client builds it (data: URIs
    decoded, the others fetched with their headers), and how many bytes came over HTTP."""
    data, fetched = b"", 0
    for entry in ticket["htsget"]["urls"]:
        if entry["url"].startswith("data:"):
            data += base64.b64decode(entry["url"].split(",", 1)[1])
            continue
        response = requests.get(entry["url"], headers=entry.get("headers", {}), timeout=30)
        assert response.status_code in (200, 206), response.text
        data += response.content
        fetched += len(response.content)
    return data, fetched
