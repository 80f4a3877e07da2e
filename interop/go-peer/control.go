package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"reflect"
	"sync"
	"time"
)

// A command: its arguments and reply types (named structs of schema.go,
// checked against ../control-protocol.json by schema_test.go) and run, which
// decodes the arguments from the command line and returns the reply's fields.
type command struct {
	args  reflect.Type
	reply reflect.Type
	run   func(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error)
}

// commands holds every command by name. A name not in it is rejected with
// `unknown command`: the schema lists exactly these.
var commands = map[string]command{}

// register adds a command; each commands_*.go file registers its own in
// init. A (arguments) and R (reply) are structs of schema.go.
func register[A any, R any](name string, fn func(ctx context.Context, p *goPeer, a A) (R, error)) {
	if _, dup := commands[name]; dup {
		panic("duplicate command " + name)
	}
	commands[name] = command{
		args:  reflect.TypeFor[A](),
		reply: reflect.TypeFor[R](),
		run: func(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
			var a A
			if err := args(raw, &a); err != nil {
				return nil, err
			}
			reply, err := fn(ctx, p, a)
			if err != nil {
				return nil, err
			}
			return replyFields(reply)
		},
	}
}

// replyFields turns a reply struct into the fields of the result line.
func replyFields(reply any) (map[string]any, error) {
	data, err := json.Marshal(reply)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	return fields, nil
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
	cmd, ok := commands[env.Cmd]
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
	fields, err := cmd.run(cctx, p, raw)
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
