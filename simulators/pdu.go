package simulators

import (
	"encoding/binary"

	"github.com/facilityd/facilityd/devices"
)

// Function codes the simulators serve (MODBUS Application Protocol V1.1b3, 6.1-6.6, 6.11,
// 6.12). Anything else is answered with exception 01.
const (
	fcReadCoils              = 0x01
	fcReadDiscreteInputs     = 0x02
	fcReadHoldingRegisters   = 0x03
	fcReadInputRegisters     = 0x04
	fcWriteSingleCoil        = 0x05
	fcWriteSingleRegister    = 0x06
	fcWriteMultipleCoils     = 0x0F
	fcWriteMultipleRegisters = 0x10
)

// Exception codes (MODBUS Application Protocol V1.1b3, 7).
const (
	excIllegalFunction    = 0x01
	excIllegalDataAddress = 0x02
	excIllegalDataValue   = 0x03
	excServerFailure      = 0x04
	// excGatewayTargetFailed is what a gateway answers for a unit behind it that does not
	// respond; the simulators answer it for a unit nobody serves.
	excGatewayTargetFailed = 0x0B
)

// Quantity limits of the write requests (MODBUS Application Protocol V1.1b3, 6.11: 1 to 0x7B0
// coils; 6.12: 1 to 0x7B registers, so that the request fits in 253 bytes). Reads use
// devices.MaxBits and devices.MaxRegisters.
const (
	maxWriteBits      = 0x7B0
	maxWriteRegisters = 0x7B
)

// dataModel is what servePDU needs from a device: its four tables. Every method returns an
// exception code, 0 for success; quantities have been checked before the call.
type dataModel interface {
	// readBits returns qty bits of a coil or discrete table from start, packed eight to a
	// byte, least significant bit first.
	readBits(t devices.Table, start, qty uint16) ([]byte, byte)
	// readRegisters returns qty registers of a holding or input table, two bytes each, high
	// byte first.
	readRegisters(t devices.Table, start, qty uint16) ([]byte, byte)
	// writeCoils sets qty coils from start to the packed bits.
	writeCoils(start, qty uint16, packed []byte) byte
	// writeRegisters sets holding registers from start to regs (two bytes each).
	writeRegisters(start uint16, regs []byte) byte
}

// servePDU answers one request PDU. It follows the server state diagrams of MODBUS
// Application Protocol V1.1b3, 6.1-6.12: unknown function → 01, bad quantity or malformed
// request → 03, address range outside the device → 02, then the access itself.
func servePDU(m dataModel, req []byte) []byte {
	if len(req) == 0 {
		return exception(0, excIllegalFunction)
	}
	fc, data := req[0], req[1:]
	switch fc {
	case fcReadCoils, fcReadDiscreteInputs, fcReadHoldingRegisters, fcReadInputRegisters:
		return serveRead(m, fc, data)
	case fcWriteSingleCoil:
		return serveWriteCoil(m, fc, data)
	case fcWriteSingleRegister:
		return serveWriteRegister(m, fc, data)
	case fcWriteMultipleCoils, fcWriteMultipleRegisters:
		return serveWriteMultiple(m, fc, data)
	}
	return exception(fc, excIllegalFunction)
}

// serveRead answers function codes 01-04 (6.1-6.4): a start and a quantity, answered with a
// byte count and the packed bits or registers.
func serveRead(m dataModel, fc byte, data []byte) []byte {
	if len(data) != 4 {
		return exception(fc, excIllegalDataValue)
	}
	start, qty := binary.BigEndian.Uint16(data[0:2]), binary.BigEndian.Uint16(data[2:4])
	var (
		payload []byte
		exc     byte
	)
	switch fc {
	case fcReadCoils, fcReadDiscreteInputs:
		if qty < 1 || qty > devices.MaxBits {
			return exception(fc, excIllegalDataValue)
		}
		table := devices.TableCoil
		if fc == fcReadDiscreteInputs {
			table = devices.TableDiscrete
		}
		payload, exc = m.readBits(table, start, qty)
	default:
		if qty < 1 || qty > devices.MaxRegisters {
			return exception(fc, excIllegalDataValue)
		}
		table := devices.TableHolding
		if fc == fcReadInputRegisters {
			table = devices.TableInput
		}
		payload, exc = m.readRegisters(table, start, qty)
	}
	if exc != 0 {
		return exception(fc, exc)
	}
	resp := make([]byte, 0, 2+len(payload))
	resp = append(resp, fc, byte(len(payload)))
	return append(resp, payload...)
}

// serveWriteCoil answers function code 05 (6.5), echoing the request.
func serveWriteCoil(m dataModel, fc byte, data []byte) []byte {
	if len(data) != 4 {
		return exception(fc, excIllegalDataValue)
	}
	var on byte
	switch binary.BigEndian.Uint16(data[2:4]) {
	case 0xFF00:
		on = 1
	case 0x0000:
	default: // 6.5: only FF00 (on) and 0000 (off) are valid
		return exception(fc, excIllegalDataValue)
	}
	if exc := m.writeCoils(binary.BigEndian.Uint16(data[0:2]), 1, []byte{on}); exc != 0 {
		return exception(fc, exc)
	}
	return append([]byte{fc}, data...)
}

// serveWriteRegister answers function code 06 (6.6), echoing the request.
func serveWriteRegister(m dataModel, fc byte, data []byte) []byte {
	if len(data) != 4 {
		return exception(fc, excIllegalDataValue)
	}
	if exc := m.writeRegisters(binary.BigEndian.Uint16(data[0:2]), data[2:4]); exc != 0 {
		return exception(fc, exc)
	}
	return append([]byte{fc}, data...)
}

// serveWriteMultiple answers function codes 15 and 16 (6.11, 6.12): a start, a quantity and a
// byte count that must agree with each other and with the values sent.
func serveWriteMultiple(m dataModel, fc byte, data []byte) []byte {
	if len(data) < 5 {
		return exception(fc, excIllegalDataValue)
	}
	start, qty, count := binary.BigEndian.Uint16(data[0:2]), binary.BigEndian.Uint16(data[2:4]), int(data[4])
	values := data[5:]
	var want int
	if fc == fcWriteMultipleCoils {
		if qty < 1 || qty > maxWriteBits {
			return exception(fc, excIllegalDataValue)
		}
		want = (int(qty) + 7) / 8
	} else {
		if qty < 1 || qty > maxWriteRegisters {
			return exception(fc, excIllegalDataValue)
		}
		want = 2 * int(qty)
	}
	if count != want || len(values) != want {
		return exception(fc, excIllegalDataValue)
	}
	var exc byte
	if fc == fcWriteMultipleCoils {
		exc = m.writeCoils(start, qty, values)
	} else {
		exc = m.writeRegisters(start, values)
	}
	if exc != 0 {
		return exception(fc, exc)
	}
	return append([]byte{fc}, data[0:4]...)
}

// exception builds an exception response: the function code with its high bit set, then the
// exception code (MODBUS Application Protocol V1.1b3, 7).
func exception(fc, code byte) []byte {
	return []byte{fc | 0x80, code}
}
