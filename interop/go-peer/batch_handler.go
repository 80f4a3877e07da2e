package main

// The acceptor side of /x/batch/1.0.0 and /x/batch/1.1.0: records the
// messages it gets (for the batch-received command), answers requests with
// its built-in handlers (echo, upper, fail), acknowledges every frame once
// handled on /x/batch/1.1.0, and resets the stream on any breach of
// PROTOCOL.md, counting it by error name.

import (
	"bufio"
	"bytes"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
)

// batchMaxKept bounds the messages kept for batch-received.
const batchMaxKept = 100_000

type batchState struct {
	mu        sync.Mutex
	listening bool
	sinks     map[string]bool
	threshold int
	received  []BatchMessage
	dropped   int
	errors    map[string]int
	frames    int
	inflated  int
}

var batch = &batchState{sinks: map[string]bool{}, errors: map[string]int{}, threshold: 1024}

func (b *batchState) keep(name string, priority int, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.received) >= batchMaxKept {
		b.dropped++
		return
	}
	b.received = append(b.received, BatchMessage{Name: name, Priority: priority, Data: append([]byte(nil), data...)})
}

func (b *batchState) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors[batchErrorName(err)]++
}

// answerBatchRequest is the go peer's handler set for requests.
func answerBatchRequest(name string, data []byte) (uint64, []byte) {
	switch name {
	case "echo":
		return batchStatusOK, data
	case "upper":
		return batchStatusOK, bytes.ToUpper(data)
	case "fail":
		return batchStatusHandlerError, []byte("the go handler failed")
	default:
		return batchStatusNoHandler, nil
	}
}

func (p *goPeer) handleBatch(s network.Stream) {
	p.inbound(s, string(s.Protocol()))
	acks := s.Protocol() == batchFlowProtocol
	r := bufio.NewReader(s)
	names := map[uint64]string{}
	for {
		flags, body, err := readBatchFrame(r)
		if err != nil {
			if _, named := err.(*batchError); named {
				batch.fail(err)
				_ = s.Reset()
				return
			}
			_ = s.Close()
			return
		}
		batch.mu.Lock()
		batch.frames++
		if flags&batchFlagCompressed != 0 {
			batch.inflated++
		}
		threshold := batch.threshold
		batch.mu.Unlock()

		responses, err := handleBatchRecords(body, names)
		if err != nil {
			batch.fail(err)
			_ = s.Reset()
			return
		}
		var out []byte
		if len(responses) > 0 {
			out, _ = encodeBatchFrame(encodeBatchRecords(responses), threshold)
		}
		if acks {
			// the frame's records were handled: acknowledge it
			out = append(out, encodeBatchAck(1)...)
		}
		if len(out) > 0 {
			if _, err := s.Write(out); err != nil {
				_ = s.Reset()
				return
			}
		}
	}
}

// handleBatchRecords applies one frame's records in order; it returns the
// answers to its requests (this handler answers each request at once, so
// at most one frame's requests are ever unanswered).
func handleBatchRecords(body []byte, names map[uint64]string) ([]batchRecord, error) {
	records, err := decodeBatchRecords(body)
	if err != nil {
		return nil, err
	}
	var responses []batchRecord
	seen := map[uint64]bool{}
	for _, rec := range records {
		switch rec.Kind {
		case batchKindName:
			if rec.N >= batchMaxNames {
				return nil, batchErr("TooManyNamesError", "name id %d", rec.N)
			}
			if _, dup := names[rec.N]; dup {
				return nil, batchErr("ProtocolViolationError", "name id %d defined twice", rec.N)
			}
			if !validBatchName(rec.Payload) {
				return nil, batchErr("MalformedFrameError", "a bad name")
			}
			names[rec.N] = string(rec.Payload)
		case batchKindMessage, batchKindRequest:
			name, ok := names[rec.N]
			if !ok {
				return nil, batchErr("ProtocolViolationError", "name id %d was never defined", rec.N)
			}
			if rec.Kind == batchKindMessage {
				batch.mu.Lock()
				sink := batch.sinks[name]
				batch.mu.Unlock()
				if !sink {
					return nil, batchErr("UnknownNameError", "no handler for %q", name)
				}
				batch.keep(name, rec.Priority, rec.Payload)
				continue
			}
			if seen[rec.ID] {
				return nil, batchErr("ProtocolViolationError", "request id %d already in flight", rec.ID)
			}
			if len(seen) >= batchMaxInflight {
				return nil, batchErr("TooManyRequestsError", "more than %d unanswered requests", batchMaxInflight)
			}
			seen[rec.ID] = true
			status, answer := answerBatchRequest(name, rec.Payload)
			responses = append(responses, batchRecord{Kind: batchKindResponse, N: status, Priority: rec.Priority, ID: rec.ID, Payload: answer})
		default:
			return nil, batchErr("ProtocolViolationError", "the opener may not write RESPONSE records")
		}
	}
	return responses, nil
}
