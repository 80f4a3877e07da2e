package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

func init() {
	register("stream-counts", cmdStreamCounts)
	register("reset-counts", cmdResetCounts)
	register("ping", cmdPing)
	register("echo", cmdEcho)
}

func cmdStreamCounts(_ context.Context, p *goPeer, _ json.RawMessage) (map[string]any, error) {
	return map[string]any{"perConn": p.counts.snapshot()}, nil
}

func cmdResetCounts(_ context.Context, p *goPeer, _ json.RawMessage) (map[string]any, error) {
	p.counts.reset()
	return nil, nil
}

// ping {peerId, count=1}: pings over the existing connection.
func cmdPing(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		PeerID string `json:"peerId"`
		Count  int    `json:"count"`
	}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	id, err := peer.Decode(a.PeerID)
	if err != nil {
		return nil, err
	}
	if a.Count <= 0 {
		a.Count = 1
	}
	ctx, cancel := context.WithCancel(network.WithAllowLimitedConn(ctx, "interop"))
	defer cancel()
	results := ping.Ping(ctx, p.host, id)
	rtts := make([]float64, 0, a.Count)
	for len(rtts) < a.Count {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case res := <-results:
			if res.Error != nil {
				return nil, res.Error
			}
			rtts = append(rtts, float64(res.RTT.Microseconds())/1000)
		}
	}
	return map[string]any{"rttsMs": rtts}, nil
}

// echo {peerId, sizeBytes | dataBase64}: sends the data over /echo/1.0.0,
// half-closes, reads everything back and compares.
func cmdEcho(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		PeerID     string `json:"peerId"`
		SizeBytes  int    `json:"sizeBytes"`
		DataBase64 string `json:"dataBase64"`
	}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	id, err := peer.Decode(a.PeerID)
	if err != nil {
		return nil, err
	}
	var data []byte
	switch {
	case a.DataBase64 != "":
		if data, err = base64.StdEncoding.DecodeString(a.DataBase64); err != nil {
			return nil, err
		}
	case a.SizeBytes > 0:
		data = make([]byte, a.SizeBytes)
		_, _ = rand.Read(data)
	default:
		return nil, errors.New("echo needs sizeBytes or dataBase64")
	}

	start := time.Now()
	s, err := p.host.NewStream(network.WithAllowLimitedConn(ctx, "interop"), id, echoProtocol)
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(deadline)
	}
	writeErr := make(chan error, 1)
	go func() {
		_, err := s.Write(data)
		if err == nil {
			err = s.CloseWrite()
		}
		writeErr <- err
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	if err := <-writeErr; err != nil {
		_ = s.Reset()
		return nil, err
	}
	_ = s.Close()
	return map[string]any{
		"bytes":     len(got),
		"identical": bytes.Equal(got, data),
		"ms":        time.Since(start).Milliseconds(),
		"connId":    s.Conn().ID(),
	}, nil
}
