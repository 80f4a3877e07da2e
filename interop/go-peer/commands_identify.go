package main

import (
	"context"
	"encoding/json"

	"github.com/libp2p/go-libp2p/core/peer"
)

func init() {
	register("identify-info", cmdIdentifyInfo)
}

// identify-info {peerId}: what identify stored about the peer.
func cmdIdentifyInfo(_ context.Context, p *goPeer, raw json.RawMessage) (map[string]any, error) {
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
	ps := p.host.Peerstore()
	fields := map[string]any{"agentVersion": "", "protocolVersion": ""}
	if v, err := ps.Get(id, "AgentVersion"); err == nil {
		fields["agentVersion"] = v
	}
	if v, err := ps.Get(id, "ProtocolVersion"); err == nil {
		fields["protocolVersion"] = v
	}
	protos, err := ps.GetProtocols(id)
	if err != nil {
		return nil, err
	}
	list := make([]string, 0, len(protos))
	for _, proto := range protos {
		list = append(list, string(proto))
	}
	fields["protocols"] = list
	addrs := []string{}
	for _, addr := range ps.Addrs(id) {
		addrs = append(addrs, addr.String())
	}
	fields["addrs"] = addrs
	return fields, nil
}
