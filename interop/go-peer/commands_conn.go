package main

import (
	"context"
	"encoding/json"
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
func cmdConnect(ctx context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		Addr  string `json:"addr"`
		Force bool   `json:"force"`
	}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	info, err := peer.AddrInfoFromString(a.Addr)
	if err != nil {
		return nil, err
	}
	p.host.Peerstore().AddAddrs(info.ID, info.Addrs, 10*60e9)
	ctx = network.WithAllowLimitedConn(ctx, "interop")
	if a.Force {
		ctx = network.WithForceDirectDial(ctx, "interop: new connection")
	}
	conn, err := p.host.Network().DialPeer(ctx, info.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"peerId": info.ID.String(), "connId": conn.ID(), "limited": conn.Stat().Limited}, nil
}

func cmdDisconnect(_ context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		PeerID string `json:"peerId"`
	}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	id, err := peer.Decode(a.PeerID)
	if err != nil {
		return nil, err
	}
	return nil, p.host.Network().ClosePeer(id)
}

// close-conn {connId}: closes one connection from this side.
func cmdCloseConn(_ context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
	var a struct {
		ConnID string `json:"connId"`
	}
	if err := args(raw, &a); err != nil {
		return nil, err
	}
	for _, c := range p.host.Network().Conns() {
		if c.ID() == a.ConnID {
			return nil, c.Close()
		}
	}
	return nil, fmt.Errorf("no connection %q", a.ConnID)
}

// conns lists every open connection with its open streams and the inbound
// streams accepted on it per protocol.
func cmdConns(_ context.Context, p *goPeer, _ json.RawMessage) (map[string]any, error) {
	counts := p.counts.snapshot()
	list := []map[string]any{}
	for _, c := range p.host.Network().Conns() {
		fields := connFields(c, "open")
		delete(fields, "event")
		fields["transient"] = c.Stat().Limited // the pre-0.35 name of limited
		fields["streams"] = len(c.GetStreams())
		opened := counts[c.ID()]
		if opened == nil {
			opened = map[string]int{}
		}
		fields["streamsOpened"] = opened
		list = append(list, fields)
	}
	return map[string]any{"conns": list}, nil
}

func cmdAddrs(_ context.Context, p *goPeer, _ json.RawMessage) (map[string]any, error) {
	plain := []string{}
	for _, a := range p.host.Addrs() {
		plain = append(plain, a.String())
	}
	return map[string]any{"addrs": plain, "p2pAddrs": p2pAddrs(p.host)}, nil
}

func cmdReachability(_ context.Context, p *goPeer, _ json.RawMessage) (map[string]any, error) {
	type reachable interface{ Reachability() network.Reachability }
	r, ok := p.host.(reachable)
	if !ok {
		return nil, errors.New("this host does not report reachability")
	}
	return map[string]any{"value": reachabilityName(r.Reachability())}, nil
}

// exit: runCommand stops the peer once this command's result is written.
func cmdExit(_ context.Context, _ *goPeer, _ json.RawMessage) (map[string]any, error) {
	return nil, nil
}
