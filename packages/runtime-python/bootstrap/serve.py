"""NanoGrid Python warm server: loads the function once, then serves one invocation per line.

Copied beside the user's code as `__nanogrid_serve.py` (next to `__nanogrid_bootstrap.py`,
whose helpers it reuses) and started once per warm instance with
`python3 -u __nanogrid_serve.py`. Protocol, one JSON object per line:

  in  (stdin):  {"env": {"PAYLOAD": "...", "JOB_ID": "...", ...}}
  out (stdout): META {"logs": "...", "outputs": N}   then   RESULT_MARKER {"ok": ..., ...}
  err (stderr): whatever the call wrote, then STDERR_END, so the host knows the call's stderr is all there

Before each invocation /tmp and the output directory are emptied, so nothing of
one invocation is visible to the next. User prints go to a per-invocation capture
(handler mode) and come back as `logs`; script mode re-runs the file per invocation.
"""

import ast
import asyncio
import inspect
import json
import os
import shutil
import sys
import tempfile

import __nanogrid_bootstrap as nb

META_MARKER = "\x1eNANOGRID_META "
# Ends each call's stderr: the host waits for it when stderr travels apart from the protocol (named pipes).
STDERR_END = b"\x1eNANOGRID_STDERR_END\n"
LOG_TAIL = 64 * 1024


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
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        except OSError:
            pass


def _count_files(path):
    n = 0
    if not path:
        return 0
    for _root, _dirs, files in os.walk(path):
        n += len(files)
    return n


def _read_tail(f, limit):
    size = os.fstat(f.fileno()).st_size
    os.lseek(f.fileno(), max(0, size - limit), os.SEEK_SET)
    return os.read(f.fileno(), limit).decode("utf-8", errors="replace")


def main():
    entry_file = os.environ.get("NANOGRID_ENTRY_FILE") or "main.py"
    handler_name = (os.environ.get("HANDLER") or "main.handler").split(".")[-1]
    for path in (os.getcwd(), os.path.dirname(os.path.abspath(entry_file))):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    # Only directories the sandbox named are emptied: run by hand, this must not wipe the host's /tmp.
    out_dir = os.environ.get("OUTPUT_DIR") or ""
    tmp_dir = os.environ.get("TMPDIR") or ""

    real_out = os.dup(1)
    os.dup2(2, 1)  # prints at import time go to stderr, never to the protocol channel
    with open(entry_file, "rb") as f:
        tree = ast.parse(f.read(), filename=entry_file)
    handler = None
    if nb._binds_name(tree.body, handler_name):
        module = nb.load_module(entry_file)  # once: the point of a warm instance
        handler = getattr(module, handler_name, None)
        if not callable(handler):
            raise nb.Failure("HandlerNotFound", "{} has no callable named {!r}".format(entry_file, handler_name))

    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return
        request = json.loads(line)
        os.environ.update(request.get("env") or {})
        _clear(tmp_dir)
        _clear(out_dir)
        capture = tempfile.TemporaryFile()
        sys.stdout.flush()
        os.dup2(capture.fileno(), 1)
        try:
            if handler is not None:
                raw = os.environ.get("PAYLOAD", "")
                event = json.loads(raw) if raw.strip() else {}
                try:
                    result = nb._call(handler, event, nb.make_context())
                    if inspect.isawaitable(result):
                        result = asyncio.run(nb._await(result))
                except SystemExit as exc:
                    if exc.code not in (None, 0):
                        raise
                    result = None
            else:
                result = nb.run_script(entry_file, capture.fileno())
            sys.stdout.flush()
            try:
                envelope = nb.encode_envelope({"ok": True, "result": result})
            except (TypeError, ValueError) as exc:
                raise nb.Failure("ResultNotSerializable", "the return value is not JSON-serialisable: {}".format(exc))
        except BaseException as exc:  # noqa: B902 - every failure of user code becomes an envelope
            envelope = nb.encode_envelope(nb.error_envelope(exc))
        try:
            sys.stdout.flush()
        except BaseException:
            pass
        os.dup2(2, 1)
        logs = _read_tail(capture, LOG_TAIL) if handler is not None else ""
        capture.close()
        meta = json.dumps({"logs": logs, "outputs": _count_files(out_dir)})
        try:
            sys.stderr.flush()
        except BaseException:
            pass
        nb.write_all(2, STDERR_END)
        nb.write_all(real_out, (META_MARKER + meta + "\n").encode("utf-8") + envelope)


if __name__ == "__main__":
    main()
