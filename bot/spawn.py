"""Run git with nothing but os and the interpreter's built-in modules.

The release commands start git before anything else, and the subprocess module costs
~15 ms to import (it brings signal, threading, selectors, contextlib and their own imports),
as long as Python takes to start. os.posix_spawnp, pipes and a reader on a bare thread do
what bot.git needs: run a command to its end, or stream a long `git log`.
"""
from __future__ import annotations

import _signal  # the signal module's constants, without its enum import
import _thread
import os
import time
from _queue import SimpleQueue
from collections.abc import Sequence

PIPE_SIZE = 1 << 20
GATHER = 0.002  # seconds git's output gathers in the pipe between two reads (see _drain)


class Done:
    """A finished command: exit status and everything it printed."""

    __slots__ = ("returncode", "stdout", "stderr")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


PORTABLE = not hasattr(os, "posix_spawnp")  # Windows: the subprocess module after all


class Process:
    """A command started in `cwd`, its output and errors on pipes."""

    __slots__ = ("pid", "stdout", "stderr", "returncode", "_popen")

    def __init__(self, cwd: str, command: Sequence[str], env: dict[str, str], *,
                 portable: bool = PORTABLE) -> None:
        if command[0] != "git":
            raise ValueError("bot.spawn runs git only")
        self.returncode: int | None = None
        self._popen = None
        if portable:
            import subprocess

            self._popen = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.pid = self._popen.pid
            self.stdout, self.stderr = self._popen.stdout.fileno(), self._popen.stderr.fileno()
            return
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        try:
            # posix_spawn has no working-directory action before Python 3.13: git's -C is one.
            argv = ["git", "-C", cwd, *command[1:]]
            # Python ignores SIGPIPE and SIGXFSZ; git gets them back, as subprocess would do.
            self.pid = os.posix_spawnp(command[0], argv, env, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1), (os.POSIX_SPAWN_DUP2, err_write, 2)],
                setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ))
        except BaseException:
            for fd in (out_read, out_write, err_read, err_write):
                os.close(fd)
            raise
        os.close(out_write)
        os.close(err_write)
        self.stdout, self.stderr = out_read, err_read

    def communicate(self) -> Done:
        """Read both pipes to their end, then reap the process."""
        if self._popen is not None:
            out, err = self._popen.communicate()
            self.returncode = self._popen.returncode
            return Done(self.returncode, out, err)
        import select  # a built-in module

        chunks: dict[int, list[bytes]] = {self.stdout: [], self.stderr: []}
        poller = select.poll()
        for fd in chunks:
            poller.register(fd, select.POLLIN)
        open_fds = len(chunks)
        while open_fds:
            for fd, _ in poller.poll():
                data = os.read(fd, PIPE_SIZE)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    open_fds -= 1
        self.close()
        return Done(self.wait(), b"".join(chunks[self.stdout]), b"".join(chunks[self.stderr]))

    def read_errors(self) -> bytes:
        """What the process wrote to its error pipe (call once its output is read)."""
        parts = []
        while data := os.read(self.stderr, PIPE_SIZE):
            parts.append(data)
        return b"".join(parts)

    def poll(self) -> int | None:
        """The exit status, or None while it runs."""
        if self._popen is not None:
            self.returncode = self._popen.poll()
        elif self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        """Wait for the process to end; its exit status."""
        if self._popen is not None:
            self.returncode = self._popen.wait()
        elif self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode

    def kill(self) -> None:
        if self._popen is not None:
            self._popen.kill()
        elif self.poll() is None:
            try:
                os.kill(self.pid, _signal.SIGKILL)
            except ProcessLookupError:  # ended meanwhile
                pass

    def close(self) -> None:
        if self._popen is not None:
            self._popen.stdout.close()
            self._popen.stderr.close()
            return
        for fd in (self.stdout, self.stderr):
            try:
                os.close(fd)
            except OSError:  # closed already
                pass


class LogStream:
    """A running `git log` whose output a thread reads into `chunks` (b"" at the end).

    The reads release the GIL, so git never waits for Python's imports or parsing: the two
    run side by side on two CPUs. Without it git stops whenever the pipe is full. The pipe is
    also enlarged, from 64 KiB to 1 MiB, for when the reader waits for the GIL
    (https://man7.org/linux/man-pages/man7/pipe.7.html).
    """

    __slots__ = ("process", "chunks", "_reading")

    def __init__(self, cwd: str, command: Sequence[str], env: dict[str, str], *,
                 portable: bool = PORTABLE) -> None:
        self.process = Process(cwd, command, env, portable=portable)
        _widen_pipe(self.process.stdout)
        self.chunks: SimpleQueue = SimpleQueue()
        self._reading = _thread.allocate_lock()
        self._reading.acquire()
        _thread.start_new_thread(self._drain, ())

    def _drain(self) -> None:
        # git writes a few KiB at a time; a pause after each read lets the pipe gather a few
        # hundred, so that the parser wakes, and takes the GIL from it, ~50 times, not ~2,000.
        try:
            while chunk := os.read(self.process.stdout, PIPE_SIZE):
                self.chunks.put(chunk)
                time.sleep(GATHER)
        except OSError:
            pass
        finally:
            self.chunks.put(b"")
            self._reading.release()

    def stop(self) -> None:
        """Kill git if it still runs, and reap it and the reader."""
        self.process.kill()
        self.process.wait()
        with self._reading:
            pass
        self.process.close()


def _widen_pipe(fd: int) -> None:
    """Ask Linux for a 1 MiB pipe buffer; elsewhere, or when refused, keep the default."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError):
        pass
