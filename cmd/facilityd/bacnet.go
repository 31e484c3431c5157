package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/devices/bacnet"
	"github.com/facilityd/facilityd/locale"
)

func bacnetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bacnet",
		Short: "BACnet/IP tools: find devices and draft their profiles",
	}
	cmd.AddCommand(bacnetDiscoverCommand())
	return cmd
}

// discoverFlags are facilityd bacnet discover's options.
type discoverFlags struct {
	address, local, bbmd, out, name string
	instance, network               int
	wait                            time.Duration
}

func bacnetDiscoverCommand() *cobra.Command {
	f := discoverFlags{}
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "List the BACnet devices that answer a Who-Is; with --instance, draft a profile of one",
		Long: `Sends a Who-Is and lists the devices that answer. With --instance N it reads that device's
object list (element by element when the whole list does not fit one reply), each object's name
and units, and writes a draft profile (YAML, the format profiles.dir takes) to --out or to
standard output. Edit it, put it in profiles.dir and name it in a device's profile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.address, "address", "255.255.255.255:47808", "where the Who-Is goes: the subnet's broadcast address, or one device's host:port")
	fl.StringVar(&f.local, "local", ":47808", "the UDP address to listen on (the BACnet port hears broadcast I-Am)")
	fl.StringVar(&f.bbmd, "bbmd", "", "register with this BBMD (host:port) as a foreign device to reach another subnet")
	fl.IntVar(&f.instance, "instance", -1, "draft the profile of this device instance")
	fl.IntVar(&f.network, "network", 0, "the network number to ask behind a router (65535: every network)")
	fl.DurationVar(&f.wait, "wait", 3*time.Second, "how long to wait for I-Am answers")
	fl.StringVar(&f.out, "out", "", "write the draft profile to this file instead of standard output")
	fl.StringVar(&f.name, "name", "", "the draft profile's name (default bacnet_INSTANCE)")
	return cmd
}

func (f *discoverFlags) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	dest, err := resolveUDP(f.address)
	if err != nil {
		return fmt.Errorf("--address: %w", err)
	}
	if f.network < 0 || f.network > bacnet.GlobalBroadcast {
		return fmt.Errorf("--network: %d must be 0 (this network) to 65535 (every network)", f.network)
	}
	if f.instance >= bacnet.MaxInstance {
		return fmt.Errorf("--instance: %d must be 0 to %d", f.instance, bacnet.MaxInstance-1)
	}
	c, err := bacnet.Listen(bacnet.ClientConfig{Local: f.local})
	if err != nil {
		return fmt.Errorf("%w (choose another --local, e.g. 0.0.0.0:0, when the BACnet port is taken)", err)
	}
	defer c.Close()
	if f.bbmd != "" {
		bbmd, err := resolveUDP(f.bbmd)
		if err != nil {
			return fmt.Errorf("--bbmd: %w", err)
		}
		if err := c.RegisterForeignDevice(ctx, bbmd, 5*time.Minute); err != nil {
			return fmt.Errorf("--bbmd %s: %w", f.bbmd, err)
		}
	}
	w := bacnet.WhoIs{Low: -1, High: -1}
	if f.instance >= 0 {
		w = bacnet.WhoIs{Low: int32(f.instance), High: int32(f.instance)}
	}
	found, err := c.WhoIs(ctx, dest, uint16(f.network), w, f.wait)
	if err != nil {
		return err
	}
	if f.instance < 0 {
		out := locale.NewTable(cmd.OutOrStdout())
		defer out.Flush()
		fmt.Fprintln(out, header("bacnet.devices"))
		for _, d := range found {
			fmt.Fprintf(out, "%d\t%s\t%d\t%s\t%d\n", d.Device.Instance, d.Peer, d.MaxAPDU, segmentation(d.Segmentation), d.Vendor)
		}
		return nil
	}
	if len(found) == 0 {
		return fmt.Errorf("no I-Am from device %d within %v at %s: check --address (a broadcast address, or the device's host:port) and --network", f.instance, f.wait, f.address)
	}
	dev := found[0]
	ids, err := c.ObjectList(ctx, dev.Peer, dev.Device)
	if err != nil {
		return err
	}
	objs, err := c.Describe(ctx, dev.Peer, ids)
	if err != nil {
		return fmt.Errorf("bacnet: names and units of device %d: %w", f.instance, err)
	}
	name := f.name
	if name == "" {
		name = fmt.Sprintf("bacnet_%d", f.instance)
	}
	draft := bacnet.Draft{Name: name, Device: dev, Objects: objs}.YAML()
	if f.out == "" {
		_, err = cmd.OutOrStdout().Write(draft)
		return err
	}
	if err := os.WriteFile(f.out, draft, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d objects of device %d\n", f.out, len(objs), f.instance)
	return nil
}

// resolveUDP reads host:port as an IPv4 UDP address.
func resolveUDP(s string) (netip.AddrPort, error) {
	ua, err := net.ResolveUDPAddr("udp4", s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a := ua.AddrPort()
	if !a.Addr().IsValid() || a.Port() == 0 {
		return netip.AddrPort{}, errors.New(s + " is not host:port")
	}
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), nil
}

// segmentation names what an I-Am said of segmentation (21, BACnetSegmentation).
func segmentation(s bacnet.Segmentation) string {
	switch s {
	case bacnet.SegmentedBoth:
		return "both"
	case bacnet.SegmentedTransmit:
		return "transmit"
	case bacnet.SegmentedReceive:
		return "receive"
	}
	return "none"
}
