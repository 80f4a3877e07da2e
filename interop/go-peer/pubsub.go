package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// topic joins a topic once and returns it.
func (p *goPeer) topic(name string) (*pubsub.Topic, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.topics[name]; ok {
		return t, nil
	}
	t, err := p.pubsub.Join(name)
	if err != nil {
		return nil, err
	}
	p.topics[name] = t
	return t, nil
}

// subscribe starts reporting a topic's messages as pubsub events (and, on
// the discovery topic, as discovery events).
func (p *goPeer) subscribe(name string) error {
	t, err := p.topic(name)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if _, ok := p.subs[name]; ok {
		p.mu.Unlock()
		return nil
	}
	sub, err := t.Subscribe()
	if err != nil {
		p.mu.Unlock()
		return err
	}
	p.subs[name] = sub
	p.mu.Unlock()

	go func() {
		for {
			msg, err := sub.Next(p.ctx)
			if err != nil {
				return
			}
			if msg.ReceivedFrom == p.host.ID() {
				continue
			}
			from := msg.GetFrom().String()
			fields := map[string]any{
				"topic":      name,
				"from":       from,
				"dataBase64": base64.StdEncoding.EncodeToString(msg.Data),
			}
			if seqno := seqnoString(msg.GetSeqno()); seqno != "" {
				fields["seqno"] = seqno
			}
			p.out.event("pubsub", fields)
			if name == p.opts.discoveryTopic {
				p.reportDiscovery(name, from, msg.Data)
			}
		}
	}()
	return nil
}

func (p *goPeer) reportDiscovery(topic, from string, data []byte) {
	fields := map[string]any{"topic": topic, "from": from, "valid": false}
	a, err := decodeAnnouncement(data)
	if err == nil {
		id, addrs, perr := announcedPeer(a)
		fields["peerId"] = id.String()
		fields["addrs"] = addrs
		err = perr
	}
	if err != nil {
		fields["error"] = err.Error()
	} else {
		fields["valid"] = true
	}
	p.out.event("discovery", fields)
}

// seqnoString renders a message's sequence number: the usual 8-byte
// big-endian counter as a decimal string (JSON numbers lose precision past
// 2^53; js can read it with BigInt), anything else as hex.
func seqnoString(b []byte) string {
	switch len(b) {
	case 0:
		return ""
	case 8:
		return strconv.FormatUint(binary.BigEndian.Uint64(b), 10)
	default:
		return hex.EncodeToString(b)
	}
}
