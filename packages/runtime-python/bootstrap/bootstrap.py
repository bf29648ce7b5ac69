"""NanoGrid Python bootstrap: loads the user's file, runs it, prints one result envelope.

Copied beside the user's code as `__nanogrid_bootstrap.py` and started with
`python3 -u __nanogrid_bootstrap.py` in the code directory. Pure stdlib, Python 3.9+.
The Lambda side (context, logging, loading and calling the handler) lives in
`__nanogrid_lambda.py`, which the warm server uses too.

Handler mode: the entry file defines a handler (binds the HANDLER name, or any
function that looks like one) -> it is imported and `handler(event, context)` is
called with the event read from stdin; a missing handler is HANDLER_NOT_FOUND, a
failing import IMPORT_ERROR. Script mode: a file defining no handler at all runs as
`__main__` with PAYLOAD in its environment (when it is at most 64 KiB) and the event
on stdin; its stdout is the result (JSON when it parses, else the text).

In both modes fd 1 points elsewhere while user code runs (stderr in handler mode,
a temp file in script mode), so prints and subprocess output never mix with the
envelope, which is written last to the saved real stdout.
"""

import atexit
import gc
import io
import json
import os
import runpy
import sys
import tempfile

import __nanogrid_lambda as lam

# Keep in sync with RESULT_MARKER in packages/core/src/plugins/runtime-plugin.ts.
RESULT_MARKER = "\x1eNANOGRID_RESULT "
DEFAULT_MAX_RESULT_BYTES = 6 * 1024 * 1024
Failure = lam.Failure


def _int_env(name):
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None


def run_handler():
    event = lam.read_event()
    lam.install_log_handler()
    handler = lam.load_handler()
    try:
        return lam.invoke(handler, event, lam.make_context())
    except SystemExit as exc:
        if exc.code in (None, 0):
            return None
        raise


def run_script(entry_file, capture_fd):
    """Runs the file as `__main__`; its stdout goes to `capture_fd` and becomes the result."""
    sys.argv = [entry_file]
    try:
        runpy.run_path(entry_file, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            code = exc.code if isinstance(exc.code, int) else 1
            if not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
            raise Failure("SystemExit", "the script exited with code {}".format(code), code if 0 < code < 256 else 1)
    sys.stdout.flush()
    limit = _int_env("NANOGRID_MAX_RESULT_BYTES") or DEFAULT_MAX_RESULT_BYTES
    size = os.fstat(capture_fd).st_size
    if size > limit:
        raise Failure("ResultTooLarge", "the script printed {} bytes; the result limit is {}".format(size, limit))
    os.lseek(capture_fd, 0, os.SEEK_SET)
    chunks = []
    while True:
        chunk = os.read(capture_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    return parse_stdout(b"".join(chunks).decode("utf-8", errors="replace"))


def _reject_constant(name):
    raise ValueError(name)


def parse_stdout(text):
    """JSON when the whole output is JSON (as JavaScript reads it), else the trimmed text."""
    text = text.strip()
    if text == "":
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def encode_envelope(envelope):
    try:
        body = json.dumps(envelope, ensure_ascii=False, allow_nan=False)
        data = body.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: fall back to \u escapes
        data = json.dumps(envelope, allow_nan=False).encode("ascii")
    return RESULT_MARKER.encode("utf-8") + data + b"\n"


def error_envelope(exc):
    return {"ok": False, "error": lam.error_of(exc)}


def _copy_to_stderr(fd, max_bytes=1 << 20):
    """A failed script's stdout is still worth reading: its tail goes to the logs."""
    try:
        size = os.fstat(fd).st_size
        os.lseek(fd, max(0, size - max_bytes), os.SEEK_SET)
        write_all(2, os.read(fd, max_bytes))
    except OSError:
        pass


def _finish_like_normal_exit():
    """What interpreter shutdown would do, short of joining threads: atexit hooks, then flush open files."""
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for obj in gc.get_objects():
        if isinstance(obj, io.IOBase):
            try:
                obj.flush()
            except BaseException:
                pass


def write_all(fd, data):
    while data:
        written = os.write(fd, data)
        data = data[written:]


def main():
    lam.prepare_process()
    entry_file = lam.entry_file()
    _label, handler_name = lam.handler_spec()
    sys.stdout.flush()
    real_stdout = os.dup(1)
    capture = None
    exit_code = 0
    try:
        if lam.defines_handler(entry_file, handler_name):
            os.dup2(2, 1)
            result = run_handler()
        else:
            capture = tempfile.TemporaryFile()
            os.dup2(capture.fileno(), 1)
            result = run_script(entry_file, capture.fileno())
        sys.stdout.flush()
        try:
            envelope = encode_envelope({"ok": True, "result": result})
        except (TypeError, ValueError) as exc:
            raise Failure("ResultNotSerializable", "the return value is not JSON-serialisable: {}".format(exc))
    except BaseException as exc:  # noqa: B902 - every failure of user code becomes an envelope
        exit_code = exc.exit_code if isinstance(exc, Failure) else 1
        envelope = encode_envelope(error_envelope(exc))
        if capture is not None:
            try:
                sys.stdout.flush()
            except BaseException:
                pass
            _copy_to_stderr(capture.fileno())
    _finish_like_normal_exit()
    write_all(real_stdout, envelope)
    # Exit now: a lingering non-daemon thread must not keep a finished job alive until its timeout.
    os._exit(exit_code)


if __name__ == "__main__":
    main()
