"""Who runs a turn: one lock file per turn, held with ``flock`` for as long as the run lasts.

The kernel drops an ``flock`` when the last descriptor of its open file
closes, so a holder that dies in any way (SIGKILL included) releases its turn
at once. Each claim opens the file anew, so a second claim in the same process
conflicts as one in another process does. A holder unlinks the file before it
lets go; a claimant that locked a file which was unlinked meanwhile (its inode
is no longer the one at the path) opens the path again, so two claimants never
hold two different files of one turn.

``flock`` is advisory and local: every holder must be a process on this
machine, and the directory on a local file system (NFS may not honour it).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import final

from ._records import TurnBusy

__all__ = ["FileClaims"]


@final
class FileClaims:
    """The lock files of one journal's turns, in ``directory`` (made when first needed)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def path(self, turn_id: str) -> Path:
        """The lock file of ``turn_id``: named by a digest, since a turn id may hold any text."""
        digest = hashlib.sha256(turn_id.encode("utf-8", "surrogatepass")).hexdigest()
        return self._directory / f"{digest}.lock"

    def take(self, turn_id: str) -> int:
        """Lock ``turn_id``'s file without waiting; the descriptor that holds it.

        Raises:
            TurnBusy: another claim, in this process or another, holds the turn.
        """
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self.path(turn_id)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise TurnBusy(
                    f"turn {turn_id!r} is being run by another claim (in this process or another: "
                    f"the lock {str(path)!r} is held); wait for that run to end, or run another turn id"
                ) from None
            if self._still_at_path(fd, path):
                return fd
            os.close(fd)  # its holder unlinked it as we opened it: the turn's file is a new one now

    def give_back(self, fd: int, turn_id: str) -> None:
        """Unlink ``turn_id``'s file and let go of it (closing ``fd`` drops the lock)."""
        try:
            os.unlink(self.path(turn_id))
        finally:
            os.close(fd)

    @staticmethod
    def _still_at_path(fd: int, path: Path) -> bool:
        try:
            at_path = os.stat(path)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (at_path.st_dev, at_path.st_ino) == (held.st_dev, held.st_ino)
