"""Run by tests/test_s3fs.py with .venv-s3fs's Python (s3fs and fsspec, not seqstore): reads one
s3:// URL through s3fs as a user's code would and prints what it saw as JSON.

    s3fs_client.py ENDPOINT KEY SECRET REGION S3_URL OFFSETS_JSON

OFFSETS_JSON: [[offset, length], ...] read after seeks on one open file. Prints {"sha256",
"size", "slices": [sha256 of each], "ls": [...], "info": {...}, "find": [...]}, or {"error":
TYPE, "message": ...} when s3fs raises."""

from __future__ import annotations

import hashlib
import json
import sys

import fsspec
import s3fs


def main() -> None:
    endpoint, key, secret, region, url, offsets = sys.argv[1:7]
    options = {"key": key, "secret": secret, "client_kwargs": {"endpoint_url": endpoint, "region_name": region}}
    try:
        with fsspec.open(url, "rb", **options) as handle:  # the whole object
            whole = handle.read()
        fs = s3fs.S3FileSystem(**options)
        slices = []
        with fs.open(url, "rb", block_size=64 * 1024) as handle:  # random access, as htslib on fsspec reads
            for offset, length in json.loads(offsets):
                handle.seek(offset)
                slices.append(hashlib.sha256(handle.read(length)).hexdigest())
        folder = url.rsplit("/", 1)[0]
        listed = sorted(fs.ls(folder, detail=False))
        info = fs.info(url)
        found = sorted(fs.find(url.split("/readSet/")[0]))
    except Exception as error:  # noqa: BLE001 - the test reads what s3fs raised
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
        return
    print(json.dumps({
        "sha256": hashlib.sha256(whole).hexdigest(), "size": len(whole), "slices": slices, "ls": listed,
        "info": {"size": info["size"], "type": info["type"], "ETag": info.get("ETag")}, "find": found,
    }))


if __name__ == "__main__":
    main()
