package main

// Commands for /x/batch/1.0.0 (PROTOCOL.md in packages/message-batching):
//
//	batch-listen   {names, compressThreshold=1024}  handle the protocol; messages to names are kept
//	batch-received {clear}                         kept messages, frames, error counts by name
//	batch-send     {peerId, name, messages (base64), priorities, batchSize=100, compressThreshold=1024 (-1 never)}
//	batch-request  {peerId, name, requests (base64), priority, compressThreshold=1024}
//
// batch-send and batch-request open one stream each, write their records in
// frames, and close it when done (after every answer, for requests).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func init() {
	register("batch-listen", cmdBatchListen)
	register("batch-received", cmdBatchReceived)
	register("batch-send", cmdBatchSend)
	register("batch-request", cmdBatchRequest)
}

func cmdBatchListen(_ context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	a := struct {
		Names             []string `json:"names"`
		CompressThreshold *int     `json:"compressThreshold"`
	}{}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	batch.mu.Lock()
	for _, name := range a.Names {
		batch.sinks[name] = true
	}
	if a.CompressThreshold != nil {
		batch.threshold = *a.CompressThreshold
	}
	first := !batch.listening
	batch.listening = true
	batch.mu.Unlock()
	if first {
		p.host.SetStreamHandler(batchProtocol, p.handleBatch)
	}
	return map[string]any{"protocol": batchProtocol}, nil
}

func cmdBatchReceived(_ context.Context, _ *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		Clear bool `json:"clear"`
	}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	batch.mu.Lock()
	defer batch.mu.Unlock()
	errs := map[string]int{}
	for k, v := range batch.errors {
		errs[k] = v
	}
	out := map[string]any{"messages": batch.received, "dropped": batch.dropped, "errors": errs, "frames": batch.frames, "compressedFrames": batch.inflated}
	if a.Clear {
		batch.received = nil
		batch.dropped = 0
		batch.errors = map[string]int{}
		batch.frames = 0
		batch.inflated = 0
	}
	return out, nil
}

func openBatchStream(ctx context.Context, p *goPeer, peerID string) (network.Stream, error) {
	id, err := peer.Decode(peerID)
	if err != nil {
		return nil, err
	}
	return p.host.NewStream(network.WithAllowLimitedConn(ctx, "interop"), id, batchProtocol)
}

func threshold(t *int) int {
	if t == nil {
		return 1024
	}
	return *t
}

func cmdBatchSend(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		PeerID            string   `json:"peerId"`
		Name              string   `json:"name"`
		Messages          [][]byte `json:"messages"`
		Priorities        []int    `json:"priorities"`
		BatchSize         int      `json:"batchSize"`
		CompressThreshold *int     `json:"compressThreshold"`
	}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	if !validBatchName([]byte(a.Name)) {
		return nil, errors.New("bad name")
	}
	if a.BatchSize <= 0 {
		a.BatchSize = 100
	}
	s, err := openBatchStream(ctx, p, a.PeerID)
	if err != nil {
		return nil, err
	}
	frames, compressed, wire := 0, 0, 0
	records := []batchRecord{{Kind: batchKindName, N: 0, Payload: []byte(a.Name)}}
	flush := func() error {
		frame, deflated := encodeBatchFrame(encodeBatchRecords(records), threshold(a.CompressThreshold))
		records = records[:0]
		frames++
		wire += len(frame)
		if deflated {
			compressed++
		}
		_, err := s.Write(frame)
		return err
	}
	for i, data := range a.Messages {
		priority := 1
		if i < len(a.Priorities) {
			priority = a.Priorities[i]
		}
		records = append(records, batchRecord{Kind: batchKindMessage, N: 0, Priority: priority, Payload: data})
		if len(records) >= a.BatchSize {
			if err := flush(); err != nil {
				_ = s.Reset()
				return nil, err
			}
		}
	}
	if len(records) > 0 {
		if err := flush(); err != nil {
			_ = s.Reset()
			return nil, err
		}
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	return map[string]any{"frames": frames, "compressedFrames": compressed, "wireBytes": wire}, nil
}

func cmdBatchRequest(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		PeerID            string   `json:"peerId"`
		Name              string   `json:"name"`
		Requests          [][]byte `json:"requests"`
		Priority          int      `json:"priority"`
		CompressThreshold *int     `json:"compressThreshold"`
	}
	a.Priority = 1
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	if !validBatchName([]byte(a.Name)) || len(a.Requests) == 0 || len(a.Requests) > batchMaxInflight {
		return nil, errors.New("bad name or number of requests")
	}
	s, err := openBatchStream(ctx, p, a.PeerID)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(deadline)
	}
	records := []batchRecord{{Kind: batchKindName, N: 0, Payload: []byte(a.Name)}}
	for i, data := range a.Requests {
		records = append(records, batchRecord{Kind: batchKindRequest, N: 0, Priority: a.Priority, ID: uint64(i), Payload: data})
	}
	frame, deflated := encodeBatchFrame(encodeBatchRecords(records), threshold(a.CompressThreshold))
	if _, err := s.Write(frame); err != nil {
		_ = s.Reset()
		return nil, err
	}
	type answer struct {
		ID     uint64 `json:"id"`
		Status uint64 `json:"status"`
		Data   []byte `json:"data"`
	}
	answers := map[uint64]answer{}
	compressedAnswers := 0
	r := bufio.NewReader(s)
	for len(answers) < len(a.Requests) {
		flags, body, err := readBatchFrame(r)
		if err != nil {
			_ = s.Reset()
			return nil, fmt.Errorf("reading answers: %w", err)
		}
		if flags&batchFlagCompressed != 0 {
			compressedAnswers++
		}
		recs, err := decodeBatchRecords(body)
		if err != nil {
			_ = s.Reset()
			return nil, err
		}
		for _, rec := range recs {
			if rec.Kind != batchKindResponse || rec.ID >= uint64(len(a.Requests)) {
				_ = s.Reset()
				return nil, batchErr("ProtocolViolationError", "unexpected record kind %d id %d", rec.Kind, rec.ID)
			}
			answers[rec.ID] = answer{ID: rec.ID, Status: rec.N, Data: append([]byte(nil), rec.Payload...)}
		}
	}
	out := make([]answer, 0, len(answers))
	for _, v := range answers {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return map[string]any{"answers": out, "requestCompressed": deflated, "compressedAnswerFrames": compressedAnswers}, nil
}
