package main

// Commands for /x/batch/1.0.0 (PROTOCOL.md in packages/message-batching):
//
//	batch-listen   {names, compressThreshold=1024}  handle the protocol; messages to names are kept
//	batch-received {clear}                         kept messages, frames, error counts by name
//	batch-send     {peerId, name, messages (base64), priorities, batchSize=100, compressThreshold=1024 (-1 never),
//	                flowControl: offer /x/batch/1.1.0 first and, when it is picked, keep at most
//	                batchSendWindow frames unacknowledged}
//	batch-request  {peerId, name, requests (base64), priority, compressThreshold=1024}
//
// batch-send and batch-request open one stream each, write their records in
// frames, and close it when done (after every answer, for requests).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

func init() {
	register("batch-listen", cmdBatchListen)
	register("batch-received", cmdBatchReceived)
	register("batch-send", cmdBatchSend)
	register("batch-request", cmdBatchRequest)
}

func cmdBatchListen(_ context.Context, p *goPeer, a BatchListenArgs) (BatchListenReply, error) {
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
		p.host.SetStreamHandler(batchFlowProtocol, p.handleBatch)
		p.host.SetStreamHandler(batchProtocol, p.handleBatch)
	}
	return BatchListenReply{Protocol: batchProtocol}, nil
}

func cmdBatchReceived(_ context.Context, _ *goPeer, a BatchReceivedArgs) (BatchReceivedReply, error) {
	batch.mu.Lock()
	defer batch.mu.Unlock()
	errs := map[string]int{}
	for k, v := range batch.errors {
		errs[k] = v
	}
	out := BatchReceivedReply{Messages: batch.received, Dropped: batch.dropped, Errors: errs, Frames: batch.frames, CompressedFrames: batch.inflated}
	if out.Messages == nil {
		out.Messages = []BatchMessage{}
	}
	if a.Clear {
		batch.received = nil
		batch.dropped = 0
		batch.errors = map[string]int{}
		batch.frames = 0
		batch.inflated = 0
	}
	return out, nil
}

// batchSendWindow is how many frames batch-send keeps unacknowledged on
// /x/batch/1.1.0 (small, so a few hundred messages take several windows)
const batchSendWindow = 2

func openBatchStream(ctx context.Context, p *goPeer, peerID string, flow bool) (network.Stream, error) {
	id, err := peer.Decode(peerID)
	if err != nil {
		return nil, err
	}
	protocols := []protocol.ID{batchProtocol}
	if flow {
		protocols = []protocol.ID{batchFlowProtocol, batchProtocol}
	}
	return p.host.NewStream(network.WithAllowLimitedConn(ctx, "interop"), id, protocols...)
}

// batchAcks reads the ACK frames of a /x/batch/1.1.0 stream and hands their
// counts over, until the stream ends, breaks the protocol or done closes.
func batchAcks(s io.Reader, done <-chan struct{}) (<-chan uint64, <-chan error) {
	counts := make(chan uint64)
	failed := make(chan error, 1)
	go func() {
		r := bufio.NewReader(s)
		for {
			count, err := readBatchAck(r)
			if err != nil {
				failed <- err
				return
			}
			select {
			case counts <- count:
			case <-done:
				return
			}
		}
	}()
	return counts, failed
}

func threshold(t *int) int {
	if t == nil {
		return 1024
	}
	return *t
}

func cmdBatchSend(ctx context.Context, p *goPeer, a BatchSendArgs) (BatchSendReply, error) {
	if !validBatchName([]byte(a.Name)) {
		return BatchSendReply{}, errors.New("bad name")
	}
	if a.BatchSize <= 0 {
		a.BatchSize = 100
	}
	s, err := openBatchStream(ctx, p, a.PeerID, a.FlowControl)
	if err != nil {
		return BatchSendReply{}, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(deadline)
	}
	flow := s.Protocol() == batchFlowProtocol
	var counts <-chan uint64
	var failed <-chan error
	if flow {
		done := make(chan struct{})
		defer close(done)
		counts, failed = batchAcks(s, done)
	}
	acked := uint64(0)
	frames, compressed, wire := 0, 0, 0
	// waitAcks waits until at most `most` frames are unacknowledged
	waitAcks := func(most int) error {
		for flow && uint64(frames)-acked > uint64(most) {
			select {
			case count := <-counts:
				if acked+count > uint64(frames) {
					return batchErr("ProtocolViolationError", "%d frames acknowledged, %d written", acked+count, frames)
				}
				acked += count
			case err := <-failed:
				return fmt.Errorf("reading ACKs: %w", err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	records := []batchRecord{{Kind: batchKindName, N: 0, Payload: []byte(a.Name)}}
	flush := func() error {
		if err := waitAcks(batchSendWindow - 1); err != nil {
			return err
		}
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
				return BatchSendReply{}, err
			}
		}
	}
	if len(records) > 0 {
		if err := flush(); err != nil {
			_ = s.Reset()
			return BatchSendReply{}, err
		}
	}
	// on /x/batch/1.1.0 every frame is acknowledged before the stream is closed
	if err := waitAcks(0); err != nil {
		_ = s.Reset()
		return BatchSendReply{}, err
	}
	if err := s.Close(); err != nil {
		return BatchSendReply{}, err
	}
	return BatchSendReply{Frames: frames, CompressedFrames: compressed, WireBytes: wire, Protocol: string(s.Protocol()), AckedFrames: int(acked)}, nil
}

func cmdBatchRequest(ctx context.Context, p *goPeer, a BatchRequestArgs) (BatchRequestReply, error) {
	priority := 1
	if a.Priority != nil {
		priority = *a.Priority
	}
	if !validBatchName([]byte(a.Name)) || len(a.Requests) == 0 || len(a.Requests) > batchMaxInflight {
		return BatchRequestReply{}, errors.New("bad name or number of requests")
	}
	s, err := openBatchStream(ctx, p, a.PeerID, false)
	if err != nil {
		return BatchRequestReply{}, err
	}
	defer s.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(deadline)
	}
	records := []batchRecord{{Kind: batchKindName, N: 0, Payload: []byte(a.Name)}}
	for i, data := range a.Requests {
		records = append(records, batchRecord{Kind: batchKindRequest, N: 0, Priority: priority, ID: uint64(i), Payload: data})
	}
	frame, deflated := encodeBatchFrame(encodeBatchRecords(records), threshold(a.CompressThreshold))
	if _, err := s.Write(frame); err != nil {
		_ = s.Reset()
		return BatchRequestReply{}, err
	}
	answers := map[uint64]BatchAnswer{}
	compressedAnswers := 0
	r := bufio.NewReader(s)
	for len(answers) < len(a.Requests) {
		flags, body, err := readBatchFrame(r)
		if err != nil {
			_ = s.Reset()
			return BatchRequestReply{}, fmt.Errorf("reading answers: %w", err)
		}
		if flags&batchFlagCompressed != 0 {
			compressedAnswers++
		}
		recs, err := decodeBatchRecords(body)
		if err != nil {
			_ = s.Reset()
			return BatchRequestReply{}, err
		}
		for _, rec := range recs {
			if rec.Kind != batchKindResponse || rec.ID >= uint64(len(a.Requests)) {
				_ = s.Reset()
				return BatchRequestReply{}, batchErr("ProtocolViolationError", "unexpected record kind %d id %d", rec.Kind, rec.ID)
			}
			answers[rec.ID] = BatchAnswer{ID: rec.ID, Status: rec.N, Data: append([]byte(nil), rec.Payload...)}
		}
	}
	out := make([]BatchAnswer, 0, len(answers))
	for _, v := range answers {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return BatchRequestReply{Answers: out, RequestCompressed: deflated, CompressedAnswerFrames: compressedAnswers}, nil
}
