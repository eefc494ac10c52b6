"""Unique names, and the account, region, ARNs and sizes the tests expect of the service (taken
from the spec and the environment the test servers inherit, never from seqstore's code)."""

from __future__ import annotations

import os
import re
import uuid

REGION = os.environ.get("SEQSTORE_REGION", "us-east-1")
ACCOUNT = os.environ.get("SEQSTORE_ACCOUNT_ID", "123456789012")
PART_SIZE = 104_857_600  # the service's part size of uploads and downloads (100 MiB)
MIB = 1024 * 1024  # the largest JSON body
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The role a user passes to import and export jobs; seqstore records it and uses it for nothing.
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/OmicsImportRole"
# Well-formed reference ARNs of this server's region and account that name no reference (enough for
# FASTQ and uBAM read sets, which do not need their reference).
REFERENCE_ARN = f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/1234567890/reference/1234567890"
OTHER_REFERENCE_ARN = f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/1234567890/reference/9876543210"


def unique(prefix: str) -> str:
    """`prefix` and 12 random hex digits: a name no other test (or earlier run) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def reference_arn(store_id: str, reference_id: str) -> str:
    return f"arn:aws:omics:{REGION}:{ACCOUNT}:referenceStore/{store_id}/reference/{reference_id}"
