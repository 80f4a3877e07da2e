package main

// The /x/batch/1.0.0 and /x/batch/1.1.0 wire format of packages/message-batching/PROTOCOL.md:
// strict varints, records, frames, raw DEFLATE with an inflate cap. Every
// bound there is checked here; a breach is a batchError named as in js.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

const (
	batchProtocol = "/x/batch/1.0.0"
	// batchFlowProtocol is batchProtocol plus ACK frames from the acceptor (PROTOCOL.md, Flow control)
	batchFlowProtocol = "/x/batch/1.1.0"

	batchKindMessage  = 0
	batchKindRequest  = 1
	batchKindResponse = 2
	batchKindName     = 3

	batchStatusOK           = 0
	batchStatusNoHandler    = 1
	batchStatusHandlerError = 2

	batchFlagCompressed = 1
	batchFlagAck        = 2

	batchMaxFrameBytes     = 1 << 20
	batchMaxMessageBytes   = 256 << 10
	batchMaxRecords        = 4096
	batchMaxNames          = 1024
	batchMaxNameBytes      = 128
	batchMaxInflight       = 1024
	batchMaxErrorTextBytes = 1024
	batchMaxVarintBytes    = 5
)

// batchError carries the error name PROTOCOL.md gives a breach.
type batchError struct {
	name string
	msg  string
}

func (e *batchError) Error() string { return e.name + ": " + e.msg }

func batchErr(name, format string, a ...any) error {
	return &batchError{name: name, msg: fmt.Sprintf(format, a...)}
}

// batchErrorName is the name to count an error under.
func batchErrorName(err error) string {
	var be *batchError
	if errors.As(err, &be) {
		return be.name
	}
	return "Error"
}

var errBatchShort = errors.New("varint needs more bytes")

type batchRecord struct {
	Kind     int
	N        uint64
	Priority int
	ID       uint64
	Payload  []byte
}

func batchHasID(kind int) bool { return kind == batchKindRequest || kind == batchKindResponse }

// readBatchVarint reads a strict varint at b[off:]: errBatchShort when b
// ends first, MalformedFrameError when it breaks a rule.
func readBatchVarint(b []byte, off int) (uint64, int, error) {
	var value uint64
	for i := 0; i < batchMaxVarintBytes; i++ {
		if off+i >= len(b) {
			return 0, 0, errBatchShort
		}
		c := b[off+i]
		value |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i > 0 && c == 0 {
				return 0, 0, batchErr("MalformedFrameError", "varint is not minimal")
			}
			if value > 0xffffffff {
				return 0, 0, batchErr("MalformedFrameError", "varint above 2^32 - 1")
			}
			return value, off + i + 1, nil
		}
	}
	return 0, 0, batchErr("MalformedFrameError", "varint longer than 5 bytes")
}

func appendBatchRecord(buf []byte, r batchRecord) []byte {
	buf = appendUvarint(buf, r.N<<4|uint64(r.Kind)<<2|uint64(r.Priority))
	if batchHasID(r.Kind) {
		buf = appendUvarint(buf, r.ID)
	}
	buf = appendUvarint(buf, uint64(len(r.Payload)))
	return append(buf, r.Payload...)
}

func appendUvarint(buf []byte, v uint64) []byte {
	for v >= 0x80 {
		buf = append(buf, byte(v)|0x80)
		v >>= 7
	}
	return append(buf, byte(v))
}

func encodeBatchRecords(records []batchRecord) []byte {
	var buf []byte
	for _, r := range records {
		buf = appendBatchRecord(buf, r)
	}
	return buf
}

// encodeBatchFrame deflates the body when it is at least threshold bytes
// (threshold < 0: never) and deflating makes it smaller.
func encodeBatchFrame(body []byte, threshold int) ([]byte, bool) {
	payload := body
	flags := byte(0)
	if threshold >= 0 && len(body) >= threshold {
		var out bytes.Buffer
		w, _ := flate.NewWriter(&out, 6)
		_, _ = w.Write(body)
		_ = w.Close()
		if out.Len() < len(body) {
			payload = out.Bytes()
			flags = batchFlagCompressed
		}
	}
	frame := appendUvarint(nil, uint64(len(payload)+1))
	frame = append(frame, flags)
	return append(frame, payload...), flags != 0
}

// encodeBatchAck is the ACK frame acknowledging count frames.
func encodeBatchAck(count uint64) []byte {
	body := appendUvarint(nil, count)
	frame := appendUvarint(nil, uint64(len(body)+1))
	frame = append(frame, batchFlagAck)
	return append(frame, body...)
}

func decodeBatchRecords(body []byte) ([]batchRecord, error) {
	if len(body) == 0 {
		return nil, batchErr("MalformedFrameError", "empty body")
	}
	var records []batchRecord
	off := 0
	for off < len(body) {
		if len(records) == batchMaxRecords {
			return nil, batchErr("TooManyRecordsError", "more than %d records in a frame", batchMaxRecords)
		}
		head, next, err := readBatchVarint(body, off)
		if err == errBatchShort {
			return nil, batchErr("MalformedFrameError", "record head runs past the end of the body")
		} else if err != nil {
			return nil, err
		}
		off = next
		r := batchRecord{Priority: int(head & 3), Kind: int(head>>2) & 3, N: head >> 4}
		if r.Priority == 3 {
			return nil, batchErr("MalformedFrameError", "priority 3 is invalid")
		}
		if batchHasID(r.Kind) {
			if r.ID, off, err = readBatchVarint(body, off); err != nil {
				return nil, batchErr("MalformedFrameError", "request id: %v", err)
			}
		}
		var length uint64
		if length, off, err = readBatchVarint(body, off); err != nil {
			return nil, batchErr("MalformedFrameError", "record length: %v", err)
		}
		if length > batchMaxMessageBytes {
			return nil, batchErr("MessageTooLargeError", "a record of %d bytes", length)
		}
		if uint64(off)+length > uint64(len(body)) {
			return nil, batchErr("MalformedFrameError", "record payload runs past the end of the body")
		}
		r.Payload = body[off : off+int(length)]
		off += int(length)
		records = append(records, r)
	}
	return records, nil
}

// readBatchFrame reads one frame; io.EOF at a frame boundary.
func readBatchFrame(r *bufio.Reader) (byte, []byte, error) {
	frame, err := readBatchRawFrame(r)
	if err != nil {
		return 0, nil, err
	}
	if frame[0]&^batchFlagCompressed != 0 {
		return 0, nil, batchErr("MalformedFrameError", "unknown flags 0x%x", frame[0])
	}
	body := frame[1:]
	if frame[0]&batchFlagCompressed != 0 {
		inflated, err := inflateBatchCapped(body, batchMaxFrameBytes)
		if err != nil {
			return 0, nil, err
		}
		body = inflated
	}
	return frame[0], body, nil
}

// readBatchAck reads one frame an acceptor writes on /x/batch/1.1.0 and
// returns its ACK count; a frame that is not a well-formed ACK (flags other
// than ACK alone, an empty or trailing body, count 0) is a
// MalformedFrameError. (Records answering requests are not read here:
// batch-send writes no requests.)
func readBatchAck(r *bufio.Reader) (uint64, error) {
	frame, err := readBatchRawFrame(r)
	if err != nil {
		return 0, err
	}
	if frame[0] != batchFlagAck {
		return 0, batchErr("MalformedFrameError", "flags 0x%x where an ACK was expected", frame[0])
	}
	count, off, err := readBatchVarint(frame[1:], 0)
	if err != nil || off != len(frame)-1 || count == 0 {
		return 0, batchErr("MalformedFrameError", "an ACK body of %d bytes", len(frame)-1)
	}
	return count, nil
}

// readBatchRawFrame reads one frame's flags byte and body as written.
func readBatchRawFrame(r *bufio.Reader) ([]byte, error) {
	var prefix []byte
	var length uint64
	for {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && len(prefix) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		prefix = append(prefix, c)
		v, _, verr := readBatchVarint(prefix, 0)
		if verr == errBatchShort {
			continue
		}
		if verr != nil {
			return nil, verr
		}
		length = v
		break
	}
	if length > batchMaxFrameBytes {
		return nil, batchErr("FrameTooLargeError", "a frame of %d bytes", length)
	}
	if length == 0 {
		return nil, batchErr("MalformedFrameError", "a frame without flags")
	}
	frame := make([]byte, length)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	return frame, nil
}

// inflateBatchCapped stops as soon as the output passes limit bytes.
func inflateBatchCapped(data []byte, limit int) ([]byte, error) {
	reader := flate.NewReader(bytes.NewReader(data))
	defer reader.Close()
	out, err := io.ReadAll(io.LimitReader(reader, int64(limit)+1))
	if err != nil {
		return nil, batchErr("MalformedFrameError", "bad DEFLATE data: %v", err)
	}
	if len(out) > limit {
		return nil, batchErr("DecompressionLimitError", "a frame inflates past %d bytes", limit)
	}
	return out, nil
}

func validBatchName(b []byte) bool {
	return len(b) > 0 && len(b) <= batchMaxNameBytes && utf8.Valid(b)
}
