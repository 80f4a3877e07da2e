package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-libp2p/p2p/transport/websocket"
	ma "github.com/multiformats/go-multiaddr"
)

// goPeer is the running node and the state the commands share.
type goPeer struct {
	ctx    context.Context
	opts   *options
	host   host.Host
	pubsub *pubsub.PubSub
	out    *output
	exit   chan struct{}
	once   sync.Once
	// closing is set once the host starts shutting down
	closing atomic.Bool

	mu     sync.Mutex
	topics map[string]*pubsub.Topic
	subs   map[string]*pubsub.Subscription
	counts *streamCounts
}

func loadOrCreateKey(path string) (crypto.PrivKey, error) {
	if path == "" {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		return key, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			return nil, err
		}
		raw, err := crypto.MarshalPrivateKey(key)
		if err != nil {
			return nil, err
		}
		return key, os.WriteFile(path, raw, 0o600)
	}
	if err != nil {
		return nil, err
	}
	return crypto.UnmarshalPrivateKey(data)
}

func hostOptions(o *options, key crypto.PrivKey, tracer holepunch.EventTracer) ([]libp2p.Option, error) {
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(o.listen...),
		libp2p.UserAgent(o.agent),
		// the ping service is installed by newPeer, wrapped so that its
		// inbound streams are counted
		libp2p.Ping(false),
	}

	for _, name := range o.security {
		switch name {
		case "noise":
			opts = append(opts, libp2p.Security(noise.ID, noise.New))
		case "tls":
			opts = append(opts, libp2p.Security(libp2ptls.ID, libp2ptls.New))
		default:
			return nil, fmt.Errorf("unknown -security %q", name)
		}
	}

	for _, name := range o.transports {
		switch name {
		case "tcp":
			opts = append(opts, libp2p.Transport(tcp.NewTCPTransport))
		case "quic":
			opts = append(opts, libp2p.Transport(quic.NewTransport))
		case "ws":
			opts = append(opts, libp2p.Transport(websocket.New))
		default:
			return nil, fmt.Errorf("unknown -transports %q", name)
		}
	}

	if o.rcmgr == "unlimited" {
		mgr, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(rcmgr.InfiniteLimits))
		if err != nil {
			return nil, err
		}
		opts = append(opts, libp2p.ResourceManager(mgr))
	}

	if o.relayService {
		resources := relay.DefaultResources()
		if o.relayUnlimited {
			resources.Limit = nil
			resources.MaxReservations = 1024
			resources.MaxCircuits = 1024
			resources.MaxReservationsPerIP = 1024
			resources.MaxReservationsPerASN = 1024
		}
		opts = append(opts, libp2p.EnableRelayService(relay.WithResources(resources)))
	}

	if len(o.relays) > 0 {
		var static []peer.AddrInfo
		for _, s := range o.relays {
			info, err := peer.AddrInfoFromString(s)
			if err != nil {
				return nil, fmt.Errorf("bad -relay %q: %w", s, err)
			}
			static = append(static, *info)
		}
		opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(static))
	}

	if o.holePunch {
		opts = append(opts, libp2p.EnableHolePunching(holepunch.WithTracer(tracer)))
	}

	if o.autonatService {
		opts = append(opts, libp2p.EnableNATService(), libp2p.EnableAutoNATv2())
	}

	switch o.reachability {
	case "public":
		opts = append(opts, libp2p.ForceReachabilityPublic())
	case "private":
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}

	if len(o.announce) > 0 {
		var addrs []ma.Multiaddr
		for _, s := range o.announce {
			a, err := ma.NewMultiaddr(s)
			if err != nil {
				return nil, fmt.Errorf("bad -announce %q: %w", s, err)
			}
			addrs = append(addrs, a)
		}
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return addrs }))
	}

	return opts, nil
}

func newPeer(ctx context.Context, o *options, out *output) (*goPeer, error) {
	key, err := loadOrCreateKey(o.keyFile)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}

	p := &goPeer{
		ctx:    ctx,
		opts:   o,
		out:    out,
		exit:   make(chan struct{}),
		topics: map[string]*pubsub.Topic{},
		subs:   map[string]*pubsub.Subscription{},
		counts: newStreamCounts(),
	}

	hopts, err := hostOptions(o, key, &holePunchTracer{out: out})
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(hopts...)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	p.host = h

	h.Network().Notify(&network.NotifyBundle{
		ConnectedF:    func(_ network.Network, c network.Conn) { out.event("conn", connFields(c, "open")) },
		DisconnectedF: func(_ network.Network, c network.Conn) { out.event("conn", connFields(c, "close")) },
	})
	h.SetStreamHandler(echoProtocol, p.handleEcho)
	pings := ping.NewPingService(h)
	h.SetStreamHandler(ping.ID, func(s network.Stream) {
		p.inbound(s, ping.ID)
		pings.PingHandler(s)
	})

	startEvents, err := p.watchEvents()
	if err != nil {
		h.Close()
		return nil, err
	}

	ps, err := pubsub.NewGossipSub(ctx, h)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("gossipsub: %w", err)
	}
	p.pubsub = ps
	for _, topic := range o.topics {
		if err := p.subscribe(topic); err != nil {
			h.Close()
			return nil, err
		}
	}

	if o.pingInterval > 0 {
		go p.pingLoop(o.pingInterval)
	}

	out.event("ready", map[string]any{
		"peerId":    h.ID().String(),
		"addrs":     p2pAddrs(h),
		"protocols": h.Mux().Protocols(),
	})
	startEvents()
	log.Printf("ready as %s", h.ID())
	return p, nil
}

// stop asks the main loop to exit (used by the exit command).
func (p *goPeer) stop() {
	p.once.Do(func() { close(p.exit) })
}

func (p *goPeer) close() {
	p.closing.Store(true)
	if err := p.host.Close(); err != nil {
		log.Printf("closing host: %v", err)
	}
}

func p2pAddrs(h host.Host) []string {
	out := []string{}
	for _, a := range h.Addrs() {
		out = append(out, fmt.Sprintf("%s/p2p/%s", a, h.ID()))
	}
	return out
}

func connFields(c network.Conn, event string) map[string]any {
	dir := "outbound"
	if c.Stat().Direction == network.DirInbound {
		dir = "inbound"
	}
	return map[string]any{
		"event":      event,
		"connId":     c.ID(),
		"peerId":     c.RemotePeer().String(),
		"remoteAddr": c.RemoteMultiaddr().String(),
		"localAddr":  c.LocalMultiaddr().String(),
		"direction":  dir,
		"limited":    c.Stat().Limited,
	}
}
