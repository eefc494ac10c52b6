"""Snapshots of the victim's data (its store, read sets, uploads, jobs, access policy and tags, and
the reference store), and what changed between two of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tests.fuzzing.resources import Resources


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _pages(client: Any, method: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        page = getattr(client, method)(**kwargs, **({"nextToken": token} if token else {}))
        items += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return items


def snapshot(client: Any, res: Resources) -> dict[str, Any]:
    """What the invalid requests must leave alone."""
    victim = res.victim

    def attempt(call: Callable[[], Any]) -> Any:
        try:
            return _clean(call())
        except ClientError as exc:
            return {"error": exc.response["Error"]["Code"]}

    shot: dict[str, Any] = {
        "sequenceStores": {s["id"]: _clean(s) for s in _pages(client, "list_sequence_stores", "sequenceStores")},
        "victimStore": attempt(lambda: client.get_sequence_store(id=victim.store)),
        "readSets": attempt(lambda: _pages(client, "list_read_sets", "readSets", sequenceStoreId=victim.store)),
        "uploads": attempt(lambda: _pages(client, "list_multipart_read_set_uploads", "uploads",
                                          sequenceStoreId=victim.store)),
        "uploadParts": attempt(lambda: _pages(client, "list_read_set_upload_parts", "parts",
                                              sequenceStoreId=victim.store, uploadId=victim.upload,
                                              partSource="SOURCE1")),
        "importJobs": attempt(lambda: _pages(client, "list_read_set_import_jobs", "importJobs",
                                             sequenceStoreId=victim.store)),
        "exportJobs": attempt(lambda: _pages(client, "list_read_set_export_jobs", "exportJobs",
                                             sequenceStoreId=victim.store)),
        "activationJobs": attempt(lambda: _pages(client, "list_read_set_activation_jobs", "activationJobs",
                                                 sequenceStoreId=victim.store)),
        "accessPolicy": attempt(lambda: client.get_s3_access_policy(s3AccessPointArn=victim.access_point)),
        "referenceStore": attempt(lambda: client.get_reference_store(id=res.reference_store)),
        "reference": attempt(lambda: client.get_reference_metadata(referenceStoreId=res.reference_store,
                                                                   id=res.reference)),
    }
    read_sets = shot["readSets"] if isinstance(shot["readSets"], list) else []
    shot["readSetMetadata"] = {
        r["id"]: attempt(lambda r=r: client.get_read_set_metadata(sequenceStoreId=victim.store, id=r["id"]))
        for r in read_sets
    }
    shot["tags"] = {arn: attempt(lambda arn=arn: client.list_tags_for_resource(resourceArn=arn))
                    for arn in res.tag_arns(victim)}
    return shot


def compare(before: dict[str, Any], after: dict[str, Any], res: Resources, created: set[str],
            deleted: set[str]) -> list[str]:
    """The differences the invalid requests made (valid creates and deletes, and the scratch store,
    are allowed to change the list of stores)."""
    problems = []
    stores_before, stores_after = before["sequenceStores"], after["sequenceStores"]
    expected = (set(stores_before) | created) - deleted
    if set(stores_after) != expected:
        problems.append(f"sequence stores: unexpected {sorted(set(stores_after) - expected)}, "
                        f"missing {sorted(expected - set(stores_after))}")
    for store_id, entry in stores_before.items():
        if store_id in (res.scratch.store, *res.disposable) or store_id in deleted:
            continue
        if stores_after.get(store_id) != entry:
            problems.append(f"sequence store {store_id}: {entry} -> {stores_after.get(store_id)}")
    for key in before:
        if key != "sequenceStores" and before[key] != after[key]:
            problems.append(f"{key}: {json.dumps(before[key], default=str)[:600]} -> "
                            f"{json.dumps(after[key], default=str)[:600]}")
    return problems
