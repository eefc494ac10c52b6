"""Runners of read set import, export and activation jobs, one item (source) at a time
(jobs/items.py)."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ..blobs import CopySource
from ..genomics import ReadSetIngest
from ..queue import kinds
from ..store.domain import Domain
from .following import FollowedDownload
from .ingest import analyse, imported_file_names, ingest_read_set
from .items import ItemFailed, ItemJobRunner
from .objects import ObjectAccessError, S3Objects

NO_ACTIVATION_NEEDED = "No activation needed as read set is already in ACTIVATING or ACTIVE state."


class ImportRunner(ItemJobRunner):
    kind = kinds.READSET_IMPORT

    def run_item(self, job: Any, item: Any) -> str | None:
        domain = self.domain
        source = item.source
        # The item's read set, created (PROCESSING_UPLOAD) by the first attempt.
        read_set = domain.lifecycle.insert_imported(job.id, item.position, job.store_id, source)
        if read_set.status == "ACTIVE":
            return None
        if read_set.status != "PROCESSING_UPLOAD":
            raise ItemFailed(read_set.status_message or f"The read set is {read_set.status}")
        work_dir = self.item_dir(job, item)
        uris = {name: uri for name, uri in source["sourceFiles"].items() if uri}
        names = imported_file_names(source["sourceFiles"], read_set.file_type)
        analysed = None
        try:
            if read_set.file_type == "FASTQ" and isinstance(self.objects, S3Objects):
                paths, copies, analysed = self._scanned_while_downloaded(read_set, uris, work_dir)
            else:
                fetched = {name: self.objects.fetch_copyable(uri, work_dir) for name, uri in uris.items()}
                paths = {name: path for name, (path, _) in fetched.items()}
                copies = {name: copy for name, (_, copy) in fetched.items() if copy is not None}
        except ObjectAccessError as exc:
            domain.lifecycle.fail_processing([read_set.id], str(exc))
            raise ItemFailed(str(exc)) from None
        outcome = ingest_read_set(domain, read_set, paths, work_dir, names, copies=copies, analysed=analysed)
        if isinstance(outcome, str):
            raise ItemFailed(outcome)
        return None

    def _scanned_while_downloaded(self, read_set: Any, uris: dict[str, str], work_dir: Path) -> tuple[
        dict[str, Path], dict[str, CopySource], tuple[ReadSetIngest | str, dict[Path, Future[str]]]
    ]:
        """A FASTQ import from S3: each source downloaded into a file that the scan follows as it
        grows (jobs/following.py), so the scan takes the download's time, not its own after it. A
        download that fails is the item's failure (ObjectAccessError), not what the scan made of
        a cut file; a scan that fails stops the downloads."""
        assert isinstance(self.objects, S3Objects)
        downloads: dict[str, FollowedDownload] = {}
        try:
            for name, uri in uris.items():
                downloads[name] = self.objects.follow(uri, work_dir)
            paths = {name: download.target for name, download in downloads.items()}
            analysed = analyse(self.domain, read_set, paths, work_dir)
        except BaseException:
            for download in downloads.values():
                download.stop()
                with contextlib.suppress(ObjectAccessError):  # the error being raised is the one to report
                    download.wait()
            raise
        if isinstance(analysed[0], str):  # the scan failed: the rest of the bytes are not needed
            for download in downloads.values():
                download.stop()
        copies = {}
        for name, download in downloads.items():
            copy = download.wait()  # raises what a download met (it explains a cut file's failure)
            if copy is not None:
                copies[name] = copy
        return paths, copies, analysed

    def stored_what(self, job: Any, item: Any) -> str:
        return f"read set {item.result_id}" if item.result_id else super().stored_what(job, item)

    def abandon(self, job: Any, item: Any, message: str) -> None:
        """The item's read set, still PROCESSING_UPLOAD, loses what it stored and ends
        UPLOAD_FAILED with `message` (an ACTIVE one is left alone)."""
        read_set = self.domain.lifecycle.get(item.result_id) if item.result_id else None
        if read_set is None or read_set.status != "PROCESSING_UPLOAD":
            return
        self.domain.blobs.delete_prefix(self.domain.lifecycle.blob_prefix(job.store_id, read_set.id))
        self.domain.lifecycle.fail_processing([read_set.id], message)


def missing(read_set_id: str) -> ItemFailed:
    return ItemFailed(f"Read set {read_set_id} does not exist in this sequence store.")


class ExportRunner(ItemJobRunner):
    kind = kinds.READSET_EXPORT

    def run_item(self, job: Any, item: Any) -> str | None:
        domain = self.domain
        read_set_id = item.source["readSetId"]
        found = domain.lifecycle.existing(job.store_id, read_set_id)
        if found is None:
            raise missing(read_set_id)
        read_set, files = found
        if read_set.status != "ACTIVE":
            raise ItemFailed(
                f"Read set {read_set_id} is {read_set.status}; only ACTIVE read sets can be exported."
            )
        destination = job.destination if job.destination.endswith("/") else job.destination + "/"
        work_dir = self.work_dir(job.id) / str(item.position)
        for stored in files:
            try:
                with domain.blobs.local_file(stored.blob_key, work_dir) as path:
                    self.objects.put(f"{destination}{read_set_id}/{stored.file_name}", path)
            except ObjectAccessError as exc:
                raise ItemFailed(str(exc)) from None
        domain.lifecycle.note_access_now(read_set_id)
        return None


class ActivationRunner(ItemJobRunner):
    kind = kinds.READSET_ACTIVATION
    shared = False  # at most 20 quick items: one worker does them in order

    def run_item(self, job: Any, item: Any) -> str | None:
        domain = self.domain
        read_set_id = item.source["readSetId"]
        outcome = domain.lifecycle.begin_activation(job.id, item, job.store_id, read_set_id)
        if outcome == "missing":
            raise missing(read_set_id)
        if outcome == "active":
            return NO_ACTIVATION_NEEDED
        if outcome != "started":
            raise ItemFailed(f"Read set {read_set_id} is {outcome} and cannot be activated.")
        domain.read_set_objects.move_files(read_set_id, archived=False)
        domain.lifecycle.finish_activation(read_set_id)
        return None


class Archiver:
    """Archives ACTIVE read sets not read for `archive_after_seconds` (0 = never)."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def run_once(self, limit: int = 100) -> int:
        period = self.domain.settings.archive_after_seconds
        if period <= 0:
            return 0
        ids = self.domain.lifecycle.archive_idle(period, limit)
        for read_set_id in ids:
            self.domain.read_set_objects.move_files(read_set_id, archived=True)
        return len(ids)
