package devices

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// AppendNumber must write every number byte for byte as strconv's shortest 'g' form: InfluxDB
// and MQTT subscribers must not see a reading change form when it becomes whole.
func TestAppendNumberIsShortestG(t *testing.T) {
	t.Parallel()
	values := []float64{0, math.Copysign(0, -1), 1, -1, 7, 65535, -32768, 999999, -999999, 1e6, -1e6, 1e6 - 0.5,
		123456, 1234567, 4294967295, 1e21, 1e-7, 0.5, -0.25, 12.75, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.Inf(-1), math.NaN(), math.Nextafter(1e6, 0), math.Nextafter(-1e6, 0)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		switch r.IntN(3) {
		case 0:
			values = append(values, float64(r.IntN(4_000_000)-2_000_000))
		case 1:
			values = append(values, r.NormFloat64()*1e4)
		default:
			values = append(values, math.Float64frombits(r.Uint64()))
		}
	}
	for _, v := range values {
		want := strconv.AppendFloat([]byte("x="), v, 'g', -1, 64)
		if got := AppendNumber([]byte("x="), v); string(got) != string(want) {
			t.Fatalf("AppendNumber(%v) = %q, want %q", v, got, want)
		}
	}
}

func BenchmarkAppendNumber(b *testing.B) {
	buf := make([]byte, 0, 64)
	for i := 0; b.Loop(); i++ {
		buf = AppendNumber(buf[:0], float64(i%65536))
	}
}

func BenchmarkAppendFloatG(b *testing.B) {
	buf := make([]byte, 0, 64)
	for i := 0; b.Loop(); i++ {
		buf = strconv.AppendFloat(buf[:0], float64(i%65536), 'g', -1, 64)
	}
}
