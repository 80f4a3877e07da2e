package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"sync"
	"time"
)

// A command handler: decode its own arguments from raw, return the fields
// of its result. Adding a command is one function and one line in commands.
type commandFunc func(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error)

var commands = map[string]commandFunc{}

// register adds a command; each commands_*.go file registers its own in init.
func register(name string, fn commandFunc) {
	if _, dup := commands[name]; dup {
		panic("duplicate command " + name)
	}
	commands[name] = fn
}

type envelope struct {
	ID        int64  `json:"id"`
	Cmd       string `json:"cmd"`
	TimeoutMs int64  `json:"timeoutMs"`
}

const defaultCommandTimeout = 10 * time.Second

// maxCommandLine bounds one line of input.
const maxCommandLine = 16 << 20

// serveCommands reads commands until stdin closes or ctx ends; each runs in
// its own goroutine and gets exactly one result line. On end of input it
// returns once the commands still running have replied (each is bounded by
// its own timeout), so that `... | go-peer` gets every reply.
func serveCommands(ctx context.Context, p *goPeer, in io.Reader) {
	var running sync.WaitGroup
	defer running.Wait()
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 64<<10), maxCommandLine)
	for scanner.Scan() {
		line := append([]byte(nil), scanner.Bytes()...)
		if len(line) == 0 {
			continue
		}
		var env envelope
		if err := json.Unmarshal(line, &env); err != nil {
			p.out.event("error", map[string]any{"message": fmt.Sprintf("bad command line: %v", err)})
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			runCommand(ctx, p, env, line)
		}()
	}
	if err := scanner.Err(); err != nil {
		log.Printf("reading commands: %v", err)
	}
}

func runCommand(ctx context.Context, p *goPeer, env envelope, raw json.RawMessage) {
	fn, ok := commands[env.Cmd]
	if !ok {
		p.out.result(env.ID, nil, fmt.Errorf("unknown command %q", env.Cmd))
		return
	}
	timeout := defaultCommandTimeout
	if env.TimeoutMs > 0 {
		timeout = time.Duration(env.TimeoutMs) * time.Millisecond
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fields, err := fn(cctx, p, raw)
	p.out.result(env.ID, fields, err)
	if env.Cmd == "exit" {
		// only now, so that the reply is out before the process ends
		p.stop()
	}
}

// args decodes a command's arguments into v.
func args(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("bad arguments: %w", err)
	}
	return nil
}
