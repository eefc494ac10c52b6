"""The data planes beside the omics API on the same port: htsget (and, later, S3 reads and DRS).
seqstore/server.py routes requests to them."""
