package main

import (
	"context"
	"encoding/base64"
	"log"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"
)

func init() {
	register("subscribe", cmdSubscribe)
	register("unsubscribe", cmdUnsubscribe)
	register("publish", cmdPublish)
	register("topic-peers", cmdTopicPeers)
	register("announce", cmdAnnounce)
}

func cmdSubscribe(_ context.Context, p *goPeer, a TopicArgs) (Empty, error) {
	return Empty{}, p.subscribe(a.Topic)
}

func cmdUnsubscribe(_ context.Context, p *goPeer, a TopicArgs) (Empty, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sub, ok := p.subs[a.Topic]; ok {
		sub.Cancel()
		delete(p.subs, a.Topic)
	}
	return Empty{}, nil
}

func cmdPublish(ctx context.Context, p *goPeer, a PublishArgs) (Empty, error) {
	data, err := base64.StdEncoding.DecodeString(a.DataBase64)
	if err != nil {
		return Empty{}, err
	}
	t, err := p.topic(a.Topic)
	if err != nil {
		return Empty{}, err
	}
	return Empty{}, t.Publish(ctx, data)
}

func cmdTopicPeers(_ context.Context, p *goPeer, a TopicArgs) (TopicPeersReply, error) {
	peers := []string{}
	for _, id := range p.pubsub.ListPeers(a.Topic) {
		peers = append(peers, id.String())
	}
	return TopicPeersReply{Peers: peers}, nil
}

// announce {topic?, addrs?}: publishes one pubsub-peer-discovery message
// naming this peer, with the given addresses or the host's own.
func cmdAnnounce(ctx context.Context, p *goPeer, a AnnounceArgs) (AnnounceReply, error) {
	if a.Topic == "" {
		a.Topic = p.opts.discoveryTopic
	}
	pub, err := crypto.MarshalPublicKey(p.host.Peerstore().PubKey(p.host.ID()))
	if err != nil {
		return AnnounceReply{}, err
	}
	msg := announcement{publicKey: pub}
	if len(a.Addrs) > 0 {
		for _, s := range a.Addrs {
			addr, err := ma.NewMultiaddr(s)
			if err != nil {
				return AnnounceReply{}, err
			}
			msg.addrs = append(msg.addrs, addr.Bytes())
		}
	} else {
		for _, addr := range p.host.Addrs() {
			msg.addrs = append(msg.addrs, addr.Bytes())
		}
	}
	t, err := p.topic(a.Topic)
	if err != nil {
		return AnnounceReply{}, err
	}
	if err := t.Publish(ctx, encodeAnnouncement(msg)); err != nil {
		return AnnounceReply{}, err
	}
	log.Printf("announced %d addresses on %s", len(msg.addrs), a.Topic)
	return AnnounceReply{Addrs: len(msg.addrs)}, nil
}
