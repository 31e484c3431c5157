package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/facilityd/facilityd/config"
	webhookpkg "github.com/facilityd/facilityd/internal/webhook"
	"github.com/facilityd/facilityd/workorders"
)

// OpenWorkOrders opens the order book of cfg and builds the work-order manager. links are
// its collaborators: the alarm engine's out-of-service hook, the notifier, the MQTT
// publisher and event sinks; any may be nil. Without a notifier, notifications are logged.
// The manager is an alarms.Sink: the alarm engine feeds it with AddSink(manager) or the like.
//
// run runs the manager (and the webhook, when configured) until ctx ends; closeStore closes
// the order book once run has returned.
func OpenWorkOrders(ctx context.Context, cfg *config.Config, log *slog.Logger, links workorders.Options) (m *workorders.Manager, run func(context.Context) error, closeStore func(), err error) {
	wc, err := workOrdersConfig(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := workorders.OpenStore(ctx, wc.Store.Driver, wc.Store.Source())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w (workorders.store)", err)
	}
	links.Logger, links.Locale = log, cfg.Lang()
	if links.Notifier == nil {
		links.Notifier = workorders.NotifierFunc(func(_ context.Context, n workorders.Notification) error {
			log.Info("work-order notification", "type", n.Type, "order", n.Order, "to", n.To, "message", n.Message)
			return nil
		})
	}
	webhook, err := workOrderWebhook(cfg, log)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	if webhook != nil {
		links.Sinks = append(links.Sinks, webhook)
	}
	m, err = workorders.New(wc, cfg.Site, ledger(cfg), st, links)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	run = func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return m.Run(gctx) })
		if webhook != nil {
			g.Go(func() error { return webhook.Run(gctx) })
		}
		return g.Wait()
	}
	log.Info("work orders kept", "store", wc.Store.Driver, "at", wc.Store.Where(), "plans", len(wc.Plans))
	return m, run, func() { st.Close() }, nil
}

// workOrderWebhook is the signed webhook to an external maintenance system, or nil when
// workorders.webhook.url is not set.
func workOrderWebhook(cfg *config.Config, log *slog.Logger) (*workorders.Webhook, error) {
	wh := cfg.WorkOrders.Webhook
	if wh.URL == "" {
		return nil, nil
	}
	sender, err := webhookpkg.New(wh.URL.Reveal(), []byte(wh.Secret.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("workorders.webhook: %w", err)
	}
	return workorders.NewWebhook(sender, log.With("component", "workorders-webhook")), nil
}

// CheckWorkOrders builds the work orders' configuration of cfg with its defaults and
// validates it, so that check-config finds what the manager would refuse at start (a
// default plan that a longer notice_lead leaves too little notice, say).
func CheckWorkOrders(cfg *config.Config) error {
	_, err := workOrdersConfig(cfg)
	return err
}

// workOrdersConfig maps the workorders section onto the manager's Config and checks it with
// its defaults (workorders.Check). Lists the file leaves out stay empty here and take the
// manager's defaults; plans stay nil unless written, since plans: [] means none.
func workOrdersConfig(cfg *config.Config) (workorders.Config, error) {
	w := cfg.WorkOrders
	wc := workorders.Config{
		Store:       workorders.StoreConfig{Driver: w.Store.Driver, Path: w.Store.Path, DSN: w.Store.DSN.Reveal()},
		Calendar:    workorders.WorkCalendar{Timezone: w.Calendar.Timezone, Days: w.Calendar.Days, Start: w.Calendar.Start, End: w.Calendar.End, Holidays: w.Calendar.Holidays, Workdays: w.Calendar.Workdays},
		DefaultTeam: w.DefaultTeam, Supervisor: w.Supervisor, VerifyFrom: w.VerifyFrom,
		FollowUp:     workorders.FollowUp{Repair: w.FollowUp.Repair, Household: w.FollowUp.Household, Target: w.FollowUp.Target},
		ReworkWindow: w.ReworkWindow, OOSExemptKinds: w.OOSExemptKinds, NoticeLead: w.NoticeLead,
		WarrantyReminder: w.WarrantyReminder, CheckInterval: w.CheckInterval, Retention: w.Retention,
	}
	for _, m := range w.Mappings {
		wc.Mappings = append(wc.Mappings, workorders.Mapping{Class: m.Class, Kind: m.Kind, Rule: m.Rule, Category: m.Category, Team: m.Team, Priority: m.Priority, ConfinedSpace: m.ConfinedSpace})
	}
	for _, l := range w.Limits {
		wc.Limits = append(wc.Limits, workorders.TimeLimit{Category: l.Category, Priority: l.Priority, Accept: l.Accept, Arrive: l.Arrive, Complete: l.Complete,
			FromCall: l.FromCall, SameDay: l.SameDay, WorkingHours: l.WorkingHours, Basis: l.Basis})
	}
	for _, z := range w.Zones {
		wc.Zones = append(wc.Zones, workorders.ZoneTeam{Zone: z.Zone, Team: z.Team, Butler: z.Butler, Supervisor: z.Supervisor})
	}
	for _, t := range w.Technicians {
		wc.Technicians = append(wc.Technicians, workorders.Technician{ID: t.ID, Name: t.Name, Team: t.Team, Handset: t.Handset})
	}
	for _, p := range w.Prices {
		wc.Prices = append(wc.Prices, workorders.PriceItem{Item: p.Item, Unit: p.Unit, Price: p.Price})
	}
	for _, d := range w.Duty {
		wc.Duty = append(wc.Duty, workorders.DutyShift{Technician: d.Technician, Start: d.Start, End: d.End, Days: d.Days})
	}
	wc.SurveySample = w.SurveySample
	for _, h := range w.Homes {
		wc.Homes = append(wc.Homes, workorders.Home{Home: h.Home, Zone: h.Zone, Resident: h.Resident, Phone: h.Phone, WarrantyEnd: h.WarrantyEnd})
	}
	for _, l := range w.FollowUp.Sampling {
		wc.FollowUp.Sampling = append(wc.FollowUp.Sampling, workorders.SamplingLevel{Level: l.Level, Share: l.Share, Staff: l.Staff})
	}
	if w.Plans != nil {
		wc.Plans = make([]workorders.Plan, 0, len(w.Plans))
	}
	for _, p := range w.Plans {
		wc.Plans = append(wc.Plans, workorders.Plan{ID: p.ID, Title: p.Title, Devices: p.Devices, Kind: p.Kind, Profile: p.Profile, Tags: p.Tags,
			Category: p.Category, Every: p.Every, Weekday: p.Weekday, Start: p.Start, OnHoliday: p.OnHoliday, MaxDays: p.MaxDays, Month: p.Month, Day: p.Day, At: p.At,
			Meter: p.Meter, MeterEvery: p.MeterEvery, Interrupts: p.Interrupts, Duration: p.Duration, Ahead: p.Ahead, Grace: p.Grace,
			ConfinedSpace: p.ConfinedSpace})
	}
	dr := w.Drills
	wc.Drills = workorders.Drills{Count: dr.Count, Month: dr.Month, Day: dr.Day, At: dr.At, Team: dr.Team, Security: dr.Security, Ahead: dr.Ahead, Grace: dr.Grace}
	if len(wc.Drills.Security) == 0 {
		// The security department's people are the supervisors of the patrol's shifts.
		for _, s := range cfg.Patrol.Shifts {
			if s.Supervisor != "" && !slices.Contains(wc.Drills.Security, s.Supervisor) {
				wc.Drills.Security = append(wc.Drills.Security, s.Supervisor)
			}
		}
	}
	return wc, workorders.Check(wc)
}

// ledger is the equipment ledger (设备台帐) the manager reads: the configured devices, then
// the assets of workorders.ledger that are not polled.
func ledger(cfg *config.Config) []workorders.Device {
	out := make([]workorders.Device, 0, len(cfg.Devices)+len(cfg.WorkOrders.Ledger))
	for _, d := range cfg.Devices {
		out = append(out, workorders.Device{ID: d.ID, Kind: d.Kind, Site: d.Site, Building: d.Building, Zone: d.Zone, Profile: d.Profile, Tags: d.Tags, Asset: asset(d.Asset)})
	}
	for _, a := range cfg.WorkOrders.Ledger {
		out = append(out, workorders.Device{ID: a.ID, Kind: a.Kind, Site: a.Site, Building: a.Building, Zone: a.Zone, Tags: a.Tags, Asset: asset(a.Asset)})
	}
	return out
}

func asset(a *config.Asset) *workorders.Asset {
	if a == nil {
		return nil
	}
	return &workorders.Asset{Make: a.Make, Model: a.Model, Serial: a.Serial, Installed: a.Installed,
		Contractor: a.Contractor, ContractorPhone: a.ContractorPhone, WarrantyEnd: a.WarrantyEnd}
}

// buildOrders opens the order book and the work-order manager: equipment alarms out of
// service while an order is in progress; notices over MQTT and to the console's event stream.
func (d *Daemon) buildOrders(ctx context.Context) error {
	links := d.h.WorkOrders
	links.OOS = d.engine
	links.Publisher = d.mq.client
	links.Notifier = workorders.NotifierFunc(d.notifyOrder)
	if d.cfg.Patrol.Enabled() && d.cfg.Patrol.Phones.SMS.Enabled() {
		// Residents' reminders go out through the patrol's SMS channel, built after the orders.
		links.SMS = workorders.SMSFunc(func(ctx context.Context, to, text string) error {
			if d.patrol == nil {
				return errors.New("patrol.phones.sms: the patrol is not running")
			}
			return d.patrol.SendSMS(ctx, to, text)
		})
	}
	links.Sinks = append(links.Sinks, workorders.SinkFunc(func(e workorders.Event) { d.hub.Publish("workorder", e) }))
	if d.writer != nil {
		links.Sinks = append(links.Sinks, workorders.LineSink(func(line string) { d.writer.EnqueueLine(line, time.Now()) }))
	}
	orders, run, closeStore, err := OpenWorkOrders(ctx, d.cfg, d.log.With("component", "workorders"), links)
	if err != nil {
		return err
	}
	d.orders, d.runOrders = orders, run
	d.closers = append(d.closers, closeStore)
	return nil
}

// notifyOrder tells the people named in a breach, an overdue follow-up or a warranty
// reminder: on the console's event stream and at QoS 1 on facility/{site}/workorders/notifications.
func (d *Daemon) notifyOrder(ctx context.Context, n workorders.Notification) error {
	d.hub.Publish("workorder.notification", n)
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	d.log.Info("work-order notification", "type", n.Type, "order", n.Order, "to", n.To, "message", n.Message)
	return d.mq.client.Publish(ctx, "facility/"+d.cfg.Site+"/workorders/notifications", 1, false, body)
}

// WorkOrderReportOptions are the report's settings of cfg (facilityd report): the follow-up
// levels, the satisfaction target and the site's language.
func WorkOrderReportOptions(cfg *config.Config) (workorders.ReportOptions, error) {
	wc, err := workOrdersConfig(cfg)
	if err != nil {
		return workorders.ReportOptions{}, err
	}
	opts := workorders.ReportOptionsFor(wc)
	opts.Locale = cfg.Lang()
	return opts, nil
}
