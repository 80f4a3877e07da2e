package main

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
)

func init() {
	register("identify-info", cmdIdentifyInfo)
}

// identify-info {peerId}: what identify stored about the peer.
func cmdIdentifyInfo(_ context.Context, p *goPeer, a PeerArgs) (IdentifyInfoReply, error) {
	id, err := peer.Decode(a.PeerID)
	if err != nil {
		return IdentifyInfoReply{}, err
	}
	ps := p.host.Peerstore()
	reply := IdentifyInfoReply{}
	if v, err := ps.Get(id, "AgentVersion"); err == nil {
		reply.AgentVersion, _ = v.(string)
	}
	if v, err := ps.Get(id, "ProtocolVersion"); err == nil {
		reply.ProtocolVersion, _ = v.(string)
	}
	protos, err := ps.GetProtocols(id)
	if err != nil {
		return IdentifyInfoReply{}, err
	}
	reply.Protocols = make([]string, 0, len(protos))
	for _, proto := range protos {
		reply.Protocols = append(reply.Protocols, string(proto))
	}
	reply.Addrs = []string{}
	for _, addr := range ps.Addrs(id) {
		reply.Addrs = append(reply.Addrs, addr.String())
	}
	return reply, nil
}
