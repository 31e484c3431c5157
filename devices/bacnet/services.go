package bacnet

import "context"

// ReadProperty reads one property (15.5) and returns its values: one for a plain property,
// several for an array or list read whole.
func (c *Client) ReadProperty(ctx context.Context, p Peer, o ObjectID, prop PropertyID, index uint32) ([]Value, error) {
	ref := ReadPropertyRequest{Object: o, Property: prop, Index: index}
	b, err := c.Request(ctx, p, ServiceReadProperty, AppendReadProperty(nil, ref))
	if err != nil {
		return nil, err
	}
	ack, err := DecodeReadPropertyACK(b)
	if err != nil {
		return nil, err
	}
	return ack.Values, nil
}
