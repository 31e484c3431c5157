package bacnet

import (
	"errors"
	"fmt"
)

// ErrTimeout is a confirmed request that had no reply after every retry (5.4.4.1, and the
// Device object's APDU_Timeout and Number_Of_APDU_Retries, 12.11). It is worth trying again
// later: the device may be busy, restarting or unplugged.
var ErrTimeout = errors.New("bacnet: no reply")

// errorClasses and errorCodes name the common BACnetErrorClass and BACnetErrorCode values
// (ASHRAE 135-2020, 21 and 18), so that an error says what the device said.
var errorClasses = map[uint32]string{0: "device", 1: "object", 2: "property", 3: "resources",
	4: "security", 5: "services", 6: "vt", 7: "communication"}

var errorCodes = map[uint32]string{0: "other", 2: "configuration-in-progress", 3: "device-busy",
	5: "dynamic-creation-not-supported", 7: "inconsistent-parameters", 9: "invalid-data-type",
	22: "no-space-to-write-property", 25: "operational-problem", 27: "read-access-denied",
	29: "service-request-denied", 31: "unknown-object", 32: "unknown-property",
	37: "value-out-of-range", 40: "write-access-denied", 42: "invalid-array-index",
	43: "cov-subscription-failed", 44: "not-cov-property", 45: "optional-functionality-not-supported",
	47: "datatype-not-supported"}

func (e *Error) Error() string {
	return fmt.Sprintf("bacnet: device error %s: %s", name(errorClasses, e.Class), name(errorCodes, e.Code))
}

// Is lets errors.Is match an Error of the same class and code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Class == e.Class && t.Code == e.Code
}

// Error classes and codes callers test for (21, BACnetErrorClass, BACnetErrorCode).
var (
	ErrUnknownObject   = &Error{Class: 1, Code: 31}
	ErrUnknownProperty = &Error{Class: 2, Code: 32}
	ErrWriteDenied     = &Error{Class: 2, Code: 40}
)

// RejectError is a Reject-PDU (20.1.8): the device could not parse or does not offer the
// request; Reason is a BACnetRejectReason (21).
type RejectError struct{ Reason uint8 }

// Reject reasons (21, BACnetRejectReason).
const (
	RejectUnrecognizedService uint8 = 9
)

var rejectReasons = map[uint32]string{0: "other", 1: "buffer-overflow", 2: "inconsistent-parameters",
	3: "invalid-parameter-data-type", 4: "invalid-tag", 5: "missing-required-parameter",
	6: "parameter-out-of-range", 7: "too-many-arguments", 8: "undefined-enumeration",
	9: "unrecognized-service"}

func (e *RejectError) Error() string {
	return "bacnet: device rejected the request: " + name(rejectReasons, uint32(e.Reason))
}

// AbortError is an Abort-PDU (20.1.9): the transaction ended, by the device (Server) or by
// this client; Reason is a BACnetAbortReason (21).
type AbortError struct {
	Reason uint8
	Server bool
}

// Abort reasons (21, BACnetAbortReason).
const (
	AbortBufferOverflow           uint8 = 1
	AbortSegmentationNotSupported uint8 = 4
	AbortWindowSizeOutOfRange     uint8 = 7
	AbortApplicationExceededReply uint8 = 8
	AbortOutOfResources           uint8 = 9
	AbortTSMTimeout               uint8 = 10
	AbortAPDUTooLong              uint8 = 11
	abortInvalidAPDUInThisState   uint8 = 2
	abortOther                    uint8 = 0
)

var abortReasons = map[uint32]string{0: "other", 1: "buffer-overflow", 2: "invalid-apdu-in-this-state",
	3: "preempted-by-higher-priority-task", 4: "segmentation-not-supported", 5: "security-error",
	6: "insufficient-security", 7: "window-size-out-of-range", 8: "application-exceeded-reply-time",
	9: "out-of-resources", 10: "tsm-timeout", 11: "apdu-too-long"}

func (e *AbortError) Error() string {
	who := "device"
	if !e.Server {
		who = "client"
	}
	return fmt.Sprintf("bacnet: %s aborted the transaction: %s", who, name(abortReasons, uint32(e.Reason)))
}

// TooLong reports an abort that a smaller request avoids: the reply did not fit the device's
// buffer, APDU or segmentation (21, BACnetAbortReason 1, 4 and 11).
func (e *AbortError) TooLong() bool {
	return e.Reason == AbortBufferOverflow || e.Reason == AbortSegmentationNotSupported || e.Reason == AbortAPDUTooLong
}

func name(names map[uint32]string, v uint32) string {
	if s, ok := names[v]; ok {
		return fmt.Sprintf("%s (%d)", s, v)
	}
	return fmt.Sprintf("%d", v)
}
