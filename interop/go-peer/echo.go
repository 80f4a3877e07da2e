package main

import (
	"io"
	"log"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
)

const echoProtocol = "/echo/1.0.0"

// streamCounts counts inbound streams per connection and protocol.
type streamCounts struct {
	mu     sync.Mutex
	counts map[string]map[string]int
}

func newStreamCounts() *streamCounts {
	return &streamCounts{counts: map[string]map[string]int{}}
}

func (s *streamCounts) add(connID, protocol string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	perConn, ok := s.counts[connID]
	if !ok {
		perConn = map[string]int{}
		s.counts[connID] = perConn
	}
	perConn[protocol]++
}

func (s *streamCounts) snapshot() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]int, len(s.counts))
	for conn, perConn := range s.counts {
		copied := make(map[string]int, len(perConn))
		for proto, n := range perConn {
			copied[proto] = n
		}
		out[conn] = copied
	}
	return out
}

func (s *streamCounts) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]map[string]int{}
}

// inbound counts an inbound stream on one of our own handlers and reports
// it as a stream event.
func (p *goPeer) inbound(s network.Stream, protocol string) {
	p.counts.add(s.Conn().ID(), protocol)
	p.out.event("stream", map[string]any{
		"protocol": protocol,
		"peerId":   s.Conn().RemotePeer().String(),
		"connId":   s.Conn().ID(),
	})
}

// handleEcho writes back everything it reads, then closes its write side
// once the remote has closed its own (half-close).
func (p *goPeer) handleEcho(s network.Stream) {
	p.inbound(s, echoProtocol)

	if _, err := io.Copy(s, s); err != nil {
		log.Printf("echo from %s: %v", s.Conn().RemotePeer(), err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}
