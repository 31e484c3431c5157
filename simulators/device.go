package simulators

import (
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// device is one simulated device: a model, the register banks a poller reads, and the faults
// in force. Every access advances the model to the clock's now first, so values move between
// polls however often they come.
type device struct {
	spec    DeviceSpec // resolved: profile, kind and role set
	now     func() time.Time
	scale   float64
	log     *slog.Logger
	srv     *server
	pub     *publisher // nil unless the device publishes over MQTT
	coilAt  map[uint16]*devices.Point
	holding []*devices.Point

	mu     sync.Mutex
	model  model
	banks  *banks
	last   time.Time
	faults map[string]ActiveFault // by fault, or fault/key for zone and circuit faults
	proto  protocolFaults
}

func newDevice(spec DeviceSpec, m model, opts *Options, log *slog.Logger) *device {
	d := &device{
		spec:   spec,
		now:    opts.Now,
		scale:  opts.TimeScale,
		log:    log,
		coilAt: map[uint16]*devices.Point{},
		model:  m,
		banks:  newBanks(spec.Profile),
		last:   opts.Now(),
		faults: map[string]ActiveFault{},
	}
	for i := range spec.Profile.Points {
		p := &spec.Profile.Points[i]
		switch p.Table {
		case devices.TableCoil:
			d.coilAt[p.Address] = p
		case devices.TableHolding:
			d.holding = append(d.holding, p)
		}
	}
	d.encode()
	return d
}

// refresh advances the model to now and re-encodes every point. Callers hold d.mu.
func (d *device) refresh() time.Time {
	now := d.now()
	if now.After(d.last) {
		dt := time.Duration(float64(now.Sub(d.last)) * d.scale)
		d.model.step(now, dt)
		d.last = now
	}
	d.encode()
	return now
}

// encode writes the model's value of every point it knows into the banks.
func (d *device) encode() {
	pts := d.spec.Profile.Points
	for i := range pts {
		if v, ok := d.model.value(pts[i].Name); ok {
			d.banks.store(&pts[i], v)
		}
	}
}

// serveModbus answers one request PDU for this unit.
func (d *device) serveModbus(req []byte) []byte { return servePDU(d, req) }

func (d *device) readBits(t devices.Table, start, qty uint16) ([]byte, byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	return d.banks.readBits(t, start, qty)
}

func (d *device) readRegisters(t devices.Table, start, qty uint16) ([]byte, byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	return d.banks.readRegisters(t, start, qty)
}

// writeCoils applies a coil write if every coil in the range is a point the model accepts;
// otherwise nothing changes (02 for a coil no client may write, 03 for a value refused).
func (d *device) writeCoils(start, qty uint16, packed []byte) byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	if int(start)+int(qty) > d.banks.nCoils {
		return excIllegalDataAddress
	}
	type write struct {
		p *devices.Point
		v devices.Value
	}
	writes := make([]write, 0, qty)
	for i := 0; i < int(qty); i++ {
		p := d.coilAt[start+uint16(i)]
		if p == nil {
			return excIllegalDataAddress
		}
		v := devices.Value{}
		if packed[i/8]>>(uint(i)%8)&1 == 1 {
			v.Number = 1
		}
		if exc := d.check(p, v); exc != 0 {
			return exc
		}
		writes = append(writes, write{p, v})
	}
	for _, w := range writes {
		d.model.write(w.p.Name, w.v)
	}
	d.encode()
	d.log.Debug("coils written", "device", d.spec.ID, "start", start, "quantity", qty)
	return 0
}

// writeRegisters applies a holding-register write if every register in the range belongs to a
// point the model accepts. The new registers are decoded point by point, as a poller would,
// so a float written as two registers reaches the model as one value.
func (d *device) writeRegisters(start uint16, regs []byte) byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	end := int(start) + len(regs)/2
	if 2*end > len(d.banks.holding) {
		return excIllegalDataAddress
	}
	scratch := append([]byte(nil), d.banks.holding...)
	copy(scratch[2*int(start):], regs)
	covered := make([]bool, end-int(start))
	type write struct {
		p *devices.Point
		v devices.Value
	}
	var writes []write
	for _, p := range d.holding {
		if p.End() <= int(start) || int(p.Address) >= end {
			continue
		}
		for a := max(int(p.Address), int(start)); a < min(p.End(), end); a++ {
			covered[a-int(start)] = true
		}
		sub := &banks{holding: scratch}
		v := sub.load(p)
		if exc := d.check(p, v); exc != 0 {
			return exc
		}
		writes = append(writes, write{p, v})
	}
	for _, c := range covered {
		if !c {
			return excIllegalDataAddress
		}
	}
	for _, w := range writes {
		d.model.write(w.p.Name, w.v)
	}
	d.encode()
	d.log.Debug("registers written", "device", d.spec.ID, "start", start, "quantity", len(regs)/2)
	return 0
}

// check maps the model's answer to a write to an exception code.
func (d *device) check(p *devices.Point, v devices.Value) byte {
	err := d.model.checkWrite(p.Name, v)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errReadOnly):
		return excIllegalDataAddress
	}
	d.log.Debug("write refused", "device", d.spec.ID, "point", p.Name, "reason", err)
	return excIllegalDataValue
}

// protocolFaults returns the protocol faults in force for the next request.
func (d *device) protocolFaults() protocolFaults {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.proto
}

// faultSpec finds a fault of this device, or says which faults there are.
func (d *device) faultSpec(fault string) (*FaultSpec, error) {
	specs := Faults(d.spec.Kind, d.spec.Role)
	for i := range specs {
		if specs[i].Name == fault {
			return &specs[i], nil
		}
	}
	fe := &FaultError{Device: d.spec.ID, Kind: d.spec.Kind, Fault: fault, Valid: faultNames(specs), Err: ErrUnknownFault}
	if fault == "pit_high" {
		fe.Reason = " (pit_high is a fault of drainage pumps; this is a " + d.spec.Role + " pump)"
	}
	return nil, fe
}

func (d *device) paramErr(fault string, pe *paramError) error {
	return &FaultError{Device: d.spec.ID, Kind: d.spec.Kind, Fault: fault, Param: pe.param, Reason: pe.reason, Err: ErrBadParam}
}

// inject starts a fault, or updates its parameters if it is already in force.
func (d *device) inject(fault string, params map[string]string) error {
	spec, err := d.faultSpec(fault)
	if err != nil {
		return err
	}
	resolved, pe := spec.resolveParams(params, true)
	if pe != nil {
		return d.paramErr(fault, pe)
	}
	d.mu.Lock()
	now := d.refresh()
	if spec.Protocol {
		pe = d.proto.apply(fault, resolved, true)
	} else if err := d.model.inject(fault, resolved); err != nil {
		if !errors.As(err, &pe) {
			pe = &paramError{"?", err.Error()}
		}
	}
	if pe != nil {
		d.mu.Unlock()
		return d.paramErr(fault, pe)
	}
	key := fault
	if spec.key != "" {
		key += "/" + resolved[spec.key]
	}
	since := now
	if old, ok := d.faults[key]; ok {
		since = old.Since
	}
	d.faults[key] = ActiveFault{Fault: fault, Params: resolved, Since: since}
	d.encode()
	waiting := ""
	if ar, ok := d.model.(armer); ok && !spec.Protocol {
		waiting = ar.armed(fault)
	}
	d.mu.Unlock()

	if waiting != "" {
		d.log.Info("fault armed", "device", d.spec.ID, "fault", fault, "params", resolved, "waiting", waiting)
	} else {
		d.log.Info("fault injected", "device", d.spec.ID, "fault", fault, "params", resolved)
	}
	if fault == "drop" && d.srv != nil {
		d.srv.resetConns()
	}
	if fault == "drop" && d.pub != nil {
		d.pub.kick()
	}
	return nil
}

// clear ends a fault. Clearing a fault that is not in force is not an error; leaving out the
// key parameter (zone, circuit) clears every instance.
func (d *device) clear(fault string, params map[string]string) error {
	spec, err := d.faultSpec(fault)
	if err != nil {
		return err
	}
	resolved, pe := spec.resolveParams(params, false)
	if pe != nil {
		return d.paramErr(fault, pe)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	if spec.Protocol {
		d.proto.apply(fault, resolved, false)
	} else if err := d.model.clear(fault, resolved); err != nil {
		if !errors.As(err, &pe) {
			pe = &paramError{"?", err.Error()}
		}
		return d.paramErr(fault, pe)
	}
	for key := range d.faults {
		if key == fault || (spec.key != "" && resolved[spec.key] == "" && strings.HasPrefix(key, fault+"/")) ||
			(spec.key != "" && key == fault+"/"+resolved[spec.key]) {
			delete(d.faults, key)
		}
	}
	d.encode()
	d.log.Info("fault cleared", "device", d.spec.ID, "fault", fault, "params", resolved)
	return nil
}

// activeFaults lists the faults in force, by fault name and then key. Callers hold d.mu.
func (d *device) activeFaults() []ActiveFault {
	keys := make([]string, 0, len(d.faults))
	for k := range d.faults {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return faultKeyLess(keys[i], keys[j]) })
	out := make([]ActiveFault, len(keys))
	ar, _ := d.model.(armer)
	for i, k := range keys {
		out[i] = d.faults[k]
		if ar != nil {
			if why := ar.armed(out[i].Fault); why != "" {
				out[i].Armed, out[i].Waiting = true, why
			}
		}
	}
	return out
}

// faultKeyLess orders zone_alarm/2 before zone_alarm/10.
func faultKeyLess(a, b string) bool {
	an, ai, _ := strings.Cut(a, "/")
	bn, bi, _ := strings.Cut(b, "/")
	if an != bn {
		return an < bn
	}
	if len(ai) != len(bi) {
		return len(ai) < len(bi)
	}
	return ai < bi
}

// status is the device as the control API shows it.
func (d *device) status(addr string) DeviceStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	st := DeviceStatus{
		ID:      d.spec.ID,
		Kind:    d.spec.Kind,
		Role:    d.spec.Role,
		Profile: d.spec.Profile.Name,
		Address: addr,
		Unit:    d.spec.Unit,
		Faults:  d.activeFaults(),
		Values:  make(map[string]any, len(d.spec.Profile.Points)),
	}
	for i := range d.spec.Profile.Points {
		p := &d.spec.Profile.Points[i]
		v := d.banks.load(p)
		st.Values[p.Name] = p.Typed(v)
		if l := p.Label(v); l != "" {
			if st.Labels == nil {
				st.Labels = map[string]string{}
			}
			st.Labels[p.Name] = l
		}
	}
	return st
}

// value is a point's value as a poller would decode it now.
func (d *device) value(point string) (devices.Value, bool) {
	p, _, ok := d.spec.Profile.Point(point)
	if !ok {
		return devices.Value{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refresh()
	return d.banks.load(p), true
}
