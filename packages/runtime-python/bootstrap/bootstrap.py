"""NanoGrid Python bootstrap: loads the user's file, runs it, prints one result envelope.

Copied beside the user's code as `__nanogrid_bootstrap.py` and started with
`python3 -u __nanogrid_bootstrap.py` in the code directory. Pure stdlib, Python 3.9+.

Handler mode: the entry file binds the handler name at top level -> it is imported
and `handler(event, context)` is called (awaited when it returns an awaitable).
Script mode: otherwise the file runs as `__main__` with PAYLOAD in its environment,
and its stdout is the result (JSON when it parses, else the text).

In both modes fd 1 points elsewhere while user code runs (stderr in handler mode,
a temp file in script mode), so prints and subprocess output never mix with the
envelope, which is written last to the saved real stdout.
"""

import ast
import asyncio
import atexit
import gc
import io
import importlib.util
import inspect
import json
import os
import runpy
import sys
import tempfile
import time
import traceback

# Keep in sync with RESULT_MARKER in packages/core/src/plugins/runtime-plugin.ts.
RESULT_MARKER = "\x1eNANOGRID_RESULT "
DEFAULT_MAX_RESULT_BYTES = 6 * 1024 * 1024
_THIS_FILE = os.path.abspath(__file__)


class Context(dict):
    """Invocation facts; attribute access (`context.job_id`) and dict access (`context['job_id']`)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def get_remaining_time_in_millis(self):
        deadline = self.get("deadline_ms")
        if deadline is None:
            return None
        return max(0, int(deadline - time.time() * 1000))


def _int_env(name):
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None


def make_context():
    job_id = os.environ.get("JOB_ID", "")
    return Context(
        job_id=job_id,
        aws_request_id=job_id,  # the Lambda name, so ported handlers keep working
        function_id=os.environ.get("FUNCTION_ID", ""),
        function_name=os.environ.get("FUNCTION_NAME", ""),
        handler=os.environ.get("HANDLER", ""),
        ai_endpoint=os.environ.get("AI_ENDPOINT") or None,
        output_dir=os.environ.get("OUTPUT_DIR") or None,
        timeout_ms=_int_env("NANOGRID_TIMEOUT_MS"),
        deadline_ms=_int_env("NANOGRID_DEADLINE_MS"),
    )


class Failure(Exception):
    """A failure reported with a chosen type name rather than the exception's class."""

    def __init__(self, type_name, message, exit_code=1):
        super().__init__(message)
        self.type_name = type_name
        self.exit_code = exit_code


def _user_traceback(exc):
    """The traceback without the bootstrap's own frames at its top."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == _THIS_FILE:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _binds_name(stmts, name):
    """Whether these top-level statements (outside functions and classes) bind `name`."""
    for node in stmts:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if alias.name == "*" or bound == name:
                    return True
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name) and sub.id == name:
                        return True
        # if / try / with / for / while / match blocks still run at import time.
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if isinstance(block, list) and _binds_name(block, name):
                return True
    return False


def _module_name(entry_file):
    parts = os.path.splitext(os.path.normpath(entry_file))[0].split(os.sep)
    if all(p.isidentifier() for p in parts):
        return ".".join(parts)
    return "_nanogrid_" + "".join(c if c.isalnum() else "_" for c in parts[-1])


def load_module(entry_file):
    """Imports the entry file by its dotted path (so `from . import x` works inside packages)."""
    name = _module_name(entry_file)
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(entry_file))
    if spec is None or spec.loader is None:
        raise Failure("ImportError", "cannot load {}".format(entry_file))
    module = importlib.util.module_from_spec(spec)
    # Do not shadow a module already imported under that name (a user file named like a stdlib module).
    registered = name not in sys.modules
    if registered:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if registered:
            sys.modules.pop(name, None)
        raise
    return module


async def _await(awaitable):
    return await awaitable


def _call(handler, event, context):
    """Calls `handler(event, context)`, or with fewer arguments when it takes fewer (`def handler(event)`)."""
    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return handler(event, context)
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return handler(event, context)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return handler(*[event, context][: len(positional)])


def run_handler(entry_file, handler_name):
    module = load_module(entry_file)
    handler = getattr(module, handler_name, None)
    if not callable(handler):
        raise Failure("HandlerNotFound", "{} has no callable named {!r}".format(entry_file, handler_name))
    raw = os.environ.get("PAYLOAD", "")
    event = json.loads(raw) if raw.strip() else {}
    try:
        result = _call(handler, event, make_context())
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except SystemExit as exc:
        if exc.code in (None, 0):
            return None
        raise
    return result


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
    if isinstance(exc, Failure):
        return {"ok": False, "error": {"type": exc.type_name, "message": str(exc)}}
    if isinstance(exc, SyntaxError):  # where the user's code is wrong, not how the bootstrap got there
        trace = "".join(traceback.format_exception_only(type(exc), exc))
    else:
        trace = _user_traceback(exc)
    return {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc), "trace": trace}}


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
    entry_file = os.environ.get("NANOGRID_ENTRY_FILE") or "main.py"
    handler_name = (os.environ.get("HANDLER") or "main.handler").split(".")[-1]
    code_dir = os.getcwd()
    entry_dir = os.path.dirname(os.path.abspath(entry_file))
    # Like `python3 file.py`: the file's own directory first, then the code root, for multi-file zips.
    for path in (code_dir, entry_dir):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)

    sys.stdout.flush()
    real_stdout = os.dup(1)
    capture = None
    exit_code = 0
    try:
        with open(entry_file, "rb") as f:
            tree = ast.parse(f.read(), filename=entry_file)
        if _binds_name(tree.body, handler_name):
            os.dup2(2, 1)
            result = run_handler(entry_file, handler_name)
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
