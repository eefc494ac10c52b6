"""The data planes beside the omics API on its own host and port (seqstore/server.py routes to
them): the S3-compatible, read-only plane (docs/s3.md; `routing.py` says which requests are
S3's), htsget (docs/htsget.md) and DRS (docs/drs.md)."""
