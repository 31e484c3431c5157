package main

import (
	"log/slog"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/simulators"
)

// startChillerPlants serves a chiller plant at the endpoint of every OPC UA device of the
// configuration at path whose profile is chiller_plant (the demo's CH-1).
func startChillerPlants(path string, log *slog.Logger) (simulators.ChillerPlants, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	var eps []string
	for _, d := range cfg.Devices {
		if d.OPCUA != nil && d.Profile == simulators.ChillerPlantProfile {
			eps = append(eps, d.OPCUA.Endpoint)
		}
	}
	return simulators.StartChillerPlants(eps, log)
}
