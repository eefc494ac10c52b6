"""An S3 object downloaded into a local file that ingestion reads while it grows (docs/streaming.md,
"Imports"): a FASTQ import's scan, count and hash run during the download instead of after it.

The object is read in ranges, several at once as boto3's transfer manager reads them, each with
`IfMatch` on the ETag the first request saw, but appended to the file in order: a reader following
the file never meets a hole. At most WINDOW ranges are in memory. While the download runs, the file
has its `.feeding` marker; a failed download leaves `.cancelled`, so the readers stop, and its
error is what the import reports."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..blobs import CopySource
from ..genomics.streams import CANCELLED, FEEDING

RANGE_BYTES = 8 * 1024 * 1024
WINDOW = 4  # ranges in flight (and in memory) per object


class FollowedDownload:
    """Downloads `bucket/key` into `target` in a thread of its own; `wait()` gives the object as
    read (for a server-side copy) or raises the error the download met (`describe(exc)`)."""

    def __init__(self, client: Any, bucket: str, key: str, target: Path, describe: Any) -> None:
        self.client, self.bucket, self.key, self.target = client, bucket, key, target
        self.describe = describe  # botocore's error -> the ObjectAccessError to raise
        head = client.head_object(Bucket=bucket, Key=key)  # a missing or unreadable object fails here
        self.etag: str = head["ETag"]
        self.size: int = int(head["ContentLength"])
        self._stop = threading.Event()
        self._error: BaseException | None = None
        target.touch()
        Path(f"{target}{FEEDING}").touch()
        self._thread = threading.Thread(target=self._run, name="seqstore-import-download", daemon=True)
        self._thread.start()

    def _range(self, start: int) -> bytes:
        end = min(start + RANGE_BYTES, self.size) - 1
        response = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end}",
                                          IfMatch=self.etag)  # fmt: skip
        body: bytes = response["Body"].read()
        if len(body) != end - start + 1:
            raise OSError(f"s3://{self.bucket}/{self.key}: a range ended after {len(body)} bytes")
        return body

    def _run(self) -> None:
        starts = list(range(0, self.size, RANGE_BYTES))
        try:
            with open(self.target, "ab", buffering=0) as out, ThreadPoolExecutor(WINDOW) as pool:
                pending: list[Future[bytes]] = [pool.submit(self._range, s) for s in starts[:WINDOW]]
                following = WINDOW
                while pending and not self._stop.is_set():
                    data = pending.pop(0).result()
                    if following < len(starts):
                        pending.append(pool.submit(self._range, starts[following]))
                        following += 1
                    view = memoryview(data)
                    while view:
                        view = view[out.write(view):]
                for future in pending:
                    future.cancel()
            if self._stop.is_set():
                raise InterruptedError("the download was stopped")
        except BaseException as exc:  # noqa: BLE001 - kept for wait(); the readers are told to stop
            self._error = exc
            Path(f"{self.target}{CANCELLED}").touch()
        finally:
            os.unlink(f"{self.target}{FEEDING}")

    def stop(self) -> None:
        """Stop downloading (the scan failed already: the rest of the object is not needed)."""
        self._stop.set()

    def wait(self) -> CopySource | None:
        """The object as read, once the download ended; None when stop() ended it (the caller
        has its reason to report)."""
        self._thread.join()
        if isinstance(self._error, InterruptedError) and self._stop.is_set():
            return None
        if self._error is not None:
            raise self.describe(self._error)
        return CopySource(self.bucket, self.key, self.etag)
