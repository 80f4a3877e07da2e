package main

import (
	"io"
	"runtime"
	"testing"
	"time"
)

// An ACK nobody takes any more (batch-send returned: an acceptor that
// acknowledged more than was written) does not keep the reader goroutine.
func TestBatchAcksReaderStopsWithDone(t *testing.T) {
	before := runtime.NumGoroutine()
	r, w := io.Pipe()
	defer w.Close()
	done := make(chan struct{})
	counts, _ := batchAcks(r, done)

	// the first ACK is taken, the second is read (Write returns once it is) and left
	if _, err := w.Write(encodeBatchAck(1)); err != nil {
		t.Fatal(err)
	}
	if got := <-counts; got != 1 {
		t.Fatalf("count %d", got)
	}
	if _, err := w.Write(encodeBatchAck(5)); err != nil {
		t.Fatal(err)
	}
	close(done)

	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before: the ACK reader is still running", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The reader hands over a broken ACK as an error and stops.
func TestBatchAcksReaderReportsMalformed(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	done := make(chan struct{})
	defer close(done)
	_, failed := batchAcks(r, done)
	go func() { _, _ = w.Write(encodeBatchAck(0)) }()
	if got := batchErrName(t, <-failed); got != "MalformedFrameError" {
		t.Fatalf("%s", got)
	}
}
