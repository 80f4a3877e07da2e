package main

// The control protocol's arguments and replies, one named struct per shape.
// ../control-protocol.json is the schema both sides follow: the TypeScript
// side's types (interop/src/control-protocol.ts) are generated from it and
// schema_test.go checks every struct here against it, field by field.

// Empty is the arguments or reply of a command that has none.
type Empty struct{}

// ConnectArgs: connect {addr, force?}.
type ConnectArgs struct {
	Addr  string `json:"addr"`
	Force bool   `json:"force"`
}

type ConnectReply struct {
	PeerID  string `json:"peerId"`
	ConnID  string `json:"connId"`
	Limited bool   `json:"limited"`
}

// PeerArgs names one remote peer (disconnect, identify-info).
type PeerArgs struct {
	PeerID string `json:"peerId"`
}

type CloseConnArgs struct {
	ConnID string `json:"connId"`
}

// ConnInfo is one open connection in the conns reply.
type ConnInfo struct {
	ConnID     string `json:"connId"`
	PeerID     string `json:"peerId"`
	RemoteAddr string `json:"remoteAddr"`
	LocalAddr  string `json:"localAddr"`
	Direction  string `json:"direction"`
	Limited    bool   `json:"limited"`
	// Transient is the pre-0.35 name of Limited
	Transient bool `json:"transient"`
	// Streams open on it now
	Streams int `json:"streams"`
	// StreamsOpened counts the inbound streams accepted on it, per protocol
	StreamsOpened map[string]int `json:"streamsOpened"`
}

type ConnsReply struct {
	Conns []ConnInfo `json:"conns"`
}

type AddrsReply struct {
	Addrs    []string `json:"addrs"`
	P2PAddrs []string `json:"p2pAddrs"`
}

type ReachabilityReply struct {
	Value string `json:"value"`
}

type IdentifyInfoReply struct {
	AgentVersion    string   `json:"agentVersion"`
	ProtocolVersion string   `json:"protocolVersion"`
	Protocols       []string `json:"protocols"`
	Addrs           []string `json:"addrs"`
}

// TopicArgs: subscribe, unsubscribe, topic-peers {topic}.
type TopicArgs struct {
	Topic string `json:"topic"`
}

type PublishArgs struct {
	Topic      string `json:"topic"`
	DataBase64 string `json:"dataBase64"`
}

type TopicPeersReply struct {
	Peers []string `json:"peers"`
}

// AnnounceArgs: announce {topic?, addrs?}.
type AnnounceArgs struct {
	Topic string   `json:"topic"`
	Addrs []string `json:"addrs"`
}

type AnnounceReply struct {
	Addrs int `json:"addrs"`
}

type StreamCountsReply struct {
	// PerConn counts inbound streams per connection id and protocol
	PerConn map[string]map[string]int `json:"perConn"`
}

type PingArgs struct {
	PeerID string `json:"peerId"`
	Count  int    `json:"count"`
}

type PingReply struct {
	RttsMs []float64 `json:"rttsMs"`
}

type EchoArgs struct {
	PeerID     string `json:"peerId"`
	SizeBytes  int    `json:"sizeBytes"`
	DataBase64 string `json:"dataBase64"`
}

type EchoReply struct {
	Bytes     int    `json:"bytes"`
	Identical bool   `json:"identical"`
	Ms        int64  `json:"ms"`
	ConnID    string `json:"connId"`
}

type BatchListenArgs struct {
	Names             []string `json:"names"`
	CompressThreshold *int     `json:"compressThreshold"`
}

type BatchListenReply struct {
	Protocol string `json:"protocol"`
}

type BatchReceivedArgs struct {
	Clear bool `json:"clear"`
}

// BatchMessage is one message kept by the batch handler (data base64 in JSON).
type BatchMessage struct {
	Name     string `json:"name"`
	Priority int    `json:"priority"`
	Data     []byte `json:"data"`
}

type BatchReceivedReply struct {
	Messages         []BatchMessage `json:"messages"`
	Dropped          int            `json:"dropped"`
	Errors           map[string]int `json:"errors"`
	Frames           int            `json:"frames"`
	CompressedFrames int            `json:"compressedFrames"`
}

type BatchSendArgs struct {
	PeerID            string   `json:"peerId"`
	Name              string   `json:"name"`
	Messages          [][]byte `json:"messages"`
	Priorities        []int    `json:"priorities"`
	BatchSize         int      `json:"batchSize"`
	CompressThreshold *int     `json:"compressThreshold"`
	// Offer /x/batch/1.1.0 first and keep a window of unacknowledged frames when it is picked
	FlowControl bool `json:"flowControl"`
}

type BatchSendReply struct {
	Frames           int `json:"frames"`
	CompressedFrames int `json:"compressedFrames"`
	WireBytes        int `json:"wireBytes"`
	// The protocol the stream was opened on
	Protocol string `json:"protocol"`
	// Frames the acceptor acknowledged (0 on /x/batch/1.0.0)
	AckedFrames int `json:"ackedFrames"`
}

type BatchRequestArgs struct {
	PeerID   string   `json:"peerId"`
	Name     string   `json:"name"`
	Requests [][]byte `json:"requests"`
	// Priority of every request (default 1, normal)
	Priority          *int `json:"priority"`
	CompressThreshold *int `json:"compressThreshold"`
}

// BatchAnswer is one RESPONSE record (data base64 in JSON).
type BatchAnswer struct {
	ID     uint64 `json:"id"`
	Status uint64 `json:"status"`
	Data   []byte `json:"data"`
}

type BatchRequestReply struct {
	Answers                []BatchAnswer `json:"answers"`
	RequestCompressed      bool          `json:"requestCompressed"`
	CompressedAnswerFrames int           `json:"compressedAnswerFrames"`
}
