package telemetry

import (
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// testProfile has one point of every field type the encoder writes.
var testProfile = &devices.Profile{
	Name: "test",
	Kind: devices.KindPump,
	Points: []devices.Point{
		{Name: "running", Table: devices.TableDiscrete, Type: devices.TypeBool},
		{Name: "alarm_bit", Table: devices.TableHolding, Type: devices.TypeBit, Bit: 3},
		{Name: "mode", Table: devices.TableHolding, Type: devices.TypeEnum, Enum: map[int]string{0: "off", 3: "auto"}},
		{Name: "label", Table: devices.TableHolding, Type: devices.TypeString, Length: 4},
		{Name: "pressure", Table: devices.TableInput, Type: devices.TypeFloat32},
		{Name: "current", Table: devices.TableInput, Type: devices.TypeUint16, Scale: 0.1},
	},
}

var t0 = time.Date(2024, 5, 1, 8, 30, 0, 123456789, time.UTC)

func testDevice() *devices.Device {
	return &devices.Device{ID: "P-01", Kind: devices.KindPump, Site: "estate1", Building: "B2", Zone: "north", Profile: testProfile}
}

func good(n float64) devices.Value { return devices.Value{Number: n} }

func TestAppendSnapshot(t *testing.T) {
	t.Parallel()
	ts := strconv.FormatInt(t0.UnixNano(), 10)
	tests := []struct {
		name    string
		snap    *devices.Snapshot
		want    string
		skipped int
	}{
		{
			name: "every field type",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{
				good(1), good(0), good(3), {Text: "AUTO"}, good(4.25), good(12),
			}},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north running=true,alarm_bit=false,mode=3i,label="AUTO",pressure=4.25,current=12,comm_ok=true ` + ts + "\n",
		},
		{
			name: "failed poll writes comm_ok=false only",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Err: errors.New("i/o timeout")},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north comm_ok=false ` + ts + "\n",
		},
		{
			name: "nil values is a failed poll",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north comm_ok=false ` + ts + "\n",
		},
		{
			name: "error with values is still a failed poll",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{good(1)}, Err: errors.New("decode")},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north comm_ok=false ` + ts + "\n",
		},
		{
			name: "bad, comm_fail and uncertain quality points skipped",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{
				{Number: 1, Quality: devices.QualityBad}, good(1), {Number: 3, Quality: devices.QualityCommFail},
				{Text: "x", Quality: devices.QualityUncertain}, good(2), {Number: 5, Quality: devices.QualityUncertain},
			}},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north alarm_bit=true,pressure=2,comm_ok=true ` + ts + "\n",
		},
		{
			name: "NaN and Inf skipped and counted",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{
				good(math.NaN()), good(1), good(math.Inf(1)), {Text: "ok"}, good(math.NaN()), good(math.Inf(-1)),
			}},
			want:    `pump,building=B2,device=P-01,site=estate1,zone=north alarm_bit=true,label="ok",comm_ok=true ` + ts + "\n",
			skipped: 4,
		},
		{
			name: "enum beyond int64 skipped",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{
				{Quality: devices.QualityBad}, {Quality: devices.QualityBad}, good(1e19),
			}},
			want:    `pump,building=B2,device=P-01,site=estate1,zone=north comm_ok=true ` + ts + "\n",
			skipped: 1,
		},
		{
			name: "floats keep their precision and exponent form",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{
				{Quality: devices.QualityBad}, {Quality: devices.QualityBad}, good(-2), {Quality: devices.QualityBad},
				good(math.Nextafter(0.3, 1)), good(1e21),
			}},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north mode=-2i,pressure=0.30000000000000004,current=1e+21,comm_ok=true ` + ts + "\n",
		},
		{
			name: "empty tags omitted",
			snap: &devices.Snapshot{
				Device: &devices.Device{ID: "L-7", Kind: devices.KindLighting, Site: "estate1", Profile: testProfile},
				Time:   t0, Err: errors.New("refused"),
			},
			want: `lighting,device=L-7,site=estate1 comm_ok=false ` + ts + "\n",
		},
		{
			name: "empty kind is generic",
			snap: &devices.Snapshot{Device: &devices.Device{ID: "X"}, Time: t0},
			want: `generic,device=X comm_ok=false ` + ts + "\n",
		},
		{
			name: "tag values escaped",
			snap: &devices.Snapshot{
				Device: &devices.Device{ID: "pump 1,a=b", Kind: devices.KindPump, Site: `c:\sites\`, Building: "楼 A", Zone: "z\nq"},
				Time:   t0, Err: errors.New("x"),
			},
			want: `pump,building=楼\ A,device=pump\ 1\,a\=b,site=c:\sites\\,zone=z\ q comm_ok=false ` + ts + "\n",
		},
		{
			name: "backslash before an escaped character doubled",
			snap: &devices.Snapshot{Device: &devices.Device{ID: `a\,b`, Kind: devices.KindPump}, Time: t0},
			want: `pump,device=a\\\,b comm_ok=false ` + ts + "\n",
		},
		{
			name: "string values escaped",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{
				{Quality: devices.QualityBad}, {Quality: devices.QualityBad}, {Quality: devices.QualityBad},
				{Text: `say "hi" \ bye` + "\nnext, a=b"},
			}},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north label="say \"hi\" \\ bye` + "\nnext, a=b" + `",comm_ok=true ` + ts + "\n",
		},
		{
			name: "invalid UTF-8 in strings replaced",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{
				{Quality: devices.QualityBad}, {Quality: devices.QualityBad}, {Quality: devices.QualityBad},
				{Text: "A\xffB\"é"},
			}},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north label="A` + "\uFFFD" + `B\"é",comm_ok=true ` + ts + "\n",
		},
		{
			name: "field keys escaped, reserved names skipped",
			snap: &devices.Snapshot{
				Device: &devices.Device{ID: "G1", Kind: devices.KindGeneric, Profile: &devices.Profile{Points: []devices.Point{
					{Name: "flow rate=x,y", Type: devices.TypeFloat64},
					{Name: "time", Type: devices.TypeFloat64},
					{Name: "comm_ok", Type: devices.TypeBool},
				}}},
				Time: t0, Values: []devices.Value{good(1.5), good(2), good(1)},
			},
			want:    `generic,device=G1 flow\ rate\=x\,y=1.5,comm_ok=true ` + ts + "\n",
			skipped: 2,
		},
		{
			name: "fewer values than points, and more",
			snap: &devices.Snapshot{Device: testDevice(), Time: t0, Values: []devices.Value{good(1)}},
			want: `pump,building=B2,device=P-01,site=estate1,zone=north running=true,comm_ok=true ` + ts + "\n",
		},
		{
			name: "no profile writes comm_ok only",
			snap: &devices.Snapshot{Device: &devices.Device{ID: "G2", Kind: devices.KindGeneric}, Time: t0, Values: []devices.Value{good(1)}},
			want: `generic,device=G2 comm_ok=true ` + ts + "\n",
		},
		{
			name: "zero time leaves the timestamp to the server",
			snap: &devices.Snapshot{Device: &devices.Device{ID: "G3", Kind: devices.KindGeneric}},
			want: "generic,device=G3 comm_ok=false\n",
		},
		{
			name: "time before 1677 has no nanosecond timestamp",
			snap: &devices.Snapshot{Device: &devices.Device{ID: "G4", Kind: devices.KindGeneric}, Time: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
			want: "generic,device=G4 comm_ok=false\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prefix := []byte("previous line\n")
			got, skipped, err := AppendSnapshot(prefix, tc.snap)
			if err != nil {
				t.Fatalf("AppendSnapshot: %v", err)
			}
			if string(got) != "previous line\n"+tc.want {
				t.Errorf("line:\n got %q\nwant %q", got[len(prefix):], tc.want)
			}
			if skipped != tc.skipped {
				t.Errorf("skipped = %d, want %d", skipped, tc.skipped)
			}
		})
	}
}

func TestAppendSnapshotInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		snap *devices.Snapshot
	}{
		{name: "nil snapshot", snap: nil},
		{name: "no device", snap: &devices.Snapshot{Time: t0, Values: []devices.Value{good(1)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := AppendSnapshot([]byte("x"), tc.snap)
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Errorf("err = %v, want ErrInvalidSnapshot", err)
			}
			if string(got) != "x" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}

// benchSnapshot is a 50-point poll of the kinds a real device mixes.
func benchSnapshot() *devices.Snapshot {
	p := &devices.Profile{Name: "bench", Kind: devices.KindPump}
	values := make([]devices.Value, 50)
	for i := range values {
		pt := devices.Point{Name: "point_" + strconv.Itoa(i), Table: devices.TableInput, Type: devices.TypeFloat32}
		switch i % 5 {
		case 0:
			pt.Table, pt.Type = devices.TableDiscrete, devices.TypeBool
			values[i] = good(float64(i % 2))
		case 1:
			pt.Type = devices.TypeEnum
			values[i] = good(float64(i % 7))
		case 2:
			pt.Type = devices.TypeString
			values[i] = devices.Value{Text: "VFD-" + strconv.Itoa(i)}
		default:
			values[i] = good(float64(i) * 1.37)
		}
		p.Points = append(p.Points, pt)
	}
	d := &devices.Device{ID: "pump-b2-01", Kind: devices.KindPump, Site: "estate1", Building: "B2", Zone: "north", Profile: p}
	return &devices.Snapshot{Device: d, Time: t0, Values: values}
}

func BenchmarkEncode(b *testing.B) {
	s := benchSnapshot()
	buf, _, _ := AppendSnapshot(nil, s)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = AppendSnapshot(buf[:0], s)
	}
}
