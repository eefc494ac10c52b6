"""Ingest a read set: assemble its sources, validate, count, hash, index, and store the files.

Shared by direct uploads (INGEST_UPLOAD jobs) and, later, import jobs. Every step is safe to
repeat: a re-run after a crash starts from a clean work directory and final files are renamed
into place, so no read set ends ACTIVE without all its bytes."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import genomics, queue
from ..blobs import CopySource
from ..errors import is_out_of_space
from ..genomics import IngestError, ReadSetIngest
from ..genomics.streams import file_md5
from ..store.domain import Domain
from ..store.read_set_lifecycle import Analysis
from ..store.read_set_rows import StoredFile, safe_file_name
from .objects import ObjectAccessError, ObjectStore
from .stats import STATS

if TYPE_CHECKING:
    from .streaming import StreamingIngests

log = logging.getLogger("seqstore.ingest")


def stored_file_names(name: str, file_type: str, paired: bool) -> dict[str, str]:
    """Object names of a read set's files (docs/behaviour.md, "Read set file names"):
    FASTQ `<name>_sourceN.fastq.gz`, BAM/uBAM `<name>.bam` + `.bai`, CRAM `<name>.cram` + `.crai`."""
    base = safe_file_name(name)
    if file_type == "FASTQ":
        names = {"source1": f"{base}_source1.fastq.gz"}
        if paired:
            names["source2"] = f"{base}_source2.fastq.gz"
        return names
    extension = "cram" if file_type == "CRAM" else "bam"
    index = "crai" if file_type == "CRAM" else "bai"
    return {"source1": f"{base}.{extension}", "index": f"{base}.{extension}.{index}"}


def imported_file_names(source_files: dict[str, str], file_type: str) -> dict[str, str]:
    """Object names of an imported read set's files (docs/behaviour.md, "Read set file names"):
    each source keeps its file name (FASTQ, stored gzip-compressed, ends in .gz or .bgz); two
    FASTQ sources of the same name get `_sourceN` before the extension; the index is
    `<source file name>.bai|.crai`."""
    names = {file: safe_file_name(uri.rsplit("/", 1)[-1]) for file, uri in source_files.items() if uri}
    if file_type != "FASTQ":
        names["index"] = f"{names['source1']}.{'crai' if file_type == 'CRAM' else 'bai'}"  # none for uBAM
        return names
    names = {file: name if name.endswith((".gz", ".bgz")) else f"{name}.gz" for file, name in names.items()}
    if names.get("source2") != names["source1"]:
        return names

    def numbered(file: str, name: str) -> str:
        extension = next(e for e in (".fastq.gz", ".fq.gz", ".gz", ".bgz") if name.endswith(e))
        return f"{name[: -len(extension)]}_{file}{extension}"

    return {file: numbered(file, name) for file, name in names.items()}


def ingest_read_set(
    domain: Domain,
    read_set: Any,
    sources: dict[str, Path],
    work_dir: Path,
    names: dict[str, str] | None = None,
    parts: dict[str, list[str]] | None = None,
    on_failure: Callable[[str], str] | None = None,
    copies: dict[str, CopySource] | None = None,
    analysed: tuple[ReadSetIngest | str, dict[Path, Future[str]]] | None = None,
) -> list[StoredFile] | str:
    """Validate and analyse the local source files of a PROCESSING_UPLOAD read set and move its
    files into the blob store, under `names` (default: the direct-upload names). A source stored
    as it came whose bytes are still in the blob store as `parts` (a direct upload's) is joined
    there instead of being written again; one read from an object of the blob store's own S3
    endpoint (`copies`, an import's) is copied there by the server. Returns the stored files
    after marking the read set ACTIVE, or the failure message after marking it UPLOAD_FAILED.
    `on_failure(message)` runs before that mark and returns the message to record, so that a
    client that sees UPLOAD_FAILED sees the final message (and a crash before the mark redoes
    both). `analysed`: the result (or failure message) and the sources' MD5 of a scan already
    made, as streaming ingestion makes it (docs/streaming.md)."""
    result, digests = analysed if analysed is not None else analyse(domain, read_set, sources, work_dir)
    if isinstance(result, str):
        message = result
        if on_failure is not None:
            message = on_failure(message)
        domain.lifecycle.fail_processing([read_set.id], message)
        STATS.read_set_failed()
        return message
    names = names or stored_file_names(read_set.name or read_set.id, read_set.file_type, "source2" in sources)
    prefix = domain.lifecycle.blob_prefix(read_set.sequence_store_id, read_set.id)
    paths = dict(result.stored_paths)
    if result.index_path is not None:
        paths["index"] = result.index_path
    try:
        files = _store_files(domain, prefix, names, paths, sources, work_dir, parts, copies, digests)
    except OSError as exc:
        if is_out_of_space(exc):  # a full disk: none of this read set's files stays half-stored
            domain.blobs.delete_prefix(prefix)
        raise
    tagged = domain.read_set_objects.tag_files(read_set.id, [f.blob_key for f in files])
    analysis = Analysis(result.read_count, result.base_count, result.alignment, result.etag_algorithm, result.etags)
    domain.lifecycle.mark_active(read_set.id, analysis, files)
    domain.read_set_objects.apply_object_tags(read_set.id, written=tagged)
    STATS.read_set_ingested(read_set.file_type, sum(f.content_length for f in files if f.file != "index"))
    return files


def analyse(
    domain: Domain, read_set: Any, sources: dict[str, Path], work_dir: Path
) -> tuple[ReadSetIngest | str, dict[Path, Future[str]]]:
    """Scan the sources: the result or the failure message, and the sources' MD5 (the stored
    bytes' MD5, which DRS serves and verify checks), hashed beside the scan."""
    family = domain.sequence_stores.row(read_set.sequence_store_id).etag_algorithm_family
    hashing = ThreadPoolExecutor(max(1, len(sources)), thread_name_prefix="seqstore-md5")
    digests = {path: hashing.submit(file_md5, path) for path in sources.values()}
    hashing.shutdown(wait=False)
    try:
        if read_set.file_type == "FASTQ":
            return genomics.ingest_fastq(sources["source1"], sources.get("source2"), family, work_dir), digests
        reference = domain.references.fasta_of(read_set.reference_arn)
        if read_set.file_type in ("BAM", "CRAM") and reference is None:
            purpose = "decode it" if read_set.file_type == "CRAM" else "check its contigs"
            raise IngestError(
                f"The {read_set.file_type} names reference {read_set.reference_arn}, which is not an ACTIVE "
                f"reference of this server, so seqstore cannot {purpose}; import the reference first"
            )
        return genomics.ingest_alignment(sources["source1"], read_set.file_type, family, work_dir, reference), digests
    except IngestError as exc:
        return str(exc), digests


def _store_files(
    domain: Domain, prefix: str, names: dict[str, str], paths: dict[str, Path], sources: dict[str, Path],
    work_dir: Path, parts: dict[str, list[str]] | None, copies: dict[str, CopySource] | None,
    digests: dict[Path, Future[str]],
) -> list[StoredFile]:
    """Put a read set's analysed files into the blob store under `prefix`, each with the MD5 of
    its bytes (`digests`: those of the sources, hashed beside the scan)."""
    files = []
    for file, path in paths.items():
        key = f"{prefix}/{names[file]}"
        # Stored as uploaded: a direct upload's parts, still in the blob store, are joined there;
        # an import's source object on the blob store's own S3 endpoint is copied by the server.
        if path == sources.get(file) and (
            (parts and file in parts and domain.blobs.join(key, parts[file]))
            or (copies and file in copies and domain.blobs.copy_in(key, copies[file]))
        ):
            size = path.stat().st_size
            digest = digests[path].result()
        else:
            digest = digests[path].result() if path in digests else file_md5(path)
            size = domain.blobs.put_file(key, path, move=path.is_relative_to(work_dir))
        files.append(StoredFile(file, key, names[file], size, digest))
    return files


class UploadIngestion:
    """Runs INGEST_UPLOAD jobs queued by CompleteMultipartReadSetUpload."""

    def __init__(self, domain: Domain, objects: ObjectStore, streams: StreamingIngests | None = None) -> None:
        self.domain = domain
        self.objects = objects
        self.streams = streams  # the uploads this process ingests as they arrive (docs/streaming.md)

    def work_dir(self, job_id: str) -> Path:
        return self.domain.settings.data_dir / "work" / job_id

    def run(self, job: Any) -> None:
        domain = self.domain
        params = job.params
        read_set_id, upload_id = params["readSetId"], params["uploadId"]
        read_set = domain.lifecycle.get(read_set_id)
        if read_set is None:  # cannot happen: the job was queued with its read set
            raise LookupError(f"read set {read_set_id} of job {job.id} does not exist")
        work_dir = self.work_dir(job.id)
        streamed = None
        if self.streams is not None and read_set.status == "PROCESSING_UPLOAD":
            streamed = self.streams.take(upload_id, params["sources"])
        try:
            if streamed is not None:
                outcome = ingest_read_set(
                    domain,
                    read_set,
                    streamed.sources,
                    streamed.work_dir,
                    parts=params["sources"],
                    on_failure=lambda message: self._keep_in_fallback_location(read_set, streamed.sources, message),
                    analysed=(streamed.result, streamed.digests),
                )
                failure = outcome if isinstance(outcome, str) else None
            elif read_set.status == "PROCESSING_UPLOAD":
                shutil.rmtree(work_dir, ignore_errors=True)
                # The sources are assembled here, then analysed (and FASTQ compressed) beside them.
                needed = sum(domain.blobs.size(key) for keys in params["sources"].values() for key in keys)
                domain.disk.check(needed, f"ingesting read set {read_set_id}")
                work_dir.mkdir(parents=True)
                sources = {
                    source: self._assemble(keys, work_dir / f"{source}.upload")
                    for source, keys in params["sources"].items()
                }
                outcome = ingest_read_set(
                    domain,
                    read_set,
                    sources,
                    work_dir,
                    parts=params["sources"],
                    on_failure=lambda message: self._keep_in_fallback_location(read_set, sources, message),
                )
                failure = outcome if isinstance(outcome, str) else None
            else:  # an earlier attempt got this far before it was interrupted
                failure = read_set.status_message if read_set.status == "UPLOAD_FAILED" else None
            domain.uploads.release_parts(upload_id)
            queue.finish_job(domain.db, job.id, "FAILED" if failure else "COMPLETED", failure)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
            if streamed is not None:
                streamed.close()

    def _keep_in_fallback_location(self, read_set: Any, sources: dict[str, Path], failure: str) -> str:
        """A failed upload's files go to the store's fallbackLocation, if it has one (docs/behaviour.md,
        "Fallback location"):
        `<fallbackLocation><readSetId>/<file name>`. Returns the read set's status message:
        `failure`, and why the files are not in the fallback location if they could not be
        written there."""
        store = self.domain.sequence_stores.row(read_set.sequence_store_id)
        if not store.fallback_location:
            return failure
        prefix = (
            store.fallback_location
            if store.fallback_location.endswith("/")
            else store.fallback_location + "/"
        )
        names = stored_file_names(read_set.name or read_set.id, read_set.file_type, "source2" in sources)
        try:
            for source, path in sources.items():
                self.objects.put(f"{prefix}{read_set.id}/{names[source]}", path)
        except ObjectAccessError as exc:
            log.warning("read set %s: could not keep the failed upload in %s: %s", read_set.id, prefix, exc)
            return f"{failure} (and its files could not be written to the fallback location: {exc})"
        return failure

    def _assemble(self, part_keys: Iterable[str], destination: Path) -> Path:
        self.domain.blobs.assemble(part_keys, destination)
        return destination

    def fail(self, job: Any, message: str) -> None:
        self.domain.lifecycle.fail_processing([job.params["readSetId"]], message)
        queue.finish_job(self.domain.db, job.id, "FAILED", message)
        self.domain.uploads.release_parts(job.params["uploadId"])
        shutil.rmtree(self.work_dir(job.id), ignore_errors=True)
