// Package bacnet speaks BACnet/IP (ASHRAE 135-2020, Annex J) to building-automation devices:
// chillers, air handlers, fan-coil and VAV controllers.
//
// The encoding is kept apart from any transport, so tests, fuzz targets and simulators use it on
// byte slices alone: tag.go holds the tag codec of clause 20.2, value.go the application data
// types, bvlc.go the BACnet Virtual Link Control of Annex J.2, npdu.go the network layer
// header of clause 6.2, apdu.go the application layer headers of clause 20.1, and service.go
// the service requests and acknowledgements this package sends and reads, rpm.go those of
// ReadPropertyMultiple, cov.go those of change-of-value subscriptions and notifications.
//
// The transport is client.go: a UDP endpoint with invoke ids, timeouts and retries (5.4),
// errors.go the errors a device answers with, segment.go the reassembly of segmented replies
// (5.2), services.go the reads, writes and subscriptions built on them, and discover.go the
// object list and descriptions discovery drafts a profile from.
//
// Every rule taken from the standard cites its clause; numbers that are this package's own
// choice say why.
package bacnet
