package simulators

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/goburrow/modbus"

	"github.com/facilityd/facilityd/devices"
	mb "github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/internal/testutil"
)

// gatewaySpecs is one of every simulator behind one address, as units 1-5 of a gateway.
func gatewaySpecs(addr string) []DeviceSpec {
	return []DeviceSpec{
		{ID: "pump-supply", Kind: devices.KindPump, Role: RoleSupply, Address: addr, Unit: 1},
		{ID: "pump-drain", Kind: devices.KindPump, Role: RoleDrainage, Address: addr, Unit: 2},
		{ID: "lift", Kind: devices.KindElevator, Address: addr, Unit: 3},
		{ID: "fire", Kind: devices.KindFirePanel, Address: addr, Unit: 4},
		{ID: "lights", Kind: devices.KindLighting, Address: addr, Unit: 5},
	}
}

// client is a goburrow client of one unit; its connection is closed when the test ends.
func client(t *testing.T, addr string, unit byte) (modbus.Client, *modbus.TCPClientHandler) {
	t.Helper()
	h := modbus.NewTCPClientHandler(addr)
	h.SlaveId = unit
	h.Timeout = 2 * time.Second
	t.Cleanup(func() { h.Close() })
	return modbus.NewClient(h), h
}

// tableSize is how far a profile's table reaches: what a full read of it covers.
func tableSize(p *devices.Profile, table devices.Table) int {
	n := 0
	for i := range p.Points {
		if p.Points[i].Table == table {
			n = max(n, p.Points[i].End())
		}
	}
	return n
}

// readTable reads a whole table with a real client, in as many requests as the limits need,
// and returns it as bits (one byte each) or raw register bytes.
func readTable(t *testing.T, c modbus.Client, table devices.Table, size int) []byte {
	t.Helper()
	var out []byte
	limit := devices.MaxRegisters
	if table.Bits() {
		limit = devices.MaxBits
	}
	for start := 0; start < size; start += limit {
		qty := min(limit, size-start)
		var (
			data []byte
			err  error
		)
		switch table {
		case devices.TableCoil:
			data, err = c.ReadCoils(uint16(start), uint16(qty))
		case devices.TableDiscrete:
			data, err = c.ReadDiscreteInputs(uint16(start), uint16(qty))
		case devices.TableHolding:
			data, err = c.ReadHoldingRegisters(uint16(start), uint16(qty))
		case devices.TableInput:
			data, err = c.ReadInputRegisters(uint16(start), uint16(qty))
		}
		if err != nil {
			t.Fatalf("read %s %d-%d: %v", table, start, start+qty-1, err)
		}
		if table.Bits() {
			for i := 0; i < qty; i++ {
				b := byte(0)
				if mb.BitAt(data, i) {
					b = 1
				}
				out = append(out, b)
			}
			continue
		}
		out = append(out, data...)
	}
	return out
}

// TestServerServesProfiles reads every table of every built-in kind with goburrow/modbus and
// decodes each point per its profile: the result must be what Estate.Value reports, so a
// poller decoding the profile sees the simulated device as the model has it.
func TestServerServesProfiles(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock, gatewaySpecs("127.0.0.1:0")...)
	clock.Step(90 * time.Second) // let the models move off their starting values

	for _, spec := range gatewaySpecs("") {
		t.Run(spec.ID, func(t *testing.T) {
			p, _ := devices.Builtin(string(spec.Kind))
			c, _ := client(t, e.Addr(spec.ID), spec.Unit)
			tables := map[devices.Table][]byte{}
			for _, table := range []devices.Table{devices.TableCoil, devices.TableDiscrete, devices.TableHolding, devices.TableInput} {
				if n := tableSize(p, table); n > 0 {
					tables[table] = readTable(t, c, table, n)
				}
			}
			for i := range p.Points {
				pt := &p.Points[i]
				var got devices.Value
				if pt.Table.Bits() {
					got.Number = float64(tables[pt.Table][pt.Address])
				} else {
					got = mb.DecodeRegisters(pt, tables[pt.Table][2*int(pt.Address):])
				}
				want := value(t, e, spec.ID, pt.Name)
				if got != want {
					t.Errorf("point %s (%s %d): read %+v over Modbus, Value has %+v", pt.Name, pt.Table, pt.Address, got, want)
				}
				// And the model's own value, before any encoding, within the profile's resolution.
				raw := rawModelValue(e, spec.ID, pt.Name)
				if tol := resolution(pt, raw.Number); math.Abs(got.Number-raw.Number) > tol || got.Text != raw.Text {
					t.Errorf("point %s: read %+v over Modbus, model holds %+v (resolution %v)", pt.Name, got, raw, tol)
				}
			}
		})
	}

	// The values are those of working plant, not zeros.
	expect(t, e, "pump-supply", "evening", map[string]check{
		"pressure": near(supplySetpoint, 0.15), "running": isTrue(), "frequency": above(45), "running_hours": above(8000),
	})
	expect(t, e, "fire", "evening", map[string]check{"model": text("FP-16 SIM"), "battery_voltage": near(27.2, 0.1)})
	expect(t, e, "lights", "evening", map[string]check{"dark": isTrue(), "circuit_24_on": isTrue(), "power": near(24*circuitKW, 0.2)})
}

func TestServerWrites(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock, gatewaySpecs("127.0.0.1:0")...)
	lights, _ := devices.Builtin("lighting")
	pump, _ := devices.Builtin("pump")
	addr := func(p *devices.Profile, name string) uint16 {
		pt, _, ok := p.Point(name)
		if !ok {
			t.Fatalf("profile %s has no point %s", p.Name, name)
		}
		return pt.Address
	}
	lc, _ := client(t, e.Addr("lights"), 5)
	pc, _ := client(t, e.Addr("pump-supply"), 1)

	tests := []struct {
		name  string
		write func() error
		id    string
		want  map[string]check
	}{
		{
			name:  "write single coil switches a circuit off",
			write: func() error { _, err := lc.WriteSingleCoil(addr(lights, "circuit_05_command"), 0x0000); return err },
			id:    "lights",
			want:  map[string]check{"circuit_05_command": isFalse(), "circuit_05_on": isFalse(), "circuit_04_on": isTrue(), "power": near(23*circuitKW, 0.1)},
		},
		{
			name: "write multiple coils",
			write: func() error {
				_, err := lc.WriteMultipleCoils(addr(lights, "circuit_01_command"), 3, []byte{0b010})
				return err
			},
			id:   "lights",
			want: map[string]check{"circuit_01_on": isFalse(), "circuit_02_on": isTrue(), "circuit_03_on": isFalse()},
		},
		{
			name:  "write single register moves the schedule",
			write: func() error { _, err := lc.WriteSingleRegister(addr(lights, "off_time"), 7*60); return err },
			id:    "lights",
			want:  map[string]check{"off_time": is(420), "on_time": is(DefaultLightsOn)},
		},
		{
			name: "write multiple registers: a schedule that ends before now switches lights off",
			write: func() error {
				_, err := lc.WriteMultipleRegisters(addr(lights, "on_time"), 2, []byte{0x04, 0x38, 0x04, 0xB0}) // 18:00 to 20:00
				return err
			},
			id:   "lights",
			want: map[string]check{"on_time": is(1080), "off_time": is(1200), "dark": isFalse(), "circuit_02_on": isFalse(), "power": is(0)},
		},
		{
			name:  "run command off stops a supply pump",
			write: func() error { _, err := pc.WriteSingleCoil(addr(pump, "run_command"), 0x0000); return err },
			id:    "pump-supply",
			want:  map[string]check{"run_command": isFalse(), "running": isFalse(), "fault": isFalse()},
		},
		{
			name:  "run command on starts it again",
			write: func() error { _, err := pc.WriteSingleCoil(addr(pump, "run_command"), 0xFF00); return err },
			id:    "pump-supply",
			want:  map[string]check{"run_command": isTrue(), "running": isTrue()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(); err != nil {
				t.Fatalf("write: %v", err)
			}
			clock.Step(time.Second)
			expect(t, e, tt.id, "after write", tt.want)
		})
	}
}

// rawModelValue is the model's value of a point as it stands, without the round trip through
// the registers that Value makes.
func rawModelValue(e *Estate, id, point string) devices.Value {
	d := e.byID[id]
	d.mu.Lock()
	defer d.mu.Unlock()
	v, _ := d.model.value(point)
	return v
}

// resolution is how far an encoded value may be from the model's: half a step of the scale for
// integers, float32 rounding for floats.
func resolution(p *devices.Point, x float64) float64 {
	switch p.Type {
	case devices.TypeFloat32:
		return math.Abs(x) * 1e-7
	case devices.TypeFloat64, devices.TypeString:
		return 0
	case devices.TypeBool, devices.TypeBit, devices.TypeEnum:
		return 0
	}
	return p.Scale/2 + 1e-9
}

// quantityPackager rewrites the quantity of a read request, because goburrow checks it before
// sending and the server's answer to a bad one is what is under test.
type quantityPackager struct {
	modbus.Packager
	qty uint16
}

func (p quantityPackager) Encode(pdu *modbus.ProtocolDataUnit) ([]byte, error) {
	data := append([]byte(nil), pdu.Data...)
	binary.BigEndian.PutUint16(data[2:4], p.qty)
	return p.Packager.Encode(&modbus.ProtocolDataUnit{FunctionCode: pdu.FunctionCode, Data: data})
}

func TestServerExceptions(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock, gatewaySpecs("127.0.0.1:0")...)
	addr := e.Addr("pump-supply")
	pump, _ := devices.Builtin("pump")
	inputs := uint16(tableSize(pump, devices.TableInput))

	withQty := func(unit byte, qty uint16) modbus.Client {
		_, h := client(t, addr, unit)
		return modbus.NewClient2(quantityPackager{h, qty}, h)
	}
	pumpClient, _ := client(t, addr, 1)
	fireClient, _ := client(t, addr, 4)
	lightClient, _ := client(t, addr, 5)
	nobody, _ := client(t, addr, 99)

	tests := []struct {
		name string
		call func() error
		code byte
	}{
		{"read FIFO queue is an illegal function", func() error { _, err := pumpClient.ReadFIFOQueue(0); return err }, 0x01},
		{"mask write register is an illegal function", func() error { _, err := pumpClient.MaskWriteRegister(0, 0, 0); return err }, 0x01},
		{"read input registers past the map", func() error { _, err := pumpClient.ReadInputRegisters(inputs-1, 2); return err }, 0x02},
		{"read holding registers of a pump, which has none", func() error { _, err := pumpClient.ReadHoldingRegisters(0, 1); return err }, 0x02},
		{"read coils past the map", func() error { _, err := pumpClient.ReadCoils(2, 1); return err }, 0x02},
		{"write to a read-only register", func() error { _, err := fireClient.WriteSingleRegister(0, 0x4142); return err }, 0x02},
		{"write to a coil past the map", func() error { _, err := lightClient.WriteSingleCoil(500, 0xFF00); return err }, 0x02},
		{"schedule time past midnight", func() error { _, err := lightClient.WriteSingleRegister(0, 24*60); return err }, 0x03},
		{"zero registers", func() error { _, err := withQty(1, 0).ReadInputRegisters(0, 1); return err }, 0x03},
		{"126 registers", func() error { _, err := withQty(1, 126).ReadInputRegisters(0, 1); return err }, 0x03},
		{"zero bits", func() error { _, err := withQty(1, 0).ReadDiscreteInputs(0, 1); return err }, 0x03},
		{"2001 bits", func() error { _, err := withQty(1, 2001).ReadDiscreteInputs(0, 1); return err }, 0x03},
		{"a unit nobody serves", func() error { _, err := nobody.ReadInputRegisters(0, 1); return err }, 0x0B},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var me *modbus.ModbusError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want a *modbus.ModbusError with code %#02x", err, tt.code)
			}
			if me.ExceptionCode != tt.code {
				t.Fatalf("exception code %#02x, want %#02x (%v)", me.ExceptionCode, tt.code, err)
			}
		})
	}
	// The connection survives exceptions: the next request is answered.
	if _, err := pumpClient.ReadInputRegisters(0, 2); err != nil {
		t.Fatalf("read after exceptions: %v", err)
	}
}

func TestServerClosesConnectionOnBadFrame(t *testing.T) {
	e := startTestEstate(t, testutil.NewClock(evening), DeviceSpec{ID: "p", Kind: devices.KindPump})
	c, err := net.Dial("tcp", e.Addr("p"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Protocol identifier 1 is not Modbus: past it the stream cannot be trusted.
	if _, err := c.Write([]byte{0, 1, 0, 1, 0, 6, 0, 0x04, 0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(make([]byte, 16)); err == nil {
		t.Fatalf("read %d bytes after a bad frame, want the connection closed", n)
	}
}

func TestServerClosesIdleConnections(t *testing.T) {
	e := newTestEstate(t, testutil.NewClock(evening), DeviceSpec{ID: "p", Kind: devices.KindPump, Unit: 1})
	e.byID["p"].srv.idle = 200 * time.Millisecond
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, e.Addr("p"))
	c.send(1, 1)
	if _, err := c.reply(2 * time.Second); err != nil {
		t.Fatalf("first request: %v", err)
	}
	// Then nothing: the server hangs up once the idle time has passed since the last request.
	if _, err := c.reply(5 * time.Second); err == nil || isTimeout(err) {
		t.Fatalf("idle connection: err = %v, want it closed by the server", err)
	}
}

func TestServerConnectionLimit(t *testing.T) {
	e := startTestEstate(t, testutil.NewClock(evening), DeviceSpec{ID: "p", Kind: devices.KindPump, Unit: 1})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	req := appendFrame(nil, frame{transaction: 1, unit: 1, pdu: []byte{0x04, 0, 0, 0, 1}})
	for i := 0; i < maxConnsPerListener; i++ {
		c, err := net.Dial("tcp", e.Addr("p"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		// A round trip makes sure the server has counted this connection.
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := readFrame(c, make([]byte, maxADULen)); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	extra, err := net.Dial("tcp", e.Addr("p"))
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.Write(req)
	extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := readFrame(extra, make([]byte, maxADULen)); err == nil {
		t.Fatalf("connection %d was served, want it closed (limit %d)", maxConnsPerListener+1, maxConnsPerListener)
	}
}

func TestStartNamesTheBusyAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	e, err := New([]DeviceSpec{
		{ID: "first", Kind: devices.KindPump},
		{ID: "second", Kind: devices.KindElevator, Address: busy.Addr().String()},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.Start()
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) || !strings.Contains(err.Error(), `"second"`) {
		t.Fatalf("Start = %v, want an error naming %s and device \"second\"", err, busy.Addr())
	}
	// What Start opened before failing is closed again.
	if c, err := net.DialTimeout("tcp", e.Addr("first"), time.Second); err == nil {
		c.Close()
		t.Fatalf("listener of device \"first\" at %s still open after Start failed", e.Addr("first"))
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	lighting, _ := devices.Builtin("lighting")
	tests := []struct {
		name  string
		specs []DeviceSpec
		want  []string
	}{
		{"duplicate id", []DeviceSpec{{ID: "a", Kind: devices.KindPump}, {ID: "a", Kind: devices.KindElevator}}, []string{`device "a"`, "unique"}},
		{"unit used twice on one address", []DeviceSpec{
			{ID: "a", Kind: devices.KindPump, Address: "127.0.0.1:1502", Unit: 3},
			{ID: "b", Kind: devices.KindPump, Address: "127.0.0.1:1502", Unit: 3},
		}, []string{`device "b"`, "unit 3", `"a"`}},
		{"unknown kind", []DeviceSpec{{ID: "x", Kind: "boiler"}}, []string{`device "x"`, `"boiler"`, "pump, elevator, fire_panel, lighting"}},
		{"generic kind needs its profile", []DeviceSpec{{ID: "x", Kind: devices.KindGeneric}}, []string{"a generic device needs its profile"}},
		{"profile of another kind", []DeviceSpec{{ID: "x", Kind: devices.KindPump, Profile: lighting}}, []string{`"lighting" is a lighting profile`}},
		{"bad role", []DeviceSpec{{ID: "x", Kind: devices.KindPump, Role: "sewage"}}, []string{`role: "sewage"`, "supply or drainage"}},
		{"role on an elevator", []DeviceSpec{{ID: "x", Kind: devices.KindElevator, Role: "supply"}}, []string{"only pumps"}},
		{"bad address", []DeviceSpec{{ID: "x", Kind: devices.KindPump, Address: "localhost"}}, []string{`address: "localhost"`}},
		{"floors upside down", []DeviceSpec{{ID: "x", Kind: devices.KindElevator, Floors: [2]int{10, 1}}}, []string{"floors"}},
		{"missing id", []DeviceSpec{{Kind: devices.KindPump}}, []string{"devices[0]", "id: missing"}},
		{"every problem at once", []DeviceSpec{{ID: "x", Kind: "boiler"}, {ID: "y", Kind: devices.KindPump, Role: "sewage"}}, []string{`device "x"`, `device "y"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.specs, Options{})
			if err == nil {
				t.Fatalf("New succeeded, want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCloseStopsEverything(t *testing.T) {
	e, err := New(gatewaySpecs("127.0.0.1:0"), Options{Now: testutil.NewClock(evening).Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	addr := e.Addr("lift")
	c, _ := client(t, addr, 3)
	if _, err := c.ReadInputRegisters(0, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.ReadInputRegisters(0, 1); err == nil {
		t.Fatalf("read after Close succeeded")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s after Close succeeded", addr)
	}
	if err := e.Start(); err == nil {
		t.Fatalf("Start after Close succeeded")
	}
}

func ExampleEstate_Addr() {
	e, _ := New([]DeviceSpec{
		{ID: "booster-1", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 1},
		{ID: "sump-1", Kind: devices.KindPump, Role: RoleDrainage, Address: "127.0.0.1:0", Unit: 2},
	}, Options{})
	defer e.Close()
	if err := e.Start(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Addr("booster-1") == e.Addr("sump-1"))
	// Output: true
}
