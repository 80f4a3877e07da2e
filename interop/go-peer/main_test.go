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
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
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
	// the extensions of @x/pubsub-peer-discovery must not break decoding:
	// field 3 (the announcer's signed record) and repeated field 4 (relayed
	// records), between and after the official fields
	wire = protowire.AppendTag(wire, 3, protowire.BytesType)
	wire = protowire.AppendBytes(wire, []byte("signed peer record"))
	for _, record := range []string{"relayed record 1", "relayed record 2"} {
		wire = protowire.AppendTag(wire, 4, protowire.BytesType)
		wire = protowire.AppendBytes(wire, []byte(record))
	}
	wire = protowire.AppendTag(wire, 2, protowire.BytesType)
	wire = protowire.AppendBytes(wire, addr.Bytes())

	got, err := decodeAnnouncement(wire)
	if err != nil {
		t.Fatal(err)
	}
	id, addrs, err := announcedPeer(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 2 || addrs[0] != addr.String() || addrs[1] != addr.String() {
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

// run executes a command as the control loop does: its reply as the fields
// of the result line (decoded from JSON, so numbers are float64).
func (p *testPeer) run(t *testing.T, cmd string, a map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(a)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fields, err := commands[cmd].run(ctx, p.goPeer, raw)
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

const discoveryTopic = "_peer-discovery._p2p._pubsub"

func TestTwoPeers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := startTestPeer(ctx, t, "news,"+discoveryTopic)
	b := startTestPeer(ctx, t, "news,"+discoveryTopic)

	addr := p2pAddrs(b.host)[0]
	if got := a.run(t, "connect", map[string]any{"addr": addr}); got["peerId"] != b.host.ID().String() {
		t.Fatalf("connect: %v", got)
	}
	b.waitFor(t, "conn", func(v map[string]any) bool { return v["event"] == "open" && v["direction"] == "inbound" })

	echo := a.run(t, "echo", map[string]any{"peerId": b.host.ID().String(), "sizeBytes": 1 << 20})
	if echo["identical"] != true || echo["bytes"] != float64(1<<20) {
		t.Fatalf("echo: %v", echo)
	}
	counts := b.run(t, "stream-counts", nil)["perConn"].(map[string]any)
	total := 0.0
	for _, perConn := range counts {
		n, _ := perConn.(map[string]any)[echoProtocol].(float64)
		total += n
	}
	if total != 1 {
		t.Fatalf("stream counts: %v", counts)
	}

	rtts := a.run(t, "ping", map[string]any{"peerId": b.host.ID().String(), "count": 2})["rttsMs"].([]any)
	if len(rtts) != 2 {
		t.Fatalf("ping: %v", rtts)
	}

	pingStreams := 0.0
	for _, perConn := range b.run(t, "stream-counts", nil)["perConn"].(map[string]any) {
		n, _ := perConn.(map[string]any)[ping.ID].(float64)
		pingStreams += n
	}
	if pingStreams != 1 {
		t.Fatalf("ping streams counted: %v", pingStreams)
	}

	msg := publishUntil(t, a, b, "publish", map[string]any{"topic": "news", "dataBase64": base64.StdEncoding.EncodeToString([]byte("hello"))},
		func(v map[string]any) bool { return v["type"] == "pubsub" && v["topic"] == "news" })
	if msg["dataBase64"] != base64.StdEncoding.EncodeToString([]byte("hello")) || msg["from"] != a.host.ID().String() {
		t.Fatalf("pubsub: %v", msg)
	}
	if _, ok := msg["seqno"].(string); !ok {
		t.Fatalf("pubsub event without seqno: %v", msg)
	}

	// announce -> a discovery event naming a, with the addresses given
	announced := []string{"/ip4/10.0.0.1/tcp/4001", "/ip4/10.0.0.1/udp/4001/quic-v1"}
	disc := publishUntil(t, a, b, "announce", map[string]any{"addrs": announced},
		func(v map[string]any) bool { return v["type"] == "discovery" })
	if disc["valid"] != true || disc["peerId"] != a.host.ID().String() || disc["from"] != a.host.ID().String() || disc["topic"] != discoveryTopic {
		t.Fatalf("discovery: %v", disc)
	}
	if got, _ := json.Marshal(disc["addrs"]); string(got) != `["/ip4/10.0.0.1/tcp/4001","/ip4/10.0.0.1/udp/4001/quic-v1"]` {
		t.Fatalf("discovery addrs: %s", got)
	}

	// close-conn closes exactly that connection, and both sides see it
	conns := a.run(t, "conns", nil)["conns"].([]any)
	if len(conns) != 1 || conns[0].(map[string]any)["peerId"] != b.host.ID().String() || conns[0].(map[string]any)["direction"] != "outbound" {
		t.Fatalf("conns: %v", conns)
	}
	connID := conns[0].(map[string]any)["connId"].(string)
	a.run(t, "close-conn", map[string]any{"connId": connID})
	a.waitFor(t, "conn", func(v map[string]any) bool { return v["event"] == "close" && v["connId"] == connID })
	b.waitFor(t, "conn", func(v map[string]any) bool { return v["event"] == "close" })
	if n := len(a.run(t, "conns", nil)["conns"].([]any)); n != 0 {
		t.Fatalf("%d connections left after close-conn", n)
	}
}

// publishUntil repeats a publishing command on a until b reports a matching
// event: a message published before the gossipsub mesh forms can be lost,
// as in any gossipsub deployment.
func publishUntil(t *testing.T, a, b *testPeer, cmd string, args map[string]any, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for {
		a.run(t, cmd, args)
		for waiting := true; waiting; {
			select {
			case v := <-b.lines:
				if match(v) {
					return v
				}
			case <-ticker.C:
				waiting = false
			case <-deadline:
				t.Fatalf("%s: nothing arrived", cmd)
			}
		}
	}
}

// TestControlLoop drives serveCommands as the process does: one result per
// command, errors for unknown commands and bad lines, exit, end of input.
func TestControlLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := startTestPeer(ctx, t, "")
	p.waitFor(t, "ready", func(map[string]any) bool { return true })

	in, feed := io.Pipe()
	served := make(chan struct{})
	go func() {
		serveCommands(ctx, p.goPeer, in)
		close(served)
	}()
	send := func(line string) {
		if _, err := io.WriteString(feed, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	result := func(id float64) map[string]any {
		return p.waitFor(t, "result", func(v map[string]any) bool { return v["id"] == id })
	}

	send(`{"id":1,"cmd":"no-such-command"}`)
	if r := result(1); r["ok"] != false || r["error"] == "" {
		t.Fatalf("unknown command: %v", r)
	}
	send(`not json`)
	p.waitFor(t, "error", func(map[string]any) bool { return true })
	send(`{"id":2,"cmd":"addrs"}`)
	if r := result(2); r["ok"] != true || len(r["p2pAddrs"].([]any)) == 0 {
		t.Fatalf("addrs: %v", r)
	}
	send(`{"id":3,"cmd":"ping","peerId":"` + p.host.ID().String() + `","timeoutMs":1}`)
	if r := result(3); r["ok"] != false {
		t.Fatalf("ping of self within 1ms: %v", r)
	}
	send(`{"id":4,"cmd":"reachability"}`)
	if r := result(4); r["ok"] != true || r["value"] != "unknown" {
		t.Fatalf("reachability: %v", r)
	}
	send(`{"id":5,"cmd":"exit"}`)
	if r := result(5); r["ok"] != true {
		t.Fatalf("exit: %v", r)
	}
	select {
	case <-p.exit:
	case <-time.After(5 * time.Second):
		t.Fatal("exit did not stop the peer")
	}
	_ = feed.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("serveCommands did not return at end of input")
	}
}
