"""Runner of reference import jobs: fetch each FASTA, validate it, index it, store it."""

from __future__ import annotations

from typing import Any

from .. import genomics
from ..genomics import IngestError
from ..genomics.streams import file_md5
from ..queue import items, kinds
from ..store.read_set_rows import safe_file_name
from .items import ItemFailed, ItemJobRunner
from .objects import ObjectAccessError

# Accepted reference file names (docs/behaviour.md, "Reference file names"): FASTA extensions,
# optionally followed by a gzip/bgzip extension.
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
    kind = kinds.REFERENCE_IMPORT
    shared = False  # a few references, created in the order of the sources

    def run_item(self, job: Any, item: Any) -> str | None:
        domain = self.domain
        source = item.source
        check_extension(source["sourceFile"])
        reference_id = item.result_id
        if reference_id is not None:
            if domain.references.exists(reference_id):
                return None
        else:
            # The id is chosen before any bytes are stored, so a re-run reuses it (no orphans).
            reference_id = domain.references.new_id()
            items.remember_result(domain.db, job.id, item.position, reference_id)
        work_dir = self.item_dir(job, item)
        try:
            path = self.objects.fetch(source["sourceFile"], work_dir)
            result = genomics.ingest_reference(path, work_dir)
        except (ObjectAccessError, IngestError) as exc:
            items.remember_result(domain.db, job.id, item.position, None)
            raise ItemFailed(str(exc)) from None
        prefix = domain.references.blob_prefix(job.store_id, reference_id)
        name = safe_file_name(source["name"])
        files = []
        for file, local, file_name in (
            ("source", result.fasta_path, f"{name}.fasta"),
            ("index", result.fai_path, f"{name}.fasta.fai"),
        ):
            key = f"{prefix}/{file_name}"
            digest = file_md5(local)  # before a move takes the file away
            size = domain.blobs.put_file(key, local, move=local.is_relative_to(work_dir))
            files.append((file, key, file_name, size, digest))
        domain.references.create_imported(job.store_id, reference_id, job.id, source, result.md5, files)
        return None

    def stored_what(self, job: Any, item: Any) -> str:
        return f"reference {item.source['name']}"

    def abandon(self, job: Any, item: Any, message: str) -> None:
        """A reference not created (a full disk, say) leaves no half-stored files, and its
        source names no reference."""
        reference_id = item.result_id
        if reference_id is None or self.domain.references.exists(reference_id):
            return
        self.domain.blobs.delete_prefix(self.domain.references.blob_prefix(job.store_id, reference_id))
        items.remember_result(self.domain.db, job.id, item.position, None)
