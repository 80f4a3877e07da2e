package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestAnnouncementRoundTripIgnoresUnknownFields(t *testing.T) {
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := crypto.MarshalPublicKey(key.GetPublic())
	addr := ma.StringCast("/ip4/127.0.0.1/tcp/4001")
	wire := encodeAnnouncement(announcement{publicKey: pub, addrs: [][]byte{addr.Bytes()}})
	// an extension in a new field number must not break decoding
	wire = protowire.AppendTag(wire, 3, protowire.BytesType)
	wire = protowire.AppendBytes(wire, []byte("signed peer record"))

	got, err := decodeAnnouncement(wire)
	if err != nil {
		t.Fatal(err)
	}
	id, addrs, err := announcedPeer(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0] != addr.String() {
		t.Fatalf("addrs = %v", addrs)
	}
	if want, _ := peerIDFromKey(key); id != want {
		t.Fatalf("peer id = %s, want %s", id, want)
	}
}

func TestDecodeAnnouncementRejectsGarbage(t *testing.T) {
	for _, input := range [][]byte{{}, {0xff, 0xff, 0xff}, {0x0a, 0x10, 0x01}} {
		if _, err := decodeAnnouncement(input); err == nil {
			t.Fatalf("decoded garbage %x", input)
		}
	}
}

// testPeer runs a peer in-process and collects its output lines.
type testPeer struct {
	*goPeer
	lines chan map[string]any
}

func startTestPeer(ctx context.Context, t *testing.T, topics string) *testPeer {
	t.Helper()
	o, err := parseFlags([]string{"-listen", "/ip4/127.0.0.1/tcp/0", "-transports", "tcp", "-topics", topics})
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	lines := make(chan map[string]any, 1024)
	go func() {
		scanner := bufio.NewScanner(r)
		scanner.Buffer(make([]byte, 1<<20), 1<<24)
		for scanner.Scan() {
			var v map[string]any
			if json.Unmarshal(scanner.Bytes(), &v) == nil {
				lines <- v
			}
		}
	}()
	p, err := newPeer(ctx, o, newOutput(w))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return &testPeer{goPeer: p, lines: lines}
}

func (p *testPeer) run(t *testing.T, cmd string, a map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(a)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fields, err := commands[cmd](ctx, p.goPeer, raw)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return fields
}

func (p *testPeer) waitFor(t *testing.T, kind string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case v := <-p.lines:
			if testing.Verbose() {
				t.Logf("event %v", v)
			}
			if v["type"] == kind && match(v) {
				return v
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

func TestTwoPeers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := startTestPeer(ctx, t, "news")
	b := startTestPeer(ctx, t, "news")

	addr := p2pAddrs(b.host)[0]
	if got := a.run(t, "connect", map[string]any{"addr": addr}); got["peerId"] != b.host.ID().String() {
		t.Fatalf("connect: %v", got)
	}
	b.waitFor(t, "conn", func(v map[string]any) bool { return v["event"] == "open" && v["direction"] == "inbound" })

	echo := a.run(t, "echo", map[string]any{"peerId": b.host.ID().String(), "sizeBytes": 1 << 20})
	if echo["identical"] != true || echo["bytes"] != 1<<20 {
		t.Fatalf("echo: %v", echo)
	}
	counts := b.run(t, "stream-counts", nil)["perConn"].(map[string]map[string]int)
	total := 0
	for _, perConn := range counts {
		total += perConn[echoProtocol]
	}
	if total != 1 {
		t.Fatalf("stream counts: %v", counts)
	}

	rtts := a.run(t, "ping", map[string]any{"peerId": b.host.ID().String(), "count": 2})["rttsMs"].([]float64)
	if len(rtts) != 2 {
		t.Fatalf("ping: %v", rtts)
	}

	// a message published before the mesh forms can be lost, as in any
	// gossipsub deployment: publish until one arrives
	var msg map[string]any
	deadline := time.After(20 * time.Second)
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for msg == nil {
		a.run(t, "publish", map[string]any{"topic": "news", "dataBase64": base64.StdEncoding.EncodeToString([]byte("hello"))})
	wait:
		for {
			select {
			case v := <-b.lines:
				if v["type"] == "pubsub" && v["topic"] == "news" {
					msg = v
					break wait
				}
			case <-ticker.C:
				break wait
			case <-deadline:
				t.Fatal("no pubsub message arrived")
			}
		}
	}
	if msg["dataBase64"] != base64.StdEncoding.EncodeToString([]byte("hello")) || msg["from"] != a.host.ID().String() {
		t.Fatalf("pubsub: %v", msg)
	}
}
