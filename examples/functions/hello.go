// A Go function: the event arrives as JSON on stdin, the result goes to stdout.
// Built once at deploy (go build, standard library only, no downloads).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
)

type event struct {
	Name string `json:"name"`
}

func main() {
	var e event
	if err := json.NewDecoder(os.Stdin).Decode(&e); err != nil {
		fmt.Fprintln(os.Stderr, "the event is not JSON:", err)
		os.Exit(2)
	}
	if e.Name == "" {
		e.Name = "World"
	}
	out, _ := json.Marshal(map[string]string{
		"message": fmt.Sprintf("Hello, %s!", e.Name),
		"runtime": runtime.Version(),
		"job_id":  os.Getenv("JOB_ID"),
	})
	fmt.Println(string(out))
}
