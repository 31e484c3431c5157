// Package sms encodes and decodes short messages as the TPDUs of 3GPP TS 23.040, in the
// alphabets of 3GPP TS 23.038, for a modem in PDU mode (3GPP TS 27.005): SMS-SUBMIT to send,
// SMS-DELIVER and SMS-STATUS-REPORT to receive, long texts as concatenated parts, and a
// Reassembler that joins the parts that come back.
//
// No Go module for this could be fetched where facilityd is built, and the patrol needs
// Chinese text (UCS-2) and replies it can read, so the codec is ours.
package sms

import (
	"errors"
	"fmt"
	"time"
)

// ErrTruncated says a PDU ended before a field it announced: a line noise or a modem that
// cut the PDU short, never a panic.
var ErrTruncated = errors.New("PDU truncated")

// ErrUnsupported says a PDU is valid but of a kind this package does not read (for example
// an SMS-SUBMIT-REPORT or a compressed text).
var ErrUnsupported = errors.New("PDU kind not supported")

// TooLongError says a text needs more parts than SubmitOptions.MaxParts allows; it names the
// text's length so the sender can shorten it.
type TooLongError struct {
	Chars, Parts, MaxParts int
	Alphabet               Alphabet
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("sms: text of %d characters needs %d %s parts, more than the %d allowed; shorten it",
		e.Chars, e.Parts, e.Alphabet, e.MaxParts)
}

// Alphabet is a TP-DCS character set (3GPP TS 23.038, 4).
type Alphabet int

// The alphabets a TP-DCS names (TS 23.038, 4: bits 3-2 of the general data coding group).
const (
	GSM7  Alphabet = iota // GSM 7-bit default alphabet, with its extension table
	Data8                 // 8-bit data
	UCS2                  // UCS-2; UTF-16BE here, so characters outside the BMP survive
)

func (a Alphabet) String() string {
	switch a {
	case GSM7:
		return "GSM 7-bit"
	case Data8:
		return "8-bit"
	case UCS2:
		return "UCS-2"
	}
	return fmt.Sprintf("alphabet(%d)", int(a))
}

// dcs is the TP-DCS octet for an alphabet, no message class (TS 23.038, 4: group 00xx).
func (a Alphabet) dcs() byte {
	switch a {
	case Data8:
		return 0x04
	case UCS2:
		return 0x08
	}
	return 0x00
}

// Concat is the concatenation information of one part (TS 23.040, 9.2.3.24.1 and .8).
type Concat struct {
	Ref   uint16 // the reference shared by every part of one message
	Count int    // how many parts the message has
	Seq   int    // this part's number, 1..Count
}

// Message is what Decode returns: a *Deliver or a *StatusReport.
type Message interface{ tpMTI() byte }

// Deliver is a received SMS-DELIVER (TS 23.040, 9.2.2.1).
type Deliver struct {
	SMSC string // the service centre that delivered it, when the modem says
	From string // TP-OA: "+8613800138000", "10086" or an alphanumeric sender
	// Time is TP-SCTS, when the service centre received it, in the sender's time zone.
	Time     time.Time
	Alphabet Alphabet
	Text     string // the text; for 8-bit data, empty (see Data)
	Data     []byte // the user data of an 8-bit message, header removed
	Concat   *Concat
	// StatusReportIndicated is TP-SRI: the sender asked for a status report.
	StatusReportIndicated bool
}

func (*Deliver) tpMTI() byte { return mtiDeliver }

// StatusReport is a received SMS-STATUS-REPORT (TS 23.040, 9.2.2.3): what became of a
// message sent with SubmitOptions.StatusReport.
type StatusReport struct {
	SMSC      string
	Ref       int    // TP-MR of the SMS-SUBMIT, as +CMGS returned it
	Recipient string // TP-RA
	SCTime    time.Time
	Discharge time.Time // TP-DT: delivered, or the last attempt
	Status    byte      // TP-ST (TS 23.040, 9.2.3.15)
}

func (*StatusReport) tpMTI() byte { return mtiStatusReport }

// Delivered says the message reached the recipient (TP-ST 0x00-0x1F, transaction completed).
func (r *StatusReport) Delivered() bool { return r.Status < 0x20 }

// Pending says the service centre is still trying (TP-ST 0x20-0x3F, temporary error).
func (r *StatusReport) Pending() bool { return r.Status >= 0x20 && r.Status < 0x40 }

// Failed says the service centre gave up (TP-ST 0x40-0x7F: permanent error, or temporary
// error with no more attempts); reserved values count as failed too.
func (r *StatusReport) Failed() bool { return r.Status >= 0x40 }

// TP-MTI values (TS 23.040, 9.2.3.1), bits 1-0 of the first octet.
const (
	mtiDeliver      = 0x00 // SC to MS
	mtiSubmit       = 0x01 // MS to SC
	mtiStatusReport = 0x02 // SC to MS
)

// First-octet flags (TS 23.040, 9.2.3).
const (
	flagMMS  = 0x04 // TP-MMS (DELIVER): no more messages waiting; TP-RD in SUBMIT
	flagVPFr = 0x10 // TP-VPF = 10, relative validity period (9.2.3.3)
	flagSR   = 0x20 // TP-SRI (DELIVER), TP-SRR (SUBMIT), TP-SRQ (STATUS-REPORT)
	flagUDHI = 0x40 // TP-UDHI: the user data starts with a header (9.2.3.23)
	vpfMask  = 0x18
)
