package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
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

func cmdStreamCounts(_ context.Context, p *goPeer, _ Empty) (StreamCountsReply, error) {
	return StreamCountsReply{PerConn: p.counts.snapshot()}, nil
}

func cmdResetCounts(_ context.Context, p *goPeer, _ Empty) (Empty, error) {
	p.counts.reset()
	return Empty{}, nil
}

// ping {peerId, count=1}: pings over the existing connection.
func cmdPing(ctx context.Context, p *goPeer, a PingArgs) (PingReply, error) {
	id, err := peer.Decode(a.PeerID)
	if err != nil {
		return PingReply{}, err
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
			return PingReply{}, ctx.Err()
		case res := <-results:
			if res.Error != nil {
				return PingReply{}, res.Error
			}
			rtts = append(rtts, float64(res.RTT.Microseconds())/1000)
		}
	}
	return PingReply{RttsMs: rtts}, nil
}

// echo {peerId, sizeBytes | dataBase64}: sends the data over /echo/1.0.0,
// half-closes, reads everything back and compares.
func cmdEcho(ctx context.Context, p *goPeer, a EchoArgs) (EchoReply, error) {
	id, err := peer.Decode(a.PeerID)
	if err != nil {
		return EchoReply{}, err
	}
	var data []byte
	switch {
	case a.DataBase64 != "":
		if data, err = base64.StdEncoding.DecodeString(a.DataBase64); err != nil {
			return EchoReply{}, err
		}
	case a.SizeBytes > 0:
		data = make([]byte, a.SizeBytes)
		_, _ = rand.Read(data)
	default:
		return EchoReply{}, errors.New("echo needs sizeBytes or dataBase64")
	}

	start := time.Now()
	s, err := p.host.NewStream(network.WithAllowLimitedConn(ctx, "interop"), id, echoProtocol)
	if err != nil {
		return EchoReply{}, err
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
		return EchoReply{}, err
	}
	if err := <-writeErr; err != nil {
		_ = s.Reset()
		return EchoReply{}, err
	}
	_ = s.Close()
	return EchoReply{
		Bytes:     len(got),
		Identical: bytes.Equal(got, data),
		Ms:        time.Since(start).Milliseconds(),
		ConnID:    s.Conn().ID(),
	}, nil
}
