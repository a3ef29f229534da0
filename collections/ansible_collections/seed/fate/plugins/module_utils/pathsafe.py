# -*- coding: utf-8 -*-
# Copyright: seed.fate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path safety for everything seed.fate writes or deletes below a folder it owns (a deployed project).

One place decides what a relative path may be and how it is reached:

- ``clean_rel`` accepts only canonical relative paths (no leading ``/``, no empty, ``.`` or ``..``
  component, so ``a//b`` and ``a/./b`` are refused rather than normalised behind the caller's back);
- ``Root`` reaches a path one component at a time from an open folder descriptor, each component opened
  with ``O_NOFOLLOW`` (``openat``), so a symbolic link anywhere on the way — not only at the last
  component — stops the operation instead of leading out of the folder, even if it appears between a
  check and the write;
- ``write_at`` is the one atomic write (temporary file in the target's folder, fsync, mode, rename over
  the target; the rename replaces a link at the target, it never writes through it), shared with
  ``fileio.atomic_write``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import hashlib
import os
import stat

CHUNK = 1 << 16
MAX_PATH = 4096
MAX_NAME = 255

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW | _O_CLOEXEC
_O_FILE = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _O_CLOEXEC


class PathError(ValueError):
    """A path that must not be used, or a folder that cannot be reached safely; the message names it."""


def clean_rel(rel, what="path"):
    """``rel`` when it is a canonical relative posix path, else PathError naming ``what``."""
    if not isinstance(rel, str) or not rel:
        raise PathError("%s %r is not a relative path" % (what, rel))
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise PathError("%s %r is not a clean relative path (absolute, or an empty, '.' or '..' component)"
                        % (what, rel))
    if "\0" in rel or len(rel) > MAX_PATH or any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME for p in parts):
        raise PathError("%s %r has a NUL byte or is too long" % (what, rel[:200]))
    return rel


def is_clean_rel(rel):
    try:
        clean_rel(rel)
    except PathError:
        return False
    return True


def under(rel, folders):
    """The folder of ``folders`` that is ``rel`` or holds it, else None (all clean relative paths)."""
    for folder in folders:
        if rel == folder or rel.startswith(folder + "/"):
            return folder
    return None


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _what(dir_fd, name):
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return "not a folder"
    return "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"


def write_at(dir_fd, name, chunks, mode, sha256=None):
    """Write the byte ``chunks`` as ``name`` in the folder ``dir_fd``, atomically, with ``mode``.

    With ``sha256``, the content written must have that digest or nothing replaces ``name``.
    Returns the new file's ``os.stat_result``.
    """
    h = hashlib.sha256() if sha256 else None
    for _attempt in range(100):
        tmp = ".%s.%s.tmp" % (name[:200], binascii.hexlify(os.urandom(4)).decode("ascii"))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _O_CLOEXEC, 0o600,
                         dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    else:
        raise OSError(errno.EEXIST, "no free temporary name", name)
    try:
        try:
            for chunk in chunks:
                if h is not None:
                    h.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            if h is not None and h.hexdigest() != sha256:
                raise PathError("%s: content changed while it was written (sha256 %s, expected %s)"
                                % (name, h.hexdigest(), sha256))
            os.fsync(fd)
            os.fchmod(fd, mode)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    return st


class Root(object):
    """A folder (not a link) and the paths below it, reached without following any link."""

    def __init__(self, path, fd):
        self.path = path
        self.fd = fd

    @classmethod
    def open(cls, path):
        """The existing folder ``path`` (its parents may be links, it may not)."""
        try:
            fd = os.open(path, _O_DIR)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise PathError("%s: is a symbolic link or not a folder; refusing to work through it" % path)
            raise
        return cls(path, fd)

    @classmethod
    def create(cls, parent, name, mode):
        """Folder ``name`` in the existing folder ``parent``, created with ``mode`` when missing."""
        pfd = os.open(parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
        try:
            try:
                os.mkdir(name, mode, dir_fd=pfd)
            except FileExistsError:
                pass
            try:
                fd = os.open(name, _O_DIR, dir_fd=pfd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise PathError("%s: is a symbolic link or not a folder; refusing to work through it"
                                    % os.path.join(parent, name))
                raise
        finally:
            _close(pfd)
        os.fchmod(fd, mode)
        return cls(os.path.join(parent, name), fd)

    def close(self):
        if self.fd is not None:
            _close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def show(self, rel):
        """The full path of ``rel`` for messages."""
        return os.path.join(self.path, *rel.split("/")) if rel else self.path

    def _folder(self, parts, create_mode=None):
        """Descriptor of the folder ``parts`` below the root, or None when one is missing (no create_mode)."""
        fd = os.dup(self.fd)
        for i, name in enumerate(parts):
            try:
                nfd = os.open(name, _O_DIR, dir_fd=fd)
            except FileNotFoundError:
                if create_mode is None:
                    _close(fd)
                    return None
                try:
                    os.mkdir(name, create_mode, dir_fd=fd)
                except FileExistsError:
                    pass
                except BaseException:
                    _close(fd)
                    raise
                try:
                    nfd = os.open(name, _O_DIR, dir_fd=fd)
                except OSError:
                    _close(fd)
                    raise
                try:
                    os.fchmod(nfd, create_mode)
                except OSError:
                    _close(fd)
                    _close(nfd)
                    raise
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    what = _what(fd, name)
                    _close(fd)
                    raise PathError("%s: is %s on disk where a folder is expected; refusing to go through it"
                                    % (self.show("/".join(parts[:i + 1])), what))
                _close(fd)
                raise
            _close(fd)
            fd = nfd
        return fd

    def _parent(self, rel, create_mode=None):
        parts = clean_rel(rel).split("/")
        return self._folder(parts[:-1], create_mode), parts[-1]

    def lstat(self, rel):
        """``os.stat_result`` of ``rel`` itself (a link is not followed), or None when missing.

        A link or a file at any folder on the way raises PathError.
        """
        pfd, name = self._parent(rel)
        if pfd is None:
            return None
        try:
            return os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        finally:
            _close(pfd)

    def _open_nofollow(self, rel, missing, refusing):
        """fd of ``rel`` itself, opened from its parent's fd without following a link; ``missing`` is raised
        when the parent folder is missing, a link is refused saying what was ``refusing`` (to be done)."""
        pfd, name = self._parent(rel)
        if pfd is None:
            raise missing
        try:
            try:
                return os.open(name, _O_FILE, dir_fd=pfd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise PathError("%s: is a symbolic link on disk; refusing to %s" % (self.show(rel), refusing))
                raise
        finally:
            _close(pfd)

    def _open_file(self, rel):
        fd = self._open_nofollow(rel, FileNotFoundError(errno.ENOENT, "its folder is missing", self.show(rel)),
                                 "read through it")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            _close(fd)
            raise PathError("%s: is not a regular file" % self.show(rel))
        return fd, st

    def sha256(self, rel):
        """(hex sha256, stat) of the regular file ``rel``, read in blocks."""
        fd, st = self._open_file(rel)
        h = hashlib.sha256()
        try:
            while True:
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                h.update(chunk)
        finally:
            _close(fd)
        return h.hexdigest(), st

    def read(self, rel, limit):
        """Content of the regular file ``rel`` (at most ``limit`` bytes, else PathError), None when missing."""
        try:
            fd, st = self._open_file(rel)
        except FileNotFoundError:
            return None
        try:
            parts, size = [], 0
            while True:
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise PathError("%s: is larger than %d bytes" % (self.show(rel), limit))
                parts.append(chunk)
            return b"".join(parts)
        finally:
            _close(fd)

    def write(self, rel, chunks, mode, sha256=None, create_mode=None):
        """Write ``rel`` atomically (see ``write_at``); folders on the way are created with ``create_mode``."""
        pfd, name = self._parent(rel, create_mode)
        if pfd is None:
            raise PathError("%s: its folder is missing" % self.show(rel))
        try:
            return write_at(pfd, name, chunks, mode, sha256)
        finally:
            _close(pfd)

    def mkdir(self, rel, mode):
        """Create the folder ``rel`` (its parent must exist) with exactly ``mode``; returns its stat."""
        pfd, name = self._parent(rel)
        if pfd is None:
            raise PathError("%s: its folder is missing" % self.show(rel))
        try:
            try:
                os.mkdir(name, mode, dir_fd=pfd)
            except FileExistsError:
                pass
            fd = os.open(name, _O_DIR, dir_fd=pfd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise PathError("%s: is a symbolic link or not a folder on disk" % self.show(rel))
            raise
        finally:
            _close(pfd)
        try:
            os.fchmod(fd, mode)
            return os.fstat(fd)
        finally:
            _close(fd)

    def chmod(self, rel, mode):
        """Set the mode of the file or folder ``rel`` itself (never through a link)."""
        if not rel:
            os.fchmod(self.fd, mode)
            return
        fd = self._open_nofollow(rel, PathError("%s: is missing" % self.show(rel)), "change it")
        try:
            st = os.fstat(fd)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise PathError("%s: is neither a regular file nor a folder" % self.show(rel))
            os.fchmod(fd, mode)
        finally:
            _close(fd)

    def unlink(self, rel):
        pfd, name = self._parent(rel)
        if pfd is None:
            return
        try:
            os.unlink(name, dir_fd=pfd)
        finally:
            _close(pfd)

    def rmdir(self, rel):
        """Remove the folder ``rel`` when it is empty; returns whether it was removed."""
        pfd, name = self._parent(rel)
        if pfd is None:
            return False
        try:
            os.rmdir(name, dir_fd=pfd)
            return True
        except OSError:
            return False  # not empty (something else lives there now) or already gone
        finally:
            _close(pfd)
