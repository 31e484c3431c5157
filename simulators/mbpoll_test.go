package simulators

import (
	"encoding/binary"
	"math"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
	mb "github.com/facilityd/facilityd/devices/modbus"
	"github.com/facilityd/facilityd/internal/testutil"
)

// mbpoll is Debian's Modbus master (package mbpoll): a client nobody here wrote, so the
// simulators are checked against an outside reading of the protocol and of the byte orders.
type mbpoll struct {
	t          *testing.T
	path       string
	host, port string
}

func findMbpoll(t *testing.T, addr string) *mbpoll {
	t.Helper()
	path, err := exec.LookPath("mbpoll")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("mbpoll not on PATH (apt-get install mbpoll); CI installs it")
		}
		t.Fatalf("mbpoll not on PATH but CI is set: install it (apt-get install mbpoll): %v", err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return &mbpoll{t: t, path: path, host: host, port: port}
}

var mbpollLine = regexp.MustCompile(`^\[(\d+)\]:\s+(\S+)(?:\s+\((-?\d+)\))?\s*$`)

// read polls once (-1) with PDU addressing (-0) and returns each reference's printed value;
// for 16-bit registers above 32767 mbpoll adds the signed reading in parentheses, which comes
// back in signed.
func (m *mbpoll) read(unit uint8, typ string, ref, count int, extra ...string) (values map[int]string, signed map[int]string) {
	m.t.Helper()
	args := append([]string{"-m", "tcp", "-a", strconv.Itoa(int(unit)), "-0", "-r", strconv.Itoa(ref),
		"-c", strconv.Itoa(count), "-t", typ, "-1", "-o", "2", "-p", m.port}, extra...)
	args = append(args, m.host)
	out, err := exec.Command(m.path, args...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("mbpoll %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	values, signed = map[int]string{}, map[int]string{}
	for _, line := range strings.Split(string(out), "\n") {
		g := mbpollLine.FindStringSubmatch(strings.TrimSpace(line))
		if g == nil {
			continue
		}
		i, _ := strconv.Atoi(g[1])
		values[i] = g[2]
		if g[3] != "" {
			signed[i] = g[3]
		}
	}
	if len(values) == 0 {
		m.t.Fatalf("mbpoll %s printed no values:\n%s", strings.Join(args, " "), out)
	}
	return values, signed
}

func (m *mbpoll) number(s string) float64 {
	m.t.Helper()
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		m.t.Fatalf("mbpoll printed %q, not a number", s)
	}
	return x
}

// registers reads a whole register table as raw bytes, two a register.
func (m *mbpoll) registers(unit uint8, table devices.Table, size int) []byte {
	m.t.Helper()
	typ := "3"
	if table == devices.TableHolding {
		typ = "4"
	}
	values, _ := m.read(unit, typ, 0, size)
	regs := make([]byte, 2*size)
	for i := 0; i < size; i++ {
		s, ok := values[i]
		if !ok {
			m.t.Fatalf("mbpoll printed no value for %s register %d", table, i)
		}
		binary.BigEndian.PutUint16(regs[2*i:], uint16(m.number(s)))
	}
	return regs
}

// TestMbpollReadsProfiles reads a pump and an elevator with mbpoll and checks every point,
// decoded from the raw registers per the profile, against the model, then lets mbpoll do its
// own decoding of floats and 32-bit integers in both word orders.
func TestMbpollReadsProfiles(t *testing.T) {
	clock := testutil.NewClock(evening)
	e := startTestEstate(t, clock,
		DeviceSpec{ID: "booster", Kind: devices.KindPump, Address: "127.0.0.1:0", Unit: 1},
		DeviceSpec{ID: "sump", Kind: devices.KindPump, Role: RoleDrainage, Address: "127.0.0.1:0", Unit: 2},
		DeviceSpec{ID: "lift", Kind: devices.KindElevator, Address: "127.0.0.1:0", Unit: 3, Floors: [2]int{-3, 30}},
	)
	clock.Step(10 * time.Minute)
	// A lift in the basement gives a negative floor to read.
	for i := 0; value(t, e, "lift", "floor").Number >= 0 || value(t, e, "lift", "running").Number == 1; i++ {
		if i > 36000 {
			t.Fatal("the lift never stopped in the basement in ten simulated hours")
		}
		clock.Step(time.Second)
	}
	m := findMbpoll(t, e.Addr("booster"))

	for _, dev := range []struct {
		id   string
		unit uint8
	}{{"booster", 1}, {"sump", 2}, {"lift", 3}} {
		t.Run(dev.id, func(t *testing.T) {
			m.t = t
			p := e.byID[dev.id].spec.Profile
			regs := map[devices.Table][]byte{}
			bits := map[devices.Table]map[int]string{}
			for _, table := range []devices.Table{devices.TableCoil, devices.TableDiscrete, devices.TableHolding, devices.TableInput} {
				n := tableSize(p, table)
				switch {
				case n == 0:
				case table == devices.TableCoil:
					bits[table], _ = m.read(dev.unit, "0", 0, n)
				case table == devices.TableDiscrete:
					bits[table], _ = m.read(dev.unit, "1", 0, n)
				default:
					regs[table] = m.registers(dev.unit, table, n)
				}
			}
			for i := range p.Points {
				pt := &p.Points[i]
				want := value(t, e, dev.id, pt.Name)
				var got devices.Value
				if pt.Table.Bits() {
					got.Number = m.number(bits[pt.Table][int(pt.Address)])
				} else {
					got = mb.DecodeRegisters(pt, regs[pt.Table][2*int(pt.Address):])
				}
				if got != want {
					t.Errorf("%s (%s %d %s): mbpoll's registers decode to %+v, model has %+v", pt.Name, pt.Table, pt.Address, pt.Type, got, want)
				}
			}

			// mbpoll's own decoding.
			for i := range p.Points {
				pt := &p.Points[i]
				if pt.Table != devices.TableInput {
					continue
				}
				want := value(t, e, dev.id, pt.Name).Number
				var got float64
				switch {
				case pt.Type == devices.TypeFloat32 && pt.Order == devices.OrderABCD:
					v, _ := m.read(dev.unit, "3:float", int(pt.Address), 1, "-B")
					got = m.number(v[int(pt.Address)])
					if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
						t.Errorf("%s: mbpoll -t 3:float -B reads %v, model has %v", pt.Name, got, want)
					}
				case (pt.Type == devices.TypeUint32 || pt.Type == devices.TypeInt32) &&
					(pt.Order == devices.OrderABCD || pt.Order == devices.OrderCDAB):
					// Without -B mbpoll takes the low word first: the CDAB order.
					var extra []string
					if pt.Order == devices.OrderABCD {
						extra = []string{"-B"}
					}
					v, _ := m.read(dev.unit, "3:int", int(pt.Address), 1, extra...)
					got = m.number(v[int(pt.Address)])*pt.Scale + pt.Offset
					if math.Abs(got-want) > pt.Scale/2 {
						t.Errorf("%s (%s): mbpoll -t 3:int %v reads %v, model has %v", pt.Name, pt.Order, extra, got, want)
					}
				case pt.Type == devices.TypeInt16:
					v, signed := m.read(dev.unit, "3", int(pt.Address), 1)
					s := v[int(pt.Address)]
					if neg, ok := signed[int(pt.Address)]; ok {
						s = neg
					}
					if got = m.number(s)*pt.Scale + pt.Offset; math.Abs(got-want) > pt.Scale/2 {
						t.Errorf("%s: mbpoll reads %v as signed, model has %v", pt.Name, got, want)
					}
				}
			}
		})
	}
	// The readings are the plant's, not zeros: a negative floor, a lift that has made trips, a
	// running booster at pressure, each pump with its role.
	expect(t, e, "lift", "mbpoll", map[string]check{"floor": below(0), "trips": above(65535)})
	expect(t, e, "booster", "mbpoll", map[string]check{"pressure": near(supplySetpoint, 0.15), "running_hours": above(655.35), "role": is(0)})
	expect(t, e, "sump", "mbpoll", map[string]check{"role": is(1), "pit_level": above(0.3)})
}
