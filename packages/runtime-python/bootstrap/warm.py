"""Per-call state of the NanoGrid Python warm server, kept cheap: the scratch directories it empties, and each
call's environment names. Copied beside the user's code as `__nanogrid_warm.py`."""

import os
import shutil
import stat
import time

try:
    import ctypes

    _putenv = ctypes.CDLL(None).putenv
    _putenv.argtypes = [ctypes.c_void_p]
except Exception:  # noqa: BLE001 - no ctypes (or no libc symbols): os.environ's own way, with its cost
    ctypes = None
    _putenv = None

def _unlock(path):
    """Gives the owner back the rights on `path` and the directories below it (never following a link): a
    directory a call made unlistable or unwritable would otherwise survive its emptying, files and all."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return
        os.chmod(path, 0o700)  # the server runs as the function's user: nothing it may not do itself
        with os.scandir(path) as entries:
            below = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for p in below:
        _unlock(p)


def _remove(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p, ignore_errors=True)
    else:
        os.unlink(p)


def _clear(path):
    if not path:
        return
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        p = os.path.join(path, name)
        try:
            _remove(p)
        except OSError:
            pass
        if os.path.lexists(p):  # only when a call locked something: the common path pays one lstat
            _unlock(p)
            try:
                _remove(p)
            except OSError:
                pass  # a mount point, or what its owner cannot remove at all


def _count_files(path):
    n = 0
    if not path:
        return 0
    for _root, _dirs, files in os.walk(path):
        n += len(files)
    return n


# A directory's state is trusted to mean "still empty" only when its mtime and ctime are older than this: a
# change within the kernel's timestamp tick (or a filesystem's 1 s granularity) could leave them equal.
SETTLED_NS = 2_000_000_000
COARSE_SETTLED_NS = 20_000_000


def _state(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_nlink, st.st_size, st.st_mode)


class Scratch:
    """A directory the server empties before each call (/tmp, /output) and whose files it counts after.

    A listing costs five syscalls; one stat tells whether anything happened since the directory was last
    seen empty: creating, removing, renaming or linking an entry changes its mtime and ctime (ctime cannot
    be set back), and anything nested sits below an entry that was created since. A state is kept only
    when it is old enough that a later change cannot share its timestamp."""

    def __init__(self, path):
        self.path = path
        self.empty = None  # the directory's state when it was last listed empty, if trusted
        st = _state(path) if path else None
        self.mode = st[6] if st else None  # the sandbox's mode for it: a call that changed it gets it put back


    def clear(self):
        if not self.path:
            return
        state = _state(self.path)
        if state is not None and state == self.empty:
            return
        self.empty = None
        if state is not None and self.mode is not None and state[6] != self.mode:
            try:
                os.chmod(self.path, stat.S_IMODE(self.mode))
            except OSError:
                pass
        try:
            names = os.listdir(self.path)
        except OSError:
            return
        if names:
            _clear(self.path)
        elif state is not None:
            self._trust(state)

    def count(self):
        if not self.path:
            return 0
        if self.empty is not None and _state(self.path) == self.empty:
            return 0
        self.empty = None
        return _count_files(self.path)

    def _trust(self, state):
        # The stat came before the listing: whatever came after it changes the state.
        mtime, ctime = state[2], state[3]
        settled = SETTLED_NS if mtime % 1_000_000_000 == 0 or ctime % 1_000_000_000 == 0 else COARSE_SETTLED_NS
        if max(mtime, ctime) < time.time_ns() - settled:
            self.empty = state



class CallEnv:
    """Sets each call's names (PAYLOAD, JOB_ID, the deadline ...) in os.environ and the C environment.

    os.environ uses setenv(3), and glibc keeps every NAME=value string setenv ever made (so that no pointer a
    getenv returned can dangle): a warm instance grew by the size of every event it was given, until its memory
    limit killed it. Here each name gets a buffer of its own, put in the environment with putenv(3) (which takes
    the pointer as it is) and rewritten in place per call. A buffer that is too small is replaced by one twice
    as large; the old one is kept, as glibc would (a C extension may hold what getenv returned)."""

    def __init__(self):
        self.slots = {}  # name -> its slot (see _slot): the buffer in the environment now and what it holds
        self.kept = []  # buffers left behind when a name outgrew them
        self.environ = os.environ  # the real os._Environ, kept: a handler may put another mapping in its place

    def reserve(self, names):
        """Makes the buffers of these names before the first call needs them (ctypes builds its buffer type then)."""
        if _putenv is None:
            return
        for name in names:
            if name not in self.slots:
                self.slots[name] = self._slot(256)

    @staticmethod
    def _slot(size):
        """[the buffer, its address, the entry it holds, the name's key and value bytes and str as last set, a view]."""
        buf = ctypes.create_string_buffer(size)
        return [buf, ctypes.addressof(buf), b"", None, None, None, memoryview(buf).cast("B")]

    def set(self, name, value):
        """Sets `name` for this call; None unsets it."""
        real = self.environ
        if os.environ is not real:
            # The handler put its own mapping in os.environ (a dict copy): it gets the call's names too, and the
            # real one (and the C environment, which children inherit) below.
            try:
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            except Exception:  # noqa: BLE001 - whatever it put there, the call's names still reach the C environment
                pass
        slot = self.slots.get(name)
        if value is None:
            real.pop(name, None)  # unsetenv: our buffer leaves the C environment
            if slot is not None:
                slot[2] = b""  # the next value is written and put back
                slot[5] = None
            return
        environ = real._data
        # Unchanged since the last call, and os.environ still holds the very bytes we put there (the handler did not
        # set or delete it): nothing to do. Checked before any encoding: most calls repeat most names.
        if slot is not None and slot[5] == value and environ.get(slot[3]) is slot[4]:
            return
        key = real.encodekey(name)
        data = real.encodevalue(value)
        if _putenv is None or b"=" in key or not key:
            real[name] = value
            return
        entry = key + b"=" + data + b"\0"
        if slot is None or len(slot[0]) < len(entry):
            if slot is not None:
                self.kept.append(slot[0])
            slot = self.slots[name] = self._slot(max(256, 1 << (len(entry) - 1).bit_length()))
        slot[6][: len(entry)] = entry  # a memoryview's copy: ctypes.memmove costs ~8x more per call
        slot[2] = entry
        # Each time, not once: the handler may have set or deleted the name, which took our buffer out.
        _putenv(slot[1])
        environ[key] = data  # what os.environ.__setitem__ keeps, without its setenv
        slot[3], slot[4], slot[5] = key, data, value

    def update(self, env):
        for name, value in env.items():
            self.set(name, value)
