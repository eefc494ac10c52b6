"""Streaming ingestion (docs/streaming.md): FASTQ uploads are validated, counted and hashed while
their parts arrive, so that the INGEST_UPLOAD job of Complete finds the scans done. The registry
listens to the upload (store/upload_events.py); whatever it cannot stream exactly as the job
would read it (parts out of order beyond a small window, a part replaced after it was fed, an
abort, no free slot, another process running the job) is left to the ordinary path, which gives
the same result."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from ..genomics import IngestError
from ..genomics.fastq import _SourceScan, fastq_result
from ..genomics.fastq_stream import ScanBroken
from ..genomics.results import ReadSetIngest
from ..store.domain import Domain
from ..store.upload_events import RecordedPart
from .streaming_feed import Poisoned, UploadFeed

log = logging.getLogger("seqstore.streaming")

# An upload whose parts stopped coming (or whose job another process ran) gives its slot back.
IDLE_SECONDS = 600.0


@dataclass
class Streamed:
    """What the streams of an upload found, for ingest_read_set: the scratch directory, the
    complete source files in it, the scans' result (or the failure message) and the sources' MD5."""

    work_dir: Path
    sources: dict[str, Path]
    result: ReadSetIngest | str
    digests: dict[Path, Future[str]]

    def close(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


class StreamingIngests:
    """The uploads of this process being ingested as they arrive, at most `slots` at a time."""

    def __init__(self, domain: Domain, slots: int) -> None:
        self.domain = domain
        self.slots = slots
        self.root = domain.settings.data_dir / "work" / "streaming"
        self.directory = self.root / str(os.getpid())
        self._lock = threading.Lock()
        self._feeds: dict[str, UploadFeed] = {}
        self._fallen: dict[str, float] = {}  # uploads left to the ordinary path, until they end
        self.outcomes: Counter[str] = Counter()  # "used", "fallback": Complete's that found a stream or not
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_idle, name="seqstore-stream-reaper", daemon=True)

    def start(self) -> None:
        self.recover()
        self._reaper.start()

    def recover(self) -> None:
        """Remove the scratch files that processes no longer running (this one's pid included:
        a previous process's) left."""
        if not self.root.exists():
            return
        for entry in self.root.iterdir():
            if entry.name == str(os.getpid()) or not _running(entry.name):
                shutil.rmtree(entry, ignore_errors=True)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.discard()

    # the upload's events (store/upload_events.py), in the request's thread

    def part_recorded(self, part: RecordedPart) -> None:
        if part.file_type != "FASTQ":
            return
        upload_id = part.upload_id
        with self._lock:
            if upload_id in self._fallen:
                return
            feed = self._feeds.get(upload_id)
            try:
                if feed is None:
                    if len(self._feeds) >= self.slots:
                        self._fall_back(upload_id, "no free streaming slot")
                        return
                    family = self.domain.sequence_stores.row(part.store_id).etag_algorithm_family
                    feed = self._feeds[upload_id] = UploadFeed(
                        upload_id, self.directory / upload_id, family, self.domain.blobs, self.domain.disk
                    )
                feed.offer(part.source, part.number, part.blob_key, part.replaced)
            except (Poisoned, OSError) as exc:
                self._fall_back(upload_id, str(exc))

    def completed(self, upload_id: str, sources: dict[str, list[str]]) -> None:
        with self._lock:
            self._seal(upload_id, sources)

    def ended(self, upload_id: str) -> None:
        with self._lock:
            self._fallen[upload_id] = time.monotonic()  # a part's late event starts no stream
            feed = self._feeds.pop(upload_id, None)
        if feed is not None:
            threading.Thread(target=feed.discard, name="seqstore-stream-discard", daemon=True).start()

    # the INGEST_UPLOAD job

    def take(self, upload_id: str, sources: dict[str, list[str]]) -> Streamed | None:
        """The streamed analysis of the upload's `sources` (the job's blob keys), once its scans
        ended; None when the job must read the parts itself (every stream was removed then)."""
        with self._lock:
            self._seal(upload_id, sources)
            self._fallen[upload_id] = time.monotonic()  # a part's late event starts no stream
            feed = self._feeds.pop(upload_id, None)
        if feed is None:
            self.outcomes["fallback"] += 1
            return None
        try:
            streamed = self._analysed(feed)
        except BaseException:
            feed.discard()
            raise
        if streamed is None:
            feed.discard()
            self.outcomes["fallback"] += 1
            return None
        self.outcomes["used"] += 1
        return streamed

    def _analysed(self, feed: UploadFeed) -> Streamed | None:
        for source in feed.sources.values():
            source.wait()
            if source.failure is not None:
                log.info("upload %s: ingested from its parts (%s)", feed.upload_id, source.failure)
                return None
        scans: dict[str, _SourceScan] = {}
        failure: str | None = None
        for name in sorted(feed.sources):  # source1's failure is the one told, as ingest_fastq does
            try:
                scans[name] = feed.sources[name].scanner.result()
            except ScanBroken as exc:
                log.info("upload %s: ingested from its parts (%s)", feed.upload_id, exc)
                return None
            except IngestError as exc:
                failure = str(exc)
                for other in feed.sources.values():
                    other.scanner.cancel()
                break
        paths = {name: source.path for name, source in feed.sources.items()}
        result: ReadSetIngest | str
        if failure is not None:
            result = failure
        else:
            try:
                result = fastq_result(paths, scans, feed.family)
            except IngestError as exc:
                result = str(exc)
        digests = {source.path: source.digest for source in feed.sources.values()}
        return Streamed(feed.directory, paths, result, digests)

    # under the lock

    def _seal(self, upload_id: str, sources: dict[str, list[str]]) -> None:
        feed = self._feeds.get(upload_id)
        if feed is not None:
            try:
                feed.seal(sources)
            except Poisoned as exc:
                self._fall_back(upload_id, str(exc))

    def _fall_back(self, upload_id: str, why: str) -> None:
        log.info("upload %s: not streamed (%s); it is ingested from its parts at Complete", upload_id, why)
        self._fallen[upload_id] = time.monotonic()
        feed = self._feeds.pop(upload_id, None)
        if feed is not None:
            threading.Thread(target=feed.discard, name="seqstore-stream-discard", daemon=True).start()

    def _reap_idle(self) -> None:
        while not self._stop.wait(min(30.0, IDLE_SECONDS / 4)):
            limit = time.monotonic() - IDLE_SECONDS
            with self._lock:
                for upload_id, feed in list(self._feeds.items()):
                    if feed.touched < limit:
                        self._fall_back(upload_id, f"idle for {IDLE_SECONDS:.0f} s")
                for upload_id, since in list(self._fallen.items()):
                    if since < limit:
                        del self._fallen[upload_id]

    def metrics(self) -> dict[str, int]:
        """Counts for GET /metrics: Complete's outcomes, and uploads streaming now."""
        with self._lock:
            active = len(self._feeds)
        return {"used": self.outcomes["used"], "fallback": self.outcomes["fallback"], "active": active}


def _running(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
