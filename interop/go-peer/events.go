package main

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

func reachabilityName(r network.Reachability) string {
	switch r {
	case network.ReachabilityPublic:
		return "public"
	case network.ReachabilityPrivate:
		return "private"
	default:
		return "unknown"
	}
}

// watchEvents subscribes to the event bus; the returned function starts
// turning its events into JSON events (called once ready is out, so that
// ready is always the first line).
func (p *goPeer) watchEvents() (func(), error) {
	sub, err := p.host.EventBus().Subscribe([]any{
		new(event.EvtLocalReachabilityChanged),
		new(event.EvtLocalAddressesUpdated),
		new(event.EvtPeerIdentificationCompleted),
	})
	if err != nil {
		return nil, fmt.Errorf("event bus: %w", err)
	}

	return func() { go p.forwardEvents(sub) }, nil
}

func (p *goPeer) forwardEvents(sub event.Subscription) {
	defer sub.Close()
	for {
		select {
		case <-p.ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			switch evt := e.(type) {
			case event.EvtLocalReachabilityChanged:
				p.out.event("reachability", map[string]any{"value": reachabilityName(evt.Reachability)})
			case event.EvtLocalAddressesUpdated:
				if p.closing.Load() {
					continue // the listeners going away at shutdown
				}
				p.out.event("addrs", map[string]any{"addrs": p2pAddrs(p.host)})
			case event.EvtPeerIdentificationCompleted:
				protos := make([]string, 0, len(evt.Protocols))
				for _, proto := range evt.Protocols {
					protos = append(protos, string(proto))
				}
				p.out.event("identify", map[string]any{
					"peerId":       evt.Peer.String(),
					"agentVersion": evt.AgentVersion,
					"protocols":    protos,
				})
			}
		}
	}
}

// holePunchTracer reports DCUtR progress as holepunch events.
type holePunchTracer struct {
	out *output
}

func (t *holePunchTracer) Trace(evt *holepunch.Event) {
	fields := map[string]any{"peerId": evt.Remote.String(), "event": evt.Type}
	switch e := evt.Evt.(type) {
	case *holepunch.StartHolePunchEvt:
		fields["remoteAddrs"] = e.RemoteAddrs
		fields["rttMs"] = e.RTT.Milliseconds()
	case *holepunch.EndHolePunchEvt:
		fields["success"] = e.Success
		fields["ms"] = e.EllapsedTime.Milliseconds()
		if e.Error != "" {
			fields["error"] = e.Error
		}
	case *holepunch.DirectDialEvt:
		fields["success"] = e.Success
		fields["ms"] = e.EllapsedTime.Milliseconds()
		if e.Error != "" {
			fields["error"] = e.Error
		}
	case *holepunch.HolePunchAttemptEvt:
		fields["attempt"] = e.Attempt
	case *holepunch.ProtocolErrorEvt:
		fields["error"] = e.Error
	}
	t.out.event("holepunch", fields)
}

// pingLoop pings every connected peer each interval and reports the RTTs.
func (p *goPeer) pingLoop(interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-ticker.C:
			for _, id := range p.host.Network().Peers() {
				go func() {
					res := <-ping.Ping(p.ctx, p.host, id)
					if res.Error != nil {
						p.out.event("ping", map[string]any{"peerId": id.String(), "error": res.Error.Error()})
						return
					}
					p.out.event("ping", map[string]any{"peerId": id.String(), "rttMs": float64(res.RTT.Microseconds()) / 1000})
				}()
			}
		}
	}
}
