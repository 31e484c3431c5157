package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
	src := cfg.WorkOrders.Store.Path
	if cfg.WorkOrders.Store.Driver == "postgres" {
		src = cfg.WorkOrders.Store.DSN.Reveal()
	}
	st, err := workorders.OpenStore(ctx, cfg.WorkOrders.Store.Driver, src)
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
	var webhook *workorders.Webhook
	if cfg.WorkOrders.Webhook.URL != "" {
		sender, err := webhookpkg.New(cfg.WorkOrders.Webhook.URL.Reveal(), []byte(cfg.WorkOrders.Webhook.Secret.Reveal()))
		if err != nil {
			st.Close()
			return nil, nil, nil, fmt.Errorf("workorders.webhook: %w", err)
		}
		webhook = workorders.NewWebhook(sender, log.With("component", "workorders-webhook"))
		links.Sinks = append(links.Sinks, webhook)
	}
	m, err = workorders.New(cfg.WorkOrders, cfg.Site, cfg.Devices, st, links)
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
	where := cfg.WorkOrders.Store.Path
	if cfg.WorkOrders.Store.Driver == "postgres" {
		where = "postgres"
	}
	log.Info("work orders kept", "store", cfg.WorkOrders.Store.Driver, "at", where, "plans", len(cfg.WorkOrders.Plans))
	return m, run, func() { st.Close() }, nil
}

// buildOrders opens the order book and the work-order manager: equipment alarms out of
// service while an order is in progress; notices over MQTT and to the console's event stream.
func (d *Daemon) buildOrders(ctx context.Context) error {
	links := d.h.WorkOrders
	links.OOS = d.engine
	links.Publisher = d.mq.client
	links.Notifier = workorders.NotifierFunc(d.notifyOrder)
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
