package modem

import (
	"errors"
	"fmt"
)

// Sentinel errors callers test with errors.Is; an *Error with a matching code is one of them.
var (
	// ErrNoSIM: no SIM card is inserted (CME 10, CMS 310). Insert one.
	ErrNoSIM = errors.New("no SIM card in the modem")
	// ErrSIMLocked: the SIM asks for a PIN (or PUK) that is not configured or was refused.
	ErrSIMLocked = errors.New("SIM card is locked")
	// ErrNotRegistered: the modem is not registered on a network (CME 30, CMS 331).
	ErrNotRegistered = errors.New("modem not registered on a network")
	// ErrNoSignal: the modem hears no network (+CSQ 99).
	ErrNoSignal = errors.New("no mobile signal")
	// ErrTimeout: the modem did not answer a command in time; the driver stays usable.
	ErrTimeout = errors.New("modem did not answer in time")
	// ErrClosed: the modem was closed, or its line failed.
	ErrClosed = errors.New("modem closed")
)

// Error is a command the modem refused: "ERROR", "+CME ERROR: <n>" (3GPP TS 27.007, 9.2) or
// "+CMS ERROR: <n>" (3GPP TS 27.005, 3.2.5). Kind is "CME", "CMS", or "" for a bare ERROR.
type Error struct {
	Cmd  string
	Kind string
	Code int
}

func (e *Error) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("modem: %s: ERROR (no reason given; AT+CMEE=1 makes the modem give one)", e.Cmd)
	}
	meaning := "see 3GPP TS 27.007, 9.2"
	table := cmeMeaning
	if e.Kind == "CMS" {
		meaning, table = "see 3GPP TS 27.005, 3.2.5", cmsMeaning
	}
	if m, ok := table[e.Code]; ok {
		meaning = m
	}
	return fmt.Sprintf("modem: %s: +%s ERROR: %d (%s)", e.Cmd, e.Kind, e.Code, meaning)
}

// Is makes the codes that mean a missing SIM, a locked SIM or no network match the sentinels.
func (e *Error) Is(target error) bool {
	key := fmt.Sprintf("%s%d", e.Kind, e.Code)
	switch target {
	case ErrNoSIM:
		return key == "CME10" || key == "CMS310"
	case ErrSIMLocked:
		return key == "CME11" || key == "CME12" || key == "CMS311" || key == "CMS316"
	case ErrNotRegistered:
		return key == "CME30" || key == "CME32" || key == "CMS331"
	}
	return false
}

// cmeMeaning holds the common +CME ERROR codes, 3GPP TS 27.007, 9.2.1.
var cmeMeaning = map[int]string{
	0: "phone failure", 3: "operation not allowed", 4: "operation not supported",
	10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure",
	14: "SIM busy", 15: "SIM wrong", 16: "incorrect password", 20: "memory full",
	21: "invalid index", 22: "not found", 30: "no network service", 31: "network timeout",
	32: "network not allowed, emergency calls only", 100: "unknown",
}

// cmsMeaning holds the common +CMS ERROR codes: 0-127 are RP causes (3GPP TS 24.011, E.2),
// 128-255 TP-FCS values (3GPP TS 23.040, 9.2.3.22), 300 up the modem's own (TS 27.005, 3.2.5).
var cmsMeaning = map[int]string{
	1: "unassigned number", 8: "operator determined barring", 21: "short message transfer rejected",
	27: "destination out of service", 28: "unidentified subscriber", 38: "network out of order",
	41: "temporary failure", 42: "congestion", 50: "requested facility not subscribed",
	300: "ME failure", 301: "SMS service of ME reserved", 302: "operation not allowed",
	303: "operation not supported", 304: "invalid PDU mode parameter", 310: "SIM not inserted",
	311: "SIM PIN required", 313: "SIM failure", 314: "SIM busy", 316: "SIM PUK required",
	320: "memory failure", 321: "invalid memory index", 322: "memory full",
	330: "SMSC address unknown", 331: "no network service", 332: "network timeout",
	340: "no +CNMA acknowledgement expected", 500: "unknown error",
}
