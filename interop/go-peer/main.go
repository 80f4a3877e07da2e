// Command go-peer is a go-libp2p node that the suite's interop tests drive
// over JSON lines: commands on stdin, results and events on stdout, logs on
// stderr. It exits by itself after -timeout, on stdin EOF, on the exit
// command or on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	listen         []string
	keyFile        string
	security       []string
	transports     []string
	rcmgr          string
	relayService   bool
	relayUnlimited bool
	relays         []string
	holePunch      bool
	autonatService bool
	reachability   string
	announce       []string
	topics         []string
	discoveryTopic string
	timeout        time.Duration
	pingInterval   time.Duration
	agent          string
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("go-peer", flag.ContinueOnError)
	o := &options{}
	listen := fs.String("listen", "/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0/quic-v1", "comma-separated listen multiaddrs")
	fs.StringVar(&o.keyFile, "key", "", "private key file (protobuf-marshalled libp2p key); created with a new Ed25519 key if missing")
	security := fs.String("security", "noise,tls", "connection encrypters in order of preference: noise, tls")
	muxer := fs.String("muxer", "yamux", "stream muxer (only yamux)")
	transports := fs.String("transports", "tcp,quic", "transports: tcp, quic, ws")
	fs.StringVar(&o.rcmgr, "rcmgr", "default", "resource manager limits: default or unlimited")
	fs.BoolVar(&o.relayService, "relay-service", false, "run a circuit relay v2 hop service")
	fs.BoolVar(&o.relayUnlimited, "relay-service-unlimited", false, "with -relay-service: very generous reservation and circuit limits")
	relays := fs.String("relay", "", "comma-separated static relay multiaddrs (enables the relay client with autorelay)")
	fs.BoolVar(&o.holePunch, "holepunch", false, "enable DCUtR hole punching (emits holepunch events)")
	fs.BoolVar(&o.autonatService, "autonat-service", false, "serve AutoNAT (v1 and v2) to other peers")
	fs.StringVar(&o.reachability, "force-reachability", "", "force reachability: public or private")
	announce := fs.String("announce", "", "comma-separated multiaddrs to announce instead of the listen addresses")
	topics := fs.String("topics", "", "comma-separated gossipsub topics to join at start")
	fs.StringVar(&o.discoveryTopic, "discovery-topic", "_peer-discovery._p2p._pubsub", "topic whose messages are also decoded as pubsub-peer-discovery announcements")
	fs.DurationVar(&o.timeout, "timeout", 120*time.Second, "overall lifetime, after which the peer exits")
	fs.DurationVar(&o.pingInterval, "ping-interval", 0, "ping every connected peer this often (0 = off)")
	fs.StringVar(&o.agent, "agent", "x-interop-go-peer/0.1.0", "agent version announced by identify")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *muxer != "yamux" {
		return nil, fmt.Errorf("unsupported -muxer %q: only yamux", *muxer)
	}
	if o.rcmgr != "default" && o.rcmgr != "unlimited" {
		return nil, fmt.Errorf("-rcmgr must be default or unlimited, got %q", o.rcmgr)
	}
	if o.reachability != "" && o.reachability != "public" && o.reachability != "private" {
		return nil, fmt.Errorf("-force-reachability must be public or private, got %q", o.reachability)
	}
	o.listen = splitList(*listen)
	o.security = splitList(*security)
	o.transports = splitList(*transports)
	o.relays = splitList(*relays)
	o.announce = splitList(*announce)
	o.topics = splitList(*topics)
	return o, nil
}

func main() {
	log.SetOutput(os.Stderr)
	log.SetFlags(log.Lmicroseconds)

	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Printf("bad flags: %v", err)
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.timeout)
	defer cancel()
	ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()

	out := newOutput(os.Stdout)
	peer, err := newPeer(ctx, opts, out)
	if err != nil {
		out.event("error", map[string]any{"message": err.Error()})
		log.Printf("cannot start: %v", err)
		os.Exit(1)
	}

	done := make(chan struct{})
	go func() {
		serveCommands(ctx, peer, os.Stdin)
		close(done)
	}()

	select {
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			log.Printf("overall timeout of %s reached, exiting", opts.timeout)
		}
	case <-done:
	case <-peer.exit:
	}

	peer.close()
}
