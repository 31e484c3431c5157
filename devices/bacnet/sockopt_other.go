//go:build !unix

package bacnet

// setBroadcast is a no-op where the socket option is not set this way: Who-Is to a broadcast
// address then needs a BBMD.
func setBroadcast(uintptr) error { return nil }
