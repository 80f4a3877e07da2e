package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func init() {
	register("connect", cmdConnect)
	register("disconnect", cmdDisconnect)
	register("close-conn", cmdCloseConn)
	register("conns", cmdConns)
	register("addrs", cmdAddrs)
	register("reachability", cmdReachability)
	register("exit", cmdExit)
}

// connect {addr, force?}: dials unless a connection already exists (the
// existing one is returned). force adds network.WithForceDirectDial: a
// direct connection is made even when only a limited (relayed) one exists.
// It does NOT open a second connection next to an existing direct one; the
// go-libp2p swarm has no public way to do that (a second connection to the
// same peer comes from the remote dialling in).
func cmdConnect(ctx context.Context, p *goPeer, a ConnectArgs) (ConnectReply, error) {
	info, err := peer.AddrInfoFromString(a.Addr)
	if err != nil {
		return ConnectReply{}, err
	}
	p.host.Peerstore().AddAddrs(info.ID, info.Addrs, 10*60e9)
	ctx = network.WithAllowLimitedConn(ctx, "interop")
	if a.Force {
		ctx = network.WithForceDirectDial(ctx, "interop: new connection")
	}
	conn, err := p.host.Network().DialPeer(ctx, info.ID)
	if err != nil {
		return ConnectReply{}, err
	}
	return ConnectReply{PeerID: info.ID.String(), ConnID: conn.ID(), Limited: conn.Stat().Limited}, nil
}

func cmdDisconnect(_ context.Context, p *goPeer, a PeerArgs) (Empty, error) {
	id, err := peer.Decode(a.PeerID)
	if err != nil {
		return Empty{}, err
	}
	return Empty{}, p.host.Network().ClosePeer(id)
}

// close-conn {connId}: closes one connection from this side.
func cmdCloseConn(_ context.Context, p *goPeer, a CloseConnArgs) (Empty, error) {
	for _, c := range p.host.Network().Conns() {
		if c.ID() == a.ConnID {
			return Empty{}, c.Close()
		}
	}
	return Empty{}, fmt.Errorf("no connection %q", a.ConnID)
}

// conns lists every open connection with its open streams and the inbound
// streams accepted on it per protocol.
func cmdConns(_ context.Context, p *goPeer, _ Empty) (ConnsReply, error) {
	counts := p.counts.snapshot()
	list := []ConnInfo{}
	for _, c := range p.host.Network().Conns() {
		dir := "outbound"
		if c.Stat().Direction == network.DirInbound {
			dir = "inbound"
		}
		opened := counts[c.ID()]
		if opened == nil {
			opened = map[string]int{}
		}
		list = append(list, ConnInfo{
			ConnID:        c.ID(),
			PeerID:        c.RemotePeer().String(),
			RemoteAddr:    c.RemoteMultiaddr().String(),
			LocalAddr:     c.LocalMultiaddr().String(),
			Direction:     dir,
			Limited:       c.Stat().Limited,
			Transient:     c.Stat().Limited,
			Streams:       len(c.GetStreams()),
			StreamsOpened: opened,
		})
	}
	return ConnsReply{Conns: list}, nil
}

func cmdAddrs(_ context.Context, p *goPeer, _ Empty) (AddrsReply, error) {
	plain := []string{}
	for _, a := range p.host.Addrs() {
		plain = append(plain, a.String())
	}
	return AddrsReply{Addrs: plain, P2PAddrs: p2pAddrs(p.host)}, nil
}

func cmdReachability(_ context.Context, p *goPeer, _ Empty) (ReachabilityReply, error) {
	type reachable interface{ Reachability() network.Reachability }
	r, ok := p.host.(reachable)
	if !ok {
		return ReachabilityReply{}, errors.New("this host does not report reachability")
	}
	return ReachabilityReply{Value: reachabilityName(r.Reachability())}, nil
}

// exit: runCommand stops the peer once this command's result is written.
func cmdExit(_ context.Context, _ *goPeer, _ Empty) (Empty, error) {
	return Empty{}, nil
}
