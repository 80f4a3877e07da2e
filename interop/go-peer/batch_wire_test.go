package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"testing"
)

func batchErrName(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	return batchErrorName(err)
}

func TestBatchRecordsRoundTrip(t *testing.T) {
	records := []batchRecord{
		{Kind: batchKindName, N: 0, Payload: []byte("chat")},
		{Kind: batchKindMessage, N: 0, Priority: 2, Payload: []byte{1, 2, 3}},
		{Kind: batchKindRequest, N: 300, Priority: 1, ID: 1<<32 - 1, Payload: make([]byte, 200)},
		{Kind: batchKindResponse, N: batchStatusHandlerError, ID: 7, Payload: []byte{}},
	}
	for _, threshold := range []int{-1, 0} {
		frame, _ := encodeBatchFrame(encodeBatchRecords(records), threshold)
		flags, body, err := readBatchFrame(bufio.NewReader(bytes.NewReader(frame)))
		if err != nil {
			t.Fatal(err)
		}
		if threshold == 0 && flags != batchFlagCompressed {
			t.Fatalf("expected a compressed frame, flags %d", flags)
		}
		got, err := decodeBatchRecords(body)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(records) {
			t.Fatalf("got %d records", len(got))
		}
		for i := range records {
			if got[i].Kind != records[i].Kind || got[i].N != records[i].N || got[i].Priority != records[i].Priority || !bytes.Equal(got[i].Payload, records[i].Payload) {
				t.Fatalf("record %d: %+v != %+v", i, got[i], records[i])
			}
			if batchHasID(records[i].Kind) && got[i].ID != records[i].ID {
				t.Fatalf("record %d id %d", i, got[i].ID)
			}
		}
	}
}

func TestBatchStrictVarints(t *testing.T) {
	for _, b := range [][]byte{{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, {0xff, 0xff, 0xff, 0xff, 0x1f}, {0x81, 0x00}} {
		if _, _, err := readBatchVarint(b, 0); batchErrName(t, err) != "MalformedFrameError" {
			t.Fatalf("%x: %v", b, err)
		}
	}
	if _, _, err := readBatchVarint([]byte{0x81}, 0); err != errBatchShort {
		t.Fatalf("want errBatchShort, got %v", err)
	}
}

func TestBatchBounds(t *testing.T) {
	read := func(frame []byte) error {
		_, _, err := readBatchFrame(bufio.NewReader(bytes.NewReader(frame)))
		return err
	}
	if name := batchErrName(t, read([]byte{0x80, 0x80, 0x80, 0x01})); name != "FrameTooLargeError" {
		t.Fatal(name)
	}
	if name := batchErrName(t, read([]byte{0x02, 0x04, 0x00})); name != "MalformedFrameError" {
		t.Fatal(name)
	}
	// 8 MiB of zeros deflate to a few KiB: a bomb
	var bomb bytes.Buffer
	w, _ := flate.NewWriter(&bomb, 9)
	_, _ = w.Write(make([]byte, 8<<20))
	_ = w.Close()
	frame := appendUvarint(nil, uint64(bomb.Len()+1))
	frame = append(append(frame, batchFlagCompressed), bomb.Bytes()...)
	if name := batchErrName(t, read(frame)); name != "DecompressionLimitError" {
		t.Fatal(name)
	}
	big := encodeBatchRecords([]batchRecord{{Kind: batchKindMessage, Payload: make([]byte, batchMaxMessageBytes+1)}})
	if _, err := decodeBatchRecords(big); batchErrName(t, err) != "MessageTooLargeError" {
		t.Fatal(err)
	}
	names := map[uint64]string{}
	body := encodeBatchRecords([]batchRecord{{Kind: batchKindName, N: 0, Payload: []byte("nobody")}, {Kind: batchKindMessage, N: 0, Payload: []byte{1}}})
	if _, err := handleBatchRecords(body, names); batchErrName(t, err) != "UnknownNameError" {
		t.Fatal(err)
	}
	body = encodeBatchRecords([]batchRecord{{Kind: batchKindMessage, N: 5, Payload: []byte{1}}})
	if _, err := handleBatchRecords(body, map[uint64]string{}); batchErrName(t, err) != "ProtocolViolationError" {
		t.Fatal(err)
	}
}

func TestBatchAckFrame(t *testing.T) {
	// length 2, flags ACK, count 1; then a count needing two varint bytes
	if got := encodeBatchAck(1); !bytes.Equal(got, []byte{2, 2, 1}) {
		t.Fatalf("ack(1) = %v", got)
	}
	if got := encodeBatchAck(300); !bytes.Equal(got, []byte{3, 2, 0xac, 0x02}) {
		t.Fatalf("ack(300) = %v", got)
	}
}

func TestBatchReadAck(t *testing.T) {
	count, err := readBatchAck(bufio.NewReader(bytes.NewReader(encodeBatchAck(300))))
	if err != nil || count != 300 {
		t.Fatalf("count %d, err %v", count, err)
	}
	for name, frame := range map[string][]byte{
		"count 0":       encodeBatchAck(0),
		"trailing body": {3, batchFlagAck, 1, 0},
		"empty body":    {1, batchFlagAck},
		"records frame": {2, 0, 0},
		"compressed":    {2, batchFlagAck | batchFlagCompressed, 1},
	} {
		_, err := readBatchAck(bufio.NewReader(bytes.NewReader(frame)))
		if got := batchErrName(t, err); got != "MalformedFrameError" {
			t.Fatalf("%s: %s", name, got)
		}
	}
}
