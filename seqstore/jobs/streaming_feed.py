"""One upload ingested as its parts arrive (docs/streaming.md): per source, a scratch file the
parts are appended to in part order by a feeder thread (hashing the bytes' MD5 as it copies)
and a child process scanning that file as it grows (genomics/fastq_stream.py)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import shutil
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from ..blobs import BlobStore
from ..genomics.fastq_stream import SourceScanner
from ..genomics.streams import CANCELLED, FEEDING
from ..store.disk import DiskSpace

log = logging.getLogger("seqstore.streaming")

# Parts that may arrive ahead of the next one expected (a client sending parts a few at a time
# finishes them slightly out of order); they wait, as blob keys, for the gap to fill.
REORDER_WINDOW = 16
COPY_CHUNK = 1 << 20


class Poisoned(Exception):
    """The stream cannot give today's result; str() says why (logged)."""


class SourceFeed:
    """One source: parts accepted in order, copied by a feeder thread into `path`, scanned."""

    def __init__(self, name: str, directory: Path, family: str, blobs: BlobStore, disk: DiskSpace) -> None:
        self.name = name  # "source1" or "source2"
        self.path = directory / f"{name}.upload"
        self.blobs = blobs
        self.disk = disk
        self.accepted: list[str] = []  # blob keys of parts 1..n, in order (copied or queued)
        self.ahead: dict[int, str] = {}  # parts received before the ones they follow
        self.next_number = 1
        self.failure: str | None = None  # why the feed broke, if it did
        self.digest: Future[str] = Future()
        self._keys: queue.Queue[str | None] = queue.Queue()  # keys only: the bytes stay in the blob store
        self._stopped = threading.Event()
        self.path.touch()
        Path(f"{self.path}{FEEDING}").touch()
        self.scanner = SourceScanner(name, self.path, family, directory)
        self._thread = threading.Thread(target=self._feed, name=f"seqstore-feed-{name}", daemon=True)
        self._thread.start()

    def offer(self, number: int, key: str, replaced: bool) -> None:
        """A part was recorded (called under the registry's lock). Raises Poisoned."""
        if number < self.next_number:
            raise Poisoned(f"{self.name} part {number} was sent again after it was ingested")
        if number == self.next_number:
            self._accept(key)
            while self.next_number in self.ahead:
                self._accept(self.ahead.pop(self.next_number))
            return
        if number - self.next_number > REORDER_WINDOW:
            raise Poisoned(f"{self.name} part {number} came too far ahead of part {self.next_number}")
        self.ahead[number] = key  # a replaced part not yet copied is simply replaced

    def _accept(self, key: str) -> None:
        self.accepted.append(key)
        self.next_number += 1
        self._keys.put(key)

    def seal(self) -> None:
        """No more parts: the feed ends after those accepted."""
        self._keys.put(None)

    def _feed(self) -> None:
        md5 = hashlib.md5()
        try:
            with open(self.path, "ab") as out:
                while (key := self._keys.get()) is not None:
                    if self._stopped.is_set():
                        return
                    self.disk.check(self.blobs.size(key), f"ingesting {self.name} while it arrives")
                    with self.blobs.local_file(key, self.path.parent / "parts") as part, open(part, "rb") as source:
                        while block := source.read(COPY_CHUNK):
                            if self._stopped.is_set():
                                return
                            md5.update(block)
                            out.write(block)
                    out.flush()
            self.digest.set_result(md5.hexdigest())
            Path(f"{self.path}{FEEDING}").unlink()  # the scanner reads to the end now
        except Exception as exc:  # any failure: the upload is ingested the ordinary way
            self.failure = f"{self.name}: the feed stopped: {exc}"
            log.info("streaming %s: %s", self.path.parent.name, self.failure)
            self.digest.set_exception(exc)
            Path(f"{self.path}{CANCELLED}").touch()

    def wait(self) -> None:
        self._thread.join()

    def stop(self) -> None:
        """Cancel: the feeder stops, the scanner is killed."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            Path(f"{self.path}{CANCELLED}").touch()
        self._keys.put(None)
        self.scanner.cancel()
        self._thread.join()
        if not self.digest.done():
            self.digest.set_exception(Poisoned("cancelled"))


class UploadFeed:
    """The sources of one upload being ingested as they arrive."""

    def __init__(self, upload_id: str, directory: Path, family: str, blobs: BlobStore, disk: DiskSpace) -> None:
        self.upload_id = upload_id
        self.directory = directory
        self.family = family
        self.blobs = blobs
        self.disk = disk
        self.sources: dict[str, SourceFeed] = {}
        self.sealed: dict[str, list[str]] | None = None
        self.touched = time.monotonic()
        directory.mkdir(parents=True)

    def offer(self, source: str, number: int, key: str, replaced: bool) -> None:
        """Under the registry's lock. Raises Poisoned."""
        self.touched = time.monotonic()
        if self.sealed is not None:
            raise Poisoned(f"{source} part {number} came after Complete")
        name = source.lower()
        feed = self.sources.get(name)
        if feed is None:
            if number > REORDER_WINDOW:
                raise Poisoned(f"{source} began with part {number}")
            feed = self.sources[name] = SourceFeed(name, self.directory, self.family, self.blobs, self.disk)
        feed.offer(number, key, replaced)

    def seal(self, sources: dict[str, list[str]]) -> None:
        """Complete listed `sources`; under the registry's lock. Raises Poisoned unless the parts
        accepted are exactly those listed."""
        self.touched = time.monotonic()
        if self.sealed is not None:
            if self.sealed != sources:
                raise Poisoned("completed twice with different parts")
            return
        if set(self.sources) != set(sources):
            raise Poisoned(f"parts of {sorted(sources)} were listed, {sorted(self.sources)} were streamed")
        for name, feed in self.sources.items():
            if feed.accepted != sources[name]:
                raise Poisoned(f"{name}: the parts listed are not the parts streamed in order")
        self.sealed = sources
        for feed in self.sources.values():
            feed.seal()

    def discard(self) -> None:
        """Stop everything and remove the scratch files (not under the registry's lock: it waits)."""
        for feed in self.sources.values():
            feed.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
