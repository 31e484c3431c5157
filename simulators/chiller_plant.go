package simulators

import (
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"sync"
	"time"
)

// ChillerPlantNamespace is the namespace URI of the chiller plant's variables, which the
// built-in OPC UA profile chiller_plant (devices/opcua/profiles) names.
const ChillerPlantNamespace = "urn:facilityd:demo:plant"

// ChillerPlantProfile is the built-in OPC UA profile that reads a chiller plant: a device of
// this profile is served by one in the demo and the tests of the demo estate.
const ChillerPlantProfile = "chiller_plant"

// The chiller's model. Ours, of a typical water-cooled chiller: chilled water leaves at the
// setpoint (7 °C by default, 5 to 12 °C allowed) and comes back about 5 K warmer at full load
// (the usual 12/7 °C design); the leaving temperature follows a new setpoint with a time
// constant of about two minutes.
const (
	chillerSetpoint  = 7.0
	chillerDesignDT  = 5.0
	chillerTimeConst = 120 * time.Second
)

// chiller is the chiller's state: what the server shows.
type chiller struct {
	Supply, Return, Setpoint float64
	Running                  bool
}

// step advances the chiller by dt at load (0 to 1): the supply temperature approaches the
// setpoint, the return is the supply plus the load's share of the design difference.
func (c chiller) step(dt time.Duration, load float64) chiller {
	if !c.Running {
		return c
	}
	k := 1 - math.Exp(-dt.Seconds()/chillerTimeConst.Seconds())
	c.Supply += (c.Setpoint - c.Supply) * k
	c.Return = c.Supply + chillerDesignDT*load
	return c
}

// ChillerPlant is the demo's chiller plant controller: an OPC UA server (OPCUAServer) with
// Plant/Chiller1/SupplyTemp, ReturnTemp, Setpoint (writable) and Running, which moves once a
// second while the plant runs.
type ChillerPlant struct {
	srv                            *OPCUAServer
	supply, ret, setpoint, running *OPCUAVariable
	stop                           chan struct{}
	closeOnce                      sync.Once
	mu                             sync.Mutex
	state                          chiller
}

// NewChillerPlant serves the chiller plant on addr (host:port; port 0 picks a free one).
func NewChillerPlant(addr string, log *slog.Logger) (*ChillerPlant, error) {
	srv, err := NewOPCUAServer(addr, ChillerPlantNamespace, log)
	if err != nil {
		return nil, err
	}
	st := chiller{Supply: chillerSetpoint + 1.5, Setpoint: chillerSetpoint, Running: true}
	st.Return = st.Supply + chillerDesignDT*0.6
	p := &ChillerPlant{srv: srv, state: st, stop: make(chan struct{})}
	p.supply = srv.AddVariable("Plant/Chiller1/SupplyTemp", st.Supply, false)
	p.ret = srv.AddVariable("Plant/Chiller1/ReturnTemp", st.Return, false)
	p.setpoint = srv.AddVariable("Plant/Chiller1/Setpoint", st.Setpoint, true)
	p.running = srv.AddVariable("Plant/Chiller1/Running", st.Running, false)
	go p.run(time.Second)
	return p, nil
}

// URL is the plant's endpoint, opc.tcp://host:port.
func (p *ChillerPlant) URL() string { return p.srv.URL() }

// Close stops the plant and its server. It does not wait for the plant's goroutine, which
// returns at its next tick: gopcua v0.8.0's server may hold its monitored items' lock for good
// after a client has gone (see notify), and a demo must still stop.
func (p *ChillerPlant) Close() error {
	p.closeOnce.Do(func() { close(p.stop) })
	return p.srv.Close()
}

// run moves the plant every period, taking up a setpoint a client wrote.
func (p *ChillerPlant) run(period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			// The building's load swings between 40% and 80% over ten minutes (ours: enough
			// to see the return temperature move in the console).
			load := 0.6 + 0.2*math.Sin(2*math.Pi*now.Sub(start).Seconds()/600)
			p.mu.Lock()
			if sp, ok := p.srv.Value(p.setpoint).(float64); ok {
				p.state.Setpoint = sp
			}
			p.state = p.state.step(period, load)
			st := p.state
			p.mu.Unlock()
			p.srv.Set(p.supply, math.Round(st.Supply*100)/100)
			p.srv.Set(p.ret, math.Round(st.Return*100)/100)
		}
	}
}

// ChillerPlants serves a chiller plant at each OPC UA endpoint (opc.tcp://host:port), for the
// demo's OPC UA devices of profile chiller_plant; Close stops them all.
type ChillerPlants []*ChillerPlant

// StartChillerPlants starts a plant at every endpoint, or none if one cannot start.
func StartChillerPlants(endpoints []string, log *slog.Logger) (ChillerPlants, error) {
	var out ChillerPlants
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "opc.tcp" || u.Port() == "" {
			out.Close()
			return nil, fmt.Errorf("chiller plant %q: want opc.tcp://host:port", ep)
		}
		p, err := NewChillerPlant(u.Host, log)
		if err != nil {
			out.Close()
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Close stops every plant.
func (ps ChillerPlants) Close() {
	for _, p := range ps {
		p.Close()
	}
}
