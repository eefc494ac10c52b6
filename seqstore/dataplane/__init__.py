"""The S3-compatible, read-only data plane (docs/s3.md): every s3Uri seqstore returns is
readable with S3 clients on the omics API's own host and port. `server.py` puts a front router
before both (`routing.py` says which requests are S3's)."""
