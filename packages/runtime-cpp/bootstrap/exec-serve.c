/*
 * NanoGrid exec server: the warm server of compiled programs (C++).
 *
 * Compiled beside the function at deploy and started once per warm instance
 * as `./__nanogrid_exec_serve ./main`. The program itself is started per
 * invocation, as a cold run would start it; what stays warm is the container
 * (or process) around it. Protocol, one JSON object per line (see serve.py):
 *
 *   in:  {"env": {"PAYLOAD": "...", "JOB_ID": "...", ...}}   (PAYLOAD: the event, given to the program on stdin)
 *   out: META {"outputs": N, "maxrss": bytes, "exit": code|null, "signal": name|null, "oom": bool, "truncated": bool, "stdout": "..."}
 *        RESULT {"ok": true, "result": null}
 *
 * The event goes to the program's stdin; its stdout (capped) comes back whole
 * in META, to be read like a cold run's; its stderr goes to ours. /tmp and the
 * output directory are emptied before each call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STDOUT (8 * 1024 * 1024)

static const char *META = "\x1eNANOGRID_META ";
/* Ends each call's stderr: the host waits for it when stderr travels apart from the protocol (named pipes). */
static const char *STDERR_END = "\x1eNANOGRID_STDERR_END\n";
static const char *RESULT = "\x1eNANOGRID_RESULT {\"ok\":true,\"result\":null}\n";

/* Reads a JSON string starting at *p (just after the opening quote); returns a malloc'd UTF-8 copy. */
static char *json_string(const char **p) {
  const char *s = *p;
  /* Decoding never lengthens a string: \uXXXX (6 bytes) is at most 4 bytes of UTF-8. */
  char *out = malloc(strlen(s) + 1), *o = out;
  while (*s && *s != '"') {
    if (*s != '\\') { *o++ = *s++; continue; }
    s++;
    switch (*s) {
      case 'n': *o++ = '\n'; break;
      case 't': *o++ = '\t'; break;
      case 'r': *o++ = '\r'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'u': {
        unsigned cp = 0;
        if (sscanf(s + 1, "%4x", &cp) != 1) break;
        s += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && s[1] == '\\' && s[2] == 'u') {
          unsigned lo = 0;
          if (sscanf(s + 3, "%4x", &lo) == 1 && lo >= 0xDC00 && lo < 0xE000) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); s += 6; }
        }
        if (cp < 0x80) *o++ = (char)cp;
        else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
        else { *o++ = (char)(0xF0 | cp >> 18); *o++ = (char)(0x80 | ((cp >> 12) & 0x3F)); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F)); }
        break;
      }
      default: *o++ = *s; /* \" \\ \/ */
    }
    if (*s) s++;
  }
  *o = 0;
  *p = *s ? s + 1 : s;
  return out;
}

/*
 * The event is in PAYLOAD only up to this size (one environment string over 128 KiB
 * stops exec with E2BIG); the program always gets it on stdin. Keep in sync with
 * core's PAYLOAD_ENV_MAX_BYTES.
 */
#define PAYLOAD_ENV_MAX (64 * 1024)
static char *event;
static size_t event_len;

/* Applies {"env": {"K": "V", ...}} to our environment (PAYLOAD is kept as the event); 0 when the line is not that shape. */
static int apply_env(const char *line) {
  const char *p = strstr(line, "\"env\"");
  if (!p || !(p = strchr(p, '{'))) return 0;
  free(event); /* a request without PAYLOAD has no event: nothing of the last call's is kept */
  event = NULL;
  event_len = 0;
  unsetenv("PAYLOAD");
  p++;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == '}') return 1;
    if (*p != '"') return 0;
    p++;
    char *key = json_string(&p);
    while (*p == ' ' || *p == ':') p++;
    if (*p != '"') { free(key); return 0; }
    p++;
    char *value = json_string(&p);
    if (strcmp(key, "PAYLOAD") == 0) {
      free(event);
      event = value;
      event_len = strlen(value);
      if (event_len <= PAYLOAD_ENV_MAX) setenv(key, value, 1);
      else unsetenv(key);
    } else {
      setenv(key, value, 1);
      free(value);
    }
    free(key);
  }
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb; (void)flag;
  if (ftw->level > 0) remove(path);
  return 0;
}

static int files;
static int count_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)path; (void)sb; (void)ftw;
  if (flag == FTW_F) files++;
  return 0;
}

static void clear_dir(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* The cgroup's count of OOM kills (v2 memory.events, v1 memory.oom_control); -1 when unreadable. */
static long oom_kills(void) {
  const char *files_[] = {"/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"};
  for (int i = 0; i < 2; i++) {
    FILE *f = fopen(files_[i], "r");
    if (!f) continue;
    char name[64];
    long n;
    while (fscanf(f, "%63s %ld", name, &n) == 2) {
      if (strcmp(name, "oom_kill") == 0) { fclose(f); return n; }
    }
    fclose(f);
  }
  return -1;
}

static void put_json_string(FILE *out, const char *s, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { fputc('\\', out); fputc(c, out); }
    else if (c == '\n') fputs("\\n", out);
    else if (c < 0x20 || c == 0x7f) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s program [args...]\n", argv[0]); return 2; }
  signal(SIGPIPE, SIG_IGN);
  char *line = NULL;
  size_t cap = 0;
  char *buf = malloc(MAX_STDOUT);
  while (getline(&line, &cap, stdin) > 0) {
    if (!apply_env(line)) { fprintf(stderr, "exec-serve: a request that is not {\"env\": {...}}\n"); return 2; }
    /* Only directories the sandbox named are emptied: run by hand, this must not wipe the host's /tmp. */
    const char *tmp = getenv("TMPDIR");
    const char *outdir = getenv("OUTPUT_DIR");
    if (tmp && *tmp) clear_dir(tmp);
    if (outdir && *outdir) clear_dir(outdir);
    int in = memfd_create("payload", 0);
    size_t put = 0;
    while (in >= 0 && put < event_len) {
      ssize_t w = write(in, event + put, event_len - put);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) break;
      put += (size_t)w;
    }
    if (in < 0 || put < event_len || lseek(in, 0, SEEK_SET) < 0) { perror("exec-serve: payload"); return 1; }
    int pipefd[2];
    if (pipe(pipefd) < 0) { perror("exec-serve: pipe"); return 1; }
    long ooms = oom_kills();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      dup2(in, 0);
      dup2(pipefd[1], 1);
      close(in); close(pipefd[0]); close(pipefd[1]);
      execv(argv[1], argv + 1);
      fprintf(stderr, "exec-serve: cannot start %s: %s\n", argv[1], strerror(errno));
      _exit(127);
    }
    close(in);
    close(pipefd[1]);
    size_t kept = 0, total = 0;
    ssize_t n;
    char sink[65536];
    for (;;) {
      n = read(pipefd[0], kept < MAX_STDOUT ? buf + kept : sink, kept < MAX_STDOUT ? MAX_STDOUT - kept : sizeof sink);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      total += (size_t)n;
      if (kept < MAX_STDOUT) kept += (size_t)n;
    }
    close(pipefd[0]);
    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {}
    kill(-pid, SIGKILL); /* what the program left running in the background goes with it */
    int oom = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && ooms >= 0 && oom_kills() > ooms;
    files = 0;
    if (outdir && *outdir) nftw(outdir, count_file, 16, FTW_PHYS);
    fputs(STDERR_END, stderr);
    fputs(META, stdout);
    fprintf(stdout, "{\"outputs\":%d,\"maxrss\":%ld,", files, usage.ru_maxrss * 1024L);
    if (WIFEXITED(status)) fprintf(stdout, "\"exit\":%d,\"signal\":null,", WEXITSTATUS(status));
    else fprintf(stdout, "\"exit\":null,\"signal\":\"SIG%s\",", sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "KILL");
    fprintf(stdout, "\"oom\":%s,\"truncated\":%s,\"stdout\":", oom ? "true" : "false", total > kept ? "true" : "false");
    put_json_string(stdout, buf, kept);
    fputs("}\n", stdout);
    fputs(RESULT, stdout);
    fflush(stdout);
  }
  return 0;
}
