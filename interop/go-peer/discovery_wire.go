package main

import (
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"
)

// The pubsub-peer-discovery announcement:
//
//	message Peer {
//	  bytes publicKey = 1;        // protobuf-marshalled libp2p public key
//	  repeated bytes addrs = 2;   // binary multiaddrs
//	}
//
// Unknown fields are skipped, as protobuf decoders do, so extensions in new
// field numbers stay compatible.

type announcement struct {
	publicKey []byte
	addrs     [][]byte
}

func encodeAnnouncement(a announcement) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, a.publicKey)
	for _, addr := range a.addrs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, addr)
	}
	return b
}

func decodeAnnouncement(b []byte) (announcement, error) {
	var a announcement
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return a, protowire.ParseError(n)
		}
		b = b[n:]
		if (num == 1 || num == 2) && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return a, protowire.ParseError(n)
			}
			b = b[n:]
			if num == 1 {
				a.publicKey = append([]byte(nil), v...)
			} else {
				a.addrs = append(a.addrs, append([]byte(nil), v...))
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return a, protowire.ParseError(n)
		}
		b = b[n:]
	}
	if len(a.publicKey) == 0 {
		return a, errors.New("announcement has no public key")
	}
	return a, nil
}

// announcedPeer returns the peer id and addresses an announcement names.
func announcedPeer(a announcement) (peer.ID, []string, error) {
	pub, err := crypto.UnmarshalPublicKey(a.publicKey)
	if err != nil {
		return "", nil, fmt.Errorf("public key: %w", err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	addrs := make([]string, 0, len(a.addrs))
	for _, raw := range a.addrs {
		addr, err := ma.NewMultiaddrBytes(raw)
		if err != nil {
			return id, addrs, fmt.Errorf("multiaddr: %w", err)
		}
		addrs = append(addrs, addr.String())
	}
	return id, addrs, nil
}

func peerIDFromKey(key crypto.PrivKey) (peer.ID, error) {
	return peer.IDFromPrivateKey(key)
}
