"""A store's S3 access point alias, `{account}-{storeId}-{random}-s3alias` as AWS spells them
(docs/s3.md, "Names"): the bucket of every s3Uri the store returns and the name the S3 data plane
answers to. Only the random part is stored (`sequence_stores.s3_alias_token`,
`reference_stores.s3_alias_token`); it is made once, at create (or by migrations 0009 and 0011
for older stores), and never changes."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

ALPHABET = string.ascii_lowercase + string.digits
TOKEN_LENGTH = 24  # 12 + 1 + 10 + 1 + 24 + 8 = 56 characters: within a bucket name's 63
SUFFIX = "-s3alias"
ALIAS = re.compile(r"([0-9]{12})-([0-9]{10})-([a-z0-9]{1,32})-s3alias")


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))


def alias(account_id: str, store_id: str, token: str) -> str:
    return f"{account_id}-{store_id}-{token}{SUFFIX}"


def looks_like_alias(name: str) -> bool:
    """Whether a bucket name has an access point alias's form (the front router's rule for
    unsigned requests: no omics path segment ends so)."""
    return name.endswith(SUFFIX)


@dataclass(frozen=True)
class AliasParts:
    account_id: str
    store_id: str
    token: str


def parse(name: str) -> AliasParts | None:
    """The parts of an alias, or None when `name` is not of the form."""
    match = ALIAS.fullmatch(name)
    return None if match is None else AliasParts(match.group(1), match.group(2), match.group(3))


def store_prefix(account_id: str, store_id: str) -> str:
    """The key prefix of a sequence store's objects (its s3Uri's path), without the final `/`."""
    return f"{account_id}/sequenceStore/{store_id}"


def reference_store_prefix(account_id: str, store_id: str) -> str:
    """The key prefix of a reference store's objects, without the final `/`."""
    return f"{account_id}/referenceStore/{store_id}"
