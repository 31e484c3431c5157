package simulators

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/facilityd/facilityd/devices/bacnet"
)

// BACnetSpec makes a DeviceSpec a BACnet/IP device: an air-handling unit's controller served
// on the spec's Address (UDP; empty: a free loopback port) with the Device object Instance.
type BACnetSpec struct {
	Instance uint32
}

// The AHU's objects, as the built-in profile ahu_bacnet maps them.
var (
	ahuSupplyTemp = bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 1}
	ahuReturnTemp = bacnet.ObjectID{Type: bacnet.ObjectAnalogInput, Instance: 2}
	ahuFanStatus  = bacnet.ObjectID{Type: bacnet.ObjectBinaryInput, Instance: 1}
	ahuFanCommand = bacnet.ObjectID{Type: bacnet.ObjectBinaryOutput, Instance: 1}
	ahuSetpoint   = bacnet.ObjectID{Type: bacnet.ObjectAnalogValue, Instance: 1}
	ahuMode       = bacnet.ObjectID{Type: bacnet.ObjectMultiStateValue, Instance: 1}
)

// ahuStep is how often the AHU's plant moves (ours: a second, the demo's polling interval).
const ahuStep = time.Second

// ahu is a simulated air-handling unit: the supply air follows the setpoint while the fan
// runs (a first-order lag, a tenth of the gap each step) and drifts to the return air when it
// stops; the fan status follows its command. Every change reaches subscribers by COV.
type ahu struct {
	id   string
	srv  *BACnetServer
	stop chan struct{}
	wg   sync.WaitGroup
}

func newAHU(spec DeviceSpec, opts *Options) (*ahu, error) {
	real := func(f float32) bacnet.Value { return bacnet.Value{Kind: bacnet.KindReal, Real: f} }
	srv, err := NewBACnetServer(BACnetOptions{Addr: spec.Address, Instance: spec.BACnet.Instance, Name: spec.ID, Logger: opts.Logger}, []BACnetObject{
		{ID: ahuSupplyTemp, Name: "Supply air temperature", Units: 62, Present: real(16)},
		{ID: ahuReturnTemp, Name: "Return air temperature", Units: 62, Present: real(24)},
		{ID: ahuFanStatus, Name: "Supply fan status", Present: bacnet.Value{Kind: bacnet.KindEnumerated, Uint: 1}},
		{ID: ahuFanCommand, Name: "Supply fan start/stop", Present: bacnet.Value{Kind: bacnet.KindEnumerated, Uint: 1}},
		{ID: ahuSetpoint, Name: "Supply air setpoint", Units: 62, Commandable: true, Present: real(16)},
		{ID: ahuMode, Name: "Operating mode", States: 3, Present: bacnet.Value{Kind: bacnet.KindUnsigned, Uint: 2}},
	})
	if err != nil {
		return nil, fmt.Errorf("bacnet: %w", err)
	}
	return &ahu{id: spec.ID, srv: srv, stop: make(chan struct{})}, nil
}

func (a *ahu) start() error {
	if err := a.srv.Start(); err != nil {
		return err
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(ahuStep)
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-t.C:
				a.step()
			}
		}
	}()
	return nil
}

// step moves the plant one ahuStep.
func (a *ahu) step() {
	num := func(id bacnet.ObjectID) float64 {
		v, _ := a.srv.Present(id)
		f, _ := v.Float()
		return f
	}
	running := num(ahuFanCommand) != 0
	status := bacnet.Value{Kind: bacnet.KindEnumerated}
	target := num(ahuReturnTemp)
	if running {
		status.Uint = 1
		target = num(ahuSetpoint)
	}
	a.srv.Set(ahuFanStatus, status)
	supply := num(ahuSupplyTemp)
	// A tenth of a degree is the sensor's resolution: below it the value holds still, and COV
	// sends nothing.
	next := math.Round((supply+(target-supply)/10)*10) / 10
	a.srv.Set(ahuSupplyTemp, bacnet.Value{Kind: bacnet.KindReal, Real: float32(next)})
}

func (a *ahu) close() error {
	close(a.stop)
	a.wg.Wait()
	return a.srv.Close()
}

// addBACnet adds a spec's BACnet device to the estate.
func (e *Estate) addBACnet(spec DeviceSpec) error {
	if spec.ID == "" {
		return fmt.Errorf("id: missing")
	}
	for _, a := range e.ahus {
		if a.id == spec.ID {
			return fmt.Errorf("id used by another device; ids must be unique")
		}
	}
	if spec.Address == "" {
		spec.Address = "127.0.0.1:0"
	}
	a, err := newAHU(spec, &e.opts)
	if err != nil {
		return err
	}
	e.ahus = append(e.ahus, a)
	return nil
}

// startBACnet serves every BACnet device, closing those started when one cannot be.
func (e *Estate) startBACnet() error {
	for i, a := range e.ahus {
		if err := a.start(); err != nil {
			for _, started := range e.ahus[:i] {
				started.close()
			}
			return fmt.Errorf("simulators: device %q: %w", a.id, err)
		}
	}
	return nil
}

// closeBACnet stops every BACnet device.
func (e *Estate) closeBACnet() {
	for _, a := range e.ahus {
		a.close()
	}
}

// bacnetAddr is where a BACnet device of that id answers once started, "" otherwise.
func (e *Estate) bacnetAddr(id string) string {
	e.mu.Lock()
	started := e.started
	e.mu.Unlock()
	if b := e.BACnet(id); b != nil && started {
		return b.Addr().String()
	}
	return ""
}

// BACnet is the simulated BACnet device of that id, or nil.
func (e *Estate) BACnet(id string) *BACnetServer {
	for _, a := range e.ahus {
		if a.id == id {
			return a.srv
		}
	}
	return nil
}
