// NanoGrid exec server: the warm server of compiled programs (Go).
//
// Built beside the function at deploy and started once per warm instance as
// `./__nanogrid_exec_serve ./main`. The program itself is started per
// invocation, as a cold run would start it; what stays warm is the container
// (or process) around it. Protocol, one JSON object per line (see serve.py):
//
//	in:  {"env": {"PAYLOAD": "...", "JOB_ID": "...", ...}}  (PAYLOAD: the event, given to the program on stdin)
//	out: META {"outputs": N, "maxrss": bytes, "exit": code|null, "signal": name|null, "oom": bool, "truncated": bool, "stdout": "..."}
//	     RESULT {"ok": true, "result": null}
//
// The event goes to the program's stdin; its stdout (capped) comes back whole
// in META, to be read like a cold run's; its stderr goes to ours. /tmp and
// the output directory are emptied before each call. The C++ runtime has the
// same server in C (runtime-cpp/bootstrap/exec-serve.c).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const maxStdout = 8 * 1024 * 1024

type meta struct {
	Outputs   int     `json:"outputs"`
	MaxRSS    int64   `json:"maxrss"`
	Exit      *int    `json:"exit"`
	Signal    *string `json:"signal"`
	OOM       bool    `json:"oom"`
	Truncated bool    `json:"truncated"`
	Stdout    string  `json:"stdout"`
}

func clearDir(dir string) {
	if dir == "" {
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func countFiles(dir string) int {
	n := 0
	if dir == "" {
		return 0
	}
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// oomKills is the cgroup's count of OOM kills (v2 memory.events, v1 memory.oom_control); -1 when unreadable.
func oomKills() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "oom_kill ") {
				n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "oom_kill ")), 10, 64)
				return n
			}
		}
	}
	return -1
}

// capped keeps the head of what is written, counting the rest.
type capped struct {
	buf   []byte
	total int
}

func (c *capped) Write(p []byte) (int, error) {
	c.total += len(p)
	if room := maxStdout - len(c.buf); room > 0 {
		if room > len(p) {
			room = len(p)
		}
		c.buf = append(c.buf, p[:room]...)
	}
	return len(p), nil
}

// payloadEnvMax: the event is in PAYLOAD only up to this size (one environment string over
// 128 KiB stops exec with E2BIG); the program always gets it on stdin. Keep in sync with core's PAYLOAD_ENV_MAX_BYTES.
const payloadEnvMax = 64 * 1024

func call(args []string, event string) meta {
	// Only directories the sandbox named are emptied: run by hand, this must not wipe the host's /tmp.
	tmp, out := os.Getenv("TMPDIR"), os.Getenv("OUTPUT_DIR")
	clearDir(tmp)
	clearDir(out)
	var stdout capped
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(event)
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ooms := oomKills()
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // background children go with the program
	}
	m := meta{Outputs: countFiles(out), Truncated: stdout.total > len(stdout.buf), Stdout: string(stdout.buf)}
	if cmd.ProcessState == nil {
		fmt.Fprintf(os.Stderr, "exec-serve: cannot start %s: %v\n", args[0], err)
		code := 127
		m.Exit = &code
	} else if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := "SIG" + unix(ws.Signal())
		m.Signal = &name
		m.OOM = ws.Signal() == syscall.SIGKILL && ooms >= 0 && oomKills() > ooms
	} else {
		code := cmd.ProcessState.ExitCode()
		m.Exit = &code
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.MaxRSS = ru.Maxrss * 1024
		}
	}
	return m
}

// unix names a signal the way the other runtimes report it (KILL, SEGV …).
func unix(s syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGKILL: "KILL", syscall.SIGSEGV: "SEGV", syscall.SIGABRT: "ABRT", syscall.SIGTERM: "TERM", syscall.SIGBUS: "BUS", syscall.SIGFPE: "FPE", syscall.SIGILL: "ILL"}
	if n, ok := names[s]; ok {
		return n
	}
	return strconv.Itoa(int(s))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: exec-serve program [args...]")
		os.Exit(2)
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return
		}
		var req struct {
			Env map[string]string `json:"env"`
		}
		if json.Unmarshal(line, &req) != nil {
			fmt.Fprintln(os.Stderr, `exec-serve: a request that is not {"env": {...}}`)
			os.Exit(2)
		}
		event, hasEvent := req.Env["PAYLOAD"]
		delete(req.Env, "PAYLOAD")
		for k, v := range req.Env {
			os.Setenv(k, v)
		}
		if hasEvent && len(event) <= payloadEnvMax {
			os.Setenv("PAYLOAD", event)
		} else {
			os.Unsetenv("PAYLOAD")
		}
		m, _ := json.Marshal(call(os.Args[1:], event))
		// Ends the call's stderr: the host waits for it when stderr travels apart from the protocol (named pipes).
		os.Stderr.WriteString("\x1eNANOGRID_STDERR_END\n")
		w.WriteString("\x1eNANOGRID_META ")
		w.Write(m)
		w.WriteString("\n\x1eNANOGRID_RESULT {\"ok\":true,\"result\":null}\n")
		w.Flush()
	}
}
