package main

// The helpers these tests share with internal/daemon's live in daemontest.

import "github.com/facilityd/facilityd/internal/daemon/daemontest"

var (
	demoEstate         = daemontest.DemoEstate
	modbusEstate       = daemontest.ModbusEstate
	demoEstateOn       = daemontest.DemoEstateOn
	withoutMQTTDevices = daemontest.WithoutMQTTDevices
	freeAddr           = daemontest.FreeAddr
	startDaemon        = daemontest.Start
	get                = daemontest.Get
	waitFor            = daemontest.WaitFor
	post               = daemontest.Post
	pointValue         = daemontest.PointValue
	withPatrol         = daemontest.WithPatrol
	scrape             = daemontest.Scrape
	writeConfig        = daemontest.WriteConfig
)

// running is a daemon that startDaemon started.
type running = daemontest.Running
