"""The ARNs of this server's resources (the real service's forms, in its region and account)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arns:
    """Builds and parses the ARNs of this server's region and account."""

    region: str
    account_id: str

    @property
    def prefix(self) -> str:
        return f"arn:aws:omics:{self.region}:{self.account_id}:"

    def sequence_store(self, store_id: str) -> str:
        return f"{self.prefix}sequenceStore/{store_id}"

    def read_set(self, store_id: str, read_set_id: str) -> str:
        return f"{self.prefix}sequenceStore/{store_id}/readSet/{read_set_id}"

    def reference_store(self, store_id: str) -> str:
        return f"{self.prefix}referenceStore/{store_id}"

    def reference(self, store_id: str, reference_id: str) -> str:
        return f"{self.prefix}referenceStore/{store_id}/reference/{reference_id}"

    def access_point(self, store_id: str) -> str:
        """The ARN of a store's S3 access point (a sequence store's `s3AccessPointArn`; a reference
        store's has the same form: docs/s3.md, "Names")."""
        return f"arn:aws:s3:{self.region}:{self.account_id}:accesspoint/{self.account_id}-{store_id}"

    def parse(self, arn: str) -> list[str] | None:
        """Split an ARN of this server into its path words (`["sequenceStore", "123..."]`), or
        None when it names another region, account or service."""
        if not arn.startswith(self.prefix):
            return None
        return arn[len(self.prefix) :].split("/")
