"""Runner of reference import jobs: fetch each FASTA, validate it, index it, store it."""

from __future__ import annotations

import shutil
from typing import Any

from sqlalchemy import insert, select, update

from .. import genomics
from ..db import schema as t
from ..genomics import IngestError
from ..store.common import new_id, now
from ..store.read_sets import safe_file_name
from ..store.references import REFERENCE_IMPORT
from .objects import ObjectAccessError
from .read_set_jobs import ItemFailed, ItemJobRunner

# Accepted reference file names (spec references.md §3): FASTA extensions, optionally followed by
# a gzip/bgzip extension.
FASTA_EXTENSIONS = (".fasta", ".fa", ".fas", ".fsa", ".faa", ".fna", ".ffn", ".frn", ".mpfa", ".seq", ".txt")
COMPRESSED_EXTENSIONS = (".gz", ".bgz")


def check_extension(uri: str) -> None:
    """Raises ItemFailed unless the object's name ends in a FASTA extension (optionally .gz/.bgz)."""
    name = uri.rsplit("/", 1)[-1].lower()
    for compressed in COMPRESSED_EXTENSIONS:
        if name.endswith(compressed):
            name = name[: -len(compressed)]
            break
    if not name.endswith(FASTA_EXTENSIONS):
        raise ItemFailed(
            f"{uri}: unsupported file extension; name the FASTA .fa, .fasta, .fna, ... (optionally .gz)"
        )


class ReferenceImportRunner(ItemJobRunner):
    kind = REFERENCE_IMPORT
    shared = False  # a few references, created in the order of the sources

    def run_item(self, job: Any, item: Any) -> str | None:
        ctx = self.ctx
        source = item.source
        check_extension(source["sourceFile"])
        reference_id = item.result_id
        if reference_id is not None:
            with ctx.db.read() as connection:
                done = connection.execute(
                    select(t.references.c.id).where(t.references.c.id == reference_id)
                ).first()
            if done is not None:
                return None
        else:
            # The id is chosen before any bytes are stored, so a re-run reuses it (no orphans).
            reference_id = new_id()
            with ctx.db.write() as connection:
                connection.execute(
                    update(t.job_items)
                    .where(t.job_items.c.job_id == job.id, t.job_items.c.position == item.position)
                    .values(result_id=reference_id)
                )
        work_dir = self.work_dir(job.id) / str(item.position)
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        try:
            path = self.objects.fetch(source["sourceFile"], work_dir)
            result = genomics.ingest_reference(path, work_dir)
        except (ObjectAccessError, IngestError) as exc:
            with ctx.db.write() as connection:
                connection.execute(
                    update(t.job_items)
                    .where(t.job_items.c.job_id == job.id, t.job_items.c.position == item.position)
                    .values(result_id=None)
                )
            raise ItemFailed(str(exc)) from None
        prefix = ctx.references.blob_prefix(job.store_id, reference_id)
        name = safe_file_name(source["name"])
        files = []
        for file, local, file_name in (
            ("source", result.fasta_path, f"{name}.fasta"),
            ("index", result.fai_path, f"{name}.fasta.fai"),
        ):
            key = f"{prefix}/{file_name}"
            size = ctx.blobs.put_file(key, local, move=local.is_relative_to(work_dir))
            files.append(
                {
                    "reference_id": reference_id,
                    "file": file,
                    "blob_key": key,
                    "file_name": file_name,
                    "content_length": size,
                    "part_size": ctx.settings.part_size,
                }
            )
        timestamp = now()
        with ctx.db.write() as connection:
            connection.execute(
                insert(t.references).values(
                    id=reference_id,
                    reference_store_id=job.store_id,
                    name=source["name"],
                    description=source.get("description"),
                    md5=result.md5,
                    status="ACTIVE",
                    creation_type="IMPORT",
                    creation_job_id=job.id,
                    creation_time=timestamp,
                    update_time=timestamp,
                )
            )
            connection.execute(insert(t.reference_files), files)
            ctx.tags.put(connection, ctx.arns.reference(job.store_id, reference_id), source.get("tags") or {})
        return None
