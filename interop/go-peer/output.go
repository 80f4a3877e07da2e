package main

import (
	"encoding/json"
	"io"
	"log"
	"sync"
	"time"
)

// output writes one JSON object per line; writes are serialized so that
// concurrent commands and event handlers never interleave.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

func newOutput(w io.Writer) *output {
	return &output{w: w}
}

func (o *output) write(v map[string]any) {
	line, err := json.Marshal(v)
	if err != nil {
		log.Printf("cannot encode %v: %v", v, err)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(append(line, '\n'))
}

// event writes {"type": kind, "ts": now, ...fields}.
func (o *output) event(kind string, fields map[string]any) {
	v := map[string]any{"type": kind, "ts": time.Now().UnixMilli()}
	for k, val := range fields {
		v[k] = val
	}
	o.write(v)
}

// result writes the single reply to command id.
func (o *output) result(id int64, fields map[string]any, err error) {
	v := map[string]any{"type": "result", "id": id}
	if err != nil {
		v["ok"] = false
		v["error"] = err.Error()
	} else {
		for k, val := range fields {
			v[k] = val
		}
		v["ok"] = true
	}
	o.write(v)
}
