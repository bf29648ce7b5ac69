"""NanoGrid's Lambda compatibility for Python: context, root log handler, loading and calling the handler.

Copied beside the user's code as `__nanogrid_lambda.py`. The cold bootstrap
(`__nanogrid_bootstrap.py`) and the warm server (`__nanogrid_serve.py`) both
import it, so a handler sees the same thing cold and warm. Pure stdlib, Python 3.9+.
"""

import ast
import asyncio
import importlib.util
import inspect
import json
import logging
import os
import sys
import time
import traceback
import types

# The event is in PAYLOAD only up to this size (the kernel caps one environment string
# at 128 KiB); it always comes on stdin / the warm channel. Keep in sync with core's PAYLOAD_ENV_MAX_BYTES.
PAYLOAD_ENV_MAX_BYTES = 64 * 1024
# Second parameters that say "this function is a Lambda handler" even when its name is not the configured one.
_CONTEXT_PARAMS = ("context", "ctx", "lambda_context", "context_")


class Failure(Exception):
    """A failure reported with a chosen type name (and for load failures an engine code) rather than the exception's class."""

    def __init__(self, type_name, message, exit_code=1, code=None, trace=None):
        super().__init__(message)
        self.type_name = type_name
        self.exit_code = exit_code
        self.code = code
        self.trace = trace


class CognitoIdentity:
    """Lambda's `context.identity`: set only for calls from the AWS Mobile SDK, so empty here."""

    cognito_identity_id = None
    cognito_identity_pool_id = None


class Context(dict):
    """Lambda's context (attributes) that is also NanoGrid's mapping (`context['job_id']`)."""

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

    def log(self, message):
        sys.stdout.write(str(message))


def _int_env(name, env=None):
    try:
        return int((os.environ if env is None else env)[name])
    except (KeyError, ValueError):
        return None


def make_context(env=None):
    """The call's context from `env` (default: the process environment; a warm server passes a plain dict,
    which reads ~20x faster than os.environ)."""
    env = os.environ if env is None else env
    job_id = env.get("JOB_ID", "")
    return Context(
        aws_request_id=job_id,
        function_name=env.get("AWS_LAMBDA_FUNCTION_NAME") or env.get("FUNCTION_NAME", ""),
        function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        invoked_function_arn=env.get("NANOGRID_FUNCTION_ARN", ""),
        memory_limit_in_mb=env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),  # a string, as Lambda gives it
        log_group_name=env.get("AWS_LAMBDA_LOG_GROUP_NAME"),
        log_stream_name=env.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        identity=CognitoIdentity(),
        client_context=None,
        job_id=job_id,
        function_id=env.get("FUNCTION_ID", ""),
        handler=env.get("HANDLER", ""),
        ai_endpoint=env.get("AI_ENDPOINT") or None,
        output_dir=env.get("OUTPUT_DIR") or None,
        timeout_ms=_int_env("NANOGRID_TIMEOUT_MS", env),
        deadline_ms=_int_env("NANOGRID_DEADLINE_MS", env),
    )


# --- logging: Lambda's root handler, so logger.info() after setLevel(INFO) prints, and basicConfig() is a no-op.

_request = {"id": ""}


def set_request_id(request_id):
    _request["id"] = request_id


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request["id"]
        return True


class _LambdaLogHandler(logging.StreamHandler):
    """Writes to whatever fd 1 is now (the call's logs), like print()."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


_built = []


def build_log_handler():
    """Lambda's root log handler, built once (a prewarmed spare builds it before its function is known)."""
    if not _built:
        formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
        handler = _LambdaLogHandler()
        handler.setFormatter(formatter)
        handler.addFilter(_RequestIdFilter())
        _built.append(handler)
    return _built[0]


def install_log_handler():
    root = logging.getLogger()
    if any(isinstance(h, _LambdaLogHandler) for h in root.handlers):
        return
    root.addHandler(build_log_handler())


# --- finding the handler


def prepare_process():
    """Like Lambda's runtime: the code root first on sys.path, then the entry file's folder; LAMBDA_TASK_ROOT set."""
    code_dir = os.getcwd()
    entry_dir = os.path.dirname(os.path.abspath(entry_file()))
    for path in (code_dir, entry_dir):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    os.environ.setdefault("LAMBDA_TASK_ROOT", code_dir)


def entry_file():
    return os.environ.get("NANOGRID_ENTRY_FILE") or "main.py"


def handler_spec():
    """(module label, function name) of HANDLER: `src/app.handler` -> ('src/app', 'handler')."""
    handler = os.environ.get("HANDLER") or "main.handler"
    module, _, name = handler.rpartition(".")
    return (module or os.path.splitext(entry_file())[0]), name


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


def _looks_like_handler(node):
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    params = node.args.posonlyargs + node.args.args
    return "handler" in node.name.lower() or (len(params) >= 2 and params[1].arg.lstrip("_").lower() in _CONTEXT_PARAMS)


def defines_handler(source_path, name):
    """False only for a script: a file that binds no `name` and has no function looking like a handler."""
    with open(source_path, "rb") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=source_path)
    except SyntaxError:
        return True  # loading it reports the syntax error as the module's (IMPORT_ERROR), as Lambda does
    return _binds_name(tree.body, name) or any(_looks_like_handler(node) for node in tree.body)


def _module_name(path):
    return ".".join(os.path.splitext(os.path.normpath(path))[0].split(os.sep))


def load_module(path):
    """Imports the entry file by its dotted path (so `from . import x` works inside packages)."""
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    if spec is None or spec.loader is None:
        raise ImportError("cannot load {}".format(path))
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


def load_handler():
    """The handler function, or Failure with code IMPORT_ERROR / HANDLER_NOT_FOUND (Lambda's Runtime.* errors)."""
    label, name = handler_spec()
    try:
        module = load_module(entry_file())
    except SyntaxError as exc:
        trace = "".join(traceback.format_exception_only(type(exc), exc))
        raise Failure(type(exc).__name__, "Syntax error in module '{}': {}".format(label, exc), code="IMPORT_ERROR", trace=trace) from None
    except BaseException as exc:  # noqa: B902 - whatever the import raised (SystemExit too) is the import's failure
        message = "Unable to import module '{}': {}".format(label, exc)
        raise Failure(type(exc).__name__, message, code="IMPORT_ERROR", trace=user_traceback(exc)) from None
    handler = getattr(module, name, None)
    if not callable(handler):
        defined = sorted(k for k, v in vars(module).items() if inspect.isfunction(v) and v.__module__ == module.__name__)
        what = "missing on" if handler is None else "is not a function in"
        hint = " (it defines: {})".format(", ".join(defined)) if defined else ""
        raise Failure("Runtime.HandlerNotFound", "Handler '{}' {} module '{}'{}".format(name, what, label, hint), code="HANDLER_NOT_FOUND")
    return handler


# --- calling it


def read_event(fd=0):
    """The event: stdin when the host wrote it there, else PAYLOAD (a bootstrap started by hand)."""
    if not os.isatty(fd):
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        if data.strip():
            return json.loads(data)
    return parse_event(os.environ.get("PAYLOAD", ""))


def parse_event(text):
    return json.loads(text) if text.strip() else {}


def set_payload_env(text, set_env=None):
    """PAYLOAD as the original contract has it, when it fits in an environment string (`set_env(name, value)`:
    how a warm server sets it, None unsets it; default os.environ's)."""
    if len(text.encode("utf-8")) <= PAYLOAD_ENV_MAX_BYTES:
        if set_env is None:
            os.environ["PAYLOAD"] = text
        else:
            set_env("PAYLOAD", text)
    elif set_env is None:
        os.environ.pop("PAYLOAD", None)
    else:
        set_env("PAYLOAD", None)


async def _await(awaitable):
    return await awaitable


def handler_arity(handler):
    """How many of (event, context) the handler takes: 2 when it takes *args or its signature is unknown."""
    code = getattr(handler, "__code__", None)
    if type(handler) is types.FunctionType and not hasattr(handler, "__wrapped__") and not hasattr(handler, "__signature__"):
        # A plain function, what inspect.signature would read (~40 us on a first call): its code's positional names.
        if code.co_flags & inspect.CO_VARARGS:
            return 2
        return min(2, code.co_argcount)
    try:
        params = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):
        return 2
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return min(2, len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]))


def invoke(handler, event, context, arity=None):
    """Calls `handler(event, context)` (fewer arguments when it takes fewer), awaiting a coroutine.
    `arity`: handler_arity(handler), which a warm server computes once per loaded handler."""
    set_request_id(context.aws_request_id)
    if arity is None:
        arity = handler_arity(handler)
    result = handler(*(event, context)[:arity])
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


# --- errors


def _is_nanogrid_frame(filename):
    return os.path.basename(filename).startswith("__nanogrid_") or filename.startswith("<frozen ")


def user_traceback(exc):
    """The traceback from the first frame of the user's code: no NanoGrid, importlib or asyncio frames above it."""
    code_dir = os.getcwd() + os.sep
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    start = next((t for t in frames if t.tb_frame.f_code.co_filename.startswith(code_dir) and not _is_nanogrid_frame(t.tb_frame.f_code.co_filename)), None)
    if start is None:
        start = next((t for t in frames if not _is_nanogrid_frame(t.tb_frame.f_code.co_filename)), None)
    return "".join(traceback.format_exception(type(exc), exc, start))


def error_of(exc):
    """The envelope's error for any exception: type, message, trace (and the engine code of a load failure)."""
    if isinstance(exc, Failure):
        error = {"type": exc.type_name, "message": str(exc)}
        if exc.code:
            error["code"] = exc.code
        if exc.trace:
            error["trace"] = exc.trace
        return error
    if isinstance(exc, SyntaxError):  # where the user's code is wrong, not how the bootstrap got there
        trace = "".join(traceback.format_exception_only(type(exc), exc))
    else:
        trace = user_traceback(exc)
    return {"type": type(exc).__name__, "message": str(exc), "trace": trace}
