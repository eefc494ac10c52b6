"""The kinds of job the queue holds: one name each, shared by the domain that queues a job and
the worker runner that does it."""

from __future__ import annotations

INGEST_UPLOAD = "INGEST_UPLOAD"  # a direct upload's read set, queued by CompleteMultipartReadSetUpload
READSET_IMPORT = "READSET_IMPORT"
READSET_EXPORT = "READSET_EXPORT"
READSET_ACTIVATION = "READSET_ACTIVATION"
REFERENCE_IMPORT = "REFERENCE_IMPORT"
# Write the objects' tags of a store's read sets again after its propagated keys changed.
PROPAGATE_TAGS = "PROPAGATE_TAGS"

READ_SET_JOB_NAMES = {READSET_IMPORT: "import", READSET_EXPORT: "export", READSET_ACTIVATION: "activation"}
