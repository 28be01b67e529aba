"""A WASI preview1 host written for one guest: CPython compiled to WebAssembly, running a
learner's program. Everything the guest can touch is in this file.

Why our own host instead of wasmtime's built-in WASI: the guest sees only what we model here
(an in-memory read-only standard library, one small in-memory writable directory, three
standard streams), never a real file, socket or process; every limit (file size, disk use,
open files, output) is checked where the byte is written; and nothing runs on background
threads, so a process holding an initialised guest can fork() it (see zygote.py) — wasmtime's
own WASI does its file I/O on a tokio thread pool that a forked child does not have.

The ABI (struct layouts, errno and flag values) is WASI snapshot preview1:
https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md
Pointers come from the guest and are never trusted: every access is bounds-checked against
the guest's linear memory (an out-of-bounds pointer gets EFAULT).
"""

from __future__ import annotations

import ctypes
import itertools
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# errno values (preview1 `errno` enum).
SUCCESS, E2BIG, EACCES, EBADF, EEXIST, EFAULT, EFBIG = 0, 1, 2, 8, 20, 21, 22
EILSEQ, EINVAL, EIO, EISDIR, EMFILE, ENAMETOOLONG = 25, 28, 29, 31, 33, 37
ENOENT, ENOSPC, ENOSYS, ENOTDIR, ENOTEMPTY, ENOTSUP = 44, 51, 52, 54, 55, 58
EPERM, EROFS, ESPIPE, ENOTCAPABLE = 63, 69, 70, 76

# filetype
FILETYPE_CHARACTER_DEVICE, FILETYPE_DIRECTORY, FILETYPE_REGULAR_FILE = 2, 3, 4
# oflags
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
# fdflags
FDFLAG_APPEND = 1
# rights (bits of `rights`); we only check the two that say read or write.
RIGHT_FD_READ, RIGHT_FD_WRITE = 1 << 1, 1 << 6
ALL_RIGHTS = (1 << 30) - 1
# A character device without seek/tell rights is what wasi-libc's isatty() looks for, so the
# guest line-buffers its output: a learner sees what printed before a limit stopped them.
RIGHT_FD_SEEK, RIGHT_FD_TELL = 1 << 2, 1 << 5
TTY_RIGHTS = ALL_RIGHTS & ~(RIGHT_FD_SEEK | RIGHT_FD_TELL)
# whence
WHENCE_SET, WHENCE_CUR, WHENCE_END = 0, 1, 2
# clocks
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME = 0, 1, 2, 3
# poll_oneoff event types
EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE = 0, 1, 2
SUBCLOCKFLAG_ABSTIME = 1

MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255


class GuestExit(Exception):
    """proc_exit: the guest's program is over. Raised through wasmtime out of `_start`."""

    def __init__(self, code: int) -> None:
        super().__init__(f"guest exited with status {code}")
        self.code = code


class LimitReached(Exception):
    """A limit was hit inside a host call; the guest is stopped and the learner told which."""

    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit


_inode_numbers = itertools.count(1)


@dataclass(eq=False)
class Node:
    """A file or directory of the guest's filesystem. `writable` is fixed per tree: the
    standard library tree is read-only, the sandbox directory is not."""

    is_dir: bool
    writable: bool
    data: bytearray | bytes = b""
    children: dict[str, Node] = field(default_factory=dict)
    parent: Node | None = None
    ino: int = field(default_factory=lambda: next(_inode_numbers))
    mtime_ns: int = field(default_factory=time.time_ns)

    @property
    def size(self) -> int:
        return 0 if self.is_dir else len(self.data)

    def add(self, name: str, node: Node) -> Node:
        node.parent = self
        self.children[name] = node
        return node


def directory(writable: bool) -> Node:
    return Node(is_dir=True, writable=writable)


def tree_from_files(files: dict[str, bytes], *, writable: bool) -> Node:
    """A directory tree from {"a/b.pyc": bytes}."""
    root = directory(writable)
    for path, content in files.items():
        parts = [p for p in path.split("/") if p]
        here = root
        for part in parts[:-1]:
            here = here.children.get(part) or here.add(part, directory(writable))
        here.add(parts[-1], Node(is_dir=False, writable=writable, data=content))
    return root


@dataclass(frozen=True)
class FsLimits:
    file_bytes: int = 1 << 20  # one file
    total_bytes: int = 4 << 20  # everything written to the writable tree
    entries: int = 256  # files and directories created
    open_files: int = 32


@dataclass(eq=False)
class OpenFile:
    node: Node
    readable: bool
    writable: bool
    append: bool = False
    position: int = 0
    preopen_name: str | None = None  # set on the preopened directories (fds 3, 4, ...)


@dataclass(eq=False)
class Stream:
    """A standard stream: stdin reads from bytes, stdout/stderr call `sink`."""

    fd: int
    data: bytes = b""
    position: int = 0
    sink: Callable[[int, bytes], None] | None = None


class WasiHost:
    """The guest's world. One per guest instance; a forked child replaces the per-run parts
    (the writable directory, stdin, the output sinks) with `start_run`."""

    def __init__(
        self,
        *,
        argv: list[str],
        preopens: list[tuple[str, Node]],
        limits: FsLimits = FsLimits(),
        on_yield: Callable[[], int] | None = None,
    ) -> None:
        self.argv = [a.encode() for a in argv]
        self.environ: list[bytes] = []  # an empty environment: nothing of ours reaches it
        self.limits = limits
        self.on_yield = on_yield
        self.fds: dict[int, Stream | OpenFile] = {
            0: Stream(0),
            1: Stream(1),
            2: Stream(2),
        }
        for number, (name, node) in enumerate(preopens, start=3):
            self.fds[number] = OpenFile(node, True, node.writable, preopen_name=name)
        self.written_bytes = 0
        self.created_entries = 0
        self.memory: Any = None  # the guest's exported memory, set after instantiation
        self.store: Any = None

    # -- per-run state ------------------------------------------------------------------
    def start_run(
        self, *, stdin: bytes, sink: Callable[[int, bytes], None], workdir_fd: int, files: Node
    ) -> None:
        """Give this (forked) guest its own program, input and output."""
        self.fds[0] = Stream(0, data=stdin)
        self.fds[1] = Stream(1, sink=sink)
        self.fds[2] = Stream(2, sink=sink)
        preopen = self.fds[workdir_fd]
        assert isinstance(preopen, OpenFile) and preopen.preopen_name is not None
        preopen.node = files
        self.written_bytes = sum(len(n.data) for n in _walk(files) if not n.is_dir)

    # -- guest memory -------------------------------------------------------------------
    def _base_and_size(self) -> tuple[int, int]:
        base = ctypes.addressof(self.memory.data_ptr(self.store).contents)
        return base, self.memory.data_len(self.store)

    def read(self, pointer: int, length: int) -> bytes:
        base, size = self._base_and_size()
        if pointer < 0 or length < 0 or pointer + length > size:
            raise _Fault
        return ctypes.string_at(base + pointer, length)

    def write(self, pointer: int, data: bytes) -> None:
        base, size = self._base_and_size()
        if pointer < 0 or pointer + len(data) > size:
            raise _Fault
        ctypes.memmove(base + pointer, data, len(data))

    def put(self, pointer: int, fmt: str, *values: Any) -> None:
        self.write(pointer, struct.pack("<" + fmt, *values))

    def get(self, pointer: int, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.read(pointer, struct.calcsize("<" + fmt)))

    def path(self, pointer: int, length: int) -> str:
        if length > MAX_PATH_BYTES:
            raise _Errno(ENAMETOOLONG)
        try:
            return self.read(pointer, length).decode("utf-8")
        except UnicodeDecodeError:
            raise _Errno(EILSEQ) from None

    def iovecs(self, pointer: int, count: int) -> list[tuple[int, int]]:
        if count > 1024:
            raise _Errno(EINVAL)
        raw = self.read(pointer, 8 * count)
        return [struct.unpack_from("<II", raw, 8 * i) for i in range(count)]


class _Fault(Exception):
    pass


class _Errno(Exception):
    def __init__(self, errno: int) -> None:
        self.errno = errno


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children.values():
        yield from _walk(child)


# -- the functions the guest imports ---------------------------------------------------
# Each takes the host and the guest's integer arguments and returns an errno. They are wrapped
# by `define` below so that a bad pointer is EFAULT and an _Errno is its value.


def args_sizes_get(host: WasiHost, argc_ptr: int, size_ptr: int) -> int:
    host.put(argc_ptr, "I", len(host.argv))
    host.put(size_ptr, "I", sum(len(a) + 1 for a in host.argv))
    return SUCCESS


def args_get(host: WasiHost, argv_ptr: int, buf_ptr: int) -> int:
    return _string_list(host, host.argv, argv_ptr, buf_ptr)


def environ_sizes_get(host: WasiHost, count_ptr: int, size_ptr: int) -> int:
    host.put(count_ptr, "I", len(host.environ))
    host.put(size_ptr, "I", sum(len(e) + 1 for e in host.environ))
    return SUCCESS


def environ_get(host: WasiHost, environ_ptr: int, buf_ptr: int) -> int:
    return _string_list(host, host.environ, environ_ptr, buf_ptr)


def _string_list(host: WasiHost, items: list[bytes], list_ptr: int, buf_ptr: int) -> int:
    offset = buf_ptr
    for index, item in enumerate(items):
        host.put(list_ptr + 4 * index, "I", offset)
        host.write(offset, item + b"\0")
        offset += len(item) + 1
    return SUCCESS


def clock_res_get(host: WasiHost, clock_id: int, result_ptr: int) -> int:
    if clock_id not in (
        CLOCK_REALTIME,
        CLOCK_MONOTONIC,
        CLOCK_PROCESS_CPUTIME,
        CLOCK_THREAD_CPUTIME,
    ):
        return EINVAL
    host.put(result_ptr, "Q", 1000)
    return SUCCESS


def clock_time_get(host: WasiHost, clock_id: int, _precision: int, result_ptr: int) -> int:
    if clock_id == CLOCK_REALTIME:
        now = time.time_ns()
    elif clock_id == CLOCK_MONOTONIC:
        now = time.monotonic_ns()
    elif clock_id in (CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME):
        now = time.process_time_ns()
    else:
        return EINVAL
    host.put(result_ptr, "Q", now)
    return SUCCESS


def random_get(host: WasiHost, buf_ptr: int, length: int) -> int:
    if length > 1 << 20:
        return EINVAL
    host.write(buf_ptr, os.urandom(length))
    return SUCCESS


def proc_exit(host: WasiHost, code: int) -> None:
    raise GuestExit(code)


def sched_yield(host: WasiHost) -> int:
    # The guest's bootstrap calls os.sched_yield() once it is initialised: that is where the
    # zygote forks one child per run (see zygote.py). Anywhere else it is a plain yield.
    if host.on_yield is not None:
        return host.on_yield()
    return SUCCESS


def _fd(host: WasiHost, fd: int) -> Stream | OpenFile:
    entry = host.fds.get(fd)
    if entry is None:
        raise _Errno(EBADF)
    return entry


def _file(host: WasiHost, fd: int) -> OpenFile:
    entry = _fd(host, fd)
    if isinstance(entry, Stream):
        raise _Errno(ESPIPE)
    return entry


def fd_close(host: WasiHost, fd: int) -> int:
    entry = _fd(host, fd)
    if isinstance(entry, OpenFile) and entry.preopen_name is not None:
        return ENOTSUP  # the guest keeps its directories
    del host.fds[fd]
    return SUCCESS


def fd_fdstat_get(host: WasiHost, fd: int, buf_ptr: int) -> int:
    entry = _fd(host, fd)
    if isinstance(entry, Stream):
        # stdout and stderr look like a terminal (the guest line-buffers them); stdin does
        # not, as when a program's input is piped in, so input("prompt") writes its prompt to
        # stdout like `python main.py < input.txt` does, not to stderr as on a terminal.
        rights = TTY_RIGHTS if entry.fd else ALL_RIGHTS & ~RIGHT_FD_WRITE
        host.put(buf_ptr, "BxHxxxxQQ", FILETYPE_CHARACTER_DEVICE, 0, rights, 0)
        return SUCCESS
    kind = FILETYPE_DIRECTORY if entry.node.is_dir else FILETYPE_REGULAR_FILE
    rights = ALL_RIGHTS
    if not entry.writable:
        rights &= ~RIGHT_FD_WRITE
    if not entry.readable:
        rights &= ~RIGHT_FD_READ
    flags = FDFLAG_APPEND if entry.append else 0
    host.put(buf_ptr, "BxHxxxxQQ", kind, flags, rights, ALL_RIGHTS if entry.node.is_dir else 0)
    return SUCCESS


def fd_fdstat_set_flags(host: WasiHost, fd: int, flags: int) -> int:
    entry = _fd(host, fd)
    if flags & ~FDFLAG_APPEND:
        return ENOTSUP
    if isinstance(entry, OpenFile):
        entry.append = bool(flags & FDFLAG_APPEND)
    return SUCCESS


def _filestat(host: WasiHost, node: Node, buf_ptr: int) -> None:
    kind = FILETYPE_DIRECTORY if node.is_dir else FILETYPE_REGULAR_FILE
    t = node.mtime_ns
    host.put(buf_ptr, "QQBxxxxxxxQQQQQ", 1, node.ino, kind, 1, node.size, t, t, t)


def fd_filestat_get(host: WasiHost, fd: int, buf_ptr: int) -> int:
    entry = _fd(host, fd)
    if isinstance(entry, Stream):
        host.put(buf_ptr, "QQBxxxxxxxQQQQQ", 0, 0, FILETYPE_CHARACTER_DEVICE, 1, 0, 0, 0, 0)
        return SUCCESS
    _filestat(host, entry.node, buf_ptr)
    return SUCCESS


def fd_filestat_set_size(host: WasiHost, fd: int, size: int) -> int:
    entry = _file(host, fd)
    if entry.node.is_dir:
        return EISDIR
    if not entry.writable:
        return EBADF
    _resize(host, entry.node, size)
    return SUCCESS


def fd_filestat_set_times(host: WasiHost, fd: int, _atim: int, _mtim: int, _flags: int) -> int:
    _fd(host, fd)
    return SUCCESS  # times are not part of what a learner's program can rely on here


def fd_advise(host: WasiHost, fd: int, _offset: int, _length: int, _advice: int) -> int:
    _fd(host, fd)
    return SUCCESS


def fd_allocate(host: WasiHost, fd: int, offset: int, length: int) -> int:
    entry = _file(host, fd)
    if not entry.writable or entry.node.is_dir:
        return EBADF
    if offset + length > entry.node.size:
        _resize(host, entry.node, offset + length)
    return SUCCESS


def fd_sync(host: WasiHost, fd: int) -> int:
    _fd(host, fd)
    return SUCCESS


fd_datasync = fd_sync


def _resize(host: WasiHost, node: Node, size: int) -> None:
    if not node.writable:
        raise _Errno(EROFS)
    if size > host.limits.file_bytes:
        raise LimitReached("file_size")
    grow = size - len(node.data)
    if grow > 0 and host.written_bytes + grow > host.limits.total_bytes:
        raise LimitReached("disk")
    host.written_bytes += max(grow, 0)
    data = bytearray(node.data)
    if grow > 0:
        data += bytes(grow)
    else:
        del data[size:]
    node.data = data
    node.mtime_ns = time.time_ns()


def _read_into(
    host: WasiHost, iovs: list[tuple[int, int]], source: bytes | bytearray, start: int
) -> int:
    total = 0
    for pointer, length in iovs:
        chunk = source[start + total : start + total + length]
        host.write(pointer, bytes(chunk))
        total += len(chunk)
        if len(chunk) < length:
            break
    return total


def fd_read(host: WasiHost, fd: int, iovs_ptr: int, iovs_len: int, nread_ptr: int) -> int:
    entry = _fd(host, fd)
    iovs = host.iovecs(iovs_ptr, iovs_len)
    if isinstance(entry, Stream):
        if entry.sink is not None:
            return EBADF
        count = _read_into(host, iovs, entry.data, entry.position)
        entry.position += count
    else:
        if entry.node.is_dir:
            return EISDIR
        if not entry.readable:
            return EBADF
        count = _read_into(host, iovs, entry.node.data, entry.position)
        entry.position += count
    host.put(nread_ptr, "I", count)
    return SUCCESS


def fd_pread(
    host: WasiHost, fd: int, iovs_ptr: int, iovs_len: int, offset: int, nread_ptr: int
) -> int:
    entry = _file(host, fd)
    if entry.node.is_dir:
        return EISDIR
    if not entry.readable:
        return EBADF
    count = _read_into(host, host.iovecs(iovs_ptr, iovs_len), entry.node.data, offset)
    host.put(nread_ptr, "I", count)
    return SUCCESS


def _gather(host: WasiHost, iovs_ptr: int, iovs_len: int) -> bytes:
    return b"".join(host.read(p, n) for p, n in host.iovecs(iovs_ptr, iovs_len))


def _write_at(host: WasiHost, node: Node, position: int, data: bytes) -> int:
    if not node.writable:
        raise _Errno(EROFS)
    end = position + len(data)
    if end > host.limits.file_bytes:
        raise LimitReached("file_size")
    grow = max(end - len(node.data), 0)
    if host.written_bytes + grow > host.limits.total_bytes:
        raise LimitReached("disk")
    host.written_bytes += grow
    buffer = node.data if isinstance(node.data, bytearray) else bytearray(node.data)
    if position > len(buffer):
        buffer += bytes(position - len(buffer))
    buffer[position:end] = data
    node.data = buffer
    node.mtime_ns = time.time_ns()
    return len(data)


def fd_write(host: WasiHost, fd: int, iovs_ptr: int, iovs_len: int, nwritten_ptr: int) -> int:
    entry = _fd(host, fd)
    data = _gather(host, iovs_ptr, iovs_len)
    if isinstance(entry, Stream):
        if entry.sink is None:
            return EBADF
        entry.sink(fd, data)  # may raise LimitReached("output")
        count = len(data)
    else:
        if entry.node.is_dir:
            return EISDIR
        if not entry.writable:
            return EBADF
        if entry.append:
            entry.position = len(entry.node.data)
        count = _write_at(host, entry.node, entry.position, data)
        entry.position += count
    host.put(nwritten_ptr, "I", count)
    return SUCCESS


def fd_pwrite(
    host: WasiHost, fd: int, iovs_ptr: int, iovs_len: int, offset: int, out_ptr: int
) -> int:
    entry = _file(host, fd)
    if entry.node.is_dir:
        return EISDIR
    if not entry.writable:
        return EBADF
    count = _write_at(host, entry.node, offset, _gather(host, iovs_ptr, iovs_len))
    host.put(out_ptr, "I", count)
    return SUCCESS


def fd_seek(host: WasiHost, fd: int, offset: int, whence: int, result_ptr: int) -> int:
    entry = _file(host, fd)
    if entry.node.is_dir:
        return EISDIR
    if offset >= 1 << 63:
        offset -= 1 << 64  # an i64 passed through as unsigned
    base = {WHENCE_SET: 0, WHENCE_CUR: entry.position, WHENCE_END: len(entry.node.data)}.get(whence)
    if base is None or base + offset < 0:
        return EINVAL
    entry.position = base + offset
    host.put(result_ptr, "Q", entry.position)
    return SUCCESS


def fd_tell(host: WasiHost, fd: int, result_ptr: int) -> int:
    entry = _file(host, fd)
    host.put(result_ptr, "Q", entry.position)
    return SUCCESS


def fd_readdir(
    host: WasiHost, fd: int, buf_ptr: int, buf_len: int, cookie: int, used_ptr: int
) -> int:
    entry = _file(host, fd)
    if not entry.node.is_dir:
        return ENOTDIR
    node = entry.node
    listing = [(".", node), ("..", node.parent or node), *sorted(node.children.items())]
    out = bytearray()
    for index in range(cookie, len(listing)):
        name, child = listing[index]
        encoded = name.encode()
        kind = FILETYPE_DIRECTORY if child.is_dir else FILETYPE_REGULAR_FILE
        out += struct.pack("<QQIBxxx", index + 1, child.ino, len(encoded), kind) + encoded
        if len(out) >= buf_len:
            break  # a full buffer tells wasi-libc to call again with a bigger one
    out = out[:buf_len]
    host.write(buf_ptr, bytes(out))
    host.put(used_ptr, "I", len(out))
    return SUCCESS


def fd_prestat_get(host: WasiHost, fd: int, buf_ptr: int) -> int:
    entry = host.fds.get(fd)
    if not isinstance(entry, OpenFile) or entry.preopen_name is None:
        return EBADF
    host.put(buf_ptr, "BxxxI", 0, len(entry.preopen_name.encode()))
    return SUCCESS


def fd_prestat_dir_name(host: WasiHost, fd: int, path_ptr: int, path_len: int) -> int:
    entry = host.fds.get(fd)
    if not isinstance(entry, OpenFile) or entry.preopen_name is None:
        return EBADF
    name = entry.preopen_name.encode()
    if path_len < len(name):
        return ENAMETOOLONG
    host.write(path_ptr, name)
    return SUCCESS


# -- paths ------------------------------------------------------------------------------


def _components(path: str) -> list[str]:
    if path.startswith("/"):
        # wasi-libc turns absolute paths into (preopen, relative path) itself; a raw absolute
        # path would name something outside every directory this guest was given.
        raise _Errno(ENOTCAPABLE)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(len(p.encode()) > MAX_NAME_BYTES for p in parts):
        raise _Errno(ENAMETOOLONG)
    return parts


def _walk_to(host: WasiHost, dirfd: int, path: str) -> tuple[Node, str | None]:
    """The directory that holds the last component of `path`, and that component (None when
    the path names the directory itself). `..` never leaves the preopened directory: there is
    nothing above it to reach, and no symbolic links exist to jump elsewhere."""
    entry = _file(host, dirfd)
    if not entry.node.is_dir:
        raise _Errno(ENOTDIR)
    root = _preopen_root(host, entry.node)
    parts = _components(path)
    here = entry.node
    for part in parts[:-1]:
        here = _step(here, part, root)
    if not parts:
        return here, None
    last = parts[-1]
    if last == "..":
        return _step(here, "..", root), None
    return here, last


def _preopen_root(host: WasiHost, node: Node) -> Node:
    roots = {
        id(e.node): e.node
        for e in host.fds.values()
        if isinstance(e, OpenFile) and e.preopen_name is not None
    }
    here: Node | None = node
    while here is not None:
        if id(here) in roots:
            return here
        here = here.parent
    raise _Errno(ENOTCAPABLE)


def _step(here: Node, part: str, root: Node) -> Node:
    if part == "..":
        if here is root:
            raise _Errno(ENOTCAPABLE)
        assert here.parent is not None
        return here.parent
    child = here.children.get(part)
    if child is None:
        raise _Errno(ENOENT)
    if not child.is_dir:
        raise _Errno(ENOTDIR)
    return child


def _lookup(host: WasiHost, dirfd: int, path: str) -> Node:
    parent, name = _walk_to(host, dirfd, path)
    if name is None:
        return parent
    node = parent.children.get(name)
    if node is None:
        raise _Errno(ENOENT)
    return node


def _create(host: WasiHost, parent: Node, name: str, node: Node) -> Node:
    if not parent.writable:
        raise _Errno(EROFS)
    if host.created_entries >= host.limits.entries:
        raise LimitReached("disk")
    host.created_entries += 1
    parent.mtime_ns = time.time_ns()
    return parent.add(name, node)


def path_open(
    host: WasiHost,
    dirfd: int,
    _lookupflags: int,
    path_ptr: int,
    path_len: int,
    oflags: int,
    rights: int,
    _inheriting: int,
    fdflags: int,
    fd_ptr: int,
) -> int:
    path = host.path(path_ptr, path_len)
    parent, name = _walk_to(host, dirfd, path)
    node = parent if name is None else parent.children.get(name)
    wants_write = bool(rights & RIGHT_FD_WRITE) or bool(oflags & O_TRUNC)
    if node is None:
        if not oflags & O_CREAT:
            return ENOENT
        assert name is not None
        node = _create(host, parent, name, Node(is_dir=False, writable=parent.writable, data=b""))
    elif oflags & O_CREAT and oflags & O_EXCL:
        return EEXIST
    if oflags & O_DIRECTORY and not node.is_dir:
        return ENOTDIR
    if node.is_dir and wants_write and not oflags & O_DIRECTORY:
        return EISDIR
    if wants_write and not node.writable:
        return EROFS
    if len(host.fds) >= host.limits.open_files + 3:
        return EMFILE
    if oflags & O_TRUNC and not node.is_dir:
        _resize(host, node, 0)
    number = next(n for n in itertools.count(3) if n not in host.fds)
    host.fds[number] = OpenFile(
        node,
        readable=bool(rights & RIGHT_FD_READ) or node.is_dir,
        writable=wants_write and not node.is_dir,
        append=bool(fdflags & FDFLAG_APPEND),
    )
    host.put(fd_ptr, "I", number)
    return SUCCESS


def path_filestat_get(
    host: WasiHost, dirfd: int, _flags: int, ptr: int, length: int, buf: int
) -> int:
    _filestat(host, _lookup(host, dirfd, host.path(ptr, length)), buf)
    return SUCCESS


def path_filestat_set_times(
    host: WasiHost, dirfd: int, _flags: int, ptr: int, length: int, *_times: int
) -> int:
    _lookup(host, dirfd, host.path(ptr, length))
    return SUCCESS


def path_create_directory(host: WasiHost, dirfd: int, ptr: int, length: int) -> int:
    parent, name = _walk_to(host, dirfd, host.path(ptr, length))
    if name is None or name in parent.children:
        return EEXIST
    _create(host, parent, name, directory(parent.writable))
    return SUCCESS


def path_remove_directory(host: WasiHost, dirfd: int, ptr: int, length: int) -> int:
    parent, name = _walk_to(host, dirfd, host.path(ptr, length))
    node = parent.children.get(name) if name else None
    if node is None:
        return ENOENT if name else EBUSY_OR_INVAL
    if not node.is_dir:
        return ENOTDIR
    if node.children:
        return ENOTEMPTY
    if not parent.writable:
        return EROFS
    assert name is not None  # node was found under it
    del parent.children[name]
    return SUCCESS


EBUSY_OR_INVAL = EINVAL  # removing "." or the preopened directory itself


def path_unlink_file(host: WasiHost, dirfd: int, ptr: int, length: int) -> int:
    parent, name = _walk_to(host, dirfd, host.path(ptr, length))
    node = parent.children.get(name) if name else None
    if node is None:
        return ENOENT
    if node.is_dir:
        return EISDIR
    if not parent.writable:
        return EROFS
    assert name is not None  # node was found under it
    del parent.children[name]
    host.written_bytes -= len(node.data)
    return SUCCESS


def path_rename(
    host: WasiHost, old_fd: int, old_ptr: int, old_len: int, new_fd: int, new_ptr: int, new_len: int
) -> int:
    old_parent, old_name = _walk_to(host, old_fd, host.path(old_ptr, old_len))
    new_parent, new_name = _walk_to(host, new_fd, host.path(new_ptr, new_len))
    if old_name is None or new_name is None:
        return EINVAL
    node = old_parent.children.get(old_name)
    if node is None:
        return ENOENT
    if not (old_parent.writable and new_parent.writable):
        return EROFS
    ancestor: Node | None = new_parent
    while ancestor is not None:
        if ancestor is node:
            return EINVAL  # a directory moved into itself
        ancestor = ancestor.parent
    existing = new_parent.children.get(new_name)
    if existing is not None and existing is not node:
        if existing.is_dir != node.is_dir:
            return EISDIR if existing.is_dir else ENOTDIR
        if existing.is_dir and existing.children:
            return ENOTEMPTY
        host.written_bytes -= len(existing.data)
    del old_parent.children[old_name]
    new_parent.add(new_name, node)
    return SUCCESS


def path_readlink(host: WasiHost, dirfd: int, ptr: int, length: int, *_buf: int) -> int:
    _lookup(host, dirfd, host.path(ptr, length))
    return EINVAL  # nothing in this filesystem is a symbolic link


def path_symlink(host: WasiHost, *_args: int) -> int:
    return EPERM  # links could alias files across the read-only and writable trees


def path_link(host: WasiHost, *_args: int) -> int:
    return EPERM


def poll_oneoff(host: WasiHost, in_ptr: int, out_ptr: int, count: int, nevents_ptr: int) -> int:
    """Sleeping (time.sleep, select with only a timeout) and readiness of our own streams and
    files, which are always ready. A guest that sleeps holds this host call; the wall clock,
    enforced from outside the process, is what stops it."""
    if count == 0 or count > 64:
        return EINVAL
    fd_events: list[bytes] = []
    clocks: list[tuple[int, float]] = []  # (userdata, monotonic deadline)
    for index in range(count):
        raw = host.read(in_ptr + 48 * index, 48)
        userdata, tag = struct.unpack_from("<QB", raw, 0)
        if tag == EVENTTYPE_CLOCK:
            clock_id, timeout, _precision, flags = struct.unpack_from("<IxxxxQQH", raw, 16)
            seconds = timeout / 1e9
            if flags & SUBCLOCKFLAG_ABSTIME:
                now = time.time() if clock_id == CLOCK_REALTIME else time.monotonic()
                seconds = seconds - now
            clocks.append((userdata, time.monotonic() + max(0.0, seconds)))
        elif tag in (EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE):
            (fd,) = struct.unpack_from("<I", raw, 16)
            error = SUCCESS if fd in host.fds else EBADF
            fd_events.append(_event(userdata, error, tag))
        else:
            return EINVAL
    if not fd_events:
        first = min(deadline for _, deadline in clocks)
        time.sleep(max(0.0, first - time.monotonic()))
        now = time.monotonic()
        fd_events = [_event(u, SUCCESS, EVENTTYPE_CLOCK) for u, d in clocks if d <= now + 1e-4]
    host.write(out_ptr, b"".join(fd_events))
    host.put(nevents_ptr, "I", len(fd_events))
    return SUCCESS


def _event(userdata: int, error: int, tag: int) -> bytes:
    # event: userdata u64, error u16, type u8, then fd_readwrite {nbytes u64, flags u16}.
    return struct.pack("<QHBxxxxxQHxxxxxx", userdata, error, tag, 0, 0)


def sock_accept(host: WasiHost, *_args: int) -> int:
    return ENOTSUP  # no sockets exist in this guest's world


sock_recv = sock_send = sock_shutdown = sock_accept


def _unknown(host: WasiHost, *_args: int) -> int:
    return ENOSYS


def define_imports(linker: Any, module: Any, host: WasiHost) -> list[str]:
    """Define every WASI function `module` imports, bound to `host`, with the parameter types
    the module declares. Returns the names we had no implementation for (they answer ENOSYS)."""
    from wasmtime import ValType

    missing = []
    i32 = ValType.i32()
    for item in module.imports:
        if item.module != "wasi_snapshot_preview1":
            raise ValueError(f"the guest imports {item.module}.{item.name}, which we do not offer")
        implementation = globals().get(item.name)
        if not callable(implementation) or item.name.startswith("_"):
            implementation = _unknown
            missing.append(item.name)
        masks = tuple(0xFFFFFFFF if p == i32 else 0xFFFFFFFFFFFFFFFF for p in item.type.params)
        linker.define_func(item.module, item.name, item.type, _bound(host, implementation, masks))
    return missing


def _bound(
    host: WasiHost, implementation: Callable[..., Any], masks: tuple[int, ...]
) -> Callable[..., Any]:
    def call(*args: int) -> Any:
        # wasmtime hands i32/i64 over as signed Python ints; WASI means them unsigned.
        unsigned = [value & mask for value, mask in zip(args, masks, strict=True)]
        try:
            return implementation(host, *unsigned)
        except _Errno as error:
            return error.errno
        except _Fault:
            return EFAULT

    return call
