"""NanoGrid Python warm server: loads the function once, then serves one invocation per line.

Copied beside the user's code as `__nanogrid_serve.py` (next to `__nanogrid_bootstrap.py`
and `__nanogrid_lambda.py`, whose code it runs: nothing of the handler's world is
copied here) and started once per warm instance with `python3 -u __nanogrid_serve.py`.
Protocol, one JSON object per line:

  in  (stdin):  {"env": {"PAYLOAD": "...", "JOB_ID": "...", ...}}   (PAYLOAD: the event, any size)
                with "stderr_end": true when stderr is relayed apart from the answer (no pipe of the host's)
  out (stdout): LOG "<chunk>" lines while the call runs (what the handler prints, as a JSON string),
                then META {"logs": "...", "outputs": N, "stderr": U}   then   RESULT_MARKER {"ok": ..., ...}
  err (stderr): whatever the call wrote, all of it before the answer. U is how many of its bytes the host had
                not read yet when the answer was written (asked of the pipe: FIONREAD, SIOCOUTQ for a socket
                pair): 0 tells the host there is nothing left to read. Where that cannot be asked, or the
                request says stderr_end, there is no "stderr" and stderr ends with STDERR_END instead.

Before each invocation /tmp and the output directory are emptied, so nothing of
one invocation is visible to the next. User prints and log records go to a
per-invocation capture and come back as `logs`; what the module printed while it
loaded opens the first call's logs. A module that fails to load answers each call
with IMPORT_ERROR (and is tried again on the next call, as Lambda re-runs a failed
init); script mode re-runs the file per invocation, with the event on its stdin.
"""

import codecs
import fcntl
import json
import os
import select
import stat
import sys
import termios
import tempfile
import threading
import time

import __nanogrid_bootstrap as nb
import __nanogrid_lambda as lam
import __nanogrid_warm as warm

META_MARKER = "\x1eNANOGRID_META "
LOG_MARKER = "\x1eNANOGRID_LOG "
# Ends each call's stderr when the host cannot ask its pipe (see the protocol above).
STDERR_END = b"\x1eNANOGRID_STDERR_END\n"
LOG_TAIL = 64 * 1024
# The names the host sends with each call (core's warmEnv): their environment buffers are made ahead.
PER_CALL_NAMES = ("PAYLOAD", "JOB_ID", "NANOGRID_TIMEOUT_MS", "NANOGRID_DEADLINE_MS", "NANOGRID_FUNCTION_ARN")
EMPTY_META = '{"logs": "", "outputs": %d, "stderr": %d}'
# Live output sent per call at most; the host keeps less (its per-job cap), this only spares the pipe a flood.
LIVE_MAX = 16 * 1024 * 1024
# Prints closer together than this travel as one LOG frame.
LIVE_BATCH_S = 0.005
_sleep = time.sleep  # ours, whatever the handler does to the time module


def _read_tail(f, limit):
    size = os.fstat(f.fileno()).st_size
    os.lseek(f.fileno(), max(0, size - limit), os.SEEK_SET)
    return os.read(f.fileno(), limit).decode("utf-8", errors="replace")


def _stderr_probe():
    """The ioctl that tells how many bytes written to fd 2 its reader (the host) has not read yet: FIONREAD on a
    pipe or FIFO (Docker's named pipe), SIOCOUTQ on a socket pair (a process's pipe from Node); None otherwise."""
    try:
        mode = os.fstat(2).st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode):
        return termios.FIONREAD
    if stat.S_ISSOCK(mode):
        return termios.TIOCOUTQ  # SIOCOUTQ
    return None


def _stderr_unread(probe):
    """Bytes of fd 2 its reader has not read yet; None when that cannot be told (fd 2 is not what it was)."""
    try:
        return int.from_bytes(fcntl.ioctl(2, probe, b"\0\0\0\0"), sys.byteorder)
    except OSError:
        return None


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


class LiveLog:
    """The handler's stdout (fd 1, for good): a pipe whose bytes go into the call's logs (the
    META's, a tail kept in memory: only the server writes it) and to the host as LOG frames
    at once. A thread waits for the pipe to be readable and drains it; at the end of the call
    the server drains what is left itself, under the same lock, so a call that printed nothing
    costs no thread hand-off. Prints within LIVE_BATCH_S of each other travel as one frame.
    What arrives between calls (a leftover thread or subprocess) belongs to no call and is dropped."""

    def __init__(self, real_out):
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        self.real_out = real_out
        self.capture = None  # the current call's logs (a bytearray), None between calls
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._watch, name="nanogrid-live-log", daemon=True)
        self.thread.start()

    def close(self):
        """Unused (a script's fd 1 is its capture): the thread ends and the pipe is closed before this returns, so
        a script finds the threads and open files of a server that never made them."""
        self.closed = True
        os.close(self.w)  # the thread's poll sees the pipe's end
        self.thread.join()
        os.close(self.r)

    def begin(self, opening=b""):
        """Starts a call's logs (with `opening`: what the module printed while it loaded)."""
        with self.lock:
            self.sent = 0
            self.capture = bytearray(opening)
            self.decoder.reset()  # a partial character left by the last call must not open this one

    def end(self):
        """Ends the call: its logs' last LOG_TAIL bytes, as text."""
        with self.lock:
            self._drain()
            capture, self.capture = self.capture, None
        return bytes(capture[-LOG_TAIL:]).decode("utf-8", errors="replace")

    def _emit(self, data):
        capture = self.capture
        if capture is None or not data:
            return
        capture += data
        if len(capture) > 2 * LOG_TAIL:
            del capture[:-LOG_TAIL]
        try:
            if self.sent >= LIVE_MAX:
                return
            self.sent += len(data)
            text = self.decoder.decode(data)
            if text:
                nb.write_all(self.real_out, (LOG_MARKER + json.dumps(text) + "\n").encode("utf-8"))
        except (OSError, ValueError):
            pass  # a lost piece of live output must not stop the call

    def _drain(self):
        """Reads whatever the pipe holds now (the lock is held); returns how many bytes."""
        total = 0
        while True:
            try:
                chunk = os.read(self.r, 65536)
            except BlockingIOError:
                return total
            if not chunk:
                return total
            total += len(chunk)
            self._emit(chunk)

    def _watch(self):
        poller = select.poll()
        poller.register(self.r, select.POLLIN)
        flood = False
        while True:
            poller.poll()
            if self.closed:
                return
            # Prints of the next few ms travel together (a call that ends sooner drains them itself);
            # a flood that fills the pipe is read on at once, never held up.
            if not flood:
                _sleep(LIVE_BATCH_S)
            with self.lock:
                flood = self._drain() >= 32768


class Function:
    """The loaded handler (or why it did not load), or the script to re-run per call."""

    def __init__(self):
        self.entry_file = lam.entry_file()
        _label, name = lam.handler_spec()
        self.script = not lam.defines_handler(self.entry_file, name)
        self.handler = None
        self.arity = 2
        self.failure = None
        if not self.script:
            lam.install_log_handler()
            self.load()

    def load(self):
        try:
            self.handler = lam.load_handler()  # once: the point of a warm instance
            self.arity = lam.handler_arity(self.handler)  # once too: inspect.signature costs per call
            self.failure = None
        except lam.Failure as exc:
            self.failure = exc

    def call(self, event_text, capture, context_env):
        if self.script:
            return nb.run_script(self.entry_file, capture.fileno())
        if self.handler is None:
            self.load()
            if self.failure is not None:
                raise self.failure
        try:
            return lam.invoke(self.handler, lam.parse_event(event_text), lam.make_context(context_env), self.arity)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
            return None


def _event_stdin(event_text):
    """A script's stdin for one call: a file holding the event."""
    f = tempfile.TemporaryFile()
    f.write(event_text.encode("utf-8"))
    f.seek(0)
    os.dup2(f.fileno(), 0)
    f.close()
    sys.stdin = open(0, "r", encoding="utf-8", closefd=False)


class Prepared:
    """What the server sets up before any function is known. A prewarmed spare makes it while it waits for its
    function (its starter reads the init line through `requests`), so a first call does not pay for it: the
    protocol moved off fds 0 and 1, the load's capture file, the live-log pipe and its thread, the scratch
    directories (looked at once, so a first call's emptying is one stat each when nothing changed)."""

    def __init__(self):
        # Only directories the sandbox named are emptied: run by hand, this must not wipe the host's /tmp.
        self.tmp = warm.Scratch(os.environ.get("TMPDIR") or "")
        self.out = warm.Scratch(os.environ.get("OUTPUT_DIR") or "")
        # The instance's own /dev/shm (a tmpfs the sandbox gives each instance, and names): emptied too.
        self.shm = warm.Scratch(os.environ.get("NANOGRID_SHM_DIR") or "")
        # The protocol moves off fds 0 and 1: user code (and its subprocesses) never reads requests or writes answers.
        self.requests = os.fdopen(os.dup(0), "rb")
        self.real_out = os.dup(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        # What the module prints (or logs) while it loads goes to the first call's logs.
        self.load_capture = tempfile.TemporaryFile()
        # fd 1 of a handler once it loaded (a script's is its capture: then it is closed unused).
        self.live = LiveLog(self.real_out)
        for scratch in (self.tmp, self.out, self.shm):
            scratch.clear()
        self.call_env = warm.CallEnv()
        self.call_env.reserve(PER_CALL_NAMES)
        lam.build_log_handler()  # installed only for a handler: a script's logging stays its own


def main(prepared=None):
    """Serves calls; `prepared`: what a prewarmed spare set up before its function was known."""
    p = prepared or Prepared()
    requests, real_out, load_capture = p.requests, p.real_out, p.load_capture
    tmp, out, shm = p.tmp, p.out, p.shm
    lam.prepare_process()
    stderr_probe = _stderr_probe()

    real_err = os.dup(2)
    os.dup2(load_capture.fileno(), 1)
    os.dup2(load_capture.fileno(), 2)
    try:
        function = Function()
    finally:
        _flush()
        os.dup2(real_err, 2)
        os.close(real_err)

    live = None
    opening = b""
    if not function.script:
        # The load's output opens the first call's logs; from now on fd 1 is the live pipe, call or not.
        opening = _read_tail(load_capture, LOG_TAIL).encode("utf-8")
        load_capture.close()
        load_capture = None
        live = p.live
        os.dup2(live.w, 1)
    else:
        p.live.close()
    call_env = p.call_env
    # The context's names as the sandbox set them (after the load: a prewarmed server's env is in by then), with
    # each call's own names on top; what a handler does to os.environ does not change a later call's context.
    context_env = dict(os.environ)

    while True:
        line = requests.readline()
        if not line:
            return
        request = json.loads(line)
        env = request.get("env") or {}
        event_text = env.pop("PAYLOAD", "")
        call_env.update(env)
        context_env.update(env)
        lam.set_payload_env(event_text, call_env.set)
        tmp.clear()
        out.clear()
        shm.clear()
        capture = None
        if live is not None:
            _flush()
            live.begin(opening)
            opening = b""
        else:
            # A script's fd 1 is its capture: a subprocess it left running could write into the next call's, so
            # each call gets a fresh file (the first: the load's, which opens its logs).
            capture, load_capture = load_capture or tempfile.TemporaryFile(), None
            _event_stdin(event_text)
            _flush()
            os.dup2(capture.fileno(), 1)
        failed = False
        try:
            result = function.call(event_text, capture, context_env)
            sys.stdout.flush()
            try:
                envelope = nb.encode_envelope({"ok": True, "result": result})
            except (TypeError, ValueError) as exc:
                raise lam.Failure("ResultNotSerializable", "the return value is not JSON-serialisable: {}".format(exc))
        except BaseException as exc:  # noqa: B902 - every failure of user code becomes an envelope
            failed = True
            envelope = nb.encode_envelope(nb.error_envelope(exc))
        _flush()
        if live is not None:
            logs = live.end()
        else:
            os.dup2(2, 1)
            # A script's stdout is its result; its logs are its stderr, and what it printed when it failed.
            logs = _read_tail(capture, LOG_TAIL) if failed else ""
            capture.close()
        count = out.count()
        # Asked last: everything the call wrote to fd 2 is in the pipe by now (or read by the host already).
        unread = None if stderr_probe is None or request.get("stderr_end") else _stderr_unread(stderr_probe)
        if unread is None:
            meta = json.dumps({"logs": logs, "outputs": count})
            nb.write_all(2, STDERR_END)
        elif logs:
            meta = json.dumps({"logs": logs, "outputs": count, "stderr": unread})
        else:
            meta = EMPTY_META % (count, unread)
        nb.write_all(real_out, (META_MARKER + meta + "\n").encode("utf-8") + envelope)

if __name__ == "__main__":
    main()
