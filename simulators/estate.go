package simulators

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/devices"
)

// DeviceSpec is one simulated device, as a test or cmd/facsim declares it.
type DeviceSpec struct {
	ID string
	// Kind picks the model: pump, elevator, fire_panel or lighting. It may be left empty when
	// Profile says it.
	Kind devices.Kind
	// Profile is the register map served; nil means the built-in profile of Kind. The model
	// fills the points it knows by name and leaves others at zero.
	Profile *devices.Profile
	// Address is host:port of the listener. Devices with the same Address share one listener
	// and need distinct units, like devices behind one RTU gateway; port 0 picks a free port
	// (see Estate.Addr). Empty gives the device a listener of its own on a free loopback port.
	Address string
	Unit    uint8
	// Role is supply (the default) or drainage for pumps, empty for other kinds.
	Role string
	// Floors is an elevator's lowest and highest floor; the zero value means -2 to 20.
	Floors [2]int
	// MQTT, if set, makes the device publish its points as JSON over MQTT. It then serves
	// Modbus too only if Address is set.
	MQTT *MQTTSpec
	// BACnet, if set, makes the device a BACnet/IP air-handling unit on Address (bacnet_ahu.go).
	BACnet *BACnetSpec
	// Steady is, for a generic device, how many of its last points hold still (a plant's
	// setpoints, counters between pulses, status words); the others move once a second. Zero:
	// every point moves.
	Steady int
}

// Options tune an Estate. The zero value is usable: real time, local time zone, no logging.
type Options struct {
	// Now is the clock models advance to on every read; tests step a fake one.
	Now func() time.Time
	// TimeScale speeds up the physics (running hours, pit levels, lift trips): 60 makes a
	// simulated minute of every real second. 0 means 1. Time of day (lighting schedules,
	// water demand) always follows Now.
	TimeScale float64
	// Location is the time zone of schedules and demand curves; nil means time.Local.
	Location *time.Location
	// Logger receives listener, connection and fault events; nil discards them.
	Logger *slog.Logger
	// Seed makes the noise reproducible: the same seed and the same reads give the same values.
	Seed int64
	// MQTTBroker is the broker URL of devices whose MQTTSpec names none.
	MQTTBroker string
}

// Estate is a set of simulated devices and the Modbus TCP listeners that serve them. Start
// opens the listeners; Close stops them and waits for every goroutine they started.
type Estate struct {
	opts    Options
	log     *slog.Logger
	list    []*device
	byID    map[string]*device
	servers []*server
	ahus    []*ahu // BACnet devices (bacnet_ahu.go)

	mu      sync.Mutex
	started bool
	closed  bool
}

// DeviceStatus is one device as the control API shows it: where it answers, the faults in
// force, and every point's value as a poller would decode it (bool, string, integer enum code
// or number), with enum labels alongside.
type DeviceStatus struct {
	ID      string            `json:"id"`
	Kind    devices.Kind      `json:"kind"`
	Role    string            `json:"role,omitempty"`
	Profile string            `json:"profile"`
	Address string            `json:"address"`
	Unit    uint8             `json:"unit"`
	Faults  []ActiveFault     `json:"faults"`
	Values  map[string]any    `json:"values"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// New builds an estate from specs without listening yet. It checks every spec and returns all
// problems at once, each naming the device: duplicate ids, a unit used twice on one address,
// an unknown kind or a profile of another kind, a bad role or address.
func New(specs []DeviceSpec, opts Options) (*Estate, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 1
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if opts.TimeScale < 0 || math.IsNaN(opts.TimeScale) || math.IsInf(opts.TimeScale, 0) {
		errs = append(errs, fmt.Errorf("options: time scale %v must be a positive number (1 = real time)", opts.TimeScale))
		opts.TimeScale = 1
	}
	e := &Estate{opts: opts, log: opts.Logger, byID: map[string]*device{}}
	byAddr := map[string]*server{}
	now := opts.Now()
	for i, spec := range specs {
		where := fmt.Sprintf("devices[%d]", i)
		if spec.ID != "" {
			where = fmt.Sprintf("device %q", spec.ID)
		}
		if spec.BACnet != nil {
			if err := e.addBACnet(spec); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
			continue
		}
		resolved, m, err := resolveSpec(spec, &opts, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if _, dup := e.byID[spec.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: id used by another device; ids must be unique", where))
			continue
		}
		if spec.MQTT != nil {
			m := *spec.MQTT
			if m.Broker == "" {
				m.Broker = opts.MQTTBroker
			}
			switch {
			case m.Topic == "":
				errs = append(errs, fmt.Errorf("%s: mqtt topic: missing", where))
				continue
			case m.Broker == "":
				errs = append(errs, fmt.Errorf("%s: mqtt broker: missing (set it in the spec or Options.MQTTBroker)", where))
				continue
			}
			resolved.MQTT = &m
		}
		if spec.MQTT != nil && spec.Address == "" {
			if _, dup := e.byID[spec.ID]; dup {
				errs = append(errs, fmt.Errorf("%s: id used by another device; ids must be unique", where))
				continue
			}
			d := newDevice(resolved, m, &opts, e.log)
			d.pub = newPublisher(d, *resolved.MQTT, e.log)
			e.byID[spec.ID] = d
			e.list = append(e.list, d)
			continue
		}
		key, listen := spec.Address, spec.Address
		if key == "" {
			key, listen = "\x00"+spec.ID, "127.0.0.1:0"
		}
		srv := byAddr[key]
		if srv == nil {
			srv = newServer(listen, e.log)
			byAddr[key] = srv
			e.servers = append(e.servers, srv)
		}
		if other := srv.units[spec.Unit]; other != nil {
			errs = append(errs, fmt.Errorf("%s: unit %d on %s is already device %q; give each device on one address its own unit",
				where, spec.Unit, spec.Address, other.spec.ID))
			continue
		}
		d := newDevice(resolved, m, &opts, e.log)
		if resolved.MQTT != nil {
			d.pub = newPublisher(d, *resolved.MQTT, e.log)
		}
		d.srv = srv
		srv.units[spec.Unit] = d
		e.byID[spec.ID] = d
		e.list = append(e.list, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("simulators: %w", err)
	}
	return e, nil
}

// resolveSpec fills in a spec's profile, kind and role, and builds its model.
func resolveSpec(spec DeviceSpec, opts *Options, now time.Time) (DeviceSpec, model, error) {
	if spec.ID == "" {
		return spec, nil, errors.New("id: missing")
	}
	if spec.Kind == "" && spec.Profile != nil {
		spec.Kind = spec.Profile.Kind
	}
	switch spec.Kind {
	case devices.KindPump, devices.KindElevator, devices.KindFirePanel, devices.KindLighting:
	case devices.KindGeneric:
		if spec.Profile == nil {
			return spec, nil, errors.New("profile: a generic device needs its profile")
		}
	case "":
		return spec, nil, errors.New("kind: missing; one of pump, elevator, fire_panel, lighting, generic")
	default:
		return spec, nil, fmt.Errorf("kind: %q has no simulator; one of pump, elevator, fire_panel, lighting, generic", spec.Kind)
	}
	if spec.Profile == nil {
		p, ok := devices.Builtin(string(spec.Kind))
		if !ok {
			return spec, nil, fmt.Errorf("profile: no built-in profile %q", spec.Kind)
		}
		spec.Profile = p
	}
	if spec.Profile.Kind != spec.Kind {
		return spec, nil, fmt.Errorf("profile: %q is a %s profile, not %s", spec.Profile.Name, spec.Profile.Kind, spec.Kind)
	}
	if spec.Address != "" {
		if _, port, err := net.SplitHostPort(spec.Address); err != nil {
			return spec, nil, fmt.Errorf("address: %q is not host:port: %v", spec.Address, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return spec, nil, fmt.Errorf("address: port %q of %q is not a number 0-65535", port, spec.Address)
		}
	}
	if spec.Kind == devices.KindPump {
		switch spec.Role {
		case "":
			spec.Role = RoleSupply
		case RoleSupply, RoleDrainage:
		default:
			return spec, nil, fmt.Errorf("role: %q is not a pump role; supply or drainage", spec.Role)
		}
	} else if spec.Role != "" {
		return spec, nil, fmt.Errorf("role: only pumps take a role (supply or drainage), not a %s", spec.Kind)
	}
	if spec.Kind != devices.KindElevator && spec.Floors != [2]int{} {
		return spec, nil, fmt.Errorf("floors: only elevators have floors, not a %s", spec.Kind)
	}

	h := fnv.New64a()
	h.Write([]byte(spec.ID))
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), h.Sum64()))
	switch spec.Kind {
	case devices.KindGeneric:
		return spec, newGeneric(spec.Profile, spec.Steady, now), nil
	case devices.KindPump:
		return spec, newPump(spec.Role, rng, opts.Location, now), nil
	case devices.KindElevator:
		if spec.Floors == [2]int{} {
			spec.Floors = [2]int{DefaultLowestFloor, DefaultHighestFloor}
		}
		lo, hi := spec.Floors[0], spec.Floors[1]
		if lo >= hi || lo < math.MinInt16 || hi > math.MaxInt16 {
			return spec, nil, fmt.Errorf("floors: [%d, %d] must be lowest then highest floor, lowest below highest", lo, hi)
		}
		return spec, newElevator(lo, hi, rng), nil
	case devices.KindFirePanel:
		zones := countNumbered(spec.Profile, "zone_", "")
		if zones == 0 {
			return spec, nil, fmt.Errorf("profile: %q has no zone points (zone_01, zone_02, ...)", spec.Profile.Name)
		}
		return spec, newFirePanel(zones, rng), nil
	default:
		circuits := max(countNumbered(spec.Profile, "circuit_", "_command"),
			countNumbered(spec.Profile, "circuit_", "_on"), countNumbered(spec.Profile, "circuit_", "_lamp_fail"))
		if circuits == 0 {
			return spec, nil, fmt.Errorf("profile: %q has no circuit points (circuit_01_command, ...)", spec.Profile.Name)
		}
		return spec, newLighting(circuits, rng, opts.Location, now), nil
	}
}

// Start listens on every address. If one cannot be opened it closes those it opened and
// names the address and the devices behind it.
func (e *Estate) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return errors.New("simulators: start after close; build a new estate")
	case e.started:
		return errors.New("simulators: already started")
	}
	for i, s := range e.servers {
		if err := s.start(); err != nil {
			for _, opened := range e.servers[:i] {
				opened.close()
			}
			e.closed = true
			return fmt.Errorf("simulators: listen on %s for %s: %w", s.addr, unitList(s), err)
		}
	}
	if err := e.startBACnet(); err != nil {
		for _, s := range e.servers {
			s.close()
		}
		e.closed = true
		return err
	}
	for _, d := range e.list {
		if d.pub != nil {
			d.pub.start()
		}
	}
	e.started = true
	return nil
}

func unitList(s *server) string {
	var ids []string
	for _, d := range s.units {
		ids = append(ids, strconv.Quote(d.spec.ID))
	}
	if len(ids) == 1 {
		return "device " + ids[0]
	}
	return "devices " + strings.Join(ids, ", ")
}

// Close stops every listener, closes every connection and waits for their goroutines. It may
// be called more than once.
func (e *Estate) Close() error {
	e.mu.Lock()
	wasStarted := e.started && !e.closed
	e.closed = true
	e.mu.Unlock()
	if wasStarted {
		for _, d := range e.list {
			if d.pub != nil {
				d.pub.close()
			}
		}
		e.closeBACnet()
	}
	var errs []error
	for _, s := range e.servers {
		if err := s.close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("close %s: %w", s.addr, err))
		}
	}
	return errors.Join(errs...)
}

// Addr is the host:port a client on this machine dials to reach the device: after Start with
// the port actually bound, and with 127.0.0.1 for a listener on all interfaces. It is ""
// for an unknown device.
func (e *Estate) Addr(id string) string {
	if a := e.bacnetAddr(id); a != "" {
		return a
	}
	d := e.byID[id]
	if d == nil || d.srv == nil {
		return ""
	}
	return d.srv.dialAddr()
}

// dialAddr is listenAddr in a form a local client can dial.
func (s *server) dialAddr() string {
	host, port, _ := net.SplitHostPort(s.addr)
	if a := s.listenAddr(); a != nil {
		_, port, _ = net.SplitHostPort(a.String())
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Inject starts a fault on a device, or updates its parameters if it is in force. Faults and
// their parameters are listed by Faults; errors wrap ErrUnknownDevice, ErrUnknownFault or
// ErrBadParam.
func (e *Estate) Inject(id, fault string, params map[string]string) error {
	d := e.byID[id]
	if d == nil {
		return e.unknown(id)
	}
	return d.inject(fault, params)
}

// Clear ends a fault on a device. Clearing a fault not in force is not an error; for zone and
// circuit faults, leaving out the zone or circuit clears them all.
func (e *Estate) Clear(id, fault string, params map[string]string) error {
	d := e.byID[id]
	if d == nil {
		return e.unknown(id)
	}
	return d.clear(fault, params)
}

func (e *Estate) unknown(id string) error {
	ids := make([]string, len(e.list))
	for i, d := range e.list {
		ids[i] = d.spec.ID
	}
	return fmt.Errorf("device %q: %w; devices are %s", id, ErrUnknownDevice, strings.Join(ids, ", "))
}

// Devices reports every device, in the order of the specs, advanced to now.
func (e *Estate) Devices() []DeviceStatus {
	out := make([]DeviceStatus, len(e.list))
	for i, d := range e.list {
		out[i] = d.status(d.addr())
	}
	return out
}

// Device reports one device, advanced to now.
func (e *Estate) Device(id string) (DeviceStatus, bool) {
	d := e.byID[id]
	if d == nil {
		return DeviceStatus{}, false
	}
	return d.status(d.addr()), true
}

// Value is a point's value after advancing the device to now, exactly as a poller decodes it
// from the registers (float32 rounding and scaling included), so tests can compare the two.
func (e *Estate) Value(id, point string) (devices.Value, bool) {
	d := e.byID[id]
	if d == nil {
		return devices.Value{}, false
	}
	return d.value(point)
}

// addr is where the device answers: host:port for Modbus, the MQTT topic otherwise.
func (d *device) addr() string {
	if d.srv != nil {
		return d.srv.dialAddr()
	}
	if d.pub != nil {
		return d.pub.spec.Broker + " " + d.pub.spec.Topic
	}
	return ""
}
